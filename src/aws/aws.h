/*
 * aws/aws.h
 *		AWS: HTTP (libcurl, opened on first use), the credential chain,
 *		SigV4 (sigv4.h, independent of the backend), IAM auth tokens.
 */
#ifndef AURORA_TENANCY_AWS_H
#define AURORA_TENANCY_AWS_H

#include "postgres.h"

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
#define AWS_HTTP_UNREACHABLE_OK	0x02	/* nothing answering is status 0, not
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

/* in iam_token.c */
extern char *rds_auth_token(const char *host, int32 port, const char *username,
							const char *region);

#endif							/* AURORA_TENANCY_AWS_H */
