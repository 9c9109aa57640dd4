-- Redaction of what the event triggers record: they store the whole query
-- string the client sent (debug_query_string), which may hold statements
-- besides the DDL.  No value of a tenancy.aws_* setting and no comment may
-- reach tenancy.audit_log; the DDL itself stays readable.
-- psql's \; sends the statements around it as one query string, as psql -c
-- or a driver does; the first check below proves it.
\set VERBOSITY terse

-- the attack of the issue
SET tenancy.aws_secret_access_key = 'SECRETKEY123' \; CREATE TABLE public.regress_redact1 (i int);
SELECT statement LIKE 'SET tenancy.aws_secret_access_key = %; CREATE TABLE public.regress_redact1 (i int);'
       AS one_query_string
FROM tenancy.audit_log WHERE object_name = 'public.regress_redact1';

-- set_config, unquoted values, SET SESSION and SET LOCAL, quoted and
-- upper-case names (GUC names ignore case), RESET then SET, numbers
SELECT set_config('tenancy.aws_secret_access_key', 'SECRETKEY124', false) IS NOT NULL AS set \; CREATE TABLE public.regress_redact2 (i int);
SET tenancy.aws_secret_access_key TO SECRETKEY125 \; SET SESSION tenancy.aws_access_key_id = AKIDSECRETKEY126 \; CREATE TABLE public.regress_redact3 (i int);
SET LOCAL "Tenancy"."AWS_SECRET_ACCESS_KEY" = 'SECRETKEY127' \; RESET tenancy.aws_secret_access_key \;
    SET "tenancy.aws_session_token" TO 'SECRETKEY128' \; CREATE TABLE public.regress_redact4 (i int);
SET tenancy.aws_secret_access_key = 987654321 \; SET tenancy.aws_secret_access_key TO -987654320 \; CREATE TABLE public.regress_redact5 (i int);

-- every way to write a literal: dollar quotes, E'' with \', U&'' with
-- escapes, doubled quotes, a literal continued on the next line
SET tenancy.aws_secret_access_key = $$SECRETKEY129$$ \; SET tenancy.aws_secret_access_key = $q$SECRETKEY130$q$ \; CREATE TABLE public.regress_redact6 (i int);
SET tenancy.aws_secret_access_key = E'SECRETKEY131\'s' \; SET tenancy.aws_secret_access_key = U&'SECRET\004BEY132' \; CREATE TABLE public.regress_redact7 (i int);
SET tenancy.aws_secret_access_key = U&'SECRET!004BEY133' UESCAPE '!' \; CREATE TABLE public.regress_redact8 (i int);
SET tenancy.aws_secret_access_key = 'SECRET''KEY134' \; SET tenancy.aws_secret_access_key = 'SECRETKEY'
    '135' \; CREATE TABLE public.regress_redact9 (i int);
-- names written with U& escapes
SET U&"tenancy".U&"\0061ws_session_token" = 'SECRETKEY136' \; CREATE TABLE public.regress_redact10 (i int);

-- comments go, wherever they are, nested ones too; literals and numbers of
-- a statement that does not touch a tenancy.aws_* setting stay
/* pw: hunter1 */ CREATE /* a /* hunter2 */ b */ TABLE public.regress_redact11 ( -- hunter3
    i int DEFAULT 11, /* hunter4 */
    -- hunter5
    t text DEFAULT 'a' -- hunter6
        'b'
) \; -- hunter7
COMMENT ON TABLE public.regress_redact11 IS 'kept';

-- a name inside a literal is enough, and it taints only its own statement;
-- set_config may take the name from elsewhere, so it is always redacted
SELECT 'tenancy.aws_secret_access_key' AS name \; CREATE TABLE public.regress_redact12 (i int DEFAULT 12, t text DEFAULT 'shown');
SET regress.name = 'tenancy.aws_secret_access_key' \; SELECT set_config(current_setting('regress.name'), 'SECRETKEY137', false) IS NOT NULL AS set \; CREATE TABLE public.regress_redact13 (i int);

-- a routine body is a literal, but in SQL or PL/pgSQL it is code: its
-- comments go too; one that sets a tenancy.aws_* setting is not shown
CREATE FUNCTION public.regress_redact_f1() RETURNS int LANGUAGE sql
AS $$ SELECT 1 /* hunter9 */ $$;
CREATE FUNCTION public.regress_redact_f2() RETURNS int AS '
    -- hunter10
    SELECT 2;
' LANGUAGE sql;
CREATE FUNCTION public.regress_redact_f3() RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM set_config('tenancy.aws_secret_access_key', 'SECRETKEY138', true);
    RETURN 3;
END
$f$;
DO $$
BEGIN
    -- hunter11
    CREATE TABLE public.regress_redact14 (i int /* hunter12 */);
END
$$;
-- a string inside a body is data: its text is shown (it is in the log as
-- the body was written, and for functions also in pg_proc.prosrc)
CREATE FUNCTION public.regress_redact_f4() RETURNS text LANGUAGE sql
AS $$ SELECT 'no comment /* here */' $$;

-- the password rules stay; and the options of a server are not shown in
-- the row of another command of the same string either
COMMENT ON TABLE public.regress_redact1 IS 'the password is hunter13';
CREATE FOREIGN DATA WRAPPER regress_redact_fdw \; CREATE SERVER regress_redact_srv FOREIGN DATA WRAPPER regress_redact_fdw
    OPTIONS (token 'hunter14') \; CREATE TABLE public.regress_redact15 (i int);

SELECT statement FROM tenancy.audit_log
WHERE phase = 'ddl' AND object_name LIKE 'public.regress_redact%'
ORDER BY id;

-- settings that hold credentials are kept out of the catalogs, where every
-- role could read them (the library is loaded by now: the event trigger
-- ran), in every form ALTER ROLE / DATABASE and functions take
DO $$ BEGIN
    EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET tenancy.aws_access_key_id = %L',
                   current_database(), 'AKIDSTORED1');
END $$;
ALTER ROLE ALL SET tenancy.aws_session_token = 'SECRETKEYSTORED2';
SET tenancy.aws_secret_access_key = 'SECRETKEYSTORED3';
CREATE FUNCTION public.regress_redact_f5() RETURNS int LANGUAGE sql
    SET tenancy.aws_secret_access_key FROM CURRENT AS 'SELECT 5';
ALTER FUNCTION public.regress_redact_f1() SET tenancy.aws_secret_access_key = 'SECRETKEYSTORED4';
SELECT count(*) AS stored FROM pg_db_role_setting
WHERE array_to_string(setconfig, ' ') ~* 'tenancy\.aws_';
SELECT count(*) AS stored FROM pg_proc
WHERE array_to_string(proconfig, ' ') ~* 'tenancy\.aws_';

DROP TABLE public.regress_redact1, public.regress_redact2, public.regress_redact3,
    public.regress_redact4, public.regress_redact5, public.regress_redact6,
    public.regress_redact7, public.regress_redact8, public.regress_redact9,
    public.regress_redact10, public.regress_redact11, public.regress_redact12,
    public.regress_redact13, public.regress_redact14, public.regress_redact15;
DROP SERVER regress_redact_srv;
DROP FOREIGN DATA WRAPPER regress_redact_fdw;
DROP FUNCTION public.regress_redact_f1(), public.regress_redact_f2(),
    public.regress_redact_f3(), public.regress_redact_f4();

-- nothing of it anywhere in the log, in any case
SELECT count(*) AS leaked FROM tenancy.audit_log
WHERE statement ~* '(secretkey|akid|hunter|98765432|[kb]ey13[0-9])';

RESET tenancy.aws_secret_access_key;
RESET tenancy.aws_access_key_id;
RESET tenancy.aws_session_token;
RESET regress.name;
