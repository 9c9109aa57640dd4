/*
 * exec/exec.h
 *		Execution: the driver that runs a plan's steps (executor.c) and the
 *		transports that reach a database (transport_bgworker.c: a background
 *		worker over shm_mq, here; transport_libpq.c: a libpq connection, on a
 *		target cluster).
 */
#ifndef AURORA_TENANCY_EXEC_H
#define AURORA_TENANCY_EXEC_H

#include "plan/plan.h"

typedef struct Executor Executor;

/*
 * A transport: how the executor reaches one database as the caller.  The
 * driver (executor.c) knows the step protocol; a transport only connects,
 * evaluates guards, runs steps and writes audit rows where it is connected.
 * Methods throw what goes wrong with the connection; run() returns the
 * step's own error instead, for the driver to audit before throwing it.
 */
typedef struct Transport Transport;

typedef struct TransportMethods
{
	/* starts a connection to a database (NULL: the extension's); NULL when
	 * none is to be had now and missing_ok */
	Transport  *(*open) (const char *database, const AuditContext *audit, bool missing_ok);
	/* waits until it is connected */
	void		(*await) (Transport *t);
	/* is the step needed?  Its guard, in a transaction of its own; with
	 * then_run, run() follows if it holds (a transport may keep that
	 * transaction open for it) */
	bool		(*guard) (Transport *t, const Step *step, bool then_run);
	/* runs the step if its guard holds (*ran); with audit, with its audit
	 * rows (a connection to the extension's database); returns its error */
	ErrorData  *(*run) (Transport *t, const Step *step, bool audit, bool *ran);
	/* writes one audit row (a connection to the extension's database) */
	void		(*write_audit) (Transport *t, const AuditEntry *entry);
	/* lets the connection go; with wait, once it has left its database */
	void		(*close) (Transport *t, bool wait);
} TransportMethods;

struct Transport
{
	const TransportMethods *methods;
	const char *database;		/* NULL: the extension's database */
};

/* in transport_bgworker.c */
extern const TransportMethods bgworker_transport;

/* in transport_libpq.c */
extern const TransportMethods libpq_transport;

/* in executor.c */
extern bool step_guard_holds(const Step *step);
extern AuditEntry audit_entry_for_step(const Step *step, const char *phase,
									   ErrorData *edata);
extern Executor *executor_begin(const char *operation, const char *tenant, bool dry_run);
extern bool executor_run_step(Executor *ex, const Step *step);
extern bool *executor_dry_run(Executor *ex, List *plan, bool **unreached);
extern void executor_start_databases(Executor *ex, List *databases);
extern void executor_open_home(Executor *ex);
extern void executor_end(Executor *ex);

#endif							/* AURORA_TENANCY_EXEC_H */
