-- tq_search over a partitioned table of pgvector's vector and halfvec
-- columns: the operator is pgvector's (found for the column's type), the
-- answers those of the plain query on the parent.
SET client_min_messages = warning;
SELECT setseed(0.3);
CREATE TABLE items (id int, v vector(8), h halfvec(8)) PARTITION BY HASH (id);
CREATE TABLE items_0 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE items_1 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO items
	SELECT i, a::vector, a::halfvec
	FROM (SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 8) d WHERE i > 0)::real[] AS a
		  FROM generate_series(1, 2000) i) s;
CREATE INDEX ON items USING turboquant (v vector_cosine_ops);
CREATE INDEX ON items USING turboquant (h halfvec_l2_ops);
ANALYZE items;
SELECT tq_search_query('items', 'v', 5);
SELECT tq_search_query('items', 'h', 5, '<->');
SELECT count(*) AS queries,
	   count(*) FILTER (WHERE array(SELECT id FROM tq_search(NULL::items, 'v', q.v, 10)) =
							  array(SELECT id FROM items ORDER BY v <=> q.v LIMIT 10)) AS same_vector,
	   count(*) FILTER (WHERE array(SELECT id FROM tq_search(NULL::items, 'h', q.h, 10, '<->')) =
							  array(SELECT id FROM items ORDER BY h <-> q.h LIMIT 10)) AS same_halfvec
FROM (SELECT v, h FROM items WHERE id <= 10) q;
-- the query as a literal
SELECT count(*) FROM tq_search(NULL::items, 'v', '[1,0,0,0,0,0,0,1]', 7);
DROP TABLE items;
