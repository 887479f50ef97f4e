-- vector functions
SELECT vector_dims('[1,2,3]'::tqvector), vector_dims('[0]'::tqvector);
-- l2_norm in double precision; vector_norm is pgvector's name for it
SELECT l2_norm('[3,4]'::tqvector), vector_norm('[3,4]'::tqvector),
       l2_norm('[0,0,0]'::tqvector), l2_norm('[1,1,1,1]'::tqvector),
       l2_norm('[3e38,3e38]'::tqvector) AS beyond_float_range;
SELECT pg_typeof(l2_norm('[1]'::tqvector));

-- l2_normalize: unit length; the zero vector stays zero (pgvector)
SELECT l2_normalize('[3,4]'::tqvector), l2_normalize('[0,-2,0]'::tqvector),
       l2_normalize('[0,0]'::tqvector) AS zero;
SELECT l2_normalize('[3e38,3e38]'::tqvector) AS large,
       l2_normalize('[1e-45,1e-45]'::tqvector) AS subnormal;
SELECT round(l2_norm(l2_normalize('[1,2,3,4,5]'::tqvector))::numeric, 6);

-- subvector(v, start, count): 1-based, clipped like substring(); empty is an error
SELECT subvector('[1,2,3,4,5]'::tqvector, 1, 3) AS head,
       subvector('[1,2,3,4,5]'::tqvector, 3, 2) AS middle,
       subvector('[1,2,3,4,5]'::tqvector, 5, 1) AS last,
       subvector('[1,2,3,4,5]'::tqvector, 1, 5) AS whole;
SELECT subvector('[1,2,3,4,5]'::tqvector, 4, 10) AS past_end,
       subvector('[1,2,3,4,5]'::tqvector, 0, 2) AS before_start,
       subvector('[1,2,3,4,5]'::tqvector, -1, 10) AS both;
SELECT subvector('[1,2,3]'::tqvector, 4, 1);
SELECT subvector('[1,2,3]'::tqvector, 1, 0);
SELECT subvector('[1,2,3]'::tqvector, 2, -1);
SELECT subvector('[1,2,3]'::tqvector, -5, 3);
SELECT subvector('[1,2,3]'::tqvector, 2147483647, 2147483647);
SELECT subvector('[1,2,3]'::tqvector, -2147483648, 2147483647);
SELECT subvector('[1,2,3]'::tqvector, 2, 2147483647);
