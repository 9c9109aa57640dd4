/*
 * executor.c
 *		The driver: runs the steps of a plan, through a transport.
 *
 * The caller's backend changes nothing itself.  It knows the step protocol
 * and leaves reaching a database to a transport (transport_bgworker.c: a
 * background worker per database).  Audit rows always go to the extension's
 * database, through the "home" connection.  A step there runs with its
 * audit row in one transaction (an own-transaction step such as CREATE
 * DATABASE: intent row, statement, outcome row in three); a step elsewhere
 * is asked for first (its guard), then gets an intent row before it and a
 * done/failed row after it.  Errors come back with every field and a
 * context line naming the database, and are re-thrown after they are
 * audited.
 *
 * Besides the home connection, one tenant database's runs at a time; a dry
 * run starts up to tenancy.check_workers ahead.  The guard of a step in the
 * extension's database is read in the caller's backend first, so work that
 * is already done starts no worker there, and a dry run none at all.
 *
 * A step that is an AWS call (IAM) is made here, in the caller's backend,
 * between its intent and outcome rows.
 *
 * On a target cluster (current_cluster) the home connection stays: audit
 * rows and the extension's catalog live here.  Every other step reaches the
 * target through the libpq transport, cluster-wide steps in its dbname; as
 * none of them can commit with its audit row, each is asked for first and
 * then gets an intent row before it and an outcome row after it.
 */
#include "exec/exec.h"

#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"

struct Executor
{
	AuditContext audit;
	bool		dry_run;
	bool		unreached;		/* the last dry-run step found no worker slot */
	const TransportMethods *transport;	/* to the cluster's databases */
	bool		remote;			/* the cluster is a target, not this one */
	Transport  *home;			/* the extension's database */
	Transport  *cluster_home;	/* a target's dbname: cluster-wide steps */
	List	   *sessions;		/* Transport *, one per other database, in the
								 * order the plan comes to them */
	List	   *ahead;			/* databases to start connections to before the
								 * plan comes to them (a dry run) */
};

/* An audit row about a step: what it is, and how it ended (edata: failed). */
AuditEntry
audit_entry_for_step(const Step *step, const char *phase, ErrorData *edata)
{
	AuditEntry	e = {0};

	e.step = step->name;
	e.phase = phase;
	e.object_type = step->object_type;
	e.object_name = step->object_name;
	e.database = step->database;
	e.statement = step->display ? step->display : step->statement;
	if (edata)
	{
		e.sqlstate = unpack_sql_state(edata->sqlerrcode);
		e.message = edata->message;
	}
	return e;
}

static Transport *
connect_to(Executor *ex, const char *database, bool missing_ok)
{
	return ex->transport->open(database, &ex->audit, missing_ok);
}

/* Does the step run in the extension's database, through the home session? */
static bool
runs_at_home(const Executor *ex, const Step *step)
{
	return step->database == NULL && (step->as_owner || !ex->remote);
}

/*
 * Lets a connection go.  Unless in a dry run, waits until it has left its
 * database: a step that follows may drop that database.
 */
static void
disconnect(Executor *ex, Transport *t)
{
	t->methods->close(t, !ex->dry_run);
}

static void
throw_if_any(ErrorData *edata)
{
	if (edata)
		ThrowErrorData(edata);
}

/*
 * Keeps up to tenancy.check_workers workers started for the databases ahead,
 * in order, as slots allow (best effort: a database with no free slot now
 * is started later).
 */
static void
start_ahead(Executor *ex)
{
	while (ex->ahead != NIL && list_length(ex->sessions) < tenancy_check_workers)
	{
		const char *database = linitial(ex->ahead);
		Transport  *s = NULL;

		if ((ex->remote || session_can_connect(database)) &&
			(s = connect_to(ex, database, true)) == NULL)
			return;
		ex->ahead = list_delete_first(ex->ahead);
		if (s)
			ex->sessions = lappend(ex->sessions, s);
	}
}

static Transport *
session_for(Executor *ex, const char *database, bool missing_ok)
{
	Transport  *s = NULL;

	if (database == NULL)
	{
		executor_open_home(ex);
		ex->home->methods->await(ex->home);
		return ex->home;
	}

	/*
	 * Plans take the databases one after the other: those before this one
	 * are done with, and their workers would only hold slots
	 * (max_worker_processes).
	 */
	while (ex->sessions != NIL)
	{
		Transport  *first = linitial(ex->sessions);

		if (strcmp(first->database, database) == 0)
		{
			s = first;
			break;
		}
		disconnect(ex, first);
		ex->sessions = list_delete_first(ex->sessions);
	}
	if (s == NULL)
	{
		if (ex->ahead != NIL && strcmp(linitial(ex->ahead), database) == 0)
			ex->ahead = list_delete_first(ex->ahead);
		if ((s = connect_to(ex, database, missing_ok)) == NULL)
			return NULL;
		ex->sessions = list_make1(s);
	}
	start_ahead(ex);
	s->methods->await(s);
	return s;
}

/*
 * Starts the connection to the extension's database now, where the caller
 * knows a step there will come (it starts while the caller reads a target).
 */
void
executor_open_home(Executor *ex)
{
	if (ex->home == NULL)
		ex->home = bgworker_transport.open(NULL, &ex->audit, false);
}

/*
 * The (existing) databases a dry run will look into, in the order it will:
 * their workers are started ahead, several at once, instead of one after
 * the other as steps come to them.
 */
void
executor_start_databases(Executor *ex, List *databases)
{
	ex->ahead = list_copy(databases);
	start_ahead(ex);
}

Executor *
executor_begin(const char *operation, const char *tenant, bool dry_run)
{
	Executor   *ex = palloc0(sizeof(Executor));

	audit_context_init(&ex->audit, operation, tenant);
	ex->dry_run = dry_run;
	ex->remote = current_cluster != NULL;
	ex->transport = ex->remote ? &libpq_transport : &bgworker_transport;
	return ex;
}

static void
home_audit(Executor *ex, const Step *step, const char *phase, ErrorData *edata)
{
	AuditEntry	e = audit_entry_for_step(step, phase, edata);
	Transport  *home = session_for(ex, NULL, false);

	home->methods->write_audit(home, &e);
}

/*
 * Evaluates a step's guard (a query returning one boolean) in the current
 * transaction, as the current user (as_owner: the extension owner), with a
 * search_path no user can write to.  In the caller's backend, for steps in
 * the extension's database: what needs nothing starts no worker (which
 * evaluates it again, in the step's own transaction).
 */
bool
step_guard_holds(const Step *step)
{
	bool		isnull;
	bool		result;
	int			ret;

	if (step->guard == NULL)
		return true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = step->as_owner ? catalog_execute(step->guard, 0, NULL, NULL, NULL)
		: execute_as(GetUserId(), step->guard, 0, NULL, NULL, NULL);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "step guard returned no row: %s", step->guard);
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return !isnull && result;
}

/* Does the database exist now, on the cluster the executor acts on? */
static bool
database_exists(Executor *ex, const char *database)
{
	const char *args[1] = {database};
	bool		exists;

	if (!ex->remote)
		return OidIsValid(database_oid_now(database));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	exists = cluster_query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, args)->nrows > 0;
	SPI_finish();
	return exists;
}

/*
 * Makes a step's AWS call in the caller's backend (the only process that
 * loads libcurl); returns its error instead of throwing it.
 */
static ErrorData *
run_aws_call(const Step *step, bool *ran)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ErrorData  *edata = NULL;

	PG_TRY();
	{
		*ran = aws_call_run(step->aws);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	return edata;
}

/*
 * Runs one step of a plan; returns whether it changed anything (in a dry
 * run: whether it would).  Errors are re-thrown here, after the failure is
 * in the audit log.
 */
bool
executor_run_step(Executor *ex, const Step *step)
{
	Transport  *s;
	ErrorData  *edata;
	bool		ran = false;

	ex->unreached = false;

	/*
	 * An AWS call: planned from what AWS showed just before, so needed; an
	 * intent row before it and an outcome row after it, like a step on a
	 * target.
	 */
	if (step->aws)
	{
		if (ex->dry_run)
			return true;
		home_audit(ex, step, PHASE_INTENT, NULL);
		edata = run_aws_call(step, &ran);
		home_audit(ex, step, edata ? PHASE_FAILED : PHASE_DONE, edata);
		throw_if_any(edata);
		return ran;
	}

	/* A step with nothing to run is for a person: reported while its guard holds. */
	if (step->statement == NULL && !ex->dry_run)
		return false;
	if (runs_at_home(ex, step))
	{
		if (!step_guard_holds(step))
			return false;
		if (ex->dry_run)
			return true;
		/* with its audit row, in one transaction of the extension's database */
		s = session_for(ex, NULL, false);
		throw_if_any(s->methods->run(s, step, true, &ran));
		return ran;
	}

	if (step->database == NULL)
	{
		/* cluster-wide, on a target */
		if (ex->cluster_home == NULL)
			ex->cluster_home = connect_to(ex, NULL, false);
		s = ex->cluster_home;
		s->methods->await(s);
	}
	else if (ex->dry_run)
	{
		/* nothing to look into yet (a step is needed, a report is not), or
		 * no worker free to look: reported */
		if (!database_exists(ex, step->database))
			return step->statement != NULL;
		s = session_for(ex, step->database, true);
		if (s == NULL)
		{
			ex->unreached = true;
			return true;
		}
	}
	else
		s = session_for(ex, step->database, false);

	/* Elsewhere: ask first, so the intent row is not written in vain. */
	if (!s->methods->guard(s, step, !ex->dry_run))
		return false;
	if (ex->dry_run)
		return true;

	home_audit(ex, step, PHASE_INTENT, NULL);
	edata = s->methods->run(s, step, false, &ran);
	home_audit(ex, step, edata ? PHASE_FAILED : PHASE_DONE, edata);
	throw_if_any(edata);
	return ran;
}

/*
 * Reads the guards of the given steps (all in the extension's database, all
 * run as one role) in one statement: each guard a scalar subquery.  A dry
 * run changes nothing between them, so one snapshot serves them all.
 */
static void
read_guards_together(List *steps, bool as_owner, List *indexes, bool *needed)
{
	StringInfoData sql;
	ListCell   *lc;
	int			col = 0;

	if (steps == NIL)
		return;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, steps)
		appendStringInfo(&sql, "%s(%s)", foreach_current_index(lc) ? ", " : "",
						 ((Step *) lfirst(lc))->guard);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (as_owner)
	{
		if (catalog_execute(sql.data, 0, NULL, NULL, NULL) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "step guards returned no row");
		foreach(lc, indexes)
		{
			bool		isnull;
			bool		value = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
														   ++col, &isnull));

			needed[lfirst_int(lc)] = !isnull && value;
		}
	}
	else
	{
		/* as the caller, on the cluster the plan is for */
		Rows	   *rows = cluster_query(sql.data, 0, NULL);

		if (rows->nrows != 1)
			elog(ERROR, "step guards returned no row");
		foreach(lc, indexes)
		{
			const char *value = ROWS_CELL(rows, 0, col++);

			needed[lfirst_int(lc)] = value != NULL && strcmp(value, "t") == 0;
		}
	}
	SPI_finish();
}

/*
 * A dry run of a whole plan: which of its steps would run.  Guards in the
 * extension's database are read together, per role they run as; the others
 * in their databases' workers.  *unreached[i]: no worker slot was free to
 * look for step i.
 */
bool *
executor_dry_run(Executor *ex, List *plan, bool **unreached)
{
	int			n = list_length(plan);
	bool	   *needed = palloc0(sizeof(bool) * Max(n, 1));
	List	   *caller_steps = NIL,
			   *caller_indexes = NIL,
			   *owner_steps = NIL,
			   *owner_indexes = NIL;
	ListCell   *lc;

	Assert(ex->dry_run);
	*unreached = palloc0(sizeof(bool) * Max(n, 1));
	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		int			i = foreach_current_index(lc);

		if (step->database == NULL && step->guard == NULL)
			needed[i] = true;
		else if (step->database == NULL && step->as_owner)
		{
			owner_steps = lappend(owner_steps, step);
			owner_indexes = lappend_int(owner_indexes, i);
		}
		else if (step->database == NULL)
		{
			caller_steps = lappend(caller_steps, step);
			caller_indexes = lappend_int(caller_indexes, i);
		}
	}
	read_guards_together(caller_steps, false, caller_indexes, needed);
	read_guards_together(owner_steps, true, owner_indexes, needed);

	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		int			i = foreach_current_index(lc);

		if (step->database != NULL)
		{
			needed[i] = executor_run_step(ex, step);
			(*unreached)[i] = ex->unreached;
		}
	}
	return needed;
}

/* Lets the connections to other databases go. */
static void
close_databases(Executor *ex)
{
	ListCell   *lc;

	foreach(lc, ex->sessions)
		disconnect(ex, lfirst(lc));
	ex->sessions = NIL;
}

/* Lets every worker go and waits until they have left their databases. */
void
executor_end(Executor *ex)
{
	ex->ahead = NIL;
	close_databases(ex);
	if (ex->cluster_home)
		disconnect(ex, ex->cluster_home);
	ex->cluster_home = NULL;
	if (ex->home)
		disconnect(ex, ex->home);
	ex->home = NULL;
}
