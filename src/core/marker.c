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

#include "access/transam.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/seclabel.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define MARKER_PREFIX "tenant="

/*
 * Set in C by the executor around a step's statements, and nowhere else:
 * the one exemption from the refusals of markers, guard labels and the
 * object guard (no setting a session could set).
 */
bool		step_running = false;

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
	if (!step_running && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant markers are set only by aurora_tenancy"),
				 errhint("Use the tenancy functions to create and change tenants.")));
	/* a tenant is never a superuser or a role PostgreSQL defines: a marker
	 * would lock such a role into the tenant's databases */
	if (object->classId == AuthIdRelationId && seclabel != NULL &&
		(object->objectId < FirstNormalObjectId || superuser_arg(object->objectId)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" cannot be a tenant's",
						GetUserNameFromId(object->objectId, false)),
				 errdetail("It is a superuser or a role PostgreSQL defines.")));
	/* a role is the tenant of its own name, or none: a marker naming
	 * another would lock that role into the tenant's databases */
	if (object->classId == AuthIdRelationId && seclabel != NULL &&
		strcmp(seclabel + strlen(MARKER_PREFIX), GetUserNameFromId(object->objectId, false)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a role's tenant marker names the role itself"),
				 errdetail("Role \"%s\" cannot carry the marker \"%s\".",
						   GetUserNameFromId(object->objectId, false), seclabel)));
	/* while it has a guard label, the login guard needs the marker */
	if (!step_running && object->classId == AuthIdRelationId && seclabel == NULL &&
		GetSecurityLabel(object, GUARD_PROVIDER) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the tenant marker of role \"%s\" is removed only by aurora_tenancy",
						GetUserNameFromId(object->objectId, false)),
				 errdetail("The role has a guard label (allowed IPs, deletion protection) that the login guard enforces through the marker."),
				 errhint("Use tenancy.offboard(), or tenancy.repair() for a role the registry does not know.")));
}

void
MarkerInit(void)
{
	register_label_provider(MARKER_PROVIDER, check_marker_relabel);
}

/*
 * The tenant whose marker the role or database carries here; NULL: none.
 * (A role renamed by hand keeps its tenant's marker, and its guard.)
 */
char *
tenant_of_object(Oid classid, Oid objid)
{
	ObjectAddress object = {classid, objid, 0};
	char	   *label = GetSecurityLabel(&object, MARKER_PROVIDER);

	return label && strncmp(label, MARKER_PREFIX, strlen(MARKER_PREFIX)) == 0 ?
		label + strlen(MARKER_PREFIX) : NULL;
}

char *
tenant_marker(const char *tenant)
{
	return psprintf(MARKER_PREFIX "%s", tenant);
}

/*
 * Markers in SQL, for the cluster the operation acts on.  On this cluster a
 * marker is the security label above.  A target cluster has no label
 * provider (Aurora loads none), so there a marker is a comment on the role or
 * database: "aurora_tenancy tenant=<tenant> hmac=<hex>", the HMAC-SHA-256,
 * under a key only the control database holds (tenancy.marker_key), of the
 * kind of object, its name, the tenant and a nonce the registry keeps for
 * the object while it is registered.  A tenant cannot comment on its
 * role (that takes CREATEROLE) or on its databases (it owns none); anyone
 * who can cannot forge the HMAC, nor move a marker to another name; and a
 * comment survives pg_dump and pg_dumpall of the target.
 */
#define REMOTE_MARKER_PREFIX "aurora_tenancy tenant="
#define REMOTE_MARKER_HMAC " hmac="

static const char *
shared_catalog(bool role)
{
	return role ? "pg_authid" : "pg_database";
}

/* SQL: the label of a provider on the role or database with OID oid_expr, or NULL. */
char *
shared_label_sql(const char *provider, bool role, const char *oid_expr)
{
	return psprintf("(SELECT l.label FROM pg_catalog.pg_shseclabel l WHERE l.objoid = %s"
					" AND l.classoid = 'pg_catalog.%s'::pg_catalog.regclass"
					" AND l.provider = '%s')",
					oid_expr, shared_catalog(role), provider);
}

/* SQL: the marker text of the role or database with OID oid_expr, or NULL. */
char *
marker_text_sql(bool role, const char *oid_expr)
{
	if (current_cluster)
		return psprintf("pg_catalog.shobj_description(%s, '%s')", oid_expr, shared_catalog(role));
	return shared_label_sql(MARKER_PROVIDER, role, oid_expr);
}

/* SQL: does the role or database with OID oid_expr carry a marker at all? */
char *
marker_present_sql(bool role, const char *oid_expr)
{
	if (current_cluster)
		return psprintf("COALESCE(pg_catalog.starts_with(%s, '" REMOTE_MARKER_PREFIX "'), false)",
						marker_text_sql(role, oid_expr));
	return psprintf("%s IS NOT NULL", marker_text_sql(role, oid_expr));
}

/*
 * What markers need from the extension's catalog, read once per transaction:
 * the keys (the oldest signs, any verifies) and the nonces of the objects
 * marked (see marker_nonce()).
 */
typedef struct MarkerNonce
{
	bool		role;
	char	   *name;
	char	   *tenant;
	char	   *nonce;
} MarkerNonce;

static LocalTransactionId cached_in = InvalidLocalTransactionId;
static List *cached_keys = NIL;
static List *cached_nonces = NIL;	/* MarkerNonce * */

static void
forget_other_transactions(void)
{
	if (cached_in == MyProc->lxid)
		return;
	cached_in = MyProc->lxid;
	cached_keys = NIL;
	cached_nonces = NIL;
}

/* The first value of a catalog query, copied out of SPI; NULL if none. */
static char *
catalog_text(const char *sql, int nargs, const char *const *args)
{
	char	   *value;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_execute_text(sql, nargs, args);
	value = catalog_value();
	if (value)
		value = MemoryContextStrdup(TopTransactionContext, value);
	SPI_finish();
	return value;
}

static List *
marker_keys(void)
{
	forget_other_transactions();
	if (cached_keys == NIL)
	{
		char	   *keys = catalog_text("SELECT pg_catalog.string_agg(pg_catalog.encode(key, 'hex'), ','"
										" ORDER BY created_at, key) FROM tenancy.marker_key", 0, NULL);
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		if (keys == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tenancy.marker_key is empty"),
					 errdetail("Markers on target clusters are signed with it; without it no remote tenant can be recognised.")));
		for (char *k = strtok(keys, ","); k; k = strtok(NULL, ","))
			cached_keys = lappend(cached_keys, k);
		MemoryContextSwitchTo(old);
	}
	return cached_keys;
}

/*
 * The nonce a remote marker of this object signs: random, made when the
 * tenant (for its role) or the database is registered, and forgotten when
 * it leaves the registry.  So a marker copied from an object that is gone
 * (offboarded, removed) marks nothing that takes its name later.  create:
 * make one for an object not registered yet (the registering step records
 * it, planned in this transaction); else NULL for one not registered.
 */
char *
marker_nonce(bool role, const char *name, const char *tenant, bool create)
{
	const char *args[2] = {tenant, name};
	ListCell   *lc;
	MarkerNonce *n;
	char	   *nonce;
	uint8		bytes[16];
	char		hex[33];
	MemoryContext old;

	forget_other_transactions();
	foreach(lc, cached_nonces)
	{
		n = lfirst(lc);
		if (n->role == role && strcmp(n->name, name) == 0 && strcmp(n->tenant, tenant) == 0)
			return n->nonce;
	}
	nonce = role ?
		catalog_text("SELECT marker_nonce FROM tenancy.registry WHERE name = $1", 1, args) :
		catalog_text("SELECT marker_nonce FROM tenancy.tenant_databases"
					 " WHERE tenant = $1 AND database_name = $2 AND state = 'active'", 2, args);
	if (nonce == NULL && !create)
		return NULL;
	if (nonce == NULL)
	{
		if (!pg_strong_random(bytes, sizeof(bytes)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a marker nonce")));
		hex[hex_encode((char *) bytes, sizeof(bytes), hex)] = '\0';
		nonce = hex;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	n = palloc(sizeof(MarkerNonce));
	n->role = role;
	n->name = pstrdup(name);
	n->tenant = pstrdup(tenant);
	n->nonce = pstrdup(nonce);
	cached_nonces = lappend(cached_nonces, n);
	MemoryContextSwitchTo(old);
	return n->nonce;
}

/* HMAC-SHA-256 under a key of tenancy.marker_key (hex) of len bytes, as hex. */
static char *
hmac_hex(const char *hexkey, const char *message, size_t len)
{
	uint8		key[32];
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (hex_decode(hexkey, strlen(hexkey), (char *) key) != sizeof(key))
		elog(ERROR, "tenancy.marker_key holds a key of the wrong length");
	if (ctx == NULL || pg_hmac_init(ctx, key, sizeof(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) message, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not compute a tenant marker");
	pg_hmac_free(ctx);
	hex[hex_encode((char *) mac, sizeof(mac), hex)] = '\0';
	return hex;
}

static char *
remote_marker(const char *hexkey, bool role, const char *name, const char *tenant,
			  const char *nonce)
{
	const char *kind = role ? "role" : "database";
	char	   *message = psprintf("%s%c%s%c%s%c%s", kind, 0, name, 0, tenant, 0, nonce);
	size_t		len = strlen(kind) + strlen(name) + strlen(tenant) + strlen(nonce) + 3;

	return psprintf(REMOTE_MARKER_PREFIX "%s" REMOTE_MARKER_HMAC "%s", tenant,
					hmac_hex(hexkey, message, len));
}

static char *
iam_marker_with(const char *hexkey, const char *kind, const char *name, const char *tenant,
				const char *cluster)
{
	char	   *message = psprintf("iam_%s%c%s%c%s%c%s", kind, 0, name, 0, tenant, 0, cluster);
	size_t		len = strlen(kind) + 4 + strlen(name) + strlen(tenant) + strlen(cluster) + 3;

	return hmac_hex(hexkey, message, len);
}

/*
 * The values the tag tenancy:marker of an IAM entity of ours may have: the
 * HMAC under each key of tenancy.marker_key of its kind ("user", "role"),
 * name, tenant and cluster resource id; the first, under the signing key,
 * is the one to write.  Tags are readable by anyone who may list them;
 * only this control database can make this one.
 */
List *
iam_markers(const char *kind, const char *name, const char *tenant, const char *cluster)
{
	List	   *markers = NIL;
	ListCell   *lc;

	foreach(lc, marker_keys())
		markers = lappend(markers, iam_marker_with(lfirst(lc), kind, name, tenant, cluster));
	return markers;
}

/* The marker the role or database of this name carries for the tenant. */
char *
marker_for(bool role, const char *name, const char *tenant)
{
	if (current_cluster)
		return remote_marker(linitial(marker_keys()), role, name, tenant,
							 marker_nonce(role, name, tenant, true));
	return tenant_marker(tenant);
}

/*
 * The tenant a marker text names, if it is valid on this object; else NULL.
 * On a target: signed with one of the keys, for this object's name and the
 * nonce the registry holds for it.
 */
char *
marker_owner(bool role, const char *name, const char *text)
{
	const char *end;
	char	   *tenant;
	char	   *nonce;
	ListCell   *lc;

	if (text == NULL)
		return NULL;
	if (current_cluster == NULL)
		return strncmp(text, MARKER_PREFIX, strlen(MARKER_PREFIX)) == 0 ?
			pstrdup(text + strlen(MARKER_PREFIX)) : NULL;
	if (strncmp(text, REMOTE_MARKER_PREFIX, strlen(REMOTE_MARKER_PREFIX)) != 0 ||
		(end = strstr(text, REMOTE_MARKER_HMAC)) == NULL)
		return NULL;
	tenant = pnstrdup(text + strlen(REMOTE_MARKER_PREFIX), end - text - strlen(REMOTE_MARKER_PREFIX));
	if ((nonce = marker_nonce(role, name, tenant, false)) == NULL)
		return NULL;
	foreach(lc, marker_keys())
		if (strcmp(text, remote_marker(lfirst(lc), role, name, tenant, nonce)) == 0)
			return tenant;
	return NULL;
}

/* The statement that marks an object (quoted name) for the tenant, or unmarks it (NULL). */
char *
marker_statement(bool role, const char *name, const char *tenant)
{
	const char *what = role ? "ROLE" : "DATABASE";
	const char *value = tenant ? quote_literal_cstr(marker_for(role, name, tenant)) : "NULL";

	if (current_cluster)
		return psprintf("COMMENT ON %s %s IS %s", what, quote_identifier(name), value);
	return psprintf("SECURITY LABEL FOR " MARKER_PROVIDER " ON %s %s IS %s",
					what, quote_identifier(name), value);
}
