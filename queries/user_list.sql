-- user_list: every account (hotlinectl user list). Indexes: none (a small table).
-- for: hotlinectl
--
-- > user_id      int8
-- > name         text
-- > role         text
-- > created_at   text  RFC 3339, UTC
-- > disabled_at  text  '' = active
SELECT user_id, name, role, api_time(created_at) AS created_at,
  COALESCE(api_time(disabled_at), '') AS disabled_at
FROM users ORDER BY name
