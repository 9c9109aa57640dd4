/*
 * aurora_tenancy.h
 *		Declarations shared by the modules of aurora_tenancy.
 *
 * One header for the whole extension, grouped by the file that defines each
 * declaration (the postgres_fdw convention).
 */
#ifndef AURORA_TENANCY_H
#define AURORA_TENANCY_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/pg_list.h"

/* === onboarding core === */

#define MARKER_PROVIDER "aurora_tenancy"

/* Where SQL run by the extension looks up names: nowhere a user can write. */
#define SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* classid of the per-tenant advisory lock: pg_advisory_lock(5522766, hashtext(tenant)) */
#define TENANT_LOCK_CLASS 5522766
/* classid of the lock on a database name being claimed: (5522767, hashtext(name)) */
#define DATABASE_NAME_LOCK_CLASS 5522767

/* classid of the audit chain's lock: pg_advisory_xact_lock(5522768, 0) */
#define AUDIT_CHAIN_LOCK_CLASS 5522768

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
} AuditContext;

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

typedef struct Executor Executor;

/* What a tenant should look like: the input of planning. */
typedef struct TenantSpec
{
	const char *tenant;
	bool		iam_auth;
	const char *allowed_ips;	/* cidr[] as text; NULL: leave as it is */
	int			ndatabases;
	const char **short_names;
	const char **database_names;
	const char *verifier;		/* set when the role is to be created */
	bool	   *inside_unknown;	/* per database: must its inside be looked at?
								 * NULL: every database's */
} TenantSpec;

/* in guc.c */
extern char *tenancy_database_name_template;
extern char *tenancy_database_template;
extern char *tenancy_iam_role;
extern bool tenancy_allow_drop_extension;
extern int	tenancy_check_workers;
extern void GucInit(void);
extern void require_valid_settings(void);

/* Databases under construction: created unreachable, renamed when secured. */
#define UNFINISHED_DATABASE_PREFIX "tenancy_new_"

/* The role that takes over what offboarded tenants leave behind. */
#define CUSTODIAN_ROLE "tenancy_custodian"

/* SQL: is the pg_roles row under this alias a tenant role (carries a marker)? */
#define TENANT_ROLE_SQL(alias) \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_shseclabel l WHERE l.objoid = " alias ".oid" \
	" AND l.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass" \
	" AND l.provider = '" MARKER_PROVIDER "')"

/* in names.c */
extern void validate_tenant_name(const char *tenant);
extern void validate_database_short_name(const char *short_name);
extern char *tenant_database_name(const char *tenant, const char *short_name);
extern char *unfinished_database_name(void);

/* in aurora_tenancy.c */
extern bool loaded_at_startup;

/* in marker.c */
extern bool marker_writes_allowed;
extern void MarkerInit(void);
extern char *tenant_marker(const char *tenant);
extern char *role_tenant(const char *rolname);
extern char *database_tenant(const char *datname);

/* in secret.c */
extern char *generate_password(void);
extern char *scram_verifier(const char *password);

/* in catalog.c */
extern int	execute_as(Oid role, const char *sql, int nargs, Oid *argtypes,
					   Datum *values, const char *nulls);
extern int	catalog_execute(const char *sql, int nargs, Oid *argtypes,
							Datum *values, const char *nulls);
extern int	catalog_execute_text(const char *sql, int nargs, const char *const *args);
extern char *catalog_value(void);
extern struct PortalData *catalog_cursor_open(const char *sql);

/* in audit.c */
extern void audit_context_init(AuditContext *ctx, const char *operation,
							   const char *tenant);
extern void audit_write(const AuditContext *ctx, const AuditEntry *entry);
extern AuditEntry audit_entry_for_step(const Step *step, const char *phase,
									   ErrorData *edata);

/* in redact.c */
extern char *redact_statement(const char *sql, bool all_literals);

/* in audit_chain.c */
extern bool audit_chain_armed;
extern void AuditChainInit(void);
extern void audit_chain_log_head_at_exit(void);
extern bool audit_log_is_empty(void);

/*
 * A transport: how the executor reaches one database as the caller.  The
 * driver (executor.c) knows the step protocol; a transport only connects,
 * evaluates guards, runs steps and writes audit rows where it is connected.
 * Methods throw what goes wrong with the connection; run() returns the
 * step's own error instead, for the driver to audit before throwing it.
 */
typedef struct Transport Transport;

typedef struct TransportMethods
{
	/* starts a connection to a database (NULL: the extension's); NULL when
	 * none is to be had now and missing_ok */
	Transport  *(*open) (const char *database, const AuditContext *audit, bool missing_ok);
	/* waits until it is connected */
	void		(*await) (Transport *t);
	/* is the step needed?  Its guard, in a transaction of its own. */
	bool		(*guard) (Transport *t, const Step *step);
	/* runs the step if its guard holds (*ran); with audit, with its audit
	 * rows (a connection to the extension's database); returns its error */
	ErrorData  *(*run) (Transport *t, const Step *step, bool audit, bool *ran);
	/* writes one audit row (a connection to the extension's database) */
	void		(*write_audit) (Transport *t, const AuditEntry *entry);
	/* lets the connection go, once it has left its database */
	void		(*close) (Transport *t);
} TransportMethods;

struct Transport
{
	const TransportMethods *methods;
	const char *database;		/* NULL: the extension's database */
};

/* in transport_bgworker.c */
extern const TransportMethods bgworker_transport;

/* in executor.c */
extern Oid	executor_database_oid(const char *database);
extern Executor *executor_begin(const char *operation, const char *tenant, bool dry_run);
extern bool executor_run_step(Executor *ex, const Step *step);
extern bool executor_can_connect(const char *database);
extern bool *executor_dry_run(Executor *ex, List *plan, bool **unreached);
extern void executor_start_databases(Executor *ex, List *databases);
extern void executor_end(Executor *ex);

/* A tenant as the registry records it. */
typedef struct Tenant
{
	char	   *name;
	char	   *state;
	bool		iam_auth;
	bool		deletion_protection;
	int			connection_limit;
	bool		login_before_suspend;	/* what resume() restores */
	char	   *allowed_ips;		/* cidr[] as text, or NULL */
	int			ndatabases;		/* active databases */
	const char **short_names;
	const char **database_names;
} Tenant;

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

/* in onboard.c */
extern void require_iam_role(void);
extern const char *allowed_ips_text(FunctionCallInfo fcinfo, int argno);
extern int	ensure_tenant(TenantSpec *spec, char **password);

/* in plan_lifecycle.c */
extern Step *plan_registry_update(const char *name, const char *tenant,
								  const char *condition, const char *assignments);
extern Step *plan_set_password(const char *tenant, const char *verifier);
extern Step *plan_connection_limit(const char *tenant, int limit);
extern Step *plan_login(const char *tenant, bool login);
extern List *plan_suspend(List *plan, const char *tenant);
extern List *plan_resume(List *plan, const char *tenant, bool login_before);
extern List *plan_remove_database(List *plan, const char *tenant, const char *datname);
extern List *plan_offboard(const Tenant *t, bool keep_databases);
extern const char *custodian_problem_sql;

/* in repair.c */
extern List *plan_repair(const Tenant *t, const char *verifier, bool deep);
extern List *plan_orphans(void);

/* in operation.c */
extern void refuse_in_transaction_block(const char *function);
extern void lock_tenant(const char *tenant);
extern void lock_database_names(int n, const char **names);
extern char *tenant_argument(FunctionCallInfo fcinfo, int argno);
extern Tenant *load_tenant(const char *name);
extern Tenant *open_tenant(FunctionCallInfo fcinfo, const char *function);
extern Tenant *begin_tenant_operation(FunctionCallInfo fcinfo, const char *function);
extern void refuse_unmarked(const Tenant *t, bool databases_too);
extern int	run_plan(const char *operation, const char *tenant, List *plan,
					 Step *watched, bool *watched_ran);
extern void refuse_null(const char *argument);
extern bool audit_says(const char *tenant, const char *object_name,
					   const char *step);

/* === AWS: SigV4, HTTP, credentials, IAM auth tokens === */
/* (section owned by the AWS modules: aws_http.c, aws_credentials.c, iam_token.c) */

/* AWS credentials as found; every string is wiped when freed. */
typedef struct AwsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL: long-term credentials */
	const char *source;			/* "settings", "environment", ... */
} AwsCredentials;

struct SigV4Allocator;			/* in sigv4.h */

/* in aws_http.c */

/* the longest answer a request accepts unless it says otherwise */
#define AWS_HTTP_MAX_RESPONSE (1024 * 1024)

/* AwsHttpRequest.flags */
#define AWS_HTTP_NO_PROXY		0x01	/* ignore proxies set in the
										 * environment */
#define AWS_HTTP_UNREACHABLE_OK	0x02	/* nothing answering is status 0, not
										 * an error */

typedef struct AwsHttpRequest
{
	const char *what;			/* in messages: "the instance metadata
								 * service", "IAM CreateRole" */
	const char *method;			/* "GET", "PUT", "POST", ... */
	const char *url;			/* http:// or https:// */
	const char *const *headers; /* "Name: value" lines, already signed */
	int			nheaders;
	const char *body;			/* NULL: none (GET never has one) */
	size_t		body_len;
	int			connect_timeout_ms; /* from a setting, > 0 */
	int			timeout_ms;		/* the whole request, from a setting, > 0 */
	size_t		max_response;	/* 0: AWS_HTTP_MAX_RESPONSE */
	int			flags;
} AwsHttpRequest;

typedef struct AwsHttpResponse
{
	long		status;			/* HTTP status; 0: nothing answered */
	char	   *body;			/* NUL-terminated; may hold secrets */
	size_t		body_len;
} AwsHttpResponse;

extern void aws_http_request(const AwsHttpRequest *req, AwsHttpResponse *resp);
extern void aws_http_response_free(AwsHttpResponse *resp);

/* in aws_credentials.c */
extern char *tenancy_aws_signing_time;
extern void AwsInit(void);
extern AwsCredentials *aws_get_credentials(void);
extern void aws_free_credentials(AwsCredentials *creds);
extern const char *aws_get_region(void);
extern void aws_signing_timestamp(char *buf);
extern const struct SigV4Allocator *aws_sigv4_allocator(void);

#endif							/* AURORA_TENANCY_H */
