-- The turboquant index access method.

CREATE FUNCTION tqhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD turboquant TYPE INDEX HANDLER tqhandler;

COMMENT ON ACCESS METHOD turboquant IS 'TurboQuant: 2-4 bit quantized vector index with exact re-ranking';

-- Support function 1: the metric the index scores with.
CREATE FUNCTION tqvector_l2_metric(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_cosine_metric(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION tqvector_ip_metric(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- L2 is the default, as in pgvector.
CREATE OPERATOR CLASS tqvector_l2_ops
	DEFAULT FOR TYPE tqvector USING turboquant AS
	OPERATOR 1 <-> (tqvector, tqvector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_l2_metric(internal);

CREATE OPERATOR CLASS tqvector_cosine_ops
	FOR TYPE tqvector USING turboquant AS
	OPERATOR 1 <=> (tqvector, tqvector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_cosine_metric(internal);

CREATE OPERATOR CLASS tqvector_ip_ops
	FOR TYPE tqvector USING turboquant AS
	OPERATOR 1 <#> (tqvector, tqvector) FOR ORDER BY float_ops,
	FUNCTION 1 tqvector_ip_metric(internal);

-- Checks an index's pages and that every visible table row is in it once
-- (with verify_codes, also that each row encodes to the stored codes);
-- raises an error on corruption, returns the number of index entries.
-- Like amcheck's functions it is not for everyone: an administrator grants
-- EXECUTE, and the caller needs SELECT on the table.  Index expressions run
-- as the table's owner in a security-restricted operation.
CREATE FUNCTION tq_index_check(index regclass, verify_codes boolean DEFAULT false)
	RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION tq_index_check(regclass, boolean) FROM PUBLIC;

-- The shape of an index: lists, rows per list, rows now and at build, size.
CREATE FUNCTION tq_index_stats(index regclass, OUT lists int, OUT rows bigint,
							   OUT built_rows bigint, OUT min_list_rows bigint,
							   OUT avg_list_rows float8, OUT max_list_rows bigint,
							   OUT empty_lists int, OUT pages bigint, OUT bits int,
							   OUT dims int, OUT format int)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION tq_index_stats(regclass) FROM PUBLIC;
