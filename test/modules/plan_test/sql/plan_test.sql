-- The planners' rules, one at a time, from hand-made states: no catalog is
-- read, so what each plan holds follows from the state given alone.
CREATE EXTENSION plan_test;
\set healthy '{"tenant": {"name": "t1", "databases": [{"short": "db1", "name": "t1_db1"}]}, "snapshot": {"role_exists": true, "role_marked_for": "t1", "caller": "admin", "session_user": "admin", "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1", "can_connect": true}]}}'

-- a healthy tenant: nothing the cluster-wide catalogs can tell is planned,
-- only what a look inside the database can (its schema public)
SELECT step, object_name, database FROM plan_test.steps('repair', :'healthy');
-- not deep: nothing at all
SELECT step, object_name, database FROM plan_test.steps('repair', :'healthy', deep => false);

-- drift the cluster-wide catalogs show: each its own step, and no other
SELECT step, object_name, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "connection_limit": 5, "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "session_user": "admin",
                 "role_has_attribute": true, "role_can_login": false, "role_connection_limit": -1,
                 "role_in_iam_role": true,
                 "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1", "can_connect": true,
                                "privileges_differ": true}]}}', deep => false);

-- a role with the tenant's name and another marker: one report, nothing else
SELECT step, object_name, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "someone_else", "session_user": "admin"}}');

-- a missing role is created; a missing database too (with everything after it)
SELECT step, object_name, database FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"session_user": "admin", "databases": [{"name": "t1_db1"}]}}');

-- a database that is not the tenant's, one the caller cannot connect to,
-- members of the tenant role, other grantees, stray markers, an unfinished
-- database: each its own step
SELECT step, object_name, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "state": "onboarding",
               "databases": [{"short": "a", "name": "t1_a"}, {"short": "b", "name": "t1_b"}, {"short": "c", "name": "t1_c"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "role_members": ["intruder"],
                 "session_user": "admin",
                 "databases": [{"name": "t1_a", "exists": true, "marked_for": null, "can_connect": true},
                               {"name": "t1_b", "exists": true, "marked_for": "t1", "can_connect": false},
                               {"name": "t1_c", "exists": true, "marked_for": "t1", "can_connect": true,
                                "other_grantees": ["payroll"]}],
                 "stray_databases": ["t1_old"], "unfinished_databases": ["tenancy_new_00000000000000aa"]}}')
WHERE step NOT IN ('role_attributes', 'enable_login', 'set_connection_limit', 'revoke_iam',
                   'create_database', 'database_privileges', 'schema_privileges');

-- offboarding as a superuser: nothing borrowed; the databases dropped
SELECT step, object_name, database FROM plan_test.steps('offboard',
  replace(:'healthy', '"caller": "admin"', '"caller": "admin", "caller_is_superuser": true')::json);
-- as a non-superuser, keeping the databases, with objects elsewhere: the
-- role's privileges and the custodian's borrowed, the databases retained,
-- what the role owns elsewhere released to the custodian database by database
SELECT step, object_name, database, statement FROM plan_test.steps('offboard',
  '{"tenant": {"name": "t1", "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "caller": "admin", "caller_is_superuser": false,
                 "session_user": "admin", "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1"}],
                 "dependent_databases": ["postgres"]}}', keep_databases => true)
WHERE step IN ('borrow_privileges', 'create_custodian', 'borrow_custodian', 'release_objects', 'retain_database');
-- a role already gone: no borrowing, no custodian, no release
SELECT step FROM plan_test.steps('offboard',
  '{"tenant": {"name": "t1", "databases": []}, "snapshot": {"caller": "admin"}}');

-- onboarding a new tenant: registered, role created, each database created
-- and secured inside, the IAM role last, then active
SELECT step, object_name, database FROM plan_test.steps('onboard',
  '{"tenant": {"name": "t2", "iam_auth": true,
               "databases": [{"short": "db1", "name": "t2_db1"}, {"short": "db2", "name": "t2_db2"}]}}');
-- an existing tenant whose db1's inside the audit log shows done: no step
-- looks inside db1 (no worker there), and no role is created
SELECT step, object_name, database FROM plan_test.steps('onboard',
  '{"tenant": {"name": "t2", "role_exists": true,
               "databases": [{"short": "db1", "name": "t2_db1", "inside_known": true},
                             {"short": "db2", "name": "t2_db2"}]}}');

SELECT * FROM plan_test.steps('rebuild', :'healthy');
DROP EXTENSION plan_test;
