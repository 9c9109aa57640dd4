/*
 * hooks/hooks.h
 *		The guards in the server, installed when the library is in
 *		shared_preload_libraries: the login guard (ClientAuthentication_hook)
 *		and the object guard (ProcessUtility_hook), with the worker that
 *		records the object guard's refusals.  What they know of each tenant
 *		is in the shared catalogs: its markers and its guard label
 *		(core/guard_label.c).
 */
#ifndef AURORA_TENANCY_HOOKS_H
#define AURORA_TENANCY_HOOKS_H

#include "core/core.h"

/* in login_guard.c */
extern void LoginGuardInit(void);

/* in object_guard.c */
extern void ObjectGuardInit(void);

/* in refusal_audit.c */
extern void record_refusal(const AuditContext *ctx, const AuditEntry *entry);

#endif							/* AURORA_TENANCY_HOOKS_H */
