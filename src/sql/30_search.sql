
-- ---------------------------------------------------------------------------
-- top-k over the partitions of a table (docs/sharding.md)
-- ---------------------------------------------------------------------------

-- The query text of a top-k search over every leaf partition of a table:
--   WITH hits (c1, ..., d) AS MATERIALIZED (
--       (SELECT cols, col <op> $1::type FROM part1 ORDER BY col <op> $1::type LIMIT k)
--       UNION ALL ...)
--   SELECT c1 AS col1, ... FROM hits ORDER BY d LIMIT k
-- One ORDER BY ... LIMIT k per partition is what postgres_fdw sends to a
-- shard as it is; the CTE keeps the branches in a plain Append, which runs
-- foreign partitions concurrently (a Merge Append would not).  cols are the
-- table's columns in order; every name is quoted and schema-qualified.  It
-- only reads the catalogs: the caller runs the text with its own rights.
CREATE FUNCTION tq_search_query(tbl regclass, column_name name, k integer, operator text DEFAULT '<=>')
	RETURNS text
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kind "char";
	coltype oid;
	opschema name;
	cols text;
	cte_cols text;
	out_cols text;
	ord text;
	branches text;
BEGIN
	IF tbl IS NULL OR column_name IS NULL OR k IS NULL OR operator IS NULL THEN
		RAISE EXCEPTION 'tq_search_query arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', k USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF operator NOT IN ('<->', '<=>', '<#>', '<+>') THEN
		RAISE EXCEPTION 'operator must be one of <->, <=>, <#>, <+>, not "%"', operator
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = tbl;
	IF kind IS NULL OR kind NOT IN ('r', 'p', 'f') THEN
		RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type';
	END IF;
	SELECT a.atttypid INTO coltype
		FROM pg_attribute a
		WHERE a.attrelid = tbl AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
	IF coltype IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, tbl
			USING ERRCODE = 'undefined_column';
	END IF;
	-- only the operator that lives beside the column's type (the extension
	-- that made the type made its operators): one that anybody else created
	-- in another schema is never run with the caller's rights
	SELECT n.nspname INTO opschema
		FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
			 JOIN pg_type t ON t.oid = coltype
		WHERE o.oprname = operator AND o.oprleft = coltype AND o.oprright = coltype
			  AND o.oprnamespace = t.typnamespace;
	IF opschema IS NULL THEN
		RAISE EXCEPTION 'operator does not exist: % % %', format_type(coltype, NULL), operator,
			format_type(coltype, NULL) USING ERRCODE = 'undefined_function';
	END IF;

	-- the table's columns, and the CTE's own names for them (c1, c2, ..., then
	-- d for the distance: no clash with any column name)
	SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
		   string_agg(format('c%s', a.n), ', ' ORDER BY a.n),
		   string_agg(format('c%s AS %I', a.n, a.attname), ', ' ORDER BY a.n)
		INTO cols, cte_cols, out_cols
		FROM (SELECT attname, attnum, row_number() OVER (ORDER BY attnum) AS n
			  FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped) a;
	-- $1 cast to the column's base type (no typmod: a typmod check would be
	-- one more function for postgres_fdw to ship)
	ord := format('%I OPERATOR(%I.%s) $1::%s', column_name, opschema, operator, format_type(coltype, NULL));
	-- leaf partitions (the table itself when it has none), in a stable order;
	-- each branch returns its distance too, so that it is a plain scan that
	-- postgres_fdw sends whole (no Subquery Scan above it)
	SELECT string_agg(format('(SELECT %s, %s FROM %I.%I ORDER BY %s LIMIT %s)', cols, ord, n.nspname, c.relname, ord, k),
					  E'\n    UNION ALL\n    ' ORDER BY n.nspname, c.relname) INTO branches
		FROM pg_partition_tree(tbl) t
		JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE t.isleaf AND c.relkind IN ('r', 'f');
	IF branches IS NULL THEN
		-- a partitioned table without partitions: an empty answer
		SELECT format('(SELECT %s, %s FROM %I.%I ORDER BY %s LIMIT %s)', cols, ord, n.nspname, c.relname, ord, k)
			INTO branches
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	END IF;
	RETURN format(E'WITH hits (%s, d) AS MATERIALIZED (\n    %s\n)\nSELECT %s FROM hits ORDER BY d LIMIT %s',
				  cte_cols, branches, out_cols, k);
END
$$;

-- Runs tq_search_query for the table whose row type the first argument
-- names (NULL::docs) with the query vector as $1, with the caller's rights;
-- returns the k nearest rows, nearest first.  (No fixed search_path: it finds
-- tq_search_query where the caller finds the extension's operators.)
CREATE FUNCTION tq_search(tbl_row anyelement, column_name name, query anycompatible, k integer,
						  operator text DEFAULT '<=>')
	RETURNS SETOF anyelement
	LANGUAGE plpgsql STABLE
AS $$
DECLARE
	tbl oid;
BEGIN
	SELECT t.typrelid INTO tbl FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.pg_typeof(tbl_row);
	IF tbl IS NULL OR tbl = 0 THEN
		RAISE EXCEPTION 'tq_search needs a table''s row type as its first argument (NULL::table), not %',
			pg_catalog.pg_typeof(tbl_row) USING ERRCODE = 'wrong_object_type';
	END IF;
	IF query IS NULL THEN
		RAISE EXCEPTION 'tq_search arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN QUERY EXECUTE tq_search_query(tbl::pg_catalog.regclass, column_name, k, operator) USING query;
END
$$;
