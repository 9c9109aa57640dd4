/*
 * operation.c
 *		What every tenant operation shares: the refusal to run inside a
 *		transaction block, the tenant's lock, reading the tenant from the
 *		registry, and running a plan.
 */
#include "api/api.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

/*
 * Like CREATE DATABASE, an operation cannot run inside a transaction block:
 * its steps commit one by one in the executor and cannot be rolled back
 * with the caller's transaction.
 */
void
refuse_in_transaction_block(const char *function)
{
	if (IsTransactionBlock() || IsSubTransaction() || (MyXactFlags & XACT_FLAGS_PIPELINING))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", function),
				 errdetail("Its steps commit one by one and cannot be rolled back with the surrounding transaction."),
				 errhint("Call it on its own, outside BEGIN ... COMMIT. In migration tools, mark the script non-transactional: Flyway executeInTransaction=false, Liquibase runInTransaction:false.")));
}

/* The transaction-level advisory lock (classid, hashtext(name)) of this database. */
static void
lock_name(uint32 classid, const char *name)
{
	LOCKTAG		tag;
	uint32		hash = DatumGetUInt32(hash_any((const unsigned char *) name, strlen(name)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, classid, hash, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * One operation per tenant at a time: a transaction-level advisory lock on
 * (TENANT_LOCK_CLASS, hashtext(tenant)) in this database, the same lock as
 * pg_advisory_xact_lock(TENANT_LOCK_CLASS, hashtext(tenant)), so it shows in
 * pg_locks and a DBA can take it by hand.  Different tenants never wait for
 * each other (but for a hash collision, which only serialises them).
 */
void
lock_tenant(const char *tenant)
{
	/*
	 * A plan must be made from what is true once the lock is held.  Under
	 * REPEATABLE READ or SERIALIZABLE the statement's snapshot predates the
	 * wait and cannot move, so such a plan could undo or repeat the work of
	 * the operation that held the lock.
	 */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tenancy functions cannot run at isolation level %s",
						XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errdetail("An operation plans from the state of the cluster after it holds the tenant's lock, which needs a new snapshot per statement."),
				 errhint("Run it at READ COMMITTED: SET default_transaction_isolation = 'read committed'.")));

	lock_name(TENANT_LOCK_CLASS, tenant);

	/* the syscache must see what the lock's previous holder committed */
	AcceptInvalidationMessages();
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Database names are claimed under a lock of their own, taken after the
 * tenant's and in name order (so two claims never deadlock): two tenants
 * whose names meet (x1 + y_z, x1_y + z) are serialised, and the second sees
 * the first's registration and gets a clear error, not a unique violation.
 */
/* Locks of one class on several names, in name order (no deadlock between two such). */
static void
lock_sorted(uint32 classid, int n, const char **names)
{
	const char **sorted = palloc(sizeof(char *) * Max(n, 1));
	int			i;

	memcpy(sorted, names, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), compare_names);
	for (i = 0; i < n; i++)
		lock_name(classid, sorted[i]);
	AcceptInvalidationMessages();
}

void
lock_database_names(int n, const char **names)
{
	lock_sorted(DATABASE_NAME_LOCK_CLASS, n, names);
}

/* The locks of several tenants (a manifest's), in name order. */
void
lock_tenants(int n, const char **names)
{
	if (IsolationUsesXactSnapshot() && n > 0)
		lock_tenant(names[0]);	/* refused there, with its reason */
	lock_sorted(TENANT_LOCK_CLASS, n, names);
}

void
refuse_null(const char *argument)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s must not be null", argument)));
}

/* A tenant name argument: present and well-formed. */
char *
tenant_argument(FunctionCallInfo fcinfo, int argno)
{
	char	   *tenant;

	if (PG_ARGISNULL(argno))
		refuse_null("tenant");
	tenant = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	validate_tenant_name(tenant);
	return tenant;
}

/*
 * The registry's columns a Tenant is made of (tenant_from_row), as the
 * installed version of the extension has them.  The caller is connected to
 * SPI.
 */
char *
tenant_columns_sql(void)
{
	return psprintf("name, state, iam_auth, deletion_protection, connection_limit,"
					" allowed_ips::pg_catalog.text, login_before_suspend IS NOT FALSE, %s, %s",
					catalog_knows_clusters() ? "cluster" : "NULL::pg_catalog.text",
					catalog_knows_iam() ? "iam_principal, iam_external_id, aws_access_key_id" :
					"NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text");
}

/* A Tenant, without its databases, from a row of tenant_columns_sql(). */
Tenant *
tenant_from_row(HeapTuple row, TupleDesc desc)
{
	Tenant	   *t = palloc0(sizeof(Tenant));
	bool		isnull;

	t->name = SPI_getvalue(row, desc, 1);
	t->state = SPI_getvalue(row, desc, 2);
	t->iam_auth = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
	t->deletion_protection = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
	t->connection_limit = DatumGetInt32(SPI_getbinval(row, desc, 5, &isnull));
	t->allowed_ips = SPI_getvalue(row, desc, 6);
	t->login_before_suspend = DatumGetBool(SPI_getbinval(row, desc, 7, &isnull));
	t->cluster = SPI_getvalue(row, desc, 8);
	t->iam_principal = SPI_getvalue(row, desc, 9);
	t->iam_external_id = SPI_getvalue(row, desc, 10);
	t->aws_access_key_id = SPI_getvalue(row, desc, 11);
	return t;
}

/*
 * The registry's row of a tenant with its active databases, or NULL.  The
 * caller is connected to SPI; the result is allocated in its context.
 */
Tenant *
load_tenant(const char *name)
{
	const char *args[1] = {name};
	Tenant	   *t;
	uint64		i;

	catalog_execute_text(psprintf("SELECT %s FROM tenancy.registry WHERE name = $1",
								  tenant_columns_sql()), 1, args);
	if (SPI_processed == 0)
		return NULL;
	t = tenant_from_row(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);

	catalog_execute_text("SELECT short_name, database_name FROM tenancy.tenant_databases"
						 " WHERE tenant = $1 AND state = 'active' ORDER BY short_name", 1, args);
	t->ndatabases = SPI_processed;
	t->short_names = palloc(sizeof(char *) * Max(t->ndatabases, 1));
	t->database_names = palloc(sizeof(char *) * Max(t->ndatabases, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		t->short_names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		t->database_names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	return t;
}

/*
 * The start of every operation on a tenant: not in a transaction block, a
 * valid name (argument 0), the tenant's lock, SPI, and the tenant as
 * registered (NULL when it is not), whose cluster the operation acts on.
 */
Tenant *
open_tenant(FunctionCallInfo fcinfo, const char *function)
{
	char	   *name;
	Tenant	   *t;

	refuse_in_transaction_block(function);
	name = tenant_argument(fcinfo, 0);
	lock_tenant(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	t = load_tenant(name);
	use_cluster(t ? t->cluster : NULL);
	return t;
}

/*
 * The snapshot of a tenant (full: with unfinished databases and open
 * intents), once the remote admin is known to be fit: on Aurora a role that
 * inherits the IAM role can log in only with an IAM token, so an admin that
 * logs in with a password must not, and one that uses tokens must.
 */
TenantSnapshot *
read_checked_snapshot(const Tenant *t, bool full)
{
	TenantSnapshot *snap = full ? read_tenant_snapshot(t) : read_cluster_snapshot(t);

	if (current_cluster && !current_cluster->iam_auth && snap->caller_in_iam_role)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("remote admin \"%s\" of cluster \"%s\" is a member of the IAM role \"%s\"",
						snap->caller, current_cluster->name, tenancy_iam_role),
				 errdetail("On Aurora a role that inherits the IAM role can no longer log in with a password: this admin would lock itself out."),
				 errhint("Revoke the membership (on PostgreSQL 16 and later keep ADMIN OPTION with INHERIT FALSE), or use auth 'iam' for the server.")));
	if (current_cluster && current_cluster->iam_auth && snap->iam_role_exists && !snap->caller_in_iam_role)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("remote admin \"%s\" of cluster \"%s\" is not a member of the IAM role \"%s\"",
						snap->caller, current_cluster->name, tenancy_iam_role),
				 errdetail("With auth 'iam' the admin logs in with IAM tokens, which Aurora accepts only for members of the IAM role.")));
	return snap;
}

static void
refuse_foreign(const char *kind, const char *name, const char *marker_of, const char *tenant)
{
	if (marker_of == NULL || strcmp(marker_of, tenant) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s \"%s\" is not tenant \"%s\"'s", kind, name, tenant),
				 errdetail("It carries no marker of the tenant; aurora_tenancy never acts on what it did not create."),
				 errhint("tenancy.check() shows it. If an onboarding was interrupted, run tenancy.onboard() again; otherwise resolve it by hand.")));
}

/*
 * The tenant's role and databases, where they exist, must carry its marker:
 * a role or database that merely has the tenant's name (re-created by hand,
 * restored, renamed) is never altered, granted to or dropped.  Returns the
 * snapshot it checked: with databases_too (operations that drop databases)
 * the whole one, which offboarding plans from.
 */
TenantSnapshot *
refuse_unmarked(const Tenant *t, bool databases_too)
{
	TenantSnapshot *snap = read_checked_snapshot(t, databases_too);

	if (snap->role_exists)
		refuse_foreign("role", t->name, snap->role_marked_for, t->name);
	for (int i = 0; databases_too && i < t->ndatabases; i++)
		if (snap->databases[i].exists)
			refuse_foreign("database", t->database_names[i], snap->databases[i].marked_for, t->name);
	return snap;
}

/* open_tenant() for a tenant that must exist and not be leaving. */
Tenant *
begin_tenant_operation(FunctionCallInfo fcinfo, const char *function)
{
	Tenant	   *t = open_tenant(fcinfo, function);

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" does not exist", text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("List the tenants with SELECT name FROM tenancy.tenants.")));
	if (strcmp(t->state, STATE_OFFBOARDING) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is being offboarded", t->name),
				 errhint("Complete the offboarding first: call tenancy.offboard() again.")));
	return t;
}

static void
refuse_privilege(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", what),
			 errdetail("%s", detail),
			 errhint("Nothing was changed.")));
}

/*
 * Every privilege a plan's steps need, checked before the first step, so
 * that an operation the caller may not complete changes nothing (rather
 * than, say, locking the tenant out and then failing to drop a database).
 * Asked of the cluster the plan runs on, in one query: rows (kind, object,
 * step, role) for what is missing.  PostgreSQL checks again when each step
 * runs.
 */
static void
refuse_unrunnable_plan(List *plan)
{
	StringInfoData sql;
	ListCell   *lc;
	Rows	   *missing;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text WHERE false");
	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		const char *name = quote_literal_cstr(step->name);

		if (step->statement == NULL || step->as_owner)
			continue;
		if (step->database)
			appendStringInfo(&sql, " UNION ALL SELECT 'connect', d.datname::pg_catalog.text, %s, SESSION_USER::pg_catalog.text"
							 " FROM pg_catalog.pg_database d WHERE d.datname = %s"
							 " AND NOT pg_catalog.has_database_privilege(SESSION_USER, d.oid, 'CONNECT')",
							 name, quote_literal_cstr(step->database));
		if (strcmp(step->name, STEP_DROP_DATABASE) == 0 || strcmp(step->name, STEP_RETAIN_DATABASE) == 0 ||
			strcmp(step->name, STEP_DROP_UNFINISHED) == 0)
			appendStringInfo(&sql, " UNION ALL SELECT 'owner', d.datname::pg_catalog.text, %s, pg_catalog.pg_get_userbyid(d.datdba)::pg_catalog.text"
							 " FROM pg_catalog.pg_database d WHERE d.datname = %s"
							 " AND NOT pg_catalog.pg_has_role(CURRENT_USER, d.datdba, 'USAGE')",
							 name, quote_literal_cstr(step->object_name));
		if (strcmp(step->object_type, "role") == 0)
			appendStringInfo(&sql, " UNION ALL SELECT 'createrole', %s, %s, NULL"
							 " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles"
							 " WHERE rolname = CURRENT_USER AND (rolsuper OR rolcreaterole))",
							 quote_literal_cstr(step->object_name), name);
		/* from PostgreSQL 16, CREATEROLE acts only on roles held WITH ADMIN OPTION */
		if (strcmp(step->object_type, "role") == 0)
			appendStringInfo(&sql, " UNION ALL SELECT 'admin_option', r.rolname::pg_catalog.text, %s, NULL"
							 " FROM pg_catalog.pg_roles r WHERE r.rolname IN (%s, %s)"
							 " AND pg_catalog.current_setting('server_version_num')::pg_catalog.int4 >= 160000"
							 " AND NOT pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'MEMBER WITH ADMIN OPTION')",
							 name, quote_literal_cstr(step->object_name),
							 strcmp(step->name, STEP_GRANT_IAM) == 0 || strcmp(step->name, STEP_REVOKE_IAM) == 0 ?
							 quote_literal_cstr(tenancy_iam_role) : "NULL");
		if (strcmp(step->name, STEP_TERMINATE_SESSIONS) == 0)
			appendStringInfo(&sql, " UNION ALL SELECT 'signal', %s, %s, NULL"
							 " WHERE NOT pg_catalog.pg_has_role(CURRENT_USER, 'pg_signal_backend', 'USAGE')",
							 quote_literal_cstr(step->object_name), name);
	}
	missing = cluster_query(sql.data, 0, NULL);
	if (missing->nrows == 0)
		return;
	{
		const char *kind = ROWS_CELL(missing, 0, 0);
		const char *object = ROWS_CELL(missing, 0, 1);
		const char *step = ROWS_CELL(missing, 0, 2);
		const char *role = ROWS_CELL(missing, 0, 3);

		if (strcmp(kind, "connect") == 0)
			refuse_privilege(psprintf("connect to database \"%s\"", object),
							 psprintf("The step %s runs inside it, as role \"%s\".", step, role));
		else if (strcmp(kind, "owner") == 0)
			refuse_privilege(psprintf("change database \"%s\"", object),
							 psprintf("The step %s needs the privileges of its owner, role \"%s\".", step, role));
		else if (strcmp(kind, "createrole") == 0)
			refuse_privilege(psprintf("change role \"%s\"", object),
							 psprintf("The step %s needs the CREATEROLE attribute.", step));
		else if (strcmp(kind, "admin_option") == 0)
			refuse_privilege(psprintf("change role \"%s\"", object),
							 psprintf("The step %s needs ADMIN OPTION on it (PostgreSQL 16 and later), which the role that created it holds.", step));
		else
			refuse_privilege(psprintf("end the sessions of role \"%s\"", object),
							 "Ending a tenant's sessions needs the privileges of pg_signal_backend.");
	}
}

/*
 * Executes a plan in one operation; returns the number of steps that
 * changed something.  If watched is given, *watched_ran tells whether that
 * step ran (e.g. the step that set a password about to be returned).
 */
int
run_plan(const char *operation, const char *tenant, List *plan,
		 Step *watched, bool *watched_ran)
{
	return run_plan_in(NULL, operation, tenant, plan, watched, watched_ran);
}

/* run_plan() with an executor begun earlier (NULL: begun here); ends it. */
int
run_plan_in(Executor *ex, const char *operation, const char *tenant, List *plan,
			Step *watched, bool *watched_ran)
{
	ListCell   *lc;
	int			changes = 0;

	refuse_unrunnable_plan(plan);
	if (ex == NULL)
		ex = executor_begin(operation, tenant, false);

	if (watched_ran)
		*watched_ran = false;
	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);

		if (executor_run_step(ex, step))
		{
			changes++;
			if (step == watched)
				*watched_ran = true;
		}
	}
	executor_end(ex);
	return changes;
}

/*
 * Runs fn(arg) in a subtransaction; returns its error (NULL: none), the
 * caller's transaction going on either way.  For operations over many
 * tenants: one cluster that is down does not stop the others.  What fn
 * changed through the executor is committed already, step by step.
 */
ErrorData *
run_isolated(void (*fn) (void *), void *arg)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	ErrorData  *edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller_context);
	CurrentResourceOwner = caller_owner;
	return edata;
}

/*
 * Is the last of the given step on an object, for this tenant, in the audit
 * log?  (E.g. was this database dropped by this tenant's operation.)
 */
bool
audit_says(const char *tenant, const char *object_name, const char *step)
{
	const char *args[3] = {tenant, object_name, step};
	char	   *found;

	catalog_execute_text("SELECT step = $3 FROM tenancy.audit_log"
						 " WHERE tenant = $1 AND object_name = $2 AND phase = '" PHASE_DONE "'"
						 " ORDER BY id DESC LIMIT 1", 3, args);
	found = catalog_value();
	return found != NULL && strcmp(found, "t") == 0;
}
