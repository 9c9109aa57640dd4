-- The event triggers: DDL in the extension's database is audited, and the
-- tenancy schema changes only through extension scripts.
\set VERBOSITY terse
CREATE TABLE public.regress_et (id int);
ALTER TABLE public.regress_et ADD COLUMN note text;
CREATE INDEX regress_et_idx ON public.regress_et (id);
DROP TABLE public.regress_et;
SELECT operation, step, phase, object_type, object_name, statement
FROM tenancy.audit_log WHERE phase = 'ddl' ORDER BY id;

-- secrets in DDL are redacted before they are recorded
CREATE FOREIGN DATA WRAPPER regress_fdw;
CREATE SERVER regress_srv FOREIGN DATA WRAPPER regress_fdw
    OPTIONS (dsn 'host=db password=hunter2');
CREATE USER MAPPING FOR postgres SERVER regress_srv OPTIONS (user 'x', password 'hunter2');
ALTER USER MAPPING FOR postgres SERVER regress_srv OPTIONS (SET password E'escaped2');
ALTER USER MAPPING FOR postgres SERVER regress_srv OPTIONS (SET password $$dollar3$$);
ALTER USER MAPPING FOR postgres SERVER regress_srv OPTIONS (SET "password" 'quoted4');
ALTER USER MAPPING FOR postgres SERVER regress_srv OPTIONS (SET password /* c */ 'comment5');
ALTER SERVER regress_srv OPTIONS (SET dsn 'host=x password = spaced6');
COMMENT ON SERVER regress_srv IS 'the password is hunter7';
COMMENT ON FOREIGN DATA WRAPPER regress_fdw IS 'kept as it is';
SELECT step, statement FROM tenancy.audit_log
WHERE phase = 'ddl' AND (step LIKE '%SERVER' OR step LIKE '%USER MAPPING' OR step = 'COMMENT')
ORDER BY id;
SELECT count(*) AS leaked FROM tenancy.audit_log
WHERE statement ~ '(hunter|escaped|dollar|quoted|comment|spaced)[0-9]';
DROP SERVER regress_srv CASCADE;
DROP FOREIGN DATA WRAPPER regress_fdw;

-- every kind of token goes through the redactor: numbers, casts, operators
CREATE TABLE public.regress_et2 (a varchar(10), b numeric(5, 2) DEFAULT 1.5::numeric * 2,
                                 c int CHECK (c > -1), d text DEFAULT E'x\ty');
DROP TABLE public.regress_et2;
-- a text that scans differently now than when it was parsed (the SET runs
-- after the whole string was parsed) is not shown, and the DDL still works
SET escape_string_warning = off \; SET standard_conforming_strings = off \; COMMENT ON SCHEMA public IS 'a\';
RESET standard_conforming_strings;
RESET escape_string_warning;
SELECT obj_description('public'::regnamespace, 'pg_namespace') AS comment;
COMMENT ON SCHEMA public IS 'standard public schema';
SELECT step, statement FROM tenancy.audit_log
WHERE phase = 'ddl' AND (object_name LIKE 'public.regress_et2%' OR step = 'COMMENT')
ORDER BY id DESC LIMIT 4;

-- the extension's own objects are out of reach, for superusers too
ALTER TABLE tenancy.audit_log ADD COLUMN forged text;
ALTER TABLE tenancy.audit_log DISABLE TRIGGER ALL;
DROP TABLE tenancy.registry;
DROP TABLE tenancy.audit_log CASCADE;
CREATE INDEX ON tenancy.audit_log (message);
CREATE TABLE tenancy.extra (id int);
COMMENT ON TABLE tenancy.registry IS 'forged';
DROP FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text);
ALTER FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text) SECURITY DEFINER;
DROP SCHEMA tenancy CASCADE;
-- nor are the registry and the audit log dropped with the extension, or
-- with what its owner owns, while tenants exist
\set VERBOSITY default
DROP EXTENSION aurora_tenancy;
DROP EXTENSION IF EXISTS plpgsql, aurora_tenancy CASCADE;
DROP OWNED BY postgres;
\set VERBOSITY terse
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'tenancy';
-- the deliberate way is a superuser's alone
CREATE ROLE regress_dropper;
SET ROLE regress_dropper;
SET tenancy.allow_drop_extension = on;
RESET ROLE;
DROP ROLE regress_dropper;
-- and a refused change leaves no audit row
SELECT count(*) AS refused_rows FROM tenancy.audit_log
WHERE phase = 'ddl' AND object_name LIKE 'tenancy.%';

-- what a step's worker reports on the way (notices, warnings) reaches the
-- caller, with where it came from
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_e9', ARRAY['db1'], iam_auth => false);
\c regress_e9_db1
CREATE FUNCTION public.regress_notice() RETURNS event_trigger LANGUAGE plpgsql
AS $$BEGIN RAISE NOTICE 'event trigger saw %', tg_tag; END$$;
CREATE EVENT TRIGGER regress_notice ON ddl_command_end WHEN TAG IN ('GRANT', 'REVOKE')
	EXECUTE FUNCTION public.regress_notice();
GRANT CREATE ON SCHEMA public TO PUBLIC;
\c regression
\set VERBOSITY default
\set SHOW_CONTEXT always
SELECT tenancy.repair('regress_e9');
\set SHOW_CONTEXT errors
\set VERBOSITY terse
