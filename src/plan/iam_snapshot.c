/*
 * iam_snapshot.c
 *		Reads what IAM has of one tenant: its user and role, their tags,
 *		policies and keys.  Read requests only.
 *
 * A healthy tenant costs, in user_and_role mode, nine requests: GetRole,
 * ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, GetUser,
 * ListUserPolicies, GetUserPolicy, ListAttachedUserPolicies, ListAccessKeys;
 * in role mode the first four and GetUser (a user left from user_and_role
 * mode is removed).  An entity that is missing costs one, one
 * that is not ours one too (nothing of it is looked at further); a list
 * longer than IAM's page (100) one more request per page.
 */
#include "plan/plan.h"

static const char *const no_such_entity[] = {"NoSuchEntity", NULL};

static AwsAnswer *
iam_read(const IamTarget *want, const char *action, int nparams,
		 const char *name1, const char *value1, const char *name2, const char *value2)
{
	const char *names[2] = {name1, name2};
	const char *values[2] = {value1, value2};

	return aws_query("iam", action, want->region, nparams, names, values, no_such_entity, 0);
}

/*
 * The <member> elements at result/path of a List action on one entity
 * (param = name), every page of it: IAM answers a page at a time (100
 * items unless asked otherwise) with IsTruncated and a Marker for the next,
 * and a policy on the second page is a policy all the same.
 */
static List *
list_all(const IamTarget *want, const char *action, const char *param, const char *name,
		 const char *path)
{
	List	   *members = NIL;
	const char *marker = NULL;
	const char *result_name = psprintf("%sResult", action);

	for (;;)
	{
		AwsAnswer  *a = iam_read(want, action, marker ? 2 : 1, param, name, "Marker", marker);
		AwsXml	   *result = aws_xml_child(a->xml, result_name);
		const char *truncated = aws_xml_text(result, "IsTruncated");

		members = list_concat(members, aws_xml_members(result, path));
		if (truncated == NULL || strcmp(truncated, "true") != 0)
			return members;
		marker = aws_xml_text(result, "Marker");
		if (marker == NULL || marker[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("AWS IAM %s said its answer is truncated but gave no Marker", action)));
	}
}

/* The texts of the members of a list (their field, or themselves). */
static List *
member_texts(List *members, const char *field)
{
	List	   *texts = NIL;
	ListCell   *lc;

	foreach(lc, members)
	{
		const char *text = field ? aws_xml_text(lfirst(lc), field) : ((AwsXml *) lfirst(lc))->text;

		if (text)
			texts = lappend(texts, (char *) text);
	}
	return texts;
}

/* A list of names without one of them. */
static List *
without(List *names, const char *name)
{
	List	   *rest = NIL;
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) != 0)
			rest = lappend(rest, lfirst(lc));
	return rest;
}

/*
 * One user or role: does it exist, is it ours, and (if so) its policies.
 * *own_policy: the document of our inline policy on it, NULL when absent.
 */
static void
read_entity(const IamTarget *want, bool user, IamEntity *e, const char *own_policy_name,
			const char **own_policy)
{
	const char *kind = user ? "User" : "Role";
	const char *param = user ? "UserName" : "RoleName";
	const char *name = user ? want->user_name : want->role_name;
	AwsAnswer  *a;
	AwsXml	   *entity;
	List	   *inline_names;

	*own_policy = NULL;
	a = iam_read(want, psprintf("Get%s", kind), 1, param, name, NULL, NULL);
	if (a->error_code)
		return;
	entity = aws_xml_path(a->xml, psprintf("Get%sResult/%s", kind, kind));
	e->exists = true;
	e->arn = aws_xml_text(entity, "Arn");
	e->ours = iam_entity_ours(entity, want);
	e->cluster_tagged = aws_xml_tag(entity, IAM_TAG_CLUSTER) != NULL;
	if (!user)
		e->trust_policy = aws_xml_text(entity, "AssumeRolePolicyDocument");
	if (!e->ours)
		return;

	inline_names = member_texts(list_all(want, psprintf("List%sPolicies", kind), param, name,
										 "PolicyNames"), NULL);
	e->inline_policies = without(inline_names, own_policy_name);
	if (list_length(inline_names) != list_length(e->inline_policies))
	{
		a = iam_read(want, psprintf("Get%sPolicy", kind), 2, param, name,
					 "PolicyName", own_policy_name);
		if (a->error_code == NULL)
			*own_policy = aws_xml_text(a->xml, psprintf("Get%sPolicyResult/PolicyDocument", kind));
	}
	e->attached_policies = member_texts(list_all(want, psprintf("ListAttached%sPolicies", kind),
												 param, name, "AttachedPolicies"), "PolicyArn");
}

/*
 * read_iam_snapshot
 *		What IAM has of the tenant want is for.  Errors other than a missing
 *		entity are thrown (after retries).
 */
IamSnapshot *
read_iam_snapshot(const IamTarget *want)
{
	IamSnapshot *have = palloc0(sizeof(IamSnapshot));

	read_entity(want, false, &have->role, IAM_CONNECT_POLICY, &have->connect_policy);
	read_entity(want, true, &have->user, IAM_ASSUME_POLICY, &have->assume_policy);
	if (have->user.exists && have->user.ours)
	{
		ListCell   *lc;

		foreach(lc, list_all(want, "ListAccessKeys", "UserName", want->user_name, "AccessKeyMetadata"))
		{
			IamKey	   *k = palloc0(sizeof(IamKey));
			const char *status = aws_xml_text(lfirst(lc), "Status");

			k->id = aws_xml_text(lfirst(lc), "AccessKeyId");
			k->active = status && strcmp(status, "Active") == 0;
			if (k->id)
				have->keys = lappend(have->keys, k);
		}
	}
	return have;
}
