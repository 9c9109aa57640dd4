-- The manifest parser, fuzzed: 10,000 random and mutated documents through
-- tenancy.plan().  None crashes the backend, each is either planned or
-- refused with a clear error of the expected classes, and none changes
-- anything (plan never does; apply validates the same way before its first
-- operation).
SELECT setseed(0.4242);
CREATE TEMP TABLE fuzz_outcome (sqlstate text, n int);
CREATE TEMP TABLE fuzz_before (tenants bigint, audit_rows bigint);
-- counted after the DDL above, which the event trigger records
INSERT INTO fuzz_before
SELECT (SELECT count(*) FROM tenancy.registry), (SELECT count(*) FROM tenancy.audit_log);

DO $$
DECLARE
	base jsonb := '{"clients": [{"name": "regress_fz1", "databases": {"db1": true, "db2": false},
					 "allowed_ips": ["203.0.113.0/24"], "rds_iam_auth": false,
					 "deletion_protection": true, "connection_limit": 3, "suspended": false}]}';
	values_pool jsonb[] := ARRAY['null', 'true', 'false', '0', '-1', '-2', '2147483648', '1.5',
		'""', '"x"', '"Bad Name"', '"user"', '"regress_fz2"', '"10.0.0.300/8"', '"::1/128"',
		'"a-b"', '"pg_x"', '"tenancy_x"', '[]', '[1]', '["203.0.113.0/24", 7]', '{}',
		'{"db1": true}', '{"db1": "yes"}', '{"": true}', '[[[[[]]]]]',
		'"ééé"', '"a\"b"']::jsonb[];
	keys_pool text[] := ARRAY['name', 'databases', 'allowed_ips', 'rds_iam_auth', 'cluster',
		'iam_principal', 'deletion_protection', 'connection_limit', 'suspended', 'colour', '',
		'clients', 'NAME'];
	doc jsonb;
	client jsonb;
	state text;
BEGIN
	FOR i IN 1 .. 10000 LOOP
		client := base -> 'clients' -> 0;
		-- one to three mutations of the client
		FOR j IN 1 .. 1 + floor(random() * 3)::int LOOP
			CASE floor(random() * 5)::int
				WHEN 0 THEN client := client - keys_pool[1 + floor(random() * 13)::int];
				WHEN 1 THEN client := jsonb_set(client, ARRAY[keys_pool[1 + floor(random() * 13)::int]],
												values_pool[1 + floor(random() * 28)::int]);
				WHEN 2 THEN client := jsonb_set(client, '{databases}',
						COALESCE(client -> 'databases', '{}') ||
						jsonb_build_object(substr(md5(random()::text), 1, floor(random() * 12)::int),
										   values_pool[1 + floor(random() * 28)::int]));
				WHEN 3 THEN client := jsonb_set(client, '{allowed_ips}',
						jsonb_build_array(format('%s.%s.%s.%s/%s', floor(random() * 300)::int,
												 floor(random() * 300)::int, floor(random() * 300)::int,
												 floor(random() * 300)::int, floor(random() * 40)::int)));
				ELSE client := jsonb_set(client, '{name}',
						to_jsonb(substr(translate(md5(random()::text), '0123', '_-A '), 1, floor(random() * 70)::int)));
			END CASE;
		END LOOP;
		CASE floor(random() * 8)::int
			WHEN 0 THEN doc := jsonb_build_object('clients', jsonb_build_array(client, client));
			WHEN 1 THEN doc := jsonb_build_object('clients', client);
			WHEN 2 THEN doc := jsonb_build_object('clients', jsonb_build_array(client), 'extra', 1);
			WHEN 3 THEN doc := values_pool[1 + floor(random() * 28)::int];
			ELSE doc := jsonb_build_object('clients', jsonb_build_array(client));
		END CASE;
		BEGIN
			PERFORM * FROM tenancy.plan(doc);
			state := 'planned';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
		END;
		UPDATE fuzz_outcome SET n = n + 1 WHERE sqlstate = state;
		IF NOT FOUND THEN
			INSERT INTO fuzz_outcome VALUES (state, 1);
		END IF;
	END LOOP;
END
$$;

-- every document was planned or refused with an input error (22xxx, 42xxx)
SELECT sum(n) AS documents FROM fuzz_outcome;
SELECT sqlstate FROM fuzz_outcome
WHERE sqlstate <> 'planned' AND left(sqlstate, 2) NOT IN ('22', '42') ORDER BY 1;
SELECT count(*) > 1 AS several_kinds_of_error FROM fuzz_outcome WHERE sqlstate <> 'planned';
SELECT (SELECT n FROM fuzz_outcome WHERE sqlstate = 'planned') > 0 AS some_were_valid;
-- and nothing changed
SELECT (SELECT count(*) FROM tenancy.registry) = tenants AS same_tenants,
	   (SELECT count(*) FROM tenancy.audit_log) = audit_rows AS no_audit_rows
FROM fuzz_before;
