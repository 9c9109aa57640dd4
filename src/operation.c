/*
 * operation.c
 *		What every tenant operation does before its first step: refuse to run
 *		inside a transaction block, and take the tenant's lock.
 */
#include "aurora_tenancy.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "miscadmin.h"

/*
 * Like CREATE DATABASE, an operation cannot run inside a transaction block:
 * its steps commit one by one in the executor and cannot be rolled back
 * with the caller's transaction.
 */
void
refuse_in_transaction_block(const char *function)
{
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", function),
				 errdetail("Its steps commit one by one and cannot be rolled back with the surrounding transaction."),
				 errhint("Call it on its own, outside BEGIN ... COMMIT. In migration tools, mark the script non-transactional: Flyway executeInTransaction=false, Liquibase runInTransaction:false.")));
}

/*
 * One operation per tenant at a time: a transaction-level advisory lock on
 * (TENANT_LOCK_CLASS, hashtext(tenant)) in this database, the same lock as
 * pg_advisory_xact_lock(TENANT_LOCK_CLASS, hashtext(tenant)), so it shows in
 * pg_locks and a DBA can take it by hand.  Different tenants never wait for
 * each other (but for a hash collision, which only serialises them).
 */
void
lock_tenant(const char *tenant)
{
	LOCKTAG		tag;
	uint32		hash = DatumGetUInt32(hash_any((const unsigned char *) tenant, strlen(tenant)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, TENANT_LOCK_CLASS, hash, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}
