/*
 * audit.c
 *		Rows of tenancy.audit_log: who asked (the caller's context, carried to
 *		the executor), what ran (the statement, with secrets redacted) and how
 *		it ended.
 */
#include "core/core.h"

#include <sys/socket.h>
#include <netdb.h>

#include "common/ip.h"
#include "executor/spi.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "utils/guc.h"

/* The caller's identity, captured once per operation in the caller's backend. */
void
audit_context_init(AuditContext *ctx, const char *operation, const char *tenant)
{
	uint8		uuid[16];

	memset(ctx, 0, sizeof(*ctx));

	if (!pg_strong_random(uuid, sizeof(uuid)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate an operation id")));
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(ctx->operation_id, sizeof(ctx->operation_id),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
			 uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);

	strlcpy(ctx->operation, operation, sizeof(ctx->operation));
	if (tenant)
		strlcpy(ctx->tenant, tenant, sizeof(ctx->tenant));
	strlcpy(ctx->session_user_name, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(ctx->session_user_name));
	strlcpy(ctx->current_user_name, GetUserNameFromId(GetUserId(), false),
			sizeof(ctx->current_user_name));
	if (application_name)
		strlcpy(ctx->application_name, application_name, sizeof(ctx->application_name));
	if (MyProcPort && MyProcPort->raddr.addr.ss_family != AF_UNIX)
		pg_getnameinfo_all(&MyProcPort->raddr.addr, MyProcPort->raddr.salen,
						   ctx->client_addr, sizeof(ctx->client_addr),
						   NULL, 0, NI_NUMERICHOST);
	ctx->backend_pid = MyProcPid;
	if (current_cluster)
	{
		strlcpy(ctx->cluster, current_cluster->name, sizeof(ctx->cluster));
		strlcpy(ctx->cluster_user, current_cluster->user, sizeof(ctx->cluster_user));
	}
}

/*
 * Appends one row to the audit log, inside the current transaction: a
 * transactional step commits with its row, or neither does.
 */
void
audit_write(const AuditContext *ctx, const AuditEntry *entry)
{
	const char *args[18];

	args[0] = ctx->operation_id[0] ? ctx->operation_id : NULL;
	args[1] = ctx->operation;
	args[2] = ctx->tenant[0] ? ctx->tenant : NULL;
	args[3] = entry->step;
	args[4] = entry->phase;
	args[5] = entry->object_type;
	args[6] = entry->object_name;
	args[7] = entry->database;
	args[8] = entry->statement;
	args[9] = entry->sqlstate;
	args[10] = entry->message;
	args[11] = ctx->session_user_name;
	args[12] = ctx->current_user_name;
	args[13] = ctx->client_addr[0] ? ctx->client_addr : NULL;
	args[14] = ctx->application_name;
	args[15] = psprintf("%d", ctx->backend_pid);
	args[16] = ctx->cluster;
	args[17] = ctx->cluster_user;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the columns of 1.2 only where they are needed: 1.0 and 1.1 lack them */
	catalog_execute_text(psprintf("INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase,"
								  " object_type, object_name, database, statement, sqlstate, message,"
								  " session_user_name, current_user_name, client_addr, application_name,"
								  " backend_pid, transaction_id%s)"
								  " VALUES ($1::pg_catalog.uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
								  " $14::pg_catalog.inet, $15, $16::pg_catalog.int4, pg_catalog.pg_current_xact_id()%s)",
								  ctx->cluster[0] ? ", cluster, cluster_user" : "",
								  ctx->cluster[0] ? ", $17, $18" : ""),
						 ctx->cluster[0] ? 18 : 16, args);
	SPI_finish();
}
