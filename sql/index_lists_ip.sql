-- Inner-product lists: rows are assigned to lists by L2, but a query probes the
-- lists in order of inner product with their centroids (src/core/kmeans.cpp
-- measured why).  Two far-apart groups: A near e1 with norm ~1, B near e2 with
-- norm ~10.  For q = e1 + 0.5 e2 every top inner product is in B, while A's
-- centroid is the L2-nearest: with one probe, ranking lists by L2 would
-- return only A rows.
SET client_min_messages = warning;
CREATE TABLE ipt (id int PRIMARY KEY, v tqvector(16));
INSERT INTO ipt
	SELECT i, (SELECT array_agg(CASE WHEN d = 1 THEN 1 + (i % 7) * 0.01
									 WHEN d = 3 THEN (i % 5) * 0.01 ELSE 0 END ORDER BY d)
			   FROM generate_series(1, 16) d)::tqvector
	FROM generate_series(1, 300) i;
INSERT INTO ipt
	SELECT i, (SELECT array_agg(CASE WHEN d = 2 THEN 10 + (i % 7) * 0.05
									 WHEN d = 4 THEN (i % 3) * 0.1 ELSE 0 END ORDER BY d)
			   FROM generate_series(1, 16) d)::tqvector
	FROM generate_series(301, 600) i;
CREATE INDEX ipt_ip ON ipt USING turboquant (v tqvector_ip_ops) WITH (lists = 2);
SELECT lists, min_list_rows, max_list_rows FROM tq_index_stats('ipt_ip');
-- the exact answer is all in group B ...
SET enable_indexscan = off;
SELECT count(*) AS exact_in_b FROM (SELECT id FROM ipt ORDER BY v <#> '[1,0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
									LIMIT 10) s WHERE id > 300;
RESET enable_indexscan;
SET enable_seqscan = off;
SET turboquant.probes = 1;
-- ... and so is the index's, from the one list it probes
SELECT count(*) AS index_in_b FROM (SELECT id FROM ipt ORDER BY v <#> '[1,0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
									LIMIT 10) s WHERE id > 300;
EXPLAIN (COSTS OFF) SELECT id FROM ipt ORDER BY v <#> '[1,0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10;
RESET turboquant.probes;
RESET enable_seqscan;
DROP TABLE ipt;
