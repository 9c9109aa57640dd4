/*
 * refusal_audit.c
 *		Records a statement the object guard refused in the audit log of
 *		tenancy.control_database, from a background worker of its own.
 *
 * The refused statement's transaction rolls back, and it may run in any
 * database, with or without the extension: the row must be written
 * elsewhere and committed on its own.  The refusing backend hands the row
 * to a worker in a dynamic shared memory segment and waits until it is
 * written, at most a few seconds (the worker may wait for a lock the
 * refused transaction holds; it finishes when that transaction has rolled
 * back, or gives up after lock_timeout).  A standby records nothing: it
 * cannot write, and its workers would start only at promotion.  The worker connects as the
 * bootstrap superuser and writes the row as the audit writer always does,
 * as the extension's owner, with the refusing session's identity.
 */
#include "hooks/hooks.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

/* how long a refusal waits for its row, and the worker for a lock */
#define RECORD_WAIT_MS 5000
#define WORKER_LOCK_TIMEOUT "30s"

#define NSTRINGS 8				/* the text fields of an AuditEntry */

typedef struct RefusalRecord
{
	char		database[NAMEDATALEN];	/* tenancy.control_database */
	AuditContext ctx;
	volatile bool copied;		/* set by the worker */
	volatile bool recorded;
	int			lengths[NSTRINGS];	/* -1: NULL */
	char		strings[FLEXIBLE_ARRAY_MEMBER];
} RefusalRecord;

PGDLLEXPORT void refusal_audit_main(Datum main_arg);

/* The i-th text field of an audit entry, as the segment carries them. */
static const char **
entry_field(AuditEntry *e, int i)
{
	const char **fields[NSTRINGS] = {&e->step, &e->phase, &e->object_type, &e->object_name,
	&e->database, &e->statement, &e->sqlstate, &e->message};

	return fields[i];
}

void
refusal_audit_main(Datum main_arg)
{
	dsm_segment *segment;
	RefusalRecord *record;
	AuditContext ctx;
	char		database[NAMEDATALEN];
	AuditEntry	e;
	const char *p;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "aurora_tenancy refusal audit");
	segment = dsm_attach(DatumGetUInt32(main_arg));
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the shared memory segment of a refused statement")));
	record = dsm_segment_address(segment);

	/* a copy first: the refusing backend may stop waiting after this */
	ctx = record->ctx;
	strlcpy(database, record->database, sizeof(database));
	p = record->strings;
	for (int i = 0; i < NSTRINGS; i++)
	{
		*entry_field(&e, i) = record->lengths[i] < 0 ? NULL :
			MemoryContextStrdup(TopMemoryContext, p);
		p += Max(record->lengths[i], 0) + 1;
	}
	record->copied = true;

	BackgroundWorkerInitializeConnection(database, NULL, 0);
	pgstat_report_appname("aurora_tenancy refusal audit");
	/* the audit chain's lock may be held by anyone: no slot kept for long */
	SetConfigOption("lock_timeout", WORKER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!catalog_knows_refusals())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the audit log of database \"%s\" cannot record refused statements", database),
				 errhint("ALTER EXTENSION aurora_tenancy UPDATE there.")));
	SPI_finish();
	audit_write(&ctx, &e);
	PopActiveSnapshot();
	CommitTransactionCommand();
	record->recorded = true;
	dsm_detach(segment);
	proc_exit(0);
}

static dsm_segment *
record_segment(const AuditContext *ctx, const AuditEntry *entry)
{
	AuditEntry	e = *entry;
	Size		size = offsetof(RefusalRecord, strings);
	dsm_segment *segment;
	RefusalRecord *record;
	char	   *p;

	for (int i = 0; i < NSTRINGS; i++)
		size += (*entry_field(&e, i) ? strlen(*entry_field(&e, i)) : 0) + 1;
	segment = dsm_create(size, 0);
	record = dsm_segment_address(segment);
	memset(record, 0, offsetof(RefusalRecord, strings));
	strlcpy(record->database, tenancy_control_database, sizeof(record->database));
	record->ctx = *ctx;
	p = record->strings;
	for (int i = 0; i < NSTRINGS; i++)
	{
		const char *field = *entry_field(&e, i);

		record->lengths[i] = field ? strlen(field) : -1;
		strcpy(p, field ? field : "");
		p += Max(record->lengths[i], 0) + 1;
	}
	return segment;
}

/*
 * Waits until the row is written (NULL), the worker stopped without writing
 * it, or RECORD_WAIT_MS have passed; then says why it is not written.
 */
static const char *
await_record(BackgroundWorkerHandle *handle, RefusalRecord *record)
{
	TimestampTz start = GetCurrentTimestamp();
	pid_t		pid;

	for (;;)
	{
		if (record->recorded)
			return NULL;
		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			return record->recorded ? NULL : "its worker failed (the server log says why)";
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), RECORD_WAIT_MS))
			return record->copied ? "its worker is still waiting, for a lock this transaction may hold" :
				"its worker did not start in time";
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Writes the row of a refusal, independently of the caller's transaction;
 * a warning when it is not written (the refusal stands either way).
 */
void
record_refusal(const AuditContext *ctx, const AuditEntry *entry)
{
	dsm_segment *segment;
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	const char *why;

	if (RecoveryInProgress())
	{
		ereport(WARNING,
				(errmsg("the refused statement is not recorded in the audit log: the server is a standby")));
		return;
	}
	segment = record_segment(ctx, entry);

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "aurora_tenancy", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "refusal_audit_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "aurora_tenancy refusal audit for PID %d", MyProcPid);
	strlcpy(worker.bgw_type, "aurora_tenancy refusal audit", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		why = "no background worker slot is free";
	else
		why = await_record(handle, dsm_segment_address(segment));
	dsm_detach(segment);
	if (why)
		ereport(WARNING,
				(errmsg("the refused statement is not recorded in the audit log of database \"%s\": %s",
						tenancy_control_database, why)));
}
