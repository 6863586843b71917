/*
 * agent.c - hotline-agent: the call-centre agent terminal on the command line.
 *
 * Owns: one agent connection to hotlined's binary port on one libevent loop:
 * Hello as ROLE_AGENT; callbacks (回访: CallbackClaim -> CallbackTask, then
 * CallbackResult -> ActionAck) and Intake records, plain or resolved on the
 * call (直接办结), typed on stdin or driven by --auto; every answer matched
 * back to the request it answers and printed as one JSON line.
 * Never: reconnects (a lost connection ends the run; the callbacks it held
 * return to the queue after the server's claim timeout), holds more than
 * MAX_PENDING unanswered requests or MAX_OUTPUT queued bytes (stdin is read
 * no further until there is room), logs a caller's phone number (only the
 * task line on stdout carries it: the agent calls back), or touches
 * PostgreSQL or Redis.
 * Callers: call-centre staff and integrators (an example of the AGENT
 * protocol), scripts, tests/integration/test_callbacks.py.
 *
 * Matching answers: the daemon answers an agent connection's claims and
 * results one at a time in the order sent, so a CallbackTask (or an Error
 * naming neither a ticket nor a record) answers the oldest claim, and an
 * ActionAck (or an Error naming a ticket) the oldest result for that ticket.
 * IntakeAcks may come in any order and are matched by external_id.
 *
 * stdout: one JSON object per event, each with "at_ms" (unix ms) and "event":
 * welcome, task, no_task, result_ack, intake_ack, error, command_error,
 * disconnected, summary (always last). Diagnostics go to stderr (log.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "code.h"
#include "frame.h"
#include "hotline.pb-c.h"
#include "cli_json.h"
#include "cli_stdin.h"
#include "log.h"
#include "utf8.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 12345
#define DEFAULT_AUTO_NOTE "hotline-agent --auto"
#define TOKEN_ENV "HOTLINE_AGENT_TOKEN"
#define PROTOCOL_VERSION 1
#define HELLO_TIMEOUT_MS 10000	 /* connect + Hello -> Welcome */
#define STOP_GRACE_MS 10000	 /* quit / signal / end of input: longest wait for answers */
#define DRAIN_TIMEOUT_MS 5000	 /* at exit: longest wait for queued frames to go out */
#define DEFAULT_POLL_MS 1000	 /* --auto: wait after "no callback waiting" */
#define MAX_PENDING 4096	 /* requests sent and not yet answered */
#define MAX_OUTPUT (1024 * 1024) /* bytes queued to the daemon */
#define MAX_COMMAND_LINE 65536	 /* bytes in one stdin command */
#define MAX_TICKET_NO 31	 /* bytes in a ticket number (the daemon's limit) */
#define MAX_EXTERNAL_ID 128	 /* bytes in an external_id (the daemon's limit) */

enum conn_state {
	CONN_CONNECTING, /* TCP connect in progress */
	CONN_HELLO,	 /* Hello sent, waiting for Welcome */
	CONN_READY,	 /* welcomed */
	CONN_CLOSED	 /* not connected, and not going to be */
};

enum pending_kind { PENDING_CLAIM, PENDING_RESULT, PENDING_INTAKE };

/* The outcome words of the command line, in proto CallbackOutcome order. */
static const char *const outcome_words[] = {
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_SATISFIED] = "satisfied",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_BASICALLY_SATISFIED] = "basic",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNSATISFIED] = "unsatisfied",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNREACHABLE] = "unreachable",
};
#define OUTCOME_COUNT ((int)(sizeof(outcome_words) / sizeof(outcome_words[0])))

/* A request sent and not yet answered, in the order sent. */
struct pending {
	struct pending *prev, *next;
	enum pending_kind kind;
	bool automatic; /* sent by --auto */
	int outcome;	/* result */
	bool resolve;	/* intake resolved on the call */
	char key[];	/* ticket_no (result), external_id (intake), "" (claim) */
};

struct options {
	const char *host;
	int port;
	const char *id;
	const char *token;
	int auto_outcome; /* 0 = no --auto */
	const char *note;
	uint64_t count;	  /* results to record before exiting; 0 = no goal */
	double timeout_s; /* 0 = none */
	unsigned poll_ms;
};

struct stats {
	uint64_t claims_sent;
	uint64_t tasks;	  /* CallbackTask with a ticket */
	uint64_t no_task; /* CallbackTask without: nothing waiting */
	uint64_t results_sent;
	uint64_t results_ok;
	uint64_t results_failed; /* ActionAck ok=false, or an Error naming the ticket */
	uint64_t intakes_sent;
	uint64_t intakes_acked;
	uint64_t errors; /* Error frames */
	uint64_t unexpected;
};

struct agent {
	struct options opt;
	struct event_base *base;
	struct bufferevent *bev; /* NULL once the connection is gone */
	struct frame_decoder decoder;
	enum conn_state state;
	struct event *conn_timer; /* the Hello timeout */
	struct event *deadline;	  /* --timeout */
	struct event *grace;	  /* stopping: end of the wait for answers */
	struct event *drain;	  /* end of the wait for queued output */
	struct event *poll;	  /* --auto: claim again after "nothing waiting" */
	struct event *sigint_ev, *sigterm_ev;

	struct cli_stdin in; /* commands */

	struct pending *head, *tail;
	size_t pending;
	size_t auto_inflight; /* --auto claims and results unanswered */

	struct stats stats;
	unsigned signals;
	bool stopping;	/* quit, signal or end of input: no new requests */
	bool finishing; /* exit once the output has drained */
	int exit_code;
};

static void conn_lost(struct agent *a, const char *why);
static void check_done(struct agent *a);
static void stdin_update(struct agent *a);
static void finish(struct agent *a, int exit_code);
static void begin_stop(struct agent *a, const char *why);
static void auto_next(struct agent *a);

/* Writes obj (consumed) as one line to stdout and flushes it; a lost stdout ends the run. */
static void emit(struct agent *a, json_t *obj)
{
	if (cli_emit_line(obj, true) != 0) {
		log_error("cannot write to stdout: %s", strerror(errno));
		finish(a, 1);
	}
}

/* ---- pending requests -------------------------------------------------- */

static struct pending *pending_add(struct agent *a, enum pending_kind kind, const char *key,
				   bool automatic)
{
	size_t len = strlen(key);
	struct pending *p = calloc(1, sizeof(*p) + len + 1);
	if (p == NULL)
		fatal("out of memory");
	p->kind = kind;
	p->automatic = automatic;
	memcpy(p->key, key, len + 1);
	p->prev = a->tail;
	if (a->tail)
		a->tail->next = p;
	else
		a->head = p;
	a->tail = p;
	a->pending++;
	if (automatic)
		a->auto_inflight++;
	return p;
}

/* The oldest pending request of kind with key, unlinked (the caller frees it); NULL if none. */
static struct pending *pending_take(struct agent *a, enum pending_kind kind, const char *key)
{
	for (struct pending *p = a->head; p; p = p->next) {
		if (p->kind != kind || strcmp(p->key, key) != 0)
			continue;
		if (p->prev)
			p->prev->next = p->next;
		else
			a->head = p->next;
		if (p->next)
			p->next->prev = p->prev;
		else
			a->tail = p->prev;
		a->pending--;
		if (p->automatic)
			a->auto_inflight--;
		return p;
	}
	return NULL;
}

static size_t output_queued(const struct agent *a)
{
	return a->bev ? evbuffer_get_length(bufferevent_get_output(a->bev)) : 0;
}

static bool have_room(const struct agent *a)
{
	return a->pending < MAX_PENDING && output_queued(a) < MAX_OUTPUT;
}

/* ---- sending ------------------------------------------------------------ */

/* Packs and queues one frame. Returns 0, or -1 when the connection is gone. */
static int send_frame(struct agent *a, const Hotline__V1__Frame *frame)
	__attribute__((warn_unused_result));
static int send_frame(struct agent *a, const Hotline__V1__Frame *frame)
{
	if (a->bev == NULL)
		return -1;
	size_t len;
	uint8_t *buf = frame_pack(frame, &len);
	if (buf == NULL)
		fatal("out of memory packing a frame");
	int rc = bufferevent_write(a->bev, buf, len);
	free(buf);
	if (rc != 0) {
		conn_lost(a, "write failed");
		return -1;
	}
	return 0;
}

static void send_claim(struct agent *a, bool automatic)
{
	Hotline__V1__CallbackClaim claim = HOTLINE__V1__CALLBACK_CLAIM__INIT;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_CLAIM;
	frame.callback_claim = &claim;
	pending_add(a, PENDING_CLAIM, "", automatic);
	a->stats.claims_sent++;
	if (send_frame(a, &frame) != 0)
		return; /* conn_lost() ended the run: the request dies with it */
}

static void send_result(struct agent *a, const char *ticket_no, int outcome, const char *note,
			bool automatic)
{
	Hotline__V1__CallbackResult result = HOTLINE__V1__CALLBACK_RESULT__INIT;
	result.ticket_no = (char *)ticket_no;
	result.outcome = outcome;
	result.note = (char *)(note ? note : "");
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_RESULT;
	frame.callback_result = &result;
	struct pending *p = pending_add(a, PENDING_RESULT, ticket_no, automatic);
	p->outcome = outcome;
	a->stats.results_sent++;
	if (send_frame(a, &frame) != 0)
		return; /* conn_lost() ended the run */
}

static void send_intake(struct agent *a, Hotline__V1__Intake *intake)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = intake;
	struct pending *p = pending_add(a, PENDING_INTAKE, intake->external_id, false);
	p->resolve = intake->resolved_on_call;
	a->stats.intakes_sent++;
	if (send_frame(a, &frame) != 0)
		return; /* conn_lost() ended the run */
}

/* ---- receiving ---------------------------------------------------------- */

static void on_welcome(struct agent *a, const Hotline__V1__Welcome *w)
{
	a->state = CONN_READY;
	evtimer_del(a->conn_timer);
	log_info("welcomed by %s as agent %s", w->server ? w->server : "?", a->opt.id);
	json_t *ev = cli_json_event("welcome");
	cli_set_str(ev, "server", w->server);
	cli_set_int(ev, "version", w->version);
	cli_set_int(ev, "max_frame", w->max_frame);
	cli_set_int(ev, "window", w->window);
	cli_set_str(ev, "agent", a->opt.id);
	emit(a, ev);
	auto_next(a);
	stdin_update(a);
}

static void on_task(struct agent *a, const Hotline__V1__CallbackTask *t)
{
	struct pending *p = pending_take(a, PENDING_CLAIM, "");
	if (p == NULL)
		a->stats.unexpected++;
	bool automatic = p && p->automatic;
	free(p);
	const char *ticket_no = t->ticket_no ? t->ticket_no : "";
	if (ticket_no[0] == '\0') {
		a->stats.no_task++;
		emit(a, cli_json_event("no_task"));
		if (automatic && !a->stopping && !a->finishing) {
			struct timeval tv = cli_tv_ms(a->opt.poll_ms);
			evtimer_add(a->poll, &tv);
		}
		return;
	}
	a->stats.tasks++;
	json_t *ev = cli_json_event("task");
	cli_set_str(ev, "ticket_no", ticket_no);
	cli_set_str(ev, "caller_phone", t->caller_phone);
	cli_set_str(ev, "caller_name", t->caller_name);
	cli_set_str(ev, "category", t->category);
	cli_set_str(ev, "content", t->content);
	cli_set_str(ev, "reply", t->reply);
	cli_set_str(ev, "dept_code", t->dept_code);
	cli_set_int(ev, "attempt", t->attempt);
	cli_set_int(ev, "claimed_until", t->claimed_until);
	emit(a, ev);
	/* --auto records its outcome for every task, its own claims' and typed ones'. */
	if (a->opt.auto_outcome && !a->finishing && strlen(ticket_no) <= MAX_TICKET_NO)
		send_result(a, ticket_no, a->opt.auto_outcome, a->opt.note, true);
}

static void on_action_ack(struct agent *a, const Hotline__V1__ActionAck *ack)
{
	const char *ticket_no = ack->ticket_no ? ack->ticket_no : "";
	struct pending *p = pending_take(a, PENDING_RESULT, ticket_no);
	if (p == NULL)
		a->stats.unexpected++;
	if (ack->ok)
		a->stats.results_ok++;
	else
		a->stats.results_failed++;
	json_t *ev = cli_json_event("result_ack");
	cli_set_str(ev, "ticket_no", ticket_no);
	if (p && p->outcome > 0 && p->outcome < OUTCOME_COUNT)
		cli_set_str(ev, "outcome", outcome_words[p->outcome]);
	json_object_set_new(ev, "ok", json_boolean(ack->ok));
	cli_set_str(ev, "state", cli_state_name(ack->state));
	if (!ack->ok || (ack->error && ack->error[0]))
		cli_set_str(ev, "error", ack->error);
	emit(a, ev);
	free(p);
}

static void on_intake_ack(struct agent *a, const Hotline__V1__IntakeAck *ack)
{
	const char *external_id = ack->external_id ? ack->external_id : "";
	struct pending *p = pending_take(a, PENDING_INTAKE, external_id);
	if (p == NULL)
		a->stats.unexpected++;
	a->stats.intakes_acked++;
	json_t *ev = cli_json_event("intake_ack");
	cli_set_str(ev, "external_id", external_id);
	cli_set_str(ev, "ticket_no", ack->ticket_no);
	json_object_set_new(ev, "duplicate", json_boolean(ack->duplicate));
	if (p)
		json_object_set_new(ev, "resolved", json_boolean(p->resolve));
	emit(a, ev);
	free(p);
}

/* Returns 0, or -1 when the connection is (about to be) gone. */
static int on_error(struct agent *a, const Hotline__V1__Error *err)
{
	a->stats.errors++;
	const char *ticket_no = err->ticket_no ? err->ticket_no : "";
	const char *external_id = err->external_id ? err->external_id : "";
	struct pending *p = NULL;
	const char *request = NULL;
	if (a->state == CONN_READY) {
		if (ticket_no[0]) {
			p = pending_take(a, PENDING_RESULT, ticket_no);
			request = "result";
		} else if (external_id[0]) {
			p = pending_take(a, PENDING_INTAKE, external_id);
			request = p && p->resolve ? "resolve" : "intake";
		} else {
			p = pending_take(a, PENDING_CLAIM, "");
			request = "claim";
		}
	}
	json_t *ev = cli_json_event("error");
	cli_set_str(ev, "code", cli_error_code_name(err->code));
	cli_set_str(ev, "message", err->message);
	if (ticket_no[0])
		cli_set_str(ev, "ticket_no", ticket_no);
	if (external_id[0])
		cli_set_str(ev, "external_id", external_id);
	if (p)
		cli_set_str(ev, "request", request);
	emit(a, ev);
	if (p && p->kind == PENDING_RESULT)
		a->stats.results_failed++;
	bool auto_claim = p && p->automatic && p->kind == PENDING_CLAIM;
	free(p);
	if (a->state == CONN_HELLO) {
		log_error("refused by %s:%d: %s: %s", a->opt.host, a->opt.port,
			  cli_error_code_name(err->code), err->message ? err->message : "");
		finish(a, 1);
		return -1;
	}
	if (auto_claim && !a->stopping && !a->finishing) {
		/* The queue is unavailable for now: try again after a pause. */
		struct timeval tv = cli_tv_ms(a->opt.poll_ms);
		evtimer_add(a->poll, &tv);
	}
	return 0;
}

/* Handles one frame. Returns 0, or -1 when reading must stop. */
static int handle_frame(struct agent *a, const Hotline__V1__Frame *frame)
{
	if (a->state == CONN_HELLO && frame->msg_case != HOTLINE__V1__FRAME__MSG_WELCOME &&
	    frame->msg_case != HOTLINE__V1__FRAME__MSG_ERROR) {
		conn_lost(a, "server sent something else than Welcome or Error");
		return -1;
	}
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_WELCOME:
		if (a->state != CONN_HELLO) {
			a->stats.unexpected++;
			return 0;
		}
		on_welcome(a, frame->welcome);
		break;
	case HOTLINE__V1__FRAME__MSG_CALLBACK_TASK:
		on_task(a, frame->callback_task);
		break;
	case HOTLINE__V1__FRAME__MSG_ACTION_ACK:
		on_action_ack(a, frame->action_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_INTAKE_ACK:
		on_intake_ack(a, frame->intake_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_ERROR:
		if (on_error(a, frame->error) != 0)
			return -1;
		break;
	default:
		a->stats.unexpected++;
		log_debug("ignoring a frame of kind %d", (int)frame->msg_case);
		break;
	}
	auto_next(a);
	return a->bev != NULL && !a->finishing ? 0 : -1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct agent *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (a->bev == bev && !a->finishing) {
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			break;
		size_t consumed = 0;
		enum frame_status st =
			frame_decoder_feed(&a->decoder, vec.iov_base, vec.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (st < 0) {
			conn_lost(a, st == FRAME_TOO_LARGE
					     ? "frame from server above the size limit"
					     : "out of memory decoding a frame");
			break;
		}
		if (st != FRAME_READY)
			continue;
		size_t body_len;
		const uint8_t *body = frame_decoder_body(&a->decoder, &body_len);
		Hotline__V1__Frame *frame = frame_unpack(body, body_len);
		if (frame == NULL) {
			conn_lost(a, "undecodable frame from server");
			break;
		}
		int rc = handle_frame(a, frame);
		frame_message_free(frame);
		if (rc != 0)
			break;
	}
	check_done(a);
	stdin_update(a);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct agent *a = arg;
	if (a->finishing) {
		if (output_queued(a) == 0)
			event_base_loopexit(a->base, NULL);
		return;
	}
	stdin_update(a);
}

/* ---- --auto ------------------------------------------------------------- */

/* --auto: claim the next callback when nothing of ours is in flight. */
static void auto_next(struct agent *a)
{
	if (!a->opt.auto_outcome || a->state != CONN_READY || a->stopping || a->finishing ||
	    a->auto_inflight > 0 || evtimer_pending(a->poll, NULL) || !have_room(a))
		return;
	if (a->opt.count && a->stats.results_ok + a->stats.results_failed >= a->opt.count)
		return;
	send_claim(a, true);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	auto_next(a);
}

/* ---- connection ----------------------------------------------------------- */

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct agent *a = arg;
	if (events & BEV_EVENT_CONNECTED) {
		int one = 1;
		evutil_socket_t fd = bufferevent_getfd(bev);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		a->state = CONN_HELLO;
		Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
		hello.role = HOTLINE__V1__ROLE__ROLE_AGENT;
		hello.id = (char *)a->opt.id;
		hello.token = (char *)a->opt.token;
		hello.version = PROTOCOL_VERSION;
		Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
		frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
		frame.hello = &hello;
		if (send_frame(a, &frame) != 0)
			check_done(a);
		return;
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		int err = EVUTIL_SOCKET_ERROR();
		conn_lost(a, (events & BEV_EVENT_ERROR) && err != 0
				     ? evutil_socket_error_to_string(err)
				     : "closed by server");
		check_done(a);
	}
}

static void start_connect(struct agent *a)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", a->opt.port);
	int rc = getaddrinfo(a->opt.host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("cannot resolve %s:%s: %s", a->opt.host, port, gai_strerror(rc));
		if (res)
			freeaddrinfo(res);
		a->state = CONN_CLOSED;
		finish(a, 1);
		return;
	}
	a->bev = bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (a->bev == NULL)
		fatal("out of memory creating a connection");
	bufferevent_setcb(a->bev, read_cb, write_cb, event_cb, a);
	bufferevent_setwatermark(a->bev, EV_WRITE, MAX_OUTPUT / 2, 0);
	frame_decoder_init(&a->decoder, FRAME_MAX_LIMIT);
	a->state = CONN_CONNECTING;
	struct timeval tv = cli_tv_ms(HELLO_TIMEOUT_MS);
	evtimer_add(a->conn_timer, &tv);
	if (bufferevent_enable(a->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(a->bev, res->ai_addr, (int)res->ai_addrlen) != 0)
		conn_lost(a, strerror(errno));
	freeaddrinfo(res);
}

/* Drops the socket (libevent defers the release when called from its callback); the run ends. */
static void conn_lost(struct agent *a, const char *why)
{
	if (a->bev == NULL)
		return;
	bool had_output = output_queued(a) > 0;
	bool was_ready = a->state == CONN_READY;
	bufferevent_free(a->bev);
	a->bev = NULL;
	frame_decoder_free(&a->decoder);
	evtimer_del(a->conn_timer);
	a->state = CONN_CLOSED;
	if (a->finishing) {
		if (had_output) {
			log_warn("connection lost before everything was sent: %s", why);
			a->exit_code = 1;
		}
		event_base_loopexit(a->base, NULL);
		return;
	}
	log_warn("connection to %s:%d lost: %s (%zu requests unanswered)", a->opt.host, a->opt.port,
		 why, a->pending);
	if (was_ready) {
		json_t *ev = cli_json_event("disconnected");
		cli_set_str(ev, "reason", why);
		cli_set_int(ev, "pending", (json_int_t)a->pending);
		emit(a, ev);
	}
	finish(a, a->stopping && a->pending == 0 ? 0 : 1);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	conn_lost(a, a->state == CONN_CONNECTING ? "connect timed out"
						 : "no Welcome within the time limit");
	check_done(a);
}

/* ---- stdin commands --------------------------------------------------------- */

static void command_error(struct agent *a, const char *line, const char *message)
{
	json_t *ev = cli_json_event("command_error");
	cli_set_str(ev, "message", message);
	cli_set_str(ev, "line", line);
	emit(a, ev);
}

/* Splits the first space-separated word off *rest; returns it (NUL-terminated) or NULL. */
static char *next_word(char **rest)
{
	char *p = *rest;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*rest = p;
		return NULL;
	}
	char *word = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	return word;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* "satisfied", "basic" / "basically_satisfied", "unsatisfied", "unreachable" -> outcome; 0 if none.
 */
static int outcome_from_word(const char *word)
{
	if (word == NULL)
		return 0;
	if (strcmp(word, "basically_satisfied") == 0)
		return HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_BASICALLY_SATISFIED;
	for (int i = 1; i < OUTCOME_COUNT; i++)
		if (outcome_words[i] && strcmp(word, outcome_words[i]) == 0)
			return i;
	return 0;
}

static bool external_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_EXTERNAL_ID)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

#define INTAKE_USAGE                                                                       \
	"usage: intake [--phone P] [--name N] [--district D] [--address A] [--channel C] " \
	"[--priority normal|urgent|critical] EXTERNAL_ID CATEGORY CONTENT..."
#define RESOLVE_USAGE                                                                       \
	"usage: resolve [--phone P] [--name N] [--district D] [--address A] [--channel C] " \
	"[--priority normal|urgent|critical] EXTERNAL_ID CATEGORY ANSWER... -- CONTENT..."

/*
 * intake / resolve: leading --key VALUE options (one word each), then
 * EXTERNAL_ID, CATEGORY ("-" for none) and the text: CONTENT..., or for
 * resolve ANSWER... -- CONTENT... ("--" standing alone as a word).
 */
static void command_intake(struct agent *a, const char *line, char *rest, bool resolve)
{
	const char *usage = resolve ? RESOLVE_USAGE : INTAKE_USAGE;
	Hotline__V1__Intake in = HOTLINE__V1__INTAKE__INIT;
	in.channel = (char *)"phone";
	char *word;
	while ((word = next_word(&rest)) != NULL && strncmp(word, "--", 2) == 0 && word[2]) {
		char *value = next_word(&rest);
		if (value == NULL) {
			command_error(a, line, usage);
			return;
		}
		if (strcmp(word, "--phone") == 0) {
			in.caller_phone = value;
		} else if (strcmp(word, "--name") == 0) {
			in.caller_name = value;
		} else if (strcmp(word, "--district") == 0) {
			in.district = value;
		} else if (strcmp(word, "--address") == 0) {
			in.address = value;
		} else if (strcmp(word, "--channel") == 0) {
			in.channel = value;
		} else if (strcmp(word, "--priority") == 0) {
			if (strcmp(value, "normal") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
			else if (strcmp(value, "urgent") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
			else if (strcmp(value, "critical") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
			else {
				command_error(a, line, usage);
				return;
			}
		} else {
			command_error(a, line, usage);
			return;
		}
	}
	char *external_id = word;
	char *category = next_word(&rest);
	if (external_id == NULL || category == NULL || *rest == '\0') {
		command_error(a, line, usage);
		return;
	}
	if (!external_id_ok(external_id)) {
		command_error(
			a, line,
			"EXTERNAL_ID must be 1-128 printable ASCII characters without spaces");
		return;
	}
	in.external_id = external_id;
	in.category = strcmp(category, "-") == 0 ? (char *)"" : category;
	if (resolve) {
		/* ANSWER... -- CONTENT... */
		char *sep = NULL;
		for (char *p = rest; (p = strstr(p, "--")) != NULL; p += 2) {
			bool starts = p == rest || p[-1] == ' ' || p[-1] == '\t';
			bool ends = p[2] == '\0' || p[2] == ' ' || p[2] == '\t';
			if (starts && ends) {
				sep = p;
				break;
			}
		}
		if (sep == NULL) {
			command_error(a, line, usage);
			return;
		}
		*sep = '\0';
		char *content = sep + 2;
		while (*content == ' ' || *content == '\t')
			content++;
		trim_end(rest);
		trim_end(content);
		if (rest[0] == '\0' || content[0] == '\0') {
			command_error(a, line, usage);
			return;
		}
		in.resolved_on_call = true;
		in.answer = rest;
		in.content = content;
	} else {
		trim_end(rest);
		in.content = rest;
	}
	send_intake(a, &in);
}

/* Runs one command line (modified in place). */
static void run_command(struct agent *a, char *line)
{
	char *copy = strdup(line);
	if (copy == NULL)
		fatal("out of memory");
	char *rest = line;
	char *cmd = next_word(&rest);
	if (cmd == NULL || cmd[0] == '#')
		goto out;
	if (strcmp(cmd, "quit") == 0) {
		begin_stop(a, "quit");
	} else if (strcmp(cmd, "claim") == 0) {
		if (*rest != '\0')
			command_error(a, copy, "usage: claim");
		else
			send_claim(a, false);
	} else if (strcmp(cmd, "result") == 0) {
		char *ticket_no = next_word(&rest);
		int outcome = outcome_from_word(next_word(&rest));
		if (ticket_no == NULL || strlen(ticket_no) > MAX_TICKET_NO || outcome == 0) {
			command_error(a, copy,
				      "usage: result TICKET_NO satisfied|basic|unsatisfied|"
				      "unreachable [NOTE...]");
			goto out;
		}
		trim_end(rest);
		send_result(a, ticket_no, outcome, rest, false);
	} else if (strcmp(cmd, "intake") == 0 || strcmp(cmd, "resolve") == 0) {
		command_intake(a, copy, rest, cmd[0] == 'r');
	} else {
		command_error(a, copy, "unknown command (claim, result, intake, resolve or quit)");
	}
out:
	free(copy);
}

/* Runs the complete lines on stdin while there is room and a connection. */
static void run_buffered_commands(struct agent *a)
{
	while (a->state == CONN_READY && !a->stopping && !a->finishing && have_room(a)) {
		size_t len;
		bool too_long;
		char *line = cli_stdin_next_line(&a->in, &len, &too_long);
		if (too_long) {
			command_error(a, "", "command line too long");
			continue;
		}
		if (line == NULL)
			return;
		run_command(a, line);
		free(line);
	}
}

static bool stdin_wanted(const struct agent *a)
{
	return cli_stdin_can_read(&a->in) && a->state == CONN_READY && !a->stopping &&
	       !a->finishing && have_room(a);
}

/* Runs buffered lines, then arms or disarms reading (a regular file is read a chunk per pass). */
static void stdin_update(struct agent *a)
{
	if (a->in.buf == NULL)
		return;
	run_buffered_commands(a);
	if (!a->in.open && !a->stopping && cli_stdin_buffered(&a->in) == 0 &&
	    !a->opt.auto_outcome && a->state == CONN_READY)
		begin_stop(a, "end of input");
	cli_stdin_want(&a->in, stdin_wanted(a));
}

/* After each read of stdin, and at its end. */
static void on_stdin(void *arg)
{
	struct agent *a = arg;
	stdin_update(a);
	check_done(a);
}

/* ---- run control -------------------------------------------------------- */

/* Ends the run with exit_code once everything queued for the daemon is sent. */
static void finish(struct agent *a, int exit_code)
{
	if (a->finishing)
		return;
	a->finishing = true;
	a->exit_code = exit_code;
	cli_stdin_want(&a->in, false);
	evtimer_del(a->conn_timer);
	evtimer_del(a->poll);
	if (a->bev == NULL || output_queued(a) == 0) {
		event_base_loopexit(a->base, NULL);
		return;
	}
	bufferevent_disable(a->bev, EV_READ);
	bufferevent_setwatermark(a->bev, EV_WRITE, 0, 0);
	struct timeval tv = cli_tv_ms(DRAIN_TIMEOUT_MS);
	evtimer_add(a->drain, &tv);
}

/* Called after every event: ends the run when its goal is reached. */
static void check_done(struct agent *a)
{
	if (a->finishing)
		return;
	if (a->stopping && (a->pending == 0 || a->state != CONN_READY)) {
		if (a->pending > 0)
			log_warn("stopping with %zu requests unanswered", a->pending);
		finish(a, a->pending == 0 ? 0 : 1);
		return;
	}
	uint64_t answered = a->stats.results_ok + a->stats.results_failed;
	if (a->opt.count > 0 && answered >= a->opt.count && a->pending == 0)
		finish(a, a->stats.results_failed == 0 ? 0 : 1);
}

/* quit, a signal or the end of input: no new requests; wait for answers, then exit. */
static void begin_stop(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = true;
	log_info("%s: waiting for %zu unanswered requests", why, a->pending);
	evtimer_del(a->poll);
	struct timeval tv = cli_tv_ms(STOP_GRACE_MS);
	evtimer_add(a->grace, &tv);
	stdin_update(a);
	check_done(a);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	log_warn("gave up waiting for %zu unanswered requests", a->pending);
	finish(a, 1);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	log_warn("%zu bytes for the daemon not sent at exit", output_queued(a));
	a->exit_code = 1;
	event_base_loopexit(a->base, NULL);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	log_error("timed out after %.1f s: %" PRIu64 " results answered, %zu requests unanswered",
		  a->opt.timeout_s, a->stats.results_ok + a->stats.results_failed, a->pending);
	finish(a, 1);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	if (++a->signals > 1 || a->finishing) {
		a->exit_code = 1;
		event_base_loopexit(a->base, NULL);
		return;
	}
	begin_stop(a, sig == SIGINT ? "interrupted" : "terminated");
}

static void print_summary(struct agent *a)
{
	const struct stats *st = &a->stats;
	json_t *ev = cli_json_event("summary");
	cli_set_int(ev, "claims", (json_int_t)st->claims_sent);
	cli_set_int(ev, "tasks", (json_int_t)st->tasks);
	cli_set_int(ev, "no_task", (json_int_t)st->no_task);
	cli_set_int(ev, "results_sent", (json_int_t)st->results_sent);
	cli_set_int(ev, "results_ok", (json_int_t)st->results_ok);
	cli_set_int(ev, "results_failed", (json_int_t)st->results_failed);
	cli_set_int(ev, "intakes_sent", (json_int_t)st->intakes_sent);
	cli_set_int(ev, "intakes_acked", (json_int_t)st->intakes_acked);
	cli_set_int(ev, "pending", (json_int_t)a->pending);
	cli_set_int(ev, "errors", (json_int_t)st->errors);
	cli_set_int(ev, "unexpected", (json_int_t)st->unexpected);
	cli_set_int(ev, "exit", a->exit_code);
	char *line = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (line == NULL || puts(line) == EOF || fflush(stdout) == EOF)
		a->exit_code = 1;
	free(line);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: hotline-agent --id AGENT_ID [--token TOKEN] [--host H] [--port P]\n"
	      "                     [--auto satisfied|basic|unsatisfied|unreachable] [--note "
	      "TEXT]\n"
	      "                     [--count N] [--timeout SEC] [--poll-ms MS]\n"
	      "\n"
	      "The agent terminal of hotline12345 on the command line: connects to hotlined's\n"
	      "binary port as an agent, claims callbacks (回访) and records how they went, and\n"
	      "takes calls as Intake records, closing those answered on the spot (直接办结).\n"
	      "\n"
	      "options:\n"
	      "      --host H           hotlined host (default 127.0.0.1)\n"
	      "      --port P           binary port (default 12345)\n"
	      "      --id AGENT_ID      the agent's id (Hello.id; letters, digits, '_', '-');\n"
	      "                         required\n"
	      "      --token TOKEN      the [agents] token (default: $" TOKEN_ENV ")\n"
	      "      --auto OUTCOME     claim callbacks one after another and record OUTCOME\n"
	      "                         for each (satisfied, basic, unsatisfied, unreachable);\n"
	      "                         when none is waiting, claim again after --poll-ms\n"
	      "      --note TEXT        the note --auto records (default \"" DEFAULT_AUTO_NOTE
	      "\")\n"
	      "      --count N          exit once N callback results were answered (exit 0 if\n"
	      "                         all were recorded)\n"
	      "      --timeout SEC      exit 1 if not done within SEC seconds\n"
	      "      --poll-ms MS       --auto: wait after \"nothing waiting\" (default 1000)\n"
	      "  -h, --help             this text\n"
	      "      --version          print the version\n"
	      "\n"
	      "stdin commands, one per line (unless stdin is /dev/null):\n"
	      "  claim                  the next callback: a task line, or no_task\n"
	      "  result TICKET_NO satisfied|basic|unsatisfied|unreachable [NOTE...]\n"
	      "                         how the callback of a claimed ticket went\n"
	      "  intake [OPTS] EXTERNAL_ID CATEGORY CONTENT...\n"
	      "                         a new request taken on the phone\n"
	      "  resolve [OPTS] EXTERNAL_ID CATEGORY ANSWER... -- CONTENT...\n"
	      "                         a request answered on the call: stored closed\n"
	      "  quit                   wait (up to 10 s) for answers, then exit\n"
	      "OPTS: --phone P --name N --district D --address A --channel C (default phone)\n"
	      "--priority normal|urgent|critical; each value one word. CATEGORY '-' = none.\n"
	      "Without --auto the end of stdin ends the run once every request is answered.\n"
	      "\n"
	      "stdout: one JSON object per line with \"at_ms\" (unix ms) and \"event\", one of\n"
	      "welcome, task, no_task, result_ack, intake_ack, error, command_error,\n"
	      "disconnected, summary (always last). A task line carries the caller's phone in\n"
	      "full: the agent calls back. Logs go to stderr.\n"
	      "Exit status: 0 done, 1 refused, connection lost, timeout, a --count result not\n"
	      "recorded, or requests unanswered at exit; 2 usage.\n",
	      out);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "hotline-agent: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static uint64_t parse_uint(const char *arg, const char *name, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long value = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || value < min || value > max)
		usage_error("invalid %s", name);
	return value;
}

enum {
	OPT_HOST = 0x100,
	OPT_PORT,
	OPT_ID,
	OPT_TOKEN,
	OPT_AUTO,
	OPT_NOTE,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_POLL_MS,
	OPT_VERSION
};

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "id", required_argument, NULL, OPT_ID },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "auto", required_argument, NULL, OPT_AUTO },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "poll-ms", required_argument, NULL, OPT_POLL_MS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct options){
		.host = DEFAULT_HOST,
		.port = DEFAULT_PORT,
		.note = DEFAULT_AUTO_NOTE,
		.poll_ms = DEFAULT_POLL_MS,
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PORT:
			o->port = (int)parse_uint(optarg, "--port", 1, 65535);
			break;
		case OPT_ID:
			o->id = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_AUTO:
			o->auto_outcome = outcome_from_word(optarg);
			if (o->auto_outcome == 0)
				usage_error("--auto takes satisfied, basic, unsatisfied or "
					    "unreachable, not '%s'",
					    optarg);
			break;
		case OPT_NOTE:
			if (!utf8_valid(optarg, strlen(optarg)) || strlen(optarg) > 8192)
				usage_error("%s",
					    "--note must be valid UTF-8 of at most 8192 bytes");
			o->note = optarg;
			break;
		case OPT_COUNT:
			o->count = parse_uint(optarg, "--count", 1, UINT64_MAX);
			break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			o->timeout_s = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->timeout_s > 0) ||
			    o->timeout_s > 365.0 * 86400)
				usage_error("invalid --timeout '%s' (seconds)", optarg);
			break;
		}
		case OPT_POLL_MS:
			o->poll_ms = (unsigned)parse_uint(optarg, "--poll-ms", 10, 3600000);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("hotline-agent %s\n", HOTLINE_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->id == NULL)
		usage_error("%s", "--id AGENT_ID is required");
	if (!code_valid(o->id))
		usage_error("invalid --id '%s' (1-64 letters, digits, '_' or '-')", o->id);
	if (o->token == NULL)
		o->token = getenv(TOKEN_ENV);
	if (o->token == NULL || o->token[0] == '\0')
		usage_error("%s", "no token: use --token TOKEN or set " TOKEN_ENV);
}

int main(int argc, char **argv)
{
	log_set_ident("hotline-agent");
	struct agent *a = calloc(1, sizeof(*a));
	if (a == NULL)
		fatal("out of memory");
	parse_options(&a->opt, argc, argv);
	signal(SIGPIPE, SIG_IGN);

	a->base = event_base_new();
	if (a->base == NULL)
		fatal("cannot create the event loop");
	a->conn_timer = evtimer_new(a->base, conn_timer_cb, a);
	a->deadline = evtimer_new(a->base, deadline_cb, a);
	a->grace = evtimer_new(a->base, grace_cb, a);
	a->drain = evtimer_new(a->base, drain_cb, a);
	a->poll = evtimer_new(a->base, poll_cb, a);
	a->sigint_ev = evsignal_new(a->base, SIGINT, signal_cb, a);
	a->sigterm_ev = evsignal_new(a->base, SIGTERM, signal_cb, a);
	if (!a->conn_timer || !a->deadline || !a->grace || !a->drain || !a->poll || !a->sigint_ev ||
	    !a->sigterm_ev || evsignal_add(a->sigint_ev, NULL) != 0 ||
	    evsignal_add(a->sigterm_ev, NULL) != 0)
		fatal("cannot set up the event loop");
	if (a->opt.timeout_s > 0) {
		double whole = (double)(long)a->opt.timeout_s;
		struct timeval tv = { .tv_sec = (time_t)whole,
				      .tv_usec = (suseconds_t)((a->opt.timeout_s - whole) * 1e6) };
		evtimer_add(a->deadline, &tv);
	}
	cli_stdin_setup(&a->in, a->base, MAX_COMMAND_LINE, on_stdin, a);
	log_info("connecting to %s:%d as agent %s", a->opt.host, a->opt.port, a->opt.id);
	start_connect(a);
	if (!a->finishing)
		event_base_dispatch(a->base);

	print_summary(a);
	int exit_code = a->exit_code;
	if (a->bev)
		bufferevent_free(a->bev);
	frame_decoder_free(&a->decoder);
	while (a->head) {
		struct pending *p = a->head;
		a->head = p->next;
		free(p);
	}
	cli_stdin_free(&a->in);
	event_free(a->conn_timer);
	event_free(a->deadline);
	event_free(a->grace);
	event_free(a->drain);
	event_free(a->poll);
	event_free(a->sigint_ev);
	event_free(a->sigterm_ev);
	event_base_free(a->base);
	free(a);
	return exit_code;
}
