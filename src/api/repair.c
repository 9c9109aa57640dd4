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

static void
emit_problems(Tuplestorestate *store, TupleDesc desc, Executor *ex,
			  const char *tenant, List *plan)
{
	ListCell   *lc;
	bool	   *unreached;
	bool	   *needed = executor_dry_run(ex, plan, &unreached);

	foreach(lc, plan)
	{
		Step	   *step = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false};

		if (!needed[foreach_current_index(lc)])
			continue;
		if (unreached[foreach_current_index(lc)])
			step = plan_report("database", step->database,
							   "no background worker was free to look inside the database (max_worker_processes): not checked");
		if (tenant)
			values[0] = CStringGetTextDatum(tenant);
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
 * check(tenant, deep): a dry run of repair's plans.  Deep, it looks inside
 * every tenant database, with workers started several at once, ahead of the
 * steps that need them; not deep, it reads only what the catalogs of the
 * extension's database and the cluster-wide catalogs tell, and starts no
 * worker at all.
 */
Datum
tenancy_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		deep = PG_NARGS() < 2 || PG_ARGISNULL(1) || PG_GETARG_BOOL(1);
	List	   *tenants = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, tenants_covered(fcinfo))
	{
		Tenant	   *t = load_tenant(lfirst(lc));

		if (t != NULL)			/* else offboarded meanwhile */
			tenants = lappend(tenants, t);
	}

	/* one executor per cluster, its tenants after each other */
	while (tenants != NIL)
	{
		const char *cluster = ((Tenant *) linitial(tenants))->cluster;
		List	   *group = NIL;
		List	   *databases = NIL;
		Executor   *ex;

		while (tenants != NIL &&
			   (cluster == NULL) == (((Tenant *) linitial(tenants))->cluster == NULL) &&
			   (cluster == NULL || strcmp(cluster, ((Tenant *) linitial(tenants))->cluster) == 0))
		{
			group = lappend(group, linitial(tenants));
			tenants = list_delete_first(tenants);
		}
		use_cluster(cluster);
		foreach(lc, group)
		{
			Tenant	   *t = lfirst(lc);
			TenantSnapshot *snap = NULL;

			if (strcmp(t->state, STATE_OFFBOARDING) != 0)
				snap = read_checked_snapshot(t, true);
			lfirst(lc) = list_make2(t, snap);
			for (int i = 0; deep && snap && i < t->ndatabases; i++)
				if (snap->databases[i].exists && snap->databases[i].session_can_connect)
					databases = lappend(databases, (char *) t->database_names[i]);
		}

		ex = executor_begin("check", NULL, true);
		executor_start_databases(ex, databases);
		foreach(lc, group)
		{
			Tenant	   *t = linitial(lfirst(lc));
			TenantSnapshot *snap = lsecond(lfirst(lc));

			if (snap == NULL)
				emit_problems(rsinfo->setResult, rsinfo->setDesc, ex, t->name,
							  list_make1(plan_report("tenant", t->name,
													 "its offboarding was interrupted: call tenancy.offboard() again")));
			else
				emit_problems(rsinfo->setResult, rsinfo->setDesc, ex, t->name,
							  plan_repair(t, snap, PLACEHOLDER_VERIFIER, deep));
		}
		executor_end(ex);
	}

	/* what only this cluster's catalogs tell */
	if (PG_ARGISNULL(0))
	{
		Executor   *ex;

		use_cluster(NULL);
		ex = executor_begin("check", NULL, true);
		emit_problems(rsinfo->setResult, rsinfo->setDesc, ex, NULL,
					  list_concat(plan_orphans(), plan_cluster_problems()));
		executor_end(ex);
	}
	SPI_finish();
	return (Datum) 0;
}

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
		Tenant	   *t;
		TenantSnapshot *snap;

		lock_tenant(lfirst(lc));
		t = load_tenant(lfirst(lc));
		if (t == NULL || strcmp(t->state, STATE_OFFBOARDING) == 0)
			continue;
		use_cluster(t->cluster);
		snap = read_checked_snapshot(t, true);
		changes += run_plan("repair", t->name,
							plan_repair(t, snap, snap->role_exists ?
										NULL : scram_verifier(generate_password()), true),
							NULL, NULL);
	}
	if (PG_ARGISNULL(0))
	{
		use_cluster(NULL);
		changes += run_plan("repair", NULL, plan_orphans(), NULL, NULL);
	}
	SPI_finish();
	PG_RETURN_INT32(changes);
}
