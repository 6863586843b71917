-- user_rotate: a new token for an account; the old one stops working at once
-- (hotlinectl user rotate). A disabled account stays disabled. Indexes: users_name_key.
-- for: hotlinectl
--
-- $1 name        text
-- $2 token_hash  bytea  SHA-256 of the new secret
-- > user_id   int8  no row: no such account
-- > disabled  bool
UPDATE users SET token_hash = $2 WHERE name = $1
RETURNING user_id, disabled_at IS NOT NULL AS disabled
