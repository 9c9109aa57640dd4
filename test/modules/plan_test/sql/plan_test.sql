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

-- the guard label (what the server's guards enforce) as the registry says:
-- missing, or another list or protection, is one step writing the whole label
SELECT step, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "deletion_protection": true, "allowed_ips": "{10.0.0.0/8,192.0.2.7/32}",
               "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "session_user": "admin", "role_guard_label": null,
                 "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1", "can_connect": true}]}}',
  deep => false);
SELECT step, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "deletion_protection": false,
               "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "session_user": "admin",
                 "role_guard_label": "deletion_protection=on allowed_ips=10.0.0.0/8",
                 "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1", "can_connect": true}]}}',
  deep => false);

-- a membership of the tenant role through which it reaches too far: revoked
SELECT step, statement FROM plan_test.steps('repair',
  '{"tenant": {"name": "t1", "databases": [{"short": "db1", "name": "t1_db1"}]},
    "snapshot": {"role_exists": true, "role_marked_for": "t1", "session_user": "admin",
                 "role_reaches": [{"role": "helper", "why": "pg_read_server_files, a role PostgreSQL defines"}],
                 "databases": [{"name": "t1_db1", "exists": true, "marked_for": "t1", "can_connect": true}]}}',
  deep => false);

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
-- The IAM side (plan_iam): what IAM has of tenant t1 -> the calls to make.
-- healthy (user_and_role, the recorded key there): nothing
SELECT step, object_name FROM plan_test.steps('iam', '{"want": {"recorded_key": "K1"}, "have": {"keys": [{"id": "K1"}]}}');
-- new: user, role (trusting the user), connect policy, user policy, key, in that order
SELECT step, object_type, object_name FROM plan_test.steps('iam',
  '{"want": {"make_key": true}, "have": {"user": {"exists": false}, "role": {"exists": false},
    "connect_policy": null, "assume_policy": null}}');
-- a same-named role that is not ours: reported, and nothing at all is done beside it
SELECT step, object_type, statement FROM plan_test.steps('iam',
  '{"want": {"make_key": true}, "have": {"role": {"ours": false}, "user": {"exists": false}}}');
-- suspended: the connect policy goes, the key is deactivated
SELECT step, statement FROM plan_test.steps('iam',
  '{"want": {"connect": false, "keys_active": false, "recorded_key": "K1"}, "have": {"keys": [{"id": "K1"}]}}');
-- a key nobody was told of goes; rotating makes the new key before deleting the old
SELECT step, object_name FROM plan_test.steps('iam',
  '{"want": {"recorded_key": "K1", "make_key": true, "rotate_key": true}, "have": {"keys": [{"id": "K1"}, {"id": "K9"}]}}');
-- drift: the trust policy (a recreated user shows as its old unique id) is rewritten
-- before the connect policy is put back; a policy someone added goes
SELECT step, statement FROM plan_test.steps('iam',
  '{"want": {"recorded_key": "K1"}, "have": {"keys": [{"id": "K1"}], "connect_policy": null,
    "role": {"trust_policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"AIDAOLDUSERUNIQUEID0\"},\"Action\":\"sts:AssumeRole\"}]}",
             "inline_policies": ["extra"], "attached_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}}');
-- the same documents written otherwise (URL-encoded, keys reordered, arrays): no diff
SELECT count(*) FROM plan_test.steps('iam',
  '{"want": {"recorded_key": "K1"}, "have": {"keys": [{"id": "K1"}],
    "connect_policy": "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%5B%22arn%3Aaws%3Ards-db%3Aeu-central-1%3A123456789012%3Adbuser%3Acluster-T1%2Ft1%22%5D%2C%22Action%22%3A%5B%22rds-db%3Aconnect%22%5D%2C%22Effect%22%3A%22Allow%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D"}}');
-- offboarding: keys, inline policies, attachments, the role, the user (IAM's order)
SELECT step, object_type, object_name FROM plan_test.steps('iam',
  '{"want": {"remove": true}, "have": {"keys": [{"id": "K1"}],
    "role": {"attached_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}}}');
-- role mode: a user of ours left from user_and_role mode is removed
SELECT step, object_name FROM plan_test.steps('iam',
  '{"want": {"with_user": false}, "have": {"keys": []}}');

DROP EXTENSION plan_test;
