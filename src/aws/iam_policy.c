/*
 * iam_policy.c
 *		The IAM policy documents of a tenant's IAM entities: the role's trust
 *		policy, its rds-db:connect policy, a user's inline sts:AssumeRole
 *		policy; their size as IAM counts it; and whether what IAM holds is
 *		still the policy we want.
 *
 * IAM never gives a document back as it was written.  GetRolePolicy and
 * friends return it URL-encoded, with keys in another order, single values
 * made arrays or arrays of one made single values, and a bare account id
 * principal rewritten as that account's root ARN.  Comparing text would
 * rewrite every policy on every repair, so iam_policy_equal() compares
 * meaning: both documents are put into one canonical form (see
 * canonical_policy()) and the forms compared.  The canonical form only
 * undoes what IAM is known to change and what the policy language defines
 * as insignificant (order of values and statements, case of actions and of
 * condition keys, statement ids); anything else that differs makes the
 * documents differ.  That errs on the side of a rewrite, which is harmless,
 * and in particular catches a principal IAM shows by its unique id
 * (AIDA..., AROA...): the entity it named was deleted, and a new one of the
 * same name is not trusted until the policy is written again.
 *
 * Documents are built as text (StringInfo, escape_json), not with jansson:
 * the key order is then what the code says, and nothing outside palloc
 * needs freeing.  Reading uses jansson, whose objects are malloc'd: the
 * parsed document is released in a PG_FINALLY, and the normalizing code
 * does its pallocs before it takes references of its own, so that an error
 * never strands one.
 */
#include "aws/iam_policy.h"

#include <arpa/inet.h>

#include <jansson.h>

#include "lib/stringinfo.h"
#include "utils/json.h"

/* the longest IAM user or role name, and path */
#define IAM_NAME_MAX 64
#define IAM_PATH_MAX 512

/* STS's bounds for an external id */
#define EXTERNAL_ID_MIN 2
#define EXTERNAL_ID_MAX 1224

#define LOWER_LETTERS "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* the characters IAM allows in user and role names (its [\w+=,.@-]) */
#define IAM_NAME_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=,.@-"

/* the characters STS allows in an external id ([\w+=,.@:\/-]) */
#define EXTERNAL_ID_CHARS IAM_NAME_CHARS ":/"

/* How an ARN given as an IAM principal or role fails to be one. */
typedef enum IamArnProblem
{
	IAM_ARN_OK,
	IAM_ARN_MALFORMED,			/* not arn:P:S:R:A:RESOURCE */
	IAM_ARN_WILDCARD,			/* '*' or '?' somewhere */
	IAM_ARN_PARTITION,			/* not a partition we know */
	IAM_ARN_SERVICE,			/* not iam (e.g. sts:assumed-role) */
	IAM_ARN_REGION,				/* IAM ARNs have no region */
	IAM_ARN_ACCOUNT,			/* not 12 digits */
	IAM_ARN_RESOURCE			/* not root, user/... or role/... */
} IamArnProblem;

/* What the resource part of an IAM ARN names. */
typedef enum IamArnKind
{
	IAM_ARN_ROOT,
	IAM_ARN_USER,
	IAM_ARN_ROLE
} IamArnKind;

/* An array element with its canonical serialization, for sorting. */
typedef struct SortEntry
{
	char	   *key;
	json_t	   *value;
} SortEntry;

static const char *const partitions[] = {"aws", "aws-cn", "aws-us-gov"};

static void jansson_out_of_memory(void) pg_attribute_noreturn();
static void report_arn_problem(const char *what, const char *arn,
							   IamArnProblem problem,
							   const char *partition) pg_attribute_noreturn();

/*
 * jansson_out_of_memory
 *		jansson reports failing to allocate only by a NULL or -1 result; every
 *		call that can allocate is checked and ends here.
 */
static void
jansson_out_of_memory(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory"),
			 errdetail("The JSON library could not allocate memory.")));
}

static bool
all_of(const char *s, size_t len, const char *chars)
{
	return strspn(s, chars) >= len;
}

static bool
is_account_id(const char *s)
{
	return strlen(s) == 12 && all_of(s, 12, DIGITS);
}

/* "[a-z]+-[0-9]+" and nothing after it */
static bool
region_tail(const char *s)
{
	size_t		n = strspn(s, LOWER_LETTERS);

	if (n == 0 || s[n] != '-')
		return false;
	s += n + 1;
	n = strspn(s, DIGITS);
	return n > 0 && s[n] == '\0';
}

/*
 * aws_partition
 *		The partition of a region, from its name alone: AWS names regions so
 *		that their partition can be told, and the rds-db and IAM ARNs we write
 *		must carry it.
 */
const char *
aws_partition(const char *region)
{
	if (region == NULL ||
		strspn(region, LOWER_LETTERS) < 2 || region[2] != '-')
		return NULL;
	if (strncmp(region + 3, "gov-", 4) == 0 && region_tail(region + 7))
		return "aws-us-gov";
	if (!region_tail(region + 3))
		return NULL;
	return strncmp(region, "cn", 2) == 0 ? "aws-cn" : "aws";
}

static bool
known_partition(const char *partition)
{
	for (int i = 0; i < lengthof(partitions); i++)
		if (strcmp(partition, partitions[i]) == 0)
			return true;
	return false;
}

static void
check_partition(const char *partition)
{
	if (partition == NULL || !known_partition(partition))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS partition \"%s\"",
						partition ? partition : ""),
				 errdetail("A partition is \"aws\", \"aws-cn\" or \"aws-us-gov\".")));
}

/*
 * iam_name_path
 *		"NAME" or "PATH/.../NAME" after "user/" or "role/": non-empty segments
 *		of IAM's name characters.  IAM allows more in a path (any printable
 *		ASCII), but '*', '?' and "${" there would read as wildcards or policy
 *		variables once the ARN is in a policy; no real path needs them.
 */
static bool
iam_name_path(const char *s)
{
	const char *name = strrchr(s, '/');
	size_t		path_len;

	name = name ? name + 1 : s;
	path_len = name - s;
	if (*name == '\0' || strlen(name) > IAM_NAME_MAX ||
		!all_of(name, strlen(name), IAM_NAME_CHARS))
		return false;
	/* the path as IAM writes it, "/a/b/", has a '/' in front */
	if (path_len + 1 > IAM_PATH_MAX)
		return false;
	while (s < name)
	{
		size_t		n = strspn(s, IAM_NAME_CHARS);

		if (n == 0 || s[n] != '/')
			return false;
		s += n + 1;
	}
	return true;
}

/*
 * parse_iam_arn
 *		Checks arn:PARTITION:iam::ACCOUNT:(root|user/...|role/...), and says
 *		what is wrong with it if it is not one.  *partition gets a palloc'd
 *		copy of the partition field whenever there is one, so that callers
 *		can name it.
 */
static IamArnProblem
parse_iam_arn(const char *arn, char **partition, IamArnKind *kind)
{
	const char *field[5];
	const char *p = arn;
	const char *resource;
	char	   *account;

	*partition = NULL;
	if (strncmp(arn, "arn:", 4) != 0)
		return IAM_ARN_MALFORMED;
	for (int i = 0; i < 5; i++)
	{
		field[i] = p;
		p = strchr(p, ':');
		if (p == NULL)
			return IAM_ARN_MALFORMED;
		p++;
	}
	resource = p;
	*partition = pnstrdup(field[1], field[2] - field[1] - 1);
	if (strpbrk(arn, "*?") != NULL)
		return IAM_ARN_WILDCARD;
	if (!known_partition(*partition))
		return IAM_ARN_PARTITION;
	if (strncmp(field[2], "iam:", 4) != 0)
		return IAM_ARN_SERVICE;
	if (field[3] != field[4] - 1)
		return IAM_ARN_REGION;
	account = pnstrdup(field[4], resource - field[4] - 1);
	if (!is_account_id(account))
		return IAM_ARN_ACCOUNT;
	if (strcmp(resource, "root") == 0)
		*kind = IAM_ARN_ROOT;
	else if (strncmp(resource, "user/", 5) == 0 && iam_name_path(resource + 5))
		*kind = IAM_ARN_USER;
	else if (strncmp(resource, "role/", 5) == 0 && iam_name_path(resource + 5))
		*kind = IAM_ARN_ROLE;
	else
		return IAM_ARN_RESOURCE;
	return IAM_ARN_OK;
}

/*
 * report_arn_problem
 *		The ERROR for an ARN parse_iam_arn() refused; what names it ("IAM
 *		principal", "role ARN") goes into the message.
 */
static void
report_arn_problem(const char *what, const char *arn, IamArnProblem problem,
				   const char *partition)
{
	switch (problem)
	{
		case IAM_ARN_WILDCARD:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, arn),
					 errdetail("An IAM ARN in a policy cannot contain the wildcards '*' and '?'.")));
			break;
		case IAM_ARN_PARTITION:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, arn),
					 errdetail("\"%s\" is not an AWS partition; partitions are \"aws\", \"aws-cn\" and \"aws-us-gov\".",
							   partition)));
			break;
		case IAM_ARN_SERVICE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, arn),
					 errdetail("Only an IAM ARN (arn:%s:iam::...) names an account, user or role; STS session ARNs and other services' ARNs do not.",
							   partition)));
			break;
		case IAM_ARN_REGION:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, arn),
					 errdetail("IAM is global: an IAM ARN has an empty region field.")));
			break;
		case IAM_ARN_ACCOUNT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, arn),
					 errdetail("The account field of an IAM ARN is a 12-digit account id.")));
			break;
		case IAM_ARN_MALFORMED:
		case IAM_ARN_RESOURCE:
		case IAM_ARN_OK:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s \"%s\"", what, arn),
			 errdetail("An IAM ARN in a policy names root, user/NAME or role/NAME, optionally with a path (user/PATH/NAME), of the characters A-Z a-z 0-9 _+=,.@-.")));
}

/*
 * iam_principal_arn
 *		The trust policy's principal for what a DBA gave.  Everything that
 *		would let more than one known account, user or role assume the
 *		tenant's role is refused here, before it reaches IAM: IAM itself
 *		accepts "*" and service principals, and would then trust them.
 */
char *
iam_principal_arn(const char *principal, const char *partition)
{
	IamArnProblem problem;
	IamArnKind	kind;
	char	   *arn_partition;

	check_partition(partition);
	if (is_account_id(principal))
		return psprintf("arn:%s:iam::%s:root", partition, principal);
	if (strcmp(principal, "*") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid IAM principal \"%s\"", principal),
				 errdetail("The wildcard principal would let anyone with an AWS account assume the tenant's role."),
				 errhint("Give the 12-digit id of the account to trust, or the ARN of an IAM user or role.")));
	if (strncmp(principal, "arn:", 4) != 0)
	{
		/* rds.amazonaws.com, ec2.amazonaws.com.cn, ... */
		if (strstr(principal, ".amazonaws.com") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid IAM principal \"%s\"", principal),
					 errdetail("A service principal cannot assume a tenant's role; only an account, an IAM user or an IAM role can."),
					 errhint("Give the 12-digit id of the account to trust, or the ARN of an IAM user or role.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid IAM principal \"%s\"", principal),
				 errdetail("A principal is a 12-digit AWS account id or an IAM ARN such as arn:%s:iam::123456789012:role/NAME.",
						   partition)));
	}
	problem = parse_iam_arn(principal, &arn_partition, &kind);
	if (problem != IAM_ARN_OK)
		report_arn_problem("IAM principal", principal, problem, arn_partition);
	/* a role of another partition cannot be trusted: IAM would refuse it */
	if (strcmp(arn_partition, partition) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid IAM principal \"%s\"", principal),
				 errdetail("The ARN is in partition \"%s\", but the tenant's role is in partition \"%s\".",
						   arn_partition, partition)));
	return pstrdup(principal);
}

/*
 * valid_source_ip
 *		An IPv4 or IPv6 address with an optional /prefix length, as the
 *		IpAddress condition operator takes it.  IAM would refuse anything
 *		else, but only when the policy is written, far from where the DBA
 *		typed it.
 */
static bool
valid_source_ip(const char *ip)
{
	const char *slash = strchr(ip, '/');
	size_t		len = slash ? slash - ip : strlen(ip);
	char		addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	int			max_bits;

	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, ip, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max_bits = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max_bits = 128;
	else
		return false;
	if (slash != NULL)
	{
		const char *bits = slash + 1;
		size_t		n = strspn(bits, DIGITS);

		if (n == 0 || n > 3 || bits[n] != '\0' || atoi(bits) > max_bits)
			return false;
	}
	return true;
}

/*
 * The documents: the same frame around one statement.  The statement's keys
 * come in the order the builders write them, so that the text of a
 * document is a function of its inputs alone.
 */
static void
begin_statement(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoString(buf,
						   "{\"Version\":\"" IAM_POLICY_VERSION "\","
						   "\"Statement\":[{\"Effect\":\"Allow\"");
}

static char *
end_statement(StringInfo buf)
{
	appendStringInfoString(buf, "}]}");
	return buf->data;
}

/*
 * iam_connect_policy
 *		The role's permission to connect as one database user of one cluster.
 *		The resource is matched by IAM with wildcards and policy variables, so
 *		a user name holding them would grant other users too: refused.
 */
char *
iam_connect_policy(const char *partition, const char *region,
				   const char *account_id, const char *cluster_resource_id,
				   const char *db_user)
{
	const char *region_partition;
	StringInfoData buf;

	check_partition(partition);
	region_partition = aws_partition(region);
	if (region_partition == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS region \"%s\"", region),
				 errdetail("A region is named like eu-central-1.")));
	if (strcmp(region_partition, partition) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("region \"%s\" is not in partition \"%s\"",
						region, partition),
				 errdetail("Region \"%s\" is in partition \"%s\".",
						   region, region_partition)));
	if (!is_account_id(account_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS account id \"%s\"", account_id),
				 errdetail("An account id is 12 digits.")));
	if (strncmp(cluster_resource_id, "cluster-", 8) != 0 ||
		cluster_resource_id[8] == '\0' ||
		!all_of(cluster_resource_id + 8, strlen(cluster_resource_id + 8),
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cluster resource id \"%s\"", cluster_resource_id),
				 errdetail("A cluster resource id is \"cluster-\" followed by letters and digits.")));
	if (db_user[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database user name must not be empty")));
	if (strpbrk(db_user, "*?") != NULL || strstr(db_user, "${") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database user name \"%s\" cannot be put into an IAM policy",
						db_user),
				 errdetail("In an IAM resource, '*' and '?' are wildcards and \"${\" begins a policy variable: the policy would let the role connect as other users.")));

	begin_statement(&buf);
	appendStringInfoString(&buf, ",\"Action\":\"rds-db:connect\",\"Resource\":");
	escape_json(&buf, psprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s",
							   partition, region, account_id,
							   cluster_resource_id, db_user));
	return end_statement(&buf);
}

/*
 * iam_trust_policy
 *		Who may assume the tenant's role, and on which conditions.  The
 *		source addresses are an array even when there is one, so that the
 *		shape of the document does not change with their number (IAM returns
 *		them either way; iam_policy_equal() does not mind).
 */
char *
iam_trust_policy(const char *principal_arn, const char *external_id,
				 int nips, const char *const *allowed_ips)
{
	IamArnProblem problem;
	IamArnKind	kind;
	char	   *arn_partition;
	StringInfoData buf;

	problem = parse_iam_arn(principal_arn, &arn_partition, &kind);
	if (problem != IAM_ARN_OK)
		report_arn_problem("principal ARN", principal_arn, problem, arn_partition);
	if (external_id != NULL)
	{
		size_t		len = strlen(external_id);

		if (len < EXTERNAL_ID_MIN || len > EXTERNAL_ID_MAX ||
			!all_of(external_id, len, EXTERNAL_ID_CHARS))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid external id \"%s\"", external_id),
					 errdetail("An external id is %d to %d characters of A-Z a-z 0-9 _+=,.@:/-; STS refuses any other.",
							   EXTERNAL_ID_MIN, EXTERNAL_ID_MAX)));
	}
	for (int i = 0; i < nips; i++)
	{
		if (allowed_ips[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("source address must not be null")));
		if (!valid_source_ip(allowed_ips[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid source address \"%s\"", allowed_ips[i]),
					 errdetail("A source address is an IPv4 or IPv6 address, optionally with a prefix length such as /24.")));
	}

	begin_statement(&buf);
	appendStringInfoString(&buf, ",\"Principal\":{\"AWS\":");
	escape_json(&buf, principal_arn);
	appendStringInfoString(&buf, "},\"Action\":\"sts:AssumeRole\"");
	if (external_id != NULL || nips > 0)
	{
		appendStringInfoString(&buf, ",\"Condition\":{");
		if (external_id != NULL)
		{
			appendStringInfoString(&buf, "\"StringEquals\":{\"sts:ExternalId\":");
			escape_json(&buf, external_id);
			appendStringInfoChar(&buf, '}');
		}
		if (nips > 0)
		{
			if (external_id != NULL)
				appendStringInfoChar(&buf, ',');
			appendStringInfoString(&buf, "\"IpAddress\":{\"aws:SourceIp\":[");
			for (int i = 0; i < nips; i++)
			{
				if (i > 0)
					appendStringInfoChar(&buf, ',');
				escape_json(&buf, allowed_ips[i]);
			}
			appendStringInfoString(&buf, "]}");
		}
		appendStringInfoChar(&buf, '}');
	}
	return end_statement(&buf);
}

/*
 * iam_assume_role_policy
 *		A user's permission to assume one role, and no other: a role ARN with
 *		a wildcard would be any role of that name pattern.
 */
char *
iam_assume_role_policy(const char *role_arn)
{
	IamArnProblem problem;
	IamArnKind	kind;
	char	   *arn_partition;
	StringInfoData buf;

	problem = parse_iam_arn(role_arn, &arn_partition, &kind);
	if (problem != IAM_ARN_OK)
		report_arn_problem("role ARN", role_arn, problem, arn_partition);
	if (kind != IAM_ARN_ROLE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid role ARN \"%s\"", role_arn),
				 errdetail("The ARN names an account or a user, not a role.")));

	begin_statement(&buf);
	appendStringInfoString(&buf, ",\"Action\":\"sts:AssumeRole\",\"Resource\":");
	escape_json(&buf, role_arn);
	return end_statement(&buf);
}

/*
 * iam_policy_size
 *		IAM's quotas (2048 characters for a trust policy, 10240 for all of a
 *		role's inline policies, ...) count characters, leaving out whitespace
 *		between tokens; whitespace inside strings is part of a value and
 *		counts.  A UTF-8 continuation byte is part of a character already
 *		counted.
 */
int
iam_policy_size(const char *doc)
{
	int			size = 0;
	bool		in_string = false;
	bool		escaped = false;

	for (const char *p = doc; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if ((c & 0xC0) == 0x80)
			continue;
		if (in_string)
		{
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		size++;
	}
	return size;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * percent_decode
 *		RFC 3986 percent-decoding, as IAM encodes the documents it returns.
 *		'+' stays '+': IAM encodes a space as %20, and a '+' in a document is
 *		a '+'.  NULL when a '%' is not followed by two hex digits, which IAM
 *		never sends.
 */
static char *
percent_decode(const char *s, size_t *len)
{
	char	   *out = palloc(strlen(s) + 1);
	char	   *o = out;

	while (*s)
	{
		int			high;
		int			low;

		if (*s != '%')
		{
			*o++ = *s++;
			continue;
		}
		high = hex_digit(s[1]);
		low = high < 0 ? -1 : hex_digit(s[2]);
		if (low < 0)
			return NULL;
		*o++ = (char) ((high << 4) | low);
		s += 3;
	}
	*o = '\0';
	*len = o - out;
	return out;
}

/*
 * dump_canonical
 *		The canonical text of a (normalized) JSON value: compact, keys sorted.
 */
static char *
dump_canonical(json_t *value)
{
	char	   *text = json_dumps(value,
								  JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t		len;
	char	   *copy;

	if (text == NULL)
		jansson_out_of_memory();
	len = strlen(text);
	copy = palloc_extended(len + 1, MCXT_ALLOC_NO_OOM);
	if (copy == NULL)
	{
		free(text);
		jansson_out_of_memory();
	}
	memcpy(copy, text, len + 1);
	free(text);
	return copy;
}

static int
sort_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const SortEntry *) a)->key, ((const SortEntry *) b)->key);
}

/*
 * sort_array
 *		Sorts an array by its elements' canonical text, optionally dropping
 *		duplicates.  Elements are put back with json_array_set(), which
 *		never allocates: once the references are held, nothing can fail and
 *		leave one behind.
 */
static void
sort_array(json_t *array, bool distinct)
{
	size_t		n = json_array_size(array);
	size_t		kept = 0;
	SortEntry  *entries;

	if (n < 2)
		return;
	entries = palloc(sizeof(SortEntry) * n);
	for (size_t i = 0; i < n; i++)
	{
		entries[i].value = json_array_get(array, i);
		entries[i].key = dump_canonical(entries[i].value);
	}
	qsort(entries, n, sizeof(SortEntry), sort_entry_cmp);

	for (size_t i = 0; i < n; i++)
		json_incref(entries[i].value);
	for (size_t i = 0; i < n; i++)
	{
		if (distinct && i > 0 && strcmp(entries[i].key, entries[i - 1].key) == 0)
			continue;
		json_array_set(array, kept++, entries[i].value);
	}
	while (json_array_size(array) > kept)
		json_array_remove(array, json_array_size(array) - 1);
	for (size_t i = 0; i < n; i++)
		json_decref(entries[i].value);
	pfree(entries);
}

/*
 * new_object
 *		An empty JSON object.  Not json_object(): the postgres executable
 *		exports a json_object() of its own (the SQL function), and the
 *		dynamic linker binds a call from this library to that one, the
 *		executable coming first.  json_pack() is jansson's, and jansson's
 *		calls inside itself stay inside it.
 */
static json_t *
new_object(void)
{
	return json_pack("{}");
}

/* object[key] = [value], value being object[key] */
static json_t *
wrap_in_array(json_t *object, const char *key, json_t *value)
{
	json_t	   *array = json_array();

	if (array == NULL)
		jansson_out_of_memory();
	if (json_array_append(array, value) != 0)
	{
		json_decref(array);
		jansson_out_of_memory();
	}
	/* the *_new setters take the reference even when they fail */
	if (json_object_set_new_nocheck(object, key, array) != 0)
		jansson_out_of_memory();
	return array;
}

/*
 * as_array
 *		The array object[key] is, making a single value (a string, number,
 *		boolean or null) an array of one, as IAM does or undoes at will.
 *		NULL when the key is absent or an object: compared as is.
 */
static json_t *
as_array(json_t *object, const char *key)
{
	json_t	   *value = json_object_get(object, key);

	if (value == NULL || json_is_object(value))
		return NULL;
	if (json_is_array(value))
		return value;
	return wrap_in_array(object, key, value);
}

/* ASCII lower case: what IAM treats as insensitive is ASCII */
static char *
ascii_lower(const char *s)
{
	char	   *out = pstrdup(s);

	for (char *p = out; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	return out;
}

/* A set of strings: single value or array, order and repeats meaningless. */
static void
normalize_set(json_t *object, const char *key, bool lower)
{
	json_t	   *array = as_array(object, key);
	size_t		i;
	json_t	   *item;

	if (array == NULL)
		return;
	if (lower)
		json_array_foreach(array, i, item)
		{
			if (json_is_string(item) &&
				json_string_set_nocheck(item, ascii_lower(json_string_value(item))) != 0)
				jansson_out_of_memory();
		}
	sort_array(array, true);
}

/*
 * normalize_principal
 *		"*" stays as it is; in an object of AWS, Service, Federated, ...
 *		principals, each is a set, and a bare account id under AWS is the
 *		account's root ARN, which is how IAM shows it.
 */
static void
normalize_principal(json_t *statement, const char *key, const char *partition)
{
	json_t	   *principal = json_object_get(statement, key);
	const char *type;
	json_t	   *value;
	void	   *tmp;

	if (!json_is_object(principal))
		return;
	json_object_foreach_safe(principal, tmp, type, value)
	{
		json_t	   *array = as_array(principal, type);
		size_t		i;
		json_t	   *item;

		if (array == NULL)
			continue;
		if (strcmp(type, "AWS") == 0)
			json_array_foreach(array, i, item)
			{
				if (json_is_string(item) && is_account_id(json_string_value(item)) &&
					json_string_set_nocheck(item,
											psprintf("arn:%s:iam::%s:root", partition,
													 json_string_value(item))) != 0)
					jansson_out_of_memory();
			}
		sort_array(array, true);
	}
}

/*
 * normalize_condition
 *		Operator -> key -> set of values.  Condition keys are
 *		case-insensitive, so lower-cased; two keys of one operator that differ
 *		only in case cannot be merged without changing the meaning (they are
 *		ANDed), so such a document has no canonical form: false.  Operator
 *		names and values are case-sensitive and stay as they are.
 */
static bool
normalize_condition(json_t *statement)
{
	json_t	   *condition = json_object_get(statement, "Condition");
	const char *op;
	json_t	   *block;
	void	   *tmp;

	if (!json_is_object(condition))
		return true;
	json_object_foreach_safe(condition, tmp, op, block)
	{
		json_t	   *lowered;
		const char *key;
		json_t	   *value;
		char	  **lower;
		int			n = 0;

		if (!json_is_object(block))
			continue;
		/* palloc first: an error then leaves no reference of ours behind */
		lower = palloc(sizeof(char *) * Max(json_object_size(block), 1));
		json_object_foreach(block, key, value)
			lower[n++] = ascii_lower(key);
		if ((lowered = new_object()) == NULL)
			jansson_out_of_memory();
		n = 0;
		json_object_foreach(block, key, value)
		{
			if (json_object_get(lowered, lower[n]) != NULL)
			{
				json_decref(lowered);
				return false;
			}
			if (json_object_set_nocheck(lowered, lower[n++], value) != 0)
			{
				json_decref(lowered);
				jansson_out_of_memory();
			}
		}
		/* the *_new setters take the reference even when they fail */
		if (json_object_set_new_nocheck(condition, op, lowered) != 0)
			jansson_out_of_memory();
		json_object_foreach(lowered, key, value)
		{
			json_t	   *array = as_array(lowered, key);

			if (array != NULL)
				sort_array(array, true);
		}
	}
	return true;
}

/*
 * normalize_policy
 *		The canonical form of a parsed document, in place; false when it has
 *		none (not an object, or ambiguous).
 */
static bool
normalize_policy(json_t *root, const char *partition)
{
	json_t	   *statements;
	size_t		i;
	json_t	   *statement;

	if (!json_is_object(root))
		return false;
	statements = json_object_get(root, "Statement");
	if (json_is_object(statements))
		statements = wrap_in_array(root, "Statement", statements);
	if (!json_is_array(statements))
		return true;
	json_array_foreach(statements, i, statement)
	{
		if (!json_is_object(statement))
			continue;
		/* a statement id names a statement; it does not change what it says */
		json_object_del(statement, "Sid");
		normalize_set(statement, "Action", true);
		normalize_set(statement, "NotAction", true);
		normalize_set(statement, "Resource", false);
		normalize_set(statement, "NotResource", false);
		normalize_principal(statement, "Principal", partition);
		normalize_principal(statement, "NotPrincipal", partition);
		if (!normalize_condition(statement))
			return false;
	}
	/* statements are ORed: their order means nothing, repeats do differ */
	sort_array(statements, false);
	return true;
}

/*
 * canonical_policy
 *		The canonical text of a JSON document, or NULL with *why saying what
 *		made it unreadable.  Duplicate keys are refused, not resolved: which
 *		one IAM would honour is not ours to guess.
 */
static char *
canonical_policy(const char *text, size_t len, const char *partition,
				 const char **why)
{
	json_t	   *volatile root;
	json_error_t error;
	char	   *result = NULL;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL)
	{
		if (json_error_code(&error) == json_error_out_of_memory)
			jansson_out_of_memory();
		*why = pstrdup(error.text);
		return NULL;
	}
	PG_TRY();
	{
		if (normalize_policy(root, partition))
			result = dump_canonical(root);
		else
			*why = json_is_object(root) ?
				"two condition keys of one operator differ only in case" :
				"the document is not a JSON object";
	}
	PG_FINALLY();
	{
		json_decref(root);
	}
	PG_END_TRY();
	return result;
}

/* IAM's documents are URL-encoded; ours and a test's are plain JSON. */
static bool
is_plain_json(const char *doc)
{
	return doc[strspn(doc, " \t\n\r")] == '{';
}

/*
 * iam_policy_equal
 *		Whether the document IAM holds (actual) says what we want (desired).
 *		Anything wrong with the actual document is a difference, so that the
 *		caller rewrites it; the desired one is ours, and wrong only by a bug.
 */
bool
iam_policy_equal(const char *actual, const char *desired,
				 const char *partition)
{
	const char *why = NULL;
	char	   *want;
	char	   *got;
	size_t		len;

	check_partition(partition);
	want = canonical_policy(desired, strlen(desired), partition, &why);
	if (want == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("invalid desired policy document"),
				 errdetail("The document cannot be read: %s.", why)));

	if (is_plain_json(actual))
		len = strlen(actual);
	else if ((actual = percent_decode(actual, &len)) == NULL)
		return false;
	got = canonical_policy(actual, len, partition, &why);
	return got != NULL && strcmp(got, want) == 0;
}
