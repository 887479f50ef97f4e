-- every way to build a bad tqvector fails with a clear message and SQLSTATE
CREATE FUNCTION tq_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- malformed text: 22P02
SELECT q, tq_err(format('SELECT %L::tqvector', q)) AS result FROM (VALUES
	(''), (' '), ('1,2'), ('(1,2)'), ('['), ('[1'), ('[1,2'), ('[1,'), ('[1,]'),
	('[,]'), ('[,1]'), ('[1,,2]'), ('[1 2]'), ('[a]'), ('[1a]'), ('[1,2]x'),
	('[1,2],'), ('[1,2] [3]'), ('[1e]'), ('[--1]'), ('[1;2]'), ('[[1]]')
) t(q);
-- a detail says what is wrong
SELECT '{1,2}'::tqvector;
SELECT '[1,2] junk'::tqvector;

-- empty: 22000
SELECT q, tq_err(format('SELECT %L::tqvector', q)) AS result FROM (VALUES
	('[]'), ('[ ]'), (' [	] ')
) t(q);

-- NaN (22000), infinities and float overflow (22003)
SELECT q, tq_err(format('SELECT %L::tqvector', q)) AS result FROM (VALUES
	('[NaN]'), ('[1,nan]'), ('[Infinity]'), ('[-inf]'), ('[1,inf,2]'),
	('[1e39]'), ('[-3.5e38]'), ('[1e400]')
) t(q);

-- 16000 dimensions are allowed, 16001 are not (54000), from text and arrays
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::tqvector);
SELECT vector_dims(array_fill(0.5::real, ARRAY[16000])::tqvector);
SELECT tq_err($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::tqvector$$);
SELECT tq_err($$SELECT ('[' || repeat('1,', 20000) || '1]')::tqvector$$);
SELECT tq_err($$SELECT array_fill(1::real, ARRAY[16001])::tqvector$$);
SELECT tq_err($$SELECT array_fill(1::real, ARRAY[16000])::tqvector || '[1]'$$);
SELECT tq_err($$SELECT '[1]'::tqvector(16001)$$);
-- the 16000-dim vector round-trips through text
SELECT v::text::tqvector = v AS round_trip, length(v::text)
FROM (SELECT array_fill(0.1::real, ARRAY[16000])::tqvector AS v) s;

-- dimension mismatch in every binary function and operator: 22000
SELECT q, tq_err(format('SELECT %s', q)) AS result FROM (VALUES
	($$'[1,2]'::tqvector <-> '[1,2,3]'$$),
	($$'[1,2]'::tqvector <=> '[1,2,3]'$$),
	($$'[1,2]'::tqvector <#> '[1,2,3]'$$),
	($$'[1,2]'::tqvector <+> '[1,2,3]'$$),
	($$'[1,2]'::tqvector + '[1,2,3]'$$),
	($$'[1,2]'::tqvector - '[1,2,3]'$$),
	($$'[1,2]'::tqvector * '[1,2,3]'$$),
	($$l2_distance('[1,2]'::tqvector, '[1,2,3]')$$),
	($$tqvector_l2_squared_distance('[1,2]'::tqvector, '[1,2,3]')$$),
	($$inner_product('[1,2]'::tqvector, '[1,2,3]')$$),
	($$tqvector_negative_inner_product('[1,2]'::tqvector, '[1,2,3]')$$),
	($$cosine_distance('[1,2]'::tqvector, '[1,2,3]')$$),
	($$l1_distance('[1,2]'::tqvector, '[1,2,3]')$$)
) t(q);

-- arithmetic that leaves float range: 22003
SELECT q, tq_err(format('SELECT %s', q)) AS result FROM (VALUES
	($$'[1,3e38]'::tqvector + '[1,3e38]'$$),
	($$'[-3e38]'::tqvector - '[3e38]'$$),
	($$'[1e20]'::tqvector * '[1e20]'$$),
	($$'[1e-30]'::tqvector * '[1e-30]'$$)
) t(q);

-- binary input is validated like text input (22000, 22003, 22P03, 54000, 08P01)
CREATE FUNCTION tq_recv(bytes bytea, typmod int DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)',
				   bytes, '/tmp/turboquant_tqvector_recv.bin');
	EXECUTE format('CREATE TEMP TABLE tq_recv_t (v tqvector%s)',
				   CASE WHEN typmod IS NULL THEN '' ELSE '(' || typmod || ')' END);
	EXECUTE format('COPY tq_recv_t FROM %L WITH (FORMAT binary)',
				   '/tmp/turboquant_tqvector_recv.bin');
	SELECT v::text INTO r FROM tq_recv_t;
	DROP TABLE tq_recv_t;
	RETURN r;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT b AS bytes, tq_recv(b) AS result FROM (VALUES
	('\x000200003f80000040200000'::bytea),	-- [1,2.5]
	('\x00000000'),							-- 0 dimensions
	('\xffff0000'),							-- -1 dimensions
	('\x3e810000'),							-- 16001 dimensions
	('\x000100013f800000'),					-- unused is not 0
	('\x000100007fc00000'),					-- NaN
	('\x000100007f800000'),					-- Infinity
	('\x00010000ff800000'),					-- -Infinity
	('\x000200003f800000'),					-- too short
	('\x00010000'),							-- no data at all
	('\x0001'),								-- truncated header
	('\x000100003f80000000')				-- trailing byte
) t(b);
SELECT tq_recv('\x000200003f80000040200000', 2) AS typmod_ok,
       tq_recv('\x000200003f80000040200000', 3) AS typmod_mismatch;

-- aggregate states are checked when the functions are called directly
SELECT tq_err($$SELECT tqvector_accum('{}', '[1]')$$);
SELECT tq_err($$SELECT tqvector_accum('{{1,2}}', '[1]')$$);
SELECT tq_err($$SELECT tqvector_accum('{1,NULL}', '[1]')$$);
SELECT tq_err($$SELECT tqvector_accum('{1,2,3}', '[1]')$$);
SELECT tq_err($$SELECT tqvector_combine('{1,2,3}', '{1,2}')$$);
SELECT tq_err($$SELECT tqvector_avg('{5}')$$);
SELECT tq_err($$SELECT tqvector_sum_final('{1,1e300}')$$);
SELECT tq_err($$SELECT tqvector_avg('{NaN,1}')$$);

DROP FUNCTION tq_err(text);
DROP FUNCTION tq_recv(bytea, int);
