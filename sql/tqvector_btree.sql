-- comparison operators, the btree and hash operator classes
-- order: element-wise, then by dimension (a prefix sorts first), like arrays
SELECT '[1,2]'::tqvector < '[1,3]', '[1,2]'::tqvector < '[1,2,0]', '[1,3]'::tqvector > '[1,2,3]',
       '[1,2]'::tqvector <= '[1,2]', '[2]'::tqvector >= '[1,5,5]', '[1,2]'::tqvector <> '[1,2,0]';
SELECT '[1,2]'::tqvector = '[1,2]', '[1,2]'::tqvector = '[1,2,0]', '[0]'::tqvector = '[-0]',
       '[1,2]'::tqvector = '[2,1]';
SELECT tqvector_cmp('[1,2]', '[1,3]'), tqvector_cmp('[1,2]', '[1,2]'), tqvector_cmp('[2]', '[1,2]'),
       tqvector_cmp('[1]', '[1,0]');

CREATE TABLE tqv_bt (id int, v tqvector);
INSERT INTO tqv_bt VALUES
	(1, '[1,2,3]'), (2, '[1,2]'), (3, '[-1,5]'), (4, '[1,2,3]'), (5, '[0]'),
	(6, '[-0]'), (7, '[1,2,-3]'), (8, '[3.4028235e38]'), (9, '[-3.4028235e38,1]'), (10, NULL);
-- ORDER BY v uses tqvector_ops (the default btree opclass)
SELECT id, v FROM tqv_bt ORDER BY v, id;
SELECT id, v FROM tqv_bt ORDER BY v DESC NULLS LAST, id;
-- DISTINCT and GROUP BY, by sorting and by hashing ([0] and [-0] are one group;
-- which of the two represents it is unspecified, so ids are shown instead)
SET enable_hashagg = off;
SELECT DISTINCT v FROM tqv_bt WHERE id <> 6 ORDER BY v;
SELECT count(DISTINCT v) FROM tqv_bt;
SELECT array_agg(id ORDER BY id) AS ids, count(*) FROM tqv_bt GROUP BY v ORDER BY v;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT min(id), max(id), count(*) FROM tqv_bt GROUP BY v;
SELECT min(id), max(id), count(*) FROM tqv_bt GROUP BY v ORDER BY min(id);
RESET enable_sort;
-- joins on equality: merge join and hash join
SET enable_nestloop = off;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT a.id, b.id FROM tqv_bt a JOIN tqv_bt b ON a.v = b.v;
SELECT a.id, b.id FROM tqv_bt a JOIN tqv_bt b ON a.v = b.v AND a.id < b.id ORDER BY 1, 2;
RESET enable_hashjoin;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT a.id, b.id FROM tqv_bt a JOIN tqv_bt b ON a.v = b.v;
SELECT a.id, b.id FROM tqv_bt a JOIN tqv_bt b ON a.v = b.v AND a.id < b.id ORDER BY 1, 2;
RESET enable_mergejoin;
RESET enable_nestloop;
-- statistics: ANALYZE and the selectivity estimators work on tqvector
ANALYZE tqv_bt;
SELECT count(*) FROM tqv_bt WHERE v < '[1,2,3]';
SELECT count(*) FROM tqv_bt WHERE v >= '[1,2]' AND v <> '[1,2,3]';
-- btree index: lookups, range scans, unique constraint
CREATE INDEX tqv_bt_v ON tqv_bt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tqv_bt WHERE v = '[1,2,3]';
SELECT id FROM tqv_bt WHERE v = '[1,2,3]' ORDER BY id;
SELECT id, v FROM tqv_bt WHERE v > '[1,2]' AND v <= '[1,2,3]' ORDER BY v, id;
RESET enable_seqscan;
CREATE TABLE tqv_uniq (v tqvector(2) UNIQUE);
INSERT INTO tqv_uniq VALUES ('[1,2]'), ('[2,1]'), ('[0,0]');
INSERT INTO tqv_uniq VALUES ('[1,2]');
INSERT INTO tqv_uniq VALUES ('[-0,0]');
INSERT INTO tqv_uniq VALUES ('[1,2]') ON CONFLICT (v) DO NOTHING;
SELECT * FROM tqv_uniq ORDER BY v;
-- hash index; -0 and 0 are equal so they hash alike
CREATE INDEX tqv_bt_hash ON tqv_bt USING hash (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tqv_bt WHERE v = '[-0]';
SELECT id FROM tqv_bt WHERE v = '[-0]' ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT tqvector_hash('[0,1]') = tqvector_hash('[-0,1]') AS zero_hash,
       tqvector_hash_extended('[0,1]', 42) = tqvector_hash_extended('[-0,1]', 42) AS zero_hash_ext,
       tqvector_hash('[1,2]') <> tqvector_hash('[2,1]') AS differs,
       tqvector_hash_extended('[1,2]', 0) <> tqvector_hash_extended('[1,2]', 1) AS seeded;
-- the operator classes
SELECT am.amname, opc.opcname, opc.opcdefault
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE opc.opcintype = 'tqvector'::regtype AND am.amname IN ('btree', 'hash')
ORDER BY am.amname;
DROP TABLE tqv_bt, tqv_uniq;
