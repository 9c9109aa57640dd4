/*
 * snapshot.c
 *		The reader: everything a tenant's plans need to know about the
 *		cluster, read once, into plain structs the planners plan from.
 *
 * The planners (plan_repair(), plan_offboard()) read nothing themselves: they
 * turn a Tenant (the registry) and a TenantSnapshot (the cluster) into
 * steps.  Where each piece of the snapshot comes from:
 *
 *	- the cluster-wide catalogs (pg_roles, pg_auth_members, pg_database and
 *	  its ACLs, pg_shseclabel for the markers, pg_shdepend), in one query
 *	  with a fresh snapshot: the role and its marker, the members of the
 *	  tenant role, each registered database's existence, marker and other
 *	  grantees, stray databases carrying the tenant's marker, and the other
 *	  databases where the role owns objects or holds privileges;
 *	- the caller's identity, from the backend: its current user (the admin
 *	  of offboarding) and whether it is a superuser, its session user and
 *	  whether that may connect to each database (as the workers do);
 *	- the extension's audit log, with pg_database and pg_stat_activity: the
 *	  unfinished databases an interrupted create of this tenant left behind,
 *	  and the audit intents with no outcome.
 *
 * The snapshot is what was true when it was read, after the tenant's lock
 * was taken; each step's guard checks again, in the step's own transaction.
 */
#include "plan/plan.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

/* SQL: the tenant a marker (label l) names, as role_tenant() reads it. */
#define MARKER_OWNER_SQL \
	"CASE WHEN pg_catalog.starts_with(l.label, 'tenant=')" \
	" THEN pg_catalog.substr(l.label, 8) END"

/*
 * The cluster-wide catalogs, as rows (kind, database, name), for the tenant
 * $1, its registered databases $2 and its marker $3.  Names sort as the
 * catalogs' own name type does (collation "C").
 */
static const char *const cluster_state_sql =
"WITH tenant AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)"
" SELECT * FROM ("
" SELECT 'role'::pg_catalog.text AS kind, NULL::pg_catalog.text AS datname,"
" " MARKER_OWNER_SQL " AS name"
" FROM pg_catalog.pg_roles r LEFT JOIN pg_catalog.pg_shseclabel l ON l.objoid = r.oid"
" AND l.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND l.provider = '" MARKER_PROVIDER "'"
" WHERE r.rolname = $1"
" UNION ALL SELECT 'member', NULL, m.rolname::pg_catalog.text"
" FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles m ON m.oid = a.member"
" WHERE a.roleid = (SELECT oid FROM tenant)"
" UNION ALL SELECT 'database', d.datname::pg_catalog.text, " MARKER_OWNER_SQL
" FROM pg_catalog.pg_database d LEFT JOIN pg_catalog.pg_shseclabel l ON l.objoid = d.oid"
" AND l.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass AND l.provider = '" MARKER_PROVIDER "'"
" WHERE d.datname::pg_catalog.text = ANY ($2)"
" UNION ALL SELECT DISTINCT 'grantee', d.datname::pg_catalog.text, r.rolname::pg_catalog.text"
" FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a"
" JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
" WHERE d.datname::pg_catalog.text = ANY ($2) AND a.grantee NOT IN (d.datdba, (SELECT oid FROM tenant))"
" UNION ALL SELECT 'stray', d.datname::pg_catalog.text, NULL"
" FROM pg_catalog.pg_shseclabel l JOIN pg_catalog.pg_database d ON d.oid = l.objoid"
" WHERE l.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass"
" AND l.provider = '" MARKER_PROVIDER "' AND l.label = $3"
" AND NOT d.datname::pg_catalog.text = ANY ($2)"
" UNION ALL SELECT DISTINCT 'depends', d.datname::pg_catalog.text, NULL"
" FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_database d ON d.oid = s.dbid"
" WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass"
" AND s.refobjid = (SELECT oid FROM tenant)"
" AND NOT d.datname::pg_catalog.text = ANY ($2)"
") s ORDER BY kind, datname COLLATE \"C\", name COLLATE \"C\"";

static DatabaseState *
registered_database(TenantSnapshot *snap, const char *datname)
{
	for (int i = 0; i < snap->ndatabases; i++)
		if (strcmp(snap->databases[i].name, datname) == 0)
			return &snap->databases[i];
	elog(ERROR, "database \"%s\" is not registered", datname);
	return NULL;				/* keep compiler quiet */
}

static void
read_cluster_state(TenantSnapshot *snap, const Tenant *t)
{
	Datum	   *names = palloc(sizeof(Datum) * Max(t->ndatabases, 1));
	Oid			types[3] = {TEXTOID, TEXTARRAYOID, TEXTOID};
	Datum		values[3];
	SPITupleTable *rows;
	uint64		n;

	for (int i = 0; i < t->ndatabases; i++)
		names[i] = CStringGetTextDatum(t->database_names[i]);
	values[0] = CStringGetTextDatum(t->name);
	values[1] = PointerGetDatum(construct_array(names, t->ndatabases, TEXTOID, -1, false,
												TYPALIGN_INT));
	values[2] = CStringGetTextDatum(tenant_marker(t->name));
	catalog_execute(cluster_state_sql, 3, types, values, NULL);

	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		const char *kind = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
		char	   *datname = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
		char	   *name = SPI_getvalue(rows->vals[i], rows->tupdesc, 3);

		if (strcmp(kind, "role") == 0)
		{
			snap->role_exists = true;
			snap->role_marked_for = name;
		}
		else if (strcmp(kind, "member") == 0)
			snap->role_members = lappend(snap->role_members, name);
		else if (strcmp(kind, "database") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->exists = true;
			db->marked_for = name;
		}
		else if (strcmp(kind, "grantee") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->other_grantees = lappend(db->other_grantees, name);
		}
		else if (strcmp(kind, "stray") == 0)
			snap->stray_databases = lappend(snap->stray_databases, datname);
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
	const char *args[1] = {tenant};
	List	   *result = NIL;
	SPITupleTable *rows;
	uint64		n;

	catalog_execute_text("SELECT d.datname FROM pg_catalog.pg_database d"
						 " WHERE pg_catalog.starts_with(d.datname::pg_catalog.text, '" UNFINISHED_DATABASE_PREFIX "')"
						 " AND NOT d.datallowconn"
						 " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_shseclabel l WHERE l.objoid = d.oid"
						 " AND l.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass"
						 " AND l.provider = '" MARKER_PROVIDER "')"
						 " AND EXISTS (SELECT 1 FROM tenancy.audit_log a"
						 " WHERE a.step = '" STEP_CREATE_DATABASE "' AND a.phase = '" PHASE_INTENT "'"
						 " AND a.current_user_name = pg_catalog.pg_get_userbyid(d.datdba)"
						 " AND pg_catalog.starts_with(a.statement, 'CREATE DATABASE ' || d.datname || ' ')"
						 " AND CASE WHEN $1 IS NULL"
						 " THEN NOT EXISTS (SELECT 1 FROM tenancy.registry r WHERE r.name = a.tenant)"
						 " ELSE a.tenant = $1 END)"
						 " ORDER BY 1", 1, args);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
		result = lappend(result, SPI_getvalue(rows->vals[i], rows->tupdesc, 1));
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

/*
 * Everything the plans of one tenant need, read now (the caller in SPI,
 * holding the tenant's lock).  Three queries, each with a fresh snapshot:
 * the cluster's catalogs, the unfinished databases, the open intents.
 */
TenantSnapshot *
read_tenant_snapshot(const Tenant *t)
{
	TenantSnapshot *snap = palloc0(sizeof(TenantSnapshot));

	snap->caller = GetUserNameFromId(GetUserId(), false);
	snap->caller_is_superuser = superuser();
	snap->session_user_name = GetUserNameFromId(GetSessionUserId(), false);

	snap->ndatabases = t->ndatabases;
	snap->databases = palloc0(sizeof(DatabaseState) * Max(t->ndatabases, 1));
	for (int i = 0; i < t->ndatabases; i++)
		snap->databases[i].name = t->database_names[i];
	read_cluster_state(snap, t);
	for (int i = 0; i < t->ndatabases; i++)
		snap->databases[i].session_can_connect =
			snap->databases[i].exists && session_can_connect(t->database_names[i]);

	snap->unfinished_databases = read_unfinished_databases(t->name);
	snap->open_intents = read_open_intents(t);
	return snap;
}
