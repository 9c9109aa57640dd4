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
void
lock_database_names(int n, const char **names)
{
	const char **sorted = palloc(sizeof(char *) * Max(n, 1));
	int			i;

	memcpy(sorted, names, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), compare_names);
	for (i = 0; i < n; i++)
		lock_name(DATABASE_NAME_LOCK_CLASS, sorted[i]);
	AcceptInvalidationMessages();
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
 * The registry's row of a tenant with its active databases, or NULL.  The
 * caller is connected to SPI; the result is allocated in its context.
 */
Tenant *
load_tenant(const char *name)
{
	const char *args[1] = {name};
	Tenant	   *t;
	TupleDesc	desc;
	HeapTuple	row;
	bool		isnull;
	uint64		i;

	catalog_execute_text("SELECT name, state, iam_auth, deletion_protection, connection_limit,"
						 " allowed_ips::pg_catalog.text, login_before_suspend IS NOT FALSE"
						 " FROM tenancy.registry WHERE name = $1", 1, args);
	if (SPI_processed == 0)
		return NULL;
	t = palloc0(sizeof(Tenant));
	desc = SPI_tuptable->tupdesc;
	row = SPI_tuptable->vals[0];
	t->name = SPI_getvalue(row, desc, 1);
	t->state = SPI_getvalue(row, desc, 2);
	t->iam_auth = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
	t->deletion_protection = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
	t->connection_limit = DatumGetInt32(SPI_getbinval(row, desc, 5, &isnull));
	t->allowed_ips = SPI_getvalue(row, desc, 6);
	t->login_before_suspend = DatumGetBool(SPI_getbinval(row, desc, 7, &isnull));

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
 * registered (NULL when it is not).
 */
Tenant *
open_tenant(FunctionCallInfo fcinfo, const char *function)
{
	char	   *name;

	refuse_in_transaction_block(function);
	name = tenant_argument(fcinfo, 0);
	lock_tenant(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return load_tenant(name);
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
 * restored, renamed) is never altered, granted to or dropped.
 */
void
refuse_unmarked(const Tenant *t, bool databases_too)
{
	int			i;

	if (OidIsValid(get_role_oid(t->name, true)))
		refuse_foreign("role", t->name, role_tenant(t->name), t->name);
	for (i = 0; databases_too && i < t->ndatabases; i++)
		if (OidIsValid(get_database_oid(t->database_names[i], true)))
			refuse_foreign("database", t->database_names[i],
						   database_tenant(t->database_names[i]), t->name);
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

static char *
database_owner_name(Oid dboid)
{
	HeapTuple	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for database %u", dboid);
	owner = ((Form_pg_database) GETSTRUCT(tuple))->datdba;
	ReleaseSysCache(tuple);
	return GetUserNameFromId(owner, false);
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
 * PostgreSQL checks again when each step runs.
 */
static void
refuse_unrunnable_plan(List *plan)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		Oid			dboid;

		if (step->statement == NULL || step->as_owner)
			continue;
		if (step->database && OidIsValid(dboid = get_database_oid(step->database, true)) &&
			pg_database_aclcheck(dboid, GetSessionUserId(), ACL_CONNECT) != ACLCHECK_OK)
			refuse_privilege(psprintf("connect to database \"%s\"", step->database),
							 psprintf("The step %s runs inside it, as role \"%s\".", step->name,
									  GetUserNameFromId(GetSessionUserId(), false)));
		if ((strcmp(step->name, STEP_DROP_DATABASE) == 0 || strcmp(step->name, STEP_RETAIN_DATABASE) == 0 ||
			 strcmp(step->name, STEP_DROP_UNFINISHED) == 0) &&
			OidIsValid(dboid = get_database_oid(step->object_name, true)) &&
			!pg_database_ownercheck(dboid, GetUserId()))
			refuse_privilege(psprintf("change database \"%s\"", step->object_name),
							 psprintf("The step %s needs the privileges of its owner, role \"%s\".",
									  step->name,
									  database_owner_name(dboid)));
		if (strcmp(step->object_type, "role") == 0 && !has_createrole_privilege(GetUserId()))
			refuse_privilege(psprintf("change role \"%s\"", step->object_name),
							 psprintf("The step %s needs the CREATEROLE attribute.", step->name));
		if (strcmp(step->name, STEP_TERMINATE_SESSIONS) == 0 &&
			!has_privs_of_role(GetUserId(), ROLE_PG_SIGNAL_BACKEND))
			refuse_privilege(psprintf("end the sessions of role \"%s\"", step->object_name),
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
	Executor   *ex;
	ListCell   *lc;
	int			changes = 0;

	refuse_unrunnable_plan(plan);
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
