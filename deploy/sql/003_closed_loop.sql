-- 003_closed_loop: callbacks, direct resolution, deadlines and escalation (督办),
-- repeat complaints.

ALTER TABLE tickets
    ADD COLUMN due_soon_at       timestamptz,  -- marked due soon (once per deadline)
    ADD COLUMN overdue_at        timestamptz,  -- marked overdue, escalated (once per deadline)
    ADD COLUMN parent_ticket_id  bigint,       -- a repeat complaint: linked to this open ticket
    ADD COLUMN resolved_on_call  boolean NOT NULL DEFAULT false;  -- 直接办结

-- The escalation watcher's scan: open tickets with a deadline, soonest first.
CREATE INDEX tickets_deadline_idx ON tickets (deadline_at)
    WHERE state IN ('DISPATCHED', 'ACCEPTED') AND deadline_at IS NOT NULL;

-- Repeat complaints: an open ticket of the same caller and category.
CREATE INDEX tickets_repeat_idx ON tickets (caller_phone, category, created_at)
    WHERE state <> 'CLOSED' AND parent_ticket_id IS NULL AND caller_phone IS NOT NULL;

CREATE INDEX tickets_parent_idx ON tickets (parent_ticket_id) WHERE parent_ticket_id IS NOT NULL;

-- 002's index of open tickets by (state, dept_code) serves no query the daemon makes
-- (the watcher and the repeat lookup have their own partial indexes above) and costs an
-- index insert per ticket on the intake path.
DROP INDEX IF EXISTS tickets_open_idx;
