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

/* Where SQL run by the extension looks up names: nowhere a user can write. */
#define SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* classid of the per-tenant advisory lock: pg_advisory_lock(5522766, hashtext(tenant)) */
#define TENANT_LOCK_CLASS 5522766
/* classid of the lock on a database name being claimed: (5522767, hashtext(name)) */
#define DATABASE_NAME_LOCK_CLASS 5522767

/* classid of the audit chain's lock: pg_advisory_xact_lock(5522768, 0) */
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
extern Oid	database_oid_now(const char *database);
extern bool session_can_connect(const char *database);

/* in audit.c */
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
