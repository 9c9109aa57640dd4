/*
 * api/api.h
 *		The SQL-callable functions and what they share: input checks, the
 *		tenant's lock, the registry's view of a tenant, running a plan.
 */
#ifndef AURORA_TENANCY_API_H
#define AURORA_TENANCY_API_H

#include "exec/exec.h"

/* in onboard.c */
extern void require_iam_role(const TenantSnapshot *snap);
extern const char *allowed_ips_text(FunctionCallInfo fcinfo, int argno);
extern int	ensure_tenant(TenantSpec *spec, char **password);

/* in operation.c */
extern void refuse_in_transaction_block(const char *function);
extern void lock_tenant(const char *tenant);
extern void lock_database_names(int n, const char **names);
extern char *tenant_argument(FunctionCallInfo fcinfo, int argno);
extern Tenant *load_tenant(const char *name);
extern Tenant *open_tenant(FunctionCallInfo fcinfo, const char *function);
extern Tenant *begin_tenant_operation(FunctionCallInfo fcinfo, const char *function);
extern TenantSnapshot *read_checked_snapshot(const Tenant *t, bool full);
extern TenantSnapshot *refuse_unmarked(const Tenant *t, bool databases_too);
extern int	run_plan(const char *operation, const char *tenant, List *plan,
					 Step *watched, bool *watched_ran);
extern int	run_plan_in(Executor *ex, const char *operation, const char *tenant,
						List *plan, Step *watched, bool *watched_ran);
extern void refuse_null(const char *argument);
extern ErrorData *run_isolated(void (*fn) (void *), void *arg);
extern bool audit_says(const char *tenant, const char *object_name,
					   const char *step);

#endif							/* AURORA_TENANCY_API_H */
