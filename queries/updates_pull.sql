-- updates_pull: the TicketUpdates a feed connection is owed: the feed's updates
-- other than those the connection holds unacknowledged and those acknowledged and
-- not yet deleted. Never "ids above the last one seen": the transactions that
-- write updates commit in any order. Indexes: feed_updates_feed_idx.
--
-- $1 feed_code  text
-- $2 excluded   int8[]  held by the connection, or acknowledged
-- $3 limit      int     room in the connection's update_window
-- > update_id    int8
-- > external_id  text
-- > ticket_no    text
-- > state        text
-- > reply        text  '' = none
-- > at_ms        int8
SELECT update_id, external_id, ticket_no, state, COALESCE(reply, '') AS reply,
  (extract(epoch FROM at) * 1000)::int8 AS at_ms
FROM feed_updates WHERE feed_code = $1 AND update_id <> ALL($2::int8[])
ORDER BY update_id LIMIT $3
