/*
 * names.c
 *		Validation of tenant and database names and the database name template.
 *
 * Tenant names also become IAM user and role names later, so the rules are
 * deliberately narrow: ^[a-z][a-z0-9_]*$, never quoted, never truncated.
 */
#include "core/core.h"

#include "catalog/pg_authid.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

/* A tenant name also names IAM users and roles (64 characters, with prefixes). */
#define MAX_TENANT_NAME_BYTES 48

static bool
is_simple_name(const char *name)
{
	const char *p;

	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/*
 * Names that belong to PostgreSQL, to Aurora/RDS, to AWS or to this
 * extension (its custodian role, its databases under construction), that
 * would be confused with the IAM role, or that SQL reserves (public and none
 * for roles; keywords such as user or current_role, which would need
 * quoting) are never tenant names.
 */
static bool
is_reserved_name(const char *name)
{
	static const char *const exact[] = {"postgres", "template0", "template1", "public", "none"};
	static const char *const prefixes[] = {"pg_", "rds", "aws", "tenancy"};
	int			i;

	for (i = 0; i < lengthof(exact); i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (i = 0; i < lengthof(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	if (strcmp(quote_identifier(name), name) != 0)
		return true;
	return tenancy_iam_role != NULL && strcmp(name, tenancy_iam_role) == 0;
}

static void
check_name(const char *what, const char *name)
{
	if (!is_simple_name(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, name),
				 errdetail("A %s name must start with a lower-case letter and contain only lower-case letters, digits and underscores.", what)));
	if (is_reserved_name(name))
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("%s name \"%s\" is reserved", what, name),
				 errdetail("Names equal to postgres, template0, template1, public, none or the IAM role \"%s\", SQL keywords that need quoting (such as user or current_role), and names starting with pg_, rds, aws or tenancy, are reserved.",
						   tenancy_iam_role)));
}

void
validate_tenant_name(const char *tenant)
{
	check_name("tenant", tenant);
	if (strlen(tenant) > MAX_TENANT_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("tenant name \"%s\" is too long", tenant),
				 errdetail("A tenant name may be at most %d bytes, because it also names IAM users and roles.",
						   MAX_TENANT_NAME_BYTES)));
}

void
validate_database_short_name(const char *short_name)
{
	check_name("database", short_name);
}

/*
 * The actual database name: tenancy.database_name_template with %t and %d
 * replaced.  A name longer than NAMEDATALEN - 1 is an error, never truncated.
 */
char *
tenant_database_name(const char *tenant, const char *short_name)
{
	StringInfoData buf;
	const char *p;

	require_valid_settings();
	initStringInfo(&buf);
	for (p = tenancy_database_name_template; *p; p++)
	{
		if (p[0] == '%' && p[1] == 't')
			appendStringInfoString(&buf, tenant), p++;
		else if (p[0] == '%' && p[1] == 'd')
			appendStringInfoString(&buf, short_name), p++;
		else
			appendStringInfoChar(&buf, *p);
	}

	if (buf.len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("database name \"%s\" is too long", buf.data),
				 errdetail("The name made from tenancy.database_name_template is %d bytes; PostgreSQL allows at most %d.",
						   buf.len, NAMEDATALEN - 1),
				 errhint("Choose a shorter tenant or database name.")));
	if (is_reserved_name(buf.data))
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("database name \"%s\" is reserved", buf.data)));
	return buf.data;
}

/*
 * The name a tenant database has while it is built: unique, random (so no
 * one can create it first), with a prefix no tenant database can have.
 */
char *
unfinished_database_name(void)
{
	uint8		bytes[8];
	StringInfoData buf;
	int			i;

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random database name")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, UNFINISHED_DATABASE_PREFIX);
	for (i = 0; i < sizeof(bytes); i++)
		appendStringInfo(&buf, "%02x", bytes[i]);
	return buf.data;
}
