-- Partitioned (lists) indexes: recall against exact search from the same
-- database on a table far larger than the re-rank budget, a monotone probes
-- sweep, the statistics function, inserts after the build landing in lists,
-- VACUUM space reused within lists, the flat case, and the planner's cost
-- following probes.  Prints booleans only: independent of the random data.
SET client_min_messages = warning;
SELECT setseed(0.77);
CREATE TABLE centres AS
	SELECT c, array_agg(random() * 2 - 1) AS x
	FROM generate_series(1, 30) c, generate_series(1, 32) d GROUP BY c;
CREATE TABLE items (id int PRIMARY KEY, v tqvector(32));
INSERT INTO items
	SELECT i, (SELECT array_agg(x[d] + (random() - 0.5) * 0.7 ORDER BY d)
			   FROM generate_series(1, 32) d)::tqvector
	FROM generate_series(1, 12000) i JOIN centres ON c = 1 + i % 30;
CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(x[d] + (random() - 0.5) * 0.9 ORDER BY d)
					   FROM generate_series(1, 32) d)::tqvector AS v
	FROM generate_series(1, 20) q JOIN centres ON c = 1 + (q * 7) % 30;
ANALYZE items;

SET enable_indexscan = off;
CREATE TABLE exact AS
	SELECT qid, array(SELECT id FROM items ORDER BY v <-> q.v, id LIMIT 10) AS l2,
		   array(SELECT id FROM items ORDER BY v <=> q.v, id LIMIT 10) AS cos
	FROM queries q;
RESET enable_indexscan;

-- recall@10 of the index scan at the given probes and rerank
CREATE FUNCTION recall(op text, probes int, rerank int) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	r numeric;
BEGIN
	PERFORM set_config('turboquant.probes', probes::text, true);
	PERFORM set_config('turboquant.rerank', rerank::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE format($q$
		SELECT avg(cardinality(array(SELECT unnest(a.ids) INTERSECT SELECT unnest(e.%1$s)))) / 10
		FROM (SELECT qid, array(SELECT id FROM items ORDER BY v %2$s q.v LIMIT 10) AS ids
			  FROM queries q) a JOIN exact e USING (qid)$q$,
		CASE op WHEN '<->' THEN 'l2' ELSE 'cos' END, op) INTO r;
	PERFORM set_config('enable_seqscan', 'on', true);
	RETURN r;
END $$;

CREATE INDEX items_l2 ON items USING turboquant (v tqvector_l2_ops) WITH (lists = 30, bits = 4);
SELECT lists = 30 AS lists_ok, rows = 12000 AS rows_ok, built_rows = 12000 AS built_ok,
	   min_list_rows > 0 AS no_empty_list, avg_list_rows = 400 AS avg_ok,
	   max_list_rows < 2000 AS balanced, empty_lists = 0 AS empty_ok, bits = 4 AS bits_ok,
	   dims = 32 AS dims_ok, format = 3 AS format_ok
FROM tq_index_stats('items_l2');
SELECT tq_index_check('items_l2') = 12000 AS check_ok;

-- the plan uses the index; re-ranking 50 of 12000 rows
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries LIMIT 1) LIMIT 10;
RESET enable_seqscan;
SELECT recall('<->', 30, 50) >= 0.95 AS all_lists_recall_ok,
	   recall('<->', 3, 50) >= 0.80 AS three_lists_recall_ok,
	   recall('<->', 30, 0) >= 0.6 AS approx_recall_ok;
-- more probes never lose recall
SELECT bool_and(r >= prev) AS probes_monotone
FROM (SELECT r, lag(r, 1, 0.0) OVER (ORDER BY p) AS prev
	  FROM (SELECT p, recall('<->', p, 50) AS r FROM unnest(ARRAY[1, 2, 4, 8, 16, 30]) p) s) t;

-- the planner's cost follows probes
CREATE FUNCTION plan_cost(probes int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	PERFORM set_config('turboquant.probes', probes::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE 'EXPLAIN (FORMAT JSON) SELECT id FROM items ORDER BY v <-> ''[' ||
			array_to_string(array_fill(0.5, ARRAY[32]), ',') || ']'' LIMIT 10' INTO plan;
	PERFORM set_config('enable_seqscan', 'on', true);
	RETURN (plan -> 0 -> 'Plan' ->> 'Total Cost')::float8;
END $$;
SELECT plan_cost(1) < plan_cost(10) AND plan_cost(10) < plan_cost(30) AS cost_follows_probes;

-- inserts after the build land in lists and are found (the vector itself, nearest first)
INSERT INTO items
	SELECT 100000 + i, (SELECT array_agg(x[d] + (random() - 0.5) * 0.7 ORDER BY d)
						FROM generate_series(1, 32) d)::tqvector
	FROM generate_series(1, 600) i JOIN centres ON c = 1 + i % 30;
SELECT rows = 12600 AS rows_after_insert, built_rows = 12000 AS built_unchanged
FROM tq_index_stats('items_l2');
SELECT tq_index_check('items_l2') = 12600 AS check_after_insert;
SET enable_seqscan = off;
SET turboquant.probes = 1;
SELECT count(*) = 50 AS inserted_found
FROM (SELECT id, v FROM items WHERE id > 100000 ORDER BY id LIMIT 50) n
WHERE (SELECT id FROM items i ORDER BY i.v <-> n.v LIMIT 1) = n.id;
RESET turboquant.probes;
RESET enable_seqscan;

-- VACUUM frees slots within their lists; re-inserting the same vectors reuses them
CREATE TABLE gone AS SELECT id, v FROM items WHERE id % 5 = 0;
DELETE FROM items WHERE id % 5 = 0;
VACUUM items;
SELECT pg_relation_size('items_l2') AS size_before \gset
INSERT INTO items SELECT id + 1000000, v FROM gone;
SELECT pg_relation_size('items_l2') = :size_before AS space_reused;
SELECT tq_index_check('items_l2') = (SELECT count(*) FROM items) AS check_after_reuse;
DROP INDEX items_l2;

-- cosine with lists chosen by the user; flat (lists = 0) is one list
CREATE INDEX items_cos ON items USING turboquant (v tqvector_cosine_ops) WITH (lists = 15);
SELECT lists = 15 AS cos_lists FROM tq_index_stats('items_cos');
DELETE FROM exact;
SET enable_indexscan = off;
INSERT INTO exact SELECT qid, NULL, array(SELECT id FROM items ORDER BY v <=> q.v, id LIMIT 10) FROM queries q;
RESET enable_indexscan;
SELECT recall('<=>', 15, 50) >= 0.95 AS cos_recall_ok;
DROP INDEX items_cos;
CREATE INDEX items_flat ON items USING turboquant (v tqvector_cosine_ops) WITH (lists = 0);
SELECT lists = 1 AS flat_one_list, min_list_rows = rows AS all_in_one FROM tq_index_stats('items_flat');
SELECT recall('<=>', 1, 50) >= 0.95 AS flat_recall_ok;
DROP INDEX items_flat;

-- the default on a table this small is flat; more lists than rows shrink to the rows
CREATE INDEX items_auto ON items USING turboquant (v);
SELECT lists = 1 AS small_table_flat FROM tq_index_stats('items_auto');
CREATE TABLE few (v tqvector(3));
INSERT INTO few VALUES ('[1,0,0]'), ('[0,1,0]'), ('[0,0,1]');
CREATE INDEX few_idx ON few USING turboquant (v) WITH (lists = 100);
SELECT lists = 3 AS lists_clamped, rows = 3 AS few_rows FROM tq_index_stats('few_idx');
SET enable_seqscan = off;
SELECT v FROM few ORDER BY v <-> '[0,0.9,0.1]' LIMIT 1;
RESET enable_seqscan;

-- bad settings and privileges
SET turboquant.probes = -1;
SELECT has_function_privilege('public', 'tq_index_stats(regclass)', 'execute') AS public_can_stats;
SELECT * FROM tq_index_stats('items_pkey');
-- a partitioned index has no pages: a clear error, not a missing file
CREATE TABLE parted (id int, v tqvector(3)) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE INDEX parted_idx ON parted USING turboquant (v);
SELECT * FROM tq_index_stats('parted_idx');
SELECT lists, rows FROM tq_index_stats('parted_1_v_idx');
SELECT * FROM tq_index_stats('parted');
-- a role granted EXECUTE must still own the table (or be in pg_stat_scan_tables)
CREATE ROLE regress_tq_stats_nobody;
GRANT EXECUTE ON FUNCTION tq_index_stats(regclass) TO regress_tq_stats_nobody;
BEGIN;
SET LOCAL ROLE regress_tq_stats_nobody;
SELECT * FROM tq_index_stats('few_idx');
ROLLBACK;
REVOKE EXECUTE ON FUNCTION tq_index_stats(regclass) FROM regress_tq_stats_nobody;
DROP ROLE regress_tq_stats_nobody;
DROP TABLE parted;

DROP TABLE items, centres, queries, exact, gone, few;
DROP FUNCTION recall, plan_cost;
