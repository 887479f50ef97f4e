
-- ---------------------------------------------------------------------------
-- tqvector: the vector type (pgvector's text form, binary form and semantics)
-- ---------------------------------------------------------------------------

CREATE TYPE tqvector;

CREATE FUNCTION tqvector_in(cstring, oid, integer) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_out(tqvector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_typmod_out(integer) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_recv(internal, oid, integer) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_send(tqvector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE main keeps vectors in the row up to about 2,000 dimensions (moved
-- out of line only when the row would not fit a page): the index re-ranks by
-- fetching rows, and an out-of-line vector costs a TOAST index lookup.
-- Floats rarely compress; pglz gives up on them after its first kilobyte.
CREATE TYPE tqvector (
	INPUT = tqvector_in,
	OUTPUT = tqvector_out,
	TYPMOD_IN = tqvector_typmod_in,
	TYPMOD_OUT = tqvector_typmod_out,
	RECEIVE = tqvector_recv,
	SEND = tqvector_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = main
);

COMMENT ON TYPE tqvector IS 'vector of 1 to 16000 finite float4 values, pgvector text form [1,2,3]';

-- ---------------------------------------------------------------------------
-- casts
-- ---------------------------------------------------------------------------

CREATE FUNCTION tqvector(tqvector, integer, boolean) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_tqvector(integer[], integer, boolean) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_tqvector(real[], integer, boolean) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_tqvector(double precision[], integer, boolean) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_tqvector(numeric[], integer, boolean) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_to_float4(tqvector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (tqvector AS tqvector)
	WITH FUNCTION tqvector(tqvector, integer, boolean) AS IMPLICIT;
CREATE CAST (tqvector AS real[])
	WITH FUNCTION tqvector_to_float4(tqvector, integer, boolean) AS IMPLICIT;
CREATE CAST (integer[] AS tqvector)
	WITH FUNCTION array_to_tqvector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS tqvector)
	WITH FUNCTION array_to_tqvector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS tqvector)
	WITH FUNCTION array_to_tqvector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS tqvector)
	WITH FUNCTION array_to_tqvector(numeric[], integer, boolean) AS ASSIGNMENT;

-- ---------------------------------------------------------------------------
-- distance functions (shared kernels with the index's exact re-ranking)
-- ---------------------------------------------------------------------------

-- Distance functions cost COST 25: a detoast and hundreds of multiply-adds,
-- not one operator call; the planner needs that to weigh a sequential scan
-- that computes N of them against an index that computes a few hundred.
CREATE FUNCTION l2_distance(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;
CREATE FUNCTION tqvector_l2_squared_distance(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;
CREATE FUNCTION inner_product(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;
CREATE FUNCTION tqvector_negative_inner_product(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;
CREATE FUNCTION cosine_distance(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;
CREATE FUNCTION l1_distance(tqvector, tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 25;

CREATE OPERATOR <-> (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = l2_distance,
	COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_negative_inner_product,
	COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = cosine_distance,
	COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = l1_distance,
	COMMUTATOR = '<+>'
);

-- ---------------------------------------------------------------------------
-- other functions
-- ---------------------------------------------------------------------------

CREATE FUNCTION vector_dims(tqvector) RETURNS integer
	AS 'MODULE_PATHNAME', 'tqvector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_norm(tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(tqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'tqvector_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(tqvector) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION subvector(tqvector, integer, integer) RETURNS tqvector
	AS 'MODULE_PATHNAME', 'tqvector_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------------------
-- element-wise arithmetic and concatenation
-- ---------------------------------------------------------------------------

CREATE FUNCTION tqvector_add(tqvector, tqvector) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_sub(tqvector, tqvector) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_mul(tqvector, tqvector) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_concat(tqvector, tqvector) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR + (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_add,
	COMMUTATOR = +
);
CREATE OPERATOR - (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_sub
);
CREATE OPERATOR * (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_mul,
	COMMUTATOR = *
);
CREATE OPERATOR || (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_concat
);

-- ---------------------------------------------------------------------------
-- aggregates: state {n, sum_1, ..., sum_dim} in double precision
-- ---------------------------------------------------------------------------

CREATE FUNCTION tqvector_accum(double precision[], tqvector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_avg(double precision[]) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_sum_final(double precision[]) RETURNS tqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(tqvector) (
	SFUNC = tqvector_accum,
	STYPE = double precision[],
	FINALFUNC = tqvector_avg,
	COMBINEFUNC = tqvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);
CREATE AGGREGATE sum(tqvector) (
	SFUNC = tqvector_accum,
	STYPE = double precision[],
	FINALFUNC = tqvector_sum_final,
	COMBINEFUNC = tqvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

-- ---------------------------------------------------------------------------
-- comparison: btree (ORDER BY, DISTINCT, UNIQUE) and hash operator classes
-- ---------------------------------------------------------------------------

CREATE FUNCTION tqvector_lt(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_le(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_eq(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_ne(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_ge(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_gt(tqvector, tqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_cmp(tqvector, tqvector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_hash(tqvector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_hash_extended(tqvector, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_lt,
	COMMUTATOR = >, NEGATOR = >=,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_le,
	COMMUTATOR = >=, NEGATOR = >,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_eq,
	COMMUTATOR = =, NEGATOR = <>,
	RESTRICT = eqsel, JOIN = eqjoinsel,
	HASHES, MERGES
);
CREATE OPERATOR <> (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_ne,
	COMMUTATOR = <>, NEGATOR = =,
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_ge,
	COMMUTATOR = <=, NEGATOR = <,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
	LEFTARG = tqvector, RIGHTARG = tqvector, FUNCTION = tqvector_gt,
	COMMUTATOR = <, NEGATOR = <=,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS tqvector_ops
	DEFAULT FOR TYPE tqvector USING btree AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >,
	FUNCTION 1 tqvector_cmp(tqvector, tqvector);

CREATE OPERATOR CLASS tqvector_ops
	DEFAULT FOR TYPE tqvector USING hash AS
	OPERATOR 1 =,
	FUNCTION 1 tqvector_hash(tqvector),
	FUNCTION 2 tqvector_hash_extended(tqvector, bigint);
