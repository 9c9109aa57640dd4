/*
 * iam_token.c
 *		RDS IAM database authentication tokens (tenancy.iam_auth_token() is
 *		api/tokens.c; remote connections with auth 'iam' sign one each).
 *
 * A token is a presigned URL without its scheme: the host and port of the
 * database, then the query string of a SigV4 query-signed
 * "GET /?Action=connect&DBUser=..." for the service "rds-db", valid for 15
 * minutes.  The output is byte for byte what botocore's
 * generate_db_auth_token (and so "aws rds generate-db-auth-token") returns
 * for the same inputs, credentials and time; test/t checks that over
 * hundreds of random inputs.
 */
#include "aws/aws.h"

#include <arpa/inet.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "aws/sigv4.h"

/* tokens live 15 minutes, as the CLI's and botocore's */
#define IAM_TOKEN_EXPIRES 900

/* the longest DNS name */
#define MAX_HOST_LEN 253

/*
 * validate_host
 *		A DNS name or IPv4 address (letters, digits, '-', '.', '_'), or an
 *		IPv6 address in brackets.  Anything else (':', '/', '@', spaces, ...)
 *		would change the meaning of the URL the token is.
 */
static void
validate_host(const char *host)
{
	size_t		len = strlen(host);
	const char *p;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("host must not be empty")));
	if (len > MAX_HOST_LEN + 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("host is too long"),
				 errdetail("A host name has at most %d characters.", MAX_HOST_LEN)));
	if (host[0] == '[')
	{
		char		addr[MAX_HOST_LEN + 1];
		unsigned char buf[sizeof(struct in6_addr)];

		if (host[len - 1] != ']' || len - 2 > MAX_HOST_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid host \"%s\"", host),
					 errdetail("An IPv6 address must be enclosed in brackets.")));
		memcpy(addr, host + 1, len - 2);
		addr[len - 2] = '\0';
		if (inet_pton(AF_INET6, addr, buf) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid host \"%s\"", host),
					 errdetail("\"%s\" is not an IPv6 address.", addr)));
		return;
	}
	if (len > MAX_HOST_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("host is too long"),
				 errdetail("A host name has at most %d characters.", MAX_HOST_LEN)));
	for (p = host; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid host \"%s\"", host),
					 errdetail("A host is a DNS name or IPv4 address (letters, digits, \"-\", \".\" and \"_\"), or an IPv6 address in brackets.")));
	}
}

/* A region is lower-case letters, digits and '-', like "eu-west-1". */
static void
validate_region(const char *region)
{
	const char *p;

	if (region[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("region must not be empty")));
	for (p = region; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') ||
			p - region >= 64)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid AWS region \"%s\"", region),
					 errdetail("A region is made of lower-case letters, digits and \"-\", like \"eu-west-1\".")));
	}
}

/*
 * The host as botocore signs it: lower-case, and with the port unless it is
 * 443, the default of the https:// scheme botocore builds the URL with.
 */
static char *
signed_host(const char *host, int32 port)
{
	char	   *lower = pstrdup(host);
	char	   *p;

	for (p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char) (*p - 'A' + 'a');
	if (port == 443)
		return lower;
	return psprintf("%s:%d", lower, port);
}

/*
 * rds_auth_token
 *		The token for logging in to host:port as username, signed now with
 *		the credentials this session sees (region NULL: the configured one).
 */
char *
rds_auth_token(const char *host, int32 port, const char *username, const char *region)
{
	char	   *username_utf8;
	char		timestamp[SIGV4_TIMESTAMP_LEN + 1];
	AwsCredentials *creds;
	SigV4KeyValue query[2];
	SigV4KeyValue headers[1];
	SigV4Request req;
	SigV4Credentials cred;
	SigV4Scope scope;
	SigV4Result result;
	SigV4Status status;
	char	   *token;

	validate_host(host);
	if (port < 1 || port > 65535)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("port %d is out of range", port),
				 errdetail("A port is between 1 and 65535.")));
	if (username[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("username must not be empty")));
	if (strlen(username) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("username is too long"),
				 errdetail("A PostgreSQL role name has at most %d bytes.", NAMEDATALEN - 1)));
	if (region == NULL)
		region = aws_get_region();
	validate_region(region);

	/* AWS signs UTF-8, whatever the database encoding */
	username_utf8 = pg_server_to_any(username, strlen(username), PG_UTF8);

	aws_signing_timestamp(timestamp);
	creds = aws_get_credentials();

	query[0].key = "Action";
	query[0].value = "connect";
	query[1].key = "DBUser";
	query[1].value = username_utf8;
	headers[0].key = "host";
	headers[0].value = signed_host(host, port);

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/";
	req.query = query;
	req.nquery = 2;
	req.headers = headers;
	req.nheaders = 1;
	req.payload_hash = SIGV4_EMPTY_SHA256;

	cred.access_key_id = creds->access_key_id;
	cred.secret_access_key = creds->secret_access_key;
	cred.session_token = creds->session_token;
	scope.timestamp = timestamp;
	scope.region = region;
	scope.service = "rds-db";

	sigv4_result_init(&result, aws_sigv4_allocator());
	status = sigv4_presign(&req, &cred, &scope, IAM_TOKEN_EXPIRES, &result);
	if (status == SIGV4_ERR_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not sign the IAM authentication token"),
				 errdetail("The AWS credentials from the %s are not usable: the access key id must be printable ASCII without spaces or \"/\", and the session token must be a single line.",
						   creds->source)));
	else if (status != SIGV4_OK)
		ereport(ERROR,
				(errcode(status == SIGV4_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the IAM authentication token: %s",
						sigv4_status_message(status))));

	token = psprintf("%s:%d/?%s", host, port, result.query.data);
	sigv4_result_free(&result);
	aws_free_credentials(creds);

	return token;
}

