/*
 * manifest.c
 *		A declarative clients manifest (the seed's Terraform variables, as
 *		JSON): tenancy.plan() shows the operations that would make the
 *		registry match it, tenancy.apply() runs them.
 *
 *	{"clients": [{"name": "client01",
 *				  "databases": {"db1": true, "db2": true, "db3": false},
 *				  "allowed_ips": ["109.241.200.168/32"], "rds_iam_auth": true,
 *				  "cluster": "prod", "iam_principal": "...",
 *				  "deletion_protection": true, "connection_limit": 10,
 *				  "suspended": false}, ...]}
 *
 * Only name and databases are required.  A key a client omits leaves an
 * existing tenant's value as it is and gives a new tenant the default.  The
 * whole manifest is validated before anything runs: an error names the
 * JSON path of what is wrong.  Values are compared as values (CIDRs in
 * their canonical form, as sets), so a manifest that matches gives an empty
 * plan whatever order it is written in.
 *
 * apply() runs each operation through the same SQL function a DBA would
 * call (onboard, add_database, ...): the same input checks, locks, plans,
 * steps and audit rows.
 */
#include "api/api.h"

#include <jansson.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

/* utils/builtins.h declares a json_object() of its own, as jansson does */
extern text *cstring_to_text(const char *s);
extern char *text_to_cstring(const text *t);
extern char *quote_literal_cstr(const char *rawstr);

PG_FUNCTION_INFO_V1(tenancy_plan);
PG_FUNCTION_INFO_V1(tenancy_apply);

/* classid of the lock that serializes applies: pg_advisory_xact_lock(5522769, 0) */
#define MANIFEST_LOCK_CLASS 5522769

/* A client of the manifest; -1 (or NULL with has_*) where it says nothing. */
typedef struct Client
{
	const char *name;
	int			index;			/* in clients[] */
	int			ndatabases;
	const char **short_names;
	bool	   *wanted;
	bool		has_allowed_ips;
	const char *allowed_ips;	/* canonical cidr[] text; NULL: every address */
	int			iam_auth;
	const char *cluster;		/* NULL: not said */
	const char *iam_principal;
	int			deletion_protection;
	bool		has_connection_limit;
	int			connection_limit;
	int			suspended;
} Client;

/* One operation a plan holds; apply() runs it. */
typedef struct Operation
{
	const char *tenant;
	const char *action;			/* the function apply() calls; "blocked" */
	const char *object_type;
	const char *object_name;
	const char *detail;
	const char *sql;			/* what apply() runs; NULL: nothing */
} Operation;

/* Where the manifest is wrong: named by its JSON path. */
static void pg_attribute_noreturn()
invalid_at(const char *path, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid manifest at %s", path),
			 errdetail("%s", expected)));
}

/* Errors of the name checks and type input say where in the manifest. */
static void
manifest_path_context(void *arg)
{
	errcontext("manifest at %s", (const char *) arg);
}

#define AT(path, call) \
	do { \
		ErrorContextCallback cb = {error_context_stack, manifest_path_context, (void *) (path)}; \
		error_context_stack = &cb; \
		call; \
		error_context_stack = cb.previous; \
	} while (0)

static int
optional_bool(json_t *client, const char *key, const char *path)
{
	json_t	   *v = json_object_get(client, key);

	if (v == NULL)
		return -1;
	if (!json_is_boolean(v))
		invalid_at(psprintf("%s.%s", path, key), "Expected true or false.");
	return json_is_true(v) ? 1 : 0;
}

static const char *
optional_string(json_t *client, const char *key, const char *path)
{
	json_t	   *v = json_object_get(client, key);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0)
		invalid_at(psprintf("%s.%s", path, key), "Expected a non-empty string.");
	return pstrdup(json_string_value(v));
}

static int
compare_cstrings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A cidr[]'s text (elements canonical already) with its elements sorted, unique. */
static const char *
sorted_cidrs(const char *array)
{
	char	   *copy = pnstrdup(array + 1, strlen(array) - 2);
	const char **cidrs = palloc(sizeof(char *) * (strlen(array) / 2 + 1));
	size_t		n = 0;
	char	   *save;
	StringInfoData buf;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		cidrs[n++] = tok;
	qsort(cidrs, n, sizeof(char *), compare_cstrings);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(cidrs[i], cidrs[i - 1]) != 0)
			appendStringInfo(&buf, "%s%s", buf.len > 1 ? "," : "", cidrs[i]);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * allowed_ips: an array of CIDRs, or null (every address); as the
 * canonical text of a sorted, de-duplicated cidr[].
 */
static const char *
parse_allowed_ips(json_t *v, const char *path)
{
	Oid			input;
	Oid			output;
	Oid			ioparam;
	bool		varlena;
	const char **cidrs;
	size_t		n = 0;
	StringInfoData buf;

	if (json_is_null(v))
		return NULL;
	if (!json_is_array(v) || json_array_size(v) == 0)
		invalid_at(path, "Expected a non-empty array of CIDRs such as \"203.0.113.0/24\", or null for every address.");
	getTypeInputInfo(CIDROID, &input, &ioparam);
	getTypeOutputInfo(CIDROID, &output, &varlena);
	cidrs = palloc(sizeof(char *) * json_array_size(v));
	for (size_t i = 0; i < json_array_size(v); i++)
	{
		json_t	   *e = json_array_get(v, i);
		char	   *where = psprintf("%s[%zu]", path, i);
		Datum		d;

		if (!json_is_string(e))
			invalid_at(where, "Expected a CIDR such as \"203.0.113.0/24\".");
		AT(where, d = OidInputFunctionCall(input, (char *) json_string_value(e), ioparam, -1));
		cidrs[n++] = OidOutputFunctionCall(output, d);
	}
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (size_t i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? "," : "", cidrs[i]);
	appendStringInfoChar(&buf, '}');
	return sorted_cidrs(buf.data);
}

static Client *
parse_client(json_t *c, int index)
{
	static const char *const known[] = {
		"name", "databases", "allowed_ips", "rds_iam_auth", "cluster", "iam_principal",
		"deletion_protection", "connection_limit", "suspended", NULL
	};
	char	   *path = psprintf("clients[%d]", index);
	Client	   *client = palloc0(sizeof(Client));
	const char *key;
	json_t	   *v;
	json_t	   *dbs;
	int			n = 0;

	if (!json_is_object(c))
		invalid_at(path, "Expected an object with at least \"name\" and \"databases\".");
	json_object_foreach(c, key, v)
	{
		bool		ok = false;

		for (int i = 0; known[i]; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			invalid_at(psprintf("%s.%s", path, key),
					   "Unknown key; a client has name, databases, allowed_ips, rds_iam_auth, cluster, iam_principal, deletion_protection, connection_limit, suspended.");
	}
	client->index = index;
	client->name = optional_string(c, "name", path);
	if (client->name == NULL)
		invalid_at(psprintf("%s.name", path), "Expected the tenant's name.");
	AT(psprintf("%s.name", path), validate_tenant_name(client->name));

	dbs = json_object_get(c, "databases");
	if (dbs == NULL || !json_is_object(dbs) || json_object_size(dbs) == 0)
		invalid_at(psprintf("%s.databases", path),
				   "Expected an object of database names, each true (wanted) or false (removed).");
	client->short_names = palloc(sizeof(char *) * json_object_size(dbs));
	client->wanted = palloc(sizeof(bool) * json_object_size(dbs));
	json_object_foreach(dbs, key, v)
	{
		char	   *where = psprintf("%s.databases.%s", path, key);

		if (!json_is_boolean(v))
			invalid_at(where, "Expected true (wanted) or false (removed).");
		AT(where, validate_database_short_name(key));
		client->short_names[n] = pstrdup(key);
		client->wanted[n++] = json_is_true(v);
	}
	client->ndatabases = n;
	if (!memchr(client->wanted, true, n))
		invalid_at(psprintf("%s.databases", path), "A tenant has at least one database set to true.");

	if ((v = json_object_get(c, "allowed_ips")) != NULL)
	{
		client->has_allowed_ips = true;
		client->allowed_ips = parse_allowed_ips(v, psprintf("%s.allowed_ips", path));
	}
	client->iam_auth = optional_bool(c, "rds_iam_auth", path);
	client->cluster = optional_string(c, "cluster", path);
	client->iam_principal = optional_string(c, "iam_principal", path);
	client->deletion_protection = optional_bool(c, "deletion_protection", path);
	client->suspended = optional_bool(c, "suspended", path);
	if ((v = json_object_get(c, "connection_limit")) != NULL)
	{
		if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > PG_INT32_MAX)
			invalid_at(psprintf("%s.connection_limit", path), "Expected an integer, -1 for no limit.");
		client->has_connection_limit = true;
		client->connection_limit = (int) json_integer_value(v);
	}
	return client;
}

/* The manifest's clients, every one valid, no two colliding. */
static List *
parse_manifest(Jsonb *manifest)
{
	char	   *text = JsonbToCString(NULL, &manifest->root, VARSIZE(manifest));
	json_error_t jerr;
	json_t	   *root = json_loads(text, JSON_DECODE_ANY, &jerr);
	json_t	   *clients;
	List	   *parsed = NIL;
	List	   *seen_databases = NIL;
	ListCell   *lc;
	const char *key;
	json_t	   *v;

	if (root == NULL)
		elog(ERROR, "could not read the manifest: %s", jerr.text);
	PG_TRY();
	{
		if (!json_is_object(root))
			invalid_at("$", "Expected an object {\"clients\": [...]}.");
		json_object_foreach(root, key, v)
			if (strcmp(key, "clients") != 0)
			invalid_at(key, "Unknown key; a manifest has only \"clients\".");
		clients = json_object_get(root, "clients");
		if (clients == NULL || !json_is_array(clients))
			invalid_at("clients", "Expected an array of clients.");
		for (size_t i = 0; i < json_array_size(clients); i++)
			parsed = lappend(parsed, parse_client(json_array_get(clients, i), (int) i));
	}
	PG_FINALLY();
	{
		json_decref(root);
	}
	PG_END_TRY();

	foreach(lc, parsed)
	{
		Client	   *c = lfirst(lc);

		for (int j = 0; j < foreach_current_index(lc); j++)
			if (strcmp(((Client *) list_nth(parsed, j))->name, c->name) == 0)
				invalid_at(psprintf("clients[%d].name", c->index),
						   psprintf("Client \"%s\" is also clients[%d].", c->name, j));
		for (int d = 0; d < c->ndatabases; d++)
		{
			char	   *datname = tenant_database_name(c->name, c->short_names[d]);
			ListCell   *s;

			foreach(s, seen_databases)
				if (strcmp(lfirst(s), datname) == 0)
					invalid_at(psprintf("clients[%d].databases.%s", c->index, c->short_names[d]),
							   psprintf("Its database would be named \"%s\", as another client's is.", datname));
			seen_databases = lappend(seen_databases, datname);
		}
	}
	return parsed;
}

static void
add_operation(List **ops, const char *tenant, const char *action, const char *object_type,
			  const char *object_name, const char *detail, const char *sql)
{
	Operation  *op = palloc0(sizeof(Operation));

	op->tenant = tenant;
	op->action = action;
	op->object_type = object_type;
	op->object_name = object_name;
	op->detail = detail;
	op->sql = sql;
	*ops = lappend(*ops, op);
}

static const char *
literal(const char *s)
{
	return s ? quote_literal_cstr(s) : "NULL";
}

/* The short names of a client's databases that are true, as text[] SQL. */
static char *
wanted_array(const Client *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "ARRAY[");
	for (int d = 0, n = 0; d < c->ndatabases; d++)
		if (c->wanted[d])
			appendStringInfo(&buf, "%s%s", n++ ? ", " : "", quote_literal_cstr(c->short_names[d]));
	appendStringInfoString(&buf, "]::pg_catalog.text[]");
	return buf.data;
}

/* What makes an existing tenant match its client, in the order apply() runs it. */
static void
plan_client(List **ops, const Client *c, const Tenant *t)
{
	const char *n = c->name;
	bool		unprotect = c->deletion_protection == 0 && t->deletion_protection;
	bool		protected = t->deletion_protection && !unprotect;

	if (c->cluster && (t->cluster == NULL || strcmp(c->cluster, t->cluster) != 0))
		invalid_at(psprintf("clients[%d].cluster", c->index),
				   psprintf("Tenant \"%s\" lives on %s; tenants do not move between clusters.", n,
							t->cluster ? psprintf("cluster \"%s\"", t->cluster) : "this cluster"));
	if (strcmp(t->state, STATE_OFFBOARDING) == 0)
		invalid_at(psprintf("clients[%d]", c->index),
				   psprintf("Tenant \"%s\" is being offboarded; complete it with tenancy.offboard() first.", n));
	if (strcmp(t->state, STATE_ONBOARDING) == 0)
		add_operation(ops, n, "onboard", "tenant", n, "complete the interrupted onboarding",
					  psprintf("SELECT * FROM tenancy.onboard(%s, %s, iam_auth => %s)", literal(n),
							   wanted_array(c), t->iam_auth ? "true" : "false"));
	for (int d = 0; d < c->ndatabases; d++)
	{
		bool		present = false;

		for (int i = 0; i < t->ndatabases; i++)
			present = present || strcmp(t->short_names[i], c->short_names[d]) == 0;
		if (c->wanted[d] && !present)
			add_operation(ops, n, "add_database", "database", tenant_database_name(n, c->short_names[d]), NULL,
						  psprintf("SELECT tenancy.add_database(%s, %s)", literal(n), literal(c->short_names[d])));
	}
	if (c->has_allowed_ips &&
		!((c->allowed_ips == NULL && t->allowed_ips == NULL) ||
		  (c->allowed_ips && t->allowed_ips &&
		   strcmp(c->allowed_ips, sorted_cidrs(t->allowed_ips)) == 0)))
		add_operation(ops, n, "set_allowed_ips", "tenant", n, c->allowed_ips ? c->allowed_ips : "every address",
					  psprintf("SELECT tenancy.set_allowed_ips(%s, %s::pg_catalog.cidr[])", literal(n),
							   literal(c->allowed_ips)));
	if (c->iam_auth >= 0 && (c->iam_auth == 1) != t->iam_auth)
		add_operation(ops, n, "set_iam_auth", "tenant", n, c->iam_auth ? "IAM auth" : "password login",
					  psprintf("SELECT tenancy.set_iam_auth(%s, %s)", literal(n), c->iam_auth ? "true" : "false"));
	if (c->has_connection_limit && c->connection_limit != t->connection_limit)
		add_operation(ops, n, "set_connection_limit", "tenant", n, psprintf("%d", c->connection_limit),
					  psprintf("SELECT tenancy.set_connection_limit(%s, %d)", literal(n), c->connection_limit));
	if (unprotect)
		add_operation(ops, n, "set_deletion_protection", "tenant", n, "off",
					  psprintf("SELECT tenancy.set_deletion_protection(%s, false)", literal(n)));
	for (int d = 0; d < c->ndatabases; d++)
		for (int i = 0; i < t->ndatabases; i++)
			if (!c->wanted[d] && strcmp(t->short_names[i], c->short_names[d]) == 0)
				add_operation(ops, n, protected ? "blocked" : "remove_database", "database",
							  t->database_names[i],
							  protected ? "remove_database: the tenant is protected against deletion" : NULL,
							  psprintf("SELECT tenancy.remove_database(%s, %s)", literal(n), literal(c->short_names[d])));
	if (c->suspended == 1 && strcmp(t->state, STATE_SUSPENDED) != 0)
		add_operation(ops, n, "suspend", "tenant", n, NULL,
					  psprintf("SELECT tenancy.suspend(%s)", literal(n)));
	if (c->suspended == 0 && strcmp(t->state, STATE_SUSPENDED) == 0)
		add_operation(ops, n, "resume", "tenant", n, NULL,
					  psprintf("SELECT tenancy.resume(%s)", literal(n)));
	if (c->deletion_protection == 1 && !t->deletion_protection)
		add_operation(ops, n, "set_deletion_protection", "tenant", n, "on",
					  psprintf("SELECT tenancy.set_deletion_protection(%s, true)", literal(n)));
}

/* A new tenant: onboard, then what its defaults do not say. */
static void
plan_new_client(List **ops, const Client *c)
{
	const char *n = c->name;

	add_operation(ops, n, "onboard", "tenant", n, NULL,
				  psprintf("SELECT * FROM tenancy.onboard(%s, %s, allowed_ips => %s::pg_catalog.cidr[],"
						   " iam_auth => %s, cluster => %s, iam_principal => %s)",
						   literal(n), wanted_array(c), literal(c->allowed_ips),
						   c->iam_auth == 0 ? "false" : "true", literal(c->cluster),
						   literal(c->iam_principal)));
	if (c->has_connection_limit && c->connection_limit != -1)
		add_operation(ops, n, "set_connection_limit", "tenant", n, psprintf("%d", c->connection_limit),
					  psprintf("SELECT tenancy.set_connection_limit(%s, %d)", literal(n), c->connection_limit));
	if (c->suspended == 1)
		add_operation(ops, n, "suspend", "tenant", n, NULL, psprintf("SELECT tenancy.suspend(%s)", literal(n)));
	if (c->deletion_protection == 0)
		add_operation(ops, n, "set_deletion_protection", "tenant", n, "off",
					  psprintf("SELECT tenancy.set_deletion_protection(%s, false)", literal(n)));
}

/*
 * The operations that make the registry match the manifest, client by
 * client in the manifest's order, then (offboard_missing) the tenants it
 * does not list, by name.
 */
static List *
plan_manifest(List *clients, bool offboard_missing)
{
	List	   *ops = NIL;
	ListCell   *lc;

	foreach(lc, clients)
	{
		Client	   *c = lfirst(lc);
		Tenant	   *t = load_tenant(c->name);

		if (t == NULL)
			plan_new_client(&ops, c);
		else
			plan_client(&ops, c, t);
	}
	if (offboard_missing)
	{
		SPITupleTable *rows;

		catalog_execute_text("SELECT name, deletion_protection FROM tenancy.registry ORDER BY name", 0, NULL);
		rows = SPI_tuptable;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
			bool		protected = strcmp(SPI_getvalue(rows->vals[i], rows->tupdesc, 2), "t") == 0;
			bool		listed = false;

			foreach(lc, clients)
				listed = listed || strcmp(((Client *) lfirst(lc))->name, name) == 0;
			if (!listed)
				add_operation(&ops, name, protected ? "blocked" : "offboard", "tenant", name,
							  protected ? "offboard: the tenant is protected against deletion" : NULL,
							  psprintf("SELECT * FROM tenancy.offboard(%s)", literal(name)));
		}
	}
	return ops;
}

/*
 * Locks every tenant an apply may touch: its clients, and (offboard_missing)
 * every registered one.
 */
static void
lock_manifest_tenants(List *clients, bool offboard_missing)
{
	int			n = list_length(clients);
	const char **names;
	ListCell   *lc;

	if (offboard_missing)
		catalog_execute_text("SELECT name FROM tenancy.registry", 0, NULL);
	names = palloc(sizeof(char *) * (n + (offboard_missing ? SPI_processed : 0) + 1));
	foreach(lc, clients)
		names[foreach_current_index(lc)] = ((Client *) lfirst(lc))->name;
	for (uint64 i = 0; offboard_missing && i < SPI_processed; i++)
		names[n++] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	lock_tenants(n, names);
}

static Jsonb *
manifest_argument(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		refuse_null("manifest");
	return PG_GETARG_JSONB_P(0);
}

/* plan(manifest jsonb): every operation apply() would run, in order. */
Datum
tenancy_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *manifest = manifest_argument(fcinfo);
	bool		offboard_missing = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, plan_manifest(parse_manifest(manifest), offboard_missing))
	{
		Operation  *op = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, op->detail == NULL};

		values[0] = PointerGetDatum(cstring_to_text(op->tenant));
		values[1] = PointerGetDatum(cstring_to_text(op->action));
		values[2] = PointerGetDatum(cstring_to_text(op->object_type));
		values[3] = PointerGetDatum(cstring_to_text(op->object_name));
		values[4] = op->detail ? PointerGetDatum(cstring_to_text(op->detail)) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* The text of a column of the row SPI just returned; NULL for NULL or none. */
static char *
result_column(const char *name)
{
	int			col;

	if (SPI_processed != 1 || (col = SPI_fnumber(SPI_tuptable->tupdesc, name)) <= 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* Runs one operation of an apply, and returns its row. */
static void
run_operation(ReturnSetInfo *rsinfo, ApplyContext *apply, const Operation *op)
{
	Datum		values[7];
	bool		nulls[7] = {false, false, true, true, true, true, true};
	char	   *v;

	if (strcmp(apply->tenant, op->tenant) != 0)
	{
		strlcpy(apply->tenant, op->tenant, sizeof(apply->tenant));
		new_uuid(apply->operation_id);
	}
	if (SPI_execute(op->sql, false, 0) < 0)
		elog(ERROR, "could not run %s", op->sql);
	values[0] = PointerGetDatum(cstring_to_text(op->tenant));
	values[1] = PointerGetDatum(cstring_to_text(op->action));
	if ((v = result_column("changes")) != NULL)
		values[2] = Int32GetDatum(atoi(v)), nulls[2] = false;
	if ((v = result_column("password")) != NULL)
		values[3] = PointerGetDatum(cstring_to_text(v)), nulls[3] = false;
	if ((v = result_column("iam_role_arn")) != NULL)
		values[4] = PointerGetDatum(cstring_to_text(v)), nulls[4] = false;
	if ((v = result_column("aws_access_key_id")) != NULL)
		values[5] = PointerGetDatum(cstring_to_text(v)), nulls[5] = false;
	if ((v = result_column("aws_secret_access_key")) != NULL)
		values[6] = PointerGetDatum(cstring_to_text(v)), nulls[6] = false;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * apply(manifest jsonb, offboard_missing boolean): runs the plan, one
 * operation after the other, under a lock that serializes applies.  A plan
 * with a blocked operation is refused before the first one runs.  Returns
 * per tenant what changed and the secrets made (once).
 */
Datum
tenancy_apply(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *manifest = manifest_argument(fcinfo);
	bool		offboard_missing = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	List	   *clients;
	List	   *ops;
	ListCell   *lc;
	ApplyContext *apply;

	refuse_in_transaction_block("tenancy.apply()");
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, 0)", MANIFEST_LOCK_CLASS),
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not take the manifest lock");
	/*
	 * The plan is made under the locks of every tenant it may touch: a
	 * single-tenant call racing the apply runs wholly before or after it.
	 */
	clients = parse_manifest(manifest);
	lock_manifest_tenants(clients, offboard_missing);
	ops = plan_manifest(clients, offboard_missing);
	foreach(lc, ops)
	{
		Operation  *op = lfirst(lc);

		if (strcmp(op->action, "blocked") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tenant \"%s\" is protected against deletion", op->tenant),
					 errdetail("The manifest would %s %s \"%s\"; nothing was changed.",
							   strcmp(op->object_type, "tenant") == 0 ? "offboard" : "remove",
							   op->object_type, op->object_name),
					 errhint("Set \"deletion_protection\": false for the client in the manifest, or keep what it would remove.")));
	}
	/* one apply id; one operation id per tenant, shared by its operations */
	apply = palloc0(sizeof(ApplyContext));
	new_uuid(apply->apply_id);
	current_apply = apply;
	PG_TRY();
	{
		foreach(lc, ops)
			run_operation(rsinfo, apply, lfirst(lc));
	}
	PG_FINALLY();
	{
		current_apply = NULL;
	}
	PG_END_TRY();
	SPI_finish();
	return (Datum) 0;
}

