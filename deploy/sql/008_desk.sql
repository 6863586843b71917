-- 008_desk: the people behind the HTTP API and what the desk needs.
--
-- users: agents and supervisors (docs/http-api.md). A token is "hl1.<user_id>.<secret>";
-- only the SHA-256 of the secret is kept. disabled_at set: refused on the next request.
CREATE TABLE users (
    user_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
    role        text NOT NULL CHECK (role IN ('agent', 'supervisor')),
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    disabled_at timestamptz
);

-- Every look-up of a caller's history: who looked, at which number, when, and how
-- many tickets it showed. Append-only, like the audit trail.
CREATE TABLE caller_lookups (
    lookup_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name    text NOT NULL,
    caller_phone text NOT NULL,
    shown        integer NOT NULL,
    at           timestamptz NOT NULL
);
CREATE FUNCTION append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER caller_lookups_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON caller_lookups FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- A caller's history, newest first.
CREATE INDEX tickets_caller_idx ON tickets (caller_phone, created_at DESC, ticket_id DESC)
    WHERE caller_phone IS NOT NULL;

-- The desk: tickets waiting for a person, oldest first.
CREATE INDEX tickets_desk_idx ON tickets (created_at, ticket_id)
    WHERE state IN ('PENDING_DISPATCH', 'ESCALATED');

-- A supervisor's ruling sent the ticket to its department: that department may not
-- return it (lib/ticket_state.c).
ALTER TABLE tickets ADD COLUMN ruled boolean NOT NULL DEFAULT false;

-- How the HTTP API writes a time: RFC 3339 in UTC with milliseconds.
CREATE FUNCTION api_time(t timestamptz) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
