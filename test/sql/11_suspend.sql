-- Suspend and resume: no login while suspended; resume restores exactly
-- what was there before.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_s1', ARRAY['db1'], iam_auth => false);
ALTER ROLE regress_s1 CONNECTION LIMIT 7 VALID UNTIL 'infinity';
SELECT tenancy.suspend('regress_s1');
SELECT rolcanlogin, rolconnlimit, rolvaliduntil FROM pg_roles WHERE rolname = 'regress_s1';
SELECT state FROM tenancy.tenants WHERE name = 'regress_s1';
SELECT step FROM tenancy.audit_log WHERE tenant = 'regress_s1' AND operation = 'suspend' ORDER BY id;

-- suspending a suspended tenant is refused and changes nothing
SELECT tenancy.suspend('regress_s1');
SELECT count(*) AS suspend_rows FROM tenancy.audit_log WHERE tenant = 'regress_s1' AND operation = 'suspend';

SELECT tenancy.resume('regress_s1');
SELECT rolcanlogin, rolconnlimit, rolvaliduntil FROM pg_roles WHERE rolname = 'regress_s1';
SELECT state FROM tenancy.tenants WHERE name = 'regress_s1';
SELECT tenancy.resume('regress_s1');

-- an interrupted suspension (the registry says suspended, the role can still
-- log in) is completed by calling suspend again
SELECT tenancy.suspend('regress_s1');
ALTER ROLE regress_s1 LOGIN;
SELECT tenancy.suspend('regress_s1');
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_s1';

-- a role that could not log in before the suspension cannot after resume
SELECT tenancy.resume('regress_s1');
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_s2', ARRAY['db1'], iam_auth => false);
ALTER ROLE regress_s2 NOLOGIN;
SELECT tenancy.suspend('regress_s2');
SELECT tenancy.resume('regress_s2');
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_s2';

-- bad input
SELECT tenancy.suspend(NULL);
SELECT tenancy.suspend('regress_nobody_here');
SELECT tenancy.resume('');
BEGIN;
SELECT tenancy.suspend('regress_s1');
ROLLBACK;
