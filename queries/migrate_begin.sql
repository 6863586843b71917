-- migrate_begin: opens the transaction one migration is applied in.
-- for: hotlinectl
--
BEGIN
