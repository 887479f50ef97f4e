-- Who may run tq_index_check, and with whose rights the table owner's code
-- runs during the check (index expressions, partial-index predicates).
SET client_min_messages = warning;
CREATE ROLE regress_tq_owner;
CREATE ROLE regress_tq_checker;
CREATE ROLE regress_tq_nobody;
CREATE SCHEMA tq_sec AUTHORIZATION regress_tq_owner;
GRANT USAGE ON SCHEMA tq_sec TO regress_tq_checker, regress_tq_nobody;

-- The owner's trap: an IMMUTABLE function (usable in an index) calling a
-- VOLATILE one that logs who runs it and, when that role is a superuser,
-- makes the owner a superuser too.
SET ROLE regress_tq_owner;
CREATE TABLE tq_sec.who_ran (who name, sro_blocked bool);
CREATE FUNCTION tq_sec.trap(v tqvector) RETURNS tqvector LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	blocked bool := false;
BEGIN
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER ROLE regress_tq_owner SUPERUSER;
	END IF;
	-- a security-restricted operation refuses to create temporary objects
	BEGIN
		CREATE TEMP TABLE tq_trap_probe (x int);
		DROP TABLE tq_trap_probe;
	EXCEPTION WHEN insufficient_privilege THEN
		blocked := true;
	END;
	INSERT INTO tq_sec.who_ran VALUES (current_user, blocked);
	-- a setting changed by the owner's code must not outlive the check
	PERFORM set_config('work_mem', '1234kB', false);
	IF current_setting('tq_sec.fail', true) = 'on' THEN
		RAISE EXCEPTION 'the owner''s code fails';
	END IF;
	RETURN v;
END $$;
CREATE FUNCTION tq_sec.shown(v tqvector) RETURNS tqvector LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN tq_sec.trap(v);
END $$;
CREATE TABLE tq_sec.items (id int, v tqvector(3));
INSERT INTO tq_sec.items SELECT i, ARRAY[i, i % 7, 1]::tqvector FROM generate_series(1, 50) i;
CREATE INDEX items_expr_idx ON tq_sec.items USING turboquant (tq_sec.shown(v));
CREATE INDEX items_partial_idx ON tq_sec.items USING turboquant (v)
	WHERE tq_sec.shown(v) IS NOT NULL;
RESET ROLE;

-- 1. EXECUTE is not granted to PUBLIC
SELECT has_function_privilege('regress_tq_nobody', 'tq_index_check(regclass, boolean)', 'EXECUTE')
	AS public_may_execute;
SET ROLE regress_tq_nobody;
SELECT tq_index_check('tq_sec.items_expr_idx');
RESET ROLE;

-- 2. EXECUTE granted, but no SELECT on the table: a clear error, no lock taken
GRANT EXECUTE ON FUNCTION tq_index_check(regclass, boolean) TO regress_tq_checker;
SET ROLE regress_tq_checker;
\set VERBOSITY default
SELECT tq_index_check('tq_sec.items_expr_idx');
RESET ROLE;

-- 3. With SELECT: the check works, and the owner's code runs as the owner
GRANT SELECT ON tq_sec.items TO regress_tq_checker;
TRUNCATE tq_sec.who_ran;
SET ROLE regress_tq_checker;
SELECT tq_index_check('tq_sec.items_expr_idx') AS expr_entries,
	   tq_index_check('tq_sec.items_partial_idx', verify_codes => true) AS partial_entries;
RESET ROLE;
SELECT who, sro_blocked, count(*) FROM tq_sec.who_ran GROUP BY 1, 2 ORDER BY 1, 2;

-- 4. The superuser runs the check: the owner's code still runs as the owner,
--    restricted, and cannot make itself a superuser
TRUNCATE tq_sec.who_ran;
SELECT tq_index_check('tq_sec.items_expr_idx') AS expr_entries,
	   tq_index_check('tq_sec.items_partial_idx', verify_codes => true) AS partial_entries;
SELECT who, sro_blocked, count(*) FROM tq_sec.who_ran GROUP BY 1, 2 ORDER BY 1, 2;
SELECT rolsuper AS owner_became_superuser FROM pg_roles WHERE rolname = 'regress_tq_owner';
-- the caller's identity and settings are back after the check, and after
-- a check the owner's code made fail
SELECT current_user = session_user AS identity_restored,
	   current_setting('work_mem') <> '1234kB' AS settings_restored;
SET tq_sec.fail = on;
SELECT tq_index_check('tq_sec.items_expr_idx');
RESET tq_sec.fail;
SELECT current_user = session_user AS identity_restored,
	   current_setting('work_mem') <> '1234kB' AS settings_restored;
SELECT tq_index_check('tq_sec.who_ran');
-- a partitioned index has no pages of its own: each partition's is checked
CREATE TABLE tq_sec.parted (id int, v tqvector(3)) PARTITION BY RANGE (id);
CREATE TABLE tq_sec.parted_1 PARTITION OF tq_sec.parted FOR VALUES FROM (0) TO (100);
INSERT INTO tq_sec.parted SELECT i, ARRAY[i, 1, 1]::tqvector FROM generate_series(0, 99) i;
CREATE INDEX parted_idx ON tq_sec.parted USING turboquant (v);
SELECT tq_index_check('tq_sec.parted_idx');
SELECT tq_index_check('tq_sec.parted_1_v_idx', verify_codes => true);

DROP SCHEMA tq_sec CASCADE;
REVOKE EXECUTE ON FUNCTION tq_index_check(regclass, boolean) FROM regress_tq_checker;
DROP ROLE regress_tq_owner, regress_tq_checker, regress_tq_nobody;
