/*
 * aws_credentials.c
 *		The tenancy.aws_* settings, and where AWS credentials and the region
 *		come from.
 *
 * Credentials are looked up in the order the AWS SDKs use, stopping at the
 * first place that has them:
 *
 *	1. the settings tenancy.aws_access_key_id, tenancy.aws_secret_access_key
 *	   and tenancy.aws_session_token (superuser-only, hidden from others);
 *	2. the server's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *	   AWS_SESSION_TOKEN;
 *	3. the shared credentials file, AWS_SHARED_CREDENTIALS_FILE or
 *	   ~/.aws/credentials of the server's OS user, profile tenancy.aws_profile,
 *	   else AWS_PROFILE, else "default";
 *	4. the EC2 instance metadata service, IMDSv2 (a session token from a PUT,
 *	   then the instance role's credentials), at tenancy.aws_imds_endpoint,
 *	   over HTTP from aws_http.c: only a lookup that gets this far loads
 *	   libcurl.
 *
 * No value read here ever goes into a message: errors name the place a
 * credential came from, never the credential.  Buffers that held a secret
 * are wiped before they are released.
 */
#include "aws/aws.h"

#include <pwd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <jansson.h>

#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "aws/sigv4.h"

/* the largest IMDS answer we accept; real ones are well under 2kB */
#define IMDS_MAX_RESPONSE 16384

/* longest line of a shared credentials file (session tokens run to ~2kB) */
#define CREDENTIALS_LINE_MAX 32768

/* how long an IMDSv2 session token is asked to live, in seconds */
#define IMDS_TOKEN_TTL "21600"

/*
 * The three credential settings.  Their GUC variables always read "": the
 * check hook moves each value into the setting's "extra" and the assign
 * hook points the *_value pointer below at it.  That way the value is in no
 * place PostgreSQL prints settings from: not SHOW or current_setting()
 * (their show hooks say only "(set)"), and not the postmaster's
 * "parameter ... changed to ..." message when postgresql.conf is reloaded,
 * which is printed only when the variable's value changes.  GUC keeps
 * value and extra together through SET LOCAL, RESET and rollbacks.
 */
static char *tenancy_aws_access_key_id = NULL;
static char *tenancy_aws_secret_access_key = NULL;
static char *tenancy_aws_session_token = NULL;
static const char *aws_access_key_id_value = "";
static const char *aws_secret_access_key_value = "";
static const char *aws_session_token_value = "";
char	   *tenancy_aws_profile = NULL;
char	   *tenancy_aws_region = NULL;
char	   *tenancy_aws_imds_endpoint = NULL;
int			tenancy_aws_imds_connect_timeout = 1000;
int			tenancy_aws_imds_timeout = 3000;
char	   *tenancy_aws_signing_time = NULL;

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/*
 * check_credential
 *		Move a credential out of the GUC variable into the setting's extra
 *		(see above).  Refuse the PGC_S_TEST source: that is ALTER ROLE,
 *		ALTER DATABASE and CREATE FUNCTION ... SET, which would store the
 *		value in catalogs that every role can read (pg_roles.rolconfig,
 *		pg_proc.proconfig).  *newval is emptied before any failure, because
 *		PostgreSQL's "invalid value" message quotes it.
 */
static bool
check_credential(char **newval, void **extra, GucSource source)
{
	size_t		len = strlen(*newval);
	char	   *value;

	if (source == PGC_S_TEST && len > 0)
	{
		explicit_bzero(*newval, len);
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errdetail("AWS credentials cannot be stored with ALTER ROLE, ALTER DATABASE or a function's SET clause, where every role could read them.");
		return false;
	}
	value = malloc(len + 1);
	if (value == NULL)
	{
		explicit_bzero(*newval, len);
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errdetail("Out of memory.");
		return false;
	}
	memcpy(value, *newval, len + 1);
	/* len >= 0 bytes of the old string are wiped; "" fits in its place */
	explicit_bzero(*newval, len);
	(*newval)[0] = '\0';
	*extra = value;
	return true;
}

static void
assign_access_key_id(const char *newval, void *extra)
{
	aws_access_key_id_value = extra ? (const char *) extra : "";
}

static void
assign_secret_access_key(const char *newval, void *extra)
{
	aws_secret_access_key_value = extra ? (const char *) extra : "";
}

static void
assign_session_token(const char *newval, void *extra)
{
	aws_session_token_value = extra ? (const char *) extra : "";
}

static const char *
show_access_key_id(void)
{
	return is_set(aws_access_key_id_value) ? "(set)" : "";
}

static const char *
show_secret_access_key(void)
{
	return is_set(aws_secret_access_key_value) ? "(set)" : "";
}

static const char *
show_session_token(void)
{
	return is_set(aws_session_token_value) ? "(set)" : "";
}

/*
 * check_signing_time
 *		Empty, or a UTC time written like X-Amz-Date, 20240101T000000Z, that
 *		names a real moment (month 1-12, a day the month has, ...).
 */
static bool
check_signing_time(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	struct tm	tm;
	struct tm	check;
	time_t		t;

	if (v == NULL || v[0] == '\0')
		return true;
	if (!sigv4_valid_timestamp(v))
	{
		GUC_check_errdetail("The signing time must be empty or a UTC time written like 20240101T000000Z.");
		return false;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0') - 1900;
	tm.tm_mon = (v[4] - '0') * 10 + (v[5] - '0') - 1;
	tm.tm_mday = (v[6] - '0') * 10 + (v[7] - '0');
	tm.tm_hour = (v[9] - '0') * 10 + (v[10] - '0');
	tm.tm_min = (v[11] - '0') * 10 + (v[12] - '0');
	tm.tm_sec = (v[13] - '0') * 10 + (v[14] - '0');
	check = tm;
	t = timegm(&tm);
	if (t == (time_t) -1 || tm.tm_year != check.tm_year || tm.tm_mon != check.tm_mon ||
		tm.tm_mday != check.tm_mday || tm.tm_hour != check.tm_hour ||
		tm.tm_min != check.tm_min || tm.tm_sec != check.tm_sec)
	{
		GUC_check_errdetail("The signing time must be empty or a UTC time written like 20240101T000000Z.");
		return false;
	}
	return true;
}

/*
 * AwsInit
 *		Define the tenancy.aws_* settings.  The credentials and everything
 *		that decides where credentials come from (profile, metadata
 *		endpoint) can be changed by superusers only; the three credentials
 *		are also hidden from everyone else and from SHOW ALL.
 */
void
AwsInit(void)
{
	DefineCustomStringVariable("tenancy.aws_access_key_id",
							   "AWS access key id used to sign AWS requests; empty: look elsewhere.",
							   NULL,
							   &tenancy_aws_access_key_id,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_credential, assign_access_key_id, show_access_key_id);

	DefineCustomStringVariable("tenancy.aws_secret_access_key",
							   "AWS secret access key that goes with tenancy.aws_access_key_id.",
							   NULL,
							   &tenancy_aws_secret_access_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_credential, assign_secret_access_key, show_secret_access_key);

	DefineCustomStringVariable("tenancy.aws_session_token",
							   "AWS session token of temporary credentials set in tenancy.aws_access_key_id.",
							   NULL,
							   &tenancy_aws_session_token,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_credential, assign_session_token, show_session_token);

	DefineCustomStringVariable("tenancy.aws_profile",
							   "Profile of the shared AWS credentials file; empty: AWS_PROFILE, else default.",
							   NULL,
							   &tenancy_aws_profile,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.aws_region",
							   "AWS region; empty: AWS_REGION, else AWS_DEFAULT_REGION from the server's environment.",
							   NULL,
							   &tenancy_aws_region,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.aws_imds_endpoint",
							   "Base URL of the EC2 instance metadata service; empty: do not use it.",
							   NULL,
							   &tenancy_aws_imds_endpoint,
							   "http://169.254.169.254",
							   PGC_SUSET,
							   0,
							   aws_check_endpoint, NULL, NULL);

	DefineCustomIntVariable("tenancy.aws_imds_connect_timeout",
							"Time allowed to connect to the instance metadata service.",
							NULL,
							&tenancy_aws_imds_connect_timeout,
							1000, 1, 60000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("tenancy.aws_imds_timeout",
							"Time allowed for each request to the instance metadata service.",
							NULL,
							&tenancy_aws_imds_timeout,
							3000, 1, 600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("tenancy.aws_signing_time",
							   "Fixed UTC time for AWS signatures, like 20240101T000000Z, for tests; empty: now.",
							   NULL,
							   &tenancy_aws_signing_time,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   check_signing_time, NULL, NULL);
}

/*
 * aws_signing_timestamp
 *		The X-Amz-Date to sign with: tenancy.aws_signing_time when set, else
 *		the current UTC time.
 */
void
aws_signing_timestamp(char *buf)
{
	time_t		now;
	struct tm	tm;

	if (is_set(tenancy_aws_signing_time))
	{
		strlcpy(buf, tenancy_aws_signing_time, SIGV4_TIMESTAMP_LEN + 1);
		return;
	}
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
		strftime(buf, SIGV4_TIMESTAMP_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_TIMESTAMP_LEN)
		elog(ERROR, "could not format the current time");
}

/*
 * The signer's allocator for backend code: palloc in the current memory
 * context, so an out-of-memory error thrown from inside the signer leaves
 * nothing behind.
 */
static void *
sigv4_palloc(void *ptr, size_t size)
{
	return ptr ? repalloc(ptr, size) : palloc(size);
}

static void
sigv4_pfree(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

static const SigV4Allocator backend_allocator = {sigv4_palloc, sigv4_pfree};

const struct SigV4Allocator *
aws_sigv4_allocator(void)
{
	return &backend_allocator;
}

static void
wipe_and_free(char *s)
{
	if (s != NULL)
	{
		explicit_bzero(s, strlen(s));
		pfree(s);
	}
}

void
aws_free_credentials(AwsCredentials *creds)
{
	if (creds == NULL)
		return;
	wipe_and_free(creds->access_key_id);
	wipe_and_free(creds->secret_access_key);
	wipe_and_free(creds->session_token);
	pfree(creds);
}

static AwsCredentials *
make_credentials(const char *key_id, const char *secret, const char *token,
				 const char *source)
{
	AwsCredentials *creds = palloc0(sizeof(AwsCredentials));

	creds->access_key_id = pstrdup(key_id);
	creds->secret_access_key = pstrdup(secret);
	creds->session_token = is_set(token) ? pstrdup(token) : NULL;
	creds->source = source;
	return creds;
}

/*
 * An access key id with no secret (or the other way round) is a mistake to
 * report, not a reason to go on to the next place: going on could sign with
 * credentials the administrator did not mean.  The SDKs do the same.
 */
static void
partial_credentials(const char *where, const char *have, const char *missing)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("incomplete AWS credentials in %s", where),
			 errdetail("%s is set but %s is not.", have, missing)));
}

static AwsCredentials *
credentials_from_settings(void)
{
	bool		has_key = is_set(aws_access_key_id_value);
	bool		has_secret = is_set(aws_secret_access_key_value);

	if (!has_key && !has_secret)
	{
		if (is_set(aws_session_token_value))
			partial_credentials("the settings", "tenancy.aws_session_token",
								"tenancy.aws_access_key_id");
		return NULL;
	}
	if (!has_key)
		partial_credentials("the settings", "tenancy.aws_secret_access_key",
							"tenancy.aws_access_key_id");
	if (!has_secret)
		partial_credentials("the settings", "tenancy.aws_access_key_id",
							"tenancy.aws_secret_access_key");
	return make_credentials(aws_access_key_id_value,
							aws_secret_access_key_value,
							aws_session_token_value, "settings");
}

static AwsCredentials *
credentials_from_environment(void)
{
	const char *key = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");

	if (!is_set(key) && !is_set(secret))
		return NULL;
	if (!is_set(key))
		partial_credentials("the server's environment", "AWS_SECRET_ACCESS_KEY",
							"AWS_ACCESS_KEY_ID");
	if (!is_set(secret))
		partial_credentials("the server's environment", "AWS_ACCESS_KEY_ID",
							"AWS_SECRET_ACCESS_KEY");
	return make_credentials(key, secret, getenv("AWS_SESSION_TOKEN"),
							"environment");
}

/*
 * credentials_file_path
 *		AWS_SHARED_CREDENTIALS_FILE (with a leading ~/ expanded), else
 *		~/.aws/credentials, home being $HOME or the passwd entry of the
 *		server's OS user.  NULL if there is no home to look in.
 */
static char *
credentials_file_path(void)
{
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");

	if (!is_set(home))
	{
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (is_set(file))
	{
		if (file[0] == '~' && file[1] == '/' && is_set(home))
			return psprintf("%s%s", home, file + 1);
		return pstrdup(file);
	}
	if (!is_set(home))
		return NULL;
	return psprintf("%s/.aws/credentials", home);
}

static const char *
credentials_profile(bool *explicit_profile)
{
	const char *env = getenv("AWS_PROFILE");

	*explicit_profile = true;
	if (is_set(tenancy_aws_profile))
		return tenancy_aws_profile;
	if (is_set(env))
		return env;
	*explicit_profile = false;
	return "default";
}

/* Trim ASCII white space at both ends, in place. */
static char *
trim(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
					   end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/*
 * credentials_from_file
 *		Read the profile's aws_access_key_id, aws_secret_access_key and
 *		aws_session_token from the INI-style shared credentials file: lines
 *		"[profile]" and "key = value", comments starting with # or ;, keys
 *		case-insensitive.  A missing file is not an error, unless a profile
 *		was named explicitly (as with the SDKs, a named profile must exist).
 */
static AwsCredentials *
credentials_from_file(const char *path, const char *profile, bool explicit_profile)
{
	FILE	   *f;
	char	   *line;
	bool		in_profile = false;
	bool		found_profile = false;
	char	   *key = NULL;
	char	   *secret = NULL;
	char	   *token = NULL;
	AwsCredentials *creds = NULL;

	if (path == NULL)
		return NULL;
	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		if (errno != ENOENT && errno != ENOTDIR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open AWS shared credentials file \"%s\": %m",
							path)));
		if (explicit_profile)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("AWS profile \"%s\" not found", profile),
					 errdetail("The shared credentials file \"%s\" does not exist.", path)));
		return NULL;
	}

	line = palloc(CREDENTIALS_LINE_MAX);
	while (fgets(line, CREDENTIALS_LINE_MAX, f) != NULL)
	{
		char	   *l = trim(line);
		char	   *eq;
		char	   *name;
		char	   *value;

		if (l[0] == '\0' || l[0] == '#' || l[0] == ';')
			continue;
		if (l[0] == '[')
		{
			char	   *close = strchr(l, ']');

			if (close == NULL)
				continue;
			*close = '\0';
			in_profile = strcmp(trim(l + 1), profile) == 0;
			if (in_profile)
				found_profile = true;
			continue;
		}
		if (!in_profile || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		name = trim(l);
		value = trim(eq + 1);
		if (pg_strcasecmp(name, "aws_access_key_id") == 0)
		{
			wipe_and_free(key);
			key = pstrdup(value);
		}
		else if (pg_strcasecmp(name, "aws_secret_access_key") == 0)
		{
			wipe_and_free(secret);
			secret = pstrdup(value);
		}
		else if (pg_strcasecmp(name, "aws_session_token") == 0 ||
				 (pg_strcasecmp(name, "aws_security_token") == 0 && token == NULL))
		{
			wipe_and_free(token);
			token = pstrdup(value);
		}
	}
	explicit_bzero(line, CREDENTIALS_LINE_MAX);
	pfree(line);
	FreeFile(f);

	if (!found_profile && explicit_profile)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("AWS profile \"%s\" not found", profile),
				 errdetail("The shared credentials file \"%s\" has no profile of that name.", path)));
	if (is_set(key) && is_set(secret))
		creds = make_credentials(key, secret, token, "shared credentials file");
	else if (is_set(key))
		partial_credentials("the shared credentials file", "aws_access_key_id",
							"aws_secret_access_key");
	else if (is_set(secret))
		partial_credentials("the shared credentials file", "aws_secret_access_key",
							"aws_access_key_id");
	wipe_and_free(key);
	wipe_and_free(secret);
	wipe_and_free(token);
	return creds;
}

/*
 * imds_call
 *		One request to the metadata service, with the session token header
 *		(or, for the token's PUT, the header asking for one).  Returns the
 *		HTTP status, or 0 if the service could not be reached at all
 *		(nothing listening, a timeout): that means "no instance role here",
 *		not an error.  Never through a proxy from the environment: the
 *		metadata token is for the instance, not for whatever is in between.
 */
static long
imds_call(const char *method, const char *url, const char *header,
		  AwsHttpResponse *resp)
{
	AwsHttpRequest req;

	memset(&req, 0, sizeof(req));
	req.what = "the instance metadata service";
	req.method = method;
	req.url = url;
	req.headers = &header;
	req.nheaders = 1;
	req.connect_timeout_ms = tenancy_aws_imds_connect_timeout;
	req.timeout_ms = tenancy_aws_imds_timeout;
	req.max_response = IMDS_MAX_RESPONSE;
	req.flags = AWS_HTTP_NO_PROXY | AWS_HTTP_UNREACHABLE_OK;
	aws_http_request(&req, resp);
	return resp->status;
}

static void
imds_bad_answer(const char *what, long status)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("instance metadata service at \"%s\" answered HTTP %ld to the %s request",
					tenancy_aws_imds_endpoint, status, what)));
}

/* An IAM role name: letters, digits and +=,.@_- (IAM's own rule). */
static bool
valid_role_name(const char *s)
{
	if (!is_set(s) || strlen(s) > 128)
		return false;
	for (; *s; s++)
	{
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || strchr("+=,.@_-", *s)))
			return false;
	}
	return true;
}

/*
 * imds_parse_credentials
 *		The role credentials document: {"Code": "Success", "AccessKeyId":
 *		..., "SecretAccessKey": ..., "Token": ..., "Expiration": ...}.
 */
static AwsCredentials *
imds_parse_credentials(const AwsHttpResponse *resp)
{
	json_t	   *volatile doc = NULL;
	AwsCredentials *volatile creds = NULL;

	PG_TRY();
	{
		json_error_t jerr;
		const char *code;
		const char *key;
		const char *secret;
		const char *token;

		doc = json_loadb(resp->body, resp->body_len, 0, &jerr);
		if (doc == NULL || !json_is_object(doc))
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("instance metadata service at \"%s\" sent credentials that are not a JSON object",
							tenancy_aws_imds_endpoint)));
		code = json_string_value(json_object_get(doc, "Code"));
		key = json_string_value(json_object_get(doc, "AccessKeyId"));
		secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
		token = json_string_value(json_object_get(doc, "Token"));
		if (code != NULL && strcmp(code, "Success") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("instance metadata service at \"%s\" could not give credentials",
							tenancy_aws_imds_endpoint),
					 errdetail("It answered with code \"%s\".", code)));
		if (!is_set(key) || !is_set(secret))
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("instance metadata service at \"%s\" sent credentials without AccessKeyId or SecretAccessKey",
							tenancy_aws_imds_endpoint)));
		creds = make_credentials(key, secret, token, "instance metadata service");
	}
	PG_FINALLY();
	{
		if (doc != NULL)
			json_decref(doc);
	}
	PG_END_TRY();
	return creds;
}

/* the three answers credentials_from_imds gets, all of them wiped at the end */
#define IMDS_TOKEN 0
#define IMDS_ROLE 1
#define IMDS_CREDENTIALS 2

/*
 * credentials_from_imds
 *		IMDSv2: PUT /latest/api/token for a session token, then with it
 *		GET /latest/meta-data/iam/security-credentials/ for the role name and
 *		GET .../security-credentials/ROLE for the credentials.  NULL when no
 *		metadata service answers or the instance has no role.  HTTP is
 *		aws_http.c's, so libcurl is loaded only by a process that gets here.
 *		The answers and the token header are wiped on every path, errors
 *		included.
 */
static AwsCredentials *
credentials_from_imds(void)
{
	AwsHttpResponse *answers;
	char	   *volatile token_header = NULL;
	AwsCredentials *volatile creds = NULL;
	const char *base = tenancy_aws_imds_endpoint;
	size_t		baselen;

	if (!is_set(base))
		return NULL;
	baselen = strlen(base);
	while (baselen > 0 && base[baselen - 1] == '/')
		baselen--;

	/* in memory, not locals: PG_FINALLY reads what PG_TRY filled in */
	answers = palloc0(3 * sizeof(AwsHttpResponse));

	PG_TRY();
	{
		AwsHttpResponse *resp;
		long		status;
		char	   *role;
		char	   *nl;
		char	   *url;

		resp = &answers[IMDS_TOKEN];
		url = psprintf("%.*s/latest/api/token", (int) baselen, base);
		status = imds_call("PUT", url,
						   "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL,
						   resp);
		if (status == 200 && resp->body_len > 0)
		{
			const char *token = trim(resp->body);
			const char *p;

			/* it goes into a header line: refuse anything that could break it */
			for (p = token; *p; p++)
				if (*p <= ' ' || *p >= 0x7f)
					ereport(ERROR,
							(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
							 errmsg("instance metadata service at \"%s\" sent an invalid session token",
									tenancy_aws_imds_endpoint)));
			token_header = psprintf("X-aws-ec2-metadata-token: %s", token);

			resp = &answers[IMDS_ROLE];
			url = psprintf("%.*s/latest/meta-data/iam/security-credentials/",
						   (int) baselen, base);
			status = imds_call("GET", url, token_header, resp);
			if (status == 200)
			{
				/* one role per line; an instance has at most one */
				role = trim(resp->body);
				nl = strchr(role, '\n');
				if (nl)
					*nl = '\0';
				role = trim(role);
				if (!valid_role_name(role))
					ereport(ERROR,
							(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
							 errmsg("instance metadata service at \"%s\" sent an invalid role name",
									tenancy_aws_imds_endpoint)));
				url = psprintf("%.*s/latest/meta-data/iam/security-credentials/%s",
							   (int) baselen, base, role);
				resp = &answers[IMDS_CREDENTIALS];
				status = imds_call("GET", url, token_header, resp);
				if (status != 200)
					imds_bad_answer("role credentials", status);
				creds = imds_parse_credentials(resp);
			}
			else if (status != 0 && status != 404)
				imds_bad_answer("role name", status);
		}
	}
	PG_FINALLY();
	{
		aws_http_response_free(&answers[IMDS_TOKEN]);
		aws_http_response_free(&answers[IMDS_ROLE]);
		aws_http_response_free(&answers[IMDS_CREDENTIALS]);
		pfree(answers);
		if (token_header != NULL)
			wipe_and_free(token_header);
	}
	PG_END_TRY();
	return creds;
}

/*
 * aws_get_credentials
 *		The first credentials found in the order described at the top of
 *		this file, palloc'd in the current memory context; release them with
 *		aws_free_credentials.  None found is an error that names every place
 *		searched.
 */
AwsCredentials *
aws_get_credentials(void)
{
	AwsCredentials *creds;
	char	   *path;
	const char *profile;
	bool		explicit_profile;

	creds = credentials_from_settings();
	if (creds == NULL)
		creds = credentials_from_environment();
	path = credentials_file_path();
	profile = credentials_profile(&explicit_profile);
	if (creds == NULL)
		creds = credentials_from_file(path, profile, explicit_profile);
	if (creds == NULL)
		creds = credentials_from_imds();
	if (creds == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no AWS credentials found"),
				 errdetail("Searched the settings tenancy.aws_access_key_id and tenancy.aws_secret_access_key, "
						   "the server's environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
						   "profile \"%s\" of the shared credentials file \"%s\", and %s.",
						   profile, path ? path : "~/.aws/credentials",
						   is_set(tenancy_aws_imds_endpoint) ?
						   psprintf("the instance metadata service at \"%s\"", tenancy_aws_imds_endpoint) :
						   "not the instance metadata service (tenancy.aws_imds_endpoint is empty)"),
				 errhint("Set tenancy.aws_access_key_id and tenancy.aws_secret_access_key, or give the server credentials through its environment, its shared credentials file or an instance role.")));
	if (path)
		pfree(path);
	return creds;
}

/*
 * aws_get_region
 *		tenancy.aws_region, else AWS_REGION, else AWS_DEFAULT_REGION; none is
 *		an error.
 */
const char *
aws_get_region(void)
{
	const char *region;

	if (is_set(tenancy_aws_region))
		return tenancy_aws_region;
	region = getenv("AWS_REGION");
	if (is_set(region))
		return region;
	region = getenv("AWS_DEFAULT_REGION");
	if (is_set(region))
		return region;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("no AWS region configured"),
			 errdetail("Searched the setting tenancy.aws_region and the server's environment variables AWS_REGION and AWS_DEFAULT_REGION."),
			 errhint("Set tenancy.aws_region, or pass the region explicitly.")));
	return NULL;				/* keep compiler quiet */
}
