-- sync_feeds: mirrors the config's feeds and departments into their tables (on
-- every connection and after every reload), so that SQL readers see their names
-- and join modes. Indexes: the primary keys of feeds and departments.
--
-- $1 feed_code   text[]
-- $2 name        text[]
-- $3 join_mode   text[]   merged, parallel or subcenter
-- $4 dept_code   text[]   a sub-centre's department, else NULL
-- $5 dept_codes  text[]
-- $6 dept_names  text[]
WITH f AS (
  INSERT INTO feeds (feed_code, name, join_mode, dept_code)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
  ON CONFLICT (feed_code) DO UPDATE SET name = EXCLUDED.name,
    join_mode = EXCLUDED.join_mode, dept_code = EXCLUDED.dept_code, updated_at = now()
  RETURNING 1
)
INSERT INTO departments (dept_code, name)
SELECT * FROM unnest($5::text[], $6::text[])
ON CONFLICT (dept_code) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
