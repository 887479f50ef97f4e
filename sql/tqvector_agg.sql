-- avg(tqvector) and sum(tqvector)
CREATE TABLE tqv_agg (g int, v tqvector(3));
INSERT INTO tqv_agg VALUES
	(1, '[1,2,3]'), (1, '[3,4,5]'), (1, '[5,6,10]'),
	(2, '[-1,0,0.5]'), (2, '[1,0,0.5]'),
	(3, NULL);
SELECT avg(v), sum(v), count(v) FROM tqv_agg;
SELECT g, avg(v), sum(v) FROM tqv_agg GROUP BY g ORDER BY g;
-- no rows, or only NULLs: NULL (like avg and sum over numbers)
SELECT avg(v), sum(v) FROM tqv_agg WHERE false;
SELECT avg(v), sum(v) FROM tqv_agg WHERE g = 3;
-- the state accumulates in double precision: no float rounding, no overflow in between
SELECT sum(v) FROM (VALUES ('[1e8]'::tqvector), ('[1]'), ('[1]'), ('[1]'), ('[-1e8]')) t(v);
SELECT sum(v), avg(v) FROM (VALUES ('[3e38]'::tqvector), ('[3e38]'), ('[-3e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[3e38,-3e38]'::tqvector), ('[3e38,-3e38]')) t(v);
-- a sum beyond float range is an error
SELECT sum(v) FROM (VALUES ('[3e38]'::tqvector), ('[3e38]')) t(v);
-- mixed dimensions
SELECT avg(v) FROM (VALUES ('[1,2]'::tqvector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::tqvector), ('[1]')) t(v);
-- running average as a window aggregate
SELECT g, v, avg(v) OVER (ORDER BY v) FROM tqv_agg WHERE v IS NOT NULL ORDER BY v;
-- the transition and combine functions, called directly
SELECT tqvector_accum('{0}', '[1,2]');
SELECT tqvector_accum(tqvector_accum('{0}', '[1,2]'), '[3,4]');
SELECT tqvector_combine('{2,4,6}', '{1,1,1}'), tqvector_combine('{0}', '{1,1,1}'),
       tqvector_combine('{2,4,6}', '{0}'), tqvector_combine('{0}', '{0}');
SELECT tqvector_avg('{2,4,6}'), tqvector_sum_final('{2,4,6}'), tqvector_avg('{0}');

-- parallel aggregation uses the combine function and gives the same result
CREATE TABLE tqv_agg_big (v tqvector(4));
INSERT INTO tqv_agg_big
	SELECT ARRAY[i % 7, -(i % 3), i % 2, 1]::tqvector FROM generate_series(1, 20000) i;
SELECT avg(v), sum(v) FROM tqv_agg_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM tqv_agg_big;
SELECT avg(v), sum(v) FROM tqv_agg_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT aggfnoid::regprocedure, aggtransfn, aggcombinefn, aggfinalfn, aggtranstype::regtype,
       agginitval, proparallel
FROM pg_aggregate JOIN pg_proc ON pg_proc.oid = aggfnoid
WHERE aggfnoid IN ('avg(tqvector)'::regprocedure, 'sum(tqvector)'::regprocedure)
ORDER BY aggfnoid::regprocedure::text;

DROP TABLE tqv_agg, tqv_agg_big;
