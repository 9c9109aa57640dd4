/*
 * lifecycle.c
 *		The SQL functions of a tenant's life after onboarding: deletion
 *		protection, suspend and resume, databases added and removed,
 *		credentials, settings, and offboarding.
 *
 * Each one validates its input, takes the tenant's lock, plans and runs the
 * plan through the executor (audited step by step), like onboard().
 */
#include "api/api.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tenancy_set_deletion_protection);
PG_FUNCTION_INFO_V1(tenancy_suspend);
PG_FUNCTION_INFO_V1(tenancy_resume);
PG_FUNCTION_INFO_V1(tenancy_add_database);
PG_FUNCTION_INFO_V1(tenancy_remove_database);
PG_FUNCTION_INFO_V1(tenancy_rotate_password);
PG_FUNCTION_INFO_V1(tenancy_set_iam_auth);
PG_FUNCTION_INFO_V1(tenancy_set_allowed_ips);
PG_FUNCTION_INFO_V1(tenancy_set_connection_limit);
PG_FUNCTION_INFO_V1(tenancy_offboard);

/*
 * Ends SPI and returns a text result (or NULL) that outlives SPI's memory,
 * where everything an operation allocates lives.
 */
static Datum
finish_with_text(FunctionCallInfo fcinfo, const char *result)
{
	Datum		datum = (Datum) 0;

	if (result)
		datum = SPI_datumTransfer(PointerGetDatum(cstring_to_text(result)), false, -1);
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	return datum;
}

static bool
bool_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		refuse_null(name);
	return PG_GETARG_BOOL(argno);
}

/*
 * The IAM calls that follow a change of the tenant: t as the change leaves
 * it, with the state given (NULL: as it is); NIL on clusters without
 * iam_provisioning.
 */
static List *
iam_after(const Tenant *t, const char *state, int iam_auth, const char *allowed_ips,
		  bool set_ips, int flags)
{
	Tenant		want = *t;

	if (state)
		want.state = (char *) state;
	if (iam_auth >= 0)
		want.iam_auth = iam_auth;
	if (set_ips)
		want.allowed_ips = (char *) allowed_ips;
	return iam_plan(&want, flags, NULL, NULL);
}

static void
refuse_while_protected(const Tenant *t, const char *what)
{
	if (t->deletion_protection)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is protected against deletion", t->name),
				 errdetail("%s would delete what the tenant has.", what),
				 errhint("First call SELECT tenancy.set_deletion_protection('%s', false).", t->name)));
}

Datum
tenancy_set_deletion_protection(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.set_deletion_protection()");
	bool		enabled = bool_argument(fcinfo, 1, "enabled");
	const char *value = enabled ? "true" : "false";
	Step	   *registry = plan_registry_update(STEP_SET_DELETION_PROTECTION, t->name,
												psprintf("deletion_protection <> %s", value),
												psprintf("deletion_protection = %s", value));

	/*
	 * The registry last: an interrupted call leaves it as it was, so the
	 * next call (or a manifest's apply, which plans from it) does it again.
	 */
	run_plan("set_deletion_protection", t->name,
			 lappend(plan_guard_label(NIL, t->name, enabled, t->allowed_ips), registry),
			 NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * suspend() completes a suspension that was interrupted; on a tenant that is
 * fully suspended already it is refused, and changes nothing.
 */
Datum
tenancy_suspend(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.suspend()");
	List	   *iam_steps;
	int			changes;

	refuse_unmarked(t, false);
	if (strcmp(t->state, STATE_SUSPENDED) != 0 && strcmp(t->state, STATE_ACTIVE) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" cannot be suspended", t->name),
				 errdetail("The tenant is %s.", t->state)));

	/*
	 * The database side first, as a plan of its own: a suspension is what
	 * stops a tenant logging in (NOLOGIN stops IAM tokens too), and neither
	 * an IAM that cannot be reached nor an entity of the tenant's name that
	 * is not ours may keep it from happening.  Then the IAM side, which
	 * reports such an entity instead of refusing; an error there leaves the
	 * tenant suspended, and calling suspend() again completes it.
	 */
	changes = run_plan("suspend", t->name, plan_suspend(NIL, t->name), NULL, NULL);
	iam_steps = iam_after(t, STATE_SUSPENDED, -1, NULL, false, IAM_REFUSE_NOTHING);
	if (iam_steps != NIL)
		changes += run_plan("suspend", t->name, iam_steps, NULL, NULL);
	if (changes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is already suspended", t->name)));
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
tenancy_resume(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.resume()");

	refuse_unmarked(t, false);
	if (strcmp(t->state, STATE_SUSPENDED) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is not suspended", t->name),
				 errdetail("The tenant is %s.", t->state)));
	run_plan("resume", t->name,
			 list_concat(iam_after(t, STATE_ACTIVE, -1, NULL, false, 0),
						 plan_resume(NIL, t->name, t->login_before_suspend)),
			 NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/* add_database() is onboard() of one more database for an existing tenant. */
Datum
tenancy_add_database(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.add_database()");
	TenantSpec	spec = {0};
	char	   *password;
	const char *short_name;

	if (PG_ARGISNULL(1))
		refuse_null("database");
	short_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	validate_database_short_name(short_name);

	spec.tenant = t->name;
	spec.iam_auth = t->iam_auth;
	spec.cluster = t->cluster;
	spec.ndatabases = 1;
	spec.short_names = &short_name;
	ensure_tenant(&spec, &password, NULL);
	return finish_with_text(fcinfo, spec.database_names[0]);
}

Datum
tenancy_remove_database(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.remove_database()");
	const char *short_name;
	const char *datname = NULL;
	int			i;

	if (PG_ARGISNULL(1))
		refuse_null("database");
	short_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	validate_database_short_name(short_name);
	for (i = 0; i < t->ndatabases; i++)
		if (strcmp(t->short_names[i], short_name) == 0)
			datname = t->database_names[i];

	if (datname == NULL)
	{
		/* removed already: a second identical call changes nothing */
		if (audit_says(t->name, tenant_database_name(t->name, short_name), STEP_DROP_DATABASE))
		{
			SPI_finish();
			PG_RETURN_VOID();
		}
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("tenant \"%s\" has no database \"%s\"", t->name, short_name)));
	}
	refuse_while_protected(t, "Removing a database");
	refuse_unmarked(t, true);
	if (t->ndatabases == 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot remove the last database of tenant \"%s\"", t->name),
				 errhint("Offboard the tenant instead: tenancy.offboard('%s').", t->name)));

	run_plan("remove_database", t->name, plan_remove_database(NIL, t->name, datname), NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/* A new random password, returned once; NULL for an IAM-auth tenant. */
Datum
tenancy_rotate_password(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.rotate_password()");
	char	   *password = generate_password();

	refuse_unmarked(t, false);

	run_plan("rotate_password", t->name,
			 list_make1(plan_set_password(t->name, scram_verifier(password))), NULL, NULL);
	return finish_with_text(fcinfo, t->iam_auth ? NULL : password);
}

/*
 * IAM auth on: the registry first, the IAM role last.  Off: the IAM role
 * revoked first (a member of rds_iam cannot log in with a password on
 * Aurora), then a new password, returned once, then the registry.
 */
Datum
tenancy_set_iam_auth(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.set_iam_auth()");
	bool		enabled = bool_argument(fcinfo, 1, "enabled");
	const char *value = enabled ? "true" : "false";
	Step	   *registry = plan_registry_update(STEP_SET_IAM_AUTH, t->name,
												psprintf("iam_auth <> %s", value),
												psprintf("iam_auth = %s", value));
	char	   *password = NULL;
	Step	   *set_password = NULL;
	bool		password_set = false;
	List	   *plan;
	TenantSnapshot *snap = refuse_unmarked(t, false);

	if (enabled)
	{
		require_iam_role(snap);
		plan = list_make2(registry, plan_iam_membership(t->name, true));
	}
	else
	{
		plan = list_make1(plan_iam_membership(t->name, false));
		if (t->iam_auth)
		{
			password = generate_password();
			set_password = plan_set_password(t->name, scram_verifier(password));
			plan = lappend(plan, set_password);
		}
		plan = lappend(plan, registry);
	}
	plan = list_concat(plan, iam_after(t, NULL, enabled, NULL, false, 0));
	run_plan("set_iam_auth", t->name, plan, set_password, &password_set);
	return finish_with_text(fcinfo, password_set ? password : NULL);
}

/* The addresses the tenant may connect from; NULL: any. */
Datum
tenancy_set_allowed_ips(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.set_allowed_ips()");
	const char *ips = allowed_ips_text(fcinfo, 1);

	/* the guard label before the registry: see set_deletion_protection() */
	run_plan("set_allowed_ips", t->name,
			 list_concat(lappend(plan_guard_label(NIL, t->name, t->deletion_protection, ips),
								 plan_allowed_ips(t->name, ips)),
						 iam_after(t, NULL, -1, ips, true, 0)),
			 NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
tenancy_set_connection_limit(PG_FUNCTION_ARGS)
{
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.set_connection_limit()");
	int32		limit;

	refuse_unmarked(t, false);
	if (PG_ARGISNULL(1))
		refuse_null("connection_limit");
	limit = PG_GETARG_INT32(1);
	if (limit < -1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection limit: %d", limit),
				 errhint("Use -1 for no limit.")));

	run_plan("set_connection_limit", t->name,
			 list_make2(plan_connection_limit(t->name, limit),
						plan_registry_update(STEP_RECORD_CONNECTION_LIMIT, t->name,
											 psprintf("connection_limit <> %d", limit),
											 psprintf("connection_limit = %d", limit))),
			 NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/* What a tenant leaves behind goes only to a custodian fit to own it. */
static void
refuse_unfit_custodian(void)
{
	Rows	   *rows = cluster_query(custodian_problem_sql, 0, NULL);
	char	   *problem;

	if (rows->nrows > 0 && (problem = ROWS_CELL(rows, 0, 0)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("role \"%s\" cannot take over what offboarded tenants leave behind", CUSTODIAN_ROLE),
				 errdetail("The role exists and %s.", problem),
				 errhint("Make it NOLOGIN with no attributes and no memberships, or drop it: aurora_tenancy creates it when needed.")));
}

static Datum
text_array(const char **items, int n)
{
	Datum	   *datums = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		datums[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(datums, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Offboarding.  Refused while protected; once begun (state offboarding) it
 * is completed by calling it again.  A tenant offboarded already is not an
 * error: the second identical call changes nothing.
 */
Datum
tenancy_offboard(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Tenant	   *t = open_tenant(fcinfo, "tenancy.offboard()");
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		keep = bool_argument(fcinfo, 1, "keep_databases");
	Datum		values[4];
	bool		nulls[4] = {false};
	int			changes = 0;

	if (t == NULL && !audit_says(name, name, STEP_REMOVE_TENANT))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" does not exist", name)));
	if (t != NULL)
	{
		TenantSnapshot *snap;
		List	   *plan;
		List	   *iam_steps;

		if (strcmp(t->state, STATE_OFFBOARDING) != 0)
			refuse_while_protected(t, "Offboarding");
		snap = refuse_unmarked(t, true);
		refuse_unfit_custodian();
		/* the IAM side goes before the tenant's record does */
		iam_steps = iam_after(t, STATE_OFFBOARDING, -1, NULL, false, 0);
		plan = plan_offboard(t, snap, keep);
		if (iam_steps != NIL)
		{
			Step	   *remove = llast(plan);

			plan = lappend(list_concat(list_delete_last(plan), iam_steps), remove);
		}
		changes = run_plan("offboard", t->name, plan, NULL, NULL);
	}

	/* the row goes to the tuplestore before SPI_finish frees our memory */
	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(name);
	values[1] = text_array(t ? t->database_names : NULL, (t && !keep) ? t->ndatabases : 0);
	values[2] = text_array(t ? t->database_names : NULL, (t && keep) ? t->ndatabases : 0);
	values[3] = Int32GetDatum(changes);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	SPI_finish();
	return (Datum) 0;
}
