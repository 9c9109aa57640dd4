/*
 * transport_bgworker.c
 *		The local transport: a dynamic background worker per database, over
 *		shm_mq.
 *
 * The worker connects to its database as the caller's session user, takes
 * the caller's current user, and serves requests until the caller detaches:
 * evaluate a step's guard, run a step (each statement top-level, in its own
 * transaction, so CREATE DATABASE works and PreventInTransactionBlock is
 * honoured), write an audit row.  Its notices, warnings and errors reach the
 * caller whole, as PostgreSQL's parallel workers' do (pq_redirect_to_shm_mq
 * here, pq_parse_errornotice there), with a context line naming the
 * database; connection failures included.
 *
 * Worker slots are started without waiting (open) and waited for later
 * (await), so several can start at once.  If the caller fails (error,
 * cancel, statement_timeout, termination), its resource owner detaches the
 * shared memory; a detach callback cancels the statement the worker is
 * running, the worker records the step as failed and exits when it finds
 * the queue detached.
 */
#include "exec/exec.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
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
/* Replies (worker -> caller): 'N' notices and 'E' errors of the protocol, and */
#define MSG_OK				'K'	/* followed by one byte: executed / needed */

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
	Transport	transport;		/* first: a session is a Transport */
	dsm_segment *segment;
	BackgroundWorkerHandle *handle;
	shm_mq_handle *requests;
	shm_mq_handle *replies;
	pid_t		pid;
	bool		ready;			/* connected and answering */
} ExecutorSession;

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

static const char *
session_database(ExecutorSession *s)
{
	return s->transport.database ? s->transport.database : get_database_name(MyDatabaseId);
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

/*
 * Sends an error to the caller, every field of it, as the protocol's 'E'
 * message (the caller logs it, not the worker).
 */
static void
worker_reply_error(ErrorData *edata)
{
	edata->output_to_server = false;
	edata->output_to_client = true;
	PG_TRY();
	{
		ReThrowError(edata);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
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
	step_running = true;
	PG_TRY();
	{
		run_top_level(sql, display);
	}
	PG_FINALLY();
	{
		step_running = false;
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

/* Writes an audit row in the worker's current transaction. */
static void
worker_write_audit(const AuditEntry *e)
{
	if (strcmp(e->phase, PHASE_INTENT) == 0)
		intent_commits_asynchronously();
	audit_write(&worker_shared->audit, e);
}

static void
worker_audit(const Step *step, const char *phase, ErrorData *edata)
{
	AuditEntry	e = audit_entry_for_step(step, phase, edata);

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
	if (!step_guard_holds(step))
	{
		commit_transaction();
		return false;
	}

	if (step->own_transaction)
	{
		if (audit)
			worker_audit(step, PHASE_INTENT, NULL);
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
			worker_audit(step, PHASE_DONE, NULL);
		commit_transaction();
		return true;
	}

	run_statement(step->statement, step->display ? step->display : step->statement,
				  step->as_owner);
	if (audit)
		worker_audit(step, PHASE_DONE, NULL);
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
			needed = step_guard_holds(&step);
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
				worker_audit(&step, statement_committed ? PHASE_DONE : PHASE_FAILED, edata);
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
	/* notices, warnings and errors, connecting included, go to the caller */
	pq_redirect_to_shm_mq(segment, worker_replies);

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
					session_database(s)),
			 errdetail("The background worker stopped before it answered."),
			 errhint("The server log says why.")));
}

/*
 * Sends one request (NULL: none, await the first reply) and waits for the
 * answer: *flag and NULL, or the worker's error.  The worker's notices and
 * warnings on the way are passed on as they come.  A dead worker is an
 * error here.
 */
static ErrorData *
session_call(ExecutorSession *s, StringInfo msg, bool *flag)
{
	if (msg && shm_mq_send(s->requests, msg->len, msg->data, false, true) != SHM_MQ_SUCCESS)
		worker_gone(s);
	for (;;)
	{
		Size		nbytes;
		void	   *data;
		StringInfoData buf;
		ErrorData  *edata;
		char		type;

		if (shm_mq_receive(s->replies, &nbytes, &data, false) != SHM_MQ_SUCCESS)
			worker_gone(s);
		initStringInfo(&buf);
		appendBinaryStringInfo(&buf, data, nbytes);
		type = pq_getmsgbyte(&buf);
		if (type == MSG_OK)
		{
			if (flag)
				*flag = pq_getmsgbyte(&buf) != 0;
			return NULL;
		}
		if (type != 'E' && type != 'N')
			elog(ERROR, "unexpected message type %c from an executor", type);

		edata = palloc0(sizeof(ErrorData));
		pq_parse_errornotice(&buf, edata);
		edata->elevel = (type == 'E') ? ERROR : Min(edata->elevel, WARNING);
		edata->context = edata->context ?
			psprintf("%s\nin background worker for database \"%s\"", edata->context, session_database(s)) :
			psprintf("in background worker for database \"%s\"", session_database(s));
		if (type == 'E')
			return edata;
		ThrowErrorData(edata);	/* a notice or warning: shown, and on */
	}
}

static void
throw_if(ErrorData *edata)
{
	if (edata)
		ThrowErrorData(edata);
}

/*
 * Starts a worker connected to a database (NULL: the extension's) as the
 * caller; NULL when no slot is free and missing_ok.
 */
static Transport *
worker_open(const char *database, const AuditContext *audit, bool missing_ok)
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

	s->transport.methods = &bgworker_transport;
	s->transport.database = database ? pstrdup(database) : NULL;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(ExecutorShared));
	shm_toc_estimate_chunk(&e, QUEUE_SIZE);
	shm_toc_estimate_chunk(&e, QUEUE_SIZE);
	shm_toc_estimate_keys(&e, 3);
	size = shm_toc_estimate(&e);

	s->segment = dsm_create(size, 0);
	toc = shm_toc_create(EXECUTOR_MAGIC, dsm_segment_address(s->segment), size);

	shared = shm_toc_allocate(toc, sizeof(ExecutorShared));
	shared->database = database ? database_oid_now(database) : MyDatabaseId;
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
	shared->audit = *audit;
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
	return &s->transport;
}

/*
 * Waits until a started worker is connected.  Starting is cheap and waiting
 * is not, so several workers can be started before the first is awaited.
 */
static void
worker_await(Transport *t)
{
	ExecutorSession *s = (ExecutorSession *) t;

	if (s->ready)
		return;
	if (WaitForBackgroundWorkerStartup(s->handle, &s->pid) != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start an executor for database \"%s\"", session_database(s)),
				 errhint("The server log says why.")));
	/* The first reply says the worker is connected (or why it is not). */
	throw_if(session_call(s, NULL, NULL));
	s->ready = true;
}

static ErrorData *
worker_request(Transport *t, char type, const Step *step, int flags, bool *flag)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, type);
	put_step(&buf, step, flags | (step->own_transaction ? WIRE_OWN_TRANSACTION : 0) |
			 (step->as_owner ? WIRE_AS_OWNER : 0));
	return session_call((ExecutorSession *) t, &buf, flag);
}

static bool
worker_guard(Transport *t, const Step *step, bool then_run)
{
	bool		needed = false;

	throw_if(worker_request(t, MSG_GUARD, step, 0, &needed));
	return needed;
}

static ErrorData *
worker_run(Transport *t, const Step *step, bool audit, bool *ran)
{
	*ran = false;
	return worker_request(t, MSG_STEP, step, audit ? WIRE_AUDIT : 0, ran);
}

static void
worker_write_audit_row(Transport *t, const AuditEntry *entry)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, MSG_AUDIT);
	put_audit_entry(&buf, entry);
	throw_if(session_call((ExecutorSession *) t, &buf, NULL));
}

static void
worker_close(Transport *t, bool wait)
{
	ExecutorSession *s = (ExecutorSession *) t;

	cancel_on_dsm_detach(s->segment, cancel_worker, PointerGetDatum(s->handle));
	dsm_detach(s->segment);
	/* A worker connected to a database would get in the way of DROP DATABASE. */
	if (wait)
		(void) WaitForBackgroundWorkerShutdown(s->handle);
}

const TransportMethods bgworker_transport = {
	.open = worker_open,
	.await = worker_await,
	.guard = worker_guard,
	.run = worker_run,
	.write_audit = worker_write_audit_row,
	.close = worker_close,
};
