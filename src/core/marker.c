/*
 * marker.c
 *		The tenant marker: a security label of this extension's own provider on
 *		each tenant role and database.
 *
 * Security labels on roles and databases live in the shared catalog
 * pg_shseclabel, so code in any database (and even during authentication)
 * can tell a tenant's objects from others.  Only the executor (or a
 * superuser, e.g. restoring a dump) may set them, so that nobody can make a
 * foreign role look like a tenant's and have it adopted.
 */
#include "core/core.h"

#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/seclabel.h"
#include "miscadmin.h"
#include "utils/acl.h"

#define MARKER_PREFIX "tenant="

bool		marker_writes_allowed = false;

static void
check_marker_relabel(const ObjectAddress *object, const char *seclabel)
{
	if (object->classId != AuthIdRelationId && object->classId != DatabaseRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("security label provider \"%s\" labels only roles and databases",
						MARKER_PROVIDER)));
	if (seclabel != NULL &&
		(strncmp(seclabel, MARKER_PREFIX, strlen(MARKER_PREFIX)) != 0 ||
		 seclabel[strlen(MARKER_PREFIX)] == '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant marker \"%s\"", seclabel),
				 errdetail("A tenant marker has the form \"%s<tenant>\".", MARKER_PREFIX)));
	if (!marker_writes_allowed && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant markers are set only by aurora_tenancy"),
				 errhint("Use the tenancy functions to create and change tenants.")));
}

void
MarkerInit(void)
{
	register_label_provider(MARKER_PROVIDER, check_marker_relabel);
}

char *
tenant_marker(const char *tenant)
{
	return psprintf(MARKER_PREFIX "%s", tenant);
}

/* The tenant an object is marked for, or NULL when it carries no marker. */
static char *
marked_tenant(Oid classId, Oid objectId)
{
	ObjectAddress object;
	char	   *label;

	ObjectAddressSet(object, classId, objectId);
	label = GetSecurityLabel(&object, MARKER_PROVIDER);
	if (label == NULL || strncmp(label, MARKER_PREFIX, strlen(MARKER_PREFIX)) != 0)
		return NULL;
	return label + strlen(MARKER_PREFIX);
}

/* The tenant a role is marked for; NULL when unmarked or missing. */
char *
role_tenant(const char *rolname)
{
	Oid			roleid = get_role_oid(rolname, true);

	return OidIsValid(roleid) ? marked_tenant(AuthIdRelationId, roleid) : NULL;
}

/* The tenant a database is marked for; NULL when unmarked or missing. */
char *
database_tenant(const char *datname)
{
	Oid			dbid = get_database_oid(datname, true);

	return OidIsValid(dbid) ? marked_tenant(DatabaseRelationId, dbid) : NULL;
}
