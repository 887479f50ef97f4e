-- tq_search_query and tq_search: the top k of a partitioned table as one
-- ORDER BY ... LIMIT k per partition, merged (the shape postgres_fdw sends
-- to each shard whole; test/t/010_sharding.pl runs it over foreign partitions).
-- Here: the query text, answers equal to the plain query on the parent,
-- quoting of odd names, multi-level partitions, the caller's rights, and
-- every input error.
SET client_min_messages = warning;
SELECT setseed(0.61);
CREATE TABLE docs (id int, tenant int, v tqvector(16)) PARTITION BY LIST (tenant);
CREATE TABLE docs_a PARTITION OF docs FOR VALUES IN (0, 1);
CREATE TABLE docs_b PARTITION OF docs FOR VALUES IN (2);
-- a second level
CREATE TABLE docs_c PARTITION OF docs FOR VALUES IN (3, 4) PARTITION BY HASH (id);
CREATE TABLE docs_c0 PARTITION OF docs_c FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE docs_c1 PARTITION OF docs_c FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO docs
	SELECT i, i % 5, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 16) d WHERE i > 0)::tqvector
	FROM generate_series(1, 5000) i;
CREATE INDEX ON docs USING turboquant (v tqvector_cosine_ops);
ANALYZE docs;
CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 16) d WHERE q > 0)::tqvector AS v
	FROM generate_series(1, 10) q;

SELECT tq_search_query('docs', 'v', 5);
SELECT tq_search_query('docs_b', 'v', 3, '<->');

-- the same rows as the query on the parent, in the same order, every query
-- and operator (the plain query's Merge Append re-ranks each partition too)
SELECT op, count(*) AS queries,
	   count(*) FILTER (WHERE array(SELECT id FROM tq_search(NULL::docs, 'v', q.v, 10, op)) =
			 (CASE op WHEN '<=>' THEN array(SELECT id FROM docs ORDER BY v <=> q.v LIMIT 10)
					  WHEN '<->' THEN array(SELECT id FROM docs ORDER BY v <-> q.v LIMIT 10)
					  ELSE array(SELECT id FROM docs ORDER BY v <#> q.v LIMIT 10) END)) AS same
FROM queries q, (VALUES ('<=>'), ('<->'), ('<#>')) o(op)
GROUP BY op ORDER BY op;
-- whole rows, with the query as text (a literal) or as tqvector
SELECT (SELECT array_agg(d::text ORDER BY id) FROM tq_search(NULL::docs, 'v', (SELECT v::text FROM queries WHERE qid = 1), 4) d) =
	   (SELECT array_agg(d::text ORDER BY id) FROM (SELECT * FROM docs ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 4) d)
	   AS whole_rows_equal;
SELECT count(*) AS rows FROM tq_search(NULL::docs_c, 'v', '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]', 7);
SELECT count(*) AS rows FROM tq_search(NULL::docs, 'v', '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]', 100000);

-- odd names are quoted; dropped columns and column order of partitions do not matter
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."My ""Docs""" (gone int, "Id" int, "My Vec" tqvector(3)) PARTITION BY RANGE ("Id");
ALTER TABLE "Odd Schema"."My ""Docs""" DROP COLUMN gone;
CREATE TABLE "Odd Schema".p1 ("My Vec" tqvector(3), "Id" int);
ALTER TABLE "Odd Schema"."My ""Docs""" ATTACH PARTITION "Odd Schema".p1 FOR VALUES FROM (0) TO (10);
CREATE TABLE "Odd Schema"."p 2" PARTITION OF "Odd Schema"."My ""Docs""" FOR VALUES FROM (10) TO (20);
INSERT INTO "Odd Schema"."My ""Docs""" SELECT i, ARRAY[i, 1, 0] FROM generate_series(1, 19) i;
SELECT tq_search_query('"Odd Schema"."My ""Docs"""', 'My Vec', 2, '<->');
SELECT * FROM tq_search(NULL::"Odd Schema"."My ""Docs""", 'My Vec', '[9.6,1,0]', 3, '<->');
-- a partitioned table without partitions: no rows
CREATE TABLE empty_parent (id int, v tqvector(3)) PARTITION BY HASH (id);
SELECT count(*) FROM tq_search(NULL::empty_parent, 'v', '[1,2,3]', 5);

-- the caller's rights: SELECT on the parent alone does not reach the partitions
CREATE ROLE tq_search_reader;
GRANT SELECT ON docs TO tq_search_reader;
GRANT USAGE ON SCHEMA public TO tq_search_reader;
SET ROLE tq_search_reader;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY v <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 3) s;
SELECT count(*) FROM tq_search(NULL::docs, 'v', '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]', 3);
RESET ROLE;
SELECT proname, prosecdef FROM pg_proc WHERE proname IN ('tq_search', 'tq_search_query') ORDER BY 1;

-- a decoy <=> on tqvector in another schema (one sorting before the
-- extension's) is never the one the query text names or runs
CREATE SCHEMA aaa_decoy;
CREATE FUNCTION aaa_decoy.decoy_dist(a tqvector, b tqvector) RETURNS float8
	LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'decoy operator ran'; END $$;
CREATE OPERATOR aaa_decoy.<=> (LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = aaa_decoy.decoy_dist);
SELECT tq_search_query('docs', 'v', 5) NOT LIKE '%aaa_decoy%' AS decoy_not_named;
SELECT count(*) FROM tq_search(NULL::docs, 'v', '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]', 3);
DROP SCHEMA aaa_decoy CASCADE;

-- input errors
\set VERBOSITY sqlstate
SELECT tq_search_query(NULL, 'v', 5);
SELECT tq_search_query('docs', NULL, 5);
SELECT tq_search_query('docs', 'v', NULL);
SELECT tq_search_query('docs', 'v', 5, NULL);
SELECT tq_search_query('docs', 'v', 0);
SELECT tq_search_query('docs', 'v', -3);
SELECT tq_search_query('docs', 'v', 5, '=');
SELECT tq_search_query('docs', 'v', 5, '<=>; DROP TABLE docs');
SELECT tq_search_query('docs', 'nope', 5);
SELECT tq_search_query('docs', 'id', 5);
SELECT tq_search_query('docs_a_v_idx', 'v', 5);
CREATE VIEW docs_view AS SELECT * FROM docs;
SELECT tq_search_query('docs_view', 'v', 5);
SELECT * FROM tq_search(NULL::int, 'v', '[1,2]', 5);
SELECT * FROM tq_search(NULL::docs, 'v', NULL::tqvector, 5);
SELECT * FROM tq_search(NULL::docs, 'v', '[1,2]', 5);
\set VERBOSITY default
SELECT tq_search_query('docs', 'v', 0);
SELECT tq_search_query('docs', 'v', 5, '=');
SELECT tq_search_query('docs', 'id', 5);
SELECT * FROM tq_search(NULL::int, 'v', '[1,2]', 5);

DROP VIEW docs_view;
DROP TABLE docs, queries, empty_parent;
DROP SCHEMA "Odd Schema" CASCADE;
REVOKE USAGE ON SCHEMA public FROM tq_search_reader;
DROP ROLE tq_search_reader;
