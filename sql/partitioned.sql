-- Partitioned tables: an index created on the parent is built on every
-- partition; ORDER BY v <=> q LIMIT 10 over the parent is a Merge Append of
-- per-partition index scans under the Limit, chosen by the planner's own
-- costs (no enable_* settings); its answers equal a single table's with the
-- same index options and exact search from the same database; a WHERE on the
-- partition key prunes partitions and still uses the index; a WHERE on another
-- column still returns LIMIT rows.  Flat (lists = 0) and partitioned
-- (lists > 0) indexes.  Prints booleans and plans only.
SET client_min_messages = warning;
-- 100 candidates of 4,000 rows per partition and 16,000 in the single table:
-- enough for both to find the exact top 10 on this data (at the default 40,
-- the single table misses a few that the partitions, re-ranking 40 each, find)
SET turboquant.rerank = 100;
SELECT setseed(0.29);
CREATE TABLE centres AS
	SELECT c, array_agg(random() * 2 - 1) AS x
	FROM generate_series(1, 40) c, generate_series(1, 32) d GROUP BY c;
-- the rows, once: a plain table, a hash-partitioned one and a list-partitioned one
CREATE TABLE single (id int, tenant int, v tqvector(32));
INSERT INTO single
	SELECT i, i % 4, (SELECT array_agg(x[d] + (random() - 0.5) * 0.7 ORDER BY d)
					  FROM generate_series(1, 32) d)::tqvector
	FROM generate_series(1, 16000) i JOIN centres ON c = 1 + i % 40;
CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(x[d] + (random() - 0.5) * 0.9 ORDER BY d)
					   FROM generate_series(1, 32) d)::tqvector AS v
	FROM generate_series(1, 20) q JOIN centres ON c = 1 + (q * 7) % 40;

CREATE TABLE docs (id int, tenant int, v tqvector(32)) PARTITION BY HASH (id);
CREATE TABLE docs_0 PARTITION OF docs FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE docs_1 PARTITION OF docs FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE docs_2 PARTITION OF docs FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE docs_3 PARTITION OF docs FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO docs SELECT * FROM single;

CREATE TABLE bytenant (id int, tenant int, v tqvector(32)) PARTITION BY LIST (tenant);
CREATE TABLE bytenant_a PARTITION OF bytenant FOR VALUES IN (0, 1);
CREATE TABLE bytenant_b PARTITION OF bytenant FOR VALUES IN (2);
CREATE TABLE bytenant_c PARTITION OF bytenant FOR VALUES IN (3);
INSERT INTO bytenant SELECT * FROM single;
ANALYZE single, docs, bytenant;

-- exact answers, computed here without any index
CREATE TABLE exact AS
	SELECT qid, array(SELECT id FROM single ORDER BY v <=> q.v, id LIMIT 10) AS ids,
		   array(SELECT id FROM single WHERE tenant = 2 ORDER BY v <=> q.v, id LIMIT 10) AS t2,
		   array(SELECT id FROM single WHERE tenant = 1 ORDER BY v <=> q.v, id LIMIT 10) AS t1,
		   array(SELECT id FROM single WHERE id % 97 = 5 ORDER BY v <=> q.v, id LIMIT 10) AS rare
	FROM queries q;

-- One index configuration on the three tables: the plans (planner's choice),
-- then per query the top 10 of the parent, of the single table and of the
-- tenant-pruned parent, compared in SQL.
CREATE FUNCTION compare(options text, OUT recall numeric, OUT single_recall numeric, OUT same_as_single numeric,
						OUT tenant_recall numeric, OUT filtered_recall numeric,
						OUT single_filtered_recall numeric, OUT rare_rows numeric,
						OUT rare_recall numeric)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE INDEX single_v ON single USING turboquant (v tqvector_cosine_ops) WITH (%s)', options);
	EXECUTE format('CREATE INDEX docs_v ON docs USING turboquant (v tqvector_cosine_ops) WITH (%s)', options);
	EXECUTE format('CREATE INDEX bytenant_v ON bytenant USING turboquant (v tqvector_cosine_ops) WITH (%s)', options);
	SELECT avg(cardinality(array(SELECT unnest(r.parent) INTERSECT SELECT unnest(e.ids)))) / 10,
		   avg(cardinality(array(SELECT unnest(r.single) INTERSECT SELECT unnest(e.ids)))) / 10,
		   avg((r.parent = r.single)::int),
		   avg(cardinality(array(SELECT unnest(r.tenant) INTERSECT SELECT unnest(e.t2)))) / 10,
		   avg(cardinality(array(SELECT unnest(r.filtered) INTERSECT SELECT unnest(e.t1)))) / 10,
		   avg(cardinality(array(SELECT unnest(r.single_filtered) INTERSECT SELECT unnest(e.t1)))) / 10,
		   avg(cardinality(r.rare)),
		   avg(cardinality(array(SELECT unnest(r.rare) INTERSECT SELECT unnest(e.rare)))) / 10
	INTO recall, single_recall, same_as_single, tenant_recall, filtered_recall, single_filtered_recall, rare_rows, rare_recall
	FROM (SELECT qid,
				 array(SELECT id FROM docs ORDER BY v <=> q.v LIMIT 10) AS parent,
				 array(SELECT id FROM single ORDER BY v <=> q.v LIMIT 10) AS single,
				 array(SELECT id FROM bytenant WHERE tenant = 2 ORDER BY v <=> q.v LIMIT 10) AS tenant,
				 array(SELECT id FROM docs WHERE tenant = 1 ORDER BY v <=> q.v LIMIT 10) AS filtered,
				 array(SELECT id FROM single WHERE tenant = 1 ORDER BY v <=> q.v LIMIT 10) AS single_filtered,
				 array(SELECT id FROM docs WHERE id % 97 = 5 ORDER BY v <=> q.v LIMIT 10) AS rare
		  FROM queries q) r
	JOIN exact e USING (qid);
END $$;

-- flat indexes (lists = 0): created on the parent, built on every partition
SELECT * FROM compare('lists = 0') \gset
SELECT c.relname, i.relname AS index, s.lists, s.rows
FROM pg_inherits h JOIN pg_class i ON i.oid = h.inhrelid
	 JOIN pg_index x ON x.indexrelid = i.oid JOIN pg_class c ON c.oid = x.indrelid,
	 LATERAL tq_index_stats(i.oid) s
WHERE h.inhparent IN ('docs_v'::regclass, 'bytenant_v'::regclass)
ORDER BY 1;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM bytenant WHERE tenant = 2 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM bytenant WHERE tenant IN (0, 3) ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
-- a filter on another column: every partition's index scan, filtered
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tenant = 1 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
-- (a filter passing 1 row in 97 is cheaper by sequential scan: its answer is
-- compared all the same, whatever the plan)
SELECT :recall >= 0.98 AS recall_ok, :single_recall >= 0.98 AS single_recall_ok,
	   :same_as_single = 1 AS same_as_single_ok,
	   :tenant_recall >= 0.98 AS tenant_recall_ok,
	   :filtered_recall >= 0.98 AND :single_filtered_recall >= 0.98 AS filtered_recall_ok,
	   :rare_rows = 10 AS rare_rows_ok,
	   :rare_recall >= 0.9 AS rare_recall_ok;
DROP INDEX single_v, docs_v, bytenant_v;

-- partitioned indexes (lists > 0; 10 lists per partition, probes 4 of them)
SET turboquant.probes = 4;
SELECT * FROM compare('lists = 10') \gset
SELECT c.relname, s.lists, s.rows
FROM pg_inherits h JOIN pg_index x ON x.indexrelid = h.inhrelid
	 JOIN pg_class c ON c.oid = x.indrelid, LATERAL tq_index_stats(h.inhrelid) s
WHERE h.inhparent = 'docs_v'::regclass ORDER BY 1;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM bytenant WHERE tenant = 2 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
SELECT :recall >= 0.95 AS recall_ok, :single_recall >= 0.95 AS single_recall_ok,
	   :same_as_single >= 0.9 AS same_as_single_ok,
	   :tenant_recall >= 0.95 AS tenant_recall_ok,
	   -- tenant 1 lives in a quarter of the clusters: with 4 of 10 lists probed
	   -- some of its nearest rows sit in lists not probed, in the single table too
	   :filtered_recall >= :single_filtered_recall - 0.02 AS filtered_recall_ok,
	   :rare_rows = 10 AS rare_rows_ok,
	   :rare_recall >= 0.9 AS rare_recall_ok;
RESET turboquant.probes;
DROP INDEX single_v;

-- a partition attached later gets its own index
CREATE TABLE bytenant_d (id int, tenant int, v tqvector(32));
INSERT INTO bytenant_d SELECT id + 100000, 4, v FROM single WHERE id <= 3000;
ALTER TABLE bytenant ATTACH PARTITION bytenant_d FOR VALUES IN (4);
ANALYZE bytenant_d;
SELECT count(*) AS indexes_on_bytenant_d FROM pg_index WHERE indrelid = 'bytenant_d'::regclass;
EXPLAIN (COSTS OFF) SELECT id FROM bytenant WHERE tenant = 4 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
SELECT array(SELECT id - 100000 FROM bytenant WHERE tenant = 4 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 3) LIMIT 10) =
	   array(SELECT id FROM single WHERE id <= 3000 ORDER BY v <=> (SELECT v FROM queries WHERE qid = 3), id LIMIT 10)
	   AS attached_exact;

DROP TABLE single, docs, bytenant, queries, exact, centres;
DROP FUNCTION compare;
RESET turboquant.rerank;
