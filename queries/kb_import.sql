-- kb_import: a whole knowledge-base file in one statement, so an import is all or
-- nothing (hotlinectl kb import). Each entry is inserted, or replaces the entry with
-- its id; with replace, entries whose id is not in the file are deleted, in the same
-- statement. The arrays are the file's columns, one element per entry, ids unique
-- (hotlinectl checks the file first: lib/kbfile.c). inserted tells new from replaced
-- rows by xmax (0 for a row this statement inserted).
-- Indexes: kb_entries_pkey (the upsert, the anti-join of replace); both GIN indexes
-- are written for every row (into their pending lists: kb_flush.sql merges them).
-- for: hotlinectl
--
-- $1 kb_ids       text[]
-- $2 questions    text[]
-- $3 answers      text[]
-- $4 categories   text[]
-- $5 departments  text[]
-- $6 updated      text[]  YYYY-MM-DD
-- $7 at_ms        int8    now (unix ms): imported_at of every entry of the file
-- $8 replace      bool    delete the entries the file does not name
-- > inserted  int8  new entries
-- > updated   int8  entries replaced
-- > deleted   int8  entries deleted (replace)
WITH file AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::text[]) AS f(kb_id, question, answer, category, department, updated)
), written AS (
  INSERT INTO kb_entries AS k (kb_id, question, answer, category, department, updated,
    imported_at)
  SELECT kb_id, question, answer, category, department, updated::date,
    to_timestamp($7::float8 / 1000)
  FROM file
  ON CONFLICT (kb_id) DO UPDATE SET question = excluded.question, answer = excluded.answer,
    category = excluded.category, department = excluded.department,
    updated = excluded.updated, imported_at = excluded.imported_at
  RETURNING (k.xmax = 0) AS inserted
), deleted AS (
  DELETE FROM kb_entries k WHERE $8::bool
    AND NOT EXISTS (SELECT 1 FROM file f WHERE f.kb_id = k.kb_id)
  RETURNING 1
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
  count(*) FILTER (WHERE NOT inserted) AS updated,
  (SELECT count(*) FROM deleted) AS deleted
FROM written
