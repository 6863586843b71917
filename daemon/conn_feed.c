/*
 * conn_feed.c - the feed role of a connection: intake and "one way out".
 *
 * Owns: validating an intake record (lib/intake.c, the daemon's limits, and
 * who may resolve on the call) and handing it to the store; writing its
 * IntakeAck (or Error) once its transaction has committed; and the TicketUpdates
 * owed to the feed: pulling them (at most update_window unacknowledged per
 * connection), sending them in either wire format, and taking their Acks.
 * Never: acknowledges a record before its commit, or takes an Ack for an update
 * not sent on this very connection.
 * Callers: daemon/conn.c (the frames and lines of a feed or agent connection),
 * daemon/conn_hello.c (the first pull), daemon/server.c (pulls, updates
 * acknowledged elsewhere).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conn.h"
#include "hotline.pb-c.h"
#include "intake.h"
#include "json_codec.h"
#include "log.h"
#include "tally.h"
#include "mask.h"
#include "pgtext.h"
#include "server.h"
#include "store_pg.h"
#include "ticket_state.h"

/* ---- TicketUpdates to feeds ("one way out") ------------------------------------ */

/*
 * Every update of the feed not yet acknowledged is owed to each of its
 * connections until one of them acknowledges it. A pull asks for the feed's
 * updates other than those this connection holds unacknowledged
 * (updates_sent) and those acknowledged and not yet deleted (the server's
 * sets): never "ids above the last one seen", since transactions that write
 * updates commit in any order and a cursor would skip an id that committed
 * after a higher one. An Ack is taken only for an update sent on this very
 * connection: anything else is another connection's (or another feed's) and
 * refused. An update sent on several connections of the feed is acknowledged
 * by the first Ack; the others' Acks of it, which were already on their way,
 * are taken and change nothing.
 */

static void on_updates_pulled(void *arg, const PGresult *res, const char *error)
{
	struct conn *c = arg;
	c->updates_busy = false;
	if (error)
		log_warn("conn=%llu feed=%s reading TicketUpdates failed: %s",
			 (unsigned long long)c->id, c->feed_code, error);
	if (!error && c->state == CONN_ACTIVE) {
		for (int r = 0; r < PQntuples(res); r++) {
			int64_t id, at;
			if (pgtext_int64(PQgetvalue(res, r, UPDATES_PULL_C_UPDATE_ID), &id) != 0 ||
			    pgtext_int64(PQgetvalue(res, r, UPDATES_PULL_C_AT_MS), &at) != 0) {
				log_error("conn=%llu a TicketUpdate row cannot be read",
					  (unsigned long long)c->id);
				continue;
			}
			/* Acknowledged on another connection while this pull ran. */
			if (server_update_is_acked(c->server, id) ||
			    idset_has(&c->updates_sent, id))
				continue;
			if (idset_add(&c->updates_sent, id) != 0) {
				log_error("conn=%llu out of memory holding a TicketUpdate",
					  (unsigned long long)c->id);
				break; /* sent at the next pull */
			}
			Hotline__V1__TicketUpdate up = HOTLINE__V1__TICKET_UPDATE__INIT;
			up.update_id = (uint64_t)id;
			const char *state_name = PQgetvalue(res, r, UPDATES_PULL_C_STATE);
			up.external_id = PQgetvalue(res, r, UPDATES_PULL_C_EXTERNAL_ID);
			up.ticket_no = PQgetvalue(res, r, UPDATES_PULL_C_TICKET_NO);
			int state = ticket_state_from_name(state_name);
			up.state = state > 0 ? state : 0;
			up.reply = PQgetvalue(res, r, UPDATES_PULL_C_REPLY);
			up.at = at;
			if (c->proto == CONN_PROTO_JSON) {
				size_t len;
				char *line = json_format_update(up.update_id, up.external_id,
								up.ticket_no, state_name, up.reply,
								up.at, &len);
				conn_send_line(c, line, len);
			} else {
				Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
				frame.msg_case = HOTLINE__V1__FRAME__MSG_TICKET_UPDATE;
				frame.ticket_update = &up;
				conn_send_frame(c, &frame);
			}
		}
	}
	bool again = c->updates_again;
	c->updates_again = false;
	conn_work_end(c);
	if (again && c->state == CONN_ACTIVE)
		conn_updates_pull(c);
}

void conn_updates_pull(struct conn *c)
{
	size_t window = (size_t)server_config(c->server)->update_window;
	if (c->state != CONN_ACTIVE || c->role != HOTLINE__V1__ROLE__ROLE_FEED)
		return;
	if (c->updates_busy) {
		c->updates_again = true;
		return;
	}
	if (c->updates_sent.n >= window)
		return;
	const struct idset *skip[3] = { &c->updates_sent, NULL, NULL };
	server_updates_acked_sets(c->server, &skip[1], &skip[2]);
	char *excluded = idset_pg_array(skip, 3);
	if (!excluded) {
		log_error("conn=%llu out of memory pulling TicketUpdates",
			  (unsigned long long)c->id);
		return; /* the next janitor pass tries again */
	}
	char limit[32];
	snprintf(limit, sizeof(limit), "%zu", window - c->updates_sent.n);
	const char *values[UPDATES_PULL_NPARAMS] = {
		[UPDATES_PULL_P_FEED_CODE] = c->feed_code,
		[UPDATES_PULL_P_EXCLUDED] = excluded,
		[UPDATES_PULL_P_LIMIT] = limit,
	};
	c->updates_busy = true;
	conn_work_begin(c);
	store_pg_query(server_store(c->server), QUERY_UPDATES_PULL, values, on_updates_pulled, c);
	free(excluded);
}

void conn_update_delivered(struct conn *c, long long update_id)
{
	size_t window = (size_t)server_config(c->server)->update_window;
	if (!idset_remove(&c->updates_sent, update_id))
		return;
	/* Not kept (full, or out of memory): this connection's own Ack of it, if
	 * it ever comes, gets NOT_FOUND like any Ack of an unknown update. */
	if (c->updates_released.n < window && idset_add(&c->updates_released, update_id) != 0)
		log_warn("conn=%llu out of memory remembering a released TicketUpdate",
			 (unsigned long long)c->id);
	if (c->updates_sent.n <= window / 2)
		conn_updates_pull(c);
}

void conn_update_acked(struct conn *c, uint64_t update_id)
{
	if (update_id > 0 && update_id <= INT64_MAX &&
	    idset_remove(&c->updates_released, (long long)update_id))
		return; /* sent here, acknowledged on another connection first */
	if (update_id == 0 || update_id > INT64_MAX ||
	    !idset_remove(&c->updates_sent, (long long)update_id)) {
		char id[32];
		snprintf(id, sizeof(id), "%llu", (unsigned long long)update_id);
		log_info("conn=%llu feed=%s Ack of TicketUpdate %s refused: not sent on this "
			 "connection",
			 (unsigned long long)c->id, c->feed_code, id);
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				"no such TicketUpdate awaits an Ack on this connection", NULL);
		return;
	}
	server_update_acked(c->server, c, (long long)update_id);
	if (c->updates_sent.n <= (size_t)server_config(c->server)->update_window / 2)
		conn_updates_pull(c);
}

/* ---- intake ---------------------------------------------------------------- */

/* This connection's feed's counters (NULL before its Hello, or when full). */
static struct feed_tally *feed_tally_of(struct conn *c)
{
	return c->feed_code[0] ? tally_feed(server_tally(c->server), c->feed_code) : NULL;
}

void conn_count_invalid(struct conn *c)
{
	server_stats_mut(c->server)->invalid++;
	struct feed_tally *t = feed_tally_of(c);
	if (t)
		t->invalid++;
}

static void conn_intake_done(struct store_intake *rec, const struct store_result *result)
{
	struct conn *c = rec->owner;
	struct server_stats *stats = server_stats_mut(c->server);
	struct feed_tally *tally = feed_tally_of(c);
	if (result->outcome == STORE_COMMITTED) {
		stats->acked++;
		if (tally) {
			tally->acked++;
			tally->duplicates += result->duplicate;
		}
		if (!result->duplicate && rec->state == TICKET_CLOSED)
			stats->direct_closed++;
		if (!result->duplicate && rec->state == TICKET_LINKED)
			stats->linked++;
		if (result->duplicate)
			stats->duplicates++;
		if (c->proto == CONN_PROTO_JSON) {
			size_t len;
			char *line = json_format_ack(rec->intake->external_id, result->ticket_no,
						     result->duplicate, &len);
			if (c->bev)
				conn_send_line(c, line, len);
			else
				free(line);
		} else {
			Hotline__V1__IntakeAck ack = HOTLINE__V1__INTAKE_ACK__INIT;
			ack.external_id = (char *)rec->intake->external_id;
			ack.ticket_no = (char *)result->ticket_no;
			ack.duplicate = result->duplicate;
			Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
			frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE_ACK;
			frame.intake_ack = &ack;
			conn_send_frame(c, &frame);
		}
	} else {
		stats->failed++;
		if (tally)
			tally->failed++;
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				"the record could not be stored; resend later",
				rec->intake->external_id);
	}
	intake_free(rec->intake);
	free(rec);
	conn_work_end(c);
}

/*
 * [feed.CODE] max_rate: true when the record may go on. Over the rate it is refused
 * with Error{UNAVAILABLE} naming the limit (nothing stored, nothing acknowledged: the
 * feed resends it later), so a runaway line costs the daemon a parse and a reply
 * per record, never a share of the group commit the other feeds wait on. Its
 * connection stays open and is still read, so its Acks of TicketUpdates flow.
 */
static bool within_rate(struct conn *c, const struct hotline_config *cfg, const char *external_id)
{
	const struct feed_config *feed = config_find_feed(cfg, c->feed_code);
	long burst;
	if (!feed || server_feed_within_rate(c->server, feed, &burst))
		return true;
	char msg[256];
	snprintf(msg, sizeof(msg),
		 "feed %s is over its rate limit ([feed.%s] max_rate %ld records/s, burst %ld): "
		 "not stored; resend it later",
		 c->feed_code, c->feed_code, feed->max_rate, burst);
	conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, msg, external_id);
	return false;
}

/* Validates in and hands it to the store; takes ownership of in. */
void conn_intake(struct conn *c, struct intake *in)
{
	struct server *server = c->server;
	const struct hotline_config *cfg = server_config(server);
	int64_t now = clock_now_ms();
	if (!within_rate(c, cfg, in->external_id)) {
		intake_free(in);
		return;
	}
	struct intake_limits limits;
	intake_limits_default(&limits);
	limits.max_content = (size_t)cfg->max_content;
	char err[256];
	if (intake_validate(in, now, &limits, err, sizeof(err)) != 0) {
		char safe_id[65];
		conn_log_safe(safe_id, sizeof(safe_id), in->external_id);
		log_info("conn=%llu feed=%s record '%s' refused: %s", (unsigned long long)c->id,
			 c->feed_code, safe_id, err);
		conn_count_invalid(c);
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, err, in->external_id);
		intake_free(in);
		return;
	}
	if (in->resolved_on_call && c->role == HOTLINE__V1__ROLE__ROLE_FEED) {
		/* 直接办结 is an agent's: a record closed at intake is never dispatched, so a
		 * feed may send it only when its section says so. */
		const struct feed_config *feed = config_find_feed(cfg, c->feed_code);
		if (!feed || !feed->allow_resolved_on_call) {
			char msg[320];
			snprintf(msg, sizeof(msg),
				 "resolved_on_call is for agents (直接办结); feed %s may not send "
				 "it "
				 "([feed.%s] allow_resolved_on_call)",
				 c->feed_code, c->feed_code);
			conn_count_invalid(c);
			conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, msg,
					in->external_id);
			intake_free(in);
			return;
		}
	}
	if (in->received_at_ms == 0)
		in->received_at_ms = now;
	struct store_intake *rec = calloc(1, sizeof(*rec));
	if (!rec) {
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory",
				in->external_id);
		intake_free(in);
		return;
	}
	snprintf(rec->feed_code, sizeof(rec->feed_code), "%s", c->feed_code);
	rec->intake = in;
	rec->done = conn_intake_done;
	rec->owner = c;
	if (log_get_level() <= LOG_DEBUG) {
		char masked[MASK_PHONE_SIZE], safe_id[65];
		mask_phone(in->caller_phone, masked, sizeof(masked));
		conn_log_safe(safe_id, sizeof(safe_id), in->external_id);
		log_debug("conn=%llu feed=%s record '%s' caller=%s queued",
			  (unsigned long long)c->id, c->feed_code, safe_id, masked);
	}
	conn_work_begin(c);
	server_stats_mut(server)->records++;
	struct feed_tally *tally = feed_tally_of(c);
	if (tally)
		tally->records++;
	store_pg_submit(server_store(server), rec);
}
