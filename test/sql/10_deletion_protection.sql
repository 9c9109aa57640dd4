-- Deletion protection: every tenant starts protected; what would delete is
-- refused while it is on.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_p1', ARRAY['db1', 'db2'], iam_auth => false);
SELECT deletion_protection FROM tenancy.tenants WHERE name = 'regress_p1';

\set VERBOSITY default
SELECT * FROM tenancy.offboard('regress_p1');
SELECT tenancy.remove_database('regress_p1', 'db2');
\set VERBOSITY terse
SELECT count(*) AS databases FROM pg_database WHERE datname LIKE 'regress_p1_%';

SELECT tenancy.set_deletion_protection('regress_p1', false);
SELECT deletion_protection FROM tenancy.tenants WHERE name = 'regress_p1';
-- a second identical call changes nothing
SELECT count(*) AS audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_p1' \gset
SELECT tenancy.set_deletion_protection('regress_p1', false);
SELECT count(*) - :audit_rows AS new_audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_p1';
SELECT tenancy.set_deletion_protection('regress_p1', true);
SELECT step, statement FROM tenancy.audit_log
WHERE tenant = 'regress_p1' AND step = 'set_deletion_protection' ORDER BY id;

-- bad input
SELECT tenancy.set_deletion_protection('regress_p1', NULL);
SELECT tenancy.set_deletion_protection(NULL, true);
SELECT tenancy.set_deletion_protection('regress_nobody_here', true);
SELECT tenancy.set_deletion_protection('Bad-Name', true);
BEGIN;
SELECT tenancy.set_deletion_protection('regress_p1', false);
ROLLBACK;
