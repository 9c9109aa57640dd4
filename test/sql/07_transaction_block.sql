-- Like CREATE DATABASE, onboard refuses to run inside a transaction block.
\set VERBOSITY default
BEGIN;
SELECT * FROM tenancy.onboard('regress_x1', ARRAY['db1']);
ROLLBACK;
-- an implicit block (several statements in one query string) too
SELECT 1 AS first \; SELECT * FROM tenancy.onboard('regress_x1', ARRAY['db1']);
\set VERBOSITY terse
START TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM tenancy.onboard('regress_x1', ARRAY['db1']);
ROLLBACK;
-- nor in a subtransaction (a DO block with an exception handler)
DO $$
BEGIN
	PERFORM tenancy.onboard('regress_x1', ARRAY['db1']);
EXCEPTION WHEN division_by_zero THEN NULL;
END
$$;
-- nothing happened
SELECT count(*) AS roles FROM pg_roles WHERE rolname = 'regress_x1';
SELECT count(*) AS tenants FROM tenancy.tenants WHERE name = 'regress_x1';
-- and on its own it works
SELECT databases, changes > 0 AS changed FROM tenancy.onboard('regress_x1', ARRAY['db1']);
