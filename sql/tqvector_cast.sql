-- casts between tqvector and arrays
SELECT ARRAY[1,2,3]::tqvector AS from_int,
       ARRAY[1.5,-2.25]::real[]::tqvector AS from_real,
       ARRAY[1.0000001,0.1]::float8[]::tqvector AS from_double,
       ARRAY[1.5,2,0.1]::numeric[]::tqvector AS from_numeric;
SELECT '{1,2,3}'::int[]::tqvector(3), '{1,2,3}'::real[]::tqvector(3),
       '{1,2,3}'::float8[]::tqvector(3), '{1,2,3}'::numeric[]::tqvector(3);
-- arrays with non-default lower bounds work too
SELECT '[5:7]={7,8,9}'::real[]::tqvector;
-- large integers round to the nearest float
SELECT ARRAY[16777217, 2147483647]::tqvector;

-- tqvector -> real[]
SELECT '[1,2.5,-3]'::tqvector::real[] AS to_real,
       pg_typeof('[1]'::tqvector::real[]),
       '[1.0000001,3.4028235e38]'::tqvector::real[] AS exact;
SELECT ('[1,2,3]'::tqvector::real[])[2];
SELECT array_length('[1,2,3]'::tqvector::real[], 1);
-- round trip through real[]
SELECT ('[0.1,-7,1e-45]'::tqvector::real[])::tqvector;

-- assignment casts into a column, with its typmod
CREATE TABLE tqv_cast (v tqvector(3));
INSERT INTO tqv_cast VALUES (ARRAY[1,2,3]), (ARRAY[1.5,2.5,3.5]::real[]),
	(ARRAY[1,2,3]::float8[]), (ARRAY[0.5,1,2]::numeric[]);
INSERT INTO tqv_cast VALUES (ARRAY[1,2]);
INSERT INTO tqv_cast VALUES (ARRAY[1,2,3,4]::real[]);
SELECT * FROM tqv_cast;
DROP TABLE tqv_cast;
-- cast contexts: arrays -> tqvector on assignment, tqvector -> real[] implicitly
SELECT castsource::regtype, casttarget::regtype, castcontext
FROM pg_cast WHERE castsource = 'tqvector'::regtype OR casttarget = 'tqvector'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;

-- typmod cast tqvector -> tqvector(n)
SELECT '[1,2,3]'::tqvector::tqvector(3);
SELECT '[1,2,3]'::tqvector::tqvector(2);
SELECT CAST('[1,2,3]'::tqvector AS tqvector(4));

-- errors: typmod, NULL elements, multidimensional, empty, too large, bad values
SELECT ARRAY[1,2,3]::tqvector(2);
SELECT ARRAY[1,NULL,3]::tqvector;
SELECT ARRAY[NULL]::real[]::tqvector;
SELECT '{{1,2},{3,4}}'::real[]::tqvector;
SELECT '{}'::real[]::tqvector;
SELECT '{}'::int[]::tqvector;
SELECT ARRAY['NaN']::real[]::tqvector;
SELECT ARRAY['Infinity']::real[]::tqvector;
SELECT ARRAY['-Infinity']::float8[]::tqvector;
SELECT ARRAY['NaN']::float8[]::tqvector;
SELECT ARRAY[1e39]::float8[]::tqvector;
SELECT ARRAY[-1e300]::float8[]::tqvector;
SELECT ARRAY['NaN']::numeric[]::tqvector;
SELECT ARRAY['Infinity']::numeric[]::tqvector;
SELECT ARRAY[1e39]::numeric[]::tqvector;
SELECT array_fill(1, ARRAY[16001])::tqvector;
-- other array types have no cast
SELECT ARRAY[1,2]::bigint[]::tqvector;
SELECT ARRAY['a']::text[]::tqvector;
