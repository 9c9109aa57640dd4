/*
 * guc.c
 *		The tenancy.* settings of the onboarding core.
 */
#include "aurora_tenancy.h"

#include "utils/guc.h"

char	   *tenancy_database_name_template = NULL;
char	   *tenancy_iam_role = NULL;

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

void
GucInit(void)
{
	DefineCustomStringVariable("tenancy.database_name_template",
							   "Pattern of tenant database names: %t is the tenant, %d the short database name.",
							   NULL,
							   &tenancy_database_name_template,
							   "%t_%d",
							   PGC_SUSET,
							   0,
							   check_database_name_template, NULL, NULL);

	DefineCustomStringVariable("tenancy.iam_role",
							   "Role granted to tenants that log in with IAM database authentication.",
							   NULL,
							   &tenancy_iam_role,
							   "rds_iam",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}
