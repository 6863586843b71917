-- migrate_lock: hotlinectl migrate runs one at a time (concurrent runs wait here).
-- for: hotlinectl
--
-- > locked  void
SELECT pg_advisory_lock(hashtext('hotline12345.migrate')) AS locked
