-- migrate_applied: the migrations applied so far.
-- for: hotlinectl
--
-- > version  int4
SELECT version FROM schema_migrations
