/*
 * conn_hello.c - the first frame (or line) of every connection: Hello.
 *
 * Owns: checking the protocol version, the role and the id, comparing the
 * token with that role's and id's own (constant time; a feed's token never
 * opens a department's door), and on success making the connection ACTIVE in
 * its role (leaving the server's unauthenticated list) and answering Welcome with
 * the windows the role gets; on failure an Error and a lingering close.
 * Never: logs a token, or says whether an id exists (unknown id and wrong token
 * get one answer).
 * Callers: daemon/conn.c.
 */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "hotline.pb-c.h"
#include "json_codec.h"
#include "log.h"
#include "server.h"

#define PROTOCOL_VERSION 1
#define SERVER_NAME "hotlined/" HOTLINE_VERSION

/* The Hello was accepted: the connection counts no more as unauthenticated. */
static void conn_authenticated(struct conn *c)
{
	c->state = CONN_ACTIVE;
	server_conn_authenticated(c->server, c);
}

static void conn_send_welcome(struct conn *c)
{
	const struct hotline_config *cfg = server_config(c->server);
	if (c->proto == CONN_PROTO_JSON) {
		size_t len;
		char *line =
			json_format_welcome(PROTOCOL_VERSION, SERVER_NAME, (uint32_t)cfg->max_line,
					    (uint32_t)cfg->max_conn_inflight, &len);
		conn_send_line(c, line, len);
		return;
	}
	Hotline__V1__Welcome welcome = HOTLINE__V1__WELCOME__INIT;
	welcome.version = PROTOCOL_VERSION;
	welcome.server = (char *)SERVER_NAME;
	welcome.max_frame = (uint32_t)cfg->max_frame;
	welcome.window =
		(uint32_t)(c->role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT ? cfg->dept_window
									 : cfg->max_conn_inflight);
	if (c->role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT)
		welcome.action_window = (uint32_t)conn_action_window(cfg);
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_WELCOME;
	frame.welcome = &welcome;
	conn_send_frame(c, &frame);
}

/*
 * [hotlined] max_connections_per_id: false (the Hello refused with Error{UNAVAILABLE}
 * and the connection closed) when code already holds that many. One authenticated
 * runaway (a feed reconnecting in a loop without closing) then cannot fill
 * max_connections and keep every other feed and department out.
 */
static bool conn_room_for(struct conn *c, int role, const char *code)
{
	long max = server_config(c->server)->max_connections_per_id;
	size_t held = server_count_id(c->server, role, code);
	if ((long)held < max)
		return true;
	const char *what = role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT ? "department" : "feed";
	log_warn("conn=%llu peer=%s hello refused: %s %s already holds %zu connections "
		 "(max_connections_per_id)",
		 (unsigned long long)c->id, c->peer, what, code, held);
	char msg[192];
	snprintf(msg, sizeof(msg),
		 "%s %s already holds %zu connections on this daemon "
		 "(max_connections_per_id = %ld): close one first",
		 what, code, held, max);
	conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, msg, NULL);
	conn_refuse(c);
	return false;
}

void conn_hello(struct conn *c, int role, const char *id, const char *token, uint32_t version)
{
	char safe_id[65];
	conn_log_safe(safe_id, sizeof(safe_id), id);
	if (version != PROTOCOL_VERSION) {
		char msg[96];
		snprintf(msg, sizeof(msg), "protocol version %u is not supported (this server: %d)",
			 version, PROTOCOL_VERSION);
		conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL, msg);
		return;
	}
	const struct hotline_config *cfg = server_config(c->server);
	if (role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT && c->proto == CONN_PROTO_BINARY) {
		const struct dept_config *dept = config_find_dept(cfg, id);
		if (!dept || !config_token_equal(dept->token, token ? token : "")) {
			server_stats_mut(c->server)->auth_failed++;
			log_warn("conn=%llu peer=%s hello refused: %s '%s'",
				 (unsigned long long)c->id, c->peer,
				 dept ? "wrong token for department" : "unknown department",
				 safe_id);
			conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_AUTH,
					"unknown department or wrong token", NULL);
			conn_refuse(c);
			return;
		}
		if (!conn_room_for(c, role, dept->code))
			return;
		c->role = role;
		snprintf(c->dept_code, sizeof(c->dept_code), "%s", dept->code);
		conn_authenticated(c);
		log_info("conn=%llu peer=%s dept=%s hello accepted", (unsigned long long)c->id,
			 c->peer, c->dept_code);
		conn_send_welcome(c);
		conn_dept_hello(c);
		return;
	}
	if (role == HOTLINE__V1__ROLE__ROLE_AGENT && c->proto == CONN_PROTO_BINARY) {
		if (conn_agent_hello(c, id, token) == 0) {
			conn_authenticated(c);
			conn_send_welcome(c);
		}
		return;
	}
	if (role != HOTLINE__V1__ROLE__ROLE_FEED) {
		conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
			  c->proto == CONN_PROTO_JSON
				  ? "only role feed is served on the JSON-lines listener"
				  : "role must be FEED, DEPARTMENT or AGENT");
		return;
	}
	const struct feed_config *feed = config_find_feed(cfg, id);
	/* An Open311 client's feed has no token: it never says Hello. */
	if (!feed || !feed->token || !config_token_equal(feed->token, token ? token : "")) {
		server_stats_mut(c->server)->auth_failed++;
		log_warn("conn=%llu peer=%s hello refused: %s '%s'", (unsigned long long)c->id,
			 c->peer,
			 !feed		? "unknown feed"
			 : !feed->token ? "no Hello for the Open311 client feed"
					: "wrong token for feed",
			 safe_id);
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_AUTH,
				"unknown feed or wrong token", NULL);
		conn_refuse(c);
		return;
	}
	if (!conn_room_for(c, role, feed->code))
		return;
	c->role = role;
	snprintf(c->feed_code, sizeof(c->feed_code), "%s", feed->code);
	conn_authenticated(c);
	log_info("conn=%llu peer=%s feed=%s %s hello accepted", (unsigned long long)c->id, c->peer,
		 c->feed_code, c->proto == CONN_PROTO_JSON ? "json" : "binary");
	conn_send_welcome(c);
	conn_updates_pull(c);
}
