-- migrate_record: records one migration as applied, in its own transaction.
-- for: hotlinectl
--
-- $1 version  int4
-- $2 name     text
INSERT INTO schema_migrations (version, name) VALUES ($1, $2)
