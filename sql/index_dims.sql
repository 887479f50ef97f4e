-- A query vector of the wrong dimension: the same error through the index as
-- through a sequential scan (the plan must not change a query's answer, nor
-- its error).
SET client_min_messages = warning;
CREATE TABLE dims (id int, v tqvector(3));
INSERT INTO dims SELECT i, ARRAY[i, i % 5, 1]::tqvector FROM generate_series(1, 500) i;
CREATE INDEX dims_idx ON dims USING turboquant (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dims ORDER BY v <-> '[1,2]' LIMIT 1;
SELECT id FROM dims ORDER BY v <-> '[1,2]' LIMIT 1;
RESET enable_seqscan;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dims ORDER BY v <-> '[1,2]' LIMIT 1;
SELECT id FROM dims ORDER BY v <-> '[1,2]' LIMIT 1;
RESET enable_indexscan;
-- and for every opclass
CREATE INDEX dims_ip ON dims USING turboquant (v tqvector_ip_ops);
CREATE INDEX dims_cos ON dims USING turboquant (v tqvector_cosine_ops);
SET enable_seqscan = off;
SELECT id FROM dims ORDER BY v <#> '[1,2,3,4]' LIMIT 1;
SELECT id FROM dims ORDER BY v <=> '[1]' LIMIT 1;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT id FROM dims ORDER BY v <#> '[1,2,3,4]' LIMIT 1;
SELECT id FROM dims ORDER BY v <=> '[1]' LIMIT 1;
RESET enable_indexscan;
DROP TABLE dims;
