/*
 * event_trigger.c
 *		The event triggers of the extension's database: DDL is recorded in the
 *		audit log, and the tenancy schema is changed only by extension scripts.
 *
 * Event triggers never fire for roles, databases or GRANT ON DATABASE; the
 * executor audits those itself.
 */
#include "aurora_tenancy.h"

#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tenancy_on_ddl_command_end);
PG_FUNCTION_INFO_V1(tenancy_on_sql_drop);

static void
refuse_schema_change(const char *tag)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on objects of the tenancy schema is not allowed", tag),
			 errdetail("The tenancy schema belongs to the aurora_tenancy extension and changes only through its scripts."),
			 errhint("Use ALTER EXTENSION aurora_tenancy UPDATE.")));
}

/* Commands whose OPTIONS or CONNECTION may carry credentials. */
static bool
options_may_hold_secrets(CommandTag tag)
{
	switch (tag)
	{
		case CMDTAG_CREATE_SERVER:
		case CMDTAG_ALTER_SERVER:
		case CMDTAG_CREATE_USER_MAPPING:
		case CMDTAG_ALTER_USER_MAPPING:
		case CMDTAG_CREATE_SUBSCRIPTION:
		case CMDTAG_ALTER_SUBSCRIPTION:
		case CMDTAG_CREATE_FOREIGN_DATA_WRAPPER:
		case CMDTAG_ALTER_FOREIGN_DATA_WRAPPER:
			return true;
		default:
			return false;
	}
}

/*
 * Checks the objects an event trigger reports and records them.  The query
 * yields (object_type, schema_name, object_identity, original) per object.
 */
static void
guard_and_audit(FunctionCallInfo fcinfo, const char *query)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	const char *tag = GetCommandTagName(trigdata->tag);
	AuditContext ctx;
	bool		record;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the objects of event trigger %s", trigdata->event);

	/* Dropping the extension drops its catalog with it: nothing to guard or audit. */
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *type = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *identity = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (strcmp(type, "extension") == 0 && strcmp(identity, "aurora_tenancy") == 0 &&
			strcmp(trigdata->event, "sql_drop") == 0)
		{
			SPI_finish();
			return;
		}
	}

	/*
	 * Nothing is recorded while the audit log is empty (a fresh install
	 * before its first operation, a restore before its rows are loaded): a
	 * restore replays DDL before it loads the dumped rows, and rows recorded
	 * first would fork the chain those rows carry.
	 */
	record = !audit_log_is_empty();

	audit_context_init(&ctx, "ddl", NULL);
	ctx.operation_id[0] = '\0';
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *type = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *schema = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *identity = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		char	   *original = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);
		AuditEntry	e = {0};

		if ((schema && strcmp(schema, "tenancy") == 0) ||
			(strcmp(type, "schema") == 0 && strcmp(identity, "tenancy") == 0))
			refuse_schema_change(tag);
		if (!record)
			continue;
		if (strcmp(original, "t") != 0)
			continue;			/* what a drop cascaded to is implied by it */

		e.step = tag;
		e.phase = "ddl";
		e.object_type = type;
		e.object_name = identity;
		e.statement = debug_query_string ?
			redact_statement(debug_query_string, options_may_hold_secrets(trigdata->tag)) : NULL;
		audit_write(&ctx, &e);	/* a nested SPI session: our result set survives */
	}
	SPI_finish();
}

/* Running aurora_tenancy's own install or upgrade script (not another extension's)? */
static bool
in_own_script(void)
{
	return creating_extension &&
		CurrentExtensionObject == get_extension_oid("aurora_tenancy", true);
}

Datum
tenancy_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	if (!in_own_script())
		guard_and_audit(fcinfo,
						"SELECT object_type, schema_name, object_identity, true"
						" FROM pg_catalog.pg_event_trigger_ddl_commands()");
	PG_RETURN_VOID();
}

Datum
tenancy_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	if (!in_own_script())
		guard_and_audit(fcinfo,
						"SELECT object_type, schema_name, object_identity, original"
						" FROM pg_catalog.pg_event_trigger_dropped_objects()");
	PG_RETURN_VOID();
}
