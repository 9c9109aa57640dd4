/*
 * aws/aws.h
 *		AWS: HTTP (libcurl, opened on first use), the credential chain,
 *		SigV4 (sigv4.h, independent of the backend), IAM auth tokens.
 */
#ifndef AURORA_TENANCY_AWS_H
#define AURORA_TENANCY_AWS_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/guc.h"

/* AWS credentials as found; every string is wiped when freed. */
typedef struct AwsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL: long-term credentials */
	const char *source;			/* "settings", "environment", ... */
} AwsCredentials;

struct SigV4Allocator;			/* in sigv4.h */

/* in aws_http.c */

/* the longest answer a request accepts unless it says otherwise */
#define AWS_HTTP_MAX_RESPONSE (1024 * 1024)

/* AwsHttpRequest.flags */
#define AWS_HTTP_NO_PROXY		0x01	/* ignore proxies set in the
										 * environment */
#define AWS_HTTP_UNREACHABLE_OK	0x02	/* nothing answering (no connection,
										 * a timeout, a connection lost before
										 * the whole answer) is status 0, not
										 * an error */

typedef struct AwsHttpRequest
{
	const char *what;			/* in messages: "the instance metadata
								 * service", "IAM CreateRole" */
	const char *method;			/* "GET", "PUT", "POST", ... */
	const char *url;			/* http:// or https:// */
	const char *const *headers; /* "Name: value" lines, already signed */
	int			nheaders;
	const char *body;			/* NULL: none (GET never has one) */
	size_t		body_len;
	int			connect_timeout_ms; /* from a setting, > 0 */
	int			timeout_ms;		/* the whole request, from a setting, > 0 */
	size_t		max_response;	/* 0: AWS_HTTP_MAX_RESPONSE */
	int			flags;
} AwsHttpRequest;

typedef struct AwsHttpResponse
{
	long		status;			/* HTTP status; 0: nothing answered */
	char	   *body;			/* NUL-terminated; may hold secrets */
	size_t		body_len;
} AwsHttpResponse;

extern void aws_http_request(const AwsHttpRequest *req, AwsHttpResponse *resp);
extern void aws_http_response_free(AwsHttpResponse *resp);

/* in aws_credentials.c */
extern char *tenancy_aws_signing_time;
extern void AwsInit(void);
extern AwsCredentials *aws_get_credentials(void);
extern void aws_free_credentials(AwsCredentials *creds);
extern const char *aws_get_region(void);
extern void aws_signing_timestamp(char *buf);
extern const struct SigV4Allocator *aws_sigv4_allocator(void);

/* in aws_query.c */

/* An element of an AWS answer: its name, its text, its child elements. */
typedef struct AwsXml
{
	const char *name;
	const char *text;			/* the text directly inside, maybe "" */
	List	   *children;		/* AwsXml * */
} AwsXml;

/* What an AWS Query API call answered. */
typedef struct AwsAnswer
{
	long		status;			/* HTTP status */
	AwsXml	   *xml;			/* the root element; NULL: no XML */
	const char *error_code;		/* an expected error's code; NULL: success */
	const char *error_message;
	const char *request_id;
} AwsAnswer;

/* aws_query flags */
#define AWS_QUERY_ONCE			0x01	/* never repeat what may have reached AWS */
#define AWS_QUERY_PRINCIPAL_LAG	0x02	/* retry "Invalid principal": a new
										 * principal may not be visible yet */

/*
 * One call a plan's step makes (aws_call_run).  Error codes in done_if mean
 * the entity already is as wanted (NoSuchEntity for a delete); a create
 * answered EntityAlreadyExists changed nothing if adoptable() says the
 * entity found by exists_get(exists_name) is the one it would have made,
 * and is refused if not.
 */
typedef struct AwsCall
{
	const char *service;		/* "iam", "sts", "rds" */
	const char *action;
	const char *region;
	int			nparams;
	const char **names;
	const char **values;
	const char *const *done_if;
	int			flags;			/* aws_query's */
	const char *exists_get;		/* "GetUser", "GetRole"; NULL: none */
	const char *exists_name;
	bool		(*adoptable) (const struct AwsXml *entity, const void *arg);
	const void *adoptable_arg;
	struct AwsAnswer **answer;	/* where the answer goes; NULL: nowhere */
} AwsCall;

extern char *tenancy_aws_iam_endpoint;
extern char *tenancy_aws_sts_endpoint;
extern char *tenancy_aws_rds_endpoint;
extern int	tenancy_aws_retry_timeout;
extern void AwsQueryInit(void);
extern bool aws_check_endpoint(char **newval, void **extra, GucSource source);
extern AwsAnswer *aws_query(const char *service, const char *action, const char *region,
							int nparams, const char *const *names,
							const char *const *values, const char *const *expected,
							int flags);
extern bool aws_call_run(const AwsCall *call);
extern char *aws_call_text(const AwsCall *call);
extern AwsXml *aws_xml_child(const AwsXml *x, const char *name);
extern AwsXml *aws_xml_path(const AwsXml *x, const char *path);
extern const char *aws_xml_text(const AwsXml *x, const char *path);
extern List *aws_xml_members(const AwsXml *x, const char *path);
extern const char *aws_xml_tag(const AwsXml *entity, const char *key);

/* in iam_token.c */
extern char *rds_auth_token(const char *host, int32 port, const char *username,
							const char *region);

#endif							/* AURORA_TENANCY_AWS_H */
