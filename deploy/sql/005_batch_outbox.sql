-- 005_batch_outbox: one outbox row per intake transaction, not one per ticket.
-- An intake batch dispatches up to batch_max tickets at once; a row each cost an
-- insert, an index entry, a delete and a vacuum per ticket on the hottest path.
-- Now such a batch writes one row listing its tickets (ticket_ids); the relay
-- deletes it once every ticket in it is published (each ticket's department is
-- the one it has in tickets). Other rows (a re-dispatch, a callback, a rebuild)
-- still name one ticket (ticket_id, with dept_code for a dispatch).

ALTER TABLE outbox ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN ticket_ids bigint[];
ALTER TABLE outbox ADD CONSTRAINT outbox_one_or_many
    CHECK ((ticket_id IS NULL) <> (ticket_ids IS NULL));
