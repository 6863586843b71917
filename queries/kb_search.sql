-- kb_search: the knowledge base's entries for a query, best first, one page of them, as
-- one JSON document (GET /api/v1/kb, hotlinectl kb search).
-- Match: the query is cut into words at white space and punctuation (kb_words); an
-- entry matches when its question and answer hold every character pair of every word
-- (a one-character word: that character). A query without a word matches nothing.
-- Rank (docs/http-api.md "Knowledge base"): every word verbatim in the question first;
-- then every word verbatim in the question or the answer; then the share of the
-- query's pairs found in the question; then the newest `updated`; then kb_id (bytewise).
-- ASCII letters match in either case. score = (2 * [verbatim in question] +
-- [verbatim in entry] + share) / 4, two decimals: 1 for the first group, 0.25..0.5 for
-- the second, 0..0.25 for the rest.
-- Two steps, so that a word many questions hold costs no look at answers: `first`
-- takes the page from the entries with the words in the question (found by
-- kb_entries_question_grams_idx, newest first); `rest` ranks the other matches only
-- when those do not fill the page (LIMIT 0 does not run it). Words hold no ASCII
-- punctuation (kb_spaced cuts there), so they go into LIKE patterns as they are; an
-- answer is folded to lower case only when the query has an ASCII letter (folding
-- costs more than the match).
-- Indexes: kb_entries_question_grams_idx, kb_entries_grams_idx.
--
-- $1 q      text  the query, 1..200 bytes (hotlined checks it)
-- $2 limit  int4  1..50
-- > result  text  JSON {"query", "entries": [{"id", "question", "answer", "category", "department", "updated", "score"}]}
WITH q AS MATERIALIZED (
  SELECT kb_query_grams($1) AS grams,
    ARRAY(SELECT '%' || w || '%' FROM unnest(kb_words($1)) w) AS patterns,
    kb_spaced($1) ~ '[a-z]' AS has_letters
), first AS (
  SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated,
    true AS in_question, true AS in_entry, 1::float8 AS share
  FROM kb_entries e, q
  WHERE kb_grams(e.question) @> q.grams AND cardinality(q.grams) > 0
    AND lower(e.question COLLATE "C") LIKE ALL (q.patterns)
  ORDER BY e.updated DESC, e.kb_id COLLATE "C"
  LIMIT $2::int
), rest AS (
  SELECT m.kb_id, m.question, m.answer, m.category, m.department, m.updated,
    false AS in_question, r.in_entry, r.share
  FROM (SELECT e.*, lower(e.question COLLATE "C") AS folded_question
        FROM kb_entries e, q
        WHERE kb_entry_grams(e.question, e.answer) @> q.grams
          AND cardinality(q.grams) > 0) m,
    q, LATERAL (SELECT
      CASE WHEN q.has_letters THEN lower(m.answer COLLATE "C") ELSE m.answer END
        LIKE ALL (q.patterns) AS in_entry,
      (SELECT avg((strpos(m.folded_question, g) > 0)::int) FROM unnest(q.grams) g)::float8
        AS share) r
  WHERE NOT (m.folded_question LIKE ALL (q.patterns))
  ORDER BY r.in_entry DESC, r.share DESC, m.updated DESC, m.kb_id COLLATE "C"
  LIMIT $2::int - (SELECT count(*) FROM first)
), page AS (
  SELECT * FROM first UNION ALL SELECT * FROM rest
)
SELECT json_build_object('query', $1::text, 'entries', COALESCE(json_agg(json_build_object(
    'id', kb_id, 'question', question, 'answer', answer, 'category', category,
    'department', department, 'updated', updated,
    'score', round(((2 * in_question::int + in_entry::int + share) / 4)::numeric, 2))
  ORDER BY in_question DESC, in_entry DESC, share DESC, updated DESC, kb_id COLLATE "C"),
  '[]'::json))::text AS result
FROM page
