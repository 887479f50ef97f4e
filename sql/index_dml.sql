-- Index maintenance: options, NULLs, inserts after build, deletes + VACUUM,
-- TRUNCATE, REINDEX, unlogged tables, columns without a typmod, errors.
-- Every table is larger than the re-rank budget used on it (10 here, less
-- for the small tables below), so answers depend on the codes; answers that
-- could be wrong are compared with exact search in the same run.
SET client_min_messages = warning;
SET enable_seqscan = off;
SET turboquant.rerank = 10;
SELECT setseed(0.7);

CREATE TABLE t (id serial PRIMARY KEY, v tqvector(20));
INSERT INTO t (v)
	SELECT (SELECT array_agg(random() - 0.5) FROM generate_series(1, 20) d WHERE i > 0)::tqvector
	FROM generate_series(1, 500) i;
INSERT INTO t (v) VALUES (NULL), (NULL);
CREATE INDEX t_v_idx ON t USING turboquant (v tqvector_l2_ops) WITH (bits = 3);
SELECT tq_index_check('t_v_idx') AS entries;

-- a query equal to a stored vector finds it first (exact re-ranking)
SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 123) LIMIT 1;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 123) LIMIT 1;
-- NULL vectors are not indexed, but the scan returns their rows after all
-- others (NULL distance, as a sequential scan orders them), so ordering by a
-- NULL query returns every row, as without the index
SELECT count(*), count(*) FILTER (WHERE v IS NULL) AS null_rows
FROM (SELECT id, v FROM t ORDER BY v <-> NULL LIMIT 1000) s;
-- a query that needs no column gets an index-only scan (enable_seqscan is
-- off); it visits every row once, NULL vectors included, and computes no
-- distance (no query to prepare one for)
SET jit = off;
CREATE TABLE t_ios AS SELECT id, v FROM t;
CREATE INDEX ON t_ios USING turboquant (v tqvector_l2_ops) WITH (bits = 3);
VACUUM ANALYZE t_ios;
EXPLAIN (COSTS OFF) SELECT count(*) FROM t_ios;
SELECT count(*) FROM t_ios;
SELECT count(*) FROM (SELECT id FROM t_ios ORDER BY v <-> NULL LIMIT 1000) s;
DROP TABLE t_ios;
RESET jit;

-- inserts after build are found, through every path (new stripes too)
INSERT INTO t (v)
	SELECT (SELECT array_agg(random() - 0.5) FROM generate_series(1, 20) d WHERE i > 0)::tqvector
	FROM generate_series(1, 700) i;
INSERT INTO t (id, v) VALUES (100000, array_fill(9.5::real, ARRAY[20])::tqvector);
SELECT id FROM t ORDER BY v <-> array_fill(9.5::real, ARRAY[20])::tqvector LIMIT 1;
SELECT tq_index_check('t_v_idx') AS entries;
-- every row comes back once when no LIMIT stops the scan (several passes),
-- the rows with NULL vectors last, at every re-rank depth and with a filter:
-- the index does not change the query's answer
CREATE FUNCTION order_check(sql text, OUT n bigint, OUT distinct_ids bigint, OUT null_rows bigint,
							OUT nulls_last bool) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE v IS NULL),
					coalesce(min(pos) FILTER (WHERE v IS NULL) > max(pos) FILTER (WHERE v IS NOT NULL), true)
					FROM (SELECT id, v, row_number() OVER () AS pos FROM (%s) o) s', sql)
		INTO n, distinct_ids, null_rows, nulls_last;
END $$;
EXPLAIN (COSTS OFF) SELECT id, v FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector;
SELECT * FROM order_check('SELECT id, v FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector');
SET turboquant.rerank = 0;
SELECT * FROM order_check('SELECT id, v FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector');
RESET turboquant.rerank;
SELECT * FROM order_check('SELECT id, v FROM t WHERE id % 2 = 0 ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector');
SET turboquant.rerank = 10;
SET enable_indexscan = off;
SELECT count(*), count(*) FILTER (WHERE v IS NULL) AS null_rows, count(*) FILTER (WHERE id % 2 = 0) AS even
FROM t;
RESET enable_indexscan;

-- deletes + VACUUM: gone from results, space reused by later inserts
DELETE FROM t WHERE id % 3 = 0;
VACUUM t;
SELECT tq_index_check('t_v_idx') AS entries;
SELECT * FROM order_check('SELECT id, v FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector');
SELECT pg_relation_size('t_v_idx') AS size_before \gset
INSERT INTO t (v)
	SELECT (SELECT array_agg(random() - 0.5) FROM generate_series(1, 20) d WHERE i > 0)::tqvector
	FROM generate_series(1, 300) i;
SELECT pg_relation_size('t_v_idx') = :size_before AS space_reused;
SELECT tq_index_check('t_v_idx') AS entries;

-- dimension mismatch
SELECT id FROM t ORDER BY v <-> '[1,2,3]' LIMIT 1;

-- REINDEX and TRUNCATE
REINDEX INDEX t_v_idx;
SELECT tq_index_check('t_v_idx') AS entries;
TRUNCATE t;
SELECT tq_index_check('t_v_idx') AS entries;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector LIMIT 5) s;
INSERT INTO t (v) VALUES (array_fill(1::real, ARRAY[20])::tqvector);
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector LIMIT 5) s;
DROP TABLE t;

-- a column without a typmod: dimension from the first vector, even after TRUNCATE
CREATE TABLE u (id int, v tqvector);
CREATE INDEX ON u USING turboquant (v tqvector_cosine_ops);
INSERT INTO u VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[1,1,0]');
SET turboquant.rerank = 1;
SELECT id FROM u ORDER BY v <=> '[1,0.9,0]' LIMIT 3;
INSERT INTO u VALUES (4, '[1,2]');
TRUNCATE u;
INSERT INTO u VALUES (5, '[1,2]'), (6, '[2,1]');
SELECT id FROM u ORDER BY v <=> '[1,0]' LIMIT 2;
RESET turboquant.rerank;
DROP TABLE u;
-- ... and an index built over existing rows of such a column
CREATE TABLE u2 (id int, v tqvector);
INSERT INTO u2 SELECT i, ARRAY[i, 100 - i, i % 7]::tqvector FROM generate_series(1, 100) i;
CREATE INDEX u2_idx ON u2 USING turboquant (v tqvector_l2_ops) WITH (bits = 2);
SELECT tq_index_check('u2_idx') AS entries;
SET turboquant.rerank = 5;
SELECT array(SELECT id FROM u2 ORDER BY v <-> '[50,50,1]' LIMIT 3) AS index_ids \gset
SET enable_indexscan = off;
SELECT :'index_ids' AS index_ids,
	   :'index_ids' = array(SELECT id FROM u2 ORDER BY v <-> '[50,50,1]', id LIMIT 3)::text AS same_as_exact;
RESET enable_indexscan;
SET turboquant.rerank = 10;
DROP TABLE u2;

-- huge norms (whose squares overflow float) are estimated in double, so the
-- estimate order is right even with one candidate re-ranked per pass (more
-- in sql/index_extreme.sql)
CREATE TABLE huge (id int, v tqvector(3));
INSERT INTO huge VALUES (1, '[1e19,1e19,1e19]'), (2, '[1,1,1]'), (3, '[-1e19,2e19,1e19]');
CREATE INDEX huge_idx ON huge USING turboquant (v tqvector_l2_ops);
SET turboquant.rerank = 1;
SELECT id FROM huge ORDER BY v <-> '[1e19,1e19,1e19]' LIMIT 3;
SET turboquant.rerank = 10;
SELECT tq_index_check('huge_idx') AS entries;
DROP TABLE huge;

-- a partial index: the planner drops the implied WHERE clause, so the rows
-- with NULL vectors the scan adds must satisfy the index's predicate
CREATE TABLE pt (id int, v tqvector(3));
INSERT INTO pt SELECT i, CASE WHEN i % 10 < 2 THEN NULL ELSE ARRAY[i, 1, 2]::tqvector END
	FROM generate_series(1, 300) i;
CREATE INDEX pt_idx ON pt USING turboquant (v) WHERE id % 2 = 0;
EXPLAIN (COSTS OFF) SELECT id, v FROM pt WHERE id % 2 = 0 ORDER BY v <-> '[1,1,1]';
SELECT *, (SELECT bool_and(id % 2 = 0) FROM (SELECT id FROM pt WHERE id % 2 = 0 ORDER BY v <-> '[1,1,1]') x)
	AS all_even
FROM order_check('SELECT id, v FROM pt WHERE id % 2 = 0 ORDER BY v <-> ''[1,1,1]''');
SET enable_indexscan = off;
SELECT count(*), count(*) FILTER (WHERE v IS NULL) AS null_rows FROM pt WHERE id % 2 = 0;
RESET enable_indexscan;
DROP TABLE pt;

-- unlogged tables and expression indexes
CREATE UNLOGGED TABLE w (id int, v tqvector(4));
INSERT INTO w SELECT i, ARRAY[i, i % 7, 1, 0]::tqvector FROM generate_series(1, 100) i;
CREATE INDEX ON w USING turboquant (v tqvector_ip_ops) WITH (bits = 2);
SET turboquant.rerank = 5;
SELECT array(SELECT id FROM w ORDER BY v <#> '[1,0,0,0]' LIMIT 3) AS index_ids \gset
SET enable_indexscan = off;
SELECT :'index_ids' AS index_ids,
	   :'index_ids' = array(SELECT id FROM w ORDER BY v <#> '[1,0,0,0]', id LIMIT 3)::text AS same_as_exact;
RESET enable_indexscan;
CREATE INDEX w_expr ON w USING turboquant ((l2_normalize(v)) tqvector_l2_ops);
SELECT array(SELECT id FROM w ORDER BY l2_normalize(v) <-> '[0,1,0,0]' LIMIT 3) AS index_ids \gset
SET enable_indexscan = off;
SELECT :'index_ids' AS index_ids,
	   :'index_ids' = array(SELECT id FROM w ORDER BY l2_normalize(v) <-> '[0,1,0,0]', id LIMIT 3)::text
	   AS same_as_exact;
RESET enable_indexscan;
SET turboquant.rerank = 10;
SELECT tq_index_check('w_expr') AS entries;
DROP TABLE w;

-- bad options and misuse
CREATE TABLE e (v tqvector(3));
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (bits = 1);
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (bits = 5);
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (lists = -2);
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (lists = 40000);
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (probes = 5);
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops) WITH (seed = -1);
CREATE INDEX e_default ON e USING turboquant (v);
SELECT opcname FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE indexrelid = 'e_default'::regclass;
CREATE INDEX ON e USING turboquant (v tqvector_l2_ops, v tqvector_l2_ops);
SET turboquant.rerank = -2;
SET turboquant.simd = 'sse9';
SELECT tq_index_check('e');
DROP TABLE e;
DROP FUNCTION order_check;
