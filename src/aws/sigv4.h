/*
 * sigv4.h
 *		AWS Signature Version 4: header signing and presigned URLs.
 *
 * This module is plain C on top of OpenSSL, with no PostgreSQL dependency,
 * so that the standalone harness in test/sigv4 can link it and run AWS's
 * published test suite against exactly the code the extension runs.  That
 * is why it has its own header instead of declarations in aurora_tenancy.h.
 *
 * Memory comes from a caller-supplied allocator (the backend passes one
 * built on palloc, so an error thrown by the allocator leaks nothing), or
 * from malloc when none is given.  The signer itself never exits or logs;
 * every function reports failure through its SigV4Status result.
 */
#ifndef AURORA_TENANCY_SIGV4_H
#define AURORA_TENANCY_SIGV4_H

#include <stddef.h>

/* lower-case hex of a SHA-256 digest, without the terminating NUL */
#define SIGV4_HEX_LEN 64

/* length of a signing timestamp, "20150830T123600Z" */
#define SIGV4_TIMESTAMP_LEN 16

/* the hex SHA-256 of nothing: the payload hash of a request without a body */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* sigv4_sign_headers flags */
#define SIGV4_TOKEN_UNSIGNED	0x01	/* the session token header is added
										 * after signing, outside the
										 * signature */

typedef enum SigV4Status
{
	SIGV4_OK = 0,
	SIGV4_ERR_NOMEM,			/* the allocator returned NULL */
	SIGV4_ERR_INVALID,			/* an input is missing or malformed */
	SIGV4_ERR_CRYPTO			/* OpenSSL failed */
} SigV4Status;

/*
 * realloc_fn(NULL, n) allocates; realloc_fn(p, n) grows; either returns NULL
 * on failure (or throws, in the backend).  free_fn(NULL) must be harmless.
 */
typedef struct SigV4Allocator
{
	void	   *(*realloc_fn) (void *ptr, size_t size);
	void		(*free_fn) (void *ptr);
} SigV4Allocator;

/* A growable NUL-terminated string owned by an allocator. */
typedef struct SigV4Buf
{
	char	   *data;			/* NULL until something is appended */
	size_t		len;
	size_t		cap;
	int			failed;			/* an allocation failed; contents invalid */
	const SigV4Allocator *alloc;
} SigV4Buf;

/* A query parameter or a header.  Query parameters are given decoded. */
typedef struct SigV4KeyValue
{
	const char *key;
	const char *value;
} SigV4KeyValue;

/* The request to sign. */
typedef struct SigV4Request
{
	const char *method;			/* "GET", "POST", ... */
	const char *path;			/* as sent on the wire; NULL or "" means "/" */
	const SigV4KeyValue *query; /* decoded query parameters, in wire order */
	size_t		nquery;
	const SigV4KeyValue *headers;	/* must include Host */
	size_t		nheaders;
	const void *body;
	size_t		body_len;
	const char *payload_hash;	/* NULL: the SHA-256 of body */
} SigV4Request;

typedef struct SigV4Credentials
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL or "": none */
} SigV4Credentials;

typedef struct SigV4Scope
{
	const char *timestamp;		/* UTC, "20150830T123600Z" */
	const char *region;			/* "us-east-1" */
	const char *service;		/* "rds-db", "iam", ... */
} SigV4Scope;

/*
 * What signing produced.  The intermediate strings are kept because the
 * test suite compares each of them, and because they are what one wants to
 * see when AWS answers SignatureDoesNotMatch.
 */
typedef struct SigV4Result
{
	SigV4Buf	canonical_request;
	SigV4Buf	string_to_sign;
	SigV4Buf	signed_headers;
	char		signature[SIGV4_HEX_LEN + 1];
	SigV4Buf	authorization;	/* header signing: the Authorization value */
	SigV4Buf	query;			/* presigning: the whole query string */
} SigV4Result;

extern void sigv4_result_init(SigV4Result *result, const SigV4Allocator *alloc);
extern void sigv4_result_free(SigV4Result *result);

extern SigV4Status sigv4_sign_headers(const SigV4Request *req,
									  const SigV4Credentials *cred,
									  const SigV4Scope *scope,
									  int flags,
									  SigV4Result *result);
extern SigV4Status sigv4_presign(const SigV4Request *req,
								 const SigV4Credentials *cred,
								 const SigV4Scope *scope,
								 int expires,
								 SigV4Result *result);

extern int	sigv4_valid_timestamp(const char *timestamp);
extern void sigv4_buf_init(SigV4Buf *buf, const SigV4Allocator *alloc);
extern void sigv4_buf_free(SigV4Buf *buf);
extern void sigv4_buf_append(SigV4Buf *buf, const char *data, size_t len);
extern void sigv4_buf_append_str(SigV4Buf *buf, const char *str);
extern void sigv4_buf_append_uri(SigV4Buf *buf, const char *data, size_t len,
								 int keep_slash);
extern const char *sigv4_status_message(SigV4Status status);

#endif							/* AURORA_TENANCY_SIGV4_H */
