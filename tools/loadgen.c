/*
 * loadgen.c - hotline-loadgen: the feed simulator and intake benchmark driver.
 *
 * Owns: N feed connections (binary frames or JSON lines) on one libevent loop,
 * each sending its own M records with at most W unacknowledged, either flat
 * out (the window is kept full) or paced to a total rate by one tick timer;
 * matching every IntakeAck / error back to its record; per-record latency from
 * first send to ack in a bounded histogram; reconnect-and-resend for fault
 * tests; the end-of-run summary (human, or one JSON line for scripts).
 * Never: talks to PostgreSQL or Redis, keeps per-record state beyond the
 * window, or retries a record the server refused as invalid.
 * Callers: people, bench/intake, tests/integration (fault and load tests).
 *
 * Record bookkeeping: a connection's records are numbered 0..total-1 and
 * always first sent in order. A record n in flight lives in slot n % ring; a
 * new record is sent only while next < base + window, where base is the
 * lowest record not yet finished, so no two live records share a slot even
 * when acks arrive out of order.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "frame.h"
#include "hotline.pb-c.h"
#include "intake.h"
#include "json_codec.h"
#include "cli_addr.h"
#include "loadgen_hist.h"
#include "loadgen_record.h"
#include "backoff.h"
#include "log.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_BINARY_PORT 12345
#define DEFAULT_JSON_PORT 12347
#define DEFAULT_FEEDS "water:water-feed-secret"
#define DEFAULT_WINDOW 500
#define DEFAULT_CONTENT_BYTES 200
#define DEFAULT_TIMEOUT_S 60
#define MAX_PREFIX 80
#define MAX_JSON_LINE (1024 * 1024)
#define RATE_TICK_US 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define RECORD_PAUSE_MS 200  /* after a "resend later" error for one record */
#define MAX_LOGGED_EVENTS 20 /* per kind of trouble, then only counted */
/* Error codes 0..9 of Hotline__V1__ErrorCode, then one bucket for anything else. */
#define ERROR_SLOTS 11

enum protocol { PROTO_BINARY, PROTO_JSON };

struct options {
	const char *host;
	int port;
	enum protocol protocol;
	const char *feeds_arg;
	unsigned connections;
	uint64_t records;
	double rate;
	unsigned window;
	char prefix[MAX_PREFIX + 1];
	const char *acked_file;
	bool idle;
	double duration_s;
	double timeout_s;
	bool resend;
	bool json_summary;
	size_t content_bytes;
	bool phones;
	uint64_t seed;
	unsigned dry_run;
	uint64_t year_total; /* --year: records over all connections; 0 = off */
};

struct feed {
	char *code;  /* owned */
	char *token; /* owned */
};

enum conn_state {
	CONN_WAITING,	 /* backoff before (re)connecting */
	CONN_CONNECTING, /* TCP connect in progress */
	CONN_HELLO,	 /* hello sent, waiting for the welcome */
	CONN_READY,	 /* welcomed: records flow */
	CONN_DONE,	 /* every record finished */
	CONN_FAILED	 /* gave up; its unfinished records stay unacked */
};

enum slot_state { SLOT_FREE = 0, SLOT_INFLIGHT, SLOT_RESEND };

struct slot {
	uint64_t index;		/* record number */
	uint64_t first_sent_ns; /* monotonic; latency is measured from here */
	uint8_t state;		/* enum slot_state */
};

struct loadgen;

struct conn {
	struct loadgen *lg;
	unsigned id;
	const struct feed *feed;
	struct bufferevent *bev; /* NULL while not connected */
	struct event *timer;	 /* reconnect backoff, or end of a pause */
	enum conn_state state;
	struct frame_decoder decoder;
	struct slot *slots; /* ring entries, owned */
	size_t ring;	    /* = options.window */
	size_t window;	    /* effective: min(options.window, server's window) */
	uint64_t base;	    /* lowest record not finished */
	uint64_t next;	    /* next record never sent */
	uint64_t total;	    /* records this connection sends */
	size_t live;	    /* slots INFLIGHT or RESEND */
	size_t resend_pending;
	uint64_t resend_cursor; /* no RESEND slot below this record number */
	long backoff_ms;
	uint64_t pause_until_ns;
	bool ever_welcomed;
};

struct stats {
	uint64_t sent; /* first sends */
	uint64_t resent;
	uint64_t acked;
	uint64_t duplicate;
	uint64_t failed; /* records refused for good */
	uint64_t errors[ERROR_SLOTS];
	uint64_t reconnects;
	uint64_t unexpected; /* replies matching no record in flight */
	uint64_t updates;    /* TicketUpdate frames received (and acked) */
	unsigned conn_lost_logged;
	unsigned errors_logged;
};

struct loadgen {
	struct options opt;
	struct feed *feeds;
	unsigned feed_count;
	struct event_base *base;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct conn *conns;
	struct record_gen gen;
	struct latency_hist hist;
	struct stats stats;
	FILE *acked_out;
	struct event *rate_tick;
	struct event *watchdog;
	struct event *duration_timer;
	struct event *sigint_event, *sigterm_event;
	double rate_credit;
	uint64_t rate_last_ns;
	unsigned rate_cursor;
	uint64_t start_ns;	/* run start (connecting) */
	uint64_t first_send_ns; /* 0 until the first record goes out */
	uint64_t last_ack_ns;
	uint64_t last_progress_ns;
	uint64_t end_ns;
	unsigned ready_now;   /* connections currently welcomed */
	bool ready_announced; /* "all connections ready" logged */
	bool stopping;	      /* no new records */
	bool aborted;	      /* timeout or second signal */
	bool finished;
	unsigned signals;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_from_ms(uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

static const char *error_name(unsigned code)
{
	return code < ERROR_SLOTS - 1 ? json_error_code_name((int)code) : "other";
}

static unsigned error_slot(int code)
{
	return code >= 0 && code < ERROR_SLOTS - 1 ? (unsigned)code : ERROR_SLOTS - 1;
}

static void conn_lost(struct conn *c, bool permanent, const char *why);
static void maybe_finish(struct loadgen *lg);
static void fill_window(struct conn *c);

/* ---- sending ---------------------------------------------------------- */

/* Queues bytes on the connection; the caller owns data. Returns 0 or -1. */
static int conn_write(struct conn *c, const void *data, size_t len)
{
	if (bufferevent_write(c->bev, data, len) != 0) {
		conn_lost(c, false, "write failed");
		return -1;
	}
	return 0;
}

/* Packs and queues one frame. Returns 0, or -1 when the connection was lost. */
static int conn_write_frame(struct conn *c, const Hotline__V1__Frame *frame)
{
	size_t len;
	uint8_t *buf = frame_pack(frame, &len);
	if (buf == NULL)
		fatal("out of memory packing a frame");
	int rc = conn_write(c, buf, len);
	free(buf);
	return rc;
}

static int send_hello(struct conn *c)
{
	struct loadgen *lg = c->lg;
	if (lg->opt.protocol == PROTO_BINARY) {
		Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
		hello.role = HOTLINE__V1__ROLE__ROLE_FEED;
		hello.id = c->feed->code;
		hello.token = c->feed->token;
		hello.version = 1;
		Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
		frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
		frame.hello = &hello;
		return conn_write_frame(c, &frame);
	}
	/* {"role":"feed","id":<code>,"token":<token>,"version":1}\n */
	static const char head[] = "{\"role\":\"feed\",\"id\":";
	static const char mid[] = ",\"token\":";
	static const char tail[] = ",\"version\":1}\n";
	char *line = NULL;
	size_t cap = 0, len = 0;
	if (json_append_raw(&line, &cap, &len, head) != 0 ||
	    json_append_string(&line, &cap, &len, c->feed->code) != 0 ||
	    json_append_raw(&line, &cap, &len, mid) != 0 ||
	    json_append_string(&line, &cap, &len, c->feed->token) != 0 ||
	    json_append_raw(&line, &cap, &len, tail) != 0)
		fatal("out of memory");
	int rc = conn_write(c, line, len);
	free(line);
	return rc;
}

/* Generates record index of c and queues it. Returns 0 or -1 (connection lost). */
static int send_record(struct conn *c, uint64_t index)
{
	struct loadgen *lg = c->lg;
	struct gen_record rec;
	if (record_generate(&lg->gen, lg->opt.prefix, c->id, index, wall_ms(), &rec) != 0)
		fatal("external_id too long (prefix %s)", lg->opt.prefix);
	if (lg->opt.protocol == PROTO_BINARY) {
		Hotline__V1__Intake intake = HOTLINE__V1__INTAKE__INIT;
		record_to_pb(&rec, &intake);
		Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
		frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
		frame.intake = &intake;
		return conn_write_frame(c, &frame);
	}
	size_t len;
	const char *line = record_format_json(&lg->gen, &rec, &len);
	if (line == NULL)
		fatal("out of memory formatting a record");
	return conn_write(c, line, len);
}

static bool conn_paused(const struct conn *c, uint64_t now)
{
	return c->pause_until_ns > now;
}

static bool can_send_new(const struct conn *c)
{
	return !c->lg->stopping && c->next < c->total && c->next < c->base + c->window;
}

/* Finds the lowest RESEND slot at or above the cursor; returns its record number or UINT64_MAX. */
static uint64_t next_resend(struct conn *c)
{
	uint64_t from = c->resend_cursor > c->base ? c->resend_cursor : c->base;
	for (uint64_t n = from; n < c->next; n++) {
		struct slot *s = &c->slots[n % c->ring];
		if (s->state == SLOT_RESEND && s->index == n) {
			c->resend_cursor = n + 1;
			return n;
		}
	}
	c->resend_cursor = c->next;
	return UINT64_MAX;
}

/*
 * Sends one record on c if it may: a pending resend first, else a new one.
 * Returns 1 when a record went out, 0 when nothing may be sent now, -1 when
 * the connection was lost while writing.
 */
static int send_one(struct conn *c, uint64_t now)
{
	struct loadgen *lg = c->lg;
	if (c->state != CONN_READY || conn_paused(c, now))
		return 0;
	if (c->resend_pending > 0) {
		uint64_t n = next_resend(c);
		if (n != UINT64_MAX) {
			struct slot *s = &c->slots[n % c->ring];
			s->state = SLOT_INFLIGHT;
			c->resend_pending--;
			lg->stats.resent++;
			return send_record(c, n) == 0 ? 1 : -1;
		}
		c->resend_pending = 0; /* bookkeeping drift: nothing is waiting */
	}
	if (!can_send_new(c))
		return 0;
	uint64_t n = c->next;
	struct slot *s = &c->slots[n % c->ring];
	if (s->state != SLOT_FREE)
		fatal("loadgen: slot of record %" PRIu64 " still in use", n);
	s->index = n;
	s->first_sent_ns = now;
	s->state = SLOT_INFLIGHT;
	c->next++;
	c->live++;
	lg->stats.sent++;
	if (lg->first_send_ns == 0)
		lg->first_send_ns = now;
	return send_record(c, n) == 0 ? 1 : -1;
}

/* Flat-out mode: keeps c's window full. */
static void fill_window(struct conn *c)
{
	uint64_t now = now_ns();
	while (send_one(c, now) == 1)
		;
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);

static void pause_conn(struct conn *c, unsigned ms)
{
	c->pause_until_ns = now_ns() + (uint64_t)ms * 1000000ull;
	struct timeval tv = tv_from_ms(ms);
	evtimer_add(c->timer, &tv);
}

/* ---- completion ------------------------------------------------------- */

static bool conn_finished(const struct conn *c)
{
	return c->live == 0 && (c->next >= c->total || c->lg->stopping);
}

/* Moves base past finished records; marks the connection done when all are. */
static void advance_base(struct conn *c)
{
	while (c->base < c->next) {
		const struct slot *s = &c->slots[c->base % c->ring];
		if (s->state != SLOT_FREE && s->index == c->base)
			break;
		c->base++;
	}
	if (c->state == CONN_READY && conn_finished(c)) {
		c->total = c->next;
		c->state = CONN_DONE;
		if (c->lg->ready_now > 0)
			c->lg->ready_now--;
		maybe_finish(c->lg);
	}
}

static struct slot *find_live(struct conn *c, const char *external_id)
{
	uint64_t index;
	if (c->slots == NULL || external_id == NULL || /* --idle sends no records */
	    record_parse_external_id(external_id, c->lg->opt.prefix, c->id, &index) != 0)
		return NULL;
	struct slot *s = &c->slots[index % c->ring];
	if (s->state == SLOT_FREE || s->index != index || index >= c->next)
		return NULL;
	return s;
}

static void on_ack(struct conn *c, const char *external_id, const char *ticket_no, bool duplicate)
{
	struct loadgen *lg = c->lg;
	struct slot *s = find_live(c, external_id);
	if (s == NULL || s->state != SLOT_INFLIGHT) {
		lg->stats.unexpected++;
		return;
	}
	uint64_t now = now_ns();
	hist_record(&lg->hist, (now - s->first_sent_ns) / 1000);
	lg->stats.acked++;
	if (duplicate)
		lg->stats.duplicate++;
	lg->last_ack_ns = now;
	lg->last_progress_ns = now;
	if (lg->acked_out != NULL)
		fprintf(lg->acked_out, "%s\t%s\t%s\t%d\n", c->feed->code, external_id,
			ticket_no != NULL ? ticket_no : "", duplicate ? 1 : 0);
	s->state = SLOT_FREE;
	c->live--;
	advance_base(c);
}

/* A per-record error: retry later ones (with --resend), give up on the rest. */
static void on_record_error(struct conn *c, struct slot *s, int code, const char *message)
{
	struct loadgen *lg = c->lg;
	lg->stats.errors[error_slot(code)]++;
	lg->last_progress_ns = now_ns();
	if (lg->stats.errors_logged < MAX_LOGGED_EVENTS) {
		lg->stats.errors_logged++;
		log_warn("conn=%u feed=%s record=%" PRIu64 " error=%s: %s", c->id, c->feed->code,
			 s->index, json_error_code_name(code), message != NULL ? message : "");
	}
	bool retryable = code == HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE ||
			 code == HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL;
	if (retryable && lg->opt.resend && s->state == SLOT_INFLIGHT) {
		s->state = SLOT_RESEND;
		c->resend_pending++;
		if (s->index < c->resend_cursor)
			c->resend_cursor = s->index;
		pause_conn(c, RECORD_PAUSE_MS);
		return;
	}
	if (s->state == SLOT_RESEND && c->resend_pending > 0)
		c->resend_pending--;
	s->state = SLOT_FREE;
	c->live--;
	lg->stats.failed++;
	advance_base(c);
}

/* An error naming no record in flight: the server closes after these. */
static void on_conn_error(struct conn *c, int code, const char *message)
{
	struct loadgen *lg = c->lg;
	lg->stats.errors[error_slot(code)]++;
	char why[256];
	snprintf(why, sizeof(why), "server error %s: %s", json_error_code_name(code),
		 message != NULL ? message : "");
	bool permanent = code == HOTLINE__V1__ERROR_CODE__ERROR_AUTH ||
			 code == HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL ||
			 code == HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME ||
			 code == HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE;
	conn_lost(c, permanent, why);
}

static void on_welcome(struct conn *c, uint32_t server_window)
{
	struct loadgen *lg = c->lg;
	c->window = c->ring;
	if (server_window > 0 && server_window < c->window)
		c->window = server_window;
	c->state = CONN_READY;
	c->backoff_ms = 0;
	c->pause_until_ns = 0;
	if (c->ever_welcomed)
		lg->stats.reconnects++;
	c->ever_welcomed = true;
	lg->ready_now++;
	lg->last_progress_ns = now_ns();
	if (!lg->ready_announced && lg->ready_now == lg->opt.connections) {
		lg->ready_announced = true;
		log_info("all %u connections ready", lg->opt.connections);
	}
	if (lg->opt.idle)
		return;
	/* A connection with nothing left (a reconnect after all its acks) is done. */
	if (conn_finished(c)) {
		advance_base(c);
		return;
	}
	if (lg->opt.rate <= 0)
		fill_window(c);
}

/* ---- receiving -------------------------------------------------------- */

static void ack_update(struct conn *c, const Hotline__V1__TicketUpdate *update)
{
	c->lg->stats.updates++;
	Hotline__V1__Ack ack = HOTLINE__V1__ACK__INIT;
	ack.ticket_no = update->ticket_no;
	ack.update_id = update->update_id;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACK;
	frame.ack = &ack;
	(void)conn_write_frame(c, &frame); /* on failure the connection is already lost */
}

/* Handles one decoded frame. Returns 0, or -1 when the connection is gone. */
static int handle_frame(struct conn *c, const Hotline__V1__Frame *frame)
{
	struct loadgen *lg = c->lg;
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_WELCOME:
		if (c->state != CONN_HELLO) {
			lg->stats.unexpected++;
			return 0;
		}
		on_welcome(c, frame->welcome->window);
		return c->bev != NULL ? 0 : -1;
	case HOTLINE__V1__FRAME__MSG_INTAKE_ACK:
		on_ack(c, frame->intake_ack->external_id, frame->intake_ack->ticket_no,
		       frame->intake_ack->duplicate);
		return 0;
	case HOTLINE__V1__FRAME__MSG_ERROR: {
		const Hotline__V1__Error *err = frame->error;
		struct slot *s = c->state == CONN_HELLO ? NULL : find_live(c, err->external_id);
		if (s != NULL) {
			on_record_error(c, s, err->code, err->message);
			return 0;
		}
		on_conn_error(c, err->code, err->message);
		return -1;
	}
	case HOTLINE__V1__FRAME__MSG_TICKET_UPDATE:
		ack_update(c, frame->ticket_update);
		return c->bev != NULL ? 0 : -1;
	default:
		lg->stats.unexpected++;
		return 0;
	}
}

/* Drains the input buffer through the frame decoder. Returns 0 or -1 (connection gone). */
static int read_binary(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	for (;;) {
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			return 0;
		size_t consumed = 0;
		enum frame_status st =
			frame_decoder_feed(&c->decoder, vec.iov_base, vec.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (st < 0) {
			conn_lost(c, false,
				  st == FRAME_TOO_LARGE ? "frame from server above the size limit"
							: "out of memory decoding a frame");
			return -1;
		}
		if (st != FRAME_READY)
			continue;
		size_t body_len;
		const uint8_t *body = frame_decoder_body(&c->decoder, &body_len);
		Hotline__V1__Frame *frame = frame_unpack(body, body_len);
		if (frame == NULL) {
			conn_lost(c, false, "undecodable frame from server");
			return -1;
		}
		int rc = handle_frame(c, frame);
		frame_message_free(frame);
		if (rc != 0)
			return -1;
	}
}

static int error_code_from_name(const char *name)
{
	for (int code = 0; code < ERROR_SLOTS - 1; code++)
		if (strcmp(json_error_code_name(code), name) == 0)
			return code;
	return ERROR_SLOTS - 1;
}

static const char *json_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Handles one reply line. Returns 0, or -1 when the connection is gone. */
static int handle_json_line(struct conn *c, const char *line, size_t len)
{
	struct loadgen *lg = c->lg;
	json_error_t jerr;
	json_t *obj = json_loadb(line, len, 0, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		conn_lost(c, false, "unparsable line from server");
		return -1;
	}
	int rc = 0;
	const char *type = json_str(obj, "type");
	if (type == NULL) {
		lg->stats.unexpected++;
	} else if (strcmp(type, "welcome") == 0) {
		if (c->state == CONN_HELLO) {
			json_t *w = json_object_get(obj, "window");
			json_int_t window = json_is_integer(w) ? json_integer_value(w) : 0;
			on_welcome(c, window > 0 && window < UINT32_MAX ? (uint32_t)window : 0);
			rc = c->bev != NULL ? 0 : -1;
		} else {
			lg->stats.unexpected++;
		}
	} else if (strcmp(type, "ack") == 0) {
		on_ack(c, json_str(obj, "external_id"), json_str(obj, "ticket_no"),
		       json_is_true(json_object_get(obj, "duplicate")));
	} else if (strcmp(type, "error") == 0) {
		const char *code_name = json_str(obj, "code");
		int code = error_code_from_name(code_name != NULL ? code_name : "");
		const char *ext = json_str(obj, "external_id");
		struct slot *s = c->state == CONN_HELLO ? NULL : find_live(c, ext);
		if (s != NULL) {
			on_record_error(c, s, code, json_str(obj, "message"));
		} else {
			on_conn_error(c, code, json_str(obj, "message"));
			rc = -1;
		}
	} else if (strcmp(type, "update") == 0) {
		/* A TicketUpdate: acknowledge it, like the binary Ack{update_id}. */
		lg->stats.updates++;
		json_t *id = json_object_get(obj, "update_id");
		if (json_is_integer(id) && c->bev) {
			char ack[64];
			int n = snprintf(ack, sizeof(ack), "{\"ack_update\":%lld}\n",
					 (long long)json_integer_value(id));
			bufferevent_write(c->bev, ack, (size_t)n);
		}
	} else {
		lg->stats.unexpected++;
	}
	json_decref(obj);
	return rc;
}

static int read_json(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	for (;;) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > MAX_JSON_LINE) {
				conn_lost(c, false, "reply line from server too long");
				return -1;
			}
			return 0;
		}
		int rc = handle_json_line(c, line, len);
		free(line);
		if (rc != 0)
			return -1;
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	int rc = c->lg->opt.protocol == PROTO_BINARY ? read_binary(c) : read_json(c);
	if (rc == 0 && c->state == CONN_READY && c->lg->opt.rate <= 0 && !c->lg->opt.idle)
		fill_window(c);
}

/* ---- connections ------------------------------------------------------ */

static void event_cb(struct bufferevent *bev, short events, void *arg);

static void start_connect(struct conn *c)
{
	struct loadgen *lg = c->lg;
	c->bev = bufferevent_socket_new(lg->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatal("out of memory creating a connection");
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	frame_decoder_init(&c->decoder, FRAME_MAX_LIMIT);
	c->state = CONN_CONNECTING;
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(c->bev, (struct sockaddr *)&lg->addr, (int)lg->addr_len) !=
		    0)
		conn_lost(c, false, strerror(errno));
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct conn *c = arg;
	if (events & BEV_EVENT_CONNECTED) {
		int one = 1;
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
		c->state = CONN_HELLO;
		(void)send_hello(c); /* on failure the connection is already lost */
		return;
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		int err = EVUTIL_SOCKET_ERROR();
		conn_lost(c, false,
			  (events & BEV_EVENT_ERROR) && err != 0
				  ? evutil_socket_error_to_string(err)
				  : "closed by server");
	}
}

/*
 * Drops c's socket (bufferevent_free may be called from the bufferevent's own
 * callback: libevent defers the final release). Then either reconnects after a
 * backoff (--resend, error not permanent, work left) with every unacked
 * record marked for resending, or ends the connection.
 */
static void conn_lost(struct conn *c, bool permanent, const char *why)
{
	struct loadgen *lg = c->lg;
	if (c->bev == NULL)
		return;
	bool was_ready = c->state == CONN_READY;
	bufferevent_free(c->bev);
	c->bev = NULL;
	frame_decoder_free(&c->decoder);
	if (was_ready && lg->ready_now > 0)
		lg->ready_now--;
	evtimer_del(c->timer);
	c->pause_until_ns = 0;

	if (c->state == CONN_DONE || lg->finished)
		return;
	bool work_left = lg->opt.idle || !conn_finished(c);
	if (lg->stats.conn_lost_logged < MAX_LOGGED_EVENTS) {
		lg->stats.conn_lost_logged++;
		log_warn("conn=%u feed=%s lost: %s (%zu unacked)%s", c->id, c->feed->code, why,
			 c->live,
			 lg->stats.conn_lost_logged == MAX_LOGGED_EVENTS
				 ? " [further losses not logged]"
				 : "");
	}
	if (!work_left) {
		c->state = CONN_DONE;
		maybe_finish(lg);
		return;
	}
	if (!lg->opt.resend || permanent || (lg->opt.idle && lg->stopping)) {
		c->state = CONN_FAILED;
		maybe_finish(lg);
		return;
	}
	for (uint64_t n = c->base; n < c->next; n++) {
		struct slot *s = &c->slots[n % c->ring];
		if (s->state == SLOT_INFLIGHT && s->index == n) {
			s->state = SLOT_RESEND;
			c->resend_pending++;
		}
	}
	c->resend_cursor = c->base;
	/* +-20% jitter so a thousand connections do not come back in lockstep. */
	long delay = backoff_next(&c->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 20, 20,
				  (unsigned long)rand());
	c->state = CONN_WAITING;
	struct timeval tv = tv_from_ms((unsigned)delay);
	evtimer_add(c->timer, &tv);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->state == CONN_WAITING) {
		start_connect(c);
	} else if (c->state == CONN_READY && c->lg->opt.rate <= 0) {
		c->pause_until_ns = 0;
		fill_window(c);
	} else if (c->state == CONN_READY) {
		c->pause_until_ns = 0;
	}
}

/* ---- run control ------------------------------------------------------ */

static void finish(struct loadgen *lg)
{
	if (lg->finished)
		return;
	lg->finished = true;
	lg->end_ns = now_ns();
	event_base_loopexit(lg->base, NULL);
}

static void maybe_finish(struct loadgen *lg)
{
	bool all_over = true, all_failed = true;
	for (unsigned i = 0; i < lg->opt.connections; i++) {
		enum conn_state st = lg->conns[i].state;
		if (st != CONN_DONE && st != CONN_FAILED)
			all_over = false;
		if (st != CONN_FAILED)
			all_failed = false;
	}
	if (lg->opt.idle ? all_failed : all_over)
		finish(lg);
}

/* Stops new records; connections finish as their outstanding records do. */
static void stop_sending(struct loadgen *lg)
{
	if (lg->stopping)
		return;
	lg->stopping = true;
	if (lg->opt.idle) {
		finish(lg);
		return;
	}
	uint64_t outstanding = 0;
	for (unsigned i = 0; i < lg->opt.connections; i++) {
		struct conn *c = &lg->conns[i];
		if (c->state == CONN_DONE || c->state == CONN_FAILED)
			continue;
		c->total = c->next;
		outstanding += c->live;
		if (c->state == CONN_READY && conn_finished(c))
			advance_base(c);
		else if (c->state != CONN_READY && c->live == 0) {
			/* never got going: nothing was sent, nothing is owed */
			if (c->bev != NULL) {
				bufferevent_free(c->bev);
				c->bev = NULL;
				frame_decoder_free(&c->decoder);
			}
			evtimer_del(c->timer);
			c->state = CONN_DONE;
		}
	}
	log_info("sending stopped; waiting for %" PRIu64 " outstanding acks", outstanding);
	maybe_finish(lg);
}

static void rate_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	uint64_t now = now_ns();
	if (lg->rate_last_ns == 0)
		lg->rate_last_ns = now;
	lg->rate_credit += lg->opt.rate * (double)(now - lg->rate_last_ns) / 1e9;
	lg->rate_last_ns = now;
	/* Credit unspent for 50 ms (windows full) is dropped, not sent later in a burst. */
	double cap = lg->opt.rate * 0.05 > 1.0 ? lg->opt.rate * 0.05 : 1.0;
	if (lg->rate_credit > cap)
		lg->rate_credit = cap;
	unsigned idle_in_row = 0, n = lg->opt.connections;
	while (lg->rate_credit >= 1.0 && idle_in_row < n) {
		struct conn *c = &lg->conns[lg->rate_cursor];
		lg->rate_cursor = (lg->rate_cursor + 1) % n;
		if (send_one(c, now) == 1) {
			lg->rate_credit -= 1.0;
			idle_in_row = 0;
		} else {
			idle_in_row++;
		}
	}
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	uint64_t now = now_ns();
	if (lg->opt.timeout_s <= 0 || lg->finished)
		return;
	bool waiting = false;
	uint64_t outstanding = 0;
	for (unsigned i = 0; i < lg->opt.connections; i++) {
		const struct conn *c = &lg->conns[i];
		if (c->state == CONN_DONE || c->state == CONN_FAILED)
			continue;
		if (lg->opt.idle ? c->state != CONN_READY : true)
			waiting = true;
		outstanding += c->live;
	}
	if (!waiting)
		return;
	if ((double)(now - lg->last_progress_ns) / 1e9 > lg->opt.timeout_s) {
		log_error("timed out: no progress for %.0f s; %u of %u connections ready, %" PRIu64
			  " records unacked",
			  lg->opt.timeout_s, lg->ready_now, lg->opt.connections, outstanding);
		lg->aborted = true;
		finish(lg);
	}
}

static void duration_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	log_info("duration reached");
	stop_sending(lg);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct loadgen *lg = arg;
	lg->signals++;
	if (lg->opt.idle || lg->signals > 1) {
		if (!lg->opt.idle)
			lg->aborted = true;
		finish(lg);
		return;
	}
	log_info("signal %d: no new records (signal again to stop waiting for acks)", (int)sig);
	stop_sending(lg);
}

/* ---- summary ---------------------------------------------------------- */

static uint64_t target_records(const struct loadgen *lg)
{
	uint64_t target = 0;
	for (unsigned i = 0; i < lg->opt.connections; i++)
		target += lg->conns[i].total;
	return target;
}

static double elapsed_s(const struct loadgen *lg)
{
	if (lg->opt.idle || lg->first_send_ns == 0)
		return (double)(lg->end_ns - lg->start_ns) / 1e9;
	uint64_t end = lg->last_ack_ns > lg->first_send_ns ? lg->last_ack_ns : lg->end_ns;
	return (double)(end - lg->first_send_ns) / 1e9;
}

static bool run_complete(const struct loadgen *lg)
{
	if (lg->aborted)
		return false;
	if (lg->opt.idle)
		return lg->ready_now == lg->opt.connections;
	return lg->stats.acked == target_records(lg);
}

static uint64_t errors_total(const struct stats *st)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < ERROR_SLOTS; i++)
		total += st->errors[i];
	return total;
}

static void print_human(const struct loadgen *lg, FILE *out)
{
	const struct options *o = &lg->opt;
	const struct stats *st = &lg->stats;
	double secs = elapsed_s(lg);
	if (o->idle)
		fprintf(out, "hotline-loadgen: %s %s:%d, %u idle connections%s\n",
			o->protocol == PROTO_BINARY ? "binary" : "json", o->host, o->port,
			o->connections, o->resend ? ", resend" : "");
	else
		fprintf(out,
			"hotline-loadgen: %s %s:%d, %u connections x %" PRIu64
			" records, window %u, %s%s\n",
			o->protocol == PROTO_BINARY ? "binary" : "json", o->host, o->port,
			o->connections, o->records, o->window, o->rate > 0 ? "paced" : "flat out",
			o->resend ? ", resend" : "");
	if (o->idle) {
		fprintf(out, "ready       %u of %u connections\n", lg->ready_now, o->connections);
		fprintf(out, "reconnects  %" PRIu64 "\n", st->reconnects);
		fprintf(out, "held        %.3f s\n", secs);
	} else {
		uint64_t target = target_records(lg);
		fprintf(out, "sent        %" PRIu64 " (resent %" PRIu64 ")\n", st->sent,
			st->resent);
		fprintf(out, "acked       %" PRIu64 " of %" PRIu64 " (duplicate %" PRIu64 ")\n",
			st->acked, target, st->duplicate);
		fprintf(out, "errors      %" PRIu64, errors_total(st));
		const char *sep = " (";
		for (unsigned i = 0; i < ERROR_SLOTS; i++) {
			if (st->errors[i] == 0)
				continue;
			fprintf(out, "%s%s %" PRIu64, sep, error_name(i), st->errors[i]);
			sep = ", ";
		}
		fprintf(out, "%s\n", sep[0] == ',' ? ")" : "");
		fprintf(out, "reconnects  %" PRIu64 "\n", st->reconnects);
		if (st->unexpected > 0)
			fprintf(out, "unexpected  %" PRIu64 " replies matching no record\n",
				st->unexpected);
		if (st->updates > 0)
			fprintf(out, "updates     %" PRIu64 " ticket updates received\n",
				st->updates);
		fprintf(out, "elapsed     %.3f s\n", secs);
		fprintf(out, "throughput  %.1f acks/s\n",
			secs > 0 ? (double)st->acked / secs : 0.0);
		fprintf(out, "latency ms  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
			(double)hist_percentile(&lg->hist, 50) / 1000.0,
			(double)hist_percentile(&lg->hist, 90) / 1000.0,
			(double)hist_percentile(&lg->hist, 99) / 1000.0,
			(double)lg->hist.max_us / 1000.0);
	}
	fprintf(out, "result      %s\n", run_complete(lg) ? "complete" : "INCOMPLETE");
}

static void set_int(json_t *obj, const char *key, uint64_t value)
{
	json_object_set_new(obj, key, json_integer((json_int_t)value));
}

static void set_real(json_t *obj, const char *key, double value)
{
	json_object_set_new(obj, key, json_real(value));
}

static double percentile_ms(const struct latency_hist *hist, double pct)
{
	return (double)hist_percentile(hist, pct) / 1000.0;
}

/* The summary as one JSON line; field names are a contract with bench/ and tests/. */
static void print_json(const struct loadgen *lg, FILE *out)
{
	const struct options *o = &lg->opt;
	const struct stats *st = &lg->stats;
	const struct latency_hist *hist = &lg->hist;
	double secs = elapsed_s(lg);
	json_t *summary = json_object();
	json_t *errors = json_object();
	json_t *latency = json_object();
	if (summary == NULL || errors == NULL || latency == NULL)
		fatal("out of memory");
	for (unsigned i = 0; i < ERROR_SLOTS; i++)
		if (st->errors[i] > 0)
			set_int(errors, error_name(i), st->errors[i]);
	set_real(latency, "p50", percentile_ms(hist, 50));
	set_real(latency, "p90", percentile_ms(hist, 90));
	set_real(latency, "p99", percentile_ms(hist, 99));
	set_real(latency, "max", (double)hist->max_us / 1000.0);
	set_real(latency, "mean",
		 hist->count > 0 ? hist->sum_us / (double)hist->count / 1000.0 : 0.0);

	json_object_set_new(summary, "protocol",
			    json_string(o->protocol == PROTO_BINARY ? "binary" : "json"));
	json_object_set_new(summary, "host", json_string(o->host));
	set_int(summary, "port", (uint64_t)o->port);
	set_int(summary, "connections", o->connections);
	set_int(summary, "records_per_connection", o->idle ? 0 : o->records);
	set_int(summary, "window", o->window);
	set_real(summary, "rate", o->rate);
	json_object_set_new(summary, "idle", json_boolean(o->idle));
	set_int(summary, "target", target_records(lg));
	set_int(summary, "sent", st->sent);
	set_int(summary, "resent", st->resent);
	set_int(summary, "acked", st->acked);
	set_int(summary, "duplicate", st->duplicate);
	set_int(summary, "failed", st->failed);
	json_object_set_new(summary, "errors", errors);
	set_int(summary, "errors_total", errors_total(st));
	set_int(summary, "reconnects", st->reconnects);
	set_int(summary, "unexpected", st->unexpected);
	set_int(summary, "updates", st->updates);
	set_int(summary, "ready", lg->ready_now);
	set_real(summary, "elapsed_s", secs);
	set_real(summary, "acks_per_s", secs > 0 ? (double)st->acked / secs : 0.0);
	json_object_set_new(summary, "latency_ms", latency);
	json_object_set_new(summary, "complete", json_boolean(run_complete(lg)));

	char *text =
		json_dumps(summary, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (text == NULL)
		fatal("cannot format the JSON summary");
	fprintf(out, "%s\n", text);
	free(text);
	json_decref(summary);
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hotline-loadgen [OPTION]...\n"
		"Simulates legacy hotline feeds pushing intake records into hotlined, and\n"
		"measures throughput and per-record ack latency.\n"
		"\n"
		"Target:\n"
		"  -h, --host HOST          server address (default " DEFAULT_HOST ")\n"
		"  -p, --port PORT          server port (default %d binary, %d json)\n"
		"  -P, --protocol PROTO     binary (length-prefixed protobuf frames) or json\n"
		"                           (JSON lines); default binary\n"
		"  -f, --feeds LIST         CODE:TOKEN[,CODE:TOKEN...]; connection i uses feed\n"
		"                           i mod count (default " DEFAULT_FEEDS ")\n"
		"\n"
		"Load:\n"
		"  -c, --connections N      feed connections (default 1)\n"
		"  -n, --records M          records per connection (default 1000)\n"
		"  -r, --rate R             records per second over all connections; 0 = flat\n"
		"                           out, keeping every window full (default 0)\n"
		"  -w, --window W           most unacked records per connection (default %d;\n"
		"                           lowered to the server's Welcome.window if smaller)\n"
		"      --prefix STR         external_id prefix; ids are STR-CONN-N (default\n"
		"                           lg-<unix time>-<pid>, so runs never collide)\n"
		"      --content-bytes N    content bytes per record, Chinese+ASCII (default %d)\n"
		"      --phones             send random, realistic 11-digit mobile numbers\n"
		"                           (default: no caller_phone)\n"
		"      --seed N             vary the records (callers, categories, contents, ...)\n"
		"                           from those of another run: runs side by side give\n"
		"                           each a seed of its own (default 0)\n"
		"      --year TOTAL         the seed city's year: TOTAL records over all\n"
		"                           connections (--records is ignored), shared among\n"
		"                           the feeds as its 36 lines shared 3,865,000 requests\n"
		"                           (connections too: at least one per feed), with its\n"
		"                           mix of categories, channels and districts\n"
		"      --duration SEC       stop sending new records after SEC seconds, then wait\n"
		"                           for the outstanding acks\n"
		"      --idle               open the connections, say hello, then hold them idle\n"
		"                           until SIGINT/SIGTERM or --duration\n"
		"      --resend             on connection loss (or an unavailable/internal error\n"
		"                           for a record) reconnect with backoff and resend every\n"
		"                           unacked record; duplicates are then expected\n"
		"      --timeout SEC        give up when no ack (idle: no new connection ready)\n"
		"                           has arrived for SEC seconds while work is\n"
		"                           outstanding; 0 = never (default %d)\n"
		"\n"
		"Output:\n"
		"      --acked-file PATH    write one line per ack:\n"
		"                           "
		"feed_code<TAB>external_id<TAB>ticket_no<TAB>duplicate(0|1)\n"
		"      --json-summary       print the summary as one JSON line on stdout (the\n"
		"                           human summary then goes to stderr)\n"
		"      --log-level LEVEL    debug, info, warn or error (default info)\n"
		"      --dry-run N          print the first N records of connection 0 as JSON\n"
		"                           lines, checked against the intake rules and the JSON\n"
		"                           codec of libhotline; no network\n"
		"      --help               show this help\n"
		"      --version            show the version\n"
		"\n"
		"The summary gives sent, acked, duplicate, errors by code, reconnects,\n"
		"elapsed time, throughput (acks/s) and ack latency p50/p90/p99/max (ms,\n"
		"from a record's first send to its ack). Ctrl-C once stops sending and waits\n"
		"for outstanding acks; twice stops at once.\n"
		"\n"
		"Exit status: 0 when every record sent (all of them, unless --duration or a\n"
		"signal stopped sending early) was acknowledged, or with --idle when every\n"
		"connection was welcomed and still open at the end; 1 otherwise; 2 on bad\n"
		"usage.\n",
		DEFAULT_BINARY_PORT, DEFAULT_JSON_PORT, DEFAULT_WINDOW, DEFAULT_CONTENT_BYTES,
		DEFAULT_TIMEOUT_S);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "hotline-loadgen: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'hotline-loadgen --help'.\n");
	exit(2);
}

static uint64_t parse_uint(const char *arg, const char *name, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	if (arg[0] == '-' || arg[0] == '\0')
		usage_error("bad %s", name);
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%%s %s must be an integer in %" PRIu64 "..%" PRIu64,
			 name, min, max);
		usage_error(msg, arg);
	}
	return v;
}

static double parse_seconds(const char *arg, const char *name)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno != 0 || *end != '\0' || end == arg || !(v >= 0) || v > 1e9) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%%s: %s must be a number >= 0", name);
		usage_error(msg, arg);
	}
	return v;
}

/* Splits "CODE:TOKEN[,CODE:TOKEN...]" into lg->feeds. */
static void parse_feeds(struct loadgen *lg, const char *arg)
{
	char *copy = strdup(arg);
	if (copy == NULL)
		fatal("out of memory");
	unsigned count = 1;
	for (const char *p = arg; *p; p++)
		count += *p == ',';
	lg->feeds = calloc(count, sizeof(*lg->feeds));
	if (lg->feeds == NULL)
		fatal("out of memory");
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		if (colon == NULL || colon == item || colon - item > 64 || strlen(colon + 1) > 256)
			usage_error("--feeds: '%s' is not CODE:TOKEN", item);
		*colon = '\0';
		struct feed *f = &lg->feeds[lg->feed_count++];
		f->code = strdup(item);
		f->token = strdup(colon + 1);
		if (f->code == NULL || f->token == NULL)
			fatal("out of memory");
	}
	free(copy);
	if (lg->feed_count == 0)
		usage_error("--feeds: no feed in '%s'", arg);
}

enum {
	OPT_PREFIX = 256,
	OPT_ACKED_FILE,
	OPT_IDLE,
	OPT_DURATION,
	OPT_TIMEOUT,
	OPT_RESEND,
	OPT_JSON_SUMMARY,
	OPT_CONTENT_BYTES,
	OPT_PHONES,
	OPT_SEED,
	OPT_LOG_LEVEL,
	OPT_DRY_RUN,
	OPT_YEAR,
	OPT_HELP,
	OPT_VERSION,
};

static void parse_options(struct loadgen *lg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "feeds", required_argument, NULL, 'f' },
		{ "connections", required_argument, NULL, 'c' },
		{ "records", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "acked-file", required_argument, NULL, OPT_ACKED_FILE },
		{ "idle", no_argument, NULL, OPT_IDLE },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "resend", no_argument, NULL, OPT_RESEND },
		{ "json-summary", no_argument, NULL, OPT_JSON_SUMMARY },
		{ "content-bytes", required_argument, NULL, OPT_CONTENT_BYTES },
		{ "phones", no_argument, NULL, OPT_PHONES },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "dry-run", required_argument, NULL, OPT_DRY_RUN },
		{ "year", required_argument, NULL, OPT_YEAR },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct options *o = &lg->opt;
	o->host = DEFAULT_HOST;
	o->port = 0;
	o->protocol = PROTO_BINARY;
	o->feeds_arg = DEFAULT_FEEDS;
	o->connections = 1;
	o->records = 1000;
	o->window = DEFAULT_WINDOW;
	o->timeout_s = DEFAULT_TIMEOUT_S;
	o->content_bytes = DEFAULT_CONTENT_BYTES;
	snprintf(o->prefix, sizeof(o->prefix), "lg-%lld-%d", (long long)time(NULL), (int)getpid());

	int ch;
	while ((ch = getopt_long(argc, argv, "h:p:P:f:c:n:r:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			if (optarg[0] == '\0')
				usage_error("--host: empty%s", "");
			o->host = optarg;
			break;
		case 'p':
			o->port = (int)parse_uint(optarg, "--port", 1, 65535);
			break;
		case 'P':
			if (strcmp(optarg, "binary") == 0)
				o->protocol = PROTO_BINARY;
			else if (strcmp(optarg, "json") == 0)
				o->protocol = PROTO_JSON;
			else
				usage_error("--protocol: '%s' is not binary or json", optarg);
			break;
		case 'f':
			o->feeds_arg = optarg;
			break;
		case 'c':
			o->connections = (unsigned)parse_uint(optarg, "--connections", 1, 100000);
			break;
		case 'n':
			o->records = parse_uint(optarg, "--records", 0, 1000000000000ull);
			break;
		case 'r':
			o->rate = parse_seconds(optarg, "--rate");
			break;
		case 'w':
			o->window = (unsigned)parse_uint(optarg, "--window", 1, 1000000);
			break;
		case OPT_PREFIX:
			if (optarg[0] == '\0' || strlen(optarg) > MAX_PREFIX)
				usage_error("--prefix: '%s' must be 1..80 bytes", optarg);
			for (const char *p = optarg; *p; p++)
				if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' ||
				    *p == 0x7f)
					usage_error("--prefix: '%s' must be printable, without "
						    "spaces or quotes",
						    optarg);
			snprintf(o->prefix, sizeof(o->prefix), "%s", optarg);
			break;
		case OPT_ACKED_FILE:
			o->acked_file = optarg;
			break;
		case OPT_IDLE:
			o->idle = true;
			break;
		case OPT_DURATION:
			o->duration_s = parse_seconds(optarg, "--duration");
			break;
		case OPT_TIMEOUT:
			o->timeout_s = parse_seconds(optarg, "--timeout");
			break;
		case OPT_RESEND:
			o->resend = true;
			break;
		case OPT_JSON_SUMMARY:
			o->json_summary = true;
			break;
		case OPT_CONTENT_BYTES:
			o->content_bytes =
				parse_uint(optarg, "--content-bytes", 1, FRAME_MAX_LIMIT / 2);
			break;
		case OPT_PHONES:
			o->phones = true;
			break;
		case OPT_SEED:
			o->seed = parse_uint(optarg, "--seed", 0, UINT32_MAX);
			break;
		case OPT_LOG_LEVEL: {
			int level = log_level_parse(optarg);
			if (level < 0)
				usage_error("--log-level: '%s' is not debug, info, warn or error",
					    optarg);
			log_set_level((enum log_level)level);
			break;
		}
		case OPT_DRY_RUN:
			o->dry_run = (unsigned)parse_uint(optarg, "--dry-run", 1, 1000000);
			break;
		case OPT_YEAR:
			o->year_total = parse_uint(optarg, "--year", 1, 1000000000000ull);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("hotline-loadgen %s\n", HOTLINE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'hotline-loadgen --help'.\n");
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->port == 0)
		o->port = o->protocol == PROTO_BINARY ? DEFAULT_BINARY_PORT : DEFAULT_JSON_PORT;
	if (o->duration_s > 0 && o->duration_s < 0.001)
		usage_error("--duration %s is too short", "");
	parse_feeds(lg, o->feeds_arg);
	if (o->year_total > 0 && (o->idle || o->connections < lg->feed_count))
		usage_error("--year: needs at least one connection per feed%s, and no --idle", "");
}

/*
 * --year: each connection's feed and record count, as the seed city's year shares
 * them among the feeds (loadgen_record.c year_plan()).
 */
static void plan_year(struct loadgen *lg)
{
	unsigned n = lg->opt.connections;
	const char **codes = calloc(lg->feed_count, sizeof(*codes));
	unsigned *feed_of = calloc(n, sizeof(*feed_of));
	uint64_t *records_of = calloc(n, sizeof(*records_of));
	if (codes == NULL || feed_of == NULL || records_of == NULL)
		fatal("out of memory");
	for (unsigned f = 0; f < lg->feed_count; f++)
		codes[f] = lg->feeds[f].code;
	if (year_plan(codes, lg->feed_count, n, lg->opt.year_total, feed_of, records_of) != 0)
		fatal("--year: cannot share %" PRIu64 " records", lg->opt.year_total);
	for (unsigned i = 0; i < n; i++) {
		lg->conns[i].feed = &lg->feeds[feed_of[i]];
		lg->conns[i].total = records_of[i];
	}
	free(codes);
	free(feed_of);
	free(records_of);
}

/* ---- set-up ----------------------------------------------------------- */

static void resolve(struct loadgen *lg)
{
	char err[256];
	socklen_t len;
	if (cli_resolve(lg->opt.host, lg->opt.port, &lg->addr, &len, err, sizeof(err)) != 0)
		fatal("%s", err);
	lg->addr_len = len;
}

/* Many connections need many descriptors: raise the soft limit to the hard one. */
static void raise_fd_limit(unsigned connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)connections + 16)
		log_warn("open-file limit %llu is too low for %u connections",
			 (unsigned long long)rl.rlim_cur, connections);
}

/*
 * --dry-run: prints records as JSON lines and checks each against the
 * daemon's own rules (intake_validate on the protobuf form, json_parse_intake
 * on the JSON form). Returns the exit status.
 */
static int dry_run(struct loadgen *lg)
{
	struct intake_limits limits;
	intake_limits_default(&limits);
	int bad = 0;
	for (unsigned i = 0; i < lg->opt.dry_run; i++) {
		struct gen_record rec;
		int64_t now = wall_ms();
		if (record_generate(&lg->gen, lg->opt.prefix, 0, i, now, &rec) != 0)
			fatal("external_id too long (prefix %s)", lg->opt.prefix);
		char err[256];
		Hotline__V1__Intake pb = HOTLINE__V1__INTAKE__INIT;
		record_to_pb(&rec, &pb);
		struct intake *in = intake_from_pb(&pb);
		if (in == NULL)
			fatal("out of memory");
		if (intake_validate(in, now, &limits, err, sizeof(err)) != 0) {
			log_error("record %u (protobuf form) is invalid: %s", i, err);
			bad++;
		}
		intake_free(in);
		size_t len;
		const char *line = record_format_json(&lg->gen, &rec, &len);
		if (line == NULL)
			fatal("out of memory");
		char ext[INTAKE_MAX_EXTERNAL_ID + 1];
		struct intake *parsed = NULL;
		if (json_parse_intake(line, len - 1, &parsed, ext, err, sizeof(err)) != 0) {
			log_error("record %u (JSON form) is refused: %s", i, err);
			bad++;
		} else {
			if (strcmp(parsed->external_id, rec.external_id) != 0 ||
			    strcmp(parsed->content, rec.content) != 0) {
				log_error("record %u does not survive the JSON round trip", i);
				bad++;
			}
			intake_free(parsed);
		}
		fwrite(line, 1, len, stdout);
	}
	return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct loadgen lg_storage;
	struct loadgen *lg = &lg_storage;
	log_set_ident("hotline-loadgen");
	parse_options(lg, argc, argv);
	if (record_gen_init(&lg->gen, lg->opt.content_bytes, lg->opt.phones) != 0)
		fatal("out of memory");
	lg->gen.seed = lg->opt.seed;
	lg->gen.city_mix = lg->opt.year_total > 0;
	if (lg->opt.dry_run > 0) {
		int rc = dry_run(lg);
		record_gen_free(&lg->gen);
		return rc;
	}

	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	raise_fd_limit(lg->opt.connections);
	resolve(lg);
	hist_init(&lg->hist);
	if (lg->opt.acked_file != NULL) {
		lg->acked_out = fopen(lg->opt.acked_file, "w");
		if (lg->acked_out == NULL)
			fatal("cannot open %s: %s", lg->opt.acked_file, strerror(errno));
		setvbuf(lg->acked_out, NULL, _IOFBF, 1 << 20);
	}
	lg->base = event_base_new();
	if (lg->base == NULL)
		fatal("cannot create the event loop");

	lg->conns = calloc(lg->opt.connections, sizeof(*lg->conns));
	if (lg->conns == NULL)
		fatal("out of memory");
	for (unsigned i = 0; i < lg->opt.connections; i++) {
		struct conn *c = &lg->conns[i];
		c->lg = lg;
		c->id = i;
		c->feed = &lg->feeds[i % lg->feed_count];
		c->ring = lg->opt.window;
		c->window = lg->opt.window;
		c->total = lg->opt.idle ? 0 : lg->opt.records;
		c->state = CONN_WAITING;
		c->timer = evtimer_new(lg->base, conn_timer_cb, c);
		if (!lg->opt.idle)
			c->slots = calloc(c->ring, sizeof(*c->slots));
		if (c->timer == NULL || (!lg->opt.idle && c->slots == NULL))
			fatal("out of memory for %u connections", lg->opt.connections);
	}
	if (lg->opt.year_total > 0)
		plan_year(lg);

	lg->sigint_event = evsignal_new(lg->base, SIGINT, signal_cb, lg);
	lg->sigterm_event = evsignal_new(lg->base, SIGTERM, signal_cb, lg);
	lg->watchdog = event_new(lg->base, -1, EV_PERSIST, watchdog_cb, lg);
	if (lg->sigint_event == NULL || lg->sigterm_event == NULL || lg->watchdog == NULL)
		fatal("out of memory");
	struct timeval one_second = { 1, 0 };
	if (evsignal_add(lg->sigint_event, NULL) != 0 ||
	    evsignal_add(lg->sigterm_event, NULL) != 0 || event_add(lg->watchdog, &one_second) != 0)
		fatal("cannot arm signal handlers");
	if (lg->opt.rate > 0 && !lg->opt.idle) {
		lg->rate_tick = event_new(lg->base, -1, EV_PERSIST, rate_tick_cb, lg);
		struct timeval tick = { 0, RATE_TICK_US };
		if (lg->rate_tick == NULL || event_add(lg->rate_tick, &tick) != 0)
			fatal("cannot arm the rate timer");
	}
	if (lg->opt.duration_s > 0) {
		lg->duration_timer = evtimer_new(lg->base, duration_cb, lg);
		struct timeval tv = tv_from_ms((uint64_t)(lg->opt.duration_s * 1000.0));
		if (lg->duration_timer == NULL || evtimer_add(lg->duration_timer, &tv) != 0)
			fatal("cannot arm the duration timer");
	}

	if (lg->opt.idle)
		log_info("%s %s:%d: %u idle connections",
			 lg->opt.protocol == PROTO_BINARY ? "binary" : "json", lg->opt.host,
			 lg->opt.port, lg->opt.connections);
	else
		log_info("%s %s:%d: %u connections x %" PRIu64 " records, window %u, %s, prefix %s",
			 lg->opt.protocol == PROTO_BINARY ? "binary" : "json", lg->opt.host,
			 lg->opt.port, lg->opt.connections, lg->opt.records, lg->opt.window,
			 lg->opt.rate > 0 ? "paced" : "flat out", lg->opt.prefix);
	lg->start_ns = now_ns();
	lg->last_progress_ns = lg->start_ns;
	for (unsigned i = 0; i < lg->opt.connections; i++)
		start_connect(&lg->conns[i]);
	maybe_finish(lg); /* e.g. --records 0 */
	if (!lg->finished)
		event_base_dispatch(lg->base);
	if (lg->end_ns == 0)
		lg->end_ns = now_ns();

	int status = run_complete(lg) ? 0 : 1;
	if (lg->acked_out != NULL &&
	    (fflush(lg->acked_out) != 0 || ferror(lg->acked_out) || fclose(lg->acked_out) != 0)) {
		log_error("writing %s failed", lg->opt.acked_file);
		status = 1;
	}
	if (lg->opt.json_summary) {
		print_human(lg, stderr);
		print_json(lg, stdout);
	} else {
		print_human(lg, stdout);
	}
	fflush(stdout);

	for (unsigned i = 0; i < lg->opt.connections; i++) {
		struct conn *c = &lg->conns[i];
		if (c->bev != NULL) {
			bufferevent_free(c->bev);
			frame_decoder_free(&c->decoder);
		}
		event_free(c->timer);
		free(c->slots);
	}
	free(lg->conns);
	for (unsigned i = 0; i < lg->feed_count; i++) {
		free(lg->feeds[i].code);
		free(lg->feeds[i].token);
	}
	free(lg->feeds);
	if (lg->rate_tick != NULL)
		event_free(lg->rate_tick);
	if (lg->duration_timer != NULL)
		event_free(lg->duration_timer);
	event_free(lg->watchdog);
	event_free(lg->sigint_event);
	event_free(lg->sigterm_event);
	event_base_free(lg->base);
	record_gen_free(&lg->gen);
	return status;
}
