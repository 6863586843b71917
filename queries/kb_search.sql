-- kb_search: the knowledge base's entries for a query, best first, one page of them, as
-- one JSON document (GET /api/v1/kb, hotlinectl kb search).
-- Match: the query is cut into words at white space and punctuation (kb_words); an
-- entry matches when its question and answer hold every character pair of every word
-- (a one-character word: that character), found with kb_entries_grams_idx.
-- Rank (docs/http-api.md "Knowledge base"): every word verbatim in the question first;
-- then every word verbatim in the question or the answer; then the share of the
-- query's pairs found in the question; then the newest `updated`; then kb_id.
-- ASCII letters match in either case (kb_spaced folds them). A query without a word
-- (only punctuation) matches nothing.
-- score = (2 * [verbatim in question] + [verbatim in entry] + share) / 4, two decimals:
-- 1 for the first group, 0.25..0.5 for the second, 0..0.25 for the rest.
-- Indexes: kb_entries_grams_idx (GIN over kb_entry_grams(question, answer)).
--
-- $1 q      text  the query, 1..200 bytes (hotlined checks it)
-- $2 limit  int4  1..50
-- > result  text  JSON {"query", "entries": [{"id", "question", "answer", "category", "department", "updated", "score"}]}
WITH hits AS (
  SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated,
    lower(e.question COLLATE "C") AS folded_question
  FROM kb_entries e
  WHERE kb_entry_grams(e.question, e.answer) @> kb_query_grams($1)
    AND cardinality(kb_query_grams($1)) > 0
), ranked AS (
  SELECT h.kb_id, h.question, h.answer, h.category, h.department, h.updated, r.*
  FROM hits h, LATERAL (
    SELECT
      (SELECT bool_and(strpos(h.folded_question, w) > 0) FROM unnest(kb_words($1)) w)
        AS in_question,
      (SELECT bool_and(strpos(h.folded_question, w) > 0
                       OR strpos(lower(h.answer COLLATE "C"), w) > 0)
       FROM unnest(kb_words($1)) w) AS in_entry,
      (SELECT avg((strpos(h.folded_question, g) > 0)::int)::float8
       FROM unnest(kb_query_grams($1)) g) AS share
  ) r
  ORDER BY r.in_question DESC, r.in_entry DESC, r.share DESC, h.updated DESC,
    h.kb_id COLLATE "C"
  LIMIT $2::int
)
SELECT json_build_object('query', $1::text, 'entries', COALESCE(json_agg(json_build_object(
    'id', kb_id, 'question', question, 'answer', answer, 'category', category,
    'department', department, 'updated', updated,
    'score', round(((2 * in_question::int + in_entry::int + share) / 4)::numeric, 2))
  ORDER BY in_question DESC, in_entry DESC, share DESC, updated DESC, kb_id COLLATE "C"),
  '[]'::json))::text AS result
FROM ranked
