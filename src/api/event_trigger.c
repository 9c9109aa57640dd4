/*
 * event_trigger.c
 *		The event triggers of the extension's database: DDL is recorded in the
 *		audit log, and the tenancy schema is changed only by extension scripts.
 *
 * Event triggers never fire for roles, databases or GRANT ON DATABASE; the
 * executor audits those itself.
 */
#include "api/api.h"

#include "commands/event_trigger.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "tcop/tcopprot.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tenancy_on_ddl_command_start);
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

/*
 * What a statement would destroy of the extension's catalog, or NULL: DROP
 * EXTENSION aurora_tenancy, DROP SCHEMA tenancy (with CASCADE) and DROP
 * OWNED BY the extension's owner all drop the registry and the audit log.
 */
static const char *
destroys_catalog(Node *parsetree)
{
	ListCell   *lc;

	if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;

		foreach(lc, stmt->objects)
		{
			if (!IsA(lfirst(lc), String))
				continue;
			if (stmt->removeType == OBJECT_EXTENSION && strcmp(strVal(lfirst(lc)), "aurora_tenancy") == 0)
				return "DROP EXTENSION aurora_tenancy";
			if (stmt->removeType == OBJECT_SCHEMA && strcmp(strVal(lfirst(lc)), "tenancy") == 0)
				return "DROP SCHEMA tenancy";
		}
	}
	else if (IsA(parsetree, DropOwnedStmt))
	{
		Oid			owner;
		bool		isnull;

		catalog_execute("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'aurora_tenancy'",
						0, NULL, NULL, NULL);
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		foreach(lc, ((DropOwnedStmt *) parsetree)->roles)
			if (get_rolespec_oid(lfirst(lc), true) == owner)
				return psprintf("DROP OWNED BY %s", GetUserNameFromId(owner, false));
	}
	return NULL;
}

/*
 * Refuses to destroy the registry and the audit log while tenants exist:
 * their roles and databases would be left unmanaged, and a later CREATE
 * EXTENSION could not tell them from strangers'.  Only a ddl_command_start
 * trigger can: the extension's sql_drop triggers are dropped with it.  The
 * attempt goes to the server log, which outlives the audit log.
 */
static void
guard_catalog(Node *parsetree)
{
	const char *what;
	const char *tenants;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if ((what = destroys_catalog(parsetree)) == NULL)
	{
		SPI_finish();
		return;
	}
	catalog_execute("SELECT pg_catalog.count(*) FROM tenancy.registry", 0, NULL, NULL, NULL);
	tenants = catalog_value();
	if (strcmp(tenants, "0") != 0)
	{
		ereport(LOG,
				(errmsg("aurora_tenancy: %s by role \"%s\" while %s tenants exist: %s",
						what, GetUserNameFromId(GetSessionUserId(), false), tenants,
						tenancy_allow_drop_extension ? "allowed by tenancy.allow_drop_extension" : "refused")));
		if (!tenancy_allow_drop_extension)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot run %s while aurora_tenancy manages %s tenants", what, tenants),
					 errdetail("It would destroy the tenant registry and the audit log, and leave the tenants' roles and databases unmanaged."),
					 errhint("Offboard the tenants first. To destroy the registry and the audit log deliberately, a superuser can SET tenancy.allow_drop_extension = on first.")));
	}
	SPI_finish();
}

/*
 * A cluster's server goes, or changes its name, only once no tenant lives
 * there: the registry names each tenant's cluster by its server.
 */
static void
guard_clusters(Node *parsetree)
{
	ListCell   *lc;
	List	   *servers = NIL;

	if (IsA(parsetree, DropStmt) && ((DropStmt *) parsetree)->removeType == OBJECT_FOREIGN_SERVER)
	{
		foreach(lc, ((DropStmt *) parsetree)->objects)
			if (IsA(lfirst(lc), String))
				servers = lappend(servers, strVal(lfirst(lc)));
	}
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_FOREIGN_SERVER &&
			 IsA(((RenameStmt *) parsetree)->object, String))
		servers = list_make1(strVal(((RenameStmt *) parsetree)->object));
	if (servers == NIL)
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, servers)
	{
		const char *args[1] = {lfirst(lc)};
		const char *tenants;

		if (!catalog_knows_clusters())
			break;
		catalog_execute_text("SELECT pg_catalog.count(*) FROM tenancy.registry WHERE cluster = $1", 1, args);
		tenants = catalog_value();
		if (strcmp(tenants, "0") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop or rename server \"%s\" while %s tenants live on that cluster",
							(char *) lfirst(lc), tenants),
					 errdetail("The registry names each tenant's cluster by its server."),
					 errhint("Offboard the cluster's tenants first (SELECT name FROM tenancy.tenants WHERE cluster = %s).",
							 quote_literal_cstr(lfirst(lc)))));
	}
	SPI_finish();
}

/*
 * The key that signs the markers on target clusters is the extension
 * owner's alone: whoever reads it can forge a marker and have a role or
 * database of theirs adopted.  A GRANT on it, or on all tables of the
 * schema, is refused (grant on the tables by name instead).
 */
static void
guard_marker_key(Node *parsetree)
{
	GrantStmt  *stmt = (GrantStmt *) parsetree;
	ListCell   *lc;
	bool		reaches_key = false;
	Oid			key;

	if (!IsA(parsetree, GrantStmt) || !stmt->is_grant || stmt->objtype != OBJECT_TABLE)
		return;
	key = get_relname_relid("marker_key", get_namespace_oid("tenancy", false));
	if (!OidIsValid(key))
		return;					/* before 1.2 */
	foreach(lc, stmt->objects)
	{
		if (stmt->targtype == ACL_TARGET_ALL_IN_SCHEMA)
			reaches_key |= strcmp(strVal(lfirst(lc)), "tenancy") == 0;
		else if (stmt->targtype == ACL_TARGET_OBJECT)
			reaches_key |= RangeVarGetRelid(lfirst(lc), NoLock, true) == key;
	}
	if (reaches_key)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("privileges on tenancy.marker_key cannot be granted"),
				 errdetail("Whoever reads the key can forge tenant markers on target clusters."),
				 errhint("Grant on the tables and views to read by name: GRANT SELECT ON tenancy.registry, tenancy.tenant_databases, tenancy.audit_log, tenancy.tenants, tenancy.clusters TO ...")));
}

static void
refuse_unless_event_trigger(FunctionCallInfo fcinfo)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
}

Datum
tenancy_on_ddl_command_start(PG_FUNCTION_ARGS)
{
	refuse_unless_event_trigger(fcinfo);
	guard_catalog(((EventTriggerData *) fcinfo->context)->parsetree);
	guard_clusters(((EventTriggerData *) fcinfo->context)->parsetree);
	guard_marker_key(((EventTriggerData *) fcinfo->context)->parsetree);
	PG_RETURN_VOID();
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
	refuse_unless_event_trigger(fcinfo);
	if (!in_own_script())
		guard_and_audit(fcinfo,
						"SELECT object_type, schema_name, object_identity, true"
						" FROM pg_catalog.pg_event_trigger_ddl_commands()");
	PG_RETURN_VOID();
}

Datum
tenancy_on_sql_drop(PG_FUNCTION_ARGS)
{
	refuse_unless_event_trigger(fcinfo);
	if (!in_own_script())
		guard_and_audit(fcinfo,
						"SELECT object_type, schema_name, object_identity, original"
						" FROM pg_catalog.pg_event_trigger_dropped_objects()");
	PG_RETURN_VOID();
}
