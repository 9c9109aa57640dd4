/*
 * onboard.c
 *		tenancy.onboard(): validate, plan, execute.
 *
 * Everything that can be wrong with the input or with what already exists is
 * checked here, before the first step, so that a refused call changes
 * nothing.  What already holds is not redone: the plan's guards see to that.
 */
#include "api/api.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tenancy_onboard);

/* The short database names given: present, one-dimensional, valid, unique. */
static int
short_names_from_array(ArrayType *array, const char ***names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i,
				j;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("databases must be a one-dimensional array")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("databases must not be empty"),
				 errdetail("A tenant has at least one database.")));

	*names = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			refuse_null("a database name");
		(*names)[i] = TextDatumGetCString(elems[i]);
		validate_database_short_name((*names)[i]);
		for (j = 0; j < i; j++)
			if (strcmp((*names)[i], (*names)[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("database \"%s\" is listed more than once", (*names)[i])));
	}
	return n;
}

/* An allowed_ips argument as the text of a cidr[] (NULL stays NULL): no NULLs, not empty. */
const char *
allowed_ips_text(FunctionCallInfo fcinfo, int argno)
{
	ArrayType  *array;

	if (PG_ARGISNULL(argno))
		return NULL;
	array = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("allowed_ips must be a one-dimensional array")));
	if (ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("allowed_ips must not be empty"),
				 errhint("Pass NULL to allow every address.")));
	if (array_contains_nulls(array))
		refuse_null("an element of allowed_ips");
	return OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(array));
}

/* The tenant whose active database has this name in the registry, or NULL. */
static char *
registered_owner(const char *datname)
{
	const char *args[1] = {datname};

	catalog_execute_text("SELECT tenant FROM tenancy.tenant_databases"
						 " WHERE database_name = $1 AND state = 'active'", 1, args);
	return catalog_value();
}

/*
 * Roles and databases that exist but are not this tenant's are never
 * adopted, and a database name another tenant has claimed is not taken:
 * only a marker proves that the extension made an object for the tenant.
 */
static void
refuse_foreign_objects(const TenantSpec *spec, const TenantSnapshot *snap)
{
	char	   *owner;
	int			i;

	if (snap->role_exists &&
		(snap->role_marked_for == NULL || strcmp(snap->role_marked_for, spec->tenant) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("role \"%s\" already exists and is not a tenant role", spec->tenant),
				 errdetail("aurora_tenancy never adopts a role it did not create.")));

	for (i = 0; i < spec->ndatabases; i++)
	{
		const DatabaseState *db = &snap->databases[i];

		owner = registered_owner(db->name);
		if (owner == NULL && db->exists)
			owner = (char *) db->marked_for;
		if (owner != NULL && strcmp(owner, spec->tenant) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_DATABASE),
					 errmsg("database \"%s\" belongs to tenant \"%s\"", db->name, owner),
					 errhint("Choose another database name for tenant \"%s\".", spec->tenant)));
		if (db->exists && db->marked_for == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_DATABASE),
					 errmsg("database \"%s\" already exists and is not a tenant database", db->name),
					 errdetail("aurora_tenancy never adopts a database it did not create.")));
	}
}

/*
 * New databases are copied from tenancy.database_template: it must exist
 * and be out of every tenant's reach, or whatever a tenant left in it would
 * appear in every later tenant's database.
 */
static void
refuse_unsafe_template(const TenantSnapshot *snap)
{
	if (snap->template_problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database template \"%s\" cannot be used for tenant databases",
						tenancy_database_template),
				 errdetail("New tenant databases are copied from tenancy.database_template, and %s.",
						   snap->template_problem),
				 errhint("Use template0, or a template that refuses connections (ALTER DATABASE ... ALLOW_CONNECTIONS false) or that neither PUBLIC nor any tenant may connect to.")));
}

/*
 * PostgreSQL's own permission errors, raised before the first step rather
 * than halfway: a caller without CREATEROLE would otherwise have the tenant
 * registered, and one without CREATEDB its role created, before failing.
 */
static void
refuse_missing_privileges(const TenantSpec *spec, const TenantSnapshot *snap)
{
	int			i;

	if (spec->verifier && !snap->caller_can_createrole)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create role")));
	for (i = 0; i < spec->ndatabases; i++)
		if (!snap->databases[i].exists && !snap->caller_can_createdb)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to create database")));
}

/*
 * Reads the tenant's row, if any: an existing tenant keeps its IAM choice
 * (changed only by set_iam_auth) and the actual names of its databases.
 * Returns the tenant's state, NULL for a new tenant.
 */
static char *
apply_existing_tenant(TenantSpec *spec)
{
	const char *args[2] = {spec->tenant, NULL};
	char	   *state;
	char	   *iam_auth;
	int			i;

	catalog_execute_text("SELECT state, iam_auth, deletion_protection, allowed_ips::pg_catalog.text"
						 " FROM tenancy.registry WHERE name = $1", 1, args);
	if (SPI_processed == 0)
		return NULL;
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	iam_auth = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	spec->deletion_protection = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3), "t") == 0;
	spec->recorded_ips = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (strcmp(state, STATE_OFFBOARDING) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is being offboarded", spec->tenant),
				 errhint("Complete the offboarding first: call tenancy.offboard() again.")));
	if ((strcmp(iam_auth, "t") == 0) != spec->iam_auth)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" already exists with iam_auth = %s", spec->tenant,
						strcmp(iam_auth, "t") == 0 ? "true" : "false"),
				 errhint("Change it with tenancy.set_iam_auth().")));

	for (i = 0; i < spec->ndatabases; i++)
	{
		char	   *actual;

		args[1] = spec->short_names[i];
		catalog_execute_text("SELECT database_name FROM tenancy.tenant_databases"
							 " WHERE tenant = $1 AND short_name = $2 AND state = 'active'", 2, args);
		if ((actual = catalog_value()) != NULL)
			spec->database_names[i] = actual;
	}
	return state;
}

/* The IAM role must exist before a tenant can be made to use it. */
void
require_iam_role(const TenantSnapshot *snap)
{
	if (!snap->iam_role_exists)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("IAM role \"%s\" does not exist", tenancy_iam_role),
				 errdetail("IAM database authentication needs the role named by tenancy.iam_role; Aurora and RDS provide it."),
				 errhint("Pass iam_auth => false for password login, or create the role.")));
}

/*
 * Which databases onboarding must look inside.  What is inside a database
 * (schema public's ACL) takes a worker connected to it to even read, so
 * onboarding trusts its own record: a database that exists, and whose
 * schema_privileges step the audit log shows done since the database was
 * last created, is not looked into again.  Drift made by hand in there is
 * check()'s and repair()'s to find and fix; they always look.
 */
static bool *
databases_inside_unknown(const TenantSpec *spec, const TenantSnapshot *snap)
{
	bool	   *unknown = palloc(sizeof(bool) * spec->ndatabases);
	int			i;

	for (i = 0; i < spec->ndatabases; i++)
	{
		const char *args[2] = {spec->tenant, spec->database_names[i]};
		char	   *done;

		unknown[i] = true;
		if (!snap->databases[i].exists)
			continue;
		catalog_execute_text("SELECT EXISTS (SELECT 1 FROM tenancy.audit_log s"
							 " WHERE s.tenant = $1 AND s.database = $2"
							 " AND s.step = '" STEP_SCHEMA_PRIVILEGES "' AND s.phase = '" PHASE_DONE "'"
							 " AND s.id > COALESCE((SELECT max(c.id) FROM tenancy.audit_log c"
							 " WHERE c.tenant = $1 AND c.object_name = $2"
							 " AND c.step = '" STEP_CREATE_DATABASE "' AND c.phase = '" PHASE_DONE "'), 0))",
							 2, args);
		done = catalog_value();
		unknown[i] = done == NULL || strcmp(done, "t") != 0;
	}
	return unknown;
}

/*
 * Brings a tenant to the desired state: checks what exists, then plans and
 * runs the steps.  The caller holds the tenant's lock and is connected to
 * SPI; spec->short_names are validated.  Fills spec->database_names and
 * returns the number of changes; *password is set when the role was created
 * by this call (NULL otherwise).
 */
/*
 * The IAM side of an onboarding: the tenant as it will be, its principal
 * checked, its plan read from IAM (before the first step, so what IAM
 * would refuse is refused first).
 */
static List *
plan_onboard_iam(TenantSpec *spec, const char *state, IamResult *iam)
{
	Tenant	   *existing = state ? load_tenant(spec->tenant) : NULL;
	Tenant		want = {0};

	if (spec->iam_principal && strcmp(current_cluster->iam_provisioning, "role") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iam_principal is only for clusters with iam_provisioning 'role'"),
				 errdetail("Cluster \"%s\" has iam_provisioning '%s'.", current_cluster->name,
						   current_cluster->iam_provisioning)));
	if (existing && spec->iam_principal &&
		(existing->iam_principal == NULL || strcmp(existing->iam_principal, spec->iam_principal) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" already exists with another IAM principal", spec->tenant)));
	if (existing)
		want = *existing;
	else
	{
		want.name = (char *) spec->tenant;
		want.state = STATE_ONBOARDING;
		want.iam_principal = (char *) spec->iam_principal;
		want.iam_external_id = iam_new_external_id();
		spec->iam_external_id = want.iam_external_id;
	}
	want.iam_auth = spec->iam_auth;
	if (spec->allowed_ips)
		want.allowed_ips = (char *) spec->allowed_ips;
	return iam_plan(&want, IAM_MAKE_KEY, &iam->role_arn, &iam->new_key);
}

int
ensure_tenant(TenantSpec *spec, char **password, IamResult *iam)
{
	List	   *plan;
	List	   *iam_steps = NIL;
	Step	   *password_step = NULL;
	bool		password_set;
	char	   *state;
	Tenant		as_asked = {0};
	TenantSnapshot *snap;
	Executor   *ex = NULL;
	int			changes;
	int			i,
				j;

	spec->database_names = palloc(sizeof(char *) * spec->ndatabases);
	for (i = 0; i < spec->ndatabases; i++)
		spec->database_names[i] = tenant_database_name(spec->tenant, spec->short_names[i]);
	spec->deletion_protection = true;	/* a new tenant's, as the registry's default */
	state = apply_existing_tenant(spec);

	/*
	 * A new tenant's first step registers it, in the extension's database:
	 * on a target cluster, that worker starts while the target is read.
	 */
	if (current_cluster && state == NULL)
	{
		ex = executor_begin("onboard", spec->tenant, false);
		executor_open_home(ex);
	}
	for (i = 0; i < spec->ndatabases; i++)
		for (j = 0; j < i; j++)
			if (strcmp(spec->database_names[i], spec->database_names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("databases \"%s\" and \"%s\" would both be named \"%s\"",
								spec->short_names[j], spec->short_names[i], spec->database_names[i])));
	lock_database_names(spec->ndatabases, spec->database_names);

	as_asked.name = (char *) spec->tenant;
	as_asked.ndatabases = spec->ndatabases;
	as_asked.database_names = spec->database_names;
	snap = read_checked_snapshot(&as_asked, false);
	if (spec->iam_auth)
		require_iam_role(snap);
	refuse_foreign_objects(spec, snap);
	for (i = 0; i < spec->ndatabases; i++)
		if (!snap->databases[i].exists)
		{
			refuse_unsafe_template(snap);
			break;
		}

	*password = NULL;
	if (!snap->role_exists)
	{
		*password = generate_password();
		spec->verifier = scram_verifier(*password);
		password_step = plan_create_role(spec);
	}
	else if (!spec->iam_auth && state && strcmp(state, STATE_ONBOARDING) == 0)
	{
		/* an interrupted onboarding made the role, but never told its password */
		*password = generate_password();
		password_step = plan_set_password(spec->tenant, scram_verifier(*password));
	}
	refuse_missing_privileges(spec, snap);
	spec->inside_unknown = databases_inside_unknown(spec, snap);
	if (iam && cluster_has_iam())
		iam_steps = plan_onboard_iam(spec, state, iam);

	/* the IAM side before the tenant is activated */
	plan = plan_onboard(spec, password_step);
	/* what an interrupted call left: the outcomes of its steps, first */
	if (state != NULL)
	{
		read_open_intents_into(&as_asked, snap);
		plan = list_concat(plan_resolve_intents(NIL, &as_asked, snap, "tenancy.onboard()"), plan);
	}
	if (iam_steps != NIL)
	{
		Step	   *activate = llast(plan);

		plan = lappend(list_concat(list_delete_last(plan), iam_steps), activate);
	}
	changes = run_plan_in(ex, "onboard", spec->tenant, plan, password_step, &password_set);
	if (!password_set)
		*password = NULL;		/* not ours to tell: we did not set it */
	return changes;
}

/*
 * The cluster of an onboarding: the one asked for (NULL: the tenant's own
 * if it exists, else tenancy.default_cluster; "": this cluster).  A tenant
 * lives on one cluster; asking for another is refused.
 */
static const char *
onboarding_cluster(FunctionCallInfo fcinfo, const char *tenant)
{
	const char *args[1] = {tenant};
	const char *asked = PG_NARGS() < 5 || PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	bool		registered;
	char	   *recorded;

	if (!catalog_knows_clusters())
	{
		if (tenancy_default_cluster[0] != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("target clusters need aurora_tenancy 1.2"),
					 errhint("ALTER EXTENSION aurora_tenancy UPDATE, or RESET tenancy.default_cluster.")));
		return NULL;
	}
	catalog_execute_text("SELECT cluster FROM tenancy.registry WHERE name = $1", 1, args);
	registered = SPI_processed > 0;
	recorded = catalog_value();
	if (asked == NULL)
		return registered ? recorded :
			tenancy_default_cluster[0] != '\0' ? tenancy_default_cluster : NULL;
	if (asked[0] == '\0')
		asked = NULL;
	if (!registered || (asked == NULL && recorded == NULL) ||
		(asked && recorded && strcmp(asked, recorded) == 0))
		return asked;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenant \"%s\" lives on %s", tenant,
					recorded ? psprintf("cluster \"%s\"", recorded) : "this cluster"),
			 errdetail("Tenant names are unique across clusters; a tenant does not move between them."),
			 errhint("Pass cluster => %s, or leave it out.",
					 recorded ? quote_literal_cstr(recorded) : "''")));
	return NULL;				/* keep compiler quiet */
}

Datum
tenancy_onboard(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TenantSpec	spec = {0};
	IamResult	iam = {0};
	char	   *password;
	int			changes;
	int			i;
	Datum	   *names;
	Datum		values[8];
	bool		nulls[8] = {false};

	refuse_in_transaction_block("tenancy.onboard()");

	/* the input, before anything else */
	spec.tenant = tenant_argument(fcinfo, 0);
	if (PG_ARGISNULL(1))
		refuse_null("databases");
	spec.ndatabases = short_names_from_array(PG_GETARG_ARRAYTYPE_P(1), &spec.short_names);
	spec.allowed_ips = allowed_ips_text(fcinfo, 2);
	if (PG_ARGISNULL(3))
		refuse_null("iam_auth");
	spec.iam_auth = PG_GETARG_BOOL(3);

	/* then what exists, under the tenant's lock, and the steps */
	lock_tenant(spec.tenant);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spec.cluster = onboarding_cluster(fcinfo, spec.tenant);
	use_cluster(spec.cluster);
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
		spec.iam_principal = text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (spec.iam_principal && !cluster_has_iam())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iam_principal is only for clusters with iam_provisioning 'role'"),
				 errdetail("The tenant's cluster provisions no IAM entities.")));
	changes = ensure_tenant(&spec, &password, &iam);
	if (iam.new_key)
		iam_record_key(spec.tenant, iam.new_key);

	/* the row goes to the tuplestore before SPI_finish frees our memory */
	InitMaterializedSRF(fcinfo, 0);
	names = palloc(sizeof(Datum) * spec.ndatabases);
	for (i = 0; i < spec.ndatabases; i++)
		names[i] = CStringGetTextDatum(spec.database_names[i]);
	values[0] = CStringGetTextDatum(spec.tenant);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(spec.tenant));
	values[2] = PointerGetDatum(construct_array(names, spec.ndatabases, TEXTOID, -1, false, TYPALIGN_INT));
	if (password && !spec.iam_auth)
		values[3] = CStringGetTextDatum(password);
	else
		nulls[3] = true;
	values[4] = Int32GetDatum(changes);
	/* 1.3's columns: the IAM role, and a key made now (its secret, once) */
	for (i = 5; i < 8; i++)
		nulls[i] = true;
	if (iam.role_arn)
	{
		values[5] = CStringGetTextDatum(iam.role_arn);
		nulls[5] = false;
	}
	if (iam.new_key)
	{
		values[6] = CStringGetTextDatum(aws_xml_text(iam.new_key->xml, "CreateAccessKeyResult/AccessKey/AccessKeyId"));
		values[7] = CStringGetTextDatum(aws_xml_text(iam.new_key->xml, "CreateAccessKeyResult/AccessKey/SecretAccessKey"));
		nulls[6] = nulls[7] = false;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	SPI_finish();
	return (Datum) 0;
}
