-- turboquant_pgvector: the turboquant index on pgvector's own columns.
-- Needs pgvector (vector, halfvec and their operators) and turboquant (the
-- access method and tqvector); the C functions live in turboquant's module.
\echo Use "CREATE EXTENSION turboquant_pgvector" to load this file. \quit

-- ---------------------------------------------------------------------------
-- conversions, used by the casts and by the operator classes (function 2)
-- ---------------------------------------------------------------------------

CREATE FUNCTION vector_to_tqvector(vector) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION halfvec_to_tqvector(halfvec) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_to_vector(tqvector) RETURNS vector
	AS 'MODULE_PATHNAME', 'tqvector_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_to_halfvec(tqvector) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'tqvector_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Assignment casts: INSERT and ALTER TABLE ... ALTER COLUMN ... TYPE convert
-- without USING; expressions still need an explicit ::tqvector, so no
-- operator becomes ambiguous.  The target's typmod (tqvector(1536),
-- vector(1536)) is checked by the type's own length coercion afterwards.
CREATE CAST (vector AS tqvector) WITH FUNCTION vector_to_tqvector(vector) AS ASSIGNMENT;
CREATE CAST (halfvec AS tqvector) WITH FUNCTION halfvec_to_tqvector(halfvec) AS ASSIGNMENT;
CREATE CAST (tqvector AS vector) WITH FUNCTION tqvector_to_vector(tqvector) AS ASSIGNMENT;
CREATE CAST (tqvector AS halfvec) WITH FUNCTION tqvector_to_halfvec(tqvector) AS ASSIGNMENT;

-- ---------------------------------------------------------------------------
-- turboquant operator classes with pgvector's operators.  The index codes
-- the value converted to tqvector; re-ranking calls the operator's own
-- function (pgvector's) on the column's value, so an index scan returns the
-- distances a sequential scan computes.  L2 is the default, as in pgvector.
-- ---------------------------------------------------------------------------

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING turboquant AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_l2_metric(internal),
	FUNCTION 2 vector_to_tqvector(vector);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING turboquant AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_cosine_metric(internal),
	FUNCTION 2 vector_to_tqvector(vector);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING turboquant AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_ip_metric(internal),
	FUNCTION 2 vector_to_tqvector(vector);

CREATE OPERATOR CLASS halfvec_l2_ops
	DEFAULT FOR TYPE halfvec USING turboquant AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_l2_metric(internal),
	FUNCTION 2 halfvec_to_tqvector(halfvec);

CREATE OPERATOR CLASS halfvec_cosine_ops
	FOR TYPE halfvec USING turboquant AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_cosine_metric(internal),
	FUNCTION 2 halfvec_to_tqvector(halfvec);

CREATE OPERATOR CLASS halfvec_ip_ops
	FOR TYPE halfvec USING turboquant AS
	OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_ip_metric(internal),
	FUNCTION 2 halfvec_to_tqvector(halfvec);
