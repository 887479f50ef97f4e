-- Extreme but legal vectors: a norm above FLT_MAX, subnormal elements, and
-- huge components whose squares overflow float.  The index keeps norms and
-- estimates in double, so the checker stays clean and the index answers like
-- the exact scan; every expected answer is computed by a sequential scan in
-- the same run.
SET client_min_messages = warning;
SELECT setseed(0.7);

-- 1. norm > FLT_MAX and subnormal norms, among ordinary rows (table far
--    larger than the re-rank budget set below), for every opclass.
CREATE TABLE ext (id int, v tqvector(2));
INSERT INTO ext VALUES (1, '[3e38,3e38]'), (2, '[1e-45,1e-45]'), (3, '[-3e38,2e38]'),
	(4, '[1e-40,-3e-41]'), (5, '[3.4e38,-3.4e38]');
INSERT INTO ext SELECT i, ARRAY[random() * 2 - 1, random() * 2 - 1]::tqvector
	FROM generate_series(6, 3000) i;
CREATE INDEX ext_l2 ON ext USING turboquant (v tqvector_l2_ops);
CREATE INDEX ext_ip ON ext USING turboquant (v tqvector_ip_ops);
CREATE INDEX ext_cos ON ext USING turboquant (v tqvector_cosine_ops);
SELECT tq_index_check('ext_l2') AS l2, tq_index_check('ext_ip') AS ip,
	   tq_index_check('ext_cos') AS cos;
REINDEX TABLE ext;
SELECT tq_index_check('ext_l2') AS l2, tq_index_check('ext_ip') AS ip,
	   tq_index_check('ext_cos') AS cos;
-- inserts after the build go through the same encoder
INSERT INTO ext VALUES (6001, '[2e38,3.1e38]'), (6002, '[1.4e-45,0]');
SELECT tq_index_check('ext_l2') AS l2, tq_index_check('ext_ip') AS ip,
	   tq_index_check('ext_cos') AS cos;

-- each extreme row as the query: the index's nearest row is as near as the
-- exact scan's (distances compared, as ties are common at these extremes)
SET turboquant.rerank = 10;
CREATE TABLE ext_q AS SELECT id, v FROM ext WHERE id <= 5 OR id > 6000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT (SELECT e.v <-> q.v FROM ext e ORDER BY e.v <-> q.v LIMIT 1) FROM ext_q q;
CREATE TABLE ext_idx AS
	SELECT q.id,
		   (SELECT e.v <-> q.v FROM ext e ORDER BY e.v <-> q.v LIMIT 1) AS l2,
		   (SELECT e.v <#> q.v FROM ext e ORDER BY e.v <#> q.v LIMIT 1) AS ip,
		   (SELECT e.v <=> q.v FROM ext e ORDER BY e.v <=> q.v LIMIT 1) AS cos
	FROM ext_q q;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT i.id,
	   i.l2 = (SELECT min(e.v <-> q.v) FROM ext e) AS l2_same,
	   i.ip = (SELECT min(e.v <#> q.v) FROM ext e) AS ip_same,
	   i.cos = (SELECT min(e.v <=> q.v) FROM ext e) AS cos_same
FROM ext_idx i JOIN ext_q q USING (id) ORDER BY i.id;
RESET enable_indexscan;
RESET turboquant.rerank;
DROP TABLE ext, ext_q, ext_idx;

-- 2. Components around 1e20: every float estimate overflowed (squares above
--    FLT_MAX), so candidates were chosen in row order and the index answered
--    200, 199, 198.  Estimates must not depend on the scale: the index's own
--    order at rerank = 0 for [1e20 + g*1e15, 1e20] equals its order for the
--    same rows scaled to [1 + g*1e-5, 1] (these 2-d rows differ by angles far
--    below what 4-bit codes resolve, so that order is the quantizer's, not the
--    exact one), and the one-row estimate's winner is a real row near it.
--    With every row re-ranked the index returns the exact answer (2500).
CREATE TABLE huge (id int, v tqvector(2));
INSERT INTO huge SELECT g, ARRAY[1e20 + g * 1e15, 1e20]::tqvector FROM generate_series(1, 5000) g;
CREATE INDEX huge_idx ON huge USING turboquant (v);
CREATE TABLE unit (id int, v tqvector(2));
INSERT INTO unit SELECT g, ARRAY[1 + g * 1e-5, 1]::tqvector FROM generate_series(1, 5000) g;
CREATE INDEX unit_idx ON unit USING turboquant (v);
SELECT tq_index_check('huge_idx') AS entries;
SET enable_seqscan = off;
SET turboquant.rerank = 0;
SELECT array(SELECT id FROM huge ORDER BY v <-> '[1.025e20,1e20]' LIMIT 20)
	 = array(SELECT id FROM unit ORDER BY v <-> '[1.025,1]' LIMIT 20) AS scale_free_estimates,
	   (SELECT id FROM huge ORDER BY v <-> '[1.025e20,1e20]' LIMIT 1) NOT IN (1, 5000)
	AS estimate_not_an_edge;
SET turboquant.rerank = 5000;
CREATE TABLE huge_idx_ans AS
	SELECT array(SELECT id FROM huge ORDER BY v <-> '[1.025e20,1e20]' LIMIT 3) AS ids;
RESET turboquant.rerank;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ids AS index_ids,
	   array(SELECT id FROM huge ORDER BY v <-> '[1.025e20,1e20]' LIMIT 3) AS exact_ids
FROM huge_idx_ans;
RESET enable_indexscan;
DROP TABLE huge, unit, huge_idx_ans;
