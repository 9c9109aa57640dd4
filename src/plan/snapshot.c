/*
 * snapshot.c
 *		The reader: everything a tenant's plans need to know about the
 *		cluster, read once, into plain structs the planners plan from.
 *
 * The planners (plan_repair(), plan_offboard()) read nothing themselves: they
 * turn a Tenant (the registry) and a TenantSnapshot (the cluster) into
 * steps.  Where each piece of the snapshot comes from:
 *
 *	- the cluster-wide catalogs of the cluster the operation acts on
 *	  (pg_roles, pg_auth_members, pg_database and its ACLs, the markers,
 *	  pg_shdepend), in one query through cluster_query() (this cluster: as
 *	  the caller, in SPI; a target: as the mapped user, over libpq): the
 *	  caller (current user, superuser, CREATEROLE, CREATEDB), its session
 *	  user and whether that may connect to each database (as the executor
 *	  will), the IAM role, what is wrong with the
 *	  database template, the tenant role and its marker, its members, each
 *	  registered database's existence, marker and other grantees, stray
 *	  databases carrying the tenant's marker, and the other databases where
 *	  the role owns objects or holds privileges;
 *	- the same cluster's unreachable unmarked databases, each vouched for by
 *	  an intent row of this tenant's in the extension's audit log: the
 *	  unfinished databases an interrupted create left behind;
 *	- the extension's audit log, with pg_stat_activity: the audit intents
 *	  with no outcome.
 *
 * The snapshot is what was true when it was read, after the tenant's lock
 * was taken; each step's guard checks again, in the step's own transaction.
 */
#include "plan/plan.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

/*
 * The cluster-wide catalogs, as rows (kind, database, name, flag), for the
 * tenant $1, its registered databases $2 (a text[]), the IAM role $3 and the
 * database template $4.  Markers come as their text (marker_owner() reads
 * them).  Names sort as the catalogs' own name type does (collation "C").
 */
static char *
cluster_state_sql(void)
{
	return psprintf("WITH tenant AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1),"
					" caller AS (SELECT * FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER)"
					" SELECT * FROM ("
					" SELECT 'caller'::pg_catalog.text AS kind, NULL::pg_catalog.text AS datname,"
					" CURRENT_USER::pg_catalog.text AS name, rolsuper::pg_catalog.text AS flag FROM caller"
					" UNION ALL SELECT 'createrole', NULL, NULL, (rolsuper OR rolcreaterole)::pg_catalog.text FROM caller"
					" UNION ALL SELECT 'createdb', NULL, NULL, (rolsuper OR rolcreatedb)::pg_catalog.text FROM caller"
					" UNION ALL SELECT 'session', NULL, SESSION_USER::pg_catalog.text, NULL"
					" UNION ALL SELECT 'iam_role', NULL, i.rolname::pg_catalog.text,"
					" (NOT c.rolsuper AND pg_catalog.pg_has_role(CURRENT_USER, i.oid, 'USAGE'))::pg_catalog.text"
					" FROM pg_catalog.pg_roles i, caller c WHERE i.rolname = $3"
					" UNION ALL SELECT 'template', NULL, CASE WHEN d.oid IS NULL THEN 'it does not exist'"
					" WHEN NOT d.datallowconn THEN NULL"
					" WHEN pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')"
					" THEN 'PUBLIC may connect to it'"
					" WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE %s"
					" AND pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT'))"
					" THEN 'a tenant may connect to it' END, NULL"
					" FROM (SELECT $4::pg_catalog.name AS datname) n"
					" LEFT JOIN pg_catalog.pg_database d ON d.datname = n.datname"
					" UNION ALL SELECT 'role', NULL, %s, NULL FROM pg_catalog.pg_roles r WHERE r.rolname = $1"
					" UNION ALL SELECT 'member', NULL, m.rolname::pg_catalog.text,"
					" pg_catalog.bool_and(c.rolsuper OR pg_catalog.current_setting('server_version_num')::pg_catalog.int4 < 160000"
					" OR pg_catalog.pg_has_role(CURRENT_USER, a.grantor, 'USAGE'))::pg_catalog.text"
					" FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles m ON m.oid = a.member, caller c"
					" WHERE a.roleid = (SELECT oid FROM tenant) AND " MEMBERSHIP_CONFERS_SQL("a")
					" GROUP BY m.rolname"
					" UNION ALL SELECT 'database', d.datname::pg_catalog.text, %s,"
					" pg_catalog.has_database_privilege(SESSION_USER, d.oid, 'CONNECT')::pg_catalog.text"
					" FROM pg_catalog.pg_database d WHERE d.datname::pg_catalog.text = ANY ($2::pg_catalog.text[])"
					" UNION ALL SELECT DISTINCT 'grantee', d.datname::pg_catalog.text, r.rolname::pg_catalog.text, NULL"
					" FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a"
					" JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
					" WHERE d.datname::pg_catalog.text = ANY ($2::pg_catalog.text[])"
					" AND a.grantee NOT IN (d.datdba, (SELECT oid FROM tenant))"
					" UNION ALL SELECT 'marked', d.datname::pg_catalog.text, %s, NULL"
					" FROM pg_catalog.pg_database d WHERE %s"
					" AND NOT d.datname::pg_catalog.text = ANY ($2::pg_catalog.text[])"
					" UNION ALL SELECT DISTINCT 'depends', d.datname::pg_catalog.text, NULL, NULL"
					" FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_database d ON d.oid = s.dbid"
					" WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass"
					" AND s.refobjid = (SELECT oid FROM tenant)"
					" AND NOT d.datname::pg_catalog.text = ANY ($2::pg_catalog.text[])"
					") s ORDER BY kind, datname COLLATE \"C\", name COLLATE \"C\"",
					marker_present_sql(true, "r.oid"), marker_text_sql(true, "r.oid"),
					marker_text_sql(false, "d.oid"), marker_text_sql(false, "d.oid"),
					marker_present_sql(false, "d.oid"));
}

static DatabaseState *
registered_database(TenantSnapshot *snap, const char *datname)
{
	for (int i = 0; i < snap->ndatabases; i++)
		if (strcmp(snap->databases[i].name, datname) == 0)
			return &snap->databases[i];
	elog(ERROR, "database \"%s\" is not registered", datname);
	return NULL;				/* keep compiler quiet */
}

/* A text[] literal of names. */
static char *
text_array_literal(int n, const char *const *names)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		appendStringInfoString(&buf, i ? ",\"" : "\"");
		for (const char *p = names[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* A boolean cast to text: "true" */
static bool
is_true(const char *flag)
{
	return flag != NULL && strcmp(flag, "true") == 0;
}

static void
read_cluster_state(TenantSnapshot *snap, const Tenant *t)
{
	const char *params[4];
	Rows	   *rows;

	params[0] = t->name;
	params[1] = text_array_literal(t->ndatabases, t->database_names);
	params[2] = tenancy_iam_role;
	params[3] = tenancy_database_template;
	rows = cluster_query(cluster_state_sql(), 4, params);

	for (int i = 0; i < rows->nrows; i++)
	{
		const char *kind = ROWS_CELL(rows, i, 0);
		char	   *datname = ROWS_CELL(rows, i, 1);
		char	   *name = ROWS_CELL(rows, i, 2);
		const char *flag = ROWS_CELL(rows, i, 3);

		if (strcmp(kind, "caller") == 0)
		{
			snap->caller = name;
			snap->caller_is_superuser = is_true(flag);
		}
		else if (strcmp(kind, "createrole") == 0)
			snap->caller_can_createrole = is_true(flag);
		else if (strcmp(kind, "createdb") == 0)
			snap->caller_can_createdb = is_true(flag);
		else if (strcmp(kind, "session") == 0)
			snap->session_user_name = name;
		else if (strcmp(kind, "iam_role") == 0)
		{
			snap->iam_role_exists = true;
			snap->caller_in_iam_role = is_true(flag);
		}
		else if (strcmp(kind, "template") == 0)
			snap->template_problem = name;
		else if (strcmp(kind, "role") == 0)
		{
			snap->role_exists = true;
			snap->role_marked_for = marker_owner(true, t->name, name);
		}
		else if (strcmp(kind, "member") == 0)
		{
			snap->role_members = lappend(snap->role_members, name);
			if (!is_true(flag))
				snap->role_members_unrevokable = lappend(snap->role_members_unrevokable, name);
		}
		else if (strcmp(kind, "database") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->exists = true;
			db->marked_for = marker_owner(false, datname, name);
			db->session_can_connect = is_true(flag);
		}
		else if (strcmp(kind, "grantee") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->other_grantees = lappend(db->other_grantees, name);
		}
		else if (strcmp(kind, "marked") == 0)
		{
			char	   *owner = marker_owner(false, datname, name);

			if (owner && strcmp(owner, t->name) == 0)
				snap->stray_databases = lappend(snap->stray_databases, datname);
		}
		else if (strcmp(kind, "depends") == 0)
			snap->dependent_databases = lappend(snap->dependent_databases, datname);
	}
}

/*
 * Unfinished databases (see plan_database) that an interrupted create of
 * this tenant (NULL: of a tenant no longer registered) left behind: nobody
 * can connect to them, they carry no marker, and the audit log shows that
 * their owner set out to create exactly that name for the tenant.
 */
List *
read_unfinished_databases(const char *tenant)
{
	List	   *result = NIL;
	Rows	   *rows = cluster_query(psprintf("SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba)"
											  " FROM pg_catalog.pg_database d"
											  " WHERE pg_catalog.starts_with(d.datname::pg_catalog.text, '" UNFINISHED_DATABASE_PREFIX "')"
											  " AND NOT d.datallowconn AND NOT %s ORDER BY 1",
											  marker_present_sql(false, "d.oid")),
									 0, NULL);

	for (int i = 0; i < rows->nrows; i++)
	{
		const char *args[4] = {tenant, ROWS_CELL(rows, i, 0), ROWS_CELL(rows, i, 1),
		current_cluster ? current_cluster->name : NULL};
		char	   *vouched;

		catalog_execute_text("SELECT EXISTS (SELECT 1 FROM tenancy.audit_log a"
							 " WHERE a.step = '" STEP_CREATE_DATABASE "' AND a.phase = '" PHASE_INTENT "'"
							 " AND a.cluster IS NOT DISTINCT FROM $4"
							 " AND COALESCE(a.cluster_user, a.current_user_name) = $3"
							 " AND pg_catalog.starts_with(a.statement, 'CREATE DATABASE ' || $2 || ' ')"
							 /* done: it was renamed, so one of that name now is not ours */
							 " AND NOT EXISTS (SELECT 1 FROM tenancy.audit_log o"
							 " WHERE o.operation_id = a.operation_id AND o.step = a.step"
							 " AND o.object_name = a.object_name AND o.phase = '" PHASE_DONE "' AND o.id > a.id)"
							 " AND CASE WHEN $1 IS NULL"
							 " THEN NOT EXISTS (SELECT 1 FROM tenancy.registry r WHERE r.name = a.tenant)"
							 " ELSE a.tenant = $1 END)", 4, args);
		vouched = catalog_value();
		if (vouched && strcmp(vouched, "t") == 0)
			result = lappend(result, ROWS_CELL(rows, i, 0));
	}
	return result;
}

/*
 * Audit intents of this tenant that never got an outcome, from operations
 * that are not running any more.
 */
static List *
read_open_intents(const Tenant *t)
{
	List	   *result = NIL;
	SPITupleTable *rows;
	uint64		n;

	catalog_execute(psprintf("SELECT a.id, a.operation_id, a.step, a.object_name %s ORDER BY a.id",
							 open_intents_sql(t->name)),
					0, NULL, NULL, NULL);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		OpenIntent *intent = palloc(sizeof(OpenIntent));

		intent->id = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
		intent->operation_id = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
		intent->step = SPI_getvalue(rows->vals[i], rows->tupdesc, 3);
		intent->object_name = SPI_getvalue(rows->vals[i], rows->tupdesc, 4);
		result = lappend(result, intent);
	}
	return result;
}

/* Only what the cluster-wide catalogs say (one query), as below. */
TenantSnapshot *
read_cluster_snapshot(const Tenant *t)
{
	TenantSnapshot *snap = palloc0(sizeof(TenantSnapshot));

	snap->ndatabases = t->ndatabases;
	snap->databases = palloc0(sizeof(DatabaseState) * Max(t->ndatabases, 1));
	for (int i = 0; i < t->ndatabases; i++)
		snap->databases[i].name = t->database_names[i];
	read_cluster_state(snap, t);
	return snap;
}

/*
 * Everything the plans of one tenant need, read now (the caller in SPI,
 * holding the tenant's lock).  Three queries, each with a fresh snapshot:
 * the cluster's catalogs, the unfinished databases, the open intents.
 */
TenantSnapshot *
read_tenant_snapshot(const Tenant *t)
{
	TenantSnapshot *snap = read_cluster_snapshot(t);

	snap->unfinished_databases = read_unfinished_databases(t->name);
	snap->open_intents = read_open_intents(t);
	return snap;
}
