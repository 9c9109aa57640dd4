/*
 * executor.c
 *		Runs the steps of a plan in dynamic background workers.
 *
 * The caller's backend changes nothing itself.  For each database a plan
 * touches, it starts a background worker connected to that database as the
 * calling role, and sends it steps over a shm_mq; the worker runs each
 * statement as a top-level statement in its own transaction (so CREATE
 * DATABASE works and PreventInTransactionBlock is honoured), writes the
 * audit rows, and answers "done", "nothing to do" or an error, which the
 * caller re-throws with its SQLSTATE and a context line naming the database.
 * Besides the worker in the extension's database, one tenant database's
 * worker runs at a time (a dry run starts up to tenancy.check_workers ahead).  The guard of a
 * step in the extension's database is read in the caller's backend first, so
 * work that is already done starts no worker there, and a dry run none at all.
 *
 * Audit rows always go to the extension's database, through the worker
 * connected there (the "home" worker).  A step that runs elsewhere, or that
 * cannot share a transaction (CREATE DATABASE), gets an intent row committed
 * before it and a done/failed row after it; any other step commits together
 * with its audit row.
 *
 * If the caller fails (error, cancel, statement_timeout, termination), its
 * resource owner detaches the shared memory; a detach callback cancels the
 * statement the worker is running, the worker records the step as failed
 * and exits when it finds the queue detached.
 */
#include "aurora_tenancy.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/inval.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"

#define EXECUTOR_MAGIC		0x7e4a0001
#define KEY_SHARED			0
#define KEY_REQUESTS		1
#define KEY_REPLIES			2
#define QUEUE_SIZE			65536

/* Requests (caller -> worker) */
#define MSG_STEP			'S'	/* run a step */
#define MSG_GUARD			'G'	/* only evaluate a step's guard */
#define MSG_AUDIT			'A'	/* write one audit row */
/* Replies (worker -> caller) */
#define MSG_OK				'K'	/* followed by one byte: executed / needed */
#define MSG_ERROR			'E'

/* Step flags on the wire */
#define WIRE_OWN_TRANSACTION	0x01
#define WIRE_AS_OWNER			0x02
#define WIRE_AUDIT				0x04

typedef struct ExecutorShared
{
	Oid			database;
	Oid			session_user;
	Oid			current_user;
	AuditContext audit;
} ExecutorShared;

typedef struct ExecutorSession
{
	char	   *database;		/* NULL for the extension's database */
	dsm_segment *segment;
	BackgroundWorkerHandle *handle;
	shm_mq_handle *requests;
	shm_mq_handle *replies;
	pid_t		pid;
	bool		ready;			/* connected and answering */
} ExecutorSession;

struct Executor
{
	AuditContext audit;
	bool		dry_run;
	bool		unreached;		/* the last dry-run step found no worker slot */
	ExecutorSession *home;
	List	   *sessions;		/* ExecutorSession *, one per other database,
								 * in the order the plan comes to them */
	List	   *ahead;			/* databases to start workers for before the
								 * plan comes to them (a dry run) */
};

/* A worker's answer: whether the step ran (or was needed), or its error. */
typedef struct Reply
{
	bool		ok;
	bool		flag;
	ErrorData  *error;
} Reply;

PGDLLEXPORT void executor_worker_main(Datum main_arg);

/* ---------- wire format ---------- */

static void
put_string(StringInfo buf, const char *s)
{
	appendBinaryStringInfo(buf, s ? "\1" : "\0", 1);
	if (s)
		appendBinaryStringInfo(buf, s, strlen(s) + 1);
}

static const char *
get_string(StringInfo buf)
{
	const char *s;

	if (buf->data[buf->cursor++] == '\0')
		return NULL;
	s = buf->data + buf->cursor;
	buf->cursor += strlen(s) + 1;
	return s;
}

static char *
copy_string(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

static void
put_step(StringInfo buf, const Step *step, int flags)
{
	appendStringInfoChar(buf, (char) flags);
	put_string(buf, step->name);
	put_string(buf, step->object_type);
	put_string(buf, step->object_name);
	put_string(buf, step->database);
	put_string(buf, step->guard);
	put_string(buf, step->statement);
	put_string(buf, step->display);
	put_string(buf, step->finish);
}

static int
get_step(StringInfo buf, Step *step)
{
	int			flags = (unsigned char) buf->data[buf->cursor++];

	step->name = get_string(buf);
	step->object_type = get_string(buf);
	step->object_name = get_string(buf);
	step->database = get_string(buf);
	step->guard = get_string(buf);
	step->statement = get_string(buf);
	step->display = get_string(buf);
	step->finish = get_string(buf);
	step->own_transaction = (flags & WIRE_OWN_TRANSACTION) != 0;
	step->as_owner = (flags & WIRE_AS_OWNER) != 0;
	return flags;
}

static void
put_audit_entry(StringInfo buf, const AuditEntry *e)
{
	put_string(buf, e->step);
	put_string(buf, e->phase);
	put_string(buf, e->object_type);
	put_string(buf, e->object_name);
	put_string(buf, e->database);
	put_string(buf, e->statement);
	put_string(buf, e->sqlstate);
	put_string(buf, e->message);
}

static void
get_audit_entry(StringInfo buf, AuditEntry *e)
{
	e->step = get_string(buf);
	e->phase = get_string(buf);
	e->object_type = get_string(buf);
	e->object_name = get_string(buf);
	e->database = get_string(buf);
	e->statement = get_string(buf);
	e->sqlstate = get_string(buf);
	e->message = get_string(buf);
}

/* ---------- the worker ---------- */

static ExecutorShared *worker_shared;
static shm_mq_handle *worker_replies;
static MemoryContext request_context;	/* reset after every request */
static volatile bool statement_committed;	/* of the own-transaction step at hand */

static void
worker_reply_ok(bool flag)
{
	char		msg[2] = {MSG_OK, flag ? 1 : 0};

	/* The caller may be gone; then there is nobody left to tell. */
	(void) shm_mq_send(worker_replies, sizeof(msg), msg, false, true);
}

static void
worker_reply_error(ErrorData *edata)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, MSG_ERROR);
	appendBinaryStringInfo(&buf, (char *) &edata->sqlerrcode, sizeof(int));
	put_string(&buf, edata->message);
	put_string(&buf, edata->detail);
	put_string(&buf, edata->hint);
	put_string(&buf, edata->context);
	(void) shm_mq_send(worker_replies, buf.len, buf.data, false, true);
}

/*
 * Evaluates a step's guard (a query returning one boolean) in the current
 * transaction, as the role the step itself runs as.
 */
static bool
guard_holds(const Step *step)
{
	bool		isnull;
	bool		result;
	int			ret;

	if (step->guard == NULL)
		return true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = step->as_owner ? catalog_execute(step->guard, 0, NULL, NULL, NULL)
		: SPI_execute(step->guard, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "step guard returned no row: %s", step->guard);
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return !isnull && result;
}

/*
 * Runs one statement as a top-level statement of the current transaction,
 * the way the simple query protocol would.  The statement is parsed from
 * its real text; everything that may be shown or logged (the portal's
 * source text, pg_stat_activity, pg_stat_statements, the STATEMENT line of
 * an error) sees only the display text.
 */
static void
run_top_level(const char *sql, const char *display)
{
	List	   *parsetrees = pg_parse_query(sql);
	List	   *shown = (display == sql) ? parsetrees : pg_parse_query(display);
	ListCell   *lc;

	Assert(list_length(shown) == list_length(parsetrees));
	debug_query_string = display;
	pgstat_report_activity(STATE_RUNNING, display);

	foreach(lc, parsetrees)
	{
		RawStmt    *parsetree = lfirst_node(RawStmt, lc);
		RawStmt    *shown_tree = list_nth_node(RawStmt, shown, foreach_current_index(lc));
		bool		snapshot_set = false;
		List	   *querytrees;
		List	   *plantrees;
		Portal		portal;
		DestReceiver *receiver;
		QueryCompletion qc;

		/* locations point into the display text, which is what is shown */
		parsetree->stmt_location = shown_tree->stmt_location;
		parsetree->stmt_len = shown_tree->stmt_len;

		if (analyze_requires_snapshot(parsetree))
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			snapshot_set = true;
		}
		querytrees = pg_analyze_and_rewrite_fixedparams(parsetree, display, NULL, 0, NULL);
		plantrees = pg_plan_queries(querytrees, display, CURSOR_OPT_PARALLEL_OK, NULL);
		if (snapshot_set)
			PopActiveSnapshot();

		portal = CreatePortal("", true, true);
		portal->visible = false;
		PortalDefineQuery(portal, NULL, display, CreateCommandTag(parsetree->stmt),
						  plantrees, NULL);
		PortalStart(portal, NULL, 0, InvalidSnapshot);
		receiver = CreateDestReceiver(DestNone);
		InitializeQueryCompletion(&qc);
		(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
		receiver->rDestroy(receiver);
		PortalDrop(portal, false);
		CommandCounterIncrement();
	}

	debug_query_string = NULL;
}

/* Runs SQL of a step: as the caller through a portal, or as the owner. */
static void
run_statement(const char *sql, const char *display, bool as_owner)
{
	if (as_owner)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		debug_query_string = display;
		catalog_execute(sql, 0, NULL, NULL, NULL);
		debug_query_string = NULL;
		SPI_finish();
		return;
	}
	marker_writes_allowed = true;
	PG_TRY();
	{
		run_top_level(sql, display);
	}
	PG_FINALLY();
	{
		marker_writes_allowed = false;
	}
	PG_END_TRY();
}

static void
begin_transaction(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
commit_transaction(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(request_context);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * An intent row needs no flush of its own: whatever the step then commits
 * flushes the WAL up to and past it, and if nothing commits, nothing
 * happened that the lost row would have announced.
 */
static void
intent_commits_asynchronously(void)
{
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/* An audit row about a step: what it is, and how it ended (edata: failed). */
static AuditEntry
step_audit_entry(const Step *step, const char *phase, ErrorData *edata)
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

/* Writes an audit row in the worker's current transaction. */
static void
worker_write_audit(const AuditEntry *e)
{
	if (strcmp(e->phase, "intent") == 0)
		intent_commits_asynchronously();
	audit_write(&worker_shared->audit, e);
}

static void
worker_audit(const Step *step, const char *phase, ErrorData *edata)
{
	AuditEntry	e = step_audit_entry(step, phase, edata);

	worker_write_audit(&e);
}

/*
 * Runs one step.  Returns false when the guard says there is nothing to do.
 * A transactional step commits with its audit row; an own-transaction step
 * (CREATE DATABASE) has its intent row committed first, the statement alone
 * in the next transaction, and its outcome row in a third.  Without
 * WIRE_AUDIT the caller audits (the step runs outside the home database).
 */
static bool
worker_run_step(const Step *step, bool audit)
{
	begin_transaction();
	if (!guard_holds(step))
	{
		commit_transaction();
		return false;
	}

	if (step->own_transaction)
	{
		if (audit)
			worker_audit(step, "intent", NULL);
		commit_transaction();

		/* the statement must start its own transaction: no snapshot held */
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		run_statement(step->statement, step->statement, false);
		CommitTransactionCommand();
		statement_committed = true;
		MemoryContextSwitchTo(request_context);

		begin_transaction();
		if (step->finish)
			run_statement(step->finish, step->finish, false);
		if (audit)
			worker_audit(step, "done", NULL);
		commit_transaction();
		return true;
	}

	run_statement(step->statement, step->display ? step->display : step->statement,
				  step->as_owner);
	if (audit)
		worker_audit(step, "done", NULL);
	commit_transaction();
	return true;
}

/* Handles one request; errors are answered, recorded and survived. */
static void
worker_handle(StringInfo msg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	char		type = msg->data[msg->cursor++];
	Step		step = {0};
	int			flags = 0;

	if (type == MSG_STEP || type == MSG_GUARD)
		flags = get_step(msg, &step);
	statement_committed = false;

	PG_TRY();
	{
		if (type == MSG_STEP)
			worker_reply_ok(worker_run_step(&step, (flags & WIRE_AUDIT) != 0));
		else if (type == MSG_GUARD)
		{
			bool		needed;

			begin_transaction();
			needed = guard_holds(&step);
			commit_transaction();
			worker_reply_ok(needed);
		}
		else if (type == MSG_AUDIT)
		{
			AuditEntry	e;

			get_audit_entry(msg, &e);
			begin_transaction();
			worker_write_audit(&e);
			commit_transaction();
			worker_reply_ok(true);
		}
		else
			elog(ERROR, "unknown executor request type %d", type);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(oldcontext);
		debug_query_string = NULL;
		pgstat_report_activity(STATE_IDLE, NULL);

		/*
		 * The failure of an audited step is itself audited; a statement
		 * that committed before the failure (CREATE DATABASE, then the
		 * marker) is done, and says what failed after it.
		 */
		if (type == MSG_STEP && (flags & WIRE_AUDIT))
		{
			PG_TRY();
			{
				begin_transaction();
				worker_audit(&step, statement_committed ? "done" : "failed", edata);
				commit_transaction();
			}
			PG_CATCH();
			{
				EmitErrorReport();
				FlushErrorState();
				AbortCurrentTransaction();
				MemoryContextSwitchTo(oldcontext);
			}
			PG_END_TRY();
		}
		worker_reply_error(edata);
	}
	PG_END_TRY();
}

void
executor_worker_main(Datum main_arg)
{
	dsm_segment *segment;
	shm_toc    *toc;
	shm_mq_handle *requests;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "aurora_tenancy executor");
	segment = dsm_attach(DatumGetUInt32(main_arg));
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the executor's shared memory segment")));
	toc = shm_toc_attach(EXECUTOR_MAGIC, dsm_segment_address(segment));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("invalid magic number in the executor's shared memory segment")));
	worker_shared = shm_toc_lookup(toc, KEY_SHARED, false);

	requests = shm_mq_attach(shm_toc_lookup(toc, KEY_REQUESTS, false), segment, NULL);
	shm_mq_set_receiver(shm_mq_get_queue(requests), MyProc);
	worker_replies = shm_mq_attach(shm_toc_lookup(toc, KEY_REPLIES, false), segment, NULL);
	shm_mq_set_sender(shm_mq_get_queue(worker_replies), MyProc);

	BackgroundWorkerInitializeConnectionByOid(worker_shared->database,
											  worker_shared->session_user, 0);
	SetUserIdAndSecContext(worker_shared->current_user, 0);
	/* one head line in the server log per operation, not per transaction */
	audit_chain_log_head_at_exit();
	/* guards run in tenant databases, where the tenant may create functions */
	SetConfigOption("search_path", SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "aurora_tenancy executor",
					PGC_USERSET, PGC_S_SESSION);
	pgstat_report_appname("aurora_tenancy executor");

	/* Connected: tell the caller, then serve requests until it detaches. */
	request_context = AllocSetContextCreate(TopMemoryContext, "aurora_tenancy executor request",
											ALLOCSET_DEFAULT_SIZES);
	worker_reply_ok(true);
	for (;;)
	{
		Size		nbytes;
		void	   *data;
		StringInfoData msg;

		/* a cancel while idle means the caller left: detach says so too */
		HOLD_CANCEL_INTERRUPTS();
		if (shm_mq_receive(requests, &nbytes, &data, false) != SHM_MQ_SUCCESS)
			break;
		RESUME_CANCEL_INTERRUPTS();
		MemoryContextSwitchTo(request_context);
		msg.data = palloc(nbytes + 1);
		memcpy(msg.data, data, nbytes);
		msg.data[nbytes] = '\0';
		msg.len = nbytes;
		msg.maxlen = nbytes + 1;
		msg.cursor = 0;
		worker_handle(&msg);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(request_context);
	}
	proc_exit(0);
}

/* ---------- the caller ---------- */

/* On detach (the caller failed or left): stop the statement the worker runs. */
static void
cancel_worker(dsm_segment *segment, Datum handle)
{
	pid_t		pid;

	if (GetBackgroundWorkerPid((BackgroundWorkerHandle *) DatumGetPointer(handle), &pid) == BGWH_STARTED)
		kill(pid, SIGINT);
}

static void
worker_gone(ExecutorSession *s)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("executor for database \"%s\" exited unexpectedly",
					s->database ? s->database : get_database_name(MyDatabaseId)),
			 errdetail("The background worker stopped before it answered."),
			 errhint("The server log says why.")));
}

/* Sends one request and waits for the answer; a dead worker is an error. */
static Reply
session_call(ExecutorSession *s, StringInfo msg)
{
	Reply		reply = {0};
	StringInfoData buf;
	Size		nbytes;
	void	   *data;

	if (msg && shm_mq_send(s->requests, msg->len, msg->data, false, true) != SHM_MQ_SUCCESS)
		worker_gone(s);
	if (shm_mq_receive(s->replies, &nbytes, &data, false) != SHM_MQ_SUCCESS)
		worker_gone(s);

	buf.data = data;
	buf.len = nbytes;
	buf.cursor = 1;
	if (buf.data[0] == MSG_OK)
	{
		reply.ok = true;
		reply.flag = buf.data[1] != 0;
		return reply;
	}
	else
	{
		ErrorData  *edata = palloc0(sizeof(ErrorData));
		const char *context;
		const char *where = psprintf("in background worker for database \"%s\"",
									 s->database ? s->database : get_database_name(MyDatabaseId));

		edata->elevel = ERROR;
		memcpy(&edata->sqlerrcode, buf.data + buf.cursor, sizeof(int));
		buf.cursor += sizeof(int);
		edata->message = pstrdup(get_string(&buf));
		edata->detail = copy_string(get_string(&buf));
		edata->hint = copy_string(get_string(&buf));
		context = get_string(&buf);
		edata->context = context ? psprintf("%s\n%s", context, where) : (char *) where;
		reply.error = edata;
		return reply;
	}
}

static void
throw_reply(Reply reply)
{
	if (reply.error)
		ThrowErrorData(reply.error);
}

/*
 * Whether a database exists now: executors create and drop databases while
 * this backend's transaction runs, so pending invalidations are read first.
 */
static Oid
current_database_oid(const char *database)
{
	AcceptInvalidationMessages();
	return get_database_oid(database, true);
}

/* Can a worker connect to this existing database as the caller's session user? */
bool
executor_can_connect(const char *database)
{
	Oid			dboid = current_database_oid(database);

	return OidIsValid(dboid) &&
		pg_database_aclcheck(dboid, GetSessionUserId(), ACL_CONNECT) == ACLCHECK_OK;
}

static ExecutorSession *
session_open(Executor *ex, const char *database, bool missing_ok)
{
	ExecutorSession *s = palloc0(sizeof(ExecutorSession));
	shm_toc_estimator e;
	Size		size;
	shm_toc    *toc;
	ExecutorShared *shared;
	shm_mq	   *requests;
	shm_mq	   *replies;
	BackgroundWorker worker;
	MemoryContext oldcontext;
	bool		registered;

	s->database = database ? pstrdup(database) : NULL;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(ExecutorShared));
	shm_toc_estimate_chunk(&e, QUEUE_SIZE);
	shm_toc_estimate_chunk(&e, QUEUE_SIZE);
	shm_toc_estimate_keys(&e, 3);
	size = shm_toc_estimate(&e);

	s->segment = dsm_create(size, 0);
	toc = shm_toc_create(EXECUTOR_MAGIC, dsm_segment_address(s->segment), size);

	shared = shm_toc_allocate(toc, sizeof(ExecutorShared));
	shared->database = database ? current_database_oid(database) : MyDatabaseId;
	if (!OidIsValid(shared->database))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("database \"%s\" does not exist", database)));
	/* what would make the worker's connection FATAL, as a proper error here */
	if (pg_database_aclcheck(shared->database, GetSessionUserId(), ACL_CONNECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for database \"%s\"", database),
				 errdetail("The executor connects to it as role \"%s\", which lacks CONNECT.",
						   GetUserNameFromId(GetSessionUserId(), false))));
	shared->session_user = GetSessionUserId();
	shared->current_user = GetUserId();
	shared->audit = ex->audit;
	shm_toc_insert(toc, KEY_SHARED, shared);

	requests = shm_mq_create(shm_toc_allocate(toc, QUEUE_SIZE), QUEUE_SIZE);
	shm_toc_insert(toc, KEY_REQUESTS, requests);
	shm_mq_set_sender(requests, MyProc);
	replies = shm_mq_create(shm_toc_allocate(toc, QUEUE_SIZE), QUEUE_SIZE);
	shm_toc_insert(toc, KEY_REPLIES, replies);
	shm_mq_set_receiver(replies, MyProc);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "aurora_tenancy", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "executor_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "aurora_tenancy executor for PID %d", MyProcPid);
	strlcpy(worker.bgw_type, "aurora_tenancy executor", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(s->segment));
	worker.bgw_notify_pid = MyProcPid;

	/* the handle must outlive an error: the detach callback reads it */
	oldcontext = MemoryContextSwitchTo(TopTransactionContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &s->handle);
	MemoryContextSwitchTo(oldcontext);
	if (!registered && missing_ok)
	{
		dsm_detach(s->segment);
		return NULL;
	}
	if (!registered)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start an executor for database \"%s\"",
						database ? database : get_database_name(MyDatabaseId)),
				 errdetail("No background worker slot is free."),
				 errhint("Raise max_worker_processes, or retry when fewer background workers run.")));

	s->requests = shm_mq_attach(requests, s->segment, s->handle);
	s->replies = shm_mq_attach(replies, s->segment, s->handle);
	on_dsm_detach(s->segment, cancel_worker, PointerGetDatum(s->handle));
	return s;
}

/*
 * Waits until a started worker is connected.  Starting is cheap and waiting
 * is not, so several workers can be started before the first is awaited.
 */
static void
session_await(ExecutorSession *s)
{
	if (s->ready)
		return;
	if (WaitForBackgroundWorkerStartup(s->handle, &s->pid) != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start an executor for database \"%s\"",
						s->database ? s->database : get_database_name(MyDatabaseId)),
				 errhint("The server log says why.")));
	/* The first reply says the worker is connected (or why it is not). */
	throw_reply(session_call(s, NULL));
	s->ready = true;
}

static void
session_close(ExecutorSession *s)
{
	cancel_on_dsm_detach(s->segment, cancel_worker, PointerGetDatum(s->handle));
	dsm_detach(s->segment);
	/* A worker connected to a database would get in the way of DROP DATABASE. */
	(void) WaitForBackgroundWorkerShutdown(s->handle);
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
		ExecutorSession *s = NULL;

		if (executor_can_connect(database) &&
			(s = session_open(ex, database, true)) == NULL)
			return;
		ex->ahead = list_delete_first(ex->ahead);
		if (s)
			ex->sessions = lappend(ex->sessions, s);
	}
}

static ExecutorSession *
session_for(Executor *ex, const char *database, bool missing_ok)
{
	ExecutorSession *s = NULL;

	if (database == NULL)
	{
		if (ex->home == NULL)
			ex->home = session_open(ex, NULL, false);
		session_await(ex->home);
		return ex->home;
	}

	/*
	 * Plans take the databases one after the other: those before this one
	 * are done with, and their workers would only hold slots
	 * (max_worker_processes).
	 */
	while (ex->sessions != NIL)
	{
		ExecutorSession *first = linitial(ex->sessions);

		if (strcmp(first->database, database) == 0)
		{
			s = first;
			break;
		}
		session_close(first);
		ex->sessions = list_delete_first(ex->sessions);
	}
	if (s == NULL)
	{
		if (ex->ahead != NIL && strcmp(linitial(ex->ahead), database) == 0)
			ex->ahead = list_delete_first(ex->ahead);
		if ((s = session_open(ex, database, missing_ok)) == NULL)
			return NULL;
		ex->sessions = list_make1(s);
	}
	start_ahead(ex);
	session_await(s);
	return s;
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
	return ex;
}

static void
home_audit(Executor *ex, const Step *step, const char *phase, ErrorData *edata)
{
	StringInfoData buf;
	AuditEntry	e = step_audit_entry(step, phase, edata);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, MSG_AUDIT);
	put_audit_entry(&buf, &e);
	throw_reply(session_call(session_for(ex, NULL, false), &buf));
}

/*
 * A guard of a step in the extension's database, evaluated in the caller's
 * backend as its current user: what needs nothing starts no worker.  (The
 * worker evaluates the guard again, in the step's own transaction.)
 */
static bool
local_guard_holds(const Step *step)
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

/*
 * Runs one step of a plan; returns whether it changed anything (in a dry
 * run: whether it would).  Errors are re-thrown here, after the failure is
 * in the audit log.
 */
bool
executor_run_step(Executor *ex, const Step *step)
{
	ExecutorSession *s;
	StringInfoData buf;
	Reply		reply;

	ex->unreached = false;
	/* A step with nothing to run only reports (it is for a person to fix). */
	if (step->statement == NULL)
		return ex->dry_run;
	if (step->database == NULL)
	{
		if (!local_guard_holds(step))
			return false;
		if (ex->dry_run)
			return true;
	}

	if (ex->dry_run)
	{
		/* nothing to look into yet, or no worker free to look: reported */
		if (!OidIsValid(current_database_oid(step->database)))
			return true;
		s = session_for(ex, step->database, true);
		if (s == NULL)
		{
			ex->unreached = true;
			return true;
		}
	}
	else
		s = session_for(ex, step->database, false);

	initStringInfo(&buf);
	if (step->database == NULL)
	{
		appendStringInfoChar(&buf, MSG_STEP);
		put_step(&buf, step, WIRE_AUDIT |
				 (step->own_transaction ? WIRE_OWN_TRANSACTION : 0) |
				 (step->as_owner ? WIRE_AS_OWNER : 0));
		reply = session_call(s, &buf);
		throw_reply(reply);
		return reply.flag;
	}

	/* Elsewhere: ask first, so the intent row is not written in vain. */
	appendStringInfoChar(&buf, MSG_GUARD);
	put_step(&buf, step, step->as_owner ? WIRE_AS_OWNER : 0);
	reply = session_call(s, &buf);
	throw_reply(reply);
	if (!reply.flag || ex->dry_run)
		return reply.flag;

	home_audit(ex, step, "intent", NULL);
	resetStringInfo(&buf);
	appendStringInfoChar(&buf, MSG_STEP);
	put_step(&buf, step, step->as_owner ? WIRE_AS_OWNER : 0);
	reply = session_call(s, &buf);
	home_audit(ex, step, reply.error ? "failed" : "done", reply.error);
	throw_reply(reply);
	return reply.flag;
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
	if ((as_owner ? catalog_execute(sql.data, 0, NULL, NULL, NULL)
		 : execute_as(GetUserId(), sql.data, 0, NULL, NULL, NULL)) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "step guards returned no row");
	foreach(lc, indexes)
	{
		bool		isnull;
		bool		value = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
													   ++col, &isnull));

		needed[lfirst_int(lc)] = !isnull && value;
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

		if (step->statement == NULL || (step->database == NULL && step->guard == NULL))
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

		if (step->database != NULL && step->statement != NULL)
		{
			needed[i] = executor_run_step(ex, step);
			(*unreached)[i] = ex->unreached;
		}
	}
	return needed;
}

/* Lets the workers in other databases go. */
static void
close_databases(Executor *ex)
{
	ListCell   *lc;

	foreach(lc, ex->sessions)
		session_close(lfirst(lc));
	ex->sessions = NIL;
}

/* Lets every worker go and waits until they have left their databases. */
void
executor_end(Executor *ex)
{
	ex->ahead = NIL;
	close_databases(ex);
	if (ex->home)
		session_close(ex->home);
	ex->home = NULL;
}
