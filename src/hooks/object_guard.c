/*
 * object_guard.c
 *		The object guard: statements that would destroy a protected tenant,
 *		or open a tenant to others, are refused in every database and for
 *		every role, superusers included, unless they are the extension's own
 *		steps (step_running, set in C by the executor).
 *
 * ProcessUtility_hook sees each utility statement before it runs, in every
 * database of the cluster, and refuses:
 *	- while a tenant is protected: DROP DATABASE, ALTER DATABASE ... RENAME
 *	  and OWNER TO of its databases; DROP ROLE and ALTER ROLE ... RENAME of
 *	  its role; DROP OWNED BY and REASSIGN OWNED BY it, or REASSIGN OWNED BY
 *	  the owner of its databases; a new marker or guard label on either
 *	  (SECURITY LABEL);
 *	- for every tenant: privileges on its databases granted to PUBLIC or to
 *	  another tenant, a copy of them (IS_TEMPLATE, CREATE DATABASE ...
 *	  TEMPLATE), DROP SCHEMA public in them, or its renaming or new owner;
 *	  and what role_guard.c refuses a tenant role.
 * Only a role PostgreSQL would let go ahead is refused here (and audited):
 * any other gets PostgreSQL's own error, so that no unprivileged role can
 * fill the audit log or the worker slots with refusals.
 * Each refusal is recorded in the audit log (refusal_audit.c).  What the
 * guard cannot stop (a superuser writing the catalogs directly, a server
 * started without the library) README.md says.
 */
#include "hooks/hooks.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* The statement's own text, as sent (read only when it is refused). */
static char *
statement_text(const Guarded *g)
{
	int			location = Max(g->pstmt->stmt_location, 0);

	if (g->query == NULL)
		return NULL;
	return g->pstmt->stmt_len > 0 ? pnstrdup(g->query + location, g->pstmt->stmt_len) :
		pstrdup(g->query + location);
}

/* Records the refusal, then refuses. */
void
refuse_statement(const Guarded *g, const char *tenant, const char *object_type,
	   const char *object_name, int sqlerrcode, const char *message,
	   const char *detail, const char *hint)
{
	AuditContext ctx;
	AuditEntry	e = {0};
	char	   *text;

	audit_context_init(&ctx, OPERATION_OBJECT_GUARD, tenant);
	e.step = STEP_REFUSE_STATEMENT;
	e.phase = PHASE_REFUSED;
	e.object_type = object_type;
	e.object_name = object_name;
	e.database = get_database_name(MyDatabaseId);
	e.statement = (text = statement_text(g)) ? redact_statement(text, false) : NULL;
	e.sqlstate = unpack_sql_state(sqlerrcode);
	e.message = message;
	record_refusal(&ctx, &e);
	/* not in the server log as sent: it may hold a password (the row's is redacted) */
	ereport(ERROR,
			(errcode(sqlerrcode),
			 errhidestmt(true),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 errhint("%s", hint)));
}

static void
refuse_protected(const Guarded *g, const char *tenant, const char *object_type,
				 const char *object_name)
{
	refuse_statement(g, tenant, object_type, object_name, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
		   psprintf("tenant \"%s\" is protected against deletion", tenant),
		   psprintf("%s is refused for its %s \"%s\", for every role, while it is protected.",
					GetCommandTagName(CreateCommandTag(g->pstmt->utilityStmt)), object_type, object_name),
		   psprintf("First call SELECT tenancy.set_deletion_protection('%s', false); then"
					" tenancy.offboard() removes the tenant and tenancy.remove_database() a database.",
					tenant));
}

const char *
role_tenant(Oid roleid)
{
	return OidIsValid(roleid) ? tenant_of_object(AuthIdRelationId, roleid) : NULL;
}

Oid
rolespec_oid(const RoleSpec *spec)
{
	return spec->roletype == ROLESPEC_PUBLIC ? InvalidOid : get_rolespec_oid(spec, true);
}

/* The tenant of the database of this name (*oid); NULL: none, or no such database. */
static const char *
database_tenant(const char *datname, Oid *oid)
{
	*oid = get_database_oid(datname, true);
	return OidIsValid(*oid) ? tenant_of_object(DatabaseRelationId, *oid) : NULL;
}

/* DROP, RENAME, OWNER TO, SECURITY LABEL of a database: its owner's. */
static void
guard_database(const Guarded *g, const char *datname)
{
	Oid			oid;
	const char *tenant = database_tenant(datname, &oid);

	if (tenant && pg_database_ownercheck(oid, GetUserId()) && tenant_protected(tenant))
		refuse_protected(g, tenant, "database", datname);
}

/* DROP, RENAME, SECURITY LABEL of a role: CREATEROLE's. */
static void
guard_role(const Guarded *g, Oid roleid)
{
	const char *tenant = role_tenant(roleid);

	if (tenant && has_createrole_privilege(GetUserId()) && tenant_protected(tenant))
		refuse_protected(g, tenant, "role", GetUserNameFromId(roleid, false));
}

/*
 * DROP OWNED, REASSIGN OWNED BY roles: their members'.  The tenant itself
 * only drops or hands over what it owns, as it may object by object.
 */
static void
guard_owners(const Guarded *g, const List *roles)
{
	ListCell   *lc;

	foreach(lc, roles)
	{
		Oid			roleid = rolespec_oid(lfirst_node(RoleSpec, lc));
		const char *tenant = role_tenant(roleid);

		if (tenant && roleid != GetUserId() && has_privs_of_role(GetUserId(), roleid) &&
			tenant_protected(tenant))
			refuse_protected(g, tenant, "role", GetUserNameFromId(roleid, false));
	}
}

/* REASSIGN OWNED BY the owner of a protected tenant's databases gives them away. */
static void
guard_owned_databases(const Guarded *g, const List *roles)
{
	Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;

	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);
		ListCell   *lc;

		foreach(lc, roles)
			if (rolespec_oid(lfirst_node(RoleSpec, lc)) == db->datdba &&
				has_privs_of_role(GetUserId(), db->datdba))
			{
				const char *tenant = tenant_of_object(DatabaseRelationId, db->oid);

				if (tenant && tenant_protected(tenant))
					refuse_protected(g, tenant, "database", NameStr(db->datname));
			}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static void
guard_security_label(const Guarded *g, const SecLabelStmt *stmt)
{
	if (stmt->provider && strcmp(stmt->provider, MARKER_PROVIDER) != 0 &&
		strcmp(stmt->provider, GUARD_PROVIDER) != 0)
		return;
	if (stmt->objtype == OBJECT_DATABASE)
		guard_database(g, strVal(stmt->object));
	else if (stmt->objtype == OBJECT_ROLE)
		guard_role(g, get_role_oid(strVal(stmt->object), true));
}

/* GRANT ... ON DATABASE: only the tenant holds privileges on its databases. */
static void
guard_database_grant(const Guarded *g, const GrantStmt *stmt)
{
	ListCell   *lc;

	if (!stmt->is_grant || stmt->objtype != OBJECT_DATABASE || stmt->targtype != ACL_TARGET_OBJECT)
		return;
	foreach(lc, stmt->objects)
	{
		const char *datname = strVal(lfirst(lc));
		Oid			oid;
		const char *tenant = database_tenant(datname, &oid);
		ListCell   *lg;

		/* only its owner, or a holder of a grant option, may grant */
		if (tenant == NULL ||
			(!pg_database_ownercheck(oid, GetUserId()) &&
			 pg_database_aclmask(oid, GetUserId(), ACL_GRANT_OPTION_FOR(ACL_ALL_RIGHTS_DATABASE),
								 ACLMASK_ANY) == 0))
			continue;
		foreach(lg, stmt->grantees)
		{
			RoleSpec   *grantee = lfirst_node(RoleSpec, lg);
			Oid			roleid = rolespec_oid(grantee);
			const char *whom = NULL;
			ListCell   *lt;

			if (grantee->roletype == ROLESPEC_PUBLIC)
				whom = "PUBLIC";
			else if (OidIsValid(roleid))
				foreach(lt, tenants_within(roleid))
					if (whom == NULL && strcmp(lfirst(lt), tenant) != 0)
						whom = role_tenant(roleid) ? psprintf("tenant \"%s\"", (char *) lfirst(lt)) :
							psprintf("role \"%s\" (tenant \"%s\" is a member of it)",
									 GetUserNameFromId(roleid, false), (char *) lfirst(lt));
			if (whom == NULL)
				continue;
			refuse_statement(g, tenant, "database", datname, ERRCODE_INSUFFICIENT_PRIVILEGE,
				   psprintf("privileges on tenant database \"%s\" cannot be granted to %s", datname, whom),
				   psprintf("Only tenant \"%s\" may use its databases.", tenant),
				   "tenancy.onboard() and tenancy.add_database() grant the tenant what it needs.");
		}
	}
}

/*
 * Schema public of a tenant database (its owner's, the database owner's):
 * not dropped, renamed or given away.  action: the statement's verb.
 */
static void
guard_schema_public(const Guarded *g, const char *schema, const char *action)
{
	Oid			public;
	const char *tenant;

	if (strcmp(schema, "public") != 0 ||
		!OidIsValid(public = get_namespace_oid("public", true)) ||
		(tenant = tenant_of_object(DatabaseRelationId, MyDatabaseId)) == NULL ||
		!pg_namespace_ownercheck(public, GetUserId()))
		return;
	refuse_statement(g, tenant, "schema", "public", ERRCODE_INSUFFICIENT_PRIVILEGE,
		   psprintf("schema public of tenant database \"%s\" cannot be %s",
					get_database_name(MyDatabaseId), action),
		   "It holds the privileges tenancy.onboard() gave the tenant.",
		   "tenancy.remove_database() removes the whole database.");
}

static void
guard_drop(const Guarded *g, const DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType == OBJECT_SCHEMA)
		foreach(lc, stmt->objects)
			guard_schema_public(g, strVal(lfirst(lc)), "dropped");
}

/* A copy of a tenant database would be readable by whoever owns the copy. */
static void
guard_copy(const Guarded *g, const char *datname)
{
	Oid			oid;
	const char *tenant = database_tenant(datname, &oid);

	if (tenant && pg_database_ownercheck(oid, GetUserId()))
		refuse_statement(g, tenant, "database", datname, ERRCODE_INSUFFICIENT_PRIVILEGE,
			   psprintf("tenant database \"%s\" cannot be copied", datname),
			   psprintf("Only tenant \"%s\" may use its databases.", tenant),
			   "New tenant databases are copied from tenancy.database_template.");
}

/* CREATE DATABASE ... TEMPLATE, ALTER DATABASE ... IS_TEMPLATE true */
static void
guard_database_options(const Guarded *g, const char *datname, const List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "template") == 0)
			guard_copy(g, defGetString(option));
		else if (datname && strcmp(option->defname, "is_template") == 0 && defGetBoolean(option))
			guard_copy(g, datname);
	}
}

static void
guard_statement(Node *stmt, const Guarded *g)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_DropdbStmt:
			guard_database(g, ((DropdbStmt *) stmt)->dbname);
			break;
		case T_DropRoleStmt:
			foreach(lc, ((DropRoleStmt *) stmt)->roles)
				guard_role(g, rolespec_oid(lfirst_node(RoleSpec, lc)));
			break;
		case T_RenameStmt:
			if (((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
				guard_database(g, ((RenameStmt *) stmt)->subname);
			else if (((RenameStmt *) stmt)->renameType == OBJECT_ROLE)
				guard_role(g, get_role_oid(((RenameStmt *) stmt)->subname, true));
			else if (((RenameStmt *) stmt)->renameType == OBJECT_SCHEMA)
				guard_schema_public(g, ((RenameStmt *) stmt)->subname, "renamed");
			break;
		case T_AlterOwnerStmt:
			if (((AlterOwnerStmt *) stmt)->objectType == OBJECT_DATABASE)
				guard_database(g, strVal(((AlterOwnerStmt *) stmt)->object));
			else if (((AlterOwnerStmt *) stmt)->objectType == OBJECT_SCHEMA)
				guard_schema_public(g, strVal(((AlterOwnerStmt *) stmt)->object), "given away");
			break;
		case T_CreatedbStmt:
			guard_database_options(g, NULL, ((CreatedbStmt *) stmt)->options);
			break;
		case T_AlterDatabaseStmt:
			guard_database_options(g, ((AlterDatabaseStmt *) stmt)->dbname,
								   ((AlterDatabaseStmt *) stmt)->options);
			break;
		case T_DropOwnedStmt:
			guard_owners(g, ((DropOwnedStmt *) stmt)->roles);
			break;
		case T_ReassignOwnedStmt:
			guard_owners(g, ((ReassignOwnedStmt *) stmt)->roles);
			guard_owned_databases(g, ((ReassignOwnedStmt *) stmt)->roles);
			break;
		case T_SecLabelStmt:
			guard_security_label(g, (SecLabelStmt *) stmt);
			break;
		case T_GrantStmt:
			guard_database_grant(g, (GrantStmt *) stmt);
			break;
		case T_GrantRoleStmt:
			guard_grant_role(g, (GrantRoleStmt *) stmt);
			break;
		case T_AlterRoleStmt:
			guard_alter_role(g, (AlterRoleStmt *) stmt);
			break;
		case T_CreateRoleStmt:
			guard_create_role(g, (CreateRoleStmt *) stmt);
			break;
		case T_DropStmt:
			guard_drop(g, (DropStmt *) stmt);
			break;
		default:
			break;
	}
}

static void
object_guard(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			 ProcessUtilityContext context, ParamListInfo params,
			 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (!step_running)
	{
		Guarded		g = {pstmt, queryString};

		guard_statement(pstmt->utilityStmt, &g);
	}
	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context, params,
								  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

void
ObjectGuardInit(void)
{
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = object_guard;
}
