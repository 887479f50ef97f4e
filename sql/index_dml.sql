-- Index maintenance: options, NULLs, inserts after build, deletes + VACUUM,
-- TRUNCATE, REINDEX, unlogged tables, columns without a typmod, errors.
SET client_min_messages = warning;
SET enable_seqscan = off;
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
-- NULL vectors are not indexed and ordering by a NULL query returns rows anyway
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> NULL LIMIT 1000) s;

-- inserts after build are found, through every path (new stripes too)
INSERT INTO t (v)
	SELECT (SELECT array_agg(random() - 0.5) FROM generate_series(1, 20) d WHERE i > 0)::tqvector
	FROM generate_series(1, 700) i;
INSERT INTO t (id, v) VALUES (100000, array_fill(9.5::real, ARRAY[20])::tqvector);
SELECT id FROM t ORDER BY v <-> array_fill(9.5::real, ARRAY[20])::tqvector LIMIT 1;
SELECT tq_index_check('t_v_idx') AS entries;
-- every row comes back once when no LIMIT stops the scan (several passes)
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector) s;

-- deletes + VACUUM: gone from results, space reused by later inserts
DELETE FROM t WHERE id % 3 = 0;
VACUUM t;
SELECT tq_index_check('t_v_idx') AS entries;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> array_fill(0::real, ARRAY[20])::tqvector) s;
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
SELECT id FROM u ORDER BY v <=> '[1,0.9,0]' LIMIT 3;
INSERT INTO u VALUES (4, '[1,2]');
TRUNCATE u;
INSERT INTO u VALUES (5, '[1,2]'), (6, '[2,1]');
SELECT id FROM u ORDER BY v <=> '[1,0]' LIMIT 2;
DROP TABLE u;
-- ... and an index built over existing rows of such a column
CREATE TABLE u2 (id int, v tqvector);
INSERT INTO u2 SELECT i, ARRAY[i, 100 - i, i % 7]::tqvector FROM generate_series(1, 100) i;
CREATE INDEX u2_idx ON u2 USING turboquant (v tqvector_l2_ops) WITH (bits = 2);
SELECT tq_index_check('u2_idx') AS entries;
SELECT id FROM u2 ORDER BY v <-> '[50,50,1]' LIMIT 3;
DROP TABLE u2;

-- huge norms overflow the float estimate; such rows are still found
CREATE TABLE huge (id int, v tqvector(3));
INSERT INTO huge VALUES (1, '[1e19,1e19,1e19]'), (2, '[1,1,1]'), (3, '[-1e19,2e19,1e19]');
CREATE INDEX huge_idx ON huge USING turboquant (v tqvector_l2_ops);
SELECT id FROM huge ORDER BY v <-> '[1e19,1e19,1e19]' LIMIT 3;
SELECT tq_index_check('huge_idx') AS entries;
DROP TABLE huge;

-- unlogged tables and expression indexes
CREATE UNLOGGED TABLE w (id int, v tqvector(4));
INSERT INTO w SELECT i, ARRAY[i, i % 7, 1, 0]::tqvector FROM generate_series(1, 100) i;
CREATE INDEX ON w USING turboquant (v tqvector_ip_ops) WITH (bits = 2);
SELECT id FROM w ORDER BY v <#> '[1,0,0,0]' LIMIT 3;
CREATE INDEX w_expr ON w USING turboquant ((l2_normalize(v)) tqvector_l2_ops);
SELECT id FROM w ORDER BY l2_normalize(v) <-> '[0,1,0,0]' LIMIT 3;
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
