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
#include "aws/aws.h"

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
	const AwsCall *aws;			/* an AWS API call instead of a statement
								 * (statement then says what it is) */
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
	const char *iam_principal;	/* registered with a new tenant (1.3) */
	const char *iam_external_id;	/* NULL: not registered */
	bool		deletion_protection;	/* the registry's (a new tenant: off) */
	const char *recorded_ips;	/* the registry's allowed_ips, when
								 * allowed_ips leaves them as they are */
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
	char	   *iam_principal;	/* iam_provisioning 'role': who may assume
								 * the tenant's IAM role */
	char	   *iam_external_id;	/* the sts:ExternalId it must give */
	char	   *aws_access_key_id;	/* the IAM user's key made by us */
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

/*
 * A role the tenant role is a member of, through which it reaches a role no
 * tenant may: why names that role and says what it is.
 */
typedef struct RoleReach
{
	const char *role;
	const char *why;
} RoleReach;

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
	const char *role_guard_label;	/* its guard label; NULL: none (on a
									 * target cluster: never read) */
	bool		role_has_attribute; /* SUPERUSER, CREATEDB, ... (it must not) */
	bool		role_can_login;
	int			role_connection_limit;
	bool		role_in_iam_role;	/* a member of tenancy.iam_role */
	List	   *role_members;	/* members of the tenant role, sorted */
	List	   *role_members_unrevokable;	/* of those, members the caller
											 * cannot remove: from PostgreSQL
											 * 16 only the grantor (or a
											 * superuser) can */
	List	   *role_reaches;	/* RoleReach *, the tenant role's own
								 * memberships that reach too far */
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

/* An IAM user or role as IAM has it (read_iam_snapshot). */
typedef struct IamEntity
{
	bool		exists;
	bool		ours;			/* tagged with the tenant, this installation and
								 * its marker */
	bool		cluster_tagged; /* tagged with a cluster (ours: this one) */
	const char *arn;
	const char *trust_policy;	/* a role's, as IAM returns it */
	List	   *inline_policies;	/* names, but the one we put there */
	List	   *attached_policies;	/* managed policy ARNs */
} IamEntity;

typedef struct IamKey
{
	const char *id;
	bool		active;
} IamKey;

/* What IAM says about one tenant: the input of plan_iam(). */
typedef struct IamSnapshot
{
	IamEntity	user;
	IamEntity	role;
	const char *connect_policy; /* the role's inline IAM_CONNECT_POLICY */
	const char *assume_policy;	/* the user's inline IAM_ASSUME_POLICY */
	List	   *keys;			/* IamKey *, the user's */
} IamSnapshot;

/* The names of the inline policies we put on a tenant's role and user. */
#define IAM_CONNECT_POLICY "rds-db-connect"
#define IAM_ASSUME_POLICY "assume-tenant-role"
/* the path of everything we make, and the prefix of its names */
#define IAM_PATH "/tenancy/"
#define IAM_NAME_PREFIX "tenancy-"
/* the tags that mark what we made */
#define IAM_TAG_TENANT "tenancy:tenant"
#define IAM_TAG_INSTALLATION "tenancy:installation"
#define IAM_TAG_CLUSTER "tenancy:cluster"
#define IAM_TAG_MARKER "tenancy:marker"	/* iam_markers(): the proof */

/* What a tenant's IAM side should be, and what is needed to write it. */
typedef struct IamTarget
{
	const char *tenant;
	const char *region;
	const char *partition;
	const char *installation;	/* tenancy.installation's id */
	List	   *user_markers;	/* the user's tenancy:marker values; the
								 * first is the one to write */
	List	   *role_markers;
	const char *resource_id;	/* the cluster's DbClusterResourceId */
	bool		with_user;		/* user_and_role: an IAM user and its key */
	const char *user_name;
	const char *role_name;
	const char *role_arn;
	const char *trust_policy;	/* desired documents */
	const char *connect_policy;
	const char *assume_policy;
	bool		remove;			/* offboarding: nothing of it stays */
	bool		connect;		/* the connect policy is on the role */
	bool		keys_active;
	const char *recorded_key;	/* the key made for the user, if any */
	bool		make_key;		/* make one if the recorded key is not there */
	bool		rotate_key;		/* make a new one, then delete the recorded */
	AwsAnswer **new_key;		/* where CreateAccessKey's answer goes */
} IamTarget;

/* in iam_snapshot.c */
extern IamSnapshot *read_iam_snapshot(const IamTarget *want);

/* in plan_iam.c */
extern bool iam_entity_ours(const AwsXml *entity, const IamTarget *want);
extern List *plan_iam(List *plan, const IamTarget *want, const IamSnapshot *have);

/* in snapshot.c */
extern TenantSnapshot *read_cluster_snapshot(const Tenant *t);
extern TenantSnapshot *read_tenant_snapshot(const Tenant *t);
extern TenantSnapshot **read_tenant_snapshots(List *tenants);
extern List *read_orphaned_unfinished(void);
extern void read_open_intents_into(const Tenant *t, TenantSnapshot *snap);

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
extern List *plan_guard_label(List *plan, const char *tenant, bool deletion_protection,
							  const char *allowed_ips);
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
extern List *plan_resolve_intents(List *plan, const Tenant *t, const TenantSnapshot *snap,
								  const char *by);
extern List *plan_orphans(void);
extern List *plan_cluster_problems(void);
extern Step *plan_report(const char *object_type, const char *name, const char *problem);

#endif							/* AURORA_TENANCY_PLAN_H */
