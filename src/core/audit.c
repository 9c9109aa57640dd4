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

/* Set by tenancy.apply() while it runs (manifest.c). */
ApplyContext *current_apply = NULL;

/*
 * The caller's identity, captured once per operation in the caller's
 * backend.  Within an apply, every operation on a tenant shares one id.
 */
void
audit_context_init(AuditContext *ctx, const char *operation, const char *tenant)
{
	memset(ctx, 0, sizeof(*ctx));
	if (current_apply && tenant && strcmp(tenant, current_apply->tenant) == 0)
	{
		strlcpy(ctx->operation_id, current_apply->operation_id, sizeof(ctx->operation_id));
		strlcpy(ctx->apply_id, current_apply->apply_id, sizeof(ctx->apply_id));
	}
	else
		new_uuid(ctx->operation_id);

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

/* A random (version 4) UUID, as text. */
void
new_uuid(char *out)
{
	uint8		uuid[16];

	if (!pg_strong_random(uuid, sizeof(uuid)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate an operation id")));
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
			 uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

/*
 * Appends one row to the audit log, inside the current transaction: a
 * transactional step commits with its row, or neither does.
 */
void
audit_write(const AuditContext *ctx, const AuditEntry *entry)
{
	const char *args[19];
	StringInfoData columns;
	StringInfoData values;
	int			nargs = 16;

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

	args[18] = ctx->apply_id;

	/* the columns of 1.2 and 1.3 only where they are needed: older installs lack them */
	initStringInfo(&columns);
	initStringInfo(&values);
	if (ctx->cluster[0])
	{
		appendStringInfoString(&columns, ", cluster, cluster_user");
		appendStringInfoString(&values, ", $17, $18");
		nargs = 18;
	}
	if (ctx->apply_id[0])
	{
		appendStringInfoString(&columns, ", apply_id");
		appendStringInfoString(&values, ", $19::pg_catalog.uuid");
		nargs = 19;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_execute_text(psprintf("INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase,"
								  " object_type, object_name, database, statement, sqlstate, message,"
								  " session_user_name, current_user_name, client_addr, application_name,"
								  " backend_pid, transaction_id%s)"
								  " VALUES ($1::pg_catalog.uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
								  " $14::pg_catalog.inet, $15, $16::pg_catalog.int4, pg_catalog.pg_current_xact_id()%s)",
								  columns.data, values.data),
						 nargs, args);
	SPI_finish();
}
