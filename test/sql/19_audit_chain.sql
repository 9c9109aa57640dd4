-- The audit chain: every row the extension writes carries a hash of its
-- canonical form and of the row before it (the tamper cases, kept heads and
-- concurrency are in test/t/005_audit_chain.pl).  Hand-inserted rows of
-- other tests have no hash and are left out here.
\set VERBOSITY terse

-- every stored hash is the hash of its row, whatever TimeZone and DateStyle say
SELECT count(*) > 0 AS chained,
       bool_and(octet_length(row_hash) = 32) AS sha256,
       bool_and(tenancy.audit_row_hash(a) = a.row_hash) AS reproducible
FROM tenancy.audit_log a WHERE row_hash IS NOT NULL;
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'German, DMY';
SET IntervalStyle = 'sql_standard';
SELECT bool_and(tenancy.audit_row_hash(a) = a.row_hash) AS reproducible_elsewhere
FROM tenancy.audit_log a WHERE row_hash IS NOT NULL;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;

-- each chained row links to the chained row before it
SELECT count(*) AS broken_links FROM (
    SELECT prev_hash, lag(row_hash) OVER (ORDER BY id, at) AS before
    FROM tenancy.audit_log WHERE row_hash IS NOT NULL) l
WHERE prev_hash IS DISTINCT FROM before;

-- the hash covers the content: any field changed, NULL and '' told apart,
-- the link to the row before included
WITH last AS (SELECT a FROM tenancy.audit_log a WHERE row_hash IS NOT NULL ORDER BY id DESC LIMIT 1)
SELECT tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"message": ""}'))
           <> tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"message": null}')) AS null_is_not_empty,
       tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"id": 0}'))
           <> tenancy.audit_row_hash((last.a)) AS id_covered,
       tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"at": "2000-01-01 00:00:00.000001+00"}'))
           <> tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"at": "2000-01-01 00:00:00+00"}')) AS microseconds_covered,
       tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"prev_hash": null}'))
           <> tenancy.audit_row_hash((last.a)) AS link_covered,
       tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"tenant": "ab", "step": "c"}'))
           <> tenancy.audit_row_hash(jsonb_populate_record((last.a), '{"tenant": "a", "step": "bc"}')) AS fields_delimited
FROM last;

-- a kept head: malformed is an error, absent is reported
SELECT * FROM tenancy.verify_audit_log('not a head');
SELECT * FROM tenancy.verify_audit_log('1:abc');
SELECT id, problem FROM tenancy.verify_audit_log('-5:' || repeat('0', 64)) WHERE id = -5;
SELECT id IS NULL AS no_id, problem FROM tenancy.verify_audit_log(repeat('ab', 32)) WHERE id IS NULL;
