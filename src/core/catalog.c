/*
 * catalog.c
 *		Access to the extension's own tables (tenancy.registry,
 *		tenancy.tenant_databases, tenancy.audit_log) as the extension owner.
 *
 * Callers hold no privilege on these tables: the extension reads and writes
 * them on their behalf, from C, as the role that owns the extension.  Every
 * function here expects to be called inside a transaction.
 */
#include "core/core.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"

/*
 * The role that owns this extension (and so its tables), and the version of
 * its SQL objects, looked up once per transaction: an operation asks for
 * the owner before every catalog statement.
 */
static Oid	owner_oid = InvalidOid;
static bool has_clusters = false;
static bool has_iam = false;
static bool has_refusals = false;
static LocalTransactionId looked_up_in = InvalidLocalTransactionId;

static void
look_up_extension(void)
{
	bool		isnull;

	if (looked_up_in == MyProc->lxid && OidIsValid(owner_oid))
		return;
	if (SPI_execute("SELECT extowner, extversion NOT IN ('1.0', '1.1'), extversion NOT IN ('1.0', '1.1', '1.2'),"
					" extversion NOT IN ('1.0', '1.1', '1.2', '1.3')"
					" FROM pg_catalog.pg_extension WHERE extname = 'aurora_tenancy'",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"aurora_tenancy\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Run CREATE EXTENSION aurora_tenancy in the database tenants are managed from.")));
	owner_oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	has_clusters = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	has_iam = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	has_refusals = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	looked_up_in = MyProc->lxid;
}

static Oid
extension_owner(void)
{
	look_up_extension();
	return owner_oid;
}

/*
 * Do the extension's SQL objects know target clusters (1.2 on)?  Until
 * ALTER EXTENSION UPDATE, the library keeps working with 1.0 and 1.1, on
 * this cluster alone.  The caller is connected to SPI.
 */
bool
catalog_knows_clusters(void)
{
	look_up_extension();
	return has_clusters;
}

/* Can the audit log hold the object guard's refusals (1.4 on)?  Connected to SPI. */
bool
catalog_knows_refusals(void)
{
	look_up_extension();
	return has_refusals;
}

/* Do they know the IAM side of tenants (1.3 on)?  Connected to SPI. */
bool
catalog_knows_iam(void)
{
	look_up_extension();
	return has_iam;
}

/* the texts of the kept statements (see prepare_kept()) */
static MemoryContext kept_context = NULL;

/*
 * Prepares sql into kept, unless kept holds that very text already, and
 * keeps it for the rest of the session (SPI_keepplan): the plan cache plans
 * it again when what it reads changes (ALTER EXTENSION UPDATE, an extension
 * dropped and created again), and a different text (after an update, a
 * statement may read other columns) replaces it.  Its plan is generic,
 * made once, unless kept->custom.  The caller is inside run_as(), so names
 * are looked up as when it runs.
 */
static void
prepare_kept(KeptStatement *kept, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;
	char	   *text;

	if (kept->plan != NULL && strcmp(kept->sql, sql) == 0)
		return;
	if (kept_context == NULL)
		kept_context = AllocSetContextCreate(CacheMemoryContext,
											 "aurora_tenancy kept statements",
											 ALLOCSET_SMALL_SIZES);
	plan = SPI_prepare_cursor(sql, nargs, argtypes,
							  kept->custom ? CURSOR_OPT_CUSTOM_PLAN : CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	text = MemoryContextStrdup(kept_context, sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (kept->plan != NULL)
	{
		SPI_freeplan(kept->plan);
		pfree(kept->sql);
	}
	kept->plan = plan;
	kept->sql = text;
}

/*
 * Runs one statement through SPI as the given role, with a search_path no
 * user can write to: nothing of the caller's may be looked up, not its
 * search_path, not its temporary schema.  Executed, or (with cursor) opened
 * as a read-only cursor, whose permissions are checked now; with kept, from
 * the plan kept there (prepared now if it holds none of this text).  The
 * caller is connected to SPI and reads SPI_tuptable afterwards.  Each
 * statement takes a fresh snapshot, so it sees what executors committed
 * meanwhile.
 *
 * With arm_chain the statement is the extension's own SQL, so audit rows it
 * inserts (audit_write(), the outcomes repair() records) are the
 * extension's: the audit chain is armed meanwhile, and links them.
 */
static int
run_as(Oid role, bool arm_chain, const char *sql, int nargs, Oid *argtypes,
	   Datum *values, const char *nulls, Portal *cursor, KeptStatement *kept)
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	bool		save_armed = audit_chain_armed;
	int			ret = 0;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(role, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	PG_TRY();
	{
		(void) set_config_option("search_path", SAFE_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (cursor)
			*cursor = SPI_cursor_open_with_args(NULL, sql, nargs, argtypes, values, nulls,
												true, 0);
		else if (kept)
		{
			prepare_kept(kept, sql, nargs, argtypes);
			audit_chain_armed = arm_chain;
			ret = SPI_execute_plan(kept->plan, values, nulls, false, 0);
		}
		else
		{
			audit_chain_armed = arm_chain;
			ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
		}
		AtEOXact_GUC(true, save_nestlevel);
	}
	PG_FINALLY();
	{
		audit_chain_armed = save_armed;
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	return ret;
}

/* A statement as the given role (e.g. a step's guard, as the caller). */
int
execute_as(Oid role, const char *sql, int nargs, Oid *argtypes, Datum *values,
		   const char *nulls)
{
	return run_as(role, false, sql, nargs, argtypes, values, nulls, NULL, NULL);
}

/* A statement as the extension owner: the way to the extension's own tables. */
int
catalog_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
				const char *nulls)
{
	return run_as(extension_owner(), true, sql, nargs, argtypes, values, nulls, NULL, NULL);
}

/* A read-only cursor over a query of the catalog; fetch with SPI_cursor_fetch. */
Portal
catalog_cursor_open(const char *sql)
{
	Portal		cursor = NULL;

	(void) run_as(extension_owner(), false, sql, 0, NULL, NULL, NULL, &cursor, NULL);
	return cursor;
}

/* The first column of the first row of the last catalog_execute, or NULL. */
char *
catalog_value(void)
{
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Text parameters ($1 … $n; NULL: SQL NULL) as SPI takes them. */
static void
text_arguments(int nargs, const char *const *args, Oid **types, Datum **values,
			   char **nulls)
{
	*types = palloc(sizeof(Oid) * Max(nargs, 1));
	*values = palloc(sizeof(Datum) * Max(nargs, 1));
	*nulls = palloc(Max(nargs, 1) + 1);
	for (int i = 0; i < nargs; i++)
	{
		(*types)[i] = TEXTOID;
		(*values)[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		(*nulls)[i] = args[i] ? ' ' : 'n';
	}
	(*nulls)[nargs] = '\0';
}

/* Shorthand for a statement with text parameters only ($1 … $n). */
int
catalog_execute_text(const char *sql, int nargs, const char *const *args)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;

	text_arguments(nargs, args, &types, &values, &nulls);
	return catalog_execute(sql, nargs, types, values, nulls);
}

/*
 * A statement with text parameters, run as the given role from the plan in
 * kept (a static of the caller's, one per statement): parsed once per
 * session, and planned once too.  A generic plan guesses ten elements for
 * an array parameter, so such a statement must run well whatever its
 * parameters hold: a hashed subplan (NOT IN, or IN in the select list), not
 * a join that the guess could make a nested loop, where both sides grow with
 * the number of tenants; and no scan of a table of any size (the audit
 * log) that only many tenants would warrant: that one is kept->custom.
 */
int
execute_kept_as(Oid role, KeptStatement *kept, const char *sql, int nargs,
				const char *const *args)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;

	text_arguments(nargs, args, &types, &values, &nulls);
	return run_as(role, false, sql, nargs, types, values, nulls, NULL, kept);
}

/* The same as the extension owner: catalog_execute_text(), planned once. */
int
catalog_execute_kept(KeptStatement *kept, const char *sql, int nargs,
					 const char *const *args)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;

	text_arguments(nargs, args, &types, &values, &nulls);
	return run_as(extension_owner(), true, sql, nargs, types, values, nulls, NULL, kept);
}

/*
 * Whether a database exists now: executors create and drop databases while
 * this backend's transaction runs, so pending invalidations are read first.
 */
Oid
database_oid_now(const char *database)
{
	AcceptInvalidationMessages();
	return get_database_oid(database, true);
}

/* Can the caller's session user connect to this existing database (as workers do)? */
bool
session_can_connect(const char *database)
{
	Oid			dboid = database_oid_now(database);

	return OidIsValid(dboid) &&
		pg_database_aclcheck(dboid, GetSessionUserId(), ACL_CONNECT) == ACLCHECK_OK;
}
