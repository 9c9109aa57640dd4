/*
 * aws_query.c
 *		The AWS Query API (IAM, STS, RDS): a form-encoded POST signed with
 *		SigV4, an XML answer, AWS's errors, and retries.
 *
 * One call is aws_query(): it signs with the credential chain's
 * credentials, sends through aws_http.c, and returns the answer's XML as a
 * small tree of palloc'd nodes (the libxml2 document is freed at once).  An
 * error AWS answers with is thrown with its code, message and request id,
 * unless the caller expects that code (NoSuchEntity when looking, for
 * example): then it comes back in the answer.
 *
 * Retries: throttling, AWS's 5xx, ConcurrentModification, timeouts and
 * connections that fail or close without an answer are retried with
 * exponential backoff and full jitter (AWS's advice), until
 * tenancy.aws_retry_timeout has passed.  A call that must not be repeated
 * blindly (it creates something that has no name to look for, like an
 * access key) says so, and then only failures that prove nothing happened
 * are retried.
 */
#include "aws/aws.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws/iam_policy.h"
#include "aws/sigv4.h"
#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

char	   *tenancy_aws_iam_endpoint = NULL;
char	   *tenancy_aws_sts_endpoint = NULL;
char	   *tenancy_aws_rds_endpoint = NULL;
int			tenancy_aws_connect_timeout = 5000;
int			tenancy_aws_request_timeout = 30000;
int			tenancy_aws_retry_timeout = 60000;

/* backoff: the first wait is at most this long, each next one twice that */
#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 5000

/* The Query API's version of each service. */
typedef struct AwsService
{
	const char *name;			/* in the signing scope */
	const char *version;
	const char *what;			/* in messages */
	char	  **endpoint;		/* the setting that overrides the default */
} AwsService;

static const AwsService services[] = {
	{"iam", "2010-05-08", "AWS IAM", &tenancy_aws_iam_endpoint},
	{"sts", "2011-06-15", "AWS STS", &tenancy_aws_sts_endpoint},
	{"rds", "2014-10-31", "Amazon RDS", &tenancy_aws_rds_endpoint},
};

/* GUC check hook: an endpoint is empty (AWS's own, or off) or an http(s) URL. */
bool
aws_check_endpoint(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0')
		return true;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
	{
		GUC_check_errdetail("An endpoint must be empty or start with http:// or https://.");
		return false;
	}
	return true;
}

void
AwsQueryInit(void)
{
	DefineCustomStringVariable("tenancy.aws_iam_endpoint",
							   "URL of AWS IAM; empty: the region's partition's public endpoint.",
							   NULL, &tenancy_aws_iam_endpoint, "",
							   PGC_SUSET, 0, aws_check_endpoint, NULL, NULL);
	DefineCustomStringVariable("tenancy.aws_sts_endpoint",
							   "URL of AWS STS; empty: the region's public endpoint.",
							   NULL, &tenancy_aws_sts_endpoint, "",
							   PGC_SUSET, 0, aws_check_endpoint, NULL, NULL);
	DefineCustomStringVariable("tenancy.aws_rds_endpoint",
							   "URL of Amazon RDS's API; empty: the region's public endpoint.",
							   NULL, &tenancy_aws_rds_endpoint, "",
							   PGC_SUSET, 0, aws_check_endpoint, NULL, NULL);
	DefineCustomIntVariable("tenancy.aws_connect_timeout",
							"Time allowed to connect to an AWS API endpoint.",
							NULL, &tenancy_aws_connect_timeout,
							5000, 1, 600000, PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("tenancy.aws_request_timeout",
							"Time allowed for one request to an AWS API.",
							NULL, &tenancy_aws_request_timeout,
							30000, 1, 600000, PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("tenancy.aws_retry_timeout",
							"Time an AWS API call is retried for after throttling, AWS's own errors or a lost connection.",
							NULL, &tenancy_aws_retry_timeout,
							60000, 0, 3600000, PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

static const AwsService *
find_service(const char *name)
{
	for (int i = 0; i < lengthof(services); i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	elog(ERROR, "unknown AWS service \"%s\"", name);
	return NULL;				/* keep compiler quiet */
}

/*
 * Where a service is reached, and the region its signatures name.  IAM is
 * global: one endpoint per partition, signed for that partition's first
 * region.
 */
static void
service_endpoint(const AwsService *svc, const char *region,
				 char **url, const char **signing_region)
{
	const char *partition = aws_partition(region);
	const char *suffix = strcmp(partition, "aws-cn") == 0 ? "amazonaws.com.cn" : "amazonaws.com";

	*signing_region = region;
	if (strcmp(svc->name, "iam") == 0)
	{
		if (strcmp(partition, "aws-cn") == 0)
			*signing_region = "cn-north-1";
		else if (strcmp(partition, "aws-us-gov") == 0)
			*signing_region = "us-gov-west-1";
		else
			*signing_region = "us-east-1";
	}
	if (*svc->endpoint && (*svc->endpoint)[0] != '\0')
		*url = pstrdup(*svc->endpoint);
	else if (strcmp(svc->name, "iam") == 0)
		*url = strcmp(partition, "aws") == 0 ? pstrdup("https://iam.amazonaws.com/") :
			psprintf("https://iam.%s.%s/", *signing_region, suffix);
	else
		*url = psprintf("https://%s.%s.%s/", svc->name, region, suffix);
}

/* host[:port] and path of an http(s) URL */
static void
split_url(const char *url, char **host, const char **path)
{
	const char *start = strstr(url, "://") + 3;
	const char *slash = strchr(start, '/');

	*host = slash ? pnstrdup(start, slash - start) : pstrdup(start);
	*path = slash ? slash : "/";
}

/* RFC 3986 percent-encoding, as SigV4 and the Query API want it */
static void
append_encoded(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
			appendStringInfoChar(buf, c);
		else
			appendStringInfo(buf, "%%%02X", c);
	}
}

/* ---- the answer: XML as a tree of palloc'd nodes ---- */

static AwsXml *
copy_tree(xmlNode *node)
{
	AwsXml	   *x = palloc0(sizeof(AwsXml));
	StringInfoData text;

	x->name = pstrdup((const char *) node->name);
	initStringInfo(&text);
	for (xmlNode *c = node->children; c; c = c->next)
	{
		if (c->type == XML_ELEMENT_NODE)
			x->children = lappend(x->children, copy_tree(c));
		else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			appendStringInfoString(&text, (const char *) c->content);
	}
	x->text = text.data;
	return x;
}

static AwsXml *
parse_answer(const char *body, size_t len)
{
	xmlDoc	   *volatile doc;
	AwsXml	   *volatile root = NULL;

	/* no network, no external entities, nothing printed to stderr */
	doc = xmlReadMemory(body, (int) len, NULL, NULL,
						XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL)
	{
		if (doc)
			xmlFreeDoc(doc);
		return NULL;
	}
	PG_TRY();
	{
		root = copy_tree(xmlDocGetRootElement(doc));
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
	return root;
}

/* The first child element of that name, or NULL. */
AwsXml *
aws_xml_child(const AwsXml *x, const char *name)
{
	ListCell   *lc;

	if (x == NULL)
		return NULL;
	foreach(lc, x->children)
	{
		AwsXml	   *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* The element at a path of child names separated by '/', or NULL. */
AwsXml *
aws_xml_path(const AwsXml *x, const char *path)
{
	char	   *copy = pstrdup(path);
	char	   *save;

	for (char *name = strtok_r(copy, "/", &save); name && x; name = strtok_r(NULL, "/", &save))
		x = aws_xml_child(x, name);
	pfree(copy);
	return (AwsXml *) x;
}

/* The text at a path, or NULL when the element is absent. */
const char *
aws_xml_text(const AwsXml *x, const char *path)
{
	AwsXml	   *e = aws_xml_path(x, path);

	return e ? e->text : NULL;
}

/* The <member> elements of the list at a path (AwsXml *), maybe NIL. */
List *
aws_xml_members(const AwsXml *x, const char *path)
{
	AwsXml	   *list = aws_xml_path(x, path);
	List	   *members = NIL;
	ListCell   *lc;

	if (list == NULL)
		return NIL;
	foreach(lc, list->children)
		if (strcmp(((AwsXml *) lfirst(lc))->name, "member") == 0)
			members = lappend(members, lfirst(lc));
	return members;
}

/* The value of a tag of an entity (a User or Role element); NULL: none. */
const char *
aws_xml_tag(const AwsXml *entity, const char *key)
{
	ListCell   *lc;

	foreach(lc, aws_xml_members(entity, "Tags"))
	{
		const char *k = aws_xml_text(lfirst(lc), "Key");

		if (k && strcmp(k, key) == 0)
			return aws_xml_text(lfirst(lc), "Value");
	}
	return NULL;
}

/* ---- errors and retries ---- */

static bool
is_retryable(long status, const char *code)
{
	static const char *const codes[] = {
		"Throttling", "ThrottlingException", "RequestLimitExceeded",
		"TooManyRequestsException", "RequestThrottled", "ServiceUnavailable",
		"ServiceFailure", "InternalFailure", "InternalError",
		"ConcurrentModification", "RequestTimeout", "RequestTimeoutException",
	};

	if (status >= 500 || status == 429)
		return true;
	if (code)
		for (int i = 0; i < lengthof(codes); i++)
			if (strcmp(code, codes[i]) == 0)
				return true;
	return false;
}

static bool
is_expected(const char *code, const char *const *expected)
{
	if (code == NULL || expected == NULL)
		return false;
	for (; *expected; expected++)
		if (strcmp(code, *expected) == 0)
			return true;
	return false;
}

/* A failure a retry cannot mend, with AWS's own words and request id. */
static void
throw_aws_error(const AwsService *svc, const char *action, const AwsAnswer *a)
{
	int			sqlstate = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
	const char *hint = NULL;

	if (a->error_code == NULL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s %s failed with HTTP status %ld", svc->what, action, a->status),
				 errdetail("The answer is not an AWS error document.")));
	if (strcmp(a->error_code, "AccessDenied") == 0 || strcmp(a->error_code, "AccessDeniedException") == 0 ||
		strcmp(a->error_code, "UnauthorizedOperation") == 0)
	{
		sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
		hint = "The AWS credentials the server uses need this action in their IAM policy (README.md lists the actions).";
	}
	else if (strcmp(a->error_code, "SignatureDoesNotMatch") == 0 ||
			 strcmp(a->error_code, "InvalidClientTokenId") == 0 ||
			 strcmp(a->error_code, "ExpiredToken") == 0)
	{
		sqlstate = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		hint = "Check the AWS credentials the server finds (tenancy.aws_access_key_id, the environment, the shared credentials file, the instance role) and its clock.";
	}
	else if (strcmp(a->error_code, "LimitExceeded") == 0)
		sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	else if (strcmp(a->error_code, "EntityAlreadyExists") == 0)
		sqlstate = ERRCODE_DUPLICATE_OBJECT;
	else if (strcmp(a->error_code, "NoSuchEntity") == 0 ||
			 strcmp(a->error_code, "DBClusterNotFoundFault") == 0)
		sqlstate = ERRCODE_UNDEFINED_OBJECT;
	else if (strcmp(a->error_code, "DeleteConflict") == 0)
		sqlstate = ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST;
	else if (is_retryable(a->status, a->error_code))
		sqlstate = ERRCODE_CONNECTION_FAILURE;

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s %s failed: %s", svc->what, action, a->error_code),
			 errdetail("%s (HTTP status %ld, request id %s)",
					   a->error_message ? a->error_message : "AWS gave no message.",
					   a->status, a->request_id ? a->request_id : "none"),
			 hint ? errhint("%s", hint) : 0));
}

/* Waits before the next attempt; false when the deadline would pass. */
static bool
backoff(int attempt, instr_time started)
{
	instr_time	now;
	double		elapsed_ms;
	long		cap = RETRY_BASE_MS;
	long		wait_ms;

	for (int i = 0; i < attempt && cap < RETRY_CAP_MS; i++)
		cap *= 2;
	cap = Min(cap, RETRY_CAP_MS);
	wait_ms = (long) pg_prng_uint64_range(&pg_global_prng_state, 1, cap);
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, started);
	elapsed_ms = INSTR_TIME_GET_MILLISEC(now);
	if (elapsed_ms + wait_ms > tenancy_aws_retry_timeout)
		return false;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 wait_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return true;
}

/* The form body of a call: Action, Version, then the parameters. */
static char *
form_body(const AwsService *svc, const char *action, int nparams,
		  const char *const *names, const char *const *values)
{
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfoString(&body, "Action=");
	append_encoded(&body, action);
	appendStringInfoString(&body, "&Version=");
	append_encoded(&body, svc->version);
	for (int i = 0; i < nparams; i++)
	{
		appendStringInfoChar(&body, '&');
		append_encoded(&body, names[i]);
		appendStringInfoChar(&body, '=');
		append_encoded(&body, values[i]);
	}
	return body.data;
}

/*
 * One signed request; returns the answer, or NULL when the connection
 * failed, timed out or closed without one (AWS may have acted on it).
 */
static AwsAnswer *
send_once(const AwsService *svc, const char *action, const char *region,
		  const char *body)
{
	AwsCredentials *creds = aws_get_credentials();
	char	   *url;
	const char *signing_region;
	char	   *host;
	const char *path;
	char		timestamp[SIGV4_TIMESTAMP_LEN + 1];
	SigV4KeyValue hdrs[2];
	SigV4Request sreq = {0};
	SigV4Credentials scred;
	SigV4Scope	scope;
	SigV4Result result;
	SigV4Status status;
	const char *lines[5];
	int			nlines = 0;
	AwsHttpRequest req = {0};
	AwsHttpResponse resp = {0};
	AwsAnswer  *a;

	service_endpoint(svc, region, &url, &signing_region);
	split_url(url, &host, &path);
	aws_signing_timestamp(timestamp);

	hdrs[0].key = "Host";
	hdrs[0].value = host;
	hdrs[1].key = "Content-Type";
	hdrs[1].value = "application/x-www-form-urlencoded; charset=utf-8";
	sreq.method = "POST";
	sreq.path = path;
	sreq.headers = hdrs;
	sreq.nheaders = 2;
	sreq.body = body;
	sreq.body_len = strlen(body);
	scred.access_key_id = creds->access_key_id;
	scred.secret_access_key = creds->secret_access_key;
	scred.session_token = creds->session_token;
	scope.timestamp = timestamp;
	scope.region = signing_region;
	scope.service = svc->name;
	sigv4_result_init(&result, aws_sigv4_allocator());
	status = sigv4_sign_headers(&sreq, &scred, &scope, 0, &result);
	if (status != SIGV4_OK)
		elog(ERROR, "could not sign the request to %s: %s", svc->what, sigv4_status_message(status));

	lines[nlines++] = psprintf("Content-Type: %s", hdrs[1].value);
	lines[nlines++] = psprintf("X-Amz-Date: %s", timestamp);
	lines[nlines++] = psprintf("Authorization: %s", result.authorization.data);
	if (creds->session_token)
		lines[nlines++] = psprintf("X-Amz-Security-Token: %s", creds->session_token);

	req.what = psprintf("%s %s", svc->what, action);
	req.method = "POST";
	req.url = url;
	req.headers = lines;
	req.nheaders = nlines;
	req.body = body;
	req.body_len = strlen(body);
	req.connect_timeout_ms = tenancy_aws_connect_timeout;
	req.timeout_ms = tenancy_aws_request_timeout;
	req.flags = AWS_HTTP_UNREACHABLE_OK;

	aws_http_request(&req, &resp);
	for (int i = 0; i < nlines; i++)
		pfree((char *) lines[i]);
	sigv4_result_free(&result);
	aws_free_credentials(creds);

	if (resp.status == 0)
	{
		aws_http_response_free(&resp);
		return NULL;
	}
	a = palloc0(sizeof(AwsAnswer));
	a->status = resp.status;
	a->xml = parse_answer(resp.body, resp.body_len);
	aws_http_response_free(&resp);
	if (a->xml && strcmp(a->xml->name, "ErrorResponse") == 0)
	{
		a->error_code = aws_xml_text(a->xml, "Error/Code");
		a->error_message = aws_xml_text(a->xml, "Error/Message");
		a->request_id = aws_xml_text(a->xml, "RequestId");
	}
	else if (a->xml)
		a->request_id = aws_xml_text(a->xml, "ResponseMetadata/RequestId");
	if (a->status >= 300 && a->error_code == NULL && a->xml && aws_xml_child(a->xml, "Error"))
	{
		/* some services answer <Response><Errors><Error> or <Error> alone */
		a->error_code = aws_xml_text(a->xml, "Error/Code");
		a->error_message = aws_xml_text(a->xml, "Error/Message");
	}
	return a;
}

/*
 * aws_query
 *		Calls an action of the Query API of service ("iam", "sts", "rds")
 *		in region; nparams name=value parameters.  Returns the answer; an
 *		error AWS answers with is thrown, unless its code is in expected
 *		(NULL-terminated), then it is in the answer's error_code.  Flags:
 *		AWS_QUERY_ONCE, the call must not be repeated if it may have reached
 *		AWS; AWS_QUERY_PRINCIPAL_LAG, "Invalid principal" is retried (a
 *		principal just created is not yet visible everywhere).
 */
AwsAnswer *
aws_query(const char *service, const char *action, const char *region,
		  int nparams, const char *const *names, const char *const *values,
		  const char *const *expected, int flags)
{
	const AwsService *svc = find_service(service);
	char	   *body = form_body(svc, action, nparams, names, values);
	instr_time	started;
	int			attempt = 0;

	INSTR_TIME_SET_CURRENT(started);
	for (;;)
	{
		AwsAnswer  *a = send_once(svc, action, region, body);
		bool		retry;
		bool		unreadable = false;

		/*
		 * A success whose document cannot be read (cut short, or not AWS's)
		 * is no answer: AWS may have acted, and what it said is lost.
		 */
		if (a != NULL && a->status >= 200 && a->status < 300 && a->xml == NULL)
		{
			a = NULL;
			unreadable = true;
		}
		if (a != NULL && a->status >= 200 && a->status < 300)
			return a;
		if (a != NULL && is_expected(a->error_code, expected))
			return a;
		if (a == NULL)
			retry = !(flags & AWS_QUERY_ONCE);
		else if (a->error_code && strcmp(a->error_code, "MalformedPolicyDocument") == 0)
			retry = (flags & AWS_QUERY_PRINCIPAL_LAG) && a->error_message &&
				strstr(a->error_message, "Invalid principal") != NULL;
		else
			retry = is_retryable(a->status, a->error_code) &&
				!((flags & AWS_QUERY_ONCE) && a->status >= 500);

		if (retry && backoff(attempt++, started))
		{
			ereport(DEBUG1,
					(errmsg_internal("%s %s: retrying after %s", svc->what, action,
									 a ? (a->error_code ? a->error_code : "an HTTP error") : "no answer")));
			continue;
		}
		if (a == NULL && unreadable)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("%s answered %s with a document that cannot be read", svc->what, action),
					 errdetail("HTTP status 2xx, but the body is not a complete XML document; AWS may have done what was asked."),
					 errhint("Calling the operation again resumes it (an access key whose answer was lost is deleted and made anew).")));
		if (a == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not reach %s for %s", svc->what, action),
					 errdetail("No answer after %d attempts in %d ms.", attempt + 1, tenancy_aws_retry_timeout),
					 errhint("Check the endpoint (tenancy.aws_%s_endpoint) and the network; calling the operation again resumes it.", svc->name)));
		throw_aws_error(svc, action, a);
	}
}

/*
 * aws_call_text
 *		What a step's call is, for the audit log and messages: the service,
 *		the action and its parameters.  No request carries a secret (an
 *		access key's secret is only ever in an answer).
 */
char *
aws_call_text(const AwsCall *call)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s %s", find_service(call->service)->what, call->action);
	for (int i = 0; i < call->nparams; i++)
		appendStringInfo(&buf, " %s=%s", call->names[i], call->values[i]);
	return buf.data;
}

/*
 * aws_call_run
 *		Makes a step's call; returns whether it changed anything.  Throws
 *		what AWS refuses, and a same-named entity that is not the tenant's.
 */
bool
aws_call_run(const AwsCall *call)
{
	const char *expected[16];
	int			n = 0;
	AwsAnswer  *a;

	for (const char *const *c = call->done_if; c && *c && n < lengthof(expected) - 2; c++)
		expected[n++] = *c;
	if (call->exists_get)
		expected[n++] = "EntityAlreadyExists";
	expected[n] = NULL;

	a = aws_query(call->service, call->action, call->region, call->nparams,
				  call->names, call->values, expected, call->flags);
	if (a->error_code && strcmp(a->error_code, "EntityAlreadyExists") == 0 && call->exists_get)
	{
		/* made by an earlier attempt whose answer was lost, or by someone else */
		const char *name_param = strcmp(call->exists_get, "GetUser") == 0 ? "UserName" : "RoleName";
		AwsAnswer  *g = aws_query(call->service, call->exists_get, call->region, 1,
								  &name_param, &call->exists_name, NULL, 0);
		AwsXml	   *entity = aws_xml_path(g->xml, psprintf("%sResult/%s", call->exists_get,
														   call->exists_get + 3));

		if (!call->adoptable(entity, call->adoptable_arg))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("IAM %s \"%s\" exists and is not this tenant's",
							strcmp(call->exists_get, "GetUser") == 0 ? "user" : "role",
							call->exists_name),
					 errdetail("It lacks the marker tag aurora_tenancy signs for this tenant and cluster, or trusts other principals than the tenant's."),
					 errhint("IAM names are unique per account: rename or delete that entity, or give the tenant another name.")));
		return false;
	}
	if (a->error_code)
		return false;
	if (call->answer)
		*call->answer = a;
	return true;
}
