-- turboquant.simd: every kernel set this CPU runs returns the same rows in the
-- same order as the scalar specification, at every bit width; naming an
-- unknown set is an error; turboquant.simd_available lists what this CPU runs
-- (its content depends on the CPU, so only its shape is checked here).
SET client_min_messages = warning;
SELECT setseed(0.3);
CREATE TABLE simd_t (id int, v tqvector(37));
INSERT INTO simd_t SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 37) WHERE i > 0)::tqvector
	FROM generate_series(1, 2000) i;
CREATE TABLE simd_q AS SELECT (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 37) WHERE i > 0)::tqvector AS q
	FROM generate_series(1, 3) i;
SELECT current_setting('turboquant.simd_available') ~ '^([a-z0-9]+ )*scalar$' AS lists_scalar_last;
SET turboquant.simd = 'no_such_set';
SET turboquant.simd = 'scalar';
SHOW turboquant.simd;
SET turboquant.rerank = 0;  -- the kernel's own order, no exact re-ranking
SET enable_seqscan = off;

-- The approximate top-20 of each query under each set, compared with scalar's.
CREATE FUNCTION simd_top(bits int) RETURNS TABLE (simd text, same boolean) LANGUAGE plpgsql AS $$
DECLARE
	ref int[];
	got int[];
	s text;
	qv tqvector;
	ok boolean;
BEGIN
	EXECUTE format('DROP INDEX IF EXISTS simd_i; CREATE INDEX simd_i ON simd_t USING turboquant (v tqvector_l2_ops) WITH (bits = %s)', bits);
	FOREACH s IN ARRAY string_to_array(current_setting('turboquant.simd_available'), ' ') LOOP
		ok := true;
		FOR qv IN SELECT q FROM simd_q LOOP
			PERFORM set_config('turboquant.simd', 'scalar', true);
			SELECT array_agg(id) INTO ref FROM (SELECT id FROM simd_t ORDER BY v <-> qv LIMIT 20) x;
			PERFORM set_config('turboquant.simd', s, true);
			SELECT array_agg(id) INTO got FROM (SELECT id FROM simd_t ORDER BY v <-> qv LIMIT 20) x;
			ok := ok AND got = ref AND cardinality(got) = 20;
		END LOOP;
		simd := CASE WHEN s = 'scalar' THEN 'scalar' ELSE 'each other set' END;
		same := ok;
		RETURN NEXT;
	END LOOP;
END $$;
SELECT DISTINCT * FROM simd_top(2) ORDER BY 1;
SELECT DISTINCT * FROM simd_top(3) ORDER BY 1;
SELECT DISTINCT * FROM simd_top(4) ORDER BY 1;
RESET turboquant.simd;
SHOW turboquant.simd;
DROP TABLE simd_t, simd_q;
DROP FUNCTION simd_top(int);
