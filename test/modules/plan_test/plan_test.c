/*
 * plan_test.c
 *		Unit tests of aurora_tenancy's pure planners: plan_test.steps(kind,
 *		state) turns a hand-made registry row and cluster snapshot (JSON) into
 *		a Tenant and a TenantSnapshot, runs plan_repair() or plan_offboard(),
 *		and returns the steps; kind 'iam' turns a hand-made IamTarget and
 *		IamSnapshot into plan_iam()'s calls (see plan_iam_from()).  No
 *		catalog is read: what the planner decides comes from the state given,
 *		so each rule can be shown on its own.
 *
 * The state:
 *	{"tenant": {"name": "t", "state": "active", "iam_auth": false,
 *				"connection_limit": -1, "deletion_protection": true,
 *				"allowed_ips": "{10.0.0.0/8}",
 *				"databases": [{"short": "db1", "name": "t_db1"}]},
 *	 "snapshot": {"role_exists": true, "role_marked_for": "t",
 *				  "role_members": [], "caller": "admin",
 *				  "role_reaches": [{"role": "r", "why": "..."}],
 *				  "caller_is_superuser": false, "session_user": "admin",
 *				  "databases": [{"name": "t_db1", "exists": true,
 *								 "marked_for": "t", "can_connect": true,
 *								 "other_grantees": []}],
 *				  "stray_databases": [], "dependent_databases": [],
 *				  "unfinished_databases": []}}
 * Omitted keys are false, empty or NULL, but for what the role's and the
 * databases' steps look at ("role_has_attribute", "role_can_login",
 * "role_connection_limit", "role_in_iam_role", "role_guard_label" (null:
 * none), per database
 * "privileges_differ"), which are as a healthy tenant has them unless
 * given.  For 'onboard', the tenant also
 * says "role_exists" (else the role is created) and, per database,
 * "inside_known" (the audit log showed its inside done: not looked at).
 */
#include "plan/plan.h"

#include <jansson.h>

#include "funcapi.h"

/*
 * From utils/builtins.h, which cannot be included here: its fmgrprotos.h
 * declares a json_object() of its own, and so does jansson.
 */
extern text *cstring_to_text(const char *s);
extern char *text_to_cstring(const text *t);
#define CStringGetTextDatum(s) PointerGetDatum(cstring_to_text(s))

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(plan_test_steps);

static const char *
text_of(json_t *object, const char *key)
{
	json_t	   *value = json_object_get(object, key);

	return json_is_string(value) ? pstrdup(json_string_value(value)) : NULL;
}

static bool
bool_of(json_t *object, const char *key)
{
	return json_is_true(json_object_get(object, key));
}

/* A boolean that, left out, is what a healthy tenant has. */
static bool
bool_or(json_t *object, const char *key, bool healthy)
{
	json_t	   *value = json_object_get(object, key);

	return json_is_boolean(value) ? json_is_true(value) : healthy;
}

static List *
strings_of(json_t *object, const char *key)
{
	List	   *result = NIL;
	size_t		i;
	json_t	   *item;

	json_array_foreach(json_object_get(object, key), i, item)
		result = lappend(result, pstrdup(json_string_value(item)));
	return result;
}

static void
read_state(json_t *root, Tenant *t, TenantSnapshot *snap)
{
	json_t	   *tj = json_object_get(root, "tenant");
	json_t	   *sj = json_object_get(root, "snapshot");
	json_t	   *dbs = json_object_get(tj, "databases");
	json_t	   *item;
	size_t		i;

	t->name = (char *) text_of(tj, "name");
	t->state = (char *) (text_of(tj, "state") ? text_of(tj, "state") : STATE_ACTIVE);
	t->iam_auth = bool_of(tj, "iam_auth");
	t->connection_limit = json_is_integer(json_object_get(tj, "connection_limit")) ?
		json_integer_value(json_object_get(tj, "connection_limit")) : -1;
	t->deletion_protection = bool_of(tj, "deletion_protection");
	t->allowed_ips = (char *) text_of(tj, "allowed_ips");
	t->ndatabases = json_array_size(dbs);
	t->short_names = palloc0(sizeof(char *) * Max(t->ndatabases, 1));
	t->database_names = palloc0(sizeof(char *) * Max(t->ndatabases, 1));
	json_array_foreach(dbs, i, item)
	{
		t->short_names[i] = text_of(item, "short");
		t->database_names[i] = text_of(item, "name");
	}

	snap->role_exists = bool_of(sj, "role_exists");
	snap->role_has_attribute = bool_of(sj, "role_has_attribute");
	snap->role_can_login = bool_or(sj, "role_can_login", strcmp(t->state, STATE_SUSPENDED) != 0);
	snap->role_connection_limit = json_is_integer(json_object_get(sj, "role_connection_limit")) ?
		json_integer_value(json_object_get(sj, "role_connection_limit")) : t->connection_limit;
	snap->role_in_iam_role = bool_or(sj, "role_in_iam_role", t->iam_auth);
	snap->role_marked_for = text_of(sj, "role_marked_for");
	item = json_object_get(sj, "role_guard_label");
	snap->role_guard_label = item == NULL ? guard_label(t->deletion_protection, t->allowed_ips) :
		json_is_string(item) ? json_string_value(item) : NULL;
	snap->role_members = strings_of(sj, "role_members");
	json_array_foreach(json_object_get(sj, "role_reaches"), i, item)
	{
		RoleReach  *reach = palloc(sizeof(RoleReach));

		reach->role = text_of(item, "role");
		reach->why = text_of(item, "why");
		snap->role_reaches = lappend(snap->role_reaches, reach);
	}
	snap->caller = text_of(sj, "caller");
	snap->caller_is_superuser = bool_of(sj, "caller_is_superuser");
	snap->session_user_name = text_of(sj, "session_user");
	snap->ndatabases = t->ndatabases;
	snap->databases = palloc0(sizeof(DatabaseState) * Max(t->ndatabases, 1));
	for (int d = 0; d < t->ndatabases; d++)
	{
		DatabaseState *db = &snap->databases[d];

		db->name = t->database_names[d];
		json_array_foreach(json_object_get(sj, "databases"), i, item)
		{
			if (strcmp(text_of(item, "name"), db->name) != 0)
				continue;
			db->exists = bool_of(item, "exists");
			db->marked_for = text_of(item, "marked_for");
			db->session_can_connect = bool_of(item, "can_connect");
			db->privileges_differ = bool_of(item, "privileges_differ");
			db->other_grantees = strings_of(item, "other_grantees");
		}
	}
	snap->stray_databases = strings_of(sj, "stray_databases");
	snap->dependent_databases = strings_of(sj, "dependent_databases");
	snap->unfinished_databases = strings_of(sj, "unfinished_databases");
	snap->open_intents = NIL;
}

/* onboard(): the TenantSpec that ensure_tenant() would make, then the plan */
static List *
plan_onboard_from(json_t *root, const Tenant *t)
{
	json_t	   *tj = json_object_get(root, "tenant");
	json_t	   *item;
	size_t		i;
	TenantSpec *spec = palloc0(sizeof(TenantSpec));

	spec->tenant = t->name;
	spec->iam_auth = t->iam_auth;
	spec->ndatabases = t->ndatabases;
	spec->short_names = t->short_names;
	spec->database_names = t->database_names;
	spec->inside_unknown = palloc0(sizeof(bool) * Max(t->ndatabases, 1));
	json_array_foreach(json_object_get(tj, "databases"), i, item)
		spec->inside_unknown[i] = !bool_of(item, "inside_known");
	if (bool_of(tj, "role_exists"))
		return plan_onboard(spec, NULL);
	spec->verifier = "SCRAM-SHA-256$placeholder";
	return plan_onboard(spec, plan_create_role(spec));
}

/* The documents of a healthy IAM side of tenant t1 (user_and_role). */
#define T1_TRUST "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:user/tenancy/tenancy-t1\"},\"Action\":\"sts:AssumeRole\"}]}"
#define T1_CONNECT "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"rds-db:connect\",\"Resource\":\"arn:aws:rds-db:eu-central-1:123456789012:dbuser:cluster-T1/t1\"}]}"
#define T1_ASSUME "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Resource\":\"arn:aws:iam::123456789012:role/tenancy/tenancy-t1\"}]}"

/* A document as the state says: left out, the healthy one; null, none. */
static const char *
document_of(json_t *object, const char *key, const char *healthy)
{
	json_t	   *value = json_object_get(object, key);

	if (value == NULL)
		return healthy;
	return json_is_string(value) ? pstrdup(json_string_value(value)) : NULL;
}

static void
read_iam_entity(json_t *ej, IamEntity *e)
{
	e->exists = bool_or(ej, "exists", true);
	e->ours = bool_or(ej, "ours", true);
	e->cluster_tagged = bool_or(ej, "cluster_tagged", true);
	e->trust_policy = document_of(ej, "trust_policy", T1_TRUST);
	e->inline_policies = strings_of(ej, "inline_policies");
	e->attached_policies = strings_of(ej, "attached_policies");
}

/*
 * kind 'iam': {"want": {"with_user", "connect", "keys_active", "remove",
 * "recorded_key", "make_key", "rotate_key"}, "have": {"user": {...},
 * "role": {"exists", "ours", "cluster_tagged", "trust_policy",
 * "inline_policies", "attached_policies"}, "connect_policy",
 * "assume_policy", "keys": [{"id", "active"}]}}, for tenant t1; left out,
 * what a healthy user_and_role tenant has.
 */
static List *
plan_iam_from(json_t *root)
{
	json_t	   *wj = json_object_get(root, "want");
	json_t	   *hj = json_object_get(root, "have");
	IamTarget  *want = palloc0(sizeof(IamTarget));
	IamSnapshot *have = palloc0(sizeof(IamSnapshot));
	json_t	   *item;
	size_t		i;

	want->tenant = "t1";
	want->region = "eu-central-1";
	want->partition = "aws";
	want->installation = "00000000-0000-4000-8000-000000000001";
	want->resource_id = "cluster-T1";
	want->user_markers = list_make1("user-marker");
	want->role_markers = list_make1("role-marker");
	want->with_user = bool_or(wj, "with_user", true);
	want->user_name = "tenancy-t1";
	want->role_name = "tenancy-t1";
	want->role_arn = "arn:aws:iam::123456789012:role/tenancy/tenancy-t1";
	want->trust_policy = T1_TRUST;
	want->connect_policy = T1_CONNECT;
	want->assume_policy = T1_ASSUME;
	want->remove = bool_of(wj, "remove");
	want->connect = bool_or(wj, "connect", true);
	want->keys_active = bool_or(wj, "keys_active", true);
	want->recorded_key = text_of(wj, "recorded_key");
	want->make_key = bool_of(wj, "make_key");
	want->rotate_key = bool_of(wj, "rotate_key");

	read_iam_entity(json_object_get(hj, "user"), &have->user);
	read_iam_entity(json_object_get(hj, "role"), &have->role);
	have->connect_policy = document_of(hj, "connect_policy", T1_CONNECT);
	have->assume_policy = document_of(hj, "assume_policy", T1_ASSUME);
	json_array_foreach(json_object_get(hj, "keys"), i, item)
	{
		IamKey	   *k = palloc0(sizeof(IamKey));

		k->id = text_of(item, "id");
		k->active = bool_or(item, "active", true);
		have->keys = lappend(have->keys, k);
	}
	return plan_iam(NIL, want, have);
}

Datum
plan_test_steps(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *json = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		deep = PG_GETARG_BOOL(2);
	bool		keep = PG_GETARG_BOOL(3);
	json_error_t error;
	json_t	   *root;
	Tenant		t = {0};
	TenantSnapshot snap = {0};
	List	   *volatile plan = NIL;
	ListCell   *lc;

	if (strcmp(kind, "onboard") != 0 && strcmp(kind, "repair") != 0 &&
		strcmp(kind, "offboard") != 0 && strcmp(kind, "iam") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown plan kind \"%s\"", kind),
				 errhint("Use onboard, repair, offboard or iam.")));
	if ((root = json_loads(json, 0, &error)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid state: %s", error.text)));
	PG_TRY();
	{
		if (strcmp(kind, "iam") == 0)
			plan = plan_iam_from(root);
		else
		{
			read_state(root, &t, &snap);
			if (strcmp(kind, "onboard") == 0)
				plan = plan_onboard_from(root, &t);
			else if (strcmp(kind, "repair") == 0)
				plan = plan_repair(&t, &snap, "SCRAM-SHA-256$placeholder", deep);
			else
				plan = plan_offboard(&t, &snap, keep);
		}
	}
	PG_FINALLY();
	{
		json_decref(root);
	}
	PG_END_TRY();

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false};
		const char *statement = step->display ? step->display : step->statement;

		values[0] = CStringGetTextDatum(step->name);
		values[1] = CStringGetTextDatum(step->object_type);
		values[2] = CStringGetTextDatum(step->object_name);
		nulls[3] = step->database == NULL;
		if (step->database)
			values[3] = CStringGetTextDatum(step->database);
		nulls[4] = statement == NULL;
		if (statement)
			values[4] = CStringGetTextDatum(statement);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
