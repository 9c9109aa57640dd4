/*
 * hooks/hooks.h
 *		The guards in the server, installed when the library is in
 *		shared_preload_libraries: the login guard (ClientAuthentication_hook,
 *		login_guard.c) and the object guard (ProcessUtility_hook,
 *		object_guard.c; its rules for roles in role_guard.c), with the worker
 *		that records the object guard's refusals (refusal_audit.c).  What
 *		they know of each tenant is in the shared catalogs: its markers and
 *		its guard label (core/guard_label.c).
 */
#ifndef AURORA_TENANCY_HOOKS_H
#define AURORA_TENANCY_HOOKS_H

#include "core/core.h"

/* in login_guard.c */
extern void LoginGuardInit(void);

/* A statement the object guard looks at, and the query string it came in. */
typedef struct Guarded
{
	const struct PlannedStmt *pstmt;
	const char *query;
} Guarded;

struct RoleSpec;
struct AlterRoleStmt;
struct GrantRoleStmt;
struct CreateRoleStmt;

/* in object_guard.c */
extern void ObjectGuardInit(void);
extern void refuse_statement(const Guarded *g, const char *tenant, const char *object_type,
							 const char *object_name, int sqlerrcode, const char *message,
							 const char *detail, const char *hint) pg_attribute_noreturn();
extern const char *role_tenant(Oid roleid);
extern Oid	rolespec_oid(const struct RoleSpec *spec);

/* in role_guard.c */
extern List *tenants_within(Oid role);
extern void guard_alter_role(const Guarded *g, const struct AlterRoleStmt *stmt);
extern void guard_grant_role(const Guarded *g, const struct GrantRoleStmt *stmt);
extern void guard_create_role(const Guarded *g, const struct CreateRoleStmt *stmt);

/* in refusal_audit.c */
extern void record_refusal(const AuditContext *ctx, const AuditEntry *entry);

#endif							/* AURORA_TENANCY_HOOKS_H */
