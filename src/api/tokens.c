/*
 * tokens.c
 *		tenancy.iam_auth_token(): an RDS IAM auth token, signed by aws/.
 *
 * A token is signed with the AWS identity the server sees (its settings,
 * environment, instance role): whoever may ask for one may log in as any
 * role that identity may connect as.  So a non-superuser gets tokens only
 * for tenants, the roles the admins manage anyway.
 */
#include "api/api.h"

#include "aws/aws.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(iam_auth_token);

static void
refuse_unless_tenant(const char *username)
{
	const char *args[1] = {username};
	char	   *found;

	if (superuser())
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_execute_text("SELECT 1 FROM tenancy.registry WHERE name = $1", 1, args);
	found = catalog_value();
	SPI_finish();
	if (found == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to sign an IAM auth token for \"%s\"", username),
				 errdetail("Tokens are signed with the server's AWS identity; a non-superuser gets them only for tenants.")));
}

/*
 * SQL: tenancy.iam_auth_token(host text, port integer, username text,
 * region text DEFAULT NULL) RETURNS text.  Not STRICT: a NULL argument gets
 * an error saying which, not a silent NULL token.
 */
Datum
iam_auth_token(PG_FUNCTION_ARGS)
{
	char	   *username;

	if (PG_ARGISNULL(0))
		refuse_null("host");
	if (PG_ARGISNULL(1))
		refuse_null("port");
	if (PG_ARGISNULL(2))
		refuse_null("username");
	username = text_to_cstring(PG_GETARG_TEXT_PP(2));
	refuse_unless_tenant(username);
	PG_RETURN_TEXT_P(cstring_to_text(rds_auth_token(text_to_cstring(PG_GETARG_TEXT_PP(0)),
													PG_GETARG_INT32(1), username,
													PG_ARGISNULL(3) ? NULL :
													text_to_cstring(PG_GETARG_TEXT_PP(3)))));
}
