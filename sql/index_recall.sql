-- Recall of every opclass at every bit width, against the exact answer from
-- the same database without the index.  Prints booleans only, so the output
-- does not depend on the random data.
SET client_min_messages = warning;
SELECT setseed(0.42);
CREATE TABLE items (id int PRIMARY KEY, v tqvector(48));
-- clustered data: 40 centres, noise around each
CREATE TABLE centres AS
	SELECT c, array_agg(random() * 2 - 1) AS x
	FROM generate_series(1, 40) c, generate_series(1, 48) d GROUP BY c;
INSERT INTO items
	SELECT i, (SELECT array_agg(x[d] + (random() - 0.5) * 0.6 ORDER BY d)
			   FROM generate_series(1, 48) d)::tqvector
	FROM generate_series(1, 3000) i
	JOIN centres ON c = 1 + i % 40;
CREATE TABLE queries AS
	SELECT q AS qid, (SELECT array_agg(x[d] + (random() - 0.5) * 0.8 ORDER BY d)
					   FROM generate_series(1, 48) d)::tqvector AS v
	FROM generate_series(1, 25) q JOIN centres ON c = 1 + (q * 7) % 40;
ANALYZE items;

-- exact top 10 for each metric
SET enable_indexscan = off;
CREATE TABLE exact AS
	SELECT qid,
		   array(SELECT id FROM items ORDER BY v <-> q.v, id LIMIT 10) AS l2,
		   array(SELECT id FROM items ORDER BY v <=> q.v, id LIMIT 10) AS cos,
		   array(SELECT id FROM items ORDER BY v <#> q.v, id LIMIT 10) AS ip
	FROM queries q;
RESET enable_indexscan;

-- recall@10 and exact order of the index scan for one opclass/bits
CREATE FUNCTION check_recall(opclass text, bits int, rerank int, OUT plan_uses_index bool,
							 OUT recall numeric, OUT exact_order numeric)
LANGUAGE plpgsql AS $$
DECLARE
	op text := CASE opclass WHEN 'tqvector_l2_ops' THEN '<->'
							WHEN 'tqvector_cosine_ops' THEN '<=>' ELSE '<#>' END;
	col text := CASE opclass WHEN 'tqvector_l2_ops' THEN 'l2'
							 WHEN 'tqvector_cosine_ops' THEN 'cos' ELSE 'ip' END;
	plan text := '';
	line text;
BEGIN
	EXECUTE format('CREATE INDEX items_v_idx ON items USING turboquant (v %s) WITH (bits = %s)',
				   opclass, bits);
	PERFORM set_config('turboquant.rerank', rerank::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v %s %L::tqvector LIMIT 10',
							   op, (SELECT v FROM queries LIMIT 1))
	LOOP
		plan := plan || line || E'\n';
	END LOOP;
	plan_uses_index := plan LIKE 'Limit%Index Scan using items_v_idx%';
	EXECUTE format($q$
		SELECT round(avg(cardinality(array(SELECT unnest(a.ids) INTERSECT SELECT unnest(e.%1$s)))) / 10, 3),
			   round(avg((a.ids = e.%1$s)::int), 3)
		FROM (SELECT qid, array(SELECT id FROM items ORDER BY v %2$s q.v LIMIT 10) AS ids
			  FROM queries q) a
		JOIN exact e USING (qid)$q$, col, op) INTO recall, exact_order;
	PERFORM set_config('enable_seqscan', 'on', true);
	DROP INDEX items_v_idx;
END $$;

SELECT opclass, bits, (r).plan_uses_index, (r).recall >= 0.98 AS recall_ok,
	   (r).exact_order >= 0.9 AS order_ok
FROM (VALUES ('tqvector_l2_ops'), ('tqvector_cosine_ops'), ('tqvector_ip_ops')) o(opclass),
	 (VALUES (2), (3), (4)) b(bits),
	 LATERAL (SELECT check_recall(opclass, bits, 200) AS r) c
ORDER BY 1, 2;

-- The codes themselves, where re-ranking cannot hide a broken kernel: with
-- rerank = 0 rows come in estimate order, and with rerank = 20 (the table is
-- 150 times larger) the candidates are still chosen by the estimates alone.
-- Floors sit 0.04-0.05 below what correct codes give on this seeded data
-- (measured recall@10 at rerank 0 / 20: cosine 0.388/0.644, 0.580/0.820,
-- 0.748/0.976; ip 0.680/0.928, 0.828/0.980, 0.876/1.000; l2 0.384/0.652,
-- 0.568/0.812, 0.780/0.972 for 2/3/4 bits).  An estimator that looks at only
-- the first 8 of the 48 rotated dimensions scores 0.04-0.34 and fails them all.
SELECT opclass, bits, rerank, (r).plan_uses_index, (r).recall >= floor AS recall_ok
FROM (VALUES ('tqvector_cosine_ops', 2, 0, 0.33), ('tqvector_cosine_ops', 2, 20, 0.60),
			 ('tqvector_cosine_ops', 3, 0, 0.53), ('tqvector_cosine_ops', 3, 20, 0.78),
			 ('tqvector_cosine_ops', 4, 0, 0.70), ('tqvector_cosine_ops', 4, 20, 0.93),
			 ('tqvector_ip_ops', 2, 0, 0.63), ('tqvector_ip_ops', 2, 20, 0.88),
			 ('tqvector_ip_ops', 3, 0, 0.78), ('tqvector_ip_ops', 3, 20, 0.94),
			 ('tqvector_ip_ops', 4, 0, 0.82), ('tqvector_ip_ops', 4, 20, 0.96),
			 ('tqvector_l2_ops', 2, 0, 0.33), ('tqvector_l2_ops', 2, 20, 0.61),
			 ('tqvector_l2_ops', 3, 0, 0.52), ('tqvector_l2_ops', 3, 20, 0.77),
			 ('tqvector_l2_ops', 4, 0, 0.73), ('tqvector_l2_ops', 4, 20, 0.93))
		AS f(opclass, bits, rerank, floor),
	 LATERAL (SELECT check_recall(opclass, bits, rerank) AS r) c
ORDER BY 1, 2, 3;

DROP TABLE items, centres, queries, exact;
DROP FUNCTION check_recall;
