/*
 * cluster.c
 *		Target clusters: foreign servers of the wrapper aurora_tenancy, their
 *		options, and the cluster the running operation acts on.
 *
 * A target cluster is reached over libpq, as postgres_fdw and dblink reach
 * theirs: the server holds libpq's connection options and the extension's
 * own (auth, aws_region, iam_users), the caller's user mapping holds the
 * remote admin (user, password).  Options are passed to libpq one by one,
 * never as a connection string, so no value can smuggle in another option.
 */
#include "core/core.h"
#include "aws/iam_policy.h"

#include "access/reloptions.h"
#include "access/xact.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(tenancy_cluster_validator);

#define WRAPPER_NAME "aurora_tenancy"

/* libpq's connection options a server may carry (no dbname expansion). */
static const char *const libpq_server_options[] = {
	"host", "hostaddr", "port", "dbname", "connect_timeout", "keepalives",
	"keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "sslmode", "sslcompression", "sslsni", "sslcert",
	"sslkey", "sslrootcert", "sslcrl", "sslcrldir", "ssl_min_protocol_version",
	"ssl_max_protocol_version", "requirepeer", "channel_binding", "gssencmode",
	"krbsrvname", "target_session_attrs", "application_name", "passfile",
	"service", NULL
};

/* Options that make libpq read a file or the environment: superusers only. */
static const char *const file_options[] = {
	"sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir", "passfile",
	"service", NULL
};

/* The extension's own server options, not passed to libpq. */
static const char *const own_server_options[] = {
	"auth", "aws_region", "iam_users", "iam_provisioning",
	"aws_cluster_resource_id", "aws_cluster_identifier", "aws_account_id",
	"iam_trust_policy_size", NULL
};

/*
 * Options that decide what the server's own AWS identity signs or creates,
 * and for which cluster: superusers only.
 */
static const char *const aws_options[] = {
	"aws_region", "iam_users", "iam_provisioning", "aws_cluster_resource_id",
	"aws_cluster_identifier", "aws_account_id", "iam_trust_policy_size", NULL
};

static const char *const mapping_options[] = {"user", "password", NULL};

const Cluster *current_cluster = NULL;

static bool
listed(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

/* The value of an option in a DefElem list; NULL when absent. */
static char *
option_value(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, name) == 0)
			return defGetString(d);
	}
	return NULL;
}

/* An option's value, kept until the transaction ends; NULL when absent. */
static const char *
option_string(List *options, const char *name)
{
	char	   *value = option_value(options, name);

	return value ? MemoryContextStrdup(TopTransactionContext, value) : NULL;
}

/* iam_users: a comma-separated list of role names. */
static List *
iam_users_list(const char *value)
{
	List	   *names = NIL;

	if (value && !SplitIdentifierString(pstrdup(value), ',', &names))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid value for option \"iam_users\": \"%s\"", value),
				 errdetail("It is a comma-separated list of remote role names.")));
	return names;
}

static bool
iam_user_listed(const char *iam_users, const char *user)
{
	ListCell   *lc;

	foreach(lc, iam_users_list(iam_users))
		if (strcmp(lfirst(lc), user) == 0)
			return true;
	return false;
}

static bool
all_chars(const char *s, const char *allowed)
{
	return s[0] != '\0' && strspn(s, allowed) == strlen(s);
}

static void
invalid_option(const char *name, const char *value, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
			 errdetail("%s", detail)));
}

/*
 * The IAM side of a cluster: iam_provisioning (none, user_and_role, role)
 * needs the region and the cluster's resource id or identifier (for the
 * rds-db:connect resource); the account id is read from STS when absent.
 */
static void
validate_iam_options(List *options)
{
	const char *mode = option_value(options, "iam_provisioning");
	const char *region = option_value(options, "aws_region");
	const char *resource_id = option_value(options, "aws_cluster_resource_id");
	const char *identifier = option_value(options, "aws_cluster_identifier");
	const char *account = option_value(options, "aws_account_id");
	const char *size = option_value(options, "iam_trust_policy_size");

	if (mode && strcmp(mode, "none") != 0 && strcmp(mode, "user_and_role") != 0 &&
		strcmp(mode, "role") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"iam_provisioning\": \"%s\"", mode),
				 errhint("Valid values are \"none\", \"user_and_role\" and \"role\".")));
	if (region && aws_partition(region) == NULL)
		invalid_option("aws_region", region, "A region is written like eu-central-1.");
	if (resource_id && (strncmp(resource_id, "cluster-", 8) != 0 ||
						!all_chars(resource_id + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")))
		invalid_option("aws_cluster_resource_id", resource_id,
					   "A cluster's resource id is written like cluster-NOL3X6GTXDYEGEITNHBOTQV4CY (DbClusterResourceId).");
	if (identifier && (strlen(identifier) > 63 ||
					   !all_chars(identifier, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")))
		invalid_option("aws_cluster_identifier", identifier,
					   "A DB cluster identifier has at most 63 letters, digits and hyphens.");
	if (account && (strlen(account) != 12 || !all_chars(account, "0123456789")))
		invalid_option("aws_account_id", account, "An AWS account id has 12 digits.");
	if (size && (!all_chars(size, "0123456789") || strlen(size) > 5 ||
				 atoi(size) < 512 || atoi(size) > 10240))
		invalid_option("iam_trust_policy_size", size,
					   "It is the account's quota of characters in a role trust policy, 2048 unless raised, at most 10240.");
	if (mode && strcmp(mode, "none") != 0 && (region == NULL || (resource_id == NULL && identifier == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("iam_provisioning '%s' needs options aws_region and aws_cluster_resource_id or aws_cluster_identifier", mode),
				 errdetail("The rds-db:connect policy names the cluster by region, account and resource id.")));
}

/*
 * tenancy.cluster_validator(options text[], catalog oid): what CREATE/ALTER
 * SERVER and USER MAPPING may say for the wrapper aurora_tenancy.
 */
Datum
tenancy_cluster_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;
	char	   *auth;
	char	   *sslmode;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);
		bool		known;

		if (catalog == ForeignServerRelationId)
			known = listed(d->defname, libpq_server_options) ||
				listed(d->defname, own_server_options);
		else if (catalog == UserMappingRelationId)
			known = listed(d->defname, mapping_options);
		else
			known = false;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", d->defname),
					 errhint(catalog == ForeignServerRelationId ?
							 "A cluster takes libpq connection options (host, port, dbname, sslmode, ...) and auth, aws_region, iam_users, iam_provisioning, aws_cluster_resource_id, aws_cluster_identifier, aws_account_id, iam_trust_policy_size." :
							 catalog == UserMappingRelationId ?
							 "A user mapping takes user and password." :
							 "Options go on the server (the cluster) and on user mappings.")));
		if (listed(d->defname, file_options) && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only a superuser may set option \"%s\"", d->defname),
					 errdetail("It makes the server read a file or its environment.")));
	}
	if (catalog != ForeignServerRelationId)
		PG_RETURN_VOID();

	/* tokens are signed, and IAM entities made, with the server's own AWS identity */
	if (!superuser())
		foreach(lc, options)
			if (listed(((DefElem *) lfirst(lc))->defname, aws_options) ||
				(strcmp(((DefElem *) lfirst(lc))->defname, "auth") == 0 &&
				 strcmp(defGetString(lfirst(lc)), "iam") == 0))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("only a superuser may set option \"%s\"", ((DefElem *) lfirst(lc))->defname),
						 errdetail("IAM auth tokens are signed, and IAM entities made, with the server's own AWS identity.")));

	auth = option_value(options, "auth");
	if (auth && strcmp(auth, "password") != 0 && strcmp(auth, "iam") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"auth\": \"%s\"", auth),
				 errhint("Valid values are \"password\" and \"iam\".")));
	sslmode = option_value(options, "sslmode");
	if (auth && strcmp(auth, "iam") == 0 && (sslmode == NULL || strcmp(sslmode, "verify-full") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("auth 'iam' requires sslmode 'verify-full'"),
				 errdetail("An IAM auth token is a password anyone who sees it can replay for 15 minutes.")));
	(void) iam_users_list(option_value(options, "iam_users"));
	validate_iam_options(options);
	PG_RETURN_VOID();
}

/* Nothing of one operation's cluster outlives its transaction. */
static void
forget_cluster(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		current_cluster = NULL;
}

void
ClusterInit(void)
{
	RegisterXactCallback(forget_cluster, NULL);
}

static void
add_option(Cluster *c, const char *keyword, const char *value)
{
	c->keywords[c->noptions] = keyword;
	c->values[c->noptions] = value;
	c->noptions++;
}

/*
 * The cluster the operation acts on, from here to the end of the
 * transaction: name NULL or "" is this cluster.  A remote one needs USAGE on
 * its server and a user mapping for the current user; a non-superuser's
 * mapping must not make the server connect with its own credentials.
 */
const Cluster *
use_cluster(const char *name)
{
	ForeignServer *server;
	ForeignDataWrapper *fdw;
	UserMapping *mapping;
	Cluster    *c;
	ListCell   *lc;
	AclResult	aclresult;
	char	   *auth;

	current_cluster = NULL;
	if (name == NULL || name[0] == '\0')
		return NULL;

	server = GetForeignServerByName(name, true);
	if (server == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("cluster \"%s\" does not exist", name),
				 errhint("A cluster is a foreign server: CREATE SERVER %s FOREIGN DATA WRAPPER " WRAPPER_NAME " OPTIONS (host '...', dbname 'postgres').",
						 quote_identifier(name))));
	fdw = GetForeignDataWrapper(server->fdwid);
	if (strcmp(fdw->fdwname, WRAPPER_NAME) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not a cluster of aurora_tenancy", name),
				 errdetail("Its foreign-data wrapper is \"%s\".", fdw->fdwname)));
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);
	mapping = GetUserMapping(GetUserId(), server->serverid);

	c = MemoryContextAllocZero(TopTransactionContext, sizeof(Cluster));
	c->name = MemoryContextStrdup(TopTransactionContext, server->servername);
	c->keywords = MemoryContextAllocZero(TopTransactionContext,
										 sizeof(char *) * (list_length(server->options) + 8));
	c->values = MemoryContextAllocZero(TopTransactionContext,
									   sizeof(char *) * (list_length(server->options) + 8));
	c->dbname = "postgres";
	foreach(lc, server->options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "dbname") == 0)
			c->dbname = MemoryContextStrdup(TopTransactionContext, defGetString(d));
		else if (strcmp(d->defname, "host") == 0 || strcmp(d->defname, "hostaddr") == 0)
		{
			if (strcmp(d->defname, "host") == 0 || c->host == NULL)
				c->host = MemoryContextStrdup(TopTransactionContext, defGetString(d));
			add_option(c, d->defname, MemoryContextStrdup(TopTransactionContext, defGetString(d)));
		}
		else if (strcmp(d->defname, "port") == 0)
		{
			c->port = pg_strtoint32(defGetString(d));
			add_option(c, d->defname, MemoryContextStrdup(TopTransactionContext, defGetString(d)));
		}
		else if (strcmp(d->defname, "connect_timeout") == 0)
			c->connect_timeout = pg_strtoint32(defGetString(d));
		else if (!listed(d->defname, own_server_options))
			add_option(c, d->defname, MemoryContextStrdup(TopTransactionContext, defGetString(d)));
	}
	if (c->port == 0)
		c->port = 5432;
	if (c->connect_timeout <= 0)
		c->connect_timeout = 10;
	auth = option_value(server->options, "auth");
	c->iam_auth = auth && strcmp(auth, "iam") == 0;
	if (c->iam_auth && !superuser_arg(server->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cluster \"%s\" has auth 'iam' but is not owned by a superuser", c->name),
				 errdetail("IAM auth tokens are signed with the server's own AWS identity: only a superuser decides for whom.")));
	c->aws_region = option_string(server->options, "aws_region");
	c->iam_provisioning = option_string(server->options, "iam_provisioning");
	if (c->iam_provisioning && strcmp(c->iam_provisioning, "none") == 0)
		c->iam_provisioning = NULL;
	if (c->iam_provisioning && !superuser_arg(server->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cluster \"%s\" has iam_provisioning but is not owned by a superuser", c->name),
				 errdetail("IAM entities are made with the server's own AWS identity: only a superuser decides for which cluster.")));
	c->aws_cluster_resource_id = option_string(server->options, "aws_cluster_resource_id");
	c->aws_cluster_identifier = option_string(server->options, "aws_cluster_identifier");
	c->aws_account_id = option_string(server->options, "aws_account_id");
	c->iam_trust_policy_size = option_value(server->options, "iam_trust_policy_size") ?
		atoi(option_value(server->options, "iam_trust_policy_size")) : 2048;

	c->user = option_value(mapping->options, "user");
	c->user = MemoryContextStrdup(TopTransactionContext,
								  c->user ? c->user : GetUserNameFromId(GetUserId(), false));
	c->password = option_value(mapping->options, "password");
	if (c->password)
		c->password = MemoryContextStrdup(TopTransactionContext, c->password);
	c->password_required = !superuser();

	if (c->password_required && !c->iam_auth && c->password == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("password is required to reach cluster \"%s\"", c->name),
				 errdetail("A non-superuser's user mapping must carry the password of its remote user, or the server would connect with credentials of its own."),
				 errhint("ALTER USER MAPPING FOR %s SERVER %s OPTIONS (ADD password '...').",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)),
						 quote_identifier(c->name))));
	if (c->password_required && c->iam_auth &&
		!iam_user_listed(option_value(server->options, "iam_users"), c->user))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("user \"%s\" may not log in to cluster \"%s\" with the server's IAM identity", c->user, c->name),
				 errdetail("With auth 'iam' a non-superuser may be mapped only to a remote user the server's option iam_users lists."),
				 errhint("A superuser can add it: ALTER SERVER %s OPTIONS (ADD iam_users '%s').",
						 quote_identifier(c->name), c->user)));
	if (c->iam_auth && c->host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("cluster \"%s\" has auth 'iam' but no host", c->name),
				 errdetail("An IAM auth token is signed for the host and port it is used on.")));
	add_option(c, "user", c->user);
	add_option(c, "fallback_application_name", "aurora_tenancy");
	current_cluster = c;
	return c;
}
