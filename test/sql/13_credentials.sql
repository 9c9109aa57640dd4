-- rotate_password and set_iam_auth.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_c1', ARRAY['db1'], iam_auth => false);
SELECT rolpassword AS old_verifier FROM pg_authid WHERE rolname = 'regress_c1' \gset
SELECT tenancy.rotate_password('regress_c1') ~ '^[A-Za-z0-9]{32,}$' AS password_shape;
SELECT rolpassword <> :'old_verifier' AS verifier_changed,
       rolpassword LIKE 'SCRAM-SHA-256_4096:%' AS scram
FROM pg_authid WHERE rolname = 'regress_c1';
SELECT statement FROM tenancy.audit_log WHERE tenant = 'regress_c1' AND operation = 'rotate_password';

-- an IAM-auth tenant still rotates, and gets NULL back
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_c2', ARRAY['db1']);
SELECT rolpassword AS old_verifier FROM pg_authid WHERE rolname = 'regress_c2' \gset
SELECT tenancy.rotate_password('regress_c2') IS NULL AS no_password;
SELECT rolpassword <> :'old_verifier' AS verifier_changed FROM pg_authid WHERE rolname = 'regress_c2';

-- IAM auth off: rds_iam revoked first, a new password returned once
SELECT tenancy.set_iam_auth('regress_c2', false) ~ '^[A-Za-z0-9]{32,}$' AS password_shape;
SELECT pg_has_role('regress_c2', 'rds_iam', 'MEMBER') AS iam_member, iam_auth
FROM tenancy.tenants WHERE name = 'regress_c2';
SELECT step FROM tenancy.audit_log WHERE tenant = 'regress_c2' AND operation = 'set_iam_auth' ORDER BY id;
SELECT tenancy.set_iam_auth('regress_c2', false) IS NULL AS nothing_to_do;
-- and on again
SELECT tenancy.set_iam_auth('regress_c2', true) IS NULL AS no_password;
SELECT pg_has_role('regress_c2', 'rds_iam', 'MEMBER') AS iam_member, iam_auth
FROM tenancy.tenants WHERE name = 'regress_c2';
SELECT tenancy.set_iam_auth('regress_c2', true) IS NULL AS nothing_to_do;

-- no secret in the log
SELECT count(*) AS secrets FROM tenancy.audit_log
WHERE statement ~ 'SCRAM-SHA-256' OR statement ~ 'PASSWORD ''[^<]';

-- bad input
SELECT tenancy.rotate_password(NULL);
SELECT tenancy.rotate_password('regress_nobody_here');
SELECT tenancy.set_iam_auth('regress_c2', NULL);
SET tenancy.iam_role = 'regress_no_such_role';
SELECT tenancy.set_iam_auth('regress_c1', true);
RESET tenancy.iam_role;
