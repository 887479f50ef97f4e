-- distance operators and element-wise arithmetic, against hand-checked values
-- a = [1,2,3], b = [4,-5,6]: a - b = [-3,7,-3], a.b = 4 - 10 + 18 = 12,
-- |a|^2 = 14, |b|^2 = 77
SELECT '[1,2,3]'::tqvector <-> '[4,-5,6]' AS l2,			-- sqrt(67)
       sqrt(67::float8) AS l2_expected,
       '[1,2,3]'::tqvector <#> '[4,-5,6]' AS neg_ip,		-- -12
       '[1,2,3]'::tqvector <=> '[4,-5,6]' AS cosine,		-- 1 - 12/sqrt(14*77)
       1 - 12 / sqrt(14 * 77::float8) AS cosine_expected,
       '[1,2,3]'::tqvector <+> '[4,-5,6]' AS l1;			-- 3 + 7 + 3
SELECT l2_distance('[1,2,3]', '[4,-5,6]'::tqvector),
       tqvector_l2_squared_distance('[1,2,3]', '[4,-5,6]'::tqvector),
       inner_product('[1,2,3]', '[4,-5,6]'::tqvector),
       tqvector_negative_inner_product('[1,2,3]', '[4,-5,6]'::tqvector),
       cosine_distance('[1,2,3]', '[4,-5,6]'::tqvector),
       l1_distance('[1,2,3]', '[4,-5,6]'::tqvector);
-- the 3-4-5 triangle, and distances to self
SELECT '[0,0]'::tqvector <-> '[3,4]', '[3,4]'::tqvector <-> '[3,4]',
       '[3,4]'::tqvector <=> '[3,4]', '[3,4]'::tqvector <=> '[6,8]';
-- cosine: orthogonal 1, opposite 2, zero vector NaN (pgvector semantics)
SELECT '[1,0]'::tqvector <=> '[0,1]' AS orthogonal,
       '[1,1]'::tqvector <=> '[-2,-2]' AS opposite,
       '[0,0]'::tqvector <=> '[1,2]' AS zero_left,
       '[1,2]'::tqvector <=> '[0,0]' AS zero_right;
-- symmetric operators are their own commutators
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprleft = 'tqvector'::regtype AND oprname IN ('<->', '<=>', '<#>', '<+>', '+', '*', '-', '||')
ORDER BY oprname;
-- distance functions are immutable, strict and parallel safe
SELECT proname, provolatile, proisstrict, proparallel FROM pg_proc
WHERE proname IN ('l2_distance', 'inner_product', 'cosine_distance', 'l1_distance',
                  'tqvector_negative_inner_product', 'tqvector_l2_squared_distance')
  AND proargtypes[0] = 'tqvector'::regtype
ORDER BY proname;
-- ORDER BY distance
CREATE TABLE tqv_ops (id int, v tqvector(2));
INSERT INTO tqv_ops VALUES (1, '[1,1]'), (2, '[2,2]'), (3, '[-1,0]'), (4, '[0,3]');
SELECT id, round((v <-> '[1,1]')::numeric, 4) AS dist FROM tqv_ops ORDER BY v <-> '[1,1]', id;
SELECT id, v <#> '[1,1]' AS neg_ip FROM tqv_ops ORDER BY v <#> '[1,1]', id;
SELECT id, round((v <=> '[1,1]')::numeric, 4) AS cos FROM tqv_ops ORDER BY v <=> '[1,1]', id;
DROP TABLE tqv_ops;

-- element-wise arithmetic and concatenation
SELECT '[1,2,3]'::tqvector + '[4,-5,6]' AS sum,
       '[1,2,3]'::tqvector - '[4,-5,6]' AS difference,
       '[1,2,3]'::tqvector * '[4,-5,6]' AS product,
       '[1,2,3]'::tqvector || '[4,-5,6]' AS concatenation;
SELECT '[0.1]'::tqvector + '[0.2]' AS float_sum,		-- float arithmetic: 0.3 rounded
       '[3e38]'::tqvector - '[3e38]' AS zero,
       '[0,-1]'::tqvector * '[-1,0]' AS signed_zeros,
       '[1e-20]'::tqvector * '[1e-20]' AS small;
-- NULL in, NULL out
SELECT '[1]'::tqvector + NULL IS NULL, NULL::tqvector <-> '[1]' IS NULL;
