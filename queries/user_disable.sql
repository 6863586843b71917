-- user_disable: refuses the account's token from the next request on
-- (hotlinectl user disable). Indexes: users_name_key.
-- for: hotlinectl
--
-- $1 name   text
-- $2 at_ms  int8  now (unix ms)
-- > user_id   int8  no row: no such account
-- > disabled  bool  false: it was already disabled (kept as it was)
WITH u AS (
  UPDATE users SET disabled_at = COALESCE(disabled_at, to_timestamp($2::float8 / 1000))
  WHERE name = $1
  RETURNING user_id, disabled_at = to_timestamp($2::float8 / 1000) AS disabled
)
SELECT user_id, disabled FROM u
