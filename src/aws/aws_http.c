/*
 * aws_http.c
 *		HTTP for the AWS clients: one request at a time through libcurl,
 *		with libcurl opened only when the first request is made.
 *
 * Every process that touches the extension loads aurora_tenancy.so: each
 * executor worker, each backend that calls a tenancy function.  Linking
 * libcurl into it would map libcurl and the libraries it needs (nghttp2,
 * ssh2, rtmp, psl, brotli, ...) into all of them, and make every worker pay
 * for loading and relocating them, though only the code that calls AWS (the
 * instance metadata service today, IAM/STS/RDS next) uses HTTP.  So the
 * library is not linked with libcurl: this file opens "libcurl.so.4" with
 * dlopen on first use and looks up the few functions it calls.  The curl
 * headers are still used at build time for the types and constants, which
 * libcurl keeps stable under that soname.  A server without libcurl works
 * for everything but AWS calls, which fail with a clear error.
 *
 * Nothing here knows about AWS: callers sign their requests (sigv4.c) and
 * parse the answers.  Only this file may include <curl/curl.h>.
 */
#include "aws/aws.h"

#include <dlfcn.h>

#include <curl/curl.h>

#include "miscadmin.h"
#include "utils/memutils.h"

/* the soname of libcurl's ABI since 7.16; Debian and Ubuntu: libcurl4 */
#define LIBCURL_SONAME "libcurl.so.4"

/* the answer buffer starts this big and doubles up to the request's limit */
#define HTTP_INITIAL_BUFFER 1024

/*
 * The libcurl functions used, looked up by name once the library is open.
 * The struct's members are deliberately not called curl_easy_setopt etc.:
 * curl.h defines type-checking macros of those names.
 */
typedef struct CurlApi
{
	CURLcode	(*global_init) (long flags);
	CURL	   *(*easy_init) (void);
	CURLcode	(*easy_setopt) (CURL *handle, CURLoption option,...);
	CURLcode	(*easy_perform) (CURL *handle);
	CURLcode	(*easy_getinfo) (CURL *handle, CURLINFO info,...);
	void		(*easy_cleanup) (CURL *handle);
	const char *(*easy_strerror) (CURLcode code);
	struct curl_slist *(*slist_append) (struct curl_slist *list, const char *s);
	void		(*slist_free_all) (struct curl_slist *list);
} CurlApi;

static CurlApi curl_api;
static bool curl_ready = false;

/* Where an answer is collected: grown by the write callback, never thrown from. */
typedef struct HttpSink
{
	char	   *data;			/* NUL-terminated */
	size_t		len;
	size_t		cap;
	size_t		max;			/* longest answer accepted */
	bool		overflow;
	bool		nomem;
} HttpSink;

/* What the error context callback says, and the URL without its query. */
typedef struct HttpCallInfo
{
	const char *what;
	const char *method;
	const char *url;
	int			url_len;
} HttpCallInfo;

static void
libcurl_unusable(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("libcurl is not available, and calls to AWS need it"),
			 errdetail("%s", detail),
			 errhint("Install libcurl 7.85 or later on the database server (on Debian and Ubuntu, the package libcurl4).")));
}

/*
 * load_libcurl
 *		Open libcurl and initialize it, once per process.  RTLD_LOCAL keeps
 *		its symbols (and those of the libraries it brings) out of the global
 *		namespace, where they could shadow another extension's.  The handle
 *		is never closed: libcurl's global state must live as long as the
 *		process once curl_global_init ran.
 */
static void
load_libcurl(void)
{
	void	   *lib;
	const char *missing = NULL;
	const char *error;

	if (curl_ready)
		return;

	lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
	{
		error = dlerror();
		libcurl_unusable(psprintf("Could not load \"%s\": %s.", LIBCURL_SONAME,
								  error ? error : "unknown error"));
	}

#define LOOKUP(member, name) \
	do { \
		curl_api.member = dlsym(lib, name); \
		if (curl_api.member == NULL && missing == NULL) \
			missing = name; \
	} while (0)

	LOOKUP(global_init, "curl_global_init");
	LOOKUP(easy_init, "curl_easy_init");
	LOOKUP(easy_setopt, "curl_easy_setopt");
	LOOKUP(easy_perform, "curl_easy_perform");
	LOOKUP(easy_getinfo, "curl_easy_getinfo");
	LOOKUP(easy_cleanup, "curl_easy_cleanup");
	LOOKUP(easy_strerror, "curl_easy_strerror");
	LOOKUP(slist_append, "curl_slist_append");
	LOOKUP(slist_free_all, "curl_slist_free_all");
#undef LOOKUP

	if (missing != NULL)
	{
		/* nothing of it ran yet: safe to close */
		dlclose(lib);
		libcurl_unusable(psprintf("The library \"%s\" has no function %s.",
								  LIBCURL_SONAME, missing));
	}

	/* a failed init is retried on the next call: dlopen returns the same lib */
	if (curl_api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not initialize libcurl")));
	curl_ready = true;
}

/*
 * http_write
 *		curl write callback: append to the sink.  It runs inside libcurl, so
 *		it must not throw: memory is asked for without the out-of-memory
 *		error, and any failure makes libcurl stop the transfer, to be
 *		reported once curl_easy_perform has returned.  A buffer outgrown is
 *		wiped before it is freed: answers can hold credentials.
 */
static size_t
http_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpSink   *sink = (HttpSink *) userdata;
	size_t		n = size * nmemb;

	if (n > sink->max - sink->len)
	{
		sink->overflow = true;
		return 0;
	}
	if (sink->len + n + 1 > sink->cap)
	{
		size_t		cap = Max(sink->cap * 2, sink->len + n + 1);
		char	   *bigger;

		cap = Min(cap, sink->max + 1);
		bigger = palloc_extended(cap, MCXT_ALLOC_NO_OOM);
		if (bigger == NULL)
		{
			sink->nomem = true;
			return 0;
		}
		memcpy(bigger, sink->data, sink->len + 1);
		explicit_bzero(sink->data, sink->len);
		pfree(sink->data);
		sink->data = bigger;
		sink->cap = cap;
	}
	memcpy(sink->data + sink->len, ptr, n);
	sink->len += n;
	sink->data[sink->len] = '\0';
	return n;
}

/* curl progress callback: give up as soon as the query is cancelled. */
static int
http_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

static void
http_error_context(void *arg)
{
	HttpCallInfo *info = (HttpCallInfo *) arg;

	errcontext("while calling %s: %s %.*s", info->what, info->method,
			   info->url_len, info->url);
}

/*
 * A libcurl that refuses an option is older than the one we were built
 * for, or built without a feature we rely on: say which option.
 */
static void
check_setopt(CURLcode rc, const char *option)
{
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("libcurl does not support option %s", option),
				 errdetail("libcurl: %s.", curl_api.easy_strerror(rc)),
				 errhint("Install libcurl 7.85 or later on the database server (on Debian and Ubuntu, the package libcurl4).")));
}

#define SETOPT(handle, option, value) \
	check_setopt(curl_api.easy_setopt((handle), (option), (value)), #option)

/*
 * set_request_options
 *		Everything a request sets on a fresh handle.  Only http and https,
 *		never a redirect (a redirect would carry the request's headers, a
 *		signature or a metadata token, to wherever it points), no signals
 *		(the backend owns them), and the progress callback so that a
 *		cancel ends the transfer at once.
 */
static void
set_request_options(CURL *handle, const AwsHttpRequest *req,
					struct curl_slist *headers, HttpSink *sink, char *errbuf)
{
	SETOPT(handle, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(handle, CURLOPT_URL, req->url);
	SETOPT(handle, CURLOPT_NOSIGNAL, 1L);
	SETOPT(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(handle, CURLOPT_FOLLOWLOCATION, 0L);
	if (req->flags & AWS_HTTP_NO_PROXY)
		SETOPT(handle, CURLOPT_NOPROXY, "*");
	SETOPT(handle, CURLOPT_CONNECTTIMEOUT_MS, (long) req->connect_timeout_ms);
	SETOPT(handle, CURLOPT_TIMEOUT_MS, (long) req->timeout_ms);
	SETOPT(handle, CURLOPT_NOPROGRESS, 0L);
	SETOPT(handle, CURLOPT_XFERINFOFUNCTION, http_progress);
	SETOPT(handle, CURLOPT_WRITEFUNCTION, http_write);
	SETOPT(handle, CURLOPT_WRITEDATA, sink);
	SETOPT(handle, CURLOPT_HTTPHEADER, headers);

	if (strcmp(req->method, "GET") == 0)
		SETOPT(handle, CURLOPT_HTTPGET, 1L);
	else
	{
		/* a body, even an empty one: PUT and POST need a Content-Length */
		SETOPT(handle, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		SETOPT(handle, CURLOPT_POSTFIELDSIZE_LARGE,
			   (curl_off_t) (req->body ? req->body_len : 0));
		if (strcmp(req->method, "POST") != 0)
			SETOPT(handle, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

/*
 * aws_http_request
 *		Make one HTTP request and wait for its answer, or for a cancel, which
 *		is honoured at once.  The answer's status and body (NUL-terminated,
 *		palloc'd in the current memory context) go into *resp; release them
 *		with aws_http_response_free, which wipes the body.  Any status is an
 *		answer: what a status means is the caller's business.
 *
 *		Not getting an answer is an error, with the libcurl message in its
 *		detail; with AWS_HTTP_UNREACHABLE_OK, nothing answering at all (no
 *		such host, nothing listening, a timeout) is status 0 instead.  Every
 *		error raised while the request is made, a cancel included, carries a
 *		context line naming req->what and the URL without its query string
 *		(a presigned URL's query is a credential).
 *
 *		The curl handle and the header list, which no memory context owns,
 *		are freed on every path; the answer buffer is wiped on error paths.
 */
void
aws_http_request(const AwsHttpRequest *req, AwsHttpResponse *resp)
{
	CURL	   *volatile handle = NULL;
	struct curl_slist *volatile headers = NULL;
	HttpSink   *sink;
	HttpCallInfo info;
	ErrorContextCallback errcallback;
	char		errbuf[CURL_ERROR_SIZE];
	const char *query;
	CURLcode	rc;
	long		status = 0;
	int			i;

	Assert(req->what && req->method && req->url);
	Assert(req->connect_timeout_ms > 0 && req->timeout_ms > 0);

	info.what = req->what;
	info.method = req->method;
	info.url = req->url;
	query = strchr(req->url, '?');
	info.url_len = query ? (int) (query - req->url) : (int) strlen(req->url);
	errcallback.callback = http_error_context;
	errcallback.arg = &info;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	if (strcmp(req->method, "GET") == 0 && req->body != NULL)
		elog(ERROR, "an HTTP GET request cannot have a body");

	load_libcurl();

	/* in memory, not a local: libcurl's callback writes it, PG_CATCH reads it */
	sink = palloc0(sizeof(HttpSink));
	sink->max = req->max_response > 0 ? req->max_response : AWS_HTTP_MAX_RESPONSE;
	sink->max = Min(sink->max, MaxAllocSize - 1);
	sink->cap = Min(HTTP_INITIAL_BUFFER, sink->max + 1);
	sink->data = palloc(sink->cap);
	sink->data[0] = '\0';
	errbuf[0] = '\0';

	PG_TRY();
	{
		for (i = 0; i < req->nheaders; i++)
		{
			struct curl_slist *longer;

			/* a line break would let a value add headers of its own */
			if (strpbrk(req->headers[i], "\r\n") != NULL)
				elog(ERROR, "HTTP header with a line break");
			longer = curl_api.slist_append(headers, req->headers[i]);
			if (longer == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			headers = longer;
		}
		if (req->body != NULL)
		{
			/* no "Expect: 100-continue" round trip before a larger body */
			struct curl_slist *longer = curl_api.slist_append(headers, "Expect:");

			if (longer == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			headers = longer;
		}

		handle = curl_api.easy_init();
		if (handle == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl handle")));
		set_request_options(handle, req, headers, sink, errbuf);

		rc = curl_api.easy_perform(handle);

		if (rc == CURLE_ABORTED_BY_CALLBACK)
		{
			CHECK_FOR_INTERRUPTS();
			/* interrupts are held off: still, the request did not finish */
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("request to %s was interrupted", req->what)));
		}
		if (sink->nomem)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Failed while receiving an answer of %zu bytes.", sink->len)));
		if (sink->overflow)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("answer from %s is too long", req->what),
					 errdetail("It has more than %zu bytes.", sink->max)));
		if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
			rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
			rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE)
		{
			if (!(req->flags & AWS_HTTP_UNREACHABLE_OK))
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("could not reach %s", req->what),
						 errdetail("libcurl: %s.",
								   errbuf[0] ? errbuf : curl_api.easy_strerror(rc))));
		}
		else if (rc != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not complete the request to %s", req->what),
					 errdetail("libcurl: %s.",
							   errbuf[0] ? errbuf : curl_api.easy_strerror(rc))));
		else if (curl_api.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
			elog(ERROR, "libcurl has no HTTP status for a completed request");
	}
	PG_CATCH();
	{
		if (handle != NULL)
			curl_api.easy_cleanup(handle);
		if (headers != NULL)
			curl_api.slist_free_all(headers);
		explicit_bzero(sink->data, sink->cap);
		pfree(sink->data);
		pfree(sink);
		PG_RE_THROW();
	}
	PG_END_TRY();

	curl_api.easy_cleanup(handle);
	if (headers != NULL)
		curl_api.slist_free_all(headers);
	error_context_stack = errcallback.previous;

	resp->status = status;
	resp->body = sink->data;
	resp->body_len = sink->len;
	pfree(sink);
}

/* Wipe and free an answer's body; the struct itself is the caller's. */
void
aws_http_response_free(AwsHttpResponse *resp)
{
	if (resp->body != NULL)
	{
		explicit_bzero(resp->body, resp->body_len);
		pfree(resp->body);
	}
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = 0;
}
