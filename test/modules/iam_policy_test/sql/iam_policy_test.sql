-- aurora_tenancy's IAM policy documents: as built, their size as IAM counts
-- it, their comparison by meaning with what IAM returns, and the principals
-- a DBA may give a tenant.
CREATE EXTENSION iam_policy_test;

-- What IAM's Get*Policy calls return: the document percent-encoded
-- (RFC 3986: all but A-Z a-z 0-9 - _ . ~).
CREATE FUNCTION pg_temp.urlencode(doc text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(CASE WHEN c ~ '^[A-Za-z0-9_.~-]$' THEN c
                         ELSE upper(regexp_replace(encode(convert_to(c, 'UTF8'), 'hex'),
                                                   '(..)', '%\1', 'g')) END,
                    '' ORDER BY i)
  FROM regexp_split_to_table(doc, '') WITH ORDINALITY AS s(c, i)
$$;

-- An error as a row: SQLSTATE and message, and the detail.
CREATE FUNCTION pg_temp.refusal(principal text, partition text DEFAULT 'aws')
RETURNS TABLE (result text, detail text) LANGUAGE plpgsql AS $$
DECLARE
  arn text;
  m text;
  d text;
  s text;
BEGIN
  arn := iam_policy_test.principal(principal, partition);
  RETURN QUERY SELECT arn, NULL::text;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, s = RETURNED_SQLSTATE;
  RETURN QUERY SELECT s || ': ' || m, d;
END
$$;

--
-- Partitions, from the region's name
--
SELECT region, iam_policy_test.partition(region)
FROM (VALUES ('eu-central-1'), ('us-east-1'), ('ap-southeast-2'), ('mx-central-1'),
             ('cn-north-1'), ('cn-northwest-1'), ('us-gov-west-1'), ('us-gov-east-1')) AS r(region);
-- not of the form [a-z]{2}(-gov)?-[a-z]+-[0-9]+: NULL
SELECT region, iam_policy_test.partition(region)
FROM (VALUES (''), ('eu-central'), ('EU-CENTRAL-1'), ('eu-central-1a'), ('e-central-1'),
             ('eu--1'), ('eu-central-'), ('us-iso-east-1'), ('us-gov--1'), (' eu-west-1'),
             ('eu-west-1 '), ('eu_west_1')) AS r(region);

--
-- Documents as built: compact, keys in a fixed order, valid JSON
--
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012',
                                      'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0', 'client01') AS doc \gset
SELECT :'doc' AS connect, :'doc'::jsonb IS NOT NULL AS valid_json;
SELECT iam_policy_test.connect_policy('aws-cn', 'cn-north-1', '123456789012',
                                      'cluster-ABC123', 'app$user "quoted"')::jsonb AS connect_cn;
SELECT iam_policy_test.connect_policy('aws-us-gov', 'us-gov-west-1', '123456789012',
                                      'cluster-ABC123', 'client01')::jsonb #>> '{Statement,0,Resource}' AS gov_resource;

-- trust policies: a principal alone; with an external id; with addresses
-- (an array even of one); with both
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root') AS doc \gset
SELECT :'doc' AS trust, :'doc'::jsonb IS NOT NULL AS valid_json;
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:role/app/reader', 'tenant-01:x') AS doc \gset
SELECT :'doc' AS trust, :'doc'::jsonb IS NOT NULL AS valid_json;
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:user/alice', NULL, '{203.0.113.7/32}') AS doc \gset
SELECT :'doc' AS trust, :'doc'::jsonb IS NOT NULL AS valid_json;
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-01',
                                    '{198.51.100.0/24,203.0.113.7,2001:db8::/32}') AS doc \gset
SELECT :'doc' AS trust, :'doc'::jsonb IS NOT NULL AS valid_json;
-- an empty list is no list
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', NULL, '{}');

-- a user's inline policy: assume exactly one role
SELECT iam_policy_test.assume_policy('arn:aws:iam::123456789012:role/tenancy/client01') AS doc \gset
SELECT :'doc' AS assume, :'doc'::jsonb IS NOT NULL AS valid_json;

-- what the builders refuse
\set VERBOSITY default
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'cluster-ABC', '*');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'cluster-ABC', 'a?c');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'cluster-ABC', '${aws:username}');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'cluster-ABC', '');
SELECT iam_policy_test.connect_policy('aws', 'cn-north-1', '123456789012', 'cluster-ABC', 'u');
SELECT iam_policy_test.connect_policy('aws', 'Frankfurt', '123456789012', 'cluster-ABC', 'u');
SELECT iam_policy_test.connect_policy('aws-iso', 'us-iso-east-1', '123456789012', 'cluster-ABC', 'u');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '12345678901', 'cluster-ABC', 'u');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'db-ABC', 'u');
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012', 'cluster-*', 'u');
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', NULL, '{10.0.0.0/33}');
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', NULL, '{10.0.0.0/8,any}');
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', NULL, '{NULL}');
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'x');
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'has space');
SELECT iam_policy_test.trust_policy('*');
SELECT iam_policy_test.assume_policy('arn:aws:iam::123456789012:user/alice');
SELECT iam_policy_test.assume_policy('arn:aws:iam::123456789012:role/*');
\set VERBOSITY terse

--
-- Size: whitespace between tokens does not count, whitespace in strings
-- does, a character is one however many bytes
--
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012',
                                      'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0', 'client01') AS doc \gset
SELECT length(:'doc') AS length, iam_policy_test.size(:'doc') AS size,
       iam_policy_test.size(jsonb_pretty(:'doc'::jsonb)) AS size_pretty;
SELECT doc, iam_policy_test.size(doc)
FROM (VALUES ('{}'), (E'{\n  "a" : "b"\n}'), ('{"a":"b c"}'), ('{"a":"  "}'),
             ('{"a":"x\" y"}'), ('{"a":"x\\" , "b":1}'), ('{"a":"é"}'),
             (E'\t{ "a" :\r\n[ 1 , 2 ] }')) AS d(doc);

--
-- Equal by meaning
--
SELECT iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-01',
                                    '{198.51.100.0/24,203.0.113.7/32}') AS trust \gset
SELECT iam_policy_test.connect_policy('aws', 'eu-central-1', '123456789012',
                                      'cluster-ABC123', 'client01') AS connect \gset
-- the same text; the same URL-encoded, as IAM returns it (upper or lower hex)
SELECT iam_policy_test.equal(:'trust', :'trust') AS same,
       iam_policy_test.equal(pg_temp.urlencode(:'trust'), :'trust') AS urlencoded,
       iam_policy_test.equal(lower(pg_temp.urlencode(:'connect')),
                             lower(:'connect')) AS lower_hex;
-- a document as GetRolePolicy really returns one
SELECT iam_policy_test.equal(
  '%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Action%22%3A%22rds-db%3Aconnect%22%2C%22Resource%22%3A%22arn%3Aaws%3Ards-db%3Aeu-central-1%3A123456789012%3Adbuser%3Acluster-ABC123%2Fclient01%22%2C%22Effect%22%3A%22Allow%22%7D%5D%7D',
  :'connect') AS getrolepolicy;
-- keys reordered, whitespace, Statement an object, single values arrays
-- and arrays of one single values, the bare account id for its root ARN,
-- a Sid, actions in another case, condition keys in another case, values
-- reordered and repeated
SELECT iam_policy_test.equal('
  { "Statement": {
      "Sid": "TenantTrust",
      "Condition": {
        "IpAddress": {"AWS:SOURCEIP": ["203.0.113.7/32", "198.51.100.0/24", "203.0.113.7/32"]},
        "StringEquals": {"sts:externalid": ["tenant-01"]}
      },
      "Action": ["STS:assumeRole", "sts:AssumeRole"],
      "Principal": {"AWS": "123456789012"},
      "Effect": "Allow"
    },
    "Version": "2012-10-17" }', :'trust') AS by_meaning;
SELECT iam_policy_test.equal(pg_temp.urlencode(
  '{"Version":"2012-10-17","Statement":[{"Resource":["arn:aws:rds-db:eu-central-1:123456789012:dbuser:cluster-ABC123/client01"],"Effect":"Allow","Action":["RDS-DB:Connect"],"Sid":"x"}]}'),
  :'connect') AS by_meaning_urlencoded;
-- statements in another order; a principal object's values in another order
SELECT iam_policy_test.equal(
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
                                        {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","222222222222"]},"Action":"sts:AssumeRole"}]}',
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root","111111111111"]},"Action":"sts:AssumeRole"},
                                        {"Effect":"Allow","Action":"s3:getobject","Resource":["*"]}]}') AS statements_reordered;
-- "*" stays as it is; the account id is expanded in the partition given
SELECT iam_policy_test.equal('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}',
                             '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}') AS star,
       iam_policy_test.equal('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}',
                             iam_policy_test.trust_policy('arn:aws-cn:iam::123456789012:root'), 'aws-cn') AS account_in_cn;

-- Different: each of these gets rewritten
-- the principal was deleted: IAM shows its unique id
SELECT iam_policy_test.equal(replace(:'trust', 'arn:aws:iam::123456789012:root', 'AIDAJQABLZS4A3QDU576Q'),
                             :'trust') AS unique_id,
       iam_policy_test.equal(pg_temp.urlencode(replace(:'trust', 'arn:aws:iam::123456789012:root', 'AROAJQABLZS4A3QDU576Q')),
                             :'trust') AS unique_id_urlencoded;
-- an extra statement, even one repeating the first
SELECT iam_policy_test.equal(replace(:'connect', '}]}', '},{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}'),
                             :'connect') AS extra_statement,
       iam_policy_test.equal(replace(:'connect', '[{', '[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:eu-central-1:123456789012:dbuser:cluster-ABC123/client01"},{'),
                             :'connect') AS repeated_statement;
-- another resource; a resource in another case (ARNs are case-sensitive)
SELECT iam_policy_test.equal(replace(:'connect', '/client01', '/client02'), :'connect') AS other_user,
       iam_policy_test.equal(replace(:'connect', 'cluster-ABC123', 'cluster-abc123'), :'connect') AS resource_case;
SELECT iam_policy_test.equal(
         '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":["arn:aws:rds-db:eu-central-1:123456789012:dbuser:cluster-ABC123/client01","arn:aws:rds-db:eu-central-1:123456789012:dbuser:cluster-ABC123/client02"]}]}',
         :'connect') AS extra_resource;
-- a condition missing, changed, under another operator; another address,
-- one more, one fewer
SELECT iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', NULL, '{198.51.100.0/24,203.0.113.7/32}'),
                             :'trust') AS no_external_id,
       iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-02', '{198.51.100.0/24,203.0.113.7/32}'),
                             :'trust') AS other_external_id,
       iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'TENANT-01', '{198.51.100.0/24,203.0.113.7/32}'),
                             :'trust') AS external_id_case,
       iam_policy_test.equal(replace(:'trust', 'StringEquals', 'StringLike'), :'trust') AS other_operator,
       iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-01'),
                             :'trust') AS no_addresses;
SELECT iam_policy_test.equal(replace(:'trust', '203.0.113.7/32', '203.0.113.8/32'), :'trust') AS other_address,
       iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-01', '{198.51.100.0/24,203.0.113.7/32,192.0.2.1}'),
                             :'trust') AS one_more,
       iam_policy_test.equal(iam_policy_test.trust_policy('arn:aws:iam::123456789012:root', 'tenant-01', '{198.51.100.0/24}'),
                             :'trust') AS one_fewer;
-- Deny for Allow; another version; another partition's root; an account
-- id expanded in the wrong partition
SELECT iam_policy_test.equal(replace(:'connect', 'Allow', 'Deny'), :'connect') AS deny,
       iam_policy_test.equal(replace(:'connect', '2012-10-17', '2008-10-17'), :'connect') AS version,
       iam_policy_test.equal(replace(:'trust', 'arn:aws:', 'arn:aws-cn:'), :'trust') AS partition_root,
       iam_policy_test.equal(replace(:'trust', 'arn:aws:iam::123456789012:root', '123456789012'), :'trust', 'aws-cn') AS account_in_cn;
-- condition keys that differ only in case, under one operator: ANDed, so
-- they cannot be merged, and the document has no canonical form
SELECT iam_policy_test.equal(replace(:'trust', '"sts:ExternalId":"tenant-01"', '"sts:ExternalId":"tenant-01","STS:EXTERNALID":"tenant-01"'),
                             :'trust') AS case_twins;
-- malformed: never an error, never equal
SELECT doc, iam_policy_test.equal(doc, :'connect') AS equal
FROM (VALUES (''), ('not json'), ('{'), ('[]'), ('"{}"'), ('null'), ('%7B%7G'), ('%7B%2'),
             ('%7B%22a%22%3A%00%7D'), ('{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}'),
             ('%FF%FE'), (:'connect' || ' x')) AS d(doc);
-- our own document malformed, or an unknown partition: errors
\set VERBOSITY default
SELECT iam_policy_test.equal(:'connect', '{"Version":');
SELECT iam_policy_test.equal(:'connect', '[]');
SELECT iam_policy_test.equal(:'connect', :'connect', 'aws-iso');
\set VERBOSITY terse

--
-- Principals a DBA may give (mode 'role')
--
SELECT p AS principal, partition, r.*
FROM (VALUES ('123456789012', 'aws'), ('000000000000', 'aws-cn'),
             ('arn:aws:iam::123456789012:root', 'aws'),
             ('arn:aws:iam::123456789012:user/alice', 'aws'),
             ('arn:aws:iam::123456789012:user/division/team/alice', 'aws'),
             ('arn:aws:iam::123456789012:role/app.reader+x=y,z@w_v-1', 'aws'),
             ('arn:aws:iam::123456789012:role/service-role/reader', 'aws'),
             ('arn:aws-cn:iam::123456789012:role/reader', 'aws-cn'),
             ('arn:aws-us-gov:iam::123456789012:root', 'aws-us-gov')) AS v(p, partition),
     pg_temp.refusal(p, partition) AS r;
-- and those refused
SELECT p AS principal, partition, r.*
FROM (VALUES ('*', 'aws'), ('', 'aws'), ('garbage', 'aws'), ('12345678901', 'aws'),
             ('1234567890123', 'aws'), (' 123456789012', 'aws'),
             ('AIDAJQABLZS4A3QDU576Q', 'aws'),
             ('rds.amazonaws.com', 'aws'), ('ec2.amazonaws.com.cn', 'aws-cn'),
             ('arn:aws:iam::*:root', 'aws'), ('arn:aws:iam::123456789012:role/*', 'aws'),
             ('arn:aws:iam::123456789012:role/read?r', 'aws'),
             ('arn:aws-cn:iam::123456789012:root', 'aws'),
             ('arn:aws:iam::123456789012:root', 'aws-us-gov'),
             ('arn:aws-iso:iam::123456789012:root', 'aws'),
             ('arn:aws:sts::123456789012:assumed-role/reader/session', 'aws'),
             ('arn:aws:s3:::bucket', 'aws'),
             ('arn:aws:iam:us-east-1:123456789012:root', 'aws'),
             ('arn:aws:iam::12345678901x:root', 'aws'),
             ('arn:aws:iam::123456789012:group/admins', 'aws'),
             ('arn:aws:iam::123456789012:role/', 'aws'),
             ('arn:aws:iam::123456789012:role//reader', 'aws'),
             ('arn:aws:iam::123456789012:role/a b', 'aws'),
             ('arn:aws:iam::123456789012:user/${aws:username}', 'aws'),
             ('arn:aws:iam::123456789012:role/' || repeat('r', 65), 'aws'),
             ('arn:aws:iam::123456789012:root:x', 'aws'),
             ('arn:aws:iam::123456789012', 'aws'),
             ('ARN:AWS:IAM::123456789012:ROOT', 'aws'),
             ('123456789012', 'aws-iso')) AS v(p, partition),
     pg_temp.refusal(p, partition) AS r;
-- one as psql shows it
\set VERBOSITY default
SELECT iam_policy_test.principal('*');
SELECT iam_policy_test.principal('arn:aws-cn:iam::123456789012:root');
\set VERBOSITY terse
