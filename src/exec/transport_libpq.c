/*
 * transport_libpq.c
 *		The transport to a target cluster: a libpq connection per database,
 *		as the user mapping's user (core/remote.c makes and keeps them).
 *
 * Nothing of the extension is installed there, and nothing is written
 * there but the tenant's own roles, databases and grants: audit rows go to
 * the extension's database through the home transport.  A step runs as it
 * does locally: its guard and statement in one READ COMMITTED transaction;
 * an own-transaction step (CREATE DATABASE) alone, then its finish in one
 * implicit transaction.
 */
#include "exec/exec.h"

#include "libpq-fe.h"

typedef struct LibpqSession
{
	Transport	base;
	PGconn	   *conn;
} LibpqSession;

static Transport *
libpq_open(const char *database, const AuditContext *audit, bool missing_ok)
{
	LibpqSession *s = palloc0(sizeof(LibpqSession));

	s->base.methods = &libpq_transport;
	s->base.database = database ? pstrdup(database) : NULL;
	remote_connect_start(database);
	return &s->base;
}

/* Connections started ahead are made meanwhile (core/remote.c). */
static void
libpq_await(Transport *t)
{
	LibpqSession *s = (LibpqSession *) t;

	if (s->conn == NULL)
		s->conn = remote_connection(t->database);
}

/* Runs SQL there; returns its error (NULL: none) and, for a query, its result. */
static ErrorData *
run_sql(LibpqSession *s, const char *sql, PGresult **result)
{
	PGresult   *res = remote_exec(s->conn, s->base.database, sql, 0, NULL, false);
	ErrorData  *edata = NULL;

	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		edata = remote_error(res, s->base.database);
	if (result && edata == NULL)
		*result = res;
	else
		PQclear(res);
	return edata;
}

static bool
guard_result(PGresult *res)
{
	bool		holds = PQntuples(res) == 1 && PQnfields(res) >= 1 &&
		!PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return holds;
}

/* Ends a failed transaction there; the step's error is what matters. */
static ErrorData *
rolled_back(LibpqSession *s, ErrorData *edata)
{
	ErrorData  *rollback_error = run_sql(s, "ROLLBACK", NULL);

	if (rollback_error)
		ThrowErrorData(rollback_error);
	return edata;
}

/*
 * The guard; before a step that runs in a transaction, in the transaction
 * it will run in, begun in the same round trip and left open for run().
 */
static bool
libpq_guard(Transport *t, const Step *step, bool then_run)
{
	LibpqSession *s = (LibpqSession *) t;
	bool		begin = then_run && !step->own_transaction;
	PGresult   *res;
	ErrorData  *edata;

	libpq_await(t);
	if (step->guard == NULL && !begin)
		return true;
	edata = run_sql(s, psprintf("%s%s", begin ? "BEGIN ISOLATION LEVEL READ COMMITTED; " : "",
								step->guard ? step->guard : "SELECT true"), &res);
	if (edata)
		ThrowErrorData(begin ? rolled_back(s, edata) : edata);
	if (guard_result(res))
		return true;
	if (begin)
		(void) rolled_back(s, NULL);
	return false;
}

/*
 * Runs a step whose guard held: an own-transaction step alone, then its
 * finish (one implicit transaction); any other in the transaction its guard
 * began, committed in the same round trip.
 */
static ErrorData *
libpq_run(Transport *t, const Step *step, bool audit, bool *ran)
{
	LibpqSession *s = (LibpqSession *) t;
	ErrorData  *edata;

	Assert(!audit);
	*ran = false;
	libpq_await(t);
	if (step->own_transaction)
	{
		if ((edata = run_sql(s, step->statement, NULL)) != NULL)
			return edata;
		*ran = true;
		return step->finish ? run_sql(s, step->finish, NULL) : NULL;
	}
	if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS && !libpq_guard(t, step, true))
		return NULL;
	if ((edata = run_sql(s, psprintf("%s; COMMIT", step->statement), NULL)) != NULL)
		return PQtransactionStatus(s->conn) == PQTRANS_IDLE ? edata : rolled_back(s, edata);
	*ran = true;
	return NULL;
}

static void
libpq_write_audit(Transport *t, const AuditEntry *entry)
{
	elog(ERROR, "audit rows are never written on a target cluster");
}

static void
libpq_close(Transport *t, bool wait)
{
	/* PQfinish() returns once the server has the Terminate message */
	remote_disconnect(t->database);
}

const TransportMethods libpq_transport = {
	.open = libpq_open,
	.await = libpq_await,
	.guard = libpq_guard,
	.run = libpq_run,
	.write_audit = libpq_write_audit,
	.close = libpq_close,
};
