-- kb_flush: merges what an import left in the knowledge base's GIN pending lists into
-- the indexes (hotlinectl kb import, after its statement committed), so no search
-- scans them; autovacuum would do it later. Indexes: kb_entries_grams_idx,
-- kb_entries_question_grams_idx.
-- for: hotlinectl
--
-- > merged  int8  pending-list pages merged
SELECT gin_clean_pending_list('kb_entries_grams_idx'::regclass)
  + gin_clean_pending_list('kb_entries_question_grams_idx'::regclass) AS merged
