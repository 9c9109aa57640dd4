-- SQL the extension runs as its owner or inside tenant databases never
-- looks up names where a user can put objects: neither the caller's
-- search_path nor pg_temp nor a tenant's schema public.
\set VERBOSITY terse

-- 1. any role with TEMP: a temporary type shadowing uuid, met by the audit
--    insert the event trigger does as the owner
CREATE ROLE regress_sneaky LOGIN;
SET SESSION AUTHORIZATION regress_sneaky;
CREATE FUNCTION pg_temp.escalate(anyelement) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN EXECUTE 'ALTER ROLE regress_sneaky SUPERUSER'; RETURN true; END $$;
CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid CHECK (pg_temp.escalate(VALUE));
CREATE DOMAIN pg_temp.inet AS pg_catalog.inet CHECK (pg_temp.escalate(VALUE));
CREATE TEMP TABLE regress_sneaky_t (id int);
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sneaky';

-- 2. an admin's own search_path: an operator that would run as the owner
CREATE ROLE regress_admin2 LOGIN CREATEROLE CREATEDB;
GRANT CREATE ON DATABASE regression TO regress_admin2;
GRANT USAGE ON SCHEMA tenancy TO regress_admin2;
GRANT EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text) TO regress_admin2;
SET SESSION AUTHORIZATION regress_admin2;
CREATE SCHEMA regress_evil;
CREATE FUNCTION regress_evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN
	IF current_user <> session_user THEN
		EXECUTE format('ALTER ROLE %I SUPERUSER', session_user);
	END IF;
	RETURN pg_catalog.texteq($1, $2);
END $$;
CREATE OPERATOR regress_evil.= (leftarg = text, rightarg = text, function = regress_evil.texteq);
SET search_path = regress_evil, pg_catalog;
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_sp1', ARRAY['db1'], iam_auth => false);
RESET search_path;
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_admin2';

-- 3. a tenant's own schema public: an aggregate that a guard would call
\c regress_sp1_db1
SET ROLE regress_sp1;
CREATE FUNCTION public.escalate_sf(bigint, text) RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN EXECUTE 'ALTER ROLE regress_sp1 SUPERUSER'; RETURN coalesce($1, 0) + 1; END $$;
CREATE AGGREGATE public.count(text) (sfunc = public.escalate_sf, stype = bigint, initcond = '0');
RESET ROLE;
\c regression
SELECT changes FROM tenancy.onboard('regress_sp1', ARRAY['db1'], iam_auth => false);
SELECT count(*) AS problems FROM tenancy.check('regress_sp1');
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sp1';
