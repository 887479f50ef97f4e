-- The turboquant index on vector and halfvec columns: recall of every operator
-- class at every bit width against the exact answer (sequential scan) and
-- beside pgvector's own HNSW index, in the same database; the raw codes'
-- approximate order (no re-ranking); filters that still return LIMIT rows;
-- VACUUM and reuse; tq_index_check.  4,000 rows, 20x the default re-rank
-- budget of 200.  Prints booleans only, so the output does not depend on the
-- random data.
SET client_min_messages = warning;
SELECT setseed(0.17);
CREATE TABLE items (id int PRIMARY KEY, v vector(64), h halfvec(64), cat int);
-- clustered data: 50 centres, noise around each
CREATE TABLE centres AS
	SELECT c, array_agg(random() * 2 - 1) AS x
	FROM generate_series(1, 50) c, generate_series(1, 64) d GROUP BY c;
INSERT INTO items (id, v, cat)
	SELECT i, (SELECT array_agg(x[d] + (random() - 0.5) * 0.7 ORDER BY d)
			   FROM generate_series(1, 64) d)::vector, i % 50
	FROM generate_series(1, 4000) i
	JOIN centres ON c = 1 + i % 50;
UPDATE items SET h = v::halfvec;
CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(x[d] + (random() - 0.5) * 0.9 ORDER BY d)
					   FROM generate_series(1, 64) d)::vector AS v
	FROM generate_series(1, 20) q JOIN centres ON c = 1 + (q * 7) % 50;
ALTER TABLE queries ADD COLUMN h halfvec(64);
UPDATE queries SET h = v::halfvec;
ANALYZE items;

-- the exact answers: top 10 by a sequential scan, per column and operator
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TABLE exact AS
	SELECT qid, c.col, o.op,
		   CASE c.col WHEN 'v' THEN
				CASE o.op WHEN '<->' THEN array(SELECT id FROM items ORDER BY v <-> q.v, id LIMIT 10)
						  WHEN '<=>' THEN array(SELECT id FROM items ORDER BY v <=> q.v, id LIMIT 10)
						  ELSE array(SELECT id FROM items ORDER BY v <#> q.v, id LIMIT 10) END
		   ELSE
				CASE o.op WHEN '<->' THEN array(SELECT id FROM items ORDER BY h <-> q.h, id LIMIT 10)
						  WHEN '<=>' THEN array(SELECT id FROM items ORDER BY h <=> q.h, id LIMIT 10)
						  ELSE array(SELECT id FROM items ORDER BY h <#> q.h, id LIMIT 10) END
		   END AS ids
	FROM queries q, (VALUES ('v'), ('h')) c(col), (VALUES ('<->'), ('<=>'), ('<#>')) o(op);
RESET enable_indexscan;
RESET enable_bitmapscan;

-- recall@10 and exact order of whatever index serves `col op query`
CREATE FUNCTION recall_of(col text, op text, idx text, filter text DEFAULT 'true',
						  OUT plan_uses_index bool, OUT recall numeric, OUT exact_order numeric)
LANGUAGE plpgsql AS $$
DECLARE
	plan text := '';
	line text;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM items WHERE %s ORDER BY %I %s %L LIMIT 10',
							   filter, col, op, (SELECT v::text FROM queries LIMIT 1))
	LOOP
		plan := plan || line || E'\n';
	END LOOP;
	plan_uses_index := plan LIKE format('Limit%%Index Scan using %s%%', idx);
	EXECUTE format($q$
		SELECT round(avg(cardinality(array(SELECT unnest(a.ids) INTERSECT SELECT unnest(e.ids)))) / 10, 3),
			   round(avg((a.ids = e.ids)::int), 3)
		FROM (SELECT qid, array(SELECT id FROM items WHERE %3$s ORDER BY %1$I %2$s q.%1$I LIMIT 10) AS ids
			  FROM queries q) a
		JOIN exact e ON e.qid = a.qid AND e.col = %1$L AND e.op = %2$L$q$, col, op, filter)
		INTO recall, exact_order;
	PERFORM set_config('enable_seqscan', 'on', true);
END $$;

-- every operator class, every bit width
CREATE FUNCTION check_opclass(col text, opclass text, bits int, rerank int DEFAULT 200, more text DEFAULT '')
RETURNS TABLE (plan_uses_index bool, recall numeric, exact_order numeric)
LANGUAGE plpgsql AS $$
DECLARE
	op text := CASE WHEN opclass LIKE '%l2%' THEN '<->' WHEN opclass LIKE '%cosine%' THEN '<=>' ELSE '<#>' END;
BEGIN
	EXECUTE format('CREATE INDEX items_tq ON items USING turboquant (%I %s) WITH (bits = %s%s)',
				   col, opclass, bits, more);
	IF more <> '' THEN
		PERFORM tq_index_check('items_tq', verify_codes => true);
	END IF;
	PERFORM set_config('turboquant.rerank', rerank::text, true);
	RETURN QUERY SELECT * FROM recall_of(col, op, 'items_tq');
	PERFORM set_config('turboquant.rerank', '200', true);
	DROP INDEX items_tq;
END $$;

SELECT col, opclass, bits, plan_uses_index, recall >= 0.98 AS recall_ok, exact_order >= 0.9 AS order_ok
FROM (VALUES ('v', 'vector_l2_ops'), ('v', 'vector_cosine_ops'), ('v', 'vector_ip_ops'),
			 ('h', 'halfvec_l2_ops'), ('h', 'halfvec_cosine_ops'), ('h', 'halfvec_ip_ops')) o(col, opclass),
	 (VALUES (2), (3), (4)) b(bits),
	 LATERAL check_opclass(col, opclass, bits) c
ORDER BY 1 DESC, 2, 3;

-- re-ranking off: the raw codes alone order the rows well at 4 bits
SELECT col, opclass, plan_uses_index, recall >= 0.6 AS approx_recall_ok
FROM (VALUES ('v', 'vector_cosine_ops'), ('h', 'halfvec_l2_ops')) o(col, opclass),
	 LATERAL check_opclass(col, opclass, 4, 0) c;

-- partitions: 20 IVF lists (k-means on these columns' values), default probes
SELECT col, opclass, plan_uses_index, recall >= 0.95 AS recall_ok
FROM (VALUES ('v', 'vector_l2_ops'), ('v', 'vector_cosine_ops'), ('h', 'halfvec_cosine_ops'),
			 ('h', 'halfvec_ip_ops')) o(col, opclass),
	 LATERAL check_opclass(col, opclass, 4, 200, ', lists = 20') c;

-- pgvector's HNSW index on the same columns (its defaults; ef_search 40),
-- one index at a time so the planner cannot pick the other
CREATE TEMP TABLE side_by_side (what text, engine text, plan_uses_index bool, recall numeric);
CREATE INDEX items_v_idx ON items USING turboquant (v vector_cosine_ops);
CREATE INDEX items_h_idx ON items USING turboquant (h halfvec_l2_ops);
INSERT INTO side_by_side SELECT 'v <=>', 'turboquant', plan_uses_index, recall FROM recall_of('v', '<=>', 'items_v_idx');
INSERT INTO side_by_side SELECT 'h <->', 'turboquant', plan_uses_index, recall FROM recall_of('h', '<->', 'items_h_idx');
DROP INDEX items_v_idx, items_h_idx;
CREATE INDEX items_v_idx ON items USING hnsw (v vector_cosine_ops);
CREATE INDEX items_h_idx ON items USING hnsw (h halfvec_l2_ops);
INSERT INTO side_by_side SELECT 'v <=>', 'hnsw', plan_uses_index, recall FROM recall_of('v', '<=>', 'items_v_idx');
INSERT INTO side_by_side SELECT 'h <->', 'hnsw', plan_uses_index, recall FROM recall_of('h', '<->', 'items_h_idx');
DROP INDEX items_v_idx, items_h_idx;
-- (HNSW's graph is random, so only a floor for it)
SELECT what, engine, plan_uses_index, recall >= CASE engine WHEN 'hnsw' THEN 0.8 ELSE 0.98 END AS recall_ok
FROM side_by_side ORDER BY what DESC, engine DESC;

-- filters: 80 of 4,000 rows match, LIMIT 10 still returns 10, the right ones
CREATE INDEX items_tq_v ON items USING turboquant (v vector_l2_ops) WITH (bits = 2);
CREATE TABLE exact_filtered AS
	SELECT qid, array(SELECT id FROM items WHERE id % 50 = 3 ORDER BY v <-> q.v, id LIMIT 10) AS ids
	FROM queries q;
SET enable_seqscan = off;
SELECT count(*) AS rows_returned FROM (
	SELECT id FROM items WHERE id % 50 = 3 ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 10) s;
SELECT round(avg(cardinality(array(SELECT unnest(a.ids) INTERSECT SELECT unnest(e.ids)))) / 10, 3) >= 0.98
	   AS filtered_recall_ok
FROM (SELECT qid, array(SELECT id FROM items WHERE id % 50 = 3 ORDER BY v <-> q.v LIMIT 10) AS ids
	  FROM queries q) a JOIN exact_filtered e USING (qid);
RESET enable_seqscan;

-- VACUUM: delete a third, vacuum, the index stays consistent and deleted rows
-- are never returned; new rows reuse the space and are found
CREATE INDEX items_tq_h ON items USING turboquant (h halfvec_cosine_ops) WITH (bits = 3);
SELECT tq_index_check('items_tq_v') AS v_entries, tq_index_check('items_tq_h') AS h_entries;
DELETE FROM items WHERE id % 3 = 0;
VACUUM items;
SELECT tq_index_check('items_tq_v') AS v_entries, tq_index_check('items_tq_h') AS h_entries;
SELECT pg_relation_size('items_tq_h') AS size_before \gset
INSERT INTO items (id, v, h, cat)
	SELECT id + 10000, v, h, cat FROM items WHERE id % 3 = 1 AND id <= 2000;
SELECT tq_index_check('items_tq_v') AS v_entries, tq_index_check('items_tq_h') AS h_entries;
SELECT pg_relation_size('items_tq_h') <= :size_before * 1.1 AS space_reused;
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE id % 3 = 0 AND id < 10000) AS deleted_rows_returned, count(*) AS returned
FROM (SELECT q.qid, s.id FROM queries q,
	  LATERAL (SELECT id FROM items ORDER BY h <=> q.h LIMIT 10) s) r;
-- a copy of a row is as near as the row: both come back
SELECT count(*) = 2 AS row_and_copy_found
FROM (SELECT id FROM items ORDER BY h <=> (SELECT h FROM items WHERE id = 1) LIMIT 2) s
WHERE id IN (1, 10001);
RESET enable_seqscan;

DROP TABLE items, centres, queries, exact, exact_filtered;
DROP FUNCTION recall_of, check_opclass;
