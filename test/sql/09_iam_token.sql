-- tenancy.iam_auth_token(): RDS IAM authentication tokens with a fixed
-- clock and credentials from the settings.  Every token below is the one
-- botocore's generate_db_auth_token returns for the same inputs (checked
-- over random inputs by test/t/040_iam_botocore.pl).
-- (quietly: whether an earlier test created it does not matter)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aurora_tenancy;
RESET client_min_messages;

-- never reach for an instance metadata service from here
SET tenancy.aws_imds_endpoint = '';
SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';
SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
SET tenancy.aws_session_token = '';
SET tenancy.aws_signing_time = '20240101T000000Z';
SET tenancy.aws_region = 'eu-west-1';

-- the shape of a token: host:port/?Action=connect&DBUser=...&X-Amz-...
SELECT tenancy.iam_auth_token('mydb.cluster-abc.us-east-1.rds.amazonaws.com', 5432, 'client01', 'us-east-1');

-- the region argument left out: tenancy.aws_region
SELECT tenancy.iam_auth_token('mydb.cluster-abc.eu-west-1.rds.amazonaws.com', 5432, 'client01');

-- user names are URI-encoded as UTF-8 bytes; the signed host is lower-case
-- and the default https port 443 is left out of it (not out of the token)
SELECT tenancy.iam_auth_token('MyDB.Example.COM', 443, 'a b+c/d=e&f?g%h~i_j-k.l', 'us-east-1');

-- a different clock, a different signature
SET tenancy.aws_signing_time = '20240101T000001Z';
SELECT split_part(tenancy.iam_auth_token('db.example.com', 5432, 'client01', 'us-east-1'), 'X-Amz-Date=', 2);
SET tenancy.aws_signing_time = '20240101T000000Z';

-- temporary credentials: the session token goes into the query, encoded
SET tenancy.aws_session_token = 'FwoGZXIvYXdzE+/abc/def==';
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01', 'us-east-1');
SET tenancy.aws_session_token = '';

-- IPv4 and IPv6 hosts
SELECT tenancy.iam_auth_token('10.0.0.1', 5432, 'client01', 'us-east-1');
SELECT tenancy.iam_auth_token('[2001:DB8::1]', 5432, 'client01', 'us-east-1');

-- bad input: a clear error and a proper SQLSTATE each
\set VERBOSITY terse
SELECT tenancy.iam_auth_token(NULL, 5432, 'client01');
SELECT tenancy.iam_auth_token('db.example.com', 65536, 'client01');
\set VERBOSITY default
CREATE FUNCTION pg_temp.error_of(host text, port integer, username text, region text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM tenancy.iam_auth_token(host, port, username, region);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT label, pg_temp.error_of(h, p, u, r) AS error
  FROM (VALUES ('null host', NULL::text, 5432, 'client01'::text, NULL::text),
               ('null port', 'db.example.com', NULL, 'client01', NULL),
               ('null user', 'db.example.com', 5432, NULL, NULL),
               ('empty host', '', 5432, 'client01', NULL),
               ('host with a path', 'db.example.com/x', 5432, 'client01', NULL),
               ('host with user info', 'user@db.example.com', 5432, 'client01', NULL),
               ('host with a port', 'db.example.com:5432', 5432, 'client01', NULL),
               ('host with a space', 'db example.com', 5432, 'client01', NULL),
               ('host not IPv6', '[not-ipv6]', 5432, 'client01', NULL),
               ('IPv6 unbracketed', '2001:db8::1', 5432, 'client01', NULL),
               ('host too long', repeat('a', 254), 5432, 'client01', NULL),
               ('port 0', 'db.example.com', 0, 'client01', NULL),
               ('port 65536', 'db.example.com', 65536, 'client01', NULL),
               ('port -1', 'db.example.com', -1, 'client01', NULL),
               ('empty user', 'db.example.com', 5432, '', NULL),
               ('user too long', 'db.example.com', 5432, repeat('u', 64), NULL),
               ('empty region', 'db.example.com', 5432, 'client01', ''),
               ('upper-case region', 'db.example.com', 5432, 'client01', 'US-EAST-1'),
               ('region with /', 'db.example.com', 5432, 'client01', 'us/east')
       ) AS t(label, h, p, u, r);

-- the boundaries are accepted
SELECT length(tenancy.iam_auth_token('db.example.com', 1, 'client01')) > 0 AS port_1,
       length(tenancy.iam_auth_token('db.example.com', 65535, 'client01')) > 0 AS port_65535,
       length(tenancy.iam_auth_token(repeat('a', 253), 5432, repeat('u', 63))) > 0 AS longest;

-- the signing clock must be empty or a real UTC time
\set VERBOSITY terse
SET tenancy.aws_signing_time = '2024-01-01T00:00:00Z';
SET tenancy.aws_signing_time = '20240230T000000Z';
SET tenancy.aws_signing_time = '20240101T240000Z';
SET tenancy.aws_signing_time = '20240101T000000';
SHOW tenancy.aws_signing_time;

-- the metadata endpoint must be a URL (or empty)
SET tenancy.aws_imds_endpoint = 'ftp://169.254.169.254';
\set VERBOSITY default

-- half a key pair is an error, not a reason to look elsewhere; the
-- messages name settings, never their values
\set SHOW_CONTEXT never
RESET tenancy.aws_secret_access_key;
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');
SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
RESET tenancy.aws_access_key_id;
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');
RESET tenancy.aws_secret_access_key;
SET tenancy.aws_session_token = 'token-only';
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');
RESET tenancy.aws_session_token;
-- credentials the signer cannot use: the message names their source only
SET tenancy.aws_access_key_id = 'AKID EXAMPLE';
SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');
SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';
\set SHOW_CONTEXT errors

-- EXECUTE is revoked from PUBLIC; the credentials are superuser-only
CREATE ROLE regress_iam_nobody;
SELECT has_function_privilege('regress_iam_nobody',
	'tenancy.iam_auth_token(text, integer, text, text)', 'EXECUTE') AS nobody_can_execute;
GRANT USAGE ON SCHEMA tenancy TO regress_iam_nobody;
SET ROLE regress_iam_nobody;
\set VERBOSITY terse
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');
SHOW tenancy.aws_secret_access_key;
SELECT current_setting('tenancy.aws_session_token');
SELECT current_setting('tenancy.aws_access_key_id');
SET tenancy.aws_secret_access_key = 'x';
SET tenancy.aws_signing_time = '20240101T000000Z';
SET tenancy.aws_imds_endpoint = 'http://127.0.0.1:1';
\set VERBOSITY default
SELECT count(*) AS visible_credential_settings FROM pg_settings
 WHERE name IN ('tenancy.aws_access_key_id', 'tenancy.aws_secret_access_key', 'tenancy.aws_session_token');
RESET ROLE;
REVOKE USAGE ON SCHEMA tenancy FROM regress_iam_nobody;
DROP ROLE regress_iam_nobody;

-- not even a superuser sees their values: SHOW says whether they are set,
-- SHOW ALL and pg_settings do not list them
SELECT count(*) AS listed_credential_settings FROM pg_settings
 WHERE name IN ('tenancy.aws_access_key_id', 'tenancy.aws_secret_access_key', 'tenancy.aws_session_token');
SHOW tenancy.aws_secret_access_key;
SELECT current_setting('tenancy.aws_access_key_id') AS access_key_id,
       current_setting('tenancy.aws_session_token') AS session_token;

-- SET LOCAL and rollback restore the credentials in use
BEGIN;
SET LOCAL tenancy.aws_access_key_id = 'AKIDLOCAL';
SELECT split_part(split_part(tenancy.iam_auth_token('db.example.com', 5432, 'client01'), 'X-Amz-Credential=', 2), '%2F', 1) AS key_in_transaction;
ROLLBACK;
SELECT split_part(split_part(tenancy.iam_auth_token('db.example.com', 5432, 'client01'), 'X-Amz-Credential=', 2), '%2F', 1) AS key_after_rollback;

-- credentials cannot be stored where every role could read them
ALTER ROLE CURRENT_USER SET tenancy.aws_secret_access_key = 'stored-secret';
\set VERBOSITY terse
DO $$ BEGIN
	EXECUTE format('ALTER DATABASE %I SET tenancy.aws_session_token = %L',
				   current_database(), 'stored-token');
END $$;
CREATE FUNCTION pg_temp.with_secret() RETURNS int LANGUAGE sql
	SET tenancy.aws_secret_access_key = 'stored-secret' AS 'SELECT 1';
\set VERBOSITY default

RESET tenancy.aws_access_key_id;
RESET tenancy.aws_secret_access_key;
RESET tenancy.aws_session_token;
RESET tenancy.aws_signing_time;
RESET tenancy.aws_region;
RESET tenancy.aws_imds_endpoint;
