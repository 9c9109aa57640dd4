/*
 * plan/plan.h
 *		Planning: desired state -> the steps that get the cluster there.
 *
 * A plan is a list of steps, each with a guard that is true while the step
 * is needed; the executor (exec/) runs them.
 */
#ifndef AURORA_TENANCY_PLAN_H
#define AURORA_TENANCY_PLAN_H

#include "core/core.h"

/*
 * One step of a plan: a statement that moves the cluster towards the desired
 * state, with a guard that says whether it is still needed.  The guard runs
 * in the same transaction as the statement, so a second run finds nothing
 * to do and a resumed run does only what is missing.
 */
typedef struct Step
{
	const char *name;			/* "create_role", "create_database", ... */
	const char *object_type;	/* "role", "database", "schema", "tenant" */
	const char *object_name;
	const char *database;		/* where it runs; NULL: the extension's database */
	const char *guard;			/* query returning true while needed; NULL: always */
	const char *statement;		/* what runs (may hold a SCRAM verifier) */
	const char *display;		/* what is audited and logged; NULL: statement */
	const char *finish;			/* own_transaction: run with the outcome row */
	const char *problem;		/* what check() says while the step is needed */
	bool		own_transaction;	/* cannot run in a transaction block */
	bool		as_owner;		/* a write to the extension's own catalog */
} Step;

/* What a tenant should look like: the input of planning. */
typedef struct TenantSpec
{
	const char *tenant;
	const char *cluster;		/* the foreign server; NULL: this cluster */
	bool		iam_auth;
	const char *allowed_ips;	/* cidr[] as text; NULL: leave as it is */
	int			ndatabases;
	const char **short_names;
	const char **database_names;
	const char *verifier;		/* set when the role is to be created */
	bool	   *inside_unknown;	/* per database: must its inside be looked at?
								 * NULL: every database's */
} TenantSpec;

/* A tenant as the registry records it. */
typedef struct Tenant
{
	char	   *name;
	char	   *state;
	char	   *cluster;		/* the foreign server; NULL: this cluster */
	bool		iam_auth;
	bool		deletion_protection;
	int			connection_limit;
	bool		login_before_suspend;	/* what resume() restores */
	char	   *allowed_ips;		/* cidr[] as text, or NULL */
	int			ndatabases;		/* active databases */
	const char **short_names;
	const char **database_names;
} Tenant;

/* A registered database as the cluster has it. */
typedef struct DatabaseState
{
	const char *name;
	bool		exists;
	const char *marked_for;		/* the tenant its marker names; NULL: none */
	bool		session_can_connect;	/* the session user, as whom the
										 * executor connects */
	bool		privileges_differ;	/* PUBLIC holds a privilege, or the tenant
									 * lacks one (database_privileges) */
	List	   *other_grantees;	/* roles other than the tenant and the owner
								 * holding privileges on it, sorted */
} DatabaseState;

/* An audit intent with no outcome, of an operation no longer running. */
typedef struct OpenIntent
{
	const char *id;
	const char *operation_id;
	const char *step;
	const char *object_name;
} OpenIntent;

/*
 * What the cluster says about one tenant, read by read_tenant_snapshot():
 * the input of the planners besides the registry's Tenant.  Plain values,
 * nothing that points into SPI or a cache.
 */
typedef struct TenantSnapshot
{
	bool		role_exists;
	const char *role_marked_for;	/* the tenant its marker names; NULL: none */
	bool		role_has_attribute; /* SUPERUSER, CREATEDB, ... (it must not) */
	bool		role_can_login;
	int			role_connection_limit;
	bool		role_in_iam_role;	/* a member of tenancy.iam_role */
	List	   *role_members;	/* members of the tenant role, sorted */
	List	   *role_members_unrevokable;	/* of those, members the caller
											 * cannot remove: from PostgreSQL
											 * 16 only the grantor (or a
											 * superuser) can */
	const char *caller;			/* current user: the admin of offboarding */
	bool		caller_is_superuser;
	bool		caller_can_createrole;
	bool		caller_can_createdb;
	const char *session_user_name;
	bool		iam_role_exists;	/* tenancy.iam_role */
	bool		caller_in_iam_role; /* inherits it (a superuser: never) */
	const char *template_problem;	/* why tenancy.database_template is
									 * unfit; NULL: it is fit (read by
									 * read_cluster_snapshot() only) */
	int			ndatabases;		/* the Tenant's, in its order */
	DatabaseState *databases;
	List	   *stray_databases;	/* carrying its marker, not registered */
	List	   *dependent_databases;	/* not its own, where the role owns
										 * objects or holds privileges */
	List	   *unfinished_databases;	/* left by an interrupted create */
	List	   *open_intents;	/* OpenIntent * */
} TenantSnapshot;

/* in snapshot.c */
extern TenantSnapshot *read_cluster_snapshot(const Tenant *t);
extern TenantSnapshot *read_tenant_snapshot(const Tenant *t);
extern TenantSnapshot **read_tenant_snapshots(List *tenants);
extern List *read_orphaned_unfinished(void);

/* in plan.c */
extern Step *make_step(const char *name, const char *object_type,
					   const char *object_name, const char *database,
					   char *guard, char *statement, const char *problem);
extern Step *catalog_step(const char *name, const char *tenant, char *guard,
						  char *statement);
extern char *role_oid_sql(const char *role);
extern char *marked_sql(bool role, const char *name, const char *tenant);
extern List *plan_onboard(const TenantSpec *spec, Step *role_password);
extern Step *plan_allowed_ips(const char *tenant, const char *allowed_ips);
extern List *plan_database(List *plan, const TenantSpec *spec, const char *datname,
						   bool inside);
extern Step *plan_create_role(const TenantSpec *spec);
extern Step *plan_iam_membership(const char *tenant, bool member);
extern Step *plan_activate(const char *tenant);

/* in plan_lifecycle.c */
extern Step *plan_registry_update(const char *name, const char *tenant,
								  const char *condition, const char *assignments);
extern Step *plan_set_password(const char *tenant, const char *verifier);
extern Step *plan_connection_limit(const char *tenant, int limit);
extern Step *plan_login(const char *tenant, bool login);
extern List *plan_suspend(List *plan, const char *tenant);
extern List *plan_resume(List *plan, const char *tenant, bool login_before);
extern List *plan_remove_database(List *plan, const char *tenant, const char *datname);
extern List *plan_offboard(const Tenant *t, const TenantSnapshot *snap,
						   bool keep_databases);
extern const char *custodian_problem_sql;

/* in plan_repair.c */
extern List *plan_repair(const Tenant *t, const TenantSnapshot *snap,
						 const char *verifier, bool deep);
extern char *open_intents_sql(const char *tenant);
extern List *plan_orphans(void);
extern List *plan_cluster_problems(void);
extern Step *plan_report(const char *object_type, const char *name, const char *problem);

#endif							/* AURORA_TENANCY_PLAN_H */
