/*
 * api/api.h
 *		The SQL-callable functions and what they share: input checks, the
 *		tenant's lock, the registry's view of a tenant, running a plan.
 */
#ifndef AURORA_TENANCY_API_H
#define AURORA_TENANCY_API_H

#include "exec/exec.h"

#include "access/htup.h"
#include "access/tupdesc.h"

/* What an operation's IAM side gave: the role, and a key made now. */
typedef struct IamResult
{
	const char *role_arn;
	AwsAnswer  *new_key;
} IamResult;

/* in onboard.c */
extern void require_iam_role(const TenantSnapshot *snap);
extern const char *allowed_ips_text(FunctionCallInfo fcinfo, int argno);
extern int	ensure_tenant(TenantSpec *spec, char **password, IamResult *iam);

/* in iam.c: iam_plan() flags */
#define IAM_MAKE_KEY	0x01	/* an access key, if the recorded one is gone */
#define IAM_ROTATE_KEY	0x02	/* a new access key, then the old one deleted */
#define IAM_REFUSE_NOTHING	0x04	/* check(), repair(): report what is not ours */
extern bool cluster_has_iam(void);
extern List *iam_plan(const Tenant *t, int flags, const char **role_arn, AwsAnswer **new_key);
extern void iam_record_key(const char *tenant, const AwsAnswer *new_key);
extern char *iam_new_external_id(void);

/* in operation.c */
extern void refuse_in_transaction_block(const char *function);
extern void lock_tenant(const char *tenant);
extern void lock_database_names(int n, const char **names);
extern void lock_tenants(int n, const char **names);
extern char *tenant_argument(FunctionCallInfo fcinfo, int argno);
extern char *tenant_columns_sql(void);
extern Tenant *tenant_from_row(HeapTuple row, TupleDesc desc);
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
