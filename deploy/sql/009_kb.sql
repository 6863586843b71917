-- 009_kb: the knowledge base (一问一答) the agents search while a caller is on the line.
--
-- kb_entries: one question and its answer, loaded by `hotlinectl kb import` from a CSV
-- file (README "hotlinectl"); searched by hotlined (queries/kb_search.sql).
CREATE TABLE kb_entries (
    kb_id       text PRIMARY KEY CHECK (octet_length(kb_id) BETWEEN 1 AND 64),
    question    text NOT NULL CHECK (octet_length(question) BETWEEN 1 AND 2000),
    answer      text NOT NULL CHECK (octet_length(answer) BETWEEN 1 AND 16000),
    category    text NOT NULL DEFAULT '' CHECK (octet_length(category) <= 200),
    department  text NOT NULL DEFAULT '' CHECK (octet_length(department) <= 200),
    updated     date NOT NULL,
    imported_at timestamptz NOT NULL
);

-- Search without a word segmenter (docs/http-api.md "Knowledge base"). pg_trgm does not
-- serve: in a cluster with the C locale (deploy/pgtmp, the tests) it sees no Chinese
-- character at all (show_trgm('垃圾清运') is {}), and its trigrams cannot find a
-- two-character word inside a longer run of text. Instead a text is cut into words at
-- white space and punctuation, and a word is indexed by its characters and its
-- overlapping character pairs (bigrams): 清运费 -> 清, 运, 费, 清运, 运费.
--
-- Every function is collation-independent (COLLATE "C": ASCII letters are folded to
-- lower case and nothing else, whatever the database's locale), so IMMUTABLE holds and
-- the index never goes stale.

-- The text with ASCII letters in lower case and every run of separators as one space.
-- Separators: ASCII white space and punctuation, NO-BREAK SPACE, the middle dot, the
-- General Punctuation block (… — “ ” ‘ ’), CJK symbols and punctuation (the ideographic
-- space, 、。《》「」【】; not 々 or 〇, which are parts of words), and the full-width
-- and half-width forms of punctuation (，！？：；（）～ and ｡｢｣､･).
CREATE FUNCTION kb_spaced(t text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT regexp_replace(lower(t COLLATE "C") COLLATE "C",
    '[[:space:][:punct:]\u00a0\u00b7\u2000-\u206f\u3000-\u3004\u3008-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+',
    ' ', 'g') $$;

-- The words of a text, in order.
CREATE FUNCTION kb_words(t text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT array_remove(string_to_array(kb_spaced(t), ' '), '') $$;

-- The overlapping character pairs inside the words of a spaced text (kb_spaced), with
-- repeats. Done with array and regex functions alone (no row per pair: three times
-- faster than a set-returning query, which matters when 100,000 entries are indexed):
-- every character doubled, the first dropped, then cut into pairs: ' ab c ' gives
-- ' a', 'ab', 'b ', ' c', 'c ' (and a lone ' '), of which the pairs with no space stay.
CREATE FUNCTION kb_bigrams(spaced text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT string_to_array(substr(regexp_replace(regexp_replace(
    substr(regexp_replace(' ' || spaced || ' ', '(.)', '\1\1', 'g'), 2),
    '(..)', '|\1', 'g'), '\|[^|]* [^|]*', '', 'g'), 2), '|') $$;

-- What an entry's text is indexed by: every character of its words and every pair, with
-- repeats (GIN keeps each key once per row).
CREATE FUNCTION kb_grams(t text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT array_remove(string_to_array(kb_spaced(t), NULL), ' ') || kb_bigrams(kb_spaced(t)) $$;

-- An entry's keys: its question and its answer, a line apart (so no pair spans them).
CREATE FUNCTION kb_entry_grams(question text, answer text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT kb_grams(question || E'\n' || answer) $$;

-- What a query looks for: the pairs of each of its words, and a one-character word
-- itself. An entry matches when its keys hold them all. Empty when the query has no word.
CREATE FUNCTION kb_query_grams(q text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT kb_bigrams(kb_spaced(q)) || ARRAY(SELECT w FROM unnest(kb_words(q)) w WHERE length(w) = 1) $$;

-- Every match; and the matches in the question alone, which fill the first page of a
-- common word without looking at answers (queries/kb_search.sql). An import leaves its
-- rows in the indexes' pending lists (fastupdate: three times faster to write than
-- without, 5,000 entries in 5.7 s against 16.2 s) and then merges them
-- (queries/kb_flush.sql), so no search has to scan a pending list.
CREATE INDEX kb_entries_grams_idx ON kb_entries USING gin (kb_entry_grams(question, answer));
CREATE INDEX kb_entries_question_grams_idx ON kb_entries USING gin (kb_grams(question));
-- The newest entries first: where a common word's first page usually is.
CREATE INDEX kb_entries_recent_idx ON kb_entries (updated DESC, kb_id COLLATE "C");
