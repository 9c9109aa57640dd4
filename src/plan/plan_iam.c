/*
 * plan_iam.c
 *		The IAM side of a tenant: what IAM has (an IamSnapshot) and what it
 *		should have (an IamTarget) -> the AWS API calls between them.
 *
 * Pure: no request is made here.  Each step is one call with an intent row
 * before and an outcome row after it, like every other step.  Only what
 * carries our tags (the tenant, this installation) is ever changed or
 * deleted; a same-named entity without them is reported and left alone.
 *
 * What a tenant has on IAM, in user_and_role mode:
 *	the role tenancy-<tenant> under /tenancy/, tagged, trusting the user;
 *	its inline policy rds-db-connect (while the tenant may log in);
 *	the user tenancy-<tenant>, tagged, with the inline policy
 *	assume-tenant-role (sts:AssumeRole on the role) and one access key,
 *	active unless suspended.
 * In role mode, the role alone, trusting the tenant's own principal with its
 * external id.  Inline policies cost no managed-policy slot (README.md).
 */
#include "plan/plan.h"

#include "aws/iam_policy.h"

/* what a done delete looks like */
static const char *const gone[] = {"NoSuchEntity", NULL};

/*
 * A step that is one call to IAM: nparams name/value pairs follow.  The
 * statement audited says what the call is (no request carries a secret).
 */
static Step *
iam_step(const char *name, const char *object_type, const char *object_name,
		 const IamTarget *want, const char *action, const char *problem,
		 int flags, const char *const *done_if, int nparams,...)
{
	AwsCall    *call = palloc0(sizeof(AwsCall));
	Step	   *step;
	va_list		args;

	call->service = "iam";
	call->action = action;
	call->region = want->region;
	call->flags = flags;
	call->done_if = done_if;
	call->nparams = nparams;
	call->names = palloc(sizeof(char *) * Max(nparams, 1));
	call->values = palloc(sizeof(char *) * Max(nparams, 1));
	va_start(args, nparams);
	for (int i = 0; i < nparams; i++)
	{
		call->names[i] = va_arg(args, const char *);
		call->values[i] = va_arg(args, const char *);
	}
	va_end(args);
	step = make_step(name, object_type, object_name, NULL, NULL,
					 aws_call_text(call), problem);
	step->aws = call;
	return step;
}

/*
 * Adds the tags of everything we make to a step's call (for the tenant's
 * user or role), as the Query API's Tags.member.N list (and to what the
 * step says it is).
 */
static Step *
tagged(Step *step, const IamTarget *want, bool user)
{
	AwsCall    *call = (AwsCall *) step->aws;
	const char *keys[4] = {IAM_TAG_TENANT, IAM_TAG_INSTALLATION, IAM_TAG_CLUSTER, IAM_TAG_MARKER};
	const char *values[4] = {want->tenant, want->installation, want->resource_id,
	linitial(user ? want->user_markers : want->role_markers)};
	int			n = call->nparams;

	call->names = repalloc(call->names, sizeof(char *) * (n + 8));
	call->values = repalloc(call->values, sizeof(char *) * (n + 8));
	for (int i = 0; i < 4; i++)
	{
		call->names[n] = psprintf("Tags.member.%d.Key", i + 1);
		call->values[n++] = keys[i];
		call->names[n] = psprintf("Tags.member.%d.Value", i + 1);
		call->values[n++] = values[i];
	}
	call->nparams = n;
	step->statement = aws_call_text(call);
	return step;
}

/*
 * Is an entity IAM shows (a User or Role element) this tenant's?  Tagged
 * with the tenant and this installation, not with another cluster, and with
 * the marker only this control database can sign for its kind and name.
 */
bool
iam_entity_ours(const AwsXml *entity, const IamTarget *want)
{
	bool		user = strcmp(entity->name, "User") == 0;
	const char *name = aws_xml_text(entity, user ? "UserName" : "RoleName");
	const char *tenant = aws_xml_tag(entity, IAM_TAG_TENANT);
	const char *installation = aws_xml_tag(entity, IAM_TAG_INSTALLATION);
	const char *cluster = aws_xml_tag(entity, IAM_TAG_CLUSTER);
	const char *marker = aws_xml_tag(entity, IAM_TAG_MARKER);
	bool		signed_by_us = false;
	ListCell   *lc;

	foreach(lc, user ? want->user_markers : want->role_markers)
		signed_by_us = signed_by_us || (marker && strcmp(marker, lfirst(lc)) == 0);
	return signed_by_us && name &&
		pg_strcasecmp(name, user ? want->user_name : want->role_name) == 0 &&
		tenant && strcmp(tenant, want->tenant) == 0 &&
		installation && strcmp(installation, want->installation) == 0 &&
		(cluster == NULL || strcmp(cluster, want->resource_id) == 0);
}

/*
 * A user or role a create found made already (by an earlier attempt whose
 * answer was lost): ours, and a role trusting exactly whom it would have —
 * tags can be copied by anyone who can read them.
 */
static bool
adoptable(const AwsXml *entity, const void *arg)
{
	const IamTarget *want = arg;
	const char *trust = aws_xml_text(entity, "AssumeRolePolicyDocument");

	return iam_entity_ours(entity, want) &&
		(strcmp(entity->name, "Role") != 0 ||
		 (trust && iam_policy_equal(trust, want->trust_policy, want->partition)));
}

/* A create that finds its entity made already adopts it only if it is ours. */
static Step *
with_tags(Step *step, const IamTarget *want, const char *get, const char *name)
{
	AwsCall    *call = (AwsCall *) tagged(step, want, strcmp(get, "GetUser") == 0)->aws;

	call->exists_get = get;
	call->exists_name = name;
	call->adoptable = adoptable;
	call->adoptable_arg = want;
	return step;
}

static List *
report_foreign(List *plan, const char *kind, const IamEntity *e, const char *name)
{
	if (e->exists && !e->ours)
		plan = lappend(plan, plan_report(psprintf("iam_%s", kind), name,
										 psprintf("IAM %s \"%s\" exists and is not this tenant's (it lacks our signed tenancy:marker tag): nothing of it is changed", kind, name)));
	return plan;
}

/* Inline and managed policies someone else put on our user or role. */
static List *
remove_extra_policies(List *plan, const IamTarget *want, bool user, const IamEntity *e)
{
	const char *type = user ? "iam_user" : "iam_role";
	const char *name = user ? want->user_name : want->role_name;
	ListCell   *lc;

	foreach(lc, e->inline_policies)
		plan = lappend(plan, iam_step(STEP_IAM_DELETE_POLICY, type, name, want,
									  user ? "DeleteUserPolicy" : "DeleteRolePolicy",
									  psprintf("has the inline policy \"%s\", which aurora_tenancy did not put there",
											   (char *) lfirst(lc)),
									  0, gone, 2, user ? "UserName" : "RoleName", name,
									  "PolicyName", lfirst(lc)));
	foreach(lc, e->attached_policies)
		plan = lappend(plan, iam_step(STEP_IAM_DETACH_POLICY, type, name, want,
									  user ? "DetachUserPolicy" : "DetachRolePolicy",
									  psprintf("has the managed policy \"%s\" attached, which aurora_tenancy did not attach",
											   (char *) lfirst(lc)),
									  0, gone, 2, user ? "UserName" : "RoleName", name,
									  "PolicyArn", lfirst(lc)));
	return plan;
}

static Step *
delete_key(const IamTarget *want, const char *id, const char *problem)
{
	return iam_step(STEP_IAM_DELETE_KEY, "iam_access_key", id, want, "DeleteAccessKey",
					problem, 0, gone, 2, "UserName", want->user_name, "AccessKeyId", id);
}

/* Offboarding: keys, inline policies, attachments, the role, the user. */
static List *
plan_iam_removal(List *plan, const IamTarget *want, const IamSnapshot *have)
{
	bool		user = have->user.exists && have->user.ours;
	bool		role = have->role.exists && have->role.ours;
	ListCell   *lc;
	IamEntity	user_extra = have->user;
	IamEntity	role_extra = have->role;

	if (user)
	{
		foreach(lc, have->keys)
			plan = lappend(plan, delete_key(want, ((IamKey *) lfirst(lc))->id, NULL));
		if (have->assume_policy)
			user_extra.inline_policies = lcons((char *) IAM_ASSUME_POLICY,
											   list_copy(user_extra.inline_policies));
		plan = remove_extra_policies(plan, want, true, &user_extra);
	}
	if (role)
	{
		if (have->connect_policy)
			role_extra.inline_policies = lcons((char *) IAM_CONNECT_POLICY,
											   list_copy(role_extra.inline_policies));
		plan = remove_extra_policies(plan, want, false, &role_extra);
		plan = lappend(plan, iam_step(STEP_IAM_DELETE_ROLE, "iam_role", want->role_name, want,
									  "DeleteRole", NULL, 0, gone, 1, "RoleName", want->role_name));
	}
	if (user)
		plan = lappend(plan, iam_step(STEP_IAM_DELETE_USER, "iam_user", want->user_name, want,
									  "DeleteUser", NULL, 0, gone, 1, "UserName", want->user_name));
	return plan;
}

/* The user, its assume-role policy and its key (user_and_role mode). */
static List *
plan_iam_user(List *plan, const IamTarget *want, const IamSnapshot *have, bool before_role)
{
	const IamEntity *u = &have->user;
	bool		recorded_there = false;
	ListCell   *lc;

	if (before_role)
	{
		if (!u->exists)
			plan = lappend(plan, with_tags(iam_step(STEP_IAM_CREATE_USER, "iam_user", want->user_name, want,
													"CreateUser", "is missing", 0, NULL, 2,
													"Path", IAM_PATH, "UserName", want->user_name),
										   want, "GetUser", want->user_name));
		else if (!u->cluster_tagged)
			plan = lappend(plan, tagged(iam_step(STEP_IAM_TAG_USER, "iam_user", want->user_name, want,
												 "TagUser", "lacks the tag naming its cluster", 0, NULL, 1,
												 "UserName", want->user_name), want, true));
		return plan;
	}

	if (have->assume_policy == NULL ||
		!iam_policy_equal(have->assume_policy, want->assume_policy, want->partition))
		plan = lappend(plan, iam_step(STEP_IAM_PUT_ASSUME, "iam_user", want->user_name, want,
									  "PutUserPolicy",
									  have->assume_policy ? "may not assume exactly its role (policy " IAM_ASSUME_POLICY " differs)" :
									  "lacks the policy " IAM_ASSUME_POLICY,
									  0, NULL, 3, "UserName", want->user_name,
									  "PolicyName", IAM_ASSUME_POLICY,
									  "PolicyDocument", want->assume_policy));
	plan = remove_extra_policies(plan, want, true, u);

	/* keys: the one we made and told; any other was not told to anyone */
	foreach(lc, have->keys)
	{
		IamKey	   *k = lfirst(lc);

		if (want->recorded_key && strcmp(k->id, want->recorded_key) == 0)
			recorded_there = true;
		else
			plan = lappend(plan, delete_key(want, k->id,
											"is an access key aurora_tenancy did not hand out (made by someone else, or its making was interrupted)"));
	}
	if ((!recorded_there && want->make_key) || want->rotate_key)
	{
		Step	   *create = iam_step(STEP_IAM_CREATE_KEY, "iam_user", want->user_name, want,
									  "CreateAccessKey", NULL, AWS_QUERY_ONCE, NULL, 1,
									  "UserName", want->user_name);

		((AwsCall *) create->aws)->answer = want->new_key;
		plan = lappend(plan, create);
		if (recorded_there && want->rotate_key)
			plan = lappend(plan, delete_key(want, want->recorded_key, NULL));
	}
	else if (!recorded_there)
		plan = lappend(plan, plan_report("iam_user", want->user_name,
										 "has no access key from aurora_tenancy: tenancy.rotate_access_key() makes one"));
	else
		foreach(lc, have->keys)
		{
			IamKey	   *k = lfirst(lc);

			if (strcmp(k->id, want->recorded_key) == 0 && k->active != want->keys_active)
				plan = lappend(plan, iam_step(STEP_IAM_UPDATE_KEY, "iam_access_key", k->id, want,
											  "UpdateAccessKey",
											  want->keys_active ? "is inactive" : "is active while the tenant is suspended",
											  0, NULL, 3, "UserName", want->user_name,
											  "AccessKeyId", k->id,
											  "Status", want->keys_active ? "Active" : "Inactive"));
		}
	return plan;
}

/*
 * plan_iam
 *		Appends to plan the calls that make IAM hold what want says, given
 *		what have shows.
 */
List *
plan_iam(List *plan, const IamTarget *want, const IamSnapshot *have)
{
	const IamEntity *r = &have->role;
	bool		mine_only;

	plan = report_foreign(plan, "role", r, want->role_name);
	if (want->with_user || want->remove)
		plan = report_foreign(plan, "user", &have->user, want->user_name);
	if (want->remove)
		return plan_iam_removal(plan, want, have);

	/* nothing is done next to an entity that is not ours */
	mine_only = !(r->exists && !r->ours) &&
		!(want->with_user && have->user.exists && !have->user.ours);
	if (!mine_only)
		return plan;

	if (want->with_user)
		plan = plan_iam_user(plan, want, have, true);

	if (!r->exists)
		plan = lappend(plan, with_tags(iam_step(STEP_IAM_CREATE_ROLE, "iam_role", want->role_name, want,
												"CreateRole", "is missing", AWS_QUERY_PRINCIPAL_LAG, NULL, 4,
												"Path", IAM_PATH, "RoleName", want->role_name,
												"AssumeRolePolicyDocument", want->trust_policy,
												"MaxSessionDuration", "3600"),
									   want, "GetRole", want->role_name));
	else
	{
		if (!r->cluster_tagged)
			plan = lappend(plan, tagged(iam_step(STEP_IAM_TAG_ROLE, "iam_role", want->role_name, want,
												 "TagRole", "lacks the tag naming its cluster", 0, NULL, 1,
												 "RoleName", want->role_name), want, false));
		if (r->trust_policy == NULL ||
			!iam_policy_equal(r->trust_policy, want->trust_policy, want->partition))
			plan = lappend(plan, iam_step(STEP_IAM_TRUST_POLICY, "iam_role", want->role_name, want,
										  "UpdateAssumeRolePolicy",
										  "trusts other principals or addresses than the tenant's (its trust policy differs)",
										  AWS_QUERY_PRINCIPAL_LAG, NULL, 2,
										  "RoleName", want->role_name,
										  "PolicyDocument", want->trust_policy));
	}

	if (want->connect &&
		(have->connect_policy == NULL ||
		 !iam_policy_equal(have->connect_policy, want->connect_policy, want->partition)))
		plan = lappend(plan, iam_step(STEP_IAM_PUT_CONNECT, "iam_role", want->role_name, want,
									  "PutRolePolicy",
									  have->connect_policy ? "may connect as other database users or clusters (policy " IAM_CONNECT_POLICY " differs)" :
									  "lacks the policy " IAM_CONNECT_POLICY ": nobody can log in with IAM",
									  0, NULL, 3, "RoleName", want->role_name,
									  "PolicyName", IAM_CONNECT_POLICY,
									  "PolicyDocument", want->connect_policy));
	else if (!want->connect && have->connect_policy != NULL)
		plan = lappend(plan, iam_step(STEP_IAM_DELETE_CONNECT, "iam_role", want->role_name, want,
									  "DeleteRolePolicy",
									  "may connect to the database though the tenant may not log in",
									  0, gone, 2, "RoleName", want->role_name,
									  "PolicyName", IAM_CONNECT_POLICY));
	plan = remove_extra_policies(plan, want, false, r);

	if (want->with_user)
		plan = plan_iam_user(plan, want, have, false);
	else if (have->user.exists && have->user.ours)
		plan = plan_iam_removal(plan, want, &(IamSnapshot) {.user = have->user,
			.assume_policy = have->assume_policy, .keys = have->keys});
	return plan;
}
