-- Casts between pgvector's vector and halfvec and tqvector (turboquant_pgvector).
-- Needs pgvector; the Makefile's installcheck-pgvector loads vector, turboquant
-- and turboquant_pgvector.

-- every turboquant operator class passes the access method's validator
SELECT opcname, opcintype::regtype, amvalidate(oid)
FROM pg_opclass WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'turboquant')
ORDER BY opcname;

-- both ways, explicit
SELECT '[1,2.5,-3]'::vector::tqvector, '[1,2.5,-3]'::tqvector::vector;
SELECT '[1,2.5,-3]'::halfvec::tqvector, '[1,2.5,-3]'::tqvector::halfvec;
SELECT '[1,2,3]'::vector::tqvector(3), '[1,2,3]'::tqvector::vector(3), '[1,2,3]'::tqvector::halfvec(3);
-- typmods are checked by the target's own length coercion (22000)
\set VERBOSITY sqlstate
SELECT '[1,2,3]'::vector::tqvector(4);
SELECT '[1,2,3]'::tqvector::vector(2);
SELECT '[1,2,3]'::tqvector::halfvec(2);
\set VERBOSITY default
SELECT '[1,2,3]'::vector::tqvector(4);
-- NULL stays NULL
SELECT NULL::vector::tqvector IS NULL AS n1, NULL::tqvector::halfvec IS NULL AS n2;

-- float16: every finite half converts exactly, subnormals included; rounding to
-- nearest even as pgvector's own vector -> halfvec cast does
SELECT '[65504,-65504,6.1035156e-05,5.9604645e-08,-5.9604645e-08,0,-0]'::halfvec::tqvector;
SELECT v::tqvector::halfvec::text = v::vector::halfvec::text AS same_as_pgvector, v
FROM (VALUES ('[1.00048828125,1.00146484375,1.0009765625]'),
			 ('[2.9802322e-08,2.9802326e-08,8.940697e-08,1e-10]'),
			 ('[6.097555e-05,65519,-65519,0.1,0.2,0.3,3.14159]'),
			 ('[0.000061035156,0.00006103515,-0.00006103515]')) t(v);
-- every finite positive half (1024 subnormals and zero, 30 x 1024 normals):
-- exact as a float, and back to the same half
SELECT count(*) AS finite_halves,
	   count(*) FILTER (WHERE (h::tqvector::real[])[1] = x) AS exact,
	   count(*) FILTER (WHERE h::tqvector::halfvec::text = h::text) AS round_trips
FROM (SELECT x, ('[' || x || ']')::halfvec AS h
	  FROM (SELECT m * 2::float8 ^ (-24) AS x FROM generate_series(0, 1023) m
			UNION ALL
			SELECT (1024 + m) * 2::float8 ^ (e - 25)
			FROM generate_series(1, 30) e, generate_series(0, 1023) m) s) t;
-- out of halfvec's range: the same error (22003) as pgvector's own cast
\set VERBOSITY sqlstate
SELECT '[65520]'::tqvector::halfvec;
SELECT '[1e30]'::tqvector::halfvec;
\set VERBOSITY default
SELECT '[65520]'::tqvector::halfvec;

-- assignment casts: INSERT and ALTER COLUMN ... TYPE without USING
CREATE TABLE items (id int, embedding vector(3));
INSERT INTO items VALUES (1, '[1,2,3]'), (2, NULL), (3, '[0,0,0]');
INSERT INTO items VALUES (4, '[4,5,6]'::tqvector);
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector(3);
SELECT id, embedding, pg_typeof(embedding) FROM items ORDER BY id;
ALTER TABLE items ALTER COLUMN embedding TYPE halfvec(3);
SELECT id, embedding, pg_typeof(embedding) FROM items ORDER BY id;
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector;
ALTER TABLE items ALTER COLUMN embedding TYPE vector(3);
SELECT id, embedding, pg_typeof(embedding) FROM items ORDER BY id;
-- a wrong dimension fails the whole statement
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector(4);
-- ALTER TYPE rebuilds indexes: a default operator class (L2) becomes the new
-- type's default; a named one (cosine) must be dropped first and made again
CREATE INDEX items_idx ON items USING turboquant (embedding vector_l2_ops);
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector(3);
SELECT pg_get_indexdef('items_idx'::regclass), tq_index_check('items_idx');
ALTER TABLE items ALTER COLUMN embedding TYPE halfvec(3);
SELECT pg_get_indexdef('items_idx'::regclass), tq_index_check('items_idx');
DROP INDEX items_idx;
CREATE INDEX items_idx ON items USING turboquant (embedding halfvec_cosine_ops);
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector(3);
DROP INDEX items_idx;
ALTER TABLE items ALTER COLUMN embedding TYPE tqvector(3);
CREATE INDEX items_idx ON items USING turboquant (embedding tqvector_cosine_ops);
SELECT tq_index_check('items_idx');
DROP TABLE items;

-- with both extensions, untyped literals can be ambiguous: say the type
SELECT vector_dims('[1,2,3]');
SELECT vector_dims('[1,2,3]'::tqvector), vector_dims('[1,2,3]'::vector);
SELECT l2_distance('[1,2]', '[3,4]');
SELECT l2_distance('[1,2]'::tqvector, '[3,4]'), l2_distance('[1,2]'::vector, '[3,4]');
-- operators on a typed column resolve the literal without help
SELECT '[1,2]'::tqvector <-> '[3,4]', '[1,2]'::vector <-> '[3,4]';
