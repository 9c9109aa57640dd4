/*
 * repair.c
 *		tenancy.check() and tenancy.repair(): the registry against the cluster.
 *
 * Both use the plans of plan/plan_repair.c: check() is a dry run of them
 * (each step whose guard holds is a problem, its statement the fix),
 * repair() runs them, audited.
 */
#include "api/api.h"

#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tenancy_check);
PG_FUNCTION_INFO_V1(tenancy_repair);

/* Shown for a missing role in check(): the real verifier is made by repair(). */
#define PLACEHOLDER_VERIFIER "SCRAM-SHA-256$placeholder"

/*
 * The tenants a check or repair covers: one (which must exist) or all, in
 * every state (an interrupted offboarding is a problem to report too), those
 * of one cluster after each other.
 */
static int
tenant_name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(((const Tenant *) lfirst(a))->name, ((const Tenant *) lfirst(b))->name);
}

static List *
tenants_covered(FunctionCallInfo fcinfo)
{
	char	   *name;

	if (PG_ARGISNULL(0))
	{
		List	   *names = NIL;

		catalog_execute(catalog_knows_clusters() ?
						"SELECT name FROM tenancy.registry ORDER BY cluster NULLS FIRST, name" :
						"SELECT name FROM tenancy.registry ORDER BY name",
						0, NULL, NULL, NULL);
		for (uint64 i = 0; i < SPI_processed; i++)
			names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		return names;
	}
	name = tenant_argument(fcinfo, 0);
	if (load_tenant(name) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" does not exist", name)));
	return list_make1(name);
}

/*
 * Every tenant in the registry, in every state, those of one cluster after
 * each other, as load_tenant() reads each: in two queries, not two a tenant.
 */
static List *
load_all_tenants(void)
{
	static KeptStatement registry;
	static KeptStatement databases;
	List	   *tenants = NIL;
	SPITupleTable *rows;
	uint64		n;
	uint64		d = 0;

	catalog_execute_kept(&registry,
						 psprintf("SELECT %s FROM tenancy.registry ORDER BY %s name",
								  tenant_columns_sql(),
								  catalog_knows_clusters() ? "cluster NULLS FIRST," : ""),
						 0, NULL);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		Tenant	   *t = tenant_from_row(rows->vals[i], rows->tupdesc);

		tenants = lappend(tenants, t);
	}

	/* their active databases, by tenant (sorted as above: by name) */
	catalog_execute_kept(&databases,
						 "SELECT tenant, short_name, database_name FROM tenancy.tenant_databases"
						 " WHERE state = 'active' ORDER BY tenant COLLATE \"C\", short_name",
						 0, NULL);
	rows = SPI_tuptable;
	n = SPI_processed;
	{
		ListCell   *lc;
		List	   *by_name = list_copy(tenants);

		list_sort(by_name, tenant_name_cmp);
		foreach(lc, by_name)
		{
			Tenant	   *t = lfirst(lc);
			uint64		first;

			while (d < n && strcmp(SPI_getvalue(rows->vals[d], rows->tupdesc, 1), t->name) < 0)
				d++;
			first = d;
			while (d < n && strcmp(SPI_getvalue(rows->vals[d], rows->tupdesc, 1), t->name) == 0)
				d++;
			t->ndatabases = d - first;
			t->short_names = palloc(sizeof(char *) * Max(t->ndatabases, 1));
			t->database_names = palloc(sizeof(char *) * Max(t->ndatabases, 1));
			for (uint64 j = first; j < d; j++)
			{
				t->short_names[j - first] = SPI_getvalue(rows->vals[j], rows->tupdesc, 2);
				t->database_names[j - first] = SPI_getvalue(rows->vals[j], rows->tupdesc, 3);
			}
		}
	}
	return tenants;
}

/* One tenant's plan (or a row that says what keeps it from having one). */
typedef struct Checked
{
	const char *tenant;			/* NULL: about no registered tenant */
	List	   *plan;
} Checked;

static void
emit_problems(Tuplestorestate *store, TupleDesc desc, const Checked *c,
			  const bool *needed, const bool *unreached)
{
	ListCell   *lc;

	foreach(lc, c->plan)
	{
		Step	   *step = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false};

		if (!needed[foreach_current_index(lc)])
			continue;
		if (unreached[foreach_current_index(lc)])
			step = plan_report("database", step->database,
							   "no background worker was free to look inside the database (max_worker_processes): not checked");
		if (c->tenant)
			values[0] = CStringGetTextDatum(c->tenant);
		else
			nulls[0] = true;	/* a marker of no registered tenant */
		values[1] = CStringGetTextDatum(step->object_type);
		values[2] = CStringGetTextDatum(step->database ?
										psprintf("%s.%s", step->database, step->object_name) :
										step->object_name);
		values[3] = CStringGetTextDatum(step->problem ? step->problem : step->name);
		if (step->statement)
			values[4] = CStringGetTextDatum(step->display ? step->display : step->statement);
		else
			nulls[4] = true;	/* not repair()'s to fix */
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

/*
 * At most this many steps in one dry run: the guards in the extension's
 * database are read as the columns of one row (at most
 * MaxTupleAttributeNumber), and planning a statement costs more than
 * linearly in its subqueries.
 */
#define DRY_RUN_STEPS 32

/*
 * Dry-runs the plans of many tenants as few plans as possible: the guards of
 * all their steps in the extension's database are read in one statement (per
 * role they run as), instead of one statement a tenant.  The plans are put
 * together in order, so the databases are looked into in the order the
 * workers were started ahead.
 */
static void
dry_run_all(Tuplestorestate *store, TupleDesc desc, Executor *ex, List *checked)
{
	int			first = 0;

	while (first < list_length(checked))
	{
		List	   *plan = NIL;
		int			last;
		int			offset = 0;
		bool	   *needed;
		bool	   *unreached;

		for (last = first; last < list_length(checked); last++)
		{
			List	   *p = ((Checked *) list_nth(checked, last))->plan;

			if (plan != NIL && list_length(plan) + list_length(p) > DRY_RUN_STEPS)
				break;
			plan = list_concat(plan, p);
		}
		needed = executor_dry_run(ex, plan, &unreached);
		for (int i = first; i < last; i++)
		{
			const Checked *c = list_nth(checked, i);

			emit_problems(store, desc, c, needed + offset, unreached + offset);
			offset += list_length(c->plan);
		}
		first = last;
	}
}

/* A tenant's IAM side, read for check() */
typedef struct IamCheck
{
	const Tenant *tenant;
	List	   *plan;
} IamCheck;

static void
read_iam_plan(void *arg)
{
	IamCheck   *ic = arg;

	ic->plan = iam_plan(ic->tenant, IAM_REFUSE_NOTHING, NULL, NULL);
}

/*
 * The IAM drift of one tenant; IAM that cannot be read (AWS down, access
 * denied) is one row saying why, and the other tenants are checked.
 */
static List *
iam_plan_isolated(const Tenant *t)
{
	IamCheck	ic = {t, NIL};
	ErrorData  *edata;

	if (!cluster_has_iam())
		return NIL;
	if ((edata = run_isolated(read_iam_plan, &ic)) != NULL)
		return list_make1(plan_report("iam_role", psprintf(IAM_NAME_PREFIX "%s", t->name),
									  psprintf("could not be checked: %s", edata->message)));
	return ic.plan;
}

/* One cluster's tenants, checked together: what check() does for each cluster. */
typedef struct ClusterCheck
{
	const char *cluster;		/* NULL: this one */
	List	   *group;			/* Tenant * */
	bool		deep;
	ReturnSetInfo *rsinfo;
} ClusterCheck;

static void
check_cluster(void *arg)
{
	ClusterCheck *cc = arg;
	List	   *present = NIL;
	List	   *databases = NIL;
	List	   *checked = NIL;
	TenantSnapshot **snaps;
	Executor   *ex;
	ListCell   *lc;
	int			k = 0;

	use_cluster(cc->cluster);
	foreach(lc, cc->group)
		if (strcmp(((Tenant *) lfirst(lc))->state, STATE_OFFBOARDING) != 0)
			present = lappend(present, lfirst(lc));

	/* a remote admin unfit to act is refused, as for every operation */
	if (cc->cluster != NULL && present != NIL)
		(void) read_checked_snapshot(linitial(present), false);
	snaps = read_tenant_snapshots(present);

	foreach(lc, cc->group)
	{
		Tenant	   *t = lfirst(lc);
		Checked    *c = palloc0(sizeof(Checked));

		c->tenant = t->name;
		if (strcmp(t->state, STATE_OFFBOARDING) == 0)
			c->plan = list_make1(plan_report("tenant", t->name,
											 "its offboarding was interrupted: call tenancy.offboard() again"));
		else
		{
			TenantSnapshot *snap = snaps[k++];

			for (int i = 0; cc->deep && i < t->ndatabases; i++)
				if (snap->databases[i].exists && snap->databases[i].session_can_connect)
					databases = lappend(databases, (char *) t->database_names[i]);
			c->plan = plan_repair(t, snap, PLACEHOLDER_VERIFIER, cc->deep);
			if (cc->deep)
				c->plan = list_concat(c->plan, iam_plan_isolated(t));
		}
		checked = lappend(checked, c);
	}

	ex = executor_begin("check", NULL, true);
	executor_start_databases(ex, databases);
	dry_run_all(cc->rsinfo->setResult, cc->rsinfo->setDesc, ex, checked);
	executor_end(ex);
}

/*
 * check(tenant, deep): a dry run of repair's plans.  Deep, it looks inside
 * every tenant database, with workers (or, on a target, connections)
 * started several at once, ahead of the steps that need them; not deep, it
 * reads only what the catalogs of the extension's database and the
 * cluster-wide catalogs tell, and starts no worker at all.  Checking every
 * tenant, a cluster that cannot be checked (a target down, a login refused)
 * is one row saying why, and the others are checked all the same.
 */
Datum
tenancy_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		everyone = PG_ARGISNULL(0);
	List	   *tenants = NIL;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (everyone)
		tenants = load_all_tenants();
	else
	{
		Tenant	   *t = load_tenant(linitial(tenants_covered(fcinfo)));

		if (t != NULL)			/* else offboarded meanwhile */
			tenants = list_make1(t);
	}

	/* one executor per cluster, its tenants after each other */
	while (tenants != NIL)
	{
		ClusterCheck cc = {((Tenant *) linitial(tenants))->cluster, NIL,
			PG_NARGS() < 2 || PG_ARGISNULL(1) || PG_GETARG_BOOL(1), rsinfo};
		ErrorData  *edata;

		while (tenants != NIL &&
			   (cc.cluster == NULL) == (((Tenant *) linitial(tenants))->cluster == NULL) &&
			   (cc.cluster == NULL || strcmp(cc.cluster, ((Tenant *) linitial(tenants))->cluster) == 0))
		{
			cc.group = lappend(cc.group, linitial(tenants));
			tenants = list_delete_first(tenants);
		}
		if (!everyone)
			check_cluster(&cc);
		else if ((edata = run_isolated(check_cluster, &cc)) != NULL)
		{
			Checked		c = {NULL, NIL};

			c.plan = list_make1(plan_report("cluster", cc.cluster ? cc.cluster : "(this cluster)",
											psprintf("could not be checked: %s", edata->message)));
			emit_problems(rsinfo->setResult, rsinfo->setDesc, &c, (bool[]) {true}, (bool[]) {false});
		}
	}

	/* what only this cluster's catalogs tell */
	if (everyone)
	{
		Executor   *ex;
		Checked		c = {NULL, NIL};

		use_cluster(NULL);
		ex = executor_begin("check", NULL, true);
		c.plan = list_concat(plan_orphans(), plan_cluster_problems());
		dry_run_all(rsinfo->setResult, rsinfo->setDesc, ex, list_make1(&c));
		executor_end(ex);
	}
	SPI_finish();
	return (Datum) 0;
}

/* One tenant repaired, under its lock, on its cluster. */
typedef struct TenantRepair
{
	const char *name;
	int			changes;
} TenantRepair;

static void
repair_tenant(void *arg)
{
	TenantRepair *tr = arg;
	Tenant	   *t;
	TenantSnapshot *snap;

	lock_tenant(tr->name);
	t = load_tenant(tr->name);
	if (t == NULL || strcmp(t->state, STATE_OFFBOARDING) == 0)
		return;
	use_cluster(t->cluster);
	snap = read_checked_snapshot(t, true);
	tr->changes += run_plan("repair", t->name,
							list_concat(plan_repair(t, snap, snap->role_exists ?
													NULL : scram_verifier(generate_password()), true),
										iam_plan(t, IAM_REFUSE_NOTHING, NULL, NULL)),
							NULL, NULL);
}

/*
 * repair(tenant): runs what check() shows.  Repairing every tenant, one
 * that cannot be repaired (its cluster down, a step refused) is a WARNING
 * and the others are repaired all the same.
 */
Datum
tenancy_repair(PG_FUNCTION_ARGS)
{
	List	   *tenants;
	ListCell   *lc;
	int			changes = 0;

	refuse_in_transaction_block("tenancy.repair()");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tenants = tenants_covered(fcinfo);
	foreach(lc, tenants)
	{
		TenantRepair tr = {lfirst(lc), 0};
		ErrorData  *edata;

		if (!PG_ARGISNULL(0))
			repair_tenant(&tr);
		else if ((edata = run_isolated(repair_tenant, &tr)) != NULL)
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("tenant \"%s\" was not repaired: %s", tr.name, edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
		changes += tr.changes;
	}
	if (PG_ARGISNULL(0))
	{
		use_cluster(NULL);
		changes += run_plan("repair", NULL, plan_orphans(), NULL, NULL);
	}
	SPI_finish();
	PG_RETURN_INT32(changes);
}
