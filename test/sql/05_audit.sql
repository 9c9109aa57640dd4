-- The audit log: one row per executed step (intent + outcome where a step
-- cannot share a transaction), who asked, never a secret, append-only.
\set VERBOSITY terse

SELECT changes FROM tenancy.onboard('regress_a1', ARRAY['db1'], iam_auth => false) \gset
SELECT count(*) FILTER (WHERE phase IN ('done', 'failed')) = :changes AS one_outcome_per_change,
       count(DISTINCT operation_id) AS operations,
       bool_and(operation = 'onboard') AS all_onboard,
       bool_and(session_user_name = 'postgres' AND current_user_name = 'postgres') AS who,
       bool_and(backend_pid = pg_backend_pid()) AS caller_pid,
       bool_and(transaction_id IS NOT NULL) AS xids,
       bool_and(at <= clock_timestamp()) AS times
FROM tenancy.audit_log WHERE tenant = 'regress_a1';

-- steps that cannot share a transaction with their row: intent, then outcome
SELECT step, phase, object_name, database FROM tenancy.audit_log
WHERE tenant = 'regress_a1' AND step IN ('create_database', 'schema_privileges')
ORDER BY id;

-- no password and no verifier, anywhere in the log
SELECT statement FROM tenancy.audit_log WHERE tenant = 'regress_a1' AND step = 'create_role';
SELECT count(*) AS secrets FROM tenancy.audit_log
WHERE statement ~ 'SCRAM-SHA-256' OR statement ~ 'PASSWORD ''[^<]';

-- append-only, for the owner (a superuser here) too
UPDATE tenancy.audit_log SET message = 'x' WHERE id = (SELECT min(id) FROM tenancy.audit_log);
DELETE FROM tenancy.audit_log;
TRUNCATE tenancy.audit_log;
SET session_replication_role = replica;
DELETE FROM tenancy.audit_log;
RESET session_replication_role;
ALTER TABLE tenancy.audit_log DISABLE TRIGGER audit_log_append_only;
DROP TRIGGER audit_log_append_only ON tenancy.audit_log;

-- readers only by grant
CREATE ROLE regress_reader;
SET ROLE regress_reader;
SELECT count(*) FROM tenancy.audit_log;
RESET ROLE;
DROP ROLE regress_reader;
