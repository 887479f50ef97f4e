-- Defaults of a partitioned index: `lists` from the table size at build time
-- (flat below 20,000 rows, rows/250 up to 62,500 rows, then 2 round(sqrt(rows))
-- up to 1,000 lists and round(sqrt(rows)) beyond),
-- and `turboquant.probes` = 0 resolved per index to scan about 4000 rows, at
-- least 16 lists (README "Tuning lists and probes").  Prints booleans only.
SET client_min_messages = warning;
SELECT setseed(0.31);
CREATE TABLE big (id int, v tqvector(4));
INSERT INTO big SELECT i, ARRAY[random(), random(), random(), random()]::tqvector
	FROM generate_series(1, 19999) i;
CREATE INDEX big_auto ON big USING turboquant (v tqvector_l2_ops);
SELECT lists = 1 AS below_20k_flat FROM tq_index_stats('big_auto');
DROP INDEX big_auto;
INSERT INTO big VALUES (20000, '[0.5,0.5,0.5,0.5]');
CREATE INDEX big_auto ON big USING turboquant (v tqvector_l2_ops);
-- 20,000 rows: rows/250 = 80
SELECT lists = 80 AS rows_over_250, rows = 20000 AS rows_ok FROM tq_index_stats('big_auto');
DROP INDEX big_auto;
INSERT INTO big SELECT i, ARRAY[random(), random(), random(), random()]::tqvector
	FROM generate_series(20001, 70000) i;
CREATE INDEX big_auto ON big USING turboquant (v tqvector_l2_ops);
-- 70,000 rows: 2 round(sqrt) = 530 (not rows/250 = 280)
SELECT lists = 530 AS twice_sqrt_rows FROM tq_index_stats('big_auto');
SELECT tq_index_check('big_auto') = 70000 AS check_ok;

-- the planner's cost at the default probes equals the cost at the probes it resolves to
CREATE FUNCTION plan_cost(probes int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	PERFORM set_config('turboquant.probes', probes::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE 'EXPLAIN (FORMAT JSON) SELECT id FROM big ORDER BY v <-> ''[0.5,0.5,0.5,0.5]'' LIMIT 10'
		INTO plan;
	PERFORM set_config('enable_seqscan', 'on', true);
	RETURN (plan -> 0 -> 'Plan' ->> 'Total Cost')::float8;
END $$;
-- 530 lists of ~132 rows: 4000 rows are ceil(4000 * 530 / 70000) = 31 lists
SELECT plan_cost(0) = plan_cost(31) AS auto_probes_31, plan_cost(31) < plan_cost(32) AS cost_grows,
	   plan_cost(0) <> plan_cost(16) AS not_the_floor;
DROP INDEX big_auto;
-- a user's 2000 lists of 35 rows: ceil(4000 * 2000 / 70000) = 115 probes
CREATE INDEX big_2000 ON big USING turboquant (v tqvector_l2_ops) WITH (lists = 2000);
SELECT lists = 2000 AS user_lists FROM tq_index_stats('big_2000');
SELECT plan_cost(0) = plan_cost(115) AS auto_probes_by_rows,
	   plan_cost(0) <> plan_cost(114) AND plan_cost(0) <> plan_cost(116) AS not_neighbours;

-- the scan probes what the planner costs: at the default, the index returns
-- the same rows as at probes 115 (and exact rows: 115 x 35 rows >> LIMIT)
SET enable_seqscan = off;
CREATE TABLE q AS SELECT g AS qid, ARRAY[random(), random(), random(), random()]::tqvector AS v
	FROM generate_series(1, 10) g;
CREATE FUNCTION ids(probes int, qv tqvector) RETURNS int[] LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('turboquant.probes', probes::text, true);
	RETURN array(SELECT id FROM big ORDER BY v <-> qv LIMIT 10);
END $$;
SELECT bool_and(ids(0, v) = ids(115, v)) AS default_is_115 FROM q;
RESET enable_seqscan;

-- the k-means baseline build (turboquant.simd = scalar) and the best one this CPU runs (AVX2, AVX-512):
-- each one's index passes the other's check (assignment to the nearest centroid)
DROP INDEX big_2000;
SET turboquant.simd = scalar;
CREATE INDEX big_scalar ON big USING turboquant (v tqvector_l2_ops) WITH (lists = 100);
RESET turboquant.simd;
SELECT tq_index_check('big_scalar') = 70000 AS scalar_build_checks;
DROP INDEX big_scalar;
CREATE INDEX big_best ON big USING turboquant (v tqvector_l2_ops) WITH (lists = 100);
-- 100 lists of 700 rows: 4000 rows would be 6 lists, so the floor of 16 holds
SELECT plan_cost(0) = plan_cost(16) AS auto_probes_floor_16, plan_cost(0) <> plan_cost(6) AS not_by_rows;
SET turboquant.simd = scalar;
SELECT tq_index_check('big_best') = 70000 AS best_build_checks_with_scalar;
RESET turboquant.simd;

DROP TABLE big, q;
DROP FUNCTION plan_cost, ids;
