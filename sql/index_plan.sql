-- The planner picks the index for ORDER BY ... LIMIT on a table big enough
-- for it to pay, keeps the sequential scan on a tiny one, never uses the index
-- without ORDER BY, and filtered queries still return LIMIT rows.
SET client_min_messages = warning;
SELECT setseed(0.11);
CREATE TABLE docs (id int PRIMARY KEY, category int, v tqvector(64));
INSERT INTO docs
	SELECT i, i % 100, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) d WHERE i > 0)::tqvector
	FROM generate_series(1, 20000) i;
-- flat: exact answers for filtered queries (test/t/004_filter.pl covers lists)
CREATE INDEX docs_v_idx ON docs USING turboquant (v tqvector_cosine_ops) WITH (lists = 0);
ANALYZE docs;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY v <=> (SELECT v FROM docs WHERE id = 1) LIMIT 10;
-- no ORDER BY: never the index
EXPLAIN (COSTS OFF) SELECT count(*) FROM docs WHERE v = (SELECT v FROM docs WHERE id = 1);

-- filters: still LIMIT rows, the same as exact search
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE id % 1000 = 3 ORDER BY v <=> (SELECT v FROM docs WHERE id = 5) LIMIT 10;
SELECT array(SELECT id FROM docs WHERE category = 7 ORDER BY v <=> (SELECT v FROM docs WHERE id = 5) LIMIT 10) AS idx_ids \gset
SELECT array(SELECT id FROM docs WHERE id % 1000 = 3 ORDER BY v <=> (SELECT v FROM docs WHERE id = 5) LIMIT 10) AS rare_ids \gset
RESET enable_seqscan;
SET enable_indexscan = off;
-- rows come in exact order within a scan pass; a selective filter spans
-- passes, so compare the sets (at least 9 of the exact 10)
SELECT cardinality(:'idx_ids'::int[]) AS n1,
	   cardinality(array(SELECT unnest(:'idx_ids'::int[]) INTERSECT
			SELECT id FROM (SELECT id FROM docs WHERE category = 7 ORDER BY v <=> (SELECT v FROM docs WHERE id = 5) LIMIT 10) e)) >= 9 AS same1,
	   cardinality(:'rare_ids'::int[]) AS n2,
	   cardinality(array(SELECT unnest(:'rare_ids'::int[]) INTERSECT
			SELECT id FROM (SELECT id FROM docs WHERE id % 1000 = 3 ORDER BY v <=> (SELECT v FROM docs WHERE id = 5) LIMIT 10) e)) >= 9 AS same2;
RESET enable_indexscan;
DROP TABLE docs;

CREATE TABLE tiny (id int, v tqvector(3));
INSERT INTO tiny VALUES (1, '[1,2,3]'), (2, '[3,2,1]');
CREATE INDEX ON tiny USING turboquant (v);
ANALYZE tiny;
EXPLAIN (COSTS OFF) SELECT id FROM tiny ORDER BY v <-> '[1,1,1]' LIMIT 1;
DROP TABLE tiny;
