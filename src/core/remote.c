/*
 * remote.c
 *		Connections to a target cluster over libpq, and reading the cluster an
 *		operation acts on, whichever it is.
 *
 * Connections are opened asynchronously, several at once when they are
 * started ahead, and every wait is on the backend's latch, so a cancel,
 * statement_timeout or pg_terminate_backend of the caller interrupts them
 * (and cancels the remote statement); connecting is
 * bounded by connect_timeout (default 10 s), each remote statement by
 * tenancy.remote_statement_timeout.  One connection per database is kept
 * for the rest of the transaction (the snapshot reader and the executor
 * share it); at its end all are closed but the cluster's dbname one, kept
 * for the next operation (see end_of_transaction()).
 */
#include "core/core.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "aws/aws.h"

typedef struct RemoteConnection
{
	char	   *cluster;		/* whose, as whom (the mapping is the
								 * current user's), and where */
	Oid			userid;
	char	   *database;
	PGconn	   *conn;
	PostgresPollingStatusType poll; /* while connecting: what libpq waits for */
	TimestampTz deadline;		/* of connecting */
	bool		connecting;
	bool		kept;			/* the cluster's dbname: outlives a committed
								 * transaction, as postgres_fdw's do */
	bool		stale;			/* its server or user mapping changed */
} RemoteConnection;

/* open connections, in TopMemoryContext */
static List *connections = NIL;
static bool callbacks_registered = false;

int			tenancy_remote_statement_timeout = 300000;

static void cancel_remote(PGconn *conn);

/*
 * A statement still running there is cancelled first: a backend waiting on
 * a lock never reads the Terminate message PQfinish() sends (the caller may
 * be ending on pg_terminate_backend, which passes no PG_CATCH).
 */
static void
close_connection(RemoteConnection *rc)
{
	connections = list_delete_ptr(connections, rc);
	if (!rc->connecting && PQtransactionStatus(rc->conn) == PQTRANS_ACTIVE)
		cancel_remote(rc->conn);
	PQfinish(rc->conn);
	pfree(rc->cluster);
	pfree(rc->database);
	pfree(rc);
}

/*
 * At the end of a transaction every connection is closed but, after a
 * commit, an idle one to a cluster's dbname: the next operation on that
 * cluster (onboarding one tenant after another) need not log in again.
 * Connections to tenant databases never stay: they would keep those
 * databases from being dropped.
 */
static void
end_of_transaction(XactEvent event, void *arg)
{
	List	   *open = NIL;
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	foreach(lc, connections)
	{
		RemoteConnection *rc = lfirst(lc);

		if (event == XACT_EVENT_COMMIT && rc->kept && !rc->connecting && !rc->stale &&
			PQstatus(rc->conn) == CONNECTION_OK && PQtransactionStatus(rc->conn) == PQTRANS_IDLE)
			continue;
		open = lappend(open, rc);
	}
	foreach(lc, open)
		close_connection(lfirst(lc));
	list_free(open);
}

/* A changed server or user mapping: their connections are made anew. */
static void
options_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	ListCell   *lc;

	foreach(lc, connections)
		((RemoteConnection *) lfirst(lc))->stale = true;
}

static const char *
database_or_default(const char *database)
{
	return database ? database : current_cluster->dbname;
}

/* libpq's message, one line, without the newline it ends with */
static char *
libpq_message(PGconn *conn)
{
	char	   *msg = pstrdup(PQerrorMessage(conn));
	size_t		len = strlen(msg);

	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	return msg;
}

/*
 * Waits until the socket is ready (write: for writing) or the deadline
 * (0: none) passes; interrupts are served meanwhile.
 */
static void
wait_for_socket(PGconn *conn, bool write, TimestampTz deadline, const char *what,
				const char *database)
{
	long		timeout = -1;
	int			rc;

	if (deadline)
	{
		timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (timeout <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timeout while %s cluster \"%s\", database \"%s\"",
							what, current_cluster->name, database)));
	}
	rc = WaitLatchOrSocket(MyLatch,
						   WL_LATCH_SET | WL_EXIT_ON_PM_DEATH |
						   (write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE) |
						   (deadline ? WL_TIMEOUT : 0),
						   PQsocket(conn), timeout, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The password of a new connection: the user mapping's, or with auth 'iam'
 * a fresh token, signed with the credentials this session sees.
 */
static const char *
connection_password(const Cluster *c)
{
	if (c->iam_auth)
		return rds_auth_token(c->host, c->port, c->user, c->aws_region);
	return c->password;
}

static RemoteConnection *
find_connection(const char *database)
{
	ListCell   *lc;

	foreach(lc, connections)
	{
		RemoteConnection *rc = lfirst(lc);

		if (strcmp(rc->cluster, current_cluster->name) == 0 && rc->userid == GetUserId() &&
			strcmp(rc->database, database) == 0)
			return rc;
	}
	return NULL;
}

/*
 * Starts connecting to a database of the current cluster (NULL: its
 * dbname), as the mapped user, with a search_path nobody can write to (a
 * startup option: no round trip); a usable connection there is kept.
 */
void
remote_connect_start(const char *database)
{
	const Cluster *c = current_cluster;
	RemoteConnection *rc;
	const char **keywords;
	const char **values;
	int			n;
	MemoryContext old;

	Assert(c != NULL);
	database = database_or_default(database);
	if ((rc = find_connection(database)) != NULL)
	{
		/* one kept from before may have been closed by the target meanwhile */
		if (rc->connecting ||
			(!rc->stale && PQconsumeInput(rc->conn) && PQstatus(rc->conn) == CONNECTION_OK &&
			 PQtransactionStatus(rc->conn) == PQTRANS_IDLE))
			return;
		close_connection(rc);
	}
	if (!callbacks_registered)
	{
		RegisterXactCallback(end_of_transaction, NULL);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, options_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, options_changed, (Datum) 0);
		callbacks_registered = true;
	}

	keywords = palloc(sizeof(char *) * (c->noptions + 4));
	values = palloc(sizeof(char *) * (c->noptions + 4));
	memcpy(keywords, c->keywords, sizeof(char *) * c->noptions);
	memcpy(values, c->values, sizeof(char *) * c->noptions);
	n = c->noptions;
	keywords[n] = "dbname";
	values[n++] = database;
	keywords[n] = "password";
	values[n++] = connection_password(c);
	keywords[n] = "options";
	values[n++] = "-c search_path=pg_catalog,pg_temp";
	keywords[n] = NULL;
	values[n] = NULL;

	old = MemoryContextSwitchTo(TopMemoryContext);
	rc = palloc0(sizeof(RemoteConnection));
	rc->cluster = pstrdup(c->name);
	rc->userid = GetUserId();
	rc->database = pstrdup(database);
	rc->kept = strcmp(database, c->dbname) == 0;
	rc->conn = PQconnectStartParams(keywords, values, false);
	rc->poll = PGRES_POLLING_WRITING;
	rc->connecting = true;
	rc->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), c->connect_timeout * 1000);
	connections = lappend(connections, rc);
	MemoryContextSwitchTo(old);
	if (rc->conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while connecting to cluster \"%s\"", c->name)));
	if (PQstatus(rc->conn) == CONNECTION_BAD)
		rc->poll = PGRES_POLLING_FAILED;
}

/*
 * Moves every connection being made forward until the one given is made
 * (or failed): those started ahead make progress while it is waited for.
 */
static void
advance_connections(RemoteConnection *target)
{
	while (target->poll != PGRES_POLLING_OK && target->poll != PGRES_POLLING_FAILED)
	{
		WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, list_length(connections) + 2);
		WaitEvent  *events = palloc(sizeof(WaitEvent) * (list_length(connections) + 2));
		long		timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), target->deadline);
		ListCell   *lc;
		int			n;

		if (timeout <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
					 errmsg("timeout while connecting to cluster \"%s\", database \"%s\"",
							current_cluster->name, target->database)));
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		foreach(lc, connections)
		{
			RemoteConnection *rc = lfirst(lc);

			if (rc->connecting && rc->poll != PGRES_POLLING_OK && rc->poll != PGRES_POLLING_FAILED)
				AddWaitEventToSet(set, rc->poll == PGRES_POLLING_WRITING ?
								  WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE,
								  PQsocket(rc->conn), NULL, rc);
		}
		n = WaitEventSetWait(set, timeout, events, list_length(connections) + 2, PG_WAIT_EXTENSION);
		FreeWaitEventSet(set);
		for (int i = 0; i < n; i++)
		{
			RemoteConnection *rc = events[i].user_data;

			if (events[i].events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
			else if (rc)
				rc->poll = PQconnectPoll(rc->conn);
		}
	}
}

/*
 * The connection to a database of the current cluster (NULL: its dbname),
 * made if need be; errors name the cluster and the database.
 */
PGconn *
remote_connection(const char *database)
{
	const Cluster *c = current_cluster;
	RemoteConnection *rc;

	remote_connect_start(database);
	rc = find_connection(database_or_default(database));
	if (!rc->connecting)
		return rc->conn;
	advance_connections(rc);
	rc->connecting = false;
	if (PQstatus(rc->conn) != CONNECTION_OK)
	{
		char	   *msg = libpq_message(rc->conn);
		char	   *datname = pstrdup(rc->database);

		close_connection(rc);
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to cluster \"%s\", database \"%s\"", c->name, datname),
				 errdetail_internal("%s", msg)));
	}
	if (c->password_required && !PQconnectionUsedPassword(rc->conn))
	{
		close_connection(rc);
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("password or IAM token is required to reach cluster \"%s\"", c->name),
				 errdetail("The target did not ask for the password: a non-superuser may not connect with the server's own credentials (trust, peer, certificates, .pgpass).")));
	}
	return rc->conn;
}

/*
 * Closes the connection to a tenant database, if open (the one to the
 * cluster's dbname stays for the rest of the transaction, and after it).
 */
void
remote_disconnect(const char *database)
{
	RemoteConnection *rc = current_cluster ?
		find_connection(database_or_default(database)) : NULL;

	if (rc && !rc->kept)
		close_connection(rc);
}

static void
cancel_remote(PGconn *conn)
{
	char		errbuf[256];
	PGcancel   *cancel = PQgetCancel(conn);

	if (cancel)
	{
		(void) PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
}

/*
 * The error a remote statement failed with, as the caller's: every field
 * the target sent, and a context line naming the cluster and database.
 */
ErrorData *
remote_error(const PGresult *res, const char *database)
{
	ErrorData  *edata = palloc0(sizeof(ErrorData));
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
	const char *where = psprintf("on cluster \"%s\", database \"%s\"", current_cluster->name,
								 database_or_default(database));

	edata->elevel = ERROR;
	edata->sqlerrcode = sqlstate && strlen(sqlstate) == 5 ?
		MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]) :
		ERRCODE_CONNECTION_FAILURE;
	edata->message = pstrdup(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
							 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
							 PQresultErrorMessage(res));
	if (PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL))
		edata->detail = pstrdup(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	if (PQresultErrorField(res, PG_DIAG_MESSAGE_HINT))
		edata->hint = pstrdup(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
	edata->context = context ? psprintf("%s\n%s", context, where) : pstrdup(where);
	edata->filename = __FILE__;
	edata->lineno = __LINE__;
	edata->funcname = PG_FUNCNAME_MACRO;
	edata->assoc_context = CurrentMemoryContext;
	return edata;
}

static void lost_connection(PGconn *conn, const char *database) pg_attribute_noreturn();

static void
lost_connection(PGconn *conn, const char *database)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("lost the connection to cluster \"%s\", database \"%s\"",
					current_cluster->name, database_or_default(database)),
			 errdetail_internal("%s", libpq_message(conn))));
	pg_unreachable();
}

/*
 * Runs SQL on a connection (with parameters: one statement; without: any
 * number, in one implicit transaction unless they say otherwise) and
 * returns its last result, or the error it ended with.  throw: an error
 * result is thrown instead.  A lost connection is thrown, naming the
 * cluster.
 */
PGresult *
remote_exec(PGconn *conn, const char *database, const char *sql, int nparams,
			const char *const *params, bool throw)
{
	PGresult   *result = NULL;
	PGresult   *r;
	TimestampTz deadline = tenancy_remote_statement_timeout > 0 ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tenancy_remote_statement_timeout) : 0;

	if (!(nparams ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
		  : PQsendQuery(conn, sql)))
		lost_connection(conn, database);
	PG_TRY();
	{
		while (PQisBusy(conn))
		{
			wait_for_socket(conn, false, deadline, "waiting for", database_or_default(database));
			if (!PQconsumeInput(conn))
				lost_connection(conn, database);
		}
	}
	PG_CATCH();
	{
		/* whatever was running there stops too; the connection is done */
		RemoteConnection *rc;

		cancel_remote(conn);
		if (current_cluster && (rc = find_connection(database_or_default(database))) != NULL &&
			rc->conn == conn)
			close_connection(rc);
		PG_RE_THROW();
	}
	PG_END_TRY();

	while ((r = PQgetResult(conn)) != NULL)
	{
		if (result && PQresultStatus(result) == PGRES_FATAL_ERROR)
			PQclear(r);			/* the first error is the one */
		else
		{
			PQclear(result);
			result = r;
		}
	}
	if (result == NULL)
		lost_connection(conn, database);
	if (throw && PQresultStatus(result) == PGRES_FATAL_ERROR)
	{
		ErrorData  *edata = remote_error(result, database);

		PQclear(result);
		ThrowErrorData(edata);
	}
	return result;
}

static Rows *
rows_of_result(PGresult *res)
{
	Rows	   *rows = palloc(sizeof(Rows));

	rows->nrows = PQntuples(res);
	rows->ncols = PQnfields(res);
	rows->cells = palloc0(sizeof(char *) * Max(rows->nrows * rows->ncols, 1));
	for (int r = 0; r < rows->nrows; r++)
		for (int c = 0; c < rows->ncols; c++)
			if (!PQgetisnull(res, r, c))
				rows->cells[r * rows->ncols + c] = pstrdup(PQgetvalue(res, r, c));
	PQclear(res);
	return rows;
}

static Rows *
rows_of_spi(void)
{
	Rows	   *rows = palloc(sizeof(Rows));

	rows->nrows = SPI_processed;
	rows->ncols = SPI_tuptable->tupdesc->natts;
	rows->cells = palloc0(sizeof(char *) * Max(rows->nrows * rows->ncols, 1));
	for (int r = 0; r < rows->nrows; r++)
		for (int c = 0; c < rows->ncols; c++)
			rows->cells[r * rows->ncols + c] =
				SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
	return rows;
}

/*
 * Reads the cluster the operation acts on, as the caller (here) or the
 * mapped user (a target): a query whose parameters are text, in the
 * database tenants are managed from (here) or the cluster's dbname.  The
 * caller is connected to SPI; the rows are allocated in its context.
 */
Rows *
cluster_query(const char *sql, int nparams, const char *const *params)
{
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;

	if (current_cluster)
		return rows_of_result(remote_exec(remote_connection(NULL), NULL, sql, nparams,
										  params, true));

	types = palloc(sizeof(Oid) * Max(nparams, 1));
	values = palloc(sizeof(Datum) * Max(nparams, 1));
	nulls = palloc(sizeof(char) * Max(nparams, 1));
	for (int i = 0; i < nparams; i++)
	{
		types[i] = TEXTOID;
		values[i] = params[i] ? CStringGetTextDatum(params[i]) : (Datum) 0;
		nulls[i] = params[i] ? ' ' : 'n';
	}
	if (execute_as(GetUserId(), sql, nparams, types, values, nulls) != SPI_OK_SELECT)
		elog(ERROR, "cluster query returned no rows: %s", sql);
	return rows_of_spi();
}
