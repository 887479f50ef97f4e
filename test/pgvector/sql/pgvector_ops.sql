-- pgvector's documented SQL behaviour on vector and halfvec columns, with the
-- turboquant index (turboquant_pgvector) beside pgvector's own HNSW index and
-- a sequential scan, in the same database: distances, NULL and zero vectors,
-- dimension errors, ORDER BY with and without the index.
SET client_min_messages = warning;

CREATE TABLE items (id int PRIMARY KEY, v vector(3), h halfvec(3));
INSERT INTO items VALUES
	(1, '[1,1,1]', '[1,1,1]'), (2, '[2,2,2.5]', '[2,2,2.5]'), (3, '[1,1,2]', '[1,1,2]'),
	(4, '[0,0,0]', '[0,0,0]'), (5, NULL, NULL), (6, '[-1,-2,-3]', '[-1,-2,-3]'),
	(7, '[0.5,0.25,0.125]', '[0.5,0.25,0.125]');

-- distances, as pgvector documents them (<#> is the negative inner product;
-- the cosine distance of a zero vector is NaN)
SELECT id, v <-> '[3,1,2]' AS l2, v <=> '[3,1,2]' AS cos, v <#> '[3,1,2]' AS nip,
	   h <-> '[3,1,2]' AS hl2, h <=> '[3,1,2]' AS hcos, h <#> '[3,1,2]' AS hnip
FROM items ORDER BY id;
-- the same values as tqvector's operators on the same data
SELECT count(*) FILTER (WHERE (v <-> '[3,1,2]') = (v::tqvector <-> '[3,1,2]')) AS l2_same,
	   count(*) FILTER (WHERE (v <#> '[3,1,2]') = (v::tqvector <#> '[3,1,2]')) AS ip_same,
	   count(*) FILTER (WHERE abs((v <=> '[3,1,2]') - (v::tqvector <=> '[3,1,2]')) < 1e-6) AS cos_close
FROM items WHERE v IS NOT NULL AND id <> 4;

-- each index type, each metric: the index answer equals the sequential scan's,
-- NULL rows are never returned, zero vectors sort last under cosine (NaN)
CREATE FUNCTION ordered(col text, op text, q text, lim int DEFAULT 10) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	EXECUTE format('SELECT string_agg(id::text, '','') FROM (SELECT id FROM items ORDER BY %I %s %L LIMIT %s) s',
				   col, op, q, lim) INTO r;
	RETURN r;
END $$;
CREATE FUNCTION plan_of(col text, op text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE line text; p text := '';
BEGIN
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY %I %s %L LIMIT 10', col, op, q)
	LOOP p := p || line; END LOOP;
	RETURN CASE WHEN p LIKE '%Index Scan using%' THEN substring(p from 'Index Scan using (\S+)') ELSE 'Seq Scan' END;
END $$;

-- sequential scan (no index)
SELECT col, op, ordered(col, op, '[3,1,2]') AS seqscan
FROM (VALUES ('v'), ('h')) c(col), (VALUES ('<->'), ('<=>'), ('<#>')) o(op) ORDER BY 1, 2;

SET enable_seqscan = off;
CREATE INDEX items_v_tq ON items USING turboquant (v vector_l2_ops);
CREATE INDEX items_h_tq ON items USING turboquant (h halfvec_l2_ops);
SELECT col, plan_of(col, '<->', '[3,1,2]'), ordered(col, '<->', '[3,1,2]') FROM (VALUES ('v'), ('h')) c(col);
DROP INDEX items_v_tq, items_h_tq;
CREATE INDEX items_v_tq ON items USING turboquant (v vector_cosine_ops);
CREATE INDEX items_h_tq ON items USING turboquant (h halfvec_cosine_ops);
SELECT col, plan_of(col, '<=>', '[3,1,2]'), ordered(col, '<=>', '[3,1,2]') FROM (VALUES ('v'), ('h')) c(col);
DROP INDEX items_v_tq, items_h_tq;
CREATE INDEX items_v_tq ON items USING turboquant (v vector_ip_ops);
CREATE INDEX items_h_tq ON items USING turboquant (h halfvec_ip_ops);
SELECT col, plan_of(col, '<#>', '[3,1,2]'), ordered(col, '<#>', '[3,1,2]') FROM (VALUES ('v'), ('h')) c(col);
DROP INDEX items_v_tq, items_h_tq;

-- pgvector's own HNSW index on the same columns (exact at this size)
CREATE INDEX items_v_hnsw ON items USING hnsw (v vector_l2_ops);
CREATE INDEX items_h_hnsw ON items USING hnsw (h halfvec_l2_ops);
SELECT col, plan_of(col, '<->', '[3,1,2]'), ordered(col, '<->', '[3,1,2]') FROM (VALUES ('v'), ('h')) c(col);
DROP INDEX items_v_hnsw, items_h_hnsw;

-- the index returns the operator's own values: ORDER BY the distance column
CREATE INDEX items_h_tq ON items USING turboquant (h halfvec_l2_ops);
SELECT id, h <-> '[3,1,2]' AS dist FROM items ORDER BY h <-> '[3,1,2]' LIMIT 3;
-- ORDER BY NULL: every non-NULL row, in no particular order
SELECT count(*) FROM (SELECT id FROM items ORDER BY h <-> NULL LIMIT 10) s;
-- a query vector of another dimension: pgvector's error, through the index
-- as through a sequential scan
SELECT id FROM items ORDER BY h <-> '[1,2]' LIMIT 1;
SELECT id FROM items ORDER BY v <-> '[1,2]' LIMIT 1;
SET enable_indexscan = off;
SET enable_seqscan = on;
SELECT id FROM items ORDER BY h <-> '[1,2]' LIMIT 1;
RESET enable_indexscan;
SET enable_seqscan = off;
-- rows of the wrong dimension cannot get in (the column's typmod) ...
INSERT INTO items VALUES (8, '[1,2]', '[1,2]');
-- ... nor into an untyped column's index
CREATE TABLE loose (id int, h halfvec);
INSERT INTO loose VALUES (1, '[1,2,3]');
CREATE INDEX ON loose USING turboquant (h halfvec_l2_ops);
INSERT INTO loose VALUES (2, '[1,2]');
DROP TABLE loose;
RESET enable_seqscan;

-- an opclass needs the column's type
CREATE INDEX ON items USING turboquant (v halfvec_l2_ops);
CREATE INDEX ON items USING turboquant (v tqvector_l2_ops);

DROP TABLE items;
DROP FUNCTION ordered, plan_of;
