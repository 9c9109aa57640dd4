/*
 * iam.c
 *		The IAM side of an operation on a tenant whose cluster has
 *		iam_provisioning: what the tenant's IAM entities should be, read
 *		from IAM what they are, refuse what cannot be done before the first
 *		step, and plan the calls (plan/plan_iam.c).
 */
#include "api/api.h"

#include "aws/iam_policy.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tenancy_rotate_access_key);

/* Does the operation's cluster provision IAM entities for its tenants? */
bool
cluster_has_iam(void)
{
	if (current_cluster == NULL || current_cluster->iam_provisioning == NULL)
		return false;
	if (!catalog_knows_iam())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cluster \"%s\" has iam_provisioning, which needs aurora_tenancy 1.3",
						current_cluster->name),
				 errhint("ALTER EXTENSION aurora_tenancy UPDATE.")));
	return true;
}

/* The id in the tag tenancy:installation: the oldest (a restore adds one). */
static const char *
installation_id(void)
{
	char	   *id;

	catalog_execute_text("SELECT id::pg_catalog.text FROM tenancy.installation"
						 " ORDER BY created_at, id LIMIT 1", 0, NULL);
	id = catalog_value();
	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenancy.installation is empty"),
				 errdetail("Every IAM entity is tagged with this control database's id.")));
	return id;
}

/*
 * The cluster's resource id and account: from its options, else as
 * recorded, else asked of RDS (DescribeDBClusters) and STS
 * (GetCallerIdentity) once and recorded.
 */
static void
cluster_aws_facts(const char **resource_id, const char **account_id)
{
	const Cluster *c = current_cluster;
	const char *args[1] = {c->name};
	bool		asked = false;

	*resource_id = c->aws_cluster_resource_id;
	*account_id = c->aws_account_id;
	if (*resource_id && *account_id)
		return;
	catalog_execute_text("SELECT resource_id, account_id, identifier FROM tenancy.aws_clusters"
						 " WHERE cluster = $1", 1, args);
	if (SPI_processed == 1)
	{
		char	   *identifier = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		if (*resource_id == NULL && identifier && c->aws_cluster_identifier &&
			strcmp(identifier, c->aws_cluster_identifier) == 0)
			*resource_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (*account_id == NULL)
			*account_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	if (*resource_id == NULL)
	{
		const char *name = "DBClusterIdentifier";
		AwsAnswer  *a = aws_query("rds", "DescribeDBClusters", c->aws_region, 1, &name,
								  &c->aws_cluster_identifier, NULL, 0);
		List	   *clusters = aws_xml_members(aws_xml_child(a->xml, "DescribeDBClustersResult"),
											   "DBClusters");

		/* RDS lists each cluster as <DBCluster>, not <member> */
		if (clusters == NIL)
			clusters = aws_xml_path(a->xml, "DescribeDBClustersResult/DBClusters")->children;
		*resource_id = clusters ? aws_xml_text(linitial(clusters), "DbClusterResourceId") : NULL;
		asked = true;
		if (*resource_id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Amazon RDS did not tell the resource id of DB cluster \"%s\"",
							c->aws_cluster_identifier)));
	}
	if (*account_id == NULL)
	{
		AwsAnswer  *a = aws_query("sts", "GetCallerIdentity", c->aws_region, 0, NULL, NULL,
								  NULL, 0);

		*account_id = aws_xml_text(a->xml, "GetCallerIdentityResult/Account");
		asked = true;
		if (*account_id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("AWS STS did not tell the account of the server's AWS identity")));
	}
	if (asked)
	{
		const char *row[4] = {c->name, *resource_id, *account_id, c->aws_cluster_identifier};

		catalog_execute_text("INSERT INTO tenancy.aws_clusters (cluster, resource_id, account_id, identifier)"
							 " VALUES ($1, $2, $3, $4) ON CONFLICT (cluster) DO UPDATE"
							 " SET resource_id = $2, account_id = $3, identifier = $4, recorded_at = now()"
							 " WHERE (aws_clusters.resource_id, aws_clusters.account_id, aws_clusters.identifier)"
							 " IS DISTINCT FROM ($2, $3, $4)", 4, row);
	}
}

/* The elements of a cidr[] as text ("{a,b}"): cidr values hold no comma or quote. */
static int
split_cidrs(const char *array, const char ***out)
{
	char	   *copy;
	char	   *save;
	int			n = 0;

	*out = NULL;
	if (array == NULL || strlen(array) <= 2)
		return 0;
	copy = pnstrdup(array + 1, strlen(array) - 2);
	*out = palloc(sizeof(char *) * (strlen(array) / 2 + 1));
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		(*out)[n++] = tok;
	return n;
}

/*
 * A tenant's own principal (role mode) is someone outside what this account
 * holds for its tenants: the account's root would let every identity of the
 * account allowed sts:AssumeRole connect as the tenant, and a user or role
 * under our path is another tenant's (or will be), which would then connect
 * as this one.  Refused before the first step.
 */
static void
refuse_principal_of_ours(const Tenant *t, const char *arn, const char *account_id)
{
	const char *p = arn;
	size_t		n = strlen(account_id);
	const char *resource;

	/* arn:PARTITION:iam::ACCOUNT:RESOURCE, checked by iam_principal_arn() */
	for (int i = 0; i < 4 && p != NULL; i++)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p == NULL || strncmp(p, account_id, n) != 0 || p[n] != ':')
		return;
	resource = p + n + 1;
	if (strcmp(resource, "root") == 0 ||
		pg_strncasecmp(resource, "user" IAM_PATH, strlen("user" IAM_PATH)) == 0 ||
		pg_strncasecmp(resource, "role" IAM_PATH, strlen("role" IAM_PATH)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid IAM principal \"%s\" for tenant \"%s\"", t->iam_principal, t->name),
				 errdetail("%s is in the account that holds every tenant's IAM role (%s): the tenant's role would trust %s.",
						   arn, account_id,
						   strcmp(resource, "root") == 0 ? "every identity of that account allowed sts:AssumeRole" :
						   "an entity under the path " IAM_PATH ", which aurora_tenancy makes for tenants"),
				 errhint("Give the tenant's own account id, or a user or role of its own.")));
}

/*
 * What the tenant's IAM side should be, for the tenant as t describes it
 * (its state, iam_auth, allowed_ips as the operation makes them).
 */
static IamTarget *
iam_target(const Tenant *t, int flags, AwsAnswer **new_key)
{
	const Cluster *c = current_cluster;
	IamTarget  *want = palloc0(sizeof(IamTarget));
	const char *account_id;
	const char *principal;
	const char **ips;
	int			nips;

	want->tenant = t->name;
	want->region = c->aws_region;
	want->partition = aws_partition(c->aws_region);
	want->installation = installation_id();
	cluster_aws_facts(&want->resource_id, &account_id);
	want->with_user = strcmp(c->iam_provisioning, "user_and_role") == 0;
	want->user_name = psprintf(IAM_NAME_PREFIX "%s", t->name);
	want->role_name = want->user_name;
	want->user_markers = iam_markers("user", want->user_name, t->name, want->resource_id);
	want->role_markers = iam_markers("role", want->role_name, t->name, want->resource_id);
	if (strlen(want->role_name) > 64)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("IAM name \"%s\" is too long", want->role_name),
				 errdetail("IAM names have at most 64 characters.")));
	want->role_arn = psprintf("arn:%s:iam::%s:role" IAM_PATH "%s", want->partition, account_id,
							  want->role_name);
	want->remove = strcmp(t->state, STATE_OFFBOARDING) == 0;
	/* (removing, no trust policy is written: any principal does) */
	if (want->with_user || want->remove)
		principal = psprintf("arn:%s:iam::%s:user" IAM_PATH "%s", want->partition, account_id,
							 want->user_name);
	else if (t->iam_principal && t->iam_external_id)
	{
		principal = iam_principal_arn(t->iam_principal, want->partition);
		refuse_principal_of_ours(t, principal, account_id);
	}
	else if (t->iam_principal)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" has no external id", t->name),
				 errdetail("A role trusted by a tenant's own principal must require an sts:ExternalId; the tenant was registered without one.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant \"%s\" has no IAM principal", t->name),
				 errdetail("Cluster \"%s\" has iam_provisioning 'role': the tenant's role is trusted by the tenant's own principal.",
						   c->name),
				 errhint("Pass iam_principal => 'arn:%s:iam::ACCOUNT:root' (or a user or role ARN) to tenancy.onboard().",
						 want->partition)));
	nips = split_cidrs(t->allowed_ips, &ips);
	want->trust_policy = iam_trust_policy(principal, want->with_user ? NULL : t->iam_external_id,
										  nips, ips);
	want->connect_policy = iam_connect_policy(want->partition, want->region, account_id,
											  want->resource_id, t->name);
	want->assume_policy = iam_assume_role_policy(want->role_arn);
	want->connect = t->iam_auth &&
		(strcmp(t->state, STATE_ACTIVE) == 0 || strcmp(t->state, STATE_ONBOARDING) == 0);
	want->keys_active = strcmp(t->state, STATE_SUSPENDED) != 0;
	want->recorded_key = t->aws_access_key_id;
	want->make_key = (flags & IAM_MAKE_KEY) != 0;
	want->rotate_key = (flags & IAM_ROTATE_KEY) != 0;
	want->new_key = new_key;
	return want;
}

/* A value of GetAccountSummary's SummaryMap; -1 when absent. */
static long
summary_value(const AwsAnswer *a, const char *key)
{
	ListCell   *lc;

	foreach(lc, aws_xml_path(a->xml, "GetAccountSummaryResult/SummaryMap")->children)
	{
		const char *k = aws_xml_text(lfirst(lc), "key");
		const char *v = aws_xml_text(lfirst(lc), "value");

		if (k && v && strcmp(k, key) == 0)
			return atol(v);
	}
	return -1;
}

static void
refuse_over_quota(const AwsAnswer *summary, const char *what, const char *used, const char *quota)
{
	long		n = summary_value(summary, used);
	long		max = summary_value(summary, quota);

	if (n >= 0 && max >= 0 && n + 1 > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the AWS account cannot hold another IAM %s", what),
				 errdetail("It has %ld of the %ld its quota allows.", n, max),
				 errhint("Raise the quota with AWS (README.md says how far each iam_provisioning mode goes), or offboard tenants.")));
}

/*
 * What would fail halfway is refused before the first step: an entity of
 * the tenant's name that is not ours, a trust policy IAM would refuse as
 * too long, a user or role the account's quota has no room for.
 */
static void
refuse_unfit(const IamTarget *want, const IamSnapshot *have)
{
	int			size = iam_policy_size(want->trust_policy);

	/* offboarding leaves what is not ours alone, and goes on */
	if (want->remove)
		return;
	if ((have->role.exists && !have->role.ours) ||
		(want->with_user && have->user.exists && !have->user.ours))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("IAM %s \"%s\" exists and is not this tenant's",
						have->role.exists && !have->role.ours ? "role" : "user", want->role_name),
				 errdetail("It lacks the tag %s that aurora_tenancy signs for this tenant and cluster (or is tagged for another cluster): aurora_tenancy never adopts an IAM entity it did not make.",
						   IAM_TAG_MARKER),
				 errhint("IAM names are unique per account: rename or delete that entity, or give the tenant another name.")));
	if (size > current_cluster->iam_trust_policy_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the trust policy of tenant \"%s\" would have %d characters", want->tenant, size),
				 errdetail("IAM allows %d in a role's trust policy (option iam_trust_policy_size of cluster \"%s\"); each allowed IP address takes about 25.",
						   current_cluster->iam_trust_policy_size, current_cluster->name),
				 errhint("Allow fewer or wider networks, or have AWS raise the quota (at most 4096) and set the option.")));
	if (!have->role.exists || (want->with_user && !have->user.exists))
	{
		AwsAnswer  *summary = aws_query("iam", "GetAccountSummary", want->region, 0, NULL, NULL,
										NULL, 0);

		if (!have->role.exists)
			refuse_over_quota(summary, "role", "Roles", "RolesQuota");
		if (want->with_user && !have->user.exists)
			refuse_over_quota(summary, "user", "Users", "UsersQuota");
	}
}

/*
 * iam_plan
 *		The IAM calls that give tenant t (as the operation makes it) the IAM
 *		side it should have; NIL when its cluster provisions none.  Reads
 *		IAM; unless IAM_REFUSE_NOTHING, refuses what cannot be done before
 *		the first step (check() and repair() report it instead).
 *		*role_arn and *new_key are set for the caller (new_key once the plan
 *		ran, when it made a key).
 */
List *
iam_plan(const Tenant *t, int flags, const char **role_arn, AwsAnswer **new_key)
{
	IamTarget  *want;
	IamSnapshot *have;

	if (!cluster_has_iam())
		return NIL;
	want = iam_target(t, flags, new_key);
	have = read_iam_snapshot(want);
	if (!(flags & IAM_REFUSE_NOTHING))
		refuse_unfit(want, have);
	if (role_arn)
		*role_arn = want->role_arn;
	return plan_iam(NIL, want, have);
}

/*
 * After a plan made an access key: its id goes to the registry (the secret
 * to the caller, once).  In the caller's transaction: should the operation
 * fail after all, the key is unknown to the registry, and the next
 * operation deletes it as one whose secret nobody was told.
 */
void
iam_record_key(const char *tenant, const AwsAnswer *new_key)
{
	const char *args[2] = {tenant, aws_xml_text(new_key->xml, "CreateAccessKeyResult/AccessKey/AccessKeyId")};

	/* the caller returns both: an answer without them is no key we can hand out */
	if (args[1] == NULL || args[1][0] == '\0' ||
		aws_xml_text(new_key->xml, "CreateAccessKeyResult/AccessKey/SecretAccessKey") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("AWS IAM CreateAccessKey answered without the access key for tenant \"%s\"", tenant),
				 errdetail("The key may have been made; nobody was told its secret."),
				 errhint("Calling the operation again deletes such a key and makes one anew.")));
	catalog_execute_text("UPDATE tenancy.registry SET aws_access_key_id = $2, updated_at = now()"
						 " WHERE name = $1", 2, args);
}

/* A new external id for a tenant: 128 random bits, hex. */
char *
iam_new_external_id(void)
{
	uint8		bytes[16];
	char	   *hex = palloc(sizeof(bytes) * 2 + 1);

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate an external id")));
	hex[hex_encode((char *) bytes, sizeof(bytes), hex)] = '\0';
	return hex;
}

/*
 * rotate_access_key(tenant): a new key for the tenant's IAM user, returned
 * once, then the old one deleted (IAM allows two keys at a time).
 */
Datum
tenancy_rotate_access_key(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Tenant	   *t = begin_tenant_operation(fcinfo, "tenancy.rotate_access_key()");
	AwsAnswer  *new_key = NULL;
	List	   *plan;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (!cluster_has_iam() || strcmp(current_cluster->iam_provisioning, "user_and_role") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" has no IAM user", t->name),
				 errdetail("Only clusters with iam_provisioning 'user_and_role' give tenants IAM users and access keys.")));
	if (strcmp(t->state, STATE_ACTIVE) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is %s", t->name, t->state),
				 errdetail("Only an active tenant's key is rotated.")));
	plan = iam_plan(t, IAM_MAKE_KEY | IAM_ROTATE_KEY, NULL, &new_key);
	run_plan("rotate_access_key", t->name, plan, NULL, NULL);
	if (new_key == NULL)
		elog(ERROR, "rotate_access_key made no key");
	iam_record_key(t->name, new_key);

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(aws_xml_text(new_key->xml, "CreateAccessKeyResult/AccessKey/AccessKeyId"));
	values[1] = CStringGetTextDatum(aws_xml_text(new_key->xml, "CreateAccessKeyResult/AccessKey/SecretAccessKey"));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	SPI_finish();
	return (Datum) 0;
}
