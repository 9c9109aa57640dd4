/*
 * login_guard.c
 *		The login guard: a tenant role logs in only to its own databases, and
 *		only from an address inside its allowed IPs, whatever the
 *		authentication method.
 *
 * It runs in ClientAuthentication_hook, after the method has decided and
 * before the client is told: no database is chosen yet, so it reads only
 * shared catalogs (the markers and the guard label in pg_shseclabel,
 * pg_authid and pg_database through the system cache or with the indexes
 * only once they are usable, as PostgreSQL's own authentication does).  A
 * role that is no tenant's costs one index probe of pg_shseclabel.
 *
 * Only a login that authenticated is refused here: one that did not fails
 * as PostgreSQL fails it, so the guard tells nothing (not even that the role
 * is a tenant's) to a client that does not know the password, and such
 * clients cannot inflate the counts.  Refusals are counted per tenant in
 * shared memory (tenancy.login_refusals) and logged with the address.
 */
#include "hooks/hooks.h"

#include <sys/socket.h>
#include <netdb.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "common/ip.h"
#include "funcapi.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tenancy_login_refusals);

/* tenants counted at most; the refusals of more are logged, not counted */
#define COUNTED_TENANTS 4096
#define ADDRESS_LENGTH 46		/* INET6_ADDRSTRLEN */
#define REFUSALS_NAME "aurora_tenancy login refusals"

typedef struct RefusalCount
{
	char		tenant[NAMEDATALEN];	/* key */
	int64		refused_address;
	int64		refused_database;
	TimestampTz last_refused_at;
	char		last_client_addr[ADDRESS_LENGTH];
} RefusalCount;

static HTAB *refusal_counts = NULL;
static LWLock *refusal_lock = NULL;

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
request_refusal_counts(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(hash_estimate_size(COUNTED_TENANTS, sizeof(RefusalCount)));
	RequestNamedLWLockTranche(REFUSALS_NAME, 1);
}

static void
attach_refusal_counts(void)
{
	HASHCTL		ctl = {0};

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(RefusalCount);
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	refusal_counts = ShmemInitHash(REFUSALS_NAME, COUNTED_TENANTS, COUNTED_TENANTS, &ctl,
								   HASH_ELEM | HASH_STRINGS | HASH_FIXED_SIZE);
	refusal_lock = &(GetNamedLWLockTranche(REFUSALS_NAME))->lock;
	LWLockRelease(AddinShmemInitLock);
}

static void
count_refusal(const char *tenant, bool address, const char *client)
{
	char		key[NAMEDATALEN] = {0};
	RefusalCount *entry;
	bool		found;

	strlcpy(key, tenant, sizeof(key));
	LWLockAcquire(refusal_lock, LW_EXCLUSIVE);
	entry = hash_search(refusal_counts, key, HASH_ENTER_NULL, &found);
	if (entry)
	{
		if (!found)
			entry->refused_address = entry->refused_database = 0;
		if (address)
			entry->refused_address++;
		else
			entry->refused_database++;
		entry->last_refused_at = GetCurrentTimestamp();
		strlcpy(entry->last_client_addr, client, sizeof(entry->last_client_addr));
	}
	LWLockRelease(refusal_lock);
}

/* The database of this name, read as InitPostgres() reads it; InvalidOid if none. */
static Oid
database_oid_at_login(const char *name)
{
	ScanKeyData key;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			oid = InvalidOid;

	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel, DatabaseNameIndexId, criticalSharedRelcachesBuilt,
							  NULL, 1, &key);
	if (HeapTupleIsValid(tuple = systable_getnext(scan)))
		oid = ((Form_pg_database) GETSTRUCT(tuple))->oid;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return oid;
}

/* The client's address as text: an IPv4-mapped IPv6 address as IPv4, no zone. */
static void
client_address(const Port *port, char *buf, size_t len)
{
	char	   *zone;

	if (port->raddr.addr.ss_family == AF_UNIX)
	{
		strlcpy(buf, "[local]", len);
		return;
	}
	if (pg_getnameinfo_all(&port->raddr.addr, port->raddr.salen, buf, len,
						   NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(buf, "[unknown]", len);
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
	if ((zone = strchr(buf, '%')) != NULL)
		*zone = '\0';
}

static bool
address_allowed(const char *address, const List *allowed)
{
	Datum		client = DirectFunctionCall1(inet_in, CStringGetDatum(address));
	ListCell   *lc;

	foreach(lc, allowed)
	{
		Datum		cidr = DirectFunctionCall1(cidr_in, CStringGetDatum(lfirst(lc)));

		if (DatumGetBool(DirectFunctionCall2(network_supeq, cidr, client)))
			return true;
	}
	return false;
}

static void
login_guard(Port *port, int status)
{
	Oid			role;
	const char *tenant;
	TenantGuard guard;
	char		client[NI_MAXHOST];
	bool		local;

	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);
	if (status != STATUS_OK)
		return;
	role = get_role_oid(port->user_name, true);
	if (!OidIsValid(role) || (tenant = tenant_of_object(AuthIdRelationId, role)) == NULL)
		return;
	/* no tenant is a superuser: a marker on one (a catalog edit) locks nobody out */
	if (superuser_arg(role))
		return;

	client_address(port, client, sizeof(client));
	local = port->raddr.addr.ss_family == AF_UNIX;
	guard_of_role(role, &guard);
	if (guard.allowed_ips != NIL &&
		(local ? !tenancy_allow_local_logins : !address_allowed(client, guard.allowed_ips)))
	{
		count_refusal(tenant, true, client);
		if (local)
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("tenant \"%s\" may not log in over a Unix-domain socket", tenant),
					 errdetail("A local login is outside the tenant's allowed IPs.")));
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("tenant \"%s\" may not log in from address %s", tenant, client)));
	}

	/* a physical replication connection names no database */
	if (am_walsender && !am_db_walsender)
		return;
	{
		Oid			database = database_oid_at_login(port->database_name);
		const char *owner = OidIsValid(database) ? tenant_of_object(DatabaseRelationId, database) : NULL;

		if (owner == NULL || strcmp(owner, tenant) != 0)
		{
			count_refusal(tenant, false, client);
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("tenant \"%s\" may log in only to its own databases", tenant),
					 errdetail_log("The login came from %s, to database \"%s\".",
								   client, port->database_name)));
		}
	}
}

void
LoginGuardInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_refusal_counts;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = attach_refusal_counts;
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = login_guard;
}

/* The counts since the server started; none when the guard is not installed. */
Datum
tenancy_login_refusals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	RefusalCount *entry;

	InitMaterializedSRF(fcinfo, 0);
	if (refusal_counts == NULL)
		return (Datum) 0;
	LWLockAcquire(refusal_lock, LW_SHARED);
	hash_seq_init(&status, refusal_counts);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		values[0] = CStringGetTextDatum(entry->tenant);
		values[1] = Int64GetDatum(entry->refused_address);
		values[2] = Int64GetDatum(entry->refused_database);
		values[3] = TimestampTzGetDatum(entry->last_refused_at);
		values[4] = CStringGetTextDatum(entry->last_client_addr);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(refusal_lock);
	return (Datum) 0;
}
