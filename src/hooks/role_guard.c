/*
 * role_guard.c
 *		The object guard's rules for roles: a tenant role reaches, directly
 *		or through the roles it is a member of, no role PostgreSQL defines
 *		(pg_*, the bootstrap superuser), no role with SUPERUSER, CREATEDB,
 *		CREATEROLE, REPLICATION or BYPASSRLS, and no other tenant's role.
 *
 * And no role holds a tenant role but the tenant (whoever did could act as
 * the tenant from any address, past its allowed IPs), but in the
 * extension's own steps (offboarding borrows it).
 *
 * So are refused, by whoever PostgreSQL would let do them: those
 * attributes given to a tenant role or to a role a tenant is a member of
 * (ALTER ROLE); a role granted to a tenant, or to a role a tenant is a
 * member of, when it reaches any of the above (GRANT, ALTER GROUP ... ADD
 * USER); a new role with such attributes or memberships that a tenant is
 * made a member of (CREATE ROLE ... ROLE / ADMIN tenant); a tenant role
 * granted to any role (GRANT, ALTER GROUP, CREATE ROLE ... IN ROLE).
 * Memberships are followed whether or not they inherit: SET ROLE needs
 * none.  Each check first takes a lock on pg_auth_members that conflicts
 * with itself and with every change of memberships, so that two
 * transactions cannot each add half of a chain the other does not see.
 */
#include "hooks/hooks.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_shseclabel.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

static const char *const attributes[][2] = {
	{"superuser", "SUPERUSER"}, {"createdb", "CREATEDB"}, {"createrole", "CREATEROLE"},
	{"isreplication", "REPLICATION"}, {"bypassrls", "BYPASSRLS"}};

#define GUARD_HINT "A tenant holds what tenancy.onboard() and tenancy.add_database() give it; grant privileges on objects in its own databases instead."

/* A set of OIDs; adding says whether it was there. */
static HTAB *
oid_set(void)
{
	HASHCTL		ctl = {0};

	ctl.keysize = ctl.entrysize = sizeof(Oid);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("aurora_tenancy roles", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static bool
oid_set_add(HTAB *set, Oid oid)
{
	bool		present;

	(void) hash_search(set, &oid, HASH_ENTER, &present);
	return present;
}

/*
 * The roles reachable from role through pg_auth_members, itself excluded:
 * up (the roles it is a member of) or down (its members).  Breadth first,
 * each role once (a hash set: a group may have thousands of members).
 */
static List *
related_roles(Oid role, bool up)
{
	HTAB	   *seen = oid_set();
	List	   *found = NIL;

	(void) oid_set_add(seen, role);
	for (int next = -1; next < list_length(found); next++)
	{
		Oid			from = next < 0 ? role : list_nth_oid(found, next);
		CatCList   *rows = SearchSysCacheList1(up ? AUTHMEMMEMROLE : AUTHMEMROLEMEM,
											   ObjectIdGetDatum(from));

		for (int i = 0; i < rows->n_members; i++)
		{
			Form_pg_auth_members m = (Form_pg_auth_members) GETSTRUCT(&rows->members[i]->tuple);
			Oid			other = up ? m->roleid : m->member;

			if (!oid_set_add(seen, other))
				found = lappend_oid(found, other);
		}
		ReleaseSysCacheList(rows);
	}
	hash_destroy(seen);
	return found;
}

/* The tenants among role and its members, direct or not (names). */
List *
tenants_within(Oid role)
{
	List	   *tenants = NIL;
	List	   *roles = lcons_oid(role, related_roles(role, false));
	HTAB	   *marked = oid_set();
	bool		any = false;
	ListCell   *lc;
	ScanKeyData keys[2];
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;

	/* one pass over the role markers rather than one lookup a member */
	ScanKeyInit(&keys[0], Anum_pg_shseclabel_classoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(AuthIdRelationId));
	ScanKeyInit(&keys[1], Anum_pg_shseclabel_provider, BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(MARKER_PROVIDER));
	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 2, keys);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		any = !oid_set_add(marked, ((Form_pg_shseclabel) GETSTRUCT(tuple))->objoid) || any;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!any)
		return NIL;
	foreach(lc, roles)
	{
		Oid			oid = lfirst_oid(lc);
		const char *tenant = hash_search(marked, &oid, HASH_FIND, NULL) ? role_tenant(oid) : NULL;

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

/* Waits for other transactions changing memberships, and keeps them waiting. */
static void
serialize_membership_changes(void)
{
	LockRelationOid(AuthMemRelationId, ShareRowExclusiveLock);
}

/* A tenant role granted to another role. */
static void
guard_tenant_role_granted(const Guarded *g, Oid granted, const char *member_name)
{
	const char *tenant = role_tenant(granted);

	if (tenant)
		refuse_statement(g, tenant, "role", GetUserNameFromId(granted, false),
						 ERRCODE_INSUFFICIENT_PRIVILEGE,
						 psprintf("tenant role \"%s\" cannot be granted to role \"%s\"", tenant, member_name),
						 "Whoever holds it could act as the tenant from any address, past its allowed IPs.",
						 "A tenant's privileges are its own; tenancy.offboard() hands what it leaves to " CUSTODIAN_ROLE ".");
}

/* granted given to member: refused if a tenant within member would reach too far. */
static void
guard_membership(const Guarded *g, Oid granted, const char *granted_name, Oid member)
{
	ListCell   *lc;

	if (!OidIsValid(granted) || !OidIsValid(member) ||
		!(has_createrole_privilege(GetUserId()) || is_admin_of_role(GetUserId(), granted)))
		return;
	serialize_membership_changes();
	guard_tenant_role_granted(g, granted, GetUserNameFromId(member, false));
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
	{
		serialize_membership_changes();
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
	serialize_membership_changes();
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);
		ListCell   *lm;

		if (strcmp(option->defname, "addroleto") == 0)
		{
			in_roles = list_concat(in_roles, (List *) option->arg);
			foreach(lm, (List *) option->arg)
				guard_tenant_role_granted(g, rolespec_oid(lfirst_node(RoleSpec, lm)), stmt->role);
		}
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
