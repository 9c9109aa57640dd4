/*
 * iam_policy_test.c
 *		Unit tests of aurora_tenancy's IAM policy documents (aws/iam_policy.c):
 *		SQL wrappers around the builders, iam_policy_size(),
 *		iam_policy_equal() and iam_principal_arn(), so that each rule can be
 *		shown from SQL with hand-made documents.  Nothing here talks to AWS.
 */
#include "aws/iam_policy.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(iam_policy_test_partition);
PG_FUNCTION_INFO_V1(iam_policy_test_connect_policy);
PG_FUNCTION_INFO_V1(iam_policy_test_trust_policy);
PG_FUNCTION_INFO_V1(iam_policy_test_assume_policy);
PG_FUNCTION_INFO_V1(iam_policy_test_size);
PG_FUNCTION_INFO_V1(iam_policy_test_equal);
PG_FUNCTION_INFO_V1(iam_policy_test_principal);

#define ARG_CSTRING(n) text_to_cstring(PG_GETARG_TEXT_PP(n))

Datum
iam_policy_test_partition(PG_FUNCTION_ARGS)
{
	const char *partition = aws_partition(ARG_CSTRING(0));

	if (partition == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(partition));
}

Datum
iam_policy_test_connect_policy(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(iam_connect_policy(ARG_CSTRING(0),
														ARG_CSTRING(1),
														ARG_CSTRING(2),
														ARG_CSTRING(3),
														ARG_CSTRING(4))));
}

/*
 * Not strict: a NULL external id or address list means "no such condition".
 * A NULL element of the list is passed on as NULL, for the builder to refuse.
 */
Datum
iam_policy_test_trust_policy(PG_FUNCTION_ARGS)
{
	const char *external_id = PG_ARGISNULL(1) ? NULL : ARG_CSTRING(1);
	const char **ips = NULL;
	int			nips = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(2))
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &nulls, &nips);
		ips = palloc(sizeof(char *) * Max(nips, 1));
		for (int i = 0; i < nips; i++)
			ips[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	}
	PG_RETURN_TEXT_P(cstring_to_text(iam_trust_policy(ARG_CSTRING(0),
													  external_id, nips,
													  ips)));
}

Datum
iam_policy_test_assume_policy(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(iam_assume_role_policy(ARG_CSTRING(0))));
}

Datum
iam_policy_test_size(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(iam_policy_size(ARG_CSTRING(0)));
}

Datum
iam_policy_test_equal(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(iam_policy_equal(ARG_CSTRING(0), ARG_CSTRING(1),
									ARG_CSTRING(2)));
}

Datum
iam_policy_test_principal(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(iam_principal_arn(ARG_CSTRING(0),
													   ARG_CSTRING(1))));
}
