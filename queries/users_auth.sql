-- users_auth: the account behind a bearer token (daemon/http.c compares the hash).
-- Indexes: users' primary key.
--
-- $1 user_id  int8
-- > name        text
-- > role        text   agent or supervisor
-- > token_hash  bytea  SHA-256 of the token's secret
-- > disabled    bool
SELECT name, role, token_hash, disabled_at IS NOT NULL AS disabled
FROM users WHERE user_id = $1
