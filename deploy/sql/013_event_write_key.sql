-- 013_event_write_key: each audit row remembers the key of the write that made it.
-- 011 kept only the ticket's last write key, so a transition whose commit
-- confirmation was lost still applied its move twice when another move landed in
-- between (the one-hour soak: a callback's UNSATISFIED committed, its confirmation
-- lost, the department accepted and replied on another daemon, and the retry found
-- the ticket REPLIED again and reopened it a second time). The re-read now looks
-- for the key among the ticket's own audit rows (ticket_read.sql, through the
-- primary key on (ticket_id, event_id)). Nullable, no default: adding it rewrites
-- nothing.
ALTER TABLE ticket_events ADD COLUMN write_key bigint;
