-- user_add: a new account (hotlinectl user add). The token's secret was drawn by
-- hotlinectl; only its hash is stored. Indexes: users_name_key (the name is unique).
-- for: hotlinectl
--
-- $1 name        text
-- $2 role        text   agent or supervisor
-- $3 token_hash  bytea  SHA-256 of the secret (32 bytes, hex "\x..." text)
-- $4 at_ms       int8   now (unix ms)
-- > user_id  int8  no row: the name is taken
INSERT INTO users (name, role, token_hash, created_at)
VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000))
ON CONFLICT (name) DO NOTHING
RETURNING user_id
