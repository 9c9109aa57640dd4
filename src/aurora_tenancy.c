/*
 * aurora_tenancy.c
 *		Module entry point: _PG_init only hands out work to the modules.
 */
#include "core/core.h"
#include "aws/aws.h"
#include "hooks/hooks.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* In shared_preload_libraries: every backend knows the marker provider. */
bool		loaded_at_startup = false;

void
_PG_init(void)
{
	loaded_at_startup = process_shared_preload_libraries_in_progress;
	GucInit();
	MarkerInit();
	GuardLabelInit();
	AuditChainInit();
	AwsInit();
	AwsQueryInit();
	ClusterInit();
	/* the guards act for the whole server, or not at all */
	if (loaded_at_startup)
	{
		LoginGuardInit();
		ObjectGuardInit();
	}
	MarkGUCPrefixReserved("tenancy");
}
