-- tqvector text and binary I/O, type modifier
-- text form: spaces around numbers and brackets, shortest round-trip output
SELECT '[1,2,3]'::tqvector;
SELECT '[1,2.5,-3e-2]'::tqvector;
SELECT ' [ 1 , 2.5 ,	-3e-2 ] '::tqvector;
SELECT '[-0,0,+1,.5,1.]'::tqvector;
-- floats that need every digit, and the extremes of float4
SELECT '[1.0000001,3.4028235e38,-3.4028235e38,1e-45,1.17549435e-38]'::tqvector;
SELECT '[0.1,0.2,0.3,123456789,1e10,1.5e-7]'::tqvector;
-- output reads back to the same floats
SELECT v, v::text::tqvector = v AS round_trip,
       (v::real[])[1] = '1.0000001'::real AS exact
FROM (SELECT '[1.0000001,3.4028235e38,1e-45,0.1]'::tqvector AS v) s;
-- decimals beyond float precision round to nearest float
SELECT '[0.123456789012345678901234567890]'::tqvector;
-- underflow goes to zero as in pgvector (no error)
SELECT '[1e-50]'::tqvector;

-- type modifier
CREATE TABLE tqv_io (v tqvector(3));
INSERT INTO tqv_io VALUES ('[1,2,3]'), ('[4,5,6]');
INSERT INTO tqv_io VALUES ('[1,2]');
INSERT INTO tqv_io VALUES ('[1,2,3,4]');
INSERT INTO tqv_io SELECT '[7,8]'::tqvector;
SELECT * FROM tqv_io ORDER BY v;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'tqv_io'::regclass AND attname = 'v';
SELECT '[1,2]'::tqvector(2), '[1,2]'::tqvector::tqvector(2);
SELECT '[1,2]'::tqvector(3);
SELECT '[1,2]'::tqvector::tqvector(3);
SELECT '[1]'::tqvector(1);
SELECT NULL::tqvector(0);
SELECT NULL::tqvector(16001);
SELECT NULL::tqvector(2,3);
SELECT NULL::tqvector(16000) IS NULL AS max_typmod_ok;

-- binary form: int16 dim, int16 unused, float4 values, network byte order
SELECT tqvector_send('[1,2.5]');
SELECT tqvector_send('[-0,1e-45,3.4028235e38]');

-- binary COPY round trip (exercises tqvector_send and tqvector_recv)
CREATE TABLE tqv_bin (id int, v tqvector);
INSERT INTO tqv_bin VALUES (1, '[1.0000001,3.4028235e38,1e-45]'), (2, '[-1,0,1]'), (3, NULL);
COPY tqv_bin TO '/tmp/turboquant_tqvector_io.bin' WITH (FORMAT binary);
CREATE TABLE tqv_bin2 (id int, v tqvector(3));
COPY tqv_bin2 FROM '/tmp/turboquant_tqvector_io.bin' WITH (FORMAT binary);
SELECT b.id, b.v, b.v = a.v AS same, tqvector_send(b.v) = tqvector_send(a.v) AS same_bytes
FROM tqv_bin a JOIN tqv_bin2 b USING (id) ORDER BY id;
SELECT count(*) FROM tqv_bin2 WHERE v IS NULL;
-- the column's typmod is enforced on binary input too
CREATE TABLE tqv_bin4 (id int, v tqvector(4));
COPY tqv_bin4 FROM '/tmp/turboquant_tqvector_io.bin' WITH (FORMAT binary);

-- text COPY round trip
COPY tqv_bin TO '/tmp/turboquant_tqvector_io.txt';
TRUNCATE tqv_bin2;
COPY tqv_bin2 FROM '/tmp/turboquant_tqvector_io.txt';
SELECT * FROM tqv_bin2 ORDER BY id;

-- large vectors (here compressible ones, which STORAGE main compresses) read back intact
CREATE TABLE tqv_big (id int, v tqvector(3000));
INSERT INTO tqv_big
	SELECT i, array_agg((i + j % 8) / 4.0 ORDER BY j)::real[]::tqvector
	FROM generate_series(1, 3) i, generate_series(1, 3000) j GROUP BY i;
SELECT id, vector_dims(v), pg_column_size(v) < 12004 AS compressed, v = v::text::tqvector AS round_trip,
       (v::real[])[2999] = (id + 7) / 4.0 AS last_but_one
FROM tqv_big ORDER BY id;
-- elements of a and b differ by (b.id - a.id) / 4, so l2 = sqrt(3000) * (b.id - a.id) / 4
SELECT a.id, b.id, a.v <-> b.v AS l2, sqrt(3000::float8) * (b.id - a.id) / 4 AS expected
FROM tqv_big a JOIN tqv_big b ON a.id < b.id ORDER BY 1, 2;
SELECT id FROM tqv_big ORDER BY v DESC;

DROP TABLE tqv_io, tqv_bin, tqv_bin2, tqv_bin4, tqv_big;

-- the fast parser (std::from_chars) and float4in (strtof) give the same value
-- for every element: random magnitudes over the normal range (float4in refuses
-- subnormals), digits beyond float precision, signs, exponents, and the forms
-- only strtof takes
SELECT setseed(0.17);
WITH lits AS (
	SELECT '[' || string_agg(x, ',') || ']' AS lit, '{' || string_agg(x, ',') || '}' AS arr
	FROM (SELECT g / 50 AS grp,
				 (CASE WHEN random() < 0.5 THEN '-' ELSE '' END) ||
				 to_char(1 + random() * 8.999, 'FM0.999999999999') || 'e' || (floor(random() * 75) - 37)::int AS x
		  FROM generate_series(0, 4999) g) s
	GROUP BY grp
	UNION ALL SELECT '[+1.5, 0x1p-3, 1.1754944e-38, 3.4028235e38, 1E+2, .25, 7.]', '{+1.5, 0.125, 1.1754944e-38, 3.4028235e38, 1E+2, .25, 7.}'
)
SELECT count(*) AS literals,
	   count(*) FILTER (WHERE lit::tqvector::real[] = arr::real[]) AS equal_to_float4in
FROM lits;
