/*
 * aurora_tenancy.c
 *		Module entry point: _PG_init only hands out work to the modules.
 */
#include "aurora_tenancy.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	GucInit();
	MarkerInit();
	AuditChainInit();
	AwsInit();
	MarkGUCPrefixReserved("tenancy");
}
