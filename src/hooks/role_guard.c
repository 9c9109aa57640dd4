/*
 * role_guard.c
 *		The object guard's rules for roles: a tenant role reaches, directly
 *		or through the roles it is a member of, no role PostgreSQL defines
 *		(pg_*, the bootstrap superuser), no role with SUPERUSER, CREATEDB,
 *		CREATEROLE, REPLICATION or BYPASSRLS, and no other tenant's role.
 *
 * So are refused, by whoever PostgreSQL would let do them: those
 * attributes given to a tenant role or to a role a tenant is a member of
 * (ALTER ROLE); a role granted to a tenant, or to a role a tenant is a
 * member of, when it reaches any of the above (GRANT, ALTER GROUP ... ADD
 * USER); a new role with such attributes or memberships that a tenant is
 * made a member of (CREATE ROLE ... ROLE / ADMIN tenant).  Memberships are
 * followed whether or not they inherit: SET ROLE needs none.
 */
#include "hooks/hooks.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/catcache.h"
#include "utils/syscache.h"

static const char *const attributes[][2] = {
	{"superuser", "SUPERUSER"}, {"createdb", "CREATEDB"}, {"createrole", "CREATEROLE"},
	{"isreplication", "REPLICATION"}, {"bypassrls", "BYPASSRLS"}};

#define GUARD_HINT "A tenant holds what tenancy.onboard() and tenancy.add_database() give it; grant privileges on objects in its own databases instead."

/*
 * The roles reachable from role through pg_auth_members, itself excluded:
 * up (the roles it is a member of) or down (its members).
 */
static List *
related_roles(Oid role, bool up)
{
	List	   *found = NIL;
	List	   *todo = list_make1_oid(role);

	while (todo != NIL)
	{
		Oid			next = linitial_oid(todo);
		CatCList   *rows = SearchSysCacheList1(up ? AUTHMEMMEMROLE : AUTHMEMROLEMEM,
											   ObjectIdGetDatum(next));

		todo = list_delete_first(todo);
		for (int i = 0; i < rows->n_members; i++)
		{
			Form_pg_auth_members m = (Form_pg_auth_members) GETSTRUCT(&rows->members[i]->tuple);
			Oid			other = up ? m->roleid : m->member;

			if (other != role && !list_member_oid(found, other))
			{
				found = lappend_oid(found, other);
				todo = lappend_oid(todo, other);
			}
		}
		ReleaseSysCacheList(rows);
	}
	return found;
}

/* The tenants among role and its members, direct or not (names). */
static List *
tenants_within(Oid role)
{
	List	   *tenants = NIL;
	List	   *roles = lcons_oid(role, related_roles(role, false));
	ListCell   *lc;

	foreach(lc, roles)
	{
		const char *tenant = role_tenant(lfirst_oid(lc));

		if (tenant)
			tenants = lappend(tenants, (char *) tenant);
	}
	return tenants;
}

/* Why role is out of a tenant's bounds by itself; NULL: it is not. */
static char *
out_of_bounds(Oid role, const char *tenant)
{
	const char *name = GetUserNameFromId(role, false);
	const char *other;
	HeapTuple	tuple;
	Form_pg_authid a;
	bool		privileged;

	if (role < FirstNormalObjectId)
		return psprintf("\"%s\" is a role PostgreSQL defines.", name);
	if ((other = role_tenant(role)) != NULL && strcmp(other, tenant) != 0)
		return psprintf("\"%s\" is tenant \"%s\"'s role.", name, other);
	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	if (!HeapTupleIsValid(tuple))
		return NULL;
	a = (Form_pg_authid) GETSTRUCT(tuple);
	privileged = a->rolsuper || a->rolcreatedb || a->rolcreaterole || a->rolreplication || a->rolbypassrls;
	ReleaseSysCache(tuple);
	return privileged ?
		psprintf("\"%s\" has SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.", name) : NULL;
}

/* Why role, or a role it is a member of, is out of a tenant's bounds. */
static char *
reaches_out_of_bounds(Oid role, const char *tenant)
{
	char	   *why = out_of_bounds(role, tenant);
	ListCell   *lc;

	if (why)
		return why;
	foreach(lc, related_roles(role, true))
		if ((why = out_of_bounds(lfirst_oid(lc), tenant)) != NULL)
			return psprintf("Through it, %s", why);
	return NULL;
}

/* The first attribute of the list the options give (true); NULL: none. */
static const char *
attribute_given(const List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		for (int i = 0; i < lengthof(attributes); i++)
			if (strcmp(option->defname, attributes[i][0]) == 0 && defGetBoolean(option))
				return attributes[i][1];
	}
	return NULL;
}

/* granted given to member: refused if a tenant within member would reach too far. */
static void
guard_membership(const Guarded *g, Oid granted, const char *granted_name, Oid member)
{
	ListCell   *lc;

	if (!OidIsValid(granted) || !OidIsValid(member) ||
		!(has_createrole_privilege(GetUserId()) || is_admin_of_role(GetUserId(), granted)))
		return;
	foreach(lc, tenants_within(member))
	{
		const char *tenant = lfirst(lc);
		const char *member_name = GetUserNameFromId(member, false);
		char	   *why = reaches_out_of_bounds(granted, tenant);

		if (why)
			refuse_statement(g, tenant, "role", member_name, ERRCODE_INSUFFICIENT_PRIVILEGE,
				   strcmp(member_name, tenant) == 0 ?
				   psprintf("tenant role \"%s\" cannot be granted role \"%s\"", tenant, granted_name) :
				   psprintf("role \"%s\" cannot be granted role \"%s\": tenant \"%s\" is a member of it",
							member_name, granted_name, tenant),
				   why, GUARD_HINT);
	}
}

void
guard_grant_role(const Guarded *g, const GrantRoleStmt *stmt)
{
	ListCell   *lr;
	ListCell   *lm;

	if (!stmt->is_grant)
		return;
	foreach(lr, stmt->granted_roles)
	{
		const char *name = lfirst_node(AccessPriv, lr)->priv_name;

		foreach(lm, stmt->grantee_roles)
			guard_membership(g, get_role_oid(name, true), name,
							 rolespec_oid(lfirst_node(RoleSpec, lm)));
	}
}

/* ALTER ROLE: attributes; ALTER GROUP ... ADD USER: memberships. */
void
guard_alter_role(const Guarded *g, const AlterRoleStmt *stmt)
{
	Oid			role = rolespec_oid(stmt->role);
	const char *attribute = attribute_given(stmt->options);
	ListCell   *lc;

	if (!OidIsValid(role))
		return;
	if (attribute && has_createrole_privilege(GetUserId()))
		foreach(lc, tenants_within(role))
		{
			const char *tenant = lfirst(lc);
			const char *name = GetUserNameFromId(role, false);

			refuse_statement(g, tenant, "role", name, ERRCODE_INSUFFICIENT_PRIVILEGE,
				   strcmp(name, tenant) == 0 ?
				   psprintf("tenant role \"%s\" cannot be given %s", tenant, attribute) :
				   psprintf("role \"%s\" cannot be given %s: tenant \"%s\" is a member of it",
							name, attribute, tenant),
				   NULL,
				   "A tenant role logs in and holds its databases' privileges, nothing more; tenancy.repair() takes away an attribute it finds.");
		}
	if (stmt->action != +1)
		return;
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);
		ListCell   *lm;

		if (strcmp(option->defname, "rolemembers") != 0)
			continue;
		foreach(lm, (List *) option->arg)
			guard_membership(g, role, GetUserNameFromId(role, false),
							 rolespec_oid(lfirst_node(RoleSpec, lm)));
	}
}

/* CREATE ROLE x ... ROLE / ADMIN tenant: x's attributes and IN ROLE reach the tenant. */
void
guard_create_role(const Guarded *g, const CreateRoleStmt *stmt)
{
	const char *attribute = attribute_given(stmt->options);
	List	   *in_roles = NIL;
	List	   *tenants = NIL;
	ListCell   *lc;

	if (!has_createrole_privilege(GetUserId()))
		return;
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);
		ListCell   *lm;

		if (strcmp(option->defname, "addroleto") == 0)
			in_roles = list_concat(in_roles, (List *) option->arg);
		else if (strcmp(option->defname, "rolemembers") == 0 ||
				 strcmp(option->defname, "adminmembers") == 0)
			foreach(lm, (List *) option->arg)
			{
				Oid			member = rolespec_oid(lfirst_node(RoleSpec, lm));

				if (OidIsValid(member))
					tenants = list_concat(tenants, tenants_within(member));
			}
	}
	foreach(lc, tenants)
	{
		const char *tenant = lfirst(lc);
		const char *why = attribute ? psprintf("It would have %s.", attribute) : NULL;
		ListCell   *lr;

		foreach(lr, in_roles)
		{
			Oid			in_role = rolespec_oid(lfirst_node(RoleSpec, lr));

			if (why == NULL && OidIsValid(in_role))
				why = reaches_out_of_bounds(in_role, tenant);
		}
		if (why)
			refuse_statement(g, tenant, "role", stmt->role, ERRCODE_INSUFFICIENT_PRIVILEGE,
				   psprintf("tenant \"%s\" cannot be made a member of new role \"%s\"", tenant, stmt->role),
				   why, GUARD_HINT);
	}
}
