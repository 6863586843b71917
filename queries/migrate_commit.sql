-- migrate_commit: commits one migration and its record together.
-- for: hotlinectl
--
COMMIT
