/*
 * core/vocabulary.h
 *		The words of the audit log's interface: step names, phases, tenant
 *		states.  They are stored in tenancy.audit_log and tenancy.registry, and
 *		DBAs' queries and tools read them, so they change only with a new
 *		version of the extension (README.md lists them).
 */
#ifndef AURORA_TENANCY_VOCABULARY_H
#define AURORA_TENANCY_VOCABULARY_H

/* tenancy.registry.state */
#define STATE_ONBOARDING		"onboarding"
#define STATE_ACTIVE			"active"
#define STATE_SUSPENDED			"suspended"
#define STATE_OFFBOARDING		"offboarding"

/* tenancy.audit_log.phase */
#define PHASE_INTENT			"intent"	/* committed before a step that cannot share its transaction */
#define PHASE_DONE				"done"
#define PHASE_FAILED			"failed"
#define PHASE_UNKNOWN			"unknown"	/* an interrupted step whose outcome reality cannot tell */
#define PHASE_DDL				"ddl"	/* DDL recorded by the event trigger */
#define PHASE_REFUSED			"refused"	/* a statement the object guard refused (1.4) */

/* tenancy.audit_log.step: onboarding */
#define STEP_REGISTER_TENANT	"register_tenant"
#define STEP_SET_ALLOWED_IPS	"set_allowed_ips"
#define STEP_CREATE_ROLE		"create_role"
#define STEP_SET_PASSWORD		"set_password"
#define STEP_CREATE_DATABASE	"create_database"
#define STEP_DATABASE_PRIVILEGES "database_privileges"
#define STEP_SCHEMA_PRIVILEGES	"schema_privileges"
#define STEP_GRANT_IAM			"grant_iam"
#define STEP_ACTIVATE_TENANT	"activate_tenant"

/* the rest of a tenant's life */
#define STEP_REVOKE_IAM			"revoke_iam"
#define STEP_SET_IAM_AUTH		"set_iam_auth"
#define STEP_SET_DELETION_PROTECTION "set_deletion_protection"
#define STEP_SET_CONNECTION_LIMIT "set_connection_limit"
#define STEP_RECORD_CONNECTION_LIMIT "record_connection_limit"
#define STEP_SUSPEND_TENANT		"suspend_tenant"
#define STEP_RESUME_TENANT		"resume_tenant"
#define STEP_ENABLE_LOGIN		"enable_login"
#define STEP_DISABLE_LOGIN		"disable_login"
#define STEP_TERMINATE_SESSIONS	"terminate_sessions"
#define STEP_DROP_DATABASE		"drop_database"
#define STEP_UNREGISTER_DATABASE "unregister_database"

/* offboarding */
#define STEP_BEGIN_OFFBOARDING	"begin_offboarding"
#define STEP_BORROW_PRIVILEGES	"borrow_privileges"
#define STEP_CREATE_CUSTODIAN	"create_custodian"
#define STEP_BORROW_CUSTODIAN	"borrow_custodian"
#define STEP_RELEASE_OBJECTS	"release_objects"
#define STEP_RETAIN_DATABASE	"retain_database"
#define STEP_RECORD_RETAINED	"record_retained"
#define STEP_DROP_ROLE			"drop_role"
#define STEP_REMOVE_TENANT		"remove_tenant"

/* the object guard: operation and step of a refused statement's row */
#define OPERATION_OBJECT_GUARD	"object_guard"
#define STEP_REFUSE_STATEMENT	"refuse_statement"
#define STEP_SET_GUARD_LABEL	"set_guard_label"

/* repair */
#define STEP_ROLE_ATTRIBUTES	"role_attributes"
#define STEP_REVOKE_MEMBER		"revoke_member"
#define STEP_REVOKE_MEMBERSHIP	"revoke_membership"
#define STEP_REVOKE_GRANTEE		"revoke_grantee"
#define STEP_UNMARK_ROLE		"unmark_role"
#define STEP_UNMARK_DATABASE	"unmark_database"
#define STEP_DROP_UNFINISHED	"drop_unfinished"
#define STEP_RESOLVE_INTENT		"resolve_intent"
#define STEP_REPORT				"report"

/* the IAM side (an AWS API call each; object_type iam_user, iam_role, iam_access_key) */
#define STEP_IAM_CREATE_USER	"iam_create_user"
#define STEP_IAM_TAG_USER		"iam_tag_user"
#define STEP_IAM_CREATE_ROLE	"iam_create_role"
#define STEP_IAM_TAG_ROLE		"iam_tag_role"
#define STEP_IAM_TRUST_POLICY	"iam_trust_policy"
#define STEP_IAM_PUT_CONNECT	"iam_put_connect_policy"
#define STEP_IAM_DELETE_CONNECT	"iam_delete_connect_policy"
#define STEP_IAM_PUT_ASSUME		"iam_put_assume_policy"
#define STEP_IAM_DELETE_POLICY	"iam_delete_inline_policy"
#define STEP_IAM_DETACH_POLICY	"iam_detach_policy"
#define STEP_IAM_CREATE_KEY		"iam_create_access_key"
#define STEP_IAM_UPDATE_KEY		"iam_update_access_key"
#define STEP_IAM_DELETE_KEY		"iam_delete_access_key"
#define STEP_IAM_DELETE_ROLE	"iam_delete_role"
#define STEP_IAM_DELETE_USER	"iam_delete_user"	/* check() only: for a person to fix */

#endif							/* AURORA_TENANCY_VOCABULARY_H */
