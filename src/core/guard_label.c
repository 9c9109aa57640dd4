/*
 * guard_label.c
 *		The guard label: what the server's guards (hooks/) must know of a
 *		tenant, kept on its role as a security label of a second provider.
 *
 * The login guard runs before any database is chosen and the object guard
 * runs in every database: neither can read tenancy.registry.  pg_shseclabel
 * is a shared catalog, readable then and there (during authentication too),
 * and transactional: a label a step commits is in force for the next login
 * and the next statement, survives a crash, and needs no shared memory
 * rebuilt at start.  The steps keep it as the registry says
 * (plan_guard_label()); check() reports where it differs.  Its text:
 *
 *		deletion_protection=on|off[ allowed_ips=<cidr>[,<cidr>...]]
 */
#include "core/core.h"

#include "access/transam.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "commands/seclabel.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#define PROTECTION_KEY "deletion_protection="
#define ALLOWED_IPS_KEY " allowed_ips="

/* allowed_ips: the text of a cidr[] ("{a,b}"); NULL: every address. */
char *
guard_label(bool deletion_protection, const char *allowed_ips)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, PROTECTION_KEY "%s", deletion_protection ? "on" : "off");
	/* a cidr needs no quoting in an array's text: the list is inside the braces */
	if (allowed_ips)
		appendStringInfo(&buf, ALLOWED_IPS_KEY "%.*s", (int) strlen(allowed_ips) - 2,
						 allowed_ips + 1);
	return buf.data;
}

/* The statement that gives a role its guard label (NULL: takes it away). */
char *
guard_label_statement(const char *role, const char *label)
{
	return psprintf("SECURITY LABEL FOR " GUARD_PROVIDER " ON ROLE %s IS %s",
					quote_identifier(role), label ? quote_literal_cstr(label) : "NULL");
}

/* Reads a guard label; false if it is not one.  The CIDRs are not checked. */
static bool
parse_guard_label(const char *label, TenantGuard *guard)
{
	const char *p;

	memset(guard, 0, sizeof(*guard));
	if (strncmp(label, PROTECTION_KEY, strlen(PROTECTION_KEY)) != 0)
		return false;
	p = label + strlen(PROTECTION_KEY);
	if (strncmp(p, "on", 2) == 0)
	{
		guard->deletion_protection = true;
		p += 2;
	}
	else if (strncmp(p, "off", 3) == 0)
		p += 3;
	else
		return false;
	if (*p == '\0')
		return true;
	if (strncmp(p, ALLOWED_IPS_KEY, strlen(ALLOWED_IPS_KEY)) != 0)
		return false;
	p += strlen(ALLOWED_IPS_KEY);
	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? comma - p : strlen(p);

		if (len == 0)
			return false;
		guard->allowed_ips = lappend(guard->allowed_ips, pnstrdup(p, len));
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

/*
 * The guard of a tenant's role; false (and no protection, every address)
 * when it carries no guard label.  Safe during authentication: only shared
 * catalogs, through GetSecurityLabel().
 */
bool
guard_of_role(Oid roleid, TenantGuard *guard)
{
	ObjectAddress role = {AuthIdRelationId, roleid, 0};
	char	   *label;

	memset(guard, 0, sizeof(*guard));
	if (!OidIsValid(roleid) || (label = GetSecurityLabel(&role, GUARD_PROVIDER)) == NULL)
		return false;
	if (parse_guard_label(label, guard))
		return true;
	memset(guard, 0, sizeof(*guard));
	return false;
}

/* Is the tenant (by name) protected against deletion? */
bool
tenant_protected(const char *tenant)
{
	TenantGuard guard;

	return guard_of_role(get_role_oid(tenant, true), &guard) && guard.deletion_protection;
}

/*
 * Guard labels are written by the executor's steps alone; a superuser may
 * only give a role its first one, as a restore of pg_dumpall output does.
 */
static void
check_guard_relabel(const ObjectAddress *object, const char *seclabel)
{
	TenantGuard guard;
	ListCell   *lc;

	if (object->classId != AuthIdRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("security label provider \"%s\" labels only roles", GUARD_PROVIDER)));
	if (seclabel != NULL && !parse_guard_label(seclabel, &guard))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid guard label \"%s\"", seclabel),
				 errdetail("A guard label has the form \"" PROTECTION_KEY "on|off[" ALLOWED_IPS_KEY "<cidr>,...]\".")));
	if (seclabel != NULL)
		foreach(lc, guard.allowed_ips)
			(void) DirectFunctionCall1(cidr_in, CStringGetDatum(lfirst(lc)));
	if (seclabel != NULL && (object->objectId < FirstNormalObjectId || superuser_arg(object->objectId)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" cannot be a tenant's", GetUserNameFromId(object->objectId, false)),
				 errdetail("It is a superuser or a role PostgreSQL defines.")));
	if (step_running)
		return;
	if (seclabel != NULL && superuser() && GetSecurityLabel(object, GUARD_PROVIDER) == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("guard labels are set only by aurora_tenancy"),
			 errhint("Use tenancy.set_allowed_ips() and tenancy.set_deletion_protection().")));
}

void
GuardLabelInit(void)
{
	register_label_provider(GUARD_PROVIDER, check_guard_relabel);
}
