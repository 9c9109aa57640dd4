/*
 * guc.c
 *		The tenancy.* settings of the onboarding core.
 */
#include "core/core.h"

#include <limits.h>

#include "utils/guc.h"
#include "utils/memutils.h"

char	   *tenancy_database_name_template = NULL;
char	   *tenancy_database_template = NULL;
char	   *tenancy_iam_role = NULL;
char	   *tenancy_default_cluster = NULL;
bool		tenancy_allow_drop_extension = false;
int			tenancy_check_workers = 4;
bool		tenancy_allow_local_logins = false;
char	   *tenancy_control_database = NULL;

/*
 * A value set before the library was loaded (SET in the session, ALTER ROLE
 * or DATABASE ... SET) is checked only when the library loads; PostgreSQL
 * then warns and keeps the default.  An operation must not go ahead with a
 * setting other than the one asked for, so the refused value is remembered
 * until a valid one is set.
 */
static char *refused_database_name_template = NULL;

/*
 * A template may hold only what a tenant database name may hold, plus the
 * placeholders %t (tenant) and %d (short database name); %d is required so
 * that the databases of one tenant cannot collide.
 */
static bool
check_database_name_template(char **newval, void **extra, GucSource source)
{
	const char *p;
	bool		has_d = false;

	for (p = *newval; *p; p++)
	{
		if (*p == '%')
		{
			if (p[1] == 'd')
				has_d = true;
			else if (p[1] != 't')
			{
				GUC_check_errdetail("Only %%t (tenant) and %%d (database) may follow %%.");
				return false;
			}
			p++;
		}
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
		{
			GUC_check_errdetail("A template may contain only lower-case letters, digits, underscores and the placeholders %%t and %%d.");
			return false;
		}
	}
	if (!has_d)
	{
		GUC_check_errdetail("A template must contain %%d.");
		return false;
	}
	if ((*newval)[0] != '%' && !((*newval)[0] >= 'a' && (*newval)[0] <= 'z'))
	{
		GUC_check_errdetail("A template must start with a letter or a placeholder.");
		return false;
	}
	return true;
}

/* A valid value is in force: any value refused at load time is history. */
static void
assign_database_name_template(const char *newval, void *extra)
{
	refused_database_name_template = NULL;
}

/* Refuses to go on while a template set before loading was refused. */
void
require_valid_settings(void)
{
	if (refused_database_name_template)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"tenancy.database_name_template\": \"%s\"",
						refused_database_name_template),
				 errdetail("It was set before aurora_tenancy was loaded and refused when it loaded, so the default would be used instead."),
				 errhint("SET tenancy.database_name_template to a valid pattern, or RESET it.")));
}

void
GucInit(void)
{
	const char *before_load = GetConfigOption("tenancy.database_name_template", true, false);
	char	   *copy = before_load ? pstrdup(before_load) : NULL;

	DefineCustomStringVariable("tenancy.database_name_template",
							   "Pattern of tenant database names: %t is the tenant, %d the short database name.",
							   NULL,
							   &tenancy_database_name_template,
							   "%t_%d",
							   PGC_SUSET,
							   0,
							   check_database_name_template, assign_database_name_template, NULL);
	if (copy && strcmp(copy, tenancy_database_name_template) != 0)
		refused_database_name_template = MemoryContextStrdup(TopMemoryContext, copy);

	DefineCustomStringVariable("tenancy.database_template",
							   "Database that new tenant databases are copied from; no tenant may connect to it.",
							   NULL,
							   &tenancy_database_template,
							   "template0",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("tenancy.check_workers",
							"Background workers (on a target cluster: connections) check() keeps started ahead, to look into several tenant databases at once.",
							NULL,
							&tenancy_check_workers,
							4, 1, 64,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("tenancy.allow_drop_extension",
							 "Lets DROP EXTENSION aurora_tenancy (and DROP SCHEMA tenancy, DROP OWNED BY its owner) go ahead while tenants exist, destroying the registry and the audit log.",
							 NULL,
							 &tenancy_allow_drop_extension,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.default_cluster",
							   "Cluster onboard() acts on when its cluster argument is NULL: a foreign server of the wrapper aurora_tenancy; empty: this cluster.",
							   NULL,
							   &tenancy_default_cluster,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("tenancy.remote_statement_timeout",
							"Longest wait for one statement on a target cluster; 0: no limit but the caller's own statement_timeout.",
							NULL,
							&tenancy_remote_statement_timeout,
							300000, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/* read by the guards (hooks/), so only from the server's configuration */
	DefineCustomBoolVariable("tenancy.allow_local_logins",
							 "Lets tenants with allowed IPs log in over Unix-domain sockets (local logins are outside every allowed IP).",
							 NULL,
							 &tenancy_allow_local_logins,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.control_database",
							   "Database where aurora_tenancy is installed: the object guard records the statements it refuses in its audit log.",
							   NULL,
							   &tenancy_control_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.iam_role",
							   "Role granted to tenants that log in with IAM database authentication.",
							   NULL,
							   &tenancy_iam_role,
							   "rds_iam",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}
