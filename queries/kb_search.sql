-- kb_search: the knowledge base's entries for a query, best first, one page of them, as
-- one JSON document (GET /api/v1/kb, hotlinectl kb search).
-- Match: the query is cut into words at white space and punctuation (kb_words); an
-- entry matches when its question and answer hold every character pair of every word
-- (a one-character word: that character). A query without a word matches nothing.
-- Rank (docs/http-api.md "Knowledge base"): every word verbatim in the question first;
-- then every word verbatim in the answer; then the share of the query's pairs found in
-- the question; then the newest `updated`; then kb_id (bytewise). ASCII letters match
-- in either case. score = (2 * [verbatim in question] + [verbatim in answer] + share)
-- / 4, two decimals: 1 for the first group, 0.25..0.5 for the second, 0..0.25 for the
-- rest.
-- Steps, so that a page costs a bounded look rather than one at every match (ranking
-- all 10,000 answers that hold a word no question holds, of 100,000 entries, took
-- 60-80 ms of CPU: bench/kb).
-- Within a rank group of equal share the order is the date's, so the 1,000 newest
-- entries (kb_entries_recent_idx) hold the top of any group dense enough to be costly.
-- Each step runs only when the ones before it leave the page short (a LIMIT of 0 does
-- not run its step):
--   first    every word in the question, newest first: from the 1,000 newest entries
--            when they hold a page of them, which is then the page (every other such
--            entry is older), else from all (kb_entries_question_grams_idx);
--   partial  the other matches whose question holds some of the query's pairs
--            (share > 0), found by both GIN indexes at once: few, since questions
--            with every word are fewer than a page;
--   answered every word in the answer and none of the query's pairs in the question
--            (share 0), newest first, from the 1,000 newest entries;
--   others   when partial's verbatim ones and answered leave the page short (so such
--            matches are rare among the newest): the matches with share 0, ranked
--            (kb_entries_grams_idx), in time proportional to their number; the page
--            then comes from them and all of partial.
-- kb_grams(question) && grams holds exactly when share > 0 (strpos finds a pair or a
-- one-character word only inside a word), so partial and others split the matches
-- that are not in first. Words hold no ASCII punctuation (kb_spaced cuts there), so
-- they go into LIKE patterns as they are; an answer is folded to lower case only when
-- the query has an ASCII letter (folding costs more than the match), and answered tries
-- strpos of the first word before LIKE (half the cost).
-- Indexes: kb_entries_recent_idx, kb_entries_question_grams_idx, kb_entries_grams_idx.
--
-- $1 q      text  the query, 1..200 bytes (hotlined checks it)
-- $2 limit  int4  1..50
-- > result  text  JSON {"query", "entries": [{"id", "question", "answer", "category", "department", "updated", "score"}]}
WITH q AS MATERIALIZED (
  SELECT kb_query_grams($1) AS grams,
    kb_words($1) AS words,
    ARRAY(SELECT '%' || w || '%' FROM unnest(kb_words($1)) w) AS patterns,
    kb_spaced($1) ~ '[a-z]' AS has_letters
), recent AS (
  SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated
  FROM (SELECT * FROM kb_entries ORDER BY updated DESC, kb_id COLLATE "C" LIMIT 1000) e, q
  WHERE cardinality(q.grams) > 0 AND lower(e.question COLLATE "C") LIKE ALL (q.patterns)
  ORDER BY e.updated DESC, e.kb_id COLLATE "C"
  LIMIT $2::int
), first AS (
  SELECT * FROM recent WHERE (SELECT count(*) FROM recent) = $2::int
  UNION ALL
  (SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated
   FROM kb_entries e, q
   WHERE kb_grams(e.question) @> q.grams AND cardinality(q.grams) > 0
     AND lower(e.question COLLATE "C") LIKE ALL (q.patterns)
   ORDER BY e.updated DESC, e.kb_id COLLATE "C"
   LIMIT CASE WHEN (SELECT count(*) FROM recent) = $2::int THEN 0 ELSE $2::int END)
), partial AS (
  SELECT m.kb_id, m.question, m.answer, m.category, m.department, m.updated,
    false AS in_question, r.in_entry, r.share
  FROM (SELECT e.*, lower(e.question COLLATE "C") AS folded_question
        FROM kb_entries e, q
        WHERE kb_entry_grams(e.question, e.answer) @> q.grams
          AND kb_grams(e.question) && q.grams AND cardinality(q.grams) > 0) m,
    q, LATERAL (SELECT
      CASE WHEN q.has_letters THEN lower(m.answer COLLATE "C") ELSE m.answer END
        LIKE ALL (q.patterns) AS in_entry,
      (SELECT avg((strpos(m.folded_question, g) > 0)::int) FROM unnest(q.grams) g)::float8
        AS share) r
  WHERE NOT (m.folded_question LIKE ALL (q.patterns))
), answered AS (
  SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated,
    false AS in_question, true AS in_entry, 0::float8 AS share
  FROM (SELECT * FROM kb_entries ORDER BY updated DESC, kb_id COLLATE "C" LIMIT 1000) e, q
  WHERE cardinality(q.grams) > 0
    AND (q.has_letters OR strpos(e.answer, q.words[1]) > 0)
    AND CASE WHEN q.has_letters THEN lower(e.answer COLLATE "C") ELSE e.answer END
      LIKE ALL (q.patterns)
    AND NOT (SELECT bool_or(strpos(lower(e.question COLLATE "C"), g) > 0) FROM unnest(q.grams) g)
  ORDER BY e.updated DESC, e.kb_id COLLATE "C"
  LIMIT $2::int
), quick AS (
  SELECT * FROM partial WHERE in_entry
  UNION ALL SELECT * FROM answered
), fill AS (
  SELECT (SELECT count(*) FROM quick) >= $2::int - (SELECT count(*) FROM first) AS quick_fills
), others AS (
  SELECT e.kb_id, e.question, e.answer, e.category, e.department, e.updated,
    false AS in_question,
    CASE WHEN q.has_letters THEN lower(e.answer COLLATE "C") ELSE e.answer END
      LIKE ALL (q.patterns) AS in_entry,
    0::float8 AS share
  FROM kb_entries e, q
  WHERE kb_entry_grams(e.question, e.answer) @> q.grams AND cardinality(q.grams) > 0
    AND NOT (SELECT bool_or(strpos(lower(e.question COLLATE "C"), g) > 0) FROM unnest(q.grams) g)
  ORDER BY in_entry DESC, e.updated DESC, e.kb_id COLLATE "C"
  LIMIT CASE WHEN (SELECT quick_fills FROM fill) THEN 0 ELSE $2::int END
), rest AS (
  SELECT * FROM quick WHERE (SELECT quick_fills FROM fill)
  UNION ALL SELECT * FROM partial WHERE NOT (SELECT quick_fills FROM fill)
  UNION ALL SELECT * FROM others
), page AS (
  SELECT f.*, true AS in_question, true AS in_entry, 1::float8 AS share FROM first f
  UNION ALL
  (SELECT * FROM rest
   ORDER BY in_entry DESC, share DESC, updated DESC, kb_id COLLATE "C"
   LIMIT $2::int - (SELECT count(*) FROM first))
)
SELECT json_build_object('query', $1::text, 'entries', COALESCE(json_agg(json_build_object(
    'id', kb_id, 'question', question, 'answer', answer, 'category', category,
    'department', department, 'updated', updated,
    'score', round(((2 * in_question::int + in_entry::int + share) / 4)::numeric, 2))
  ORDER BY in_question DESC, in_entry DESC, share DESC, updated DESC, kb_id COLLATE "C"),
  '[]'::json))::text AS result
FROM page
