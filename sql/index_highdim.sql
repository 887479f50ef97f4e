-- Dimensions pgvector cannot index: 3072 (common embedding size) and 16000
-- (the type's limit), where one 32-vector block spans many pages and every
-- insert writes several WAL records.
-- The tables hold 190 and 50 rows: far fewer than the default re-rank budget
-- (200), which would re-rank every row whatever the codes say; a budget of 10
-- (LIMIT 5) and 5 (LIMIT 1) leaves the choice of candidates to the codes.
SET client_min_messages = warning;
SET enable_seqscan = off;
SET turboquant.rerank = 10;
SELECT setseed(0.3);

CREATE TABLE h3072 (id int, v tqvector(3072));
INSERT INTO h3072
	SELECT i, (SELECT array_agg(sin(i * 0.37 + d * 0.011 * (1 + i % 5)) + (random() - 0.5) * 0.2)
			   FROM generate_series(1, 3072) d WHERE i > 0)::tqvector
	FROM generate_series(1, 150) i;
CREATE INDEX h3072_idx ON h3072 USING turboquant (v tqvector_cosine_ops) WITH (bits = 2);
INSERT INTO h3072 SELECT id + 1000, v + array_fill(0.01::real, ARRAY[3072])::tqvector FROM h3072 WHERE id <= 40;
SELECT tq_index_check('h3072_idx') AS entries;
-- each stored vector finds itself first; the index answers like exact search
SELECT count(*) FILTER (WHERE (SELECT id FROM h3072 b ORDER BY b.v <=> a.v LIMIT 1) = a.id) AS found_self
FROM h3072 a WHERE a.id % 10 = 0;
CREATE TABLE approx AS
	SELECT a.id, array(SELECT b.id FROM h3072 b ORDER BY b.v <=> a.v LIMIT 5) AS ids
	FROM h3072 a WHERE a.id % 7 = 0;
SET enable_indexscan = off;
SELECT count(*) AS queries,
	   count(*) FILTER (WHERE ids = array(SELECT b.id FROM h3072 b ORDER BY b.v <=> a.v LIMIT 5)) AS same_as_exact
FROM approx JOIN h3072 a USING (id);
RESET enable_indexscan;
DROP TABLE h3072, approx;

SET turboquant.rerank = 5;
CREATE TABLE h16000 (id int, v tqvector(16000));
INSERT INTO h16000
	SELECT i, (SELECT array_agg(cos(i * 0.5 + d * 0.003) + (random() - 0.5) * 0.1)
			   FROM generate_series(1, 16000) d WHERE i > 0)::tqvector
	FROM generate_series(1, 40) i;
CREATE INDEX h16000_idx ON h16000 USING turboquant (v tqvector_l2_ops);
INSERT INTO h16000 SELECT id + 100, v * array_fill(1.5::real, ARRAY[16000])::tqvector FROM h16000 WHERE id <= 10;
SELECT tq_index_check('h16000_idx') AS entries;
SELECT count(*) FILTER (WHERE (SELECT id FROM h16000 b ORDER BY b.v <-> a.v LIMIT 1) = a.id) AS found_self
FROM h16000 a;
-- pages per stripe at this size: more than one WAL record per insert
SELECT pg_relation_size('h16000_idx') / current_setting('block_size')::int > 32 AS many_pages;
DROP TABLE h16000;
