-- 001_intake: the intake spine. Feeds, departments, tickets, the append-only
-- audit trail and the transactional outbox.
-- Applied by `hotlinectl migrate` inside one transaction; recorded in schema_migrations.

CREATE TABLE feeds (
    feed_code   text PRIMARY KEY,
    name        text NOT NULL,
    join_mode   text NOT NULL DEFAULT 'merged'
                CHECK (join_mode IN ('merged', 'parallel', 'subcenter')),
    dept_code   text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
    dept_code   text PRIMARY KEY,
    name        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- ticket_id comes from this sequence, so ticket numbers are unique across any
-- number of daemons; ticket_no = local date || '-' || zero-padded ticket_id.
CREATE SEQUENCE ticket_seq AS bigint;

CREATE TABLE tickets (
    ticket_id      bigint PRIMARY KEY,
    ticket_no      text NOT NULL UNIQUE,
    feed_code      text NOT NULL,
    external_id    text NOT NULL,
    received_at    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    channel        text,
    caller_phone   text,
    caller_name    text,
    category       text,
    content        text NOT NULL,
    district       text,
    address        text,
    lat            double precision,
    lon            double precision,
    priority       smallint NOT NULL DEFAULT 1,
    origin_number  text,
    state          text NOT NULL DEFAULT 'RECEIVED',
    dept_code      text,
    deadline_at    timestamptz,
    reopen_count   integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- the idempotency key of intake: a resend finds the original ticket
    CONSTRAINT tickets_feed_external_key UNIQUE (feed_code, external_id)
);

-- Append-only audit trail: one row per transition, written in the same
-- transaction as the change it records. UPDATE and DELETE are refused.
CREATE TABLE ticket_events (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    from_state  text,
    to_state    text,
    actor       text NOT NULL,
    detail      text
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, event_id);

CREATE FUNCTION ticket_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE OR DELETE OR TRUNCATE
    ON ticket_events FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_append_only();

-- Transactional outbox: work committed with the ticket, relayed to Redis later.
CREATE TABLE outbox (
    outbox_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (outbox_id) WHERE sent_at IS NULL;
