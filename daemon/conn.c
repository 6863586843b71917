/*
 * conn.c - a client connection: its life, both wire formats, and replies.
 * The Hello is conn_hello.c's; intake and TicketUpdates are conn_feed.c's; the
 * department and agent roles are conn_dept.c's and conn_agent.c's: this file
 * reads frames and lines and routes them there.
 *
 * Every connection is driven by conn_on_readable(): it takes one frame (or
 * JSON line) at a time, asking the server before each whether back-pressure
 * allows another record. A connection refused with an Error lingers (its side
 * shut, input dropped) until the peer closes, so the Error is read, not reset.
 *
 * Bad input is the peer's problem, never the process's: an undecodable
 * stream (garbage, oversize length prefix, a body that is not a Frame, an
 * oversize JSON line) gets an Error and the connection drains and closes; a
 * well-framed but invalid record gets an Error naming it and the connection
 * goes on. A cut mid-frame loses only that partial frame: nothing is stored.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hotline.pb-c.h"
#include "intake.h"
#include "json_codec.h"
#include "log.h"
#include "mask.h"
#include "pbwire.h"
#include "pgtext.h"
#include "server.h"
#include "store_pg.h"
#include "ticket_state.h"
#include "utf8.h"

static void conn_on_read_cb(struct bufferevent *bev, void *arg);
static void conn_on_write_cb(struct bufferevent *bev, void *arg);
static void conn_on_event_cb(struct bufferevent *bev, short what, void *arg);

void conn_log_safe(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = (ch >= 0x21 && ch < 0x7f) ? (char)ch : '?';
	}
	dst[i] = '\0';
}

/* The external_id to echo in an Error: only when it is a valid proto string. */
static const char *echo_id(const char *external_id)
{
	if (!external_id)
		return "";
	size_t n = strlen(external_id);
	if (n > INTAKE_MAX_EXTERNAL_ID || !utf8_valid(external_id, n))
		return "";
	return external_id;
}

static size_t conn_output_len(const struct conn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

/* Room for size bytes at the end of the output, or NULL (the connection is
 * closed: out of memory). Fill them, then evbuffer_commit_space. */
static uint8_t *output_reserve(struct conn *c, size_t size, struct evbuffer_iovec *vec)
{
	if (size == 0 ||
	    evbuffer_reserve_space(bufferevent_get_output(c->bev), (ev_ssize_t)size, vec, 1) < 1) {
		log_error("conn=%llu out of memory writing a frame", (unsigned long long)c->id);
		conn_close(c);
		return NULL;
	}
	vec->iov_len = size;
	return vec->iov_base;
}

void conn_send_frame(struct conn *c, const Hotline__V1__Frame *frame)
{
	if (!c->bev)
		return;
	size_t body = protobuf_c_message_get_packed_size(&frame->base);
	struct evbuffer_iovec vec;
	uint8_t *at = output_reserve(c, body + FRAME_HEADER_LEN, &vec);
	if (!at)
		return;
	frame_put_header(at, (uint32_t)body);
	protobuf_c_message_pack(&frame->base, at + FRAME_HEADER_LEN);
	evbuffer_commit_space(bufferevent_get_output(c->bev), &vec, 1);
}

void conn_send_ticket_bytes(struct conn *c, const uint8_t *ticket, size_t len)
{
	if (!c->bev)
		return;
	struct evbuffer_iovec vec;
	uint8_t *at = output_reserve(c, frame_ticket_size(len), &vec);
	if (!at)
		return;
	frame_put_ticket(at, ticket, len);
	evbuffer_commit_space(bufferevent_get_output(c->bev), &vec, 1);
}

void conn_send_line(struct conn *c, char *line, size_t len)
{
	if (!line) {
		log_error("conn=%llu out of memory writing a reply", (unsigned long long)c->id);
		conn_close(c);
		return;
	}
	if (c->bev)
		bufferevent_write(c->bev, line, len);
	free(line);
}

void conn_send_error(struct conn *c, Hotline__V1__ErrorCode code, const char *message,
		     const char *external_id)
{
	if (c->proto == CONN_PROTO_JSON) {
		size_t len;
		char *line = json_format_error(code, message, echo_id(external_id), &len);
		conn_send_line(c, line, len);
		return;
	}
	Hotline__V1__Error err = HOTLINE__V1__ERROR__INIT;
	err.code = code;
	err.message = (char *)message;
	err.external_id = (char *)echo_id(external_id);
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ERROR;
	frame.error = &err;
	conn_send_frame(c, &frame);
}

void conn_send_ticket_error(struct conn *c, Hotline__V1__ErrorCode code, const char *message,
			    const char *ticket_no)
{
	Hotline__V1__Error err = HOTLINE__V1__ERROR__INIT;
	err.code = code;
	err.message = (char *)message;
	err.ticket_no = (char *)echo_id(ticket_no);
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ERROR;
	frame.error = &err;
	conn_send_frame(c, &frame);
}

void conn_send_action_ack(struct conn *c, const char *ticket_no, bool ok, const char *error,
			  int state)
{
	Hotline__V1__ActionAck ack = HOTLINE__V1__ACTION_ACK__INIT;
	ack.ticket_no = (char *)ticket_no;
	ack.ok = ok;
	ack.error = (char *)(error ? error : "");
	ack.state = state;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACTION_ACK;
	frame.action_ack = &ack;
	conn_send_frame(c, &frame);
}

/* Error + drain: the stream can no longer be trusted. */
void conn_fail(struct conn *c, Hotline__V1__ErrorCode code, const char *message)
{
	log_warn("conn=%llu peer=%s feed=%s closing: %s", (unsigned long long)c->id, c->peer,
		 c->feed_code[0] ? c->feed_code : "-", message);
	conn_send_error(c, code, message, NULL);
	conn_refuse(c);
}

/* Enters CONN_LINGER: every reply is written; now shut our side and drop input. */
static void conn_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd < 0 || shutdown(fd, SHUT_WR) != 0) {
		conn_close(c);
		return;
	}
	struct evbuffer *in = bufferevent_get_input(c->bev);
	c->linger_bytes += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct timeval tv = { CONN_LINGER_MS / 1000, (CONN_LINGER_MS % 1000) * 1000 };
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

void conn_maybe_finish(struct conn *c)
{
	if (c->state != CONN_DRAINING || c->inflight != 0 || conn_output_len(c) != 0)
		return;
	if (c->linger)
		conn_linger(c);
	else
		conn_close(c);
}

/* ---- store work accounting -------------------------------------------------- */

void conn_work_begin(struct conn *c)
{
	c->inflight++;
	server_record_begin(c->server);
}

void conn_work_end(struct conn *c)
{
	c->inflight--;
	server_record_end(c->server);
	if (c->state == CONN_CLOSED) {
		if (c->inflight == 0)
			server_conn_idle(c->server, c);
		return;
	}
	conn_maybe_finish(c);
}

/* ---- binary protocol ----------------------------------------------------- */

/*
 * A frame whose strings hold a NUL byte (protobuf-c would cut them there: an
 * external_id "X\0y" would be taken for "X"), or that is malformed in a way
 * protobuf-c let through (pbwire.h): a record is refused with INVALID and
 * nothing stored, naming the field; a Hello, or malformed bytes, close the
 * connection. The id of the refused record is echoed unless it is the field cut.
 */
static void conn_frame_refused(struct conn *c, const Hotline__V1__Frame *frame, int status,
			       const char *where)
{
	char msg[160];
	snprintf(msg, sizeof(msg),
		 status == PBWIRE_NUL ? "%s holds a NUL byte: strings must not contain NUL"
				      : "malformed frame at %s",
		 where[0] ? where : "?");
	conn_count_invalid(c);
	if (status != PBWIRE_NUL || c->state == CONN_HELLO ||
	    frame->msg_case == HOTLINE__V1__FRAME__MSG_HELLO) {
		conn_fail(c,
			  status == PBWIRE_NUL ? HOTLINE__V1__ERROR_CODE__ERROR_INVALID
					       : HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			  msg);
		return;
	}
	size_t wlen = strlen(where);
	bool cut_id = (wlen >= 12 && strcmp(where + wlen - 12, ".external_id") == 0) ||
		      (wlen >= 10 && strcmp(where + wlen - 10, ".ticket_no") == 0);
	const char *id = NULL;
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_INTAKE:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, msg,
				cut_id ? NULL : frame->intake->external_id);
		return;
	case HOTLINE__V1__FRAME__MSG_DEPT_ACTION:
		id = frame->dept_action->ticket_no;
		break;
	case HOTLINE__V1__FRAME__MSG_ACK:
		id = frame->ack->ticket_no;
		break;
	case HOTLINE__V1__FRAME__MSG_CALLBACK_RESULT:
		id = frame->callback_result->ticket_no;
		break;
	default:
		break;
	}
	conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, msg,
			       cut_id || !id ? "" : id);
}

static void conn_binary_frame(struct conn *c, Hotline__V1__Frame *frame)
{
	if (c->state == CONN_HELLO) {
		if (frame->msg_case != HOTLINE__V1__FRAME__MSG_HELLO) {
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
				  "the first frame must be Hello");
			return;
		}
		const Hotline__V1__Hello *h = frame->hello;
		conn_hello(c, h->role, h->id, h->token, h->version);
		return;
	}
	if (c->role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT) {
		conn_dept_frame(c, frame);
		return;
	}
	if (c->role == HOTLINE__V1__ROLE__ROLE_AGENT && conn_agent_frame(c, frame))
		return;
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_INTAKE: {
		struct intake *in = intake_from_pb(frame->intake);
		if (!in) {
			conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory",
					frame->intake->external_id);
			return;
		}
		conn_intake(c, in);
		return;
	}
	case HOTLINE__V1__FRAME__MSG_ACK:
		conn_update_acked(c, frame->ack->update_id);
		return;
	default:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
				"this message is not accepted from a feed", NULL);
		return;
	}
}

/*
 * The first bytes of a connection on the binary port that are plainly another
 * protocol: an HTTP request line (whose first four bytes, read as a length, are
 * far above max_frame: "GET " is 1.2 GB) or a TLS record. They get BAD_FRAME,
 * which says what went wrong, rather than FRAME_TOO_LARGE. Returns the message,
 * or NULL for anything else.
 */
static const char *foreign_protocol(const uint8_t *b, size_t n)
{
	static const char *const methods[] = { "GET ", "POST", "PUT ", "HEAD", "DELE",
					       "OPTI", "PATC", "CONN", "TRAC", "PRI " };
	if (n < 4)
		return NULL;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (memcmp(b, methods[i], 4) == 0)
			return "this is hotlined's binary protocol (4-byte length + "
			       "hotline.v1.Frame), "
			       "not HTTP";
	if (b[0] == 0x16 && b[1] == 0x03)
		return "this is hotlined's binary protocol, not TLS";
	return NULL;
}

static void conn_read_binary(struct conn *c, struct evbuffer *in)
{
	if (!c->sniffed && evbuffer_get_length(in) >= 4) {
		c->sniffed = true;
		uint8_t head[4];
		const char *foreign = NULL;
		if (evbuffer_copyout(in, head, sizeof(head)) == (ev_ssize_t)sizeof(head))
			foreign = foreign_protocol(head, sizeof(head));
		if (foreign) {
			server_stats_mut(c->server)->bad_input++;
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME, foreign);
			return;
		}
	}
	while (c->state == CONN_HELLO || c->state == CONN_ACTIVE) {
		if (c->state == CONN_ACTIVE && !server_may_read(c->server, c))
			return;
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			return;
		size_t consumed = 0;
		enum frame_status st =
			frame_decoder_feed(&c->decoder, vec.iov_base, vec.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (st == FRAME_TOO_LARGE) {
			server_stats_mut(c->server)->bad_input++;
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
				  "frame length exceeds max_frame");
			return;
		}
		if (st < 0) {
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				  "out of memory decoding a frame");
			return;
		}
		if (st == FRAME_NEED_MORE)
			continue;
		size_t len;
		const uint8_t *body = frame_decoder_body(&c->decoder, &len);
		Hotline__V1__Frame *frame = frame_unpack(body, len);
		if (!frame) {
			server_stats_mut(c->server)->bad_input++;
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				  "bytes are not a hotline.v1.Frame");
			return;
		}
		char where[96];
		int strings = pbwire_check_strings(&hotline__v1__frame__descriptor, body, len,
						   where, sizeof(where));
		if (strings != PBWIRE_OK)
			conn_frame_refused(c, frame, strings, where);
		else
			conn_binary_frame(c, frame);
		frame_message_free(frame);
	}
}

/* ---- JSON-lines protocol ------------------------------------------------- */

static void conn_json_line(struct conn *c, const char *line, size_t len)
{
	char err[256];
	if (c->state == CONN_HELLO) {
		struct hello_msg hello;
		if (json_parse_hello(line, len, &hello, err, sizeof(err)) != 0) {
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL, err);
			return;
		}
		conn_hello(c, hello.role, hello.id, hello.token, hello.version);
		return;
	}
	uint64_t update_id;
	int ack = json_parse_ack_update(line, len, &update_id, err, sizeof(err));
	if (ack != 0) {
		if (ack < 0)
			conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, err, NULL);
		else
			conn_update_acked(c, update_id);
		return;
	}
	struct intake *in = NULL;
	char external_id[INTAKE_MAX_EXTERNAL_ID + 1];
	if (json_parse_intake(line, len, &in, external_id, err, sizeof(err)) != 0) {
		conn_count_invalid(c);
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, err, external_id);
		return;
	}
	conn_intake(c, in);
}

static void conn_read_json(struct conn *c, struct evbuffer *in)
{
	size_t max_line = (size_t)server_config(c->server)->max_line;
	while (c->state == CONN_HELLO || c->state == CONN_ACTIVE) {
		if (c->state == CONN_ACTIVE && !server_may_read(c->server, c))
			return;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > max_line) {
				server_stats_mut(c->server)->bad_input++;
				conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
					  "line longer than max_line");
			}
			return;
		}
		size_t len = (size_t)eol.pos;
		if (len > max_line) {
			server_stats_mut(c->server)->bad_input++;
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
				  "line longer than max_line");
			return;
		}
		char *line = malloc(len + 1);
		if (!line) {
			conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
			return;
		}
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, 1); /* the '\n' */
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0)
			conn_json_line(c, line, len);
		free(line);
	}
}

/* ---- lifecycle ----------------------------------------------------------- */

void conn_on_readable(struct conn *c)
{
	if (!c->bev)
		return;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	if (c->state == CONN_LINGER) {
		c->linger_bytes += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->linger_bytes > CONN_LINGER_MAX_BYTES)
			conn_close(c);
		return;
	}
	if (c->state != CONN_HELLO && c->state != CONN_ACTIVE)
		return;
	if (c->proto == CONN_PROTO_JSON)
		conn_read_json(c, in);
	else
		conn_read_binary(c, in);
}

static void conn_on_read_cb(struct bufferevent *bev, void *arg)
{
	conn_on_readable(arg);
}

static void conn_on_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->state == CONN_DRAINING)
		conn_maybe_finish(c);
	else if (c->paused)
		server_output_drained(c->server, c);
}

static void conn_on_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_EOF) {
		if (frame_decoder_partial(&c->decoder))
			log_info("conn=%llu feed=%s closed mid-frame; the partial frame is dropped",
				 (unsigned long long)c->id, c->feed_code[0] ? c->feed_code : "-");
		/* The peer may have half-closed and still read its acks. */
		if (c->inflight > 0 && c->state == CONN_ACTIVE) {
			conn_begin_drain(c);
			return;
		}
		conn_close(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

void conn_refuse(struct conn *c)
{
	c->linger = true;
	conn_begin_drain(c);
}

void conn_begin_drain(struct conn *c)
{
	if (c->state == CONN_CLOSED || c->state == CONN_DRAINING || c->state == CONN_LINGER)
		return;
	c->state = CONN_DRAINING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	conn_maybe_finish(c);
}

void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	if (c->role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT)
		conn_dept_closed(c);
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	frame_decoder_free(&c->decoder);
	log_debug("conn=%llu closed (%zu records still in flight)", (unsigned long long)c->id,
		  c->inflight);
	server_conn_closed(c->server, c);
}

int conn_addr_host(const struct sockaddr *addr, char *host, size_t len)
{
	snprintf(host, len, "?");
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)len);
		return ntohs(sin->sin_port);
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, (socklen_t)len);
		return ntohs(sin6->sin6_port);
	}
	return 0;
}

struct conn *conn_new(struct server *server, evutil_socket_t fd, const struct sockaddr *addr,
		      enum conn_proto proto)
{
	static uint64_t next_id = 1;
	const struct hotline_config *cfg = server_config(server);
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return NULL;
	}
	c->bev = bufferevent_socket_new(server_base(server), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->server = server;
	c->proto = proto;
	c->state = CONN_HELLO;
	c->id = next_id++;
	c->opened_ms = clock_now_ms();
	int port = conn_addr_host(addr, c->peer_host, sizeof(c->peer_host));
	snprintf(c->peer, sizeof(c->peer), "%s:%d", c->peer_host, port);
	frame_decoder_init(&c->decoder, (size_t)cfg->max_frame);
	/* Stop reading once a whole maximal frame or line is buffered and unread:
	 * that bounds a paused connection's input buffer. */
	size_t limit = (size_t)(cfg->max_frame > cfg->max_line ? cfg->max_frame : cfg->max_line);
	bufferevent_setwatermark(c->bev, EV_READ, 0, limit + FRAME_HEADER_LEN + 1);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_MAX_OUTPUT / 2, 0);
	bufferevent_setcb(c->bev, conn_on_read_cb, conn_on_write_cb, conn_on_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

void conn_free(struct conn *c)
{
	frame_decoder_free(&c->decoder);
	conn_agent_free(c);
	keyindex_free(&c->by_ticket);
	idset_free(&c->updates_sent);
	idset_free(&c->updates_released);
	keyindex_free(&c->by_entry);
	free(c->deliveries);
	free(c);
}
