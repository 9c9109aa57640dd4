/*
 * core/core.h
 *		The core of aurora_tenancy: settings, names, markers, secrets, the
 *		extension's own catalog, the audit log and its chain, redaction.
 *
 * Grouped by the file that defines each declaration (the postgres_fdw
 * convention).  Every other layer builds on this one.
 */
#ifndef AURORA_TENANCY_CORE_H
#define AURORA_TENANCY_CORE_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/pg_list.h"

#include "core/vocabulary.h"

#define MARKER_PROVIDER "aurora_tenancy"
/* the label provider of tenant roles' guard labels (guard_label.c) */
#define GUARD_PROVIDER "aurora_tenancy_guard"

/* Where SQL run by the extension looks up names: nowhere a user can write. */
#define SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* classid of the per-tenant advisory lock: pg_advisory_lock(5522766, hashtext(tenant)) */
#define TENANT_LOCK_CLASS 5522766
/* classid of the lock on a database name being claimed: (5522767, hashtext(name)) */
#define DATABASE_NAME_LOCK_CLASS 5522767

/* classid of the audit chain's lock (5522768, 0), one SQL cannot take (audit_chain.c) */
#define AUDIT_CHAIN_LOCK_CLASS 5522768

/* Who asked for an operation: the caller's identity, carried to the workers. */
typedef struct AuditContext
{
	char		operation_id[37];
	char		operation[NAMEDATALEN];
	char		tenant[NAMEDATALEN];
	char		session_user_name[NAMEDATALEN];
	char		current_user_name[NAMEDATALEN];
	char		client_addr[64];
	char		application_name[NAMEDATALEN];
	int			backend_pid;
	char		cluster[NAMEDATALEN];	/* the target cluster; "": this one */
	char		cluster_user[NAMEDATALEN];	/* the user mapping's user there */
	char		apply_id[37];	/* the manifest apply it is part of; "": none */
} AuditContext;

/*
 * While tenancy.apply() runs: its id, and the operation id every operation
 * on the tenant it is at shares (one operation per tenant).
 */
typedef struct ApplyContext
{
	char		apply_id[37];
	char		tenant[NAMEDATALEN];
	char		operation_id[37];
} ApplyContext;

typedef struct AuditEntry
{
	const char *step;
	const char *phase;			/* intent, done, failed, unknown, ddl */
	const char *object_type;
	const char *object_name;
	const char *database;
	const char *statement;
	const char *sqlstate;
	const char *message;
} AuditEntry;

/*
 * A target cluster reached over libpq (cluster.c): a foreign server of the
 * wrapper aurora_tenancy and the caller's user mapping.
 */
typedef struct Cluster
{
	const char *name;			/* the foreign server */
	const char *host;			/* for IAM tokens and messages */
	int			port;
	int			connect_timeout;	/* seconds; libpq's own applies only to
									 * blocking connects */
	bool		iam_auth;		/* auth 'iam': a fresh token per connection */
	const char *aws_region;
	const char *iam_provisioning;	/* "user_and_role", "role"; NULL: none */
	const char *aws_cluster_resource_id;	/* NULL: look up the identifier */
	const char *aws_cluster_identifier;
	const char *aws_account_id;	/* NULL: ask STS */
	int			iam_trust_policy_size;	/* the account's quota, characters */
	const char *user;			/* the remote admin */
	const char *password;		/* the mapping's; never shown */
	bool		password_required;	/* a non-superuser: must use it */
	const char *dbname;			/* where cluster-wide statements run */
	int			noptions;		/* libpq options but dbname and password */
	const char **keywords;
	const char **values;
} Cluster;

/* in guc.c */
extern char *tenancy_database_name_template;
extern char *tenancy_database_template;
extern char *tenancy_iam_role;
extern char *tenancy_default_cluster;
extern bool tenancy_allow_drop_extension;
extern int	tenancy_check_workers;
extern bool tenancy_allow_local_logins;
extern char *tenancy_control_database;
extern void GucInit(void);
extern void require_valid_settings(void);

/* Databases under construction: created unreachable, renamed when secured. */
#define UNFINISHED_DATABASE_PREFIX "tenancy_new_"

/* The role that takes over what offboarded tenants leave behind. */
#define CUSTODIAN_ROLE "tenancy_custodian"

/*
 * SQL: does the pg_auth_members row under this alias give its member
 * anything of the role?  From PostgreSQL 16 a CREATEROLE admin holds every
 * role it creates WITH ADMIN OPTION, INHERIT FALSE, SET FALSE: that grant
 * confers nothing (and DROP ROLE needs it).  Before 16 every row confers.
 */
#define MEMBERSHIP_CONFERS_SQL(alias) \
	"COALESCE((pg_catalog.to_jsonb(" alias ") ->> 'inherit_option')::pg_catalog.bool" \
	" OR (pg_catalog.to_jsonb(" alias ") ->> 'set_option')::pg_catalog.bool, true)"

/* in names.c */
extern void validate_tenant_name(const char *tenant);
extern void validate_database_short_name(const char *short_name);
extern char *tenant_database_name(const char *tenant, const char *short_name);
extern char *unfinished_database_name(void);

/* in cluster.c */
extern const Cluster *current_cluster;
extern void ClusterInit(void);
extern const Cluster *use_cluster(const char *name);

/* Rows a query read, as text; a cell is NULL for SQL NULL. */
typedef struct Rows
{
	int			nrows;
	int			ncols;
	char	  **cells;			/* row-major */
} Rows;

#define ROWS_CELL(rows, r, c) ((rows)->cells[(r) * (rows)->ncols + (c)])

/* in remote.c */
struct pg_conn;
struct pg_result;
extern int	tenancy_remote_statement_timeout;
extern void remote_connect_start(const char *database);
extern struct pg_conn *remote_connection(const char *database);
extern void remote_disconnect(const char *database);
extern struct pg_result *remote_exec(struct pg_conn *conn, const char *database,
									 const char *sql, int nparams,
									 const char *const *params, bool throw);
extern ErrorData *remote_error(const struct pg_result *res, const char *database);
extern Rows *cluster_query(const char *sql, int nparams, const char *const *params);

/* in aurora_tenancy.c */
extern bool loaded_at_startup;

/* in marker.c */
extern bool step_running;
extern void MarkerInit(void);
extern char *tenant_of_object(Oid classid, Oid objid);
extern char *tenant_marker(const char *tenant);
extern char *shared_label_sql(const char *provider, bool role, const char *oid_expr);
extern char *marker_text_sql(bool role, const char *oid_expr);
extern char *marker_present_sql(bool role, const char *oid_expr);
extern char *marker_nonce(bool role, const char *name, const char *tenant, bool create);
extern char *marker_for(bool role, const char *name, const char *tenant);
extern char *marker_owner(bool role, const char *name, const char *text);
extern char *marker_statement(bool role, const char *name, const char *tenant);
extern List *iam_markers(const char *kind, const char *name, const char *tenant,
						 const char *cluster);

/* What the server's guards know of a tenant (its role's guard label). */
typedef struct TenantGuard
{
	bool		deletion_protection;
	List	   *allowed_ips;	/* CIDRs as text; NIL: every address */
} TenantGuard;

/* in guard_label.c */
extern char *guard_label(bool deletion_protection, const char *allowed_ips);
extern char *guard_label_statement(const char *role, const char *label);
extern bool guard_of_role(Oid roleid, TenantGuard *guard);
extern bool tenant_protected(const char *tenant);
extern void GuardLabelInit(void);

/* in secret.c */
extern char *generate_password(void);
extern char *scram_verifier(const char *password);

/*
 * A statement prepared once per session and kept for later calls: a static
 * of the caller's, one per statement (see execute_kept_as()).
 */
typedef struct KeptStatement
{
	bool		custom;			/* planned again for each call's parameters
								 * (set by the caller) */
	struct _SPI_plan *plan;
	char	   *sql;			/* the text it was prepared from */
} KeptStatement;

/* in catalog.c */
extern int	execute_as(Oid role, const char *sql, int nargs, Oid *argtypes,
					   Datum *values, const char *nulls);
extern int	catalog_execute(const char *sql, int nargs, Oid *argtypes,
							Datum *values, const char *nulls);
extern int	catalog_execute_text(const char *sql, int nargs, const char *const *args);
extern int	execute_kept_as(Oid role, KeptStatement *kept, const char *sql, int nargs,
							const char *const *args);
extern int	catalog_execute_kept(KeptStatement *kept, const char *sql, int nargs,
								 const char *const *args);
extern char *catalog_value(void);
extern struct PortalData *catalog_cursor_open(const char *sql);
extern bool catalog_knows_clusters(void);
extern bool catalog_knows_iam(void);
extern bool catalog_knows_refusals(void);
extern Oid	database_oid_now(const char *database);
extern bool session_can_connect(const char *database);

/* in audit.c */
extern ApplyContext *current_apply;
extern void new_uuid(char *out);
extern void audit_context_init(AuditContext *ctx, const char *operation,
							   const char *tenant);
extern void audit_write(const AuditContext *ctx, const AuditEntry *entry);

/* in redact.c */
extern char *redact_statement(const char *sql, bool all_literals);

/* in audit_chain.c */
extern bool audit_chain_armed;
extern void AuditChainInit(void);
extern void audit_chain_log_head_at_exit(void);
extern bool audit_log_is_empty(void);

#endif							/* AURORA_TENANCY_CORE_H */
