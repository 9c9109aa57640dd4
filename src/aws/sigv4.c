/*
 * sigv4.c
 *		AWS Signature Version 4, as plain C on top of OpenSSL.
 *
 * Builds the canonical request, the string to sign, the signing key and the
 * signature, for both ways AWS accepts a signature: an Authorization header
 * (API calls such as IAM's) and query parameters (presigned URLs, which is
 * what an RDS IAM authentication token is).  The rules are those of AWS's
 * SigV4 documentation; where the documentation leaves room, the choices are
 * botocore's, because botocore is the oracle the tests compare against:
 *
 * - the path is normalized as RFC 3986 section 5.2.4 says, with empty
 *   segments removed as well, then URI-encoded once with '/' kept;
 * - query keys and values are URI-encoded (everything but A-Z a-z 0-9 - _ .
 *   ~), and pairs are sorted by encoded key, then by encoded value;
 * - header names are lower-cased, values trimmed with inner runs of white
 *   space made one space, and repeated headers joined with ',' in order.
 *
 * There is deliberately no PostgreSQL code here (no postgres.h, no palloc,
 * no ereport): test/sigv4 links this file into a standalone program.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* One header or query parameter on its way into canonical form. */
typedef struct CanonEntry
{
	size_t		key_off;		/* offsets into the scratch buffer, */
	size_t		value_off;		/* resolved to pointers once it stops growing */
	const char *key;
	const char *value;
	size_t		order;			/* input position, to keep the sort stable */
} CanonEntry;

static void *
default_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}

static void
default_free(void *ptr)
{
	free(ptr);
}

static const SigV4Allocator default_allocator = {default_realloc, default_free};

static const char hexdigits_lower[] = "0123456789abcdef";
static const char hexdigits_upper[] = "0123456789ABCDEF";

/*
 * sigv4_buf_init / sigv4_buf_free
 *		A buffer starts empty and allocates on first append.  Freeing wipes
 *		the contents first: some buffers hold a secret key or a session
 *		token, and freed memory is not ours to leave them in.
 */
void
sigv4_buf_init(SigV4Buf *buf, const SigV4Allocator *alloc)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = 0;
	buf->alloc = alloc ? alloc : &default_allocator;
}

void
sigv4_buf_free(SigV4Buf *buf)
{
	if (buf->data != NULL)
	{
		OPENSSL_cleanse(buf->data, buf->cap);
		buf->alloc->free_fn(buf->data);
	}
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/*
 * buf_reserve
 *		Make room for extra more bytes plus the terminating NUL.  Growing
 *		copies by hand rather than through realloc so that the old block can
 *		be wiped before it is released.
 */
static int
buf_reserve(SigV4Buf *buf, size_t extra)
{
	size_t		need;
	size_t		newcap;
	char	   *newdata;

	if (buf->failed)
		return 0;
	if (extra > ((size_t) -1) / 2 - buf->len)
	{
		buf->failed = 1;
		return 0;
	}
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return 1;
	newcap = buf->cap ? buf->cap : 128;
	while (newcap < need)
		newcap *= 2;
	newdata = buf->alloc->realloc_fn(NULL, newcap);
	if (newdata == NULL)
	{
		buf->failed = 1;
		return 0;
	}
	if (buf->data != NULL)
	{
		memcpy(newdata, buf->data, buf->len + 1);
		OPENSSL_cleanse(buf->data, buf->cap);
		buf->alloc->free_fn(buf->data);
	}
	else
		newdata[0] = '\0';
	buf->data = newdata;
	buf->cap = newcap;
	return 1;
}

void
sigv4_buf_append(SigV4Buf *buf, const char *data, size_t len)
{
	if (!buf_reserve(buf, len))
		return;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void
sigv4_buf_append_str(SigV4Buf *buf, const char *str)
{
	sigv4_buf_append(buf, str, strlen(str));
}

static void
buf_append_char(SigV4Buf *buf, char c)
{
	sigv4_buf_append(buf, &c, 1);
}

/* Append a NUL byte that counts as content: it separates scratch strings. */
static void
buf_append_nul(SigV4Buf *buf)
{
	if (!buf_reserve(buf, 1))
		return;
	buf->data[buf->len] = '\0';
	buf->len++;
	buf->data[buf->len] = '\0';
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

/*
 * sigv4_buf_append_uri
 *		URI-encode as SigV4 wants it: every byte but the unreserved ones
 *		becomes %XX with upper-case hex; '/' is kept when encoding a path.
 *		Bytes are encoded one by one, so UTF-8 comes out as AWS expects.
 */
void
sigv4_buf_append_uri(SigV4Buf *buf, const char *data, size_t len, int keep_slash)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			buf_append_char(buf, (char) c);
		else
		{
			char		esc[3];

			esc[0] = '%';
			esc[1] = hexdigits_upper[c >> 4];
			esc[2] = hexdigits_upper[c & 0x0f];
			sigv4_buf_append(buf, esc, 3);
		}
	}
}

static void
hex_encode(const unsigned char *bytes, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits_lower[bytes[i] >> 4];
		out[2 * i + 1] = hexdigits_lower[bytes[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* The lower-case hex SHA-256 of data, into out[SIGV4_HEX_LEN + 1]. */
static int
sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	if (SHA256((const unsigned char *) (data ? data : ""), len, digest) == NULL)
		return 0;
	hex_encode(digest, sizeof(digest), out);
	return 1;
}

static int
hmac_sha256(const void *key, size_t keylen, const char *msg, size_t msglen,
			unsigned char *out)
{
	unsigned int outlen = 0;

	if (keylen > (size_t) 0x7fffffff)
		return 0;
	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) msg,
			 msglen, out, &outlen) == NULL)
		return 0;
	return outlen == SHA256_DIGEST_LENGTH;
}

int
sigv4_valid_timestamp(const char *ts)
{
	int			i;

	if (ts == NULL || strlen(ts) != SIGV4_TIMESTAMP_LEN)
		return 0;
	for (i = 0; i < SIGV4_TIMESTAMP_LEN; i++)
	{
		if (i == 8)
		{
			if (ts[i] != 'T')
				return 0;
		}
		else if (i == 15)
		{
			if (ts[i] != 'Z')
				return 0;
		}
		else if (ts[i] < '0' || ts[i] > '9')
			return 0;
	}
	return 1;
}

static int
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/*
 * A header name is an RFC 9110 token: no separators, spaces or controls.
 * Anything else could not be sent, and ':' or a newline would let a name
 * forge extra lines in the canonical request.
 */
static int
valid_header_name(const char *name)
{
	const unsigned char *p;

	if (empty(name))
		return 0;
	for (p = (const unsigned char *) name; *p; p++)
	{
		if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p))
			return 0;
	}
	return 1;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		c == '\f';
}

/*
 * append_trimmed
 *		SigV4's Trimall: drop leading and trailing white space and make every
 *		inner run of it (line folds of a multi-line value included) one space.
 */
static void
append_trimmed(SigV4Buf *buf, const char *value)
{
	const unsigned char *p = (const unsigned char *) value;
	int			pending_space = 0;
	int			started = 0;

	for (; *p; p++)
	{
		if (is_space(*p))
		{
			pending_space = started;
			continue;
		}
		if (pending_space)
			buf_append_char(buf, ' ');
		pending_space = 0;
		started = 1;
		buf_append_char(buf, (char) *p);
	}
}

static void
append_lower(SigV4Buf *buf, const char *s)
{
	for (; *s; s++)
	{
		char		c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		buf_append_char(buf, c);
	}
}

static int
compare_entries(const void *a, const void *b)
{
	const CanonEntry *ea = (const CanonEntry *) a;
	const CanonEntry *eb = (const CanonEntry *) b;
	int			cmp;

	cmp = strcmp(ea->key, eb->key);
	if (cmp != 0)
		return cmp;
	return (ea->order < eb->order) ? -1 : (ea->order > eb->order);
}

static int
compare_query_entries(const void *a, const void *b)
{
	const CanonEntry *ea = (const CanonEntry *) a;
	const CanonEntry *eb = (const CanonEntry *) b;
	int			cmp;

	cmp = strcmp(ea->key, eb->key);
	if (cmp != 0)
		return cmp;
	return strcmp(ea->value, eb->value);
}

/*
 * append_canonical_path
 *		Remove "." and ".." segments and empty segments (so "//" becomes
 *		"/"), keep a leading and a trailing '/', then URI-encode.  An empty
 *		path is "/".  The segment stack lives in a buffer of offsets.
 */
static void
append_canonical_path(SigV4Buf *out, const char *path, const SigV4Allocator *alloc)
{
	size_t		len;
	size_t		pos;
	size_t		nseg = 0;
	size_t		i;
	SigV4Buf	segs;			/* pairs of size_t: segment offset, length */

	if (empty(path))
	{
		buf_append_char(out, '/');
		return;
	}
	len = strlen(path);
	sigv4_buf_init(&segs, alloc);
	pos = 0;
	while (pos <= len)
	{
		size_t		end = pos;
		size_t		seglen;

		while (end < len && path[end] != '/')
			end++;
		seglen = end - pos;
		if (seglen == 2 && path[pos] == '.' && path[pos + 1] == '.')
		{
			if (nseg > 0)
				nseg--;
		}
		else if (seglen > 0 && !(seglen == 1 && path[pos] == '.'))
		{
			size_t		pair[2];

			pair[0] = pos;
			pair[1] = seglen;
			segs.len = nseg * sizeof(pair);
			sigv4_buf_append(&segs, (const char *) pair, sizeof(pair));
			nseg++;
		}
		pos = end + 1;
	}
	if (segs.failed)
	{
		out->failed = 1;
		sigv4_buf_free(&segs);
		return;
	}

	if (path[0] == '/')
		buf_append_char(out, '/');
	for (i = 0; i < nseg; i++)
	{
		size_t		pair[2];

		memcpy(pair, segs.data + i * sizeof(pair), sizeof(pair));
		if (i > 0)
			buf_append_char(out, '/');
		sigv4_buf_append_uri(out, path + pair[0], pair[1], 0);
	}
	if (nseg > 0 && path[len - 1] == '/')
		buf_append_char(out, '/');
	sigv4_buf_free(&segs);
}

/*
 * canonical_headers
 *		Append the canonical headers block (each "name:value\n", sorted by
 *		name, repeated names joined with ',') to out, and the signed headers
 *		list to signed_headers.  extra holds headers the signer adds itself
 *		(X-Amz-Date, X-Amz-Security-Token), signed like the caller's.
 */
static SigV4Status
canonical_headers(const SigV4KeyValue *headers, size_t nheaders,
				  const SigV4KeyValue *extra, size_t nextra,
				  const SigV4Allocator *alloc,
				  SigV4Buf *out, SigV4Buf *signed_headers)
{
	size_t		n = nheaders + nextra;
	size_t		i;
	SigV4Buf	scratch;
	CanonEntry *entries;
	int			have_host = 0;

	if (n == 0)
		return SIGV4_ERR_INVALID;
	for (i = 0; i < n; i++)
	{
		const SigV4KeyValue *h = i < nheaders ? &headers[i] : &extra[i - nheaders];

		if (!valid_header_name(h->key) || h->value == NULL)
			return SIGV4_ERR_INVALID;
	}

	entries = alloc->realloc_fn(NULL, n * sizeof(CanonEntry));
	if (entries == NULL)
		return SIGV4_ERR_NOMEM;
	sigv4_buf_init(&scratch, alloc);
	for (i = 0; i < n; i++)
	{
		const SigV4KeyValue *h = i < nheaders ? &headers[i] : &extra[i - nheaders];

		entries[i].order = i;
		entries[i].key_off = scratch.len;
		append_lower(&scratch, h->key);
		buf_append_nul(&scratch);
		entries[i].value_off = scratch.len;
		append_trimmed(&scratch, h->value);
		buf_append_nul(&scratch);
	}
	if (scratch.failed)
	{
		sigv4_buf_free(&scratch);
		alloc->free_fn(entries);
		return SIGV4_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
	{
		entries[i].key = scratch.data + entries[i].key_off;
		entries[i].value = scratch.data + entries[i].value_off;
		if (strcmp(entries[i].key, "host") == 0)
			have_host = 1;
	}
	qsort(entries, n, sizeof(CanonEntry), compare_entries);

	for (i = 0; i < n; i++)
	{
		if (i > 0 && strcmp(entries[i].key, entries[i - 1].key) == 0)
		{
			buf_append_char(out, ',');
			sigv4_buf_append_str(out, entries[i].value);
			continue;
		}
		if (i > 0)
		{
			buf_append_char(out, '\n');
			buf_append_char(signed_headers, ';');
		}
		sigv4_buf_append_str(out, entries[i].key);
		buf_append_char(out, ':');
		sigv4_buf_append_str(out, entries[i].value);
		sigv4_buf_append_str(signed_headers, entries[i].key);
	}
	buf_append_char(out, '\n');

	sigv4_buf_free(&scratch);
	alloc->free_fn(entries);
	return have_host ? SIGV4_OK : SIGV4_ERR_INVALID;
}

/*
 * canonical_query
 *		Append the canonical query string: every parameter URI-encoded, the
 *		pairs sorted by encoded key and then by encoded value (so repeated
 *		keys are ordered by value, as the SigV4 documentation says).
 */
static SigV4Status
canonical_query(const SigV4KeyValue *params, size_t nparams,
				const SigV4KeyValue *extra, size_t nextra,
				const SigV4Allocator *alloc, SigV4Buf *out)
{
	size_t		n = nparams + nextra;
	size_t		i;
	SigV4Buf	scratch;
	CanonEntry *entries;

	if (n == 0)
		return SIGV4_OK;
	for (i = 0; i < n; i++)
	{
		const SigV4KeyValue *p = i < nparams ? &params[i] : &extra[i - nparams];

		if (p->key == NULL)
			return SIGV4_ERR_INVALID;
	}
	entries = alloc->realloc_fn(NULL, n * sizeof(CanonEntry));
	if (entries == NULL)
		return SIGV4_ERR_NOMEM;
	sigv4_buf_init(&scratch, alloc);
	for (i = 0; i < n; i++)
	{
		const SigV4KeyValue *p = i < nparams ? &params[i] : &extra[i - nparams];

		entries[i].order = i;
		entries[i].key_off = scratch.len;
		sigv4_buf_append_uri(&scratch, p->key, strlen(p->key), 0);
		buf_append_nul(&scratch);
		entries[i].value_off = scratch.len;
		if (p->value)
			sigv4_buf_append_uri(&scratch, p->value, strlen(p->value), 0);
		buf_append_nul(&scratch);
	}
	if (scratch.failed)
	{
		sigv4_buf_free(&scratch);
		alloc->free_fn(entries);
		return SIGV4_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
	{
		entries[i].key = scratch.data + entries[i].key_off;
		entries[i].value = scratch.data + entries[i].value_off;
	}
	qsort(entries, n, sizeof(CanonEntry), compare_query_entries);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			buf_append_char(out, '&');
		sigv4_buf_append_str(out, entries[i].key);
		buf_append_char(out, '=');
		sigv4_buf_append_str(out, entries[i].value);
	}
	sigv4_buf_free(&scratch);
	alloc->free_fn(entries);
	return SIGV4_OK;
}


/*
 * A piece of the credential scope or the access key id: printable ASCII
 * without spaces or '/', since it is joined with '/' into the scope and
 * travels in a header and a query string.
 */
static int
valid_scope_part(const char *s)
{
	const unsigned char *p;

	if (empty(s))
		return 0;
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p <= ' ' || *p >= 0x7f || *p == '/')
			return 0;
	}
	return 1;
}

static SigV4Status
check_inputs(const SigV4Request *req, const SigV4Credentials *cred,
			 const SigV4Scope *scope)
{
	const char *p;

	if (req == NULL || cred == NULL || scope == NULL)
		return SIGV4_ERR_INVALID;
	if (!valid_scope_part(req->method) ||
		(req->nquery > 0 && req->query == NULL) ||
		(req->nheaders > 0 && req->headers == NULL) ||
		(req->body_len > 0 && req->body == NULL))
		return SIGV4_ERR_INVALID;
	if (req->payload_hash != NULL && !valid_scope_part(req->payload_hash))
		return SIGV4_ERR_INVALID;
	if (!valid_scope_part(cred->access_key_id) || empty(cred->secret_access_key))
		return SIGV4_ERR_INVALID;
	if (!empty(cred->session_token))
	{
		/* it becomes a header value: no line breaks */
		for (p = cred->session_token; *p; p++)
			if (*p == '\r' || *p == '\n')
				return SIGV4_ERR_INVALID;
	}
	if (!sigv4_valid_timestamp(scope->timestamp) ||
		!valid_scope_part(scope->region) || !valid_scope_part(scope->service))
		return SIGV4_ERR_INVALID;
	return SIGV4_OK;
}

/* "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request" */
static void
append_credential(SigV4Buf *buf, const SigV4Credentials *cred,
				  const SigV4Scope *scope, int with_key)
{
	if (with_key)
	{
		sigv4_buf_append_str(buf, cred->access_key_id);
		buf_append_char(buf, '/');
	}
	sigv4_buf_append(buf, scope->timestamp, 8);
	buf_append_char(buf, '/');
	sigv4_buf_append_str(buf, scope->region);
	buf_append_char(buf, '/');
	sigv4_buf_append_str(buf, scope->service);
	sigv4_buf_append_str(buf, "/aws4_request");
}

/*
 * What presigning adds to the query, in the order botocore writes them
 * into the URL (the canonical query sorts them anyway).
 */
typedef struct PresignParams
{
	SigV4Buf	credential;
	char		expires[16];
	SigV4KeyValue params[6];
	size_t		nparams;
} PresignParams;

/*
 * build_canonical_request
 *		Method, canonical path, canonical query, canonical headers, signed
 *		headers and payload hash, one per line.  When presigning, the X-Amz-*
 *		query parameters are made here, because X-Amz-SignedHeaders is only
 *		known once the headers are canonical.
 */
static SigV4Status
build_canonical_request(const SigV4Request *req,
						const SigV4Credentials *cred,
						const SigV4Scope *scope,
						const SigV4KeyValue *extra_headers, size_t nextra_headers,
						PresignParams *presign,
						SigV4Result *result)
{
	const SigV4Allocator *alloc = result->canonical_request.alloc;
	SigV4Buf   *cr = &result->canonical_request;
	SigV4Buf	headers;
	SigV4Status status;
	const char *m;
	char		payload[SIGV4_HEX_LEN + 1];

	sigv4_buf_init(&headers, alloc);
	status = canonical_headers(req->headers, req->nheaders,
							   extra_headers, nextra_headers, alloc,
							   &headers, &result->signed_headers);
	if (status != SIGV4_OK)
	{
		sigv4_buf_free(&headers);
		return status;
	}

	for (m = req->method; *m; m++)
		buf_append_char(cr, (*m >= 'a' && *m <= 'z') ? (char) (*m - 'a' + 'A') : *m);
	buf_append_char(cr, '\n');
	append_canonical_path(cr, req->path, alloc);
	buf_append_char(cr, '\n');

	if (presign != NULL)
	{
		size_t		n = 0;

		append_credential(&presign->credential, cred, scope, 1);
		presign->params[n].key = "X-Amz-Algorithm";
		presign->params[n++].value = SIGV4_ALGORITHM;
		presign->params[n].key = "X-Amz-Credential";
		presign->params[n++].value = presign->credential.data;
		presign->params[n].key = "X-Amz-Date";
		presign->params[n++].value = scope->timestamp;
		presign->params[n].key = "X-Amz-Expires";
		presign->params[n++].value = presign->expires;
		presign->params[n].key = "X-Amz-SignedHeaders";
		presign->params[n++].value = result->signed_headers.data;
		if (!empty(cred->session_token))
		{
			presign->params[n].key = "X-Amz-Security-Token";
			presign->params[n++].value = cred->session_token;
		}
		presign->nparams = n;
		if (presign->credential.failed || result->signed_headers.failed)
		{
			sigv4_buf_free(&headers);
			return SIGV4_ERR_NOMEM;
		}
		status = canonical_query(req->query, req->nquery,
								 presign->params, presign->nparams, alloc, cr);
	}
	else
		status = canonical_query(req->query, req->nquery, NULL, 0, alloc, cr);
	if (status != SIGV4_OK)
	{
		sigv4_buf_free(&headers);
		return status;
	}
	buf_append_char(cr, '\n');
	if (headers.data != NULL)
		sigv4_buf_append(cr, headers.data, headers.len);
	sigv4_buf_free(&headers);
	buf_append_char(cr, '\n');
	if (result->signed_headers.data != NULL)
		sigv4_buf_append_str(cr, result->signed_headers.data);
	buf_append_char(cr, '\n');

	if (req->payload_hash != NULL)
		sigv4_buf_append_str(cr, req->payload_hash);
	else
	{
		if (!sha256_hex(req->body, req->body_len, payload))
			return SIGV4_ERR_CRYPTO;
		sigv4_buf_append_str(cr, payload);
	}
	return cr->failed ? SIGV4_ERR_NOMEM : SIGV4_OK;
}

/*
 * compute_signature
 *		The string to sign (algorithm, timestamp, scope, hash of the
 *		canonical request), the signing key derived from the secret through
 *		the date, region, service and "aws4_request", and the signature.
 *		Every intermediate key is wiped before returning.
 */
static SigV4Status
compute_signature(const SigV4Credentials *cred, const SigV4Scope *scope,
				  SigV4Result *result)
{
	SigV4Buf   *sts = &result->string_to_sign;
	SigV4Buf	secret;
	unsigned char key[SHA256_DIGEST_LENGTH];
	unsigned char sig[SHA256_DIGEST_LENGTH];
	char		crhash[SIGV4_HEX_LEN + 1];
	int			ok;

	if (!sha256_hex(result->canonical_request.data,
					result->canonical_request.len, crhash))
		return SIGV4_ERR_CRYPTO;
	sigv4_buf_append_str(sts, SIGV4_ALGORITHM "\n");
	sigv4_buf_append_str(sts, scope->timestamp);
	buf_append_char(sts, '\n');
	append_credential(sts, cred, scope, 0);
	buf_append_char(sts, '\n');
	sigv4_buf_append_str(sts, crhash);
	if (sts->failed)
		return SIGV4_ERR_NOMEM;

	sigv4_buf_init(&secret, sts->alloc);
	sigv4_buf_append_str(&secret, "AWS4");
	sigv4_buf_append_str(&secret, cred->secret_access_key);
	if (secret.failed)
	{
		sigv4_buf_free(&secret);
		return SIGV4_ERR_NOMEM;
	}
	ok = hmac_sha256(secret.data, secret.len, scope->timestamp, 8, key) &&
		hmac_sha256(key, sizeof(key), scope->region, strlen(scope->region), key) &&
		hmac_sha256(key, sizeof(key), scope->service, strlen(scope->service), key) &&
		hmac_sha256(key, sizeof(key), "aws4_request", 12, key) &&
		hmac_sha256(key, sizeof(key), sts->data, sts->len, sig);
	sigv4_buf_free(&secret);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return SIGV4_ERR_CRYPTO;
	hex_encode(sig, sizeof(sig), result->signature);
	return SIGV4_OK;
}

static int
has_header(const SigV4Request *req, const char *lname)
{
	size_t		i;

	for (i = 0; i < req->nheaders; i++)
	{
		if (req->headers[i].key != NULL &&
			strcasecmp(req->headers[i].key, lname) == 0)
			return 1;
	}
	return 0;
}

/*
 * sigv4_sign_headers
 *		Sign a request for the Authorization header.  The signer adds
 *		x-amz-date (unless the request has X-Amz-Date or Date) and, with a
 *		session token, x-amz-security-token (unless the request has it, or
 *		flags has SIGV4_TOKEN_UNSIGNED) to what it signs; the caller must send
 *		those headers with the same values: X-Amz-Date is scope->timestamp.
 */
SigV4Status
sigv4_sign_headers(const SigV4Request *req, const SigV4Credentials *cred,
				   const SigV4Scope *scope, int flags, SigV4Result *result)
{
	SigV4KeyValue extra[2];
	size_t		nextra = 0;
	SigV4Status status;
	SigV4Buf   *auth = &result->authorization;

	status = check_inputs(req, cred, scope);
	if (status != SIGV4_OK)
		return status;
	if (!has_header(req, "x-amz-date") && !has_header(req, "date"))
	{
		extra[nextra].key = "x-amz-date";
		extra[nextra++].value = scope->timestamp;
	}
	if (!empty(cred->session_token) && !(flags & SIGV4_TOKEN_UNSIGNED) &&
		!has_header(req, "x-amz-security-token"))
	{
		extra[nextra].key = "x-amz-security-token";
		extra[nextra++].value = cred->session_token;
	}

	status = build_canonical_request(req, cred, scope, extra, nextra, NULL, result);
	if (status != SIGV4_OK)
		return status;
	status = compute_signature(cred, scope, result);
	if (status != SIGV4_OK)
		return status;

	sigv4_buf_append_str(auth, SIGV4_ALGORITHM " Credential=");
	append_credential(auth, cred, scope, 1);
	sigv4_buf_append_str(auth, ", SignedHeaders=");
	sigv4_buf_append_str(auth, result->signed_headers.data);
	sigv4_buf_append_str(auth, ", Signature=");
	sigv4_buf_append_str(auth, result->signature);
	return auth->failed ? SIGV4_ERR_NOMEM : SIGV4_OK;
}

/*
 * sigv4_presign
 *		Sign a request in its query string, for a URL that works for expires
 *		seconds.  result->query is the whole query string to put after '?':
 *		the request's own parameters in their order, then X-Amz-Algorithm,
 *		X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 *		X-Amz-Security-Token (with a session token) and X-Amz-Signature, the
 *		layout botocore produces.  The headers signed are the request's own
 *		(at least Host).
 */
SigV4Status
sigv4_presign(const SigV4Request *req, const SigV4Credentials *cred,
			  const SigV4Scope *scope, int expires, SigV4Result *result)
{
	PresignParams presign;
	SigV4Status status;
	SigV4Buf   *q = &result->query;
	size_t		i;

	status = check_inputs(req, cred, scope);
	if (status != SIGV4_OK)
		return status;
	/* AWS accepts at most seven days */
	if (expires < 1 || expires > 604800)
		return SIGV4_ERR_INVALID;

	memset(&presign, 0, sizeof(presign));
	sigv4_buf_init(&presign.credential, result->query.alloc);
	{
		/* decimal without stdio: this file stays free of locale questions */
		char		digits[16];
		int			nd = 0;
		int			v = expires;

		while (v > 0)
		{
			digits[nd++] = (char) ('0' + v % 10);
			v /= 10;
		}
		for (i = 0; i < (size_t) nd; i++)
			presign.expires[i] = digits[nd - 1 - i];
		presign.expires[nd] = '\0';
	}

	status = build_canonical_request(req, cred, scope, NULL, 0, &presign, result);
	if (status == SIGV4_OK)
		status = compute_signature(cred, scope, result);
	if (status == SIGV4_OK)
	{
		for (i = 0; i < req->nquery + presign.nparams; i++)
		{
			const SigV4KeyValue *p = i < req->nquery ? &req->query[i] :
			&presign.params[i - req->nquery];

			sigv4_buf_append_uri(q, p->key, strlen(p->key), 0);
			buf_append_char(q, '=');
			if (p->value)
				sigv4_buf_append_uri(q, p->value, strlen(p->value), 0);
			buf_append_char(q, '&');
		}
		sigv4_buf_append_str(q, "X-Amz-Signature=");
		sigv4_buf_append_str(q, result->signature);
		if (q->failed)
			status = SIGV4_ERR_NOMEM;
	}
	sigv4_buf_free(&presign.credential);
	return status;
}

void
sigv4_result_init(SigV4Result *result, const SigV4Allocator *alloc)
{
	sigv4_buf_init(&result->canonical_request, alloc);
	sigv4_buf_init(&result->string_to_sign, alloc);
	sigv4_buf_init(&result->signed_headers, alloc);
	sigv4_buf_init(&result->authorization, alloc);
	sigv4_buf_init(&result->query, alloc);
	result->signature[0] = '\0';
}

void
sigv4_result_free(SigV4Result *result)
{
	sigv4_buf_free(&result->canonical_request);
	sigv4_buf_free(&result->string_to_sign);
	sigv4_buf_free(&result->signed_headers);
	sigv4_buf_free(&result->authorization);
	sigv4_buf_free(&result->query);
	OPENSSL_cleanse(result->signature, sizeof(result->signature));
}

const char *
sigv4_status_message(SigV4Status status)
{
	switch (status)
	{
		case SIGV4_OK:
			return "success";
		case SIGV4_ERR_NOMEM:
			return "out of memory";
		case SIGV4_ERR_INVALID:
			return "invalid input to the signer";
		case SIGV4_ERR_CRYPTO:
			return "OpenSSL failed to compute a hash";
	}
	return "unknown error";
}
