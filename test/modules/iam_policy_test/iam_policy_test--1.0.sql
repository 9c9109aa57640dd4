\echo Use "CREATE EXTENSION iam_policy_test" to load this file. \quit

CREATE SCHEMA iam_policy_test;

-- aws_partition(): NULL for a region that is not of AWS's form
CREATE FUNCTION iam_policy_test.partition(region text)
RETURNS text
AS 'MODULE_PATHNAME', 'iam_policy_test_partition' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.partition(text) IS
'The AWS partition of a region (aws_partition), NULL when it is not a region name';

CREATE FUNCTION iam_policy_test.connect_policy(partition text, region text,
                                               account_id text,
                                               cluster_resource_id text,
                                               db_user text)
RETURNS text
AS 'MODULE_PATHNAME', 'iam_policy_test_connect_policy' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.connect_policy(text, text, text, text, text) IS
'The rds-db:connect policy iam_connect_policy builds';

-- external_id NULL: no ExternalId condition; allowed_ips NULL or empty: no
-- IpAddress condition
CREATE FUNCTION iam_policy_test.trust_policy(principal_arn text,
                                             external_id text DEFAULT NULL,
                                             allowed_ips text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'iam_policy_test_trust_policy' LANGUAGE C
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.trust_policy(text, text, text[]) IS
'The trust policy iam_trust_policy builds';

CREATE FUNCTION iam_policy_test.assume_policy(role_arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'iam_policy_test_assume_policy' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.assume_policy(text) IS
'The sts:AssumeRole policy iam_assume_role_policy builds';

CREATE FUNCTION iam_policy_test.size(doc text)
RETURNS integer
AS 'MODULE_PATHNAME', 'iam_policy_test_size' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.size(text) IS
'The size of a policy document as IAM counts it (iam_policy_size)';

CREATE FUNCTION iam_policy_test.equal(actual text, desired text,
                                      partition text DEFAULT 'aws')
RETURNS boolean
AS 'MODULE_PATHNAME', 'iam_policy_test_equal' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.equal(text, text, text) IS
'Whether a document as IAM returns it is the desired policy (iam_policy_equal)';

CREATE FUNCTION iam_policy_test.principal(principal text,
                                          partition text DEFAULT 'aws')
RETURNS text
AS 'MODULE_PATHNAME', 'iam_policy_test_principal' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION iam_policy_test.principal(text, text) IS
'The trust policy principal for what a DBA gave (iam_principal_arn)';
