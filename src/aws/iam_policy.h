/*
 * aws/iam_policy.h
 *		IAM policy documents for a tenant's IAM entities: built here, sized
 *		against IAM's quotas, and compared by meaning with what IAM returns.
 *
 * Every string returned is palloc'd in the current memory context.  Invalid
 * input is an ERROR (ERRCODE_INVALID_PARAMETER_VALUE, but for a NULL source
 * address and a malformed desired document), except for the document IAM
 * returned (iam_policy_equal's "actual"), which never is one.
 */
#ifndef AURORA_TENANCY_IAM_POLICY_H
#define AURORA_TENANCY_IAM_POLICY_H

#include "postgres.h"

/* the only policy language version the documents built here declare */
#define IAM_POLICY_VERSION "2012-10-17"

/* in iam_policy.c */

/*
 * "aws", "aws-cn" or "aws-us-gov" for a region such as eu-central-1,
 * cn-north-1, us-gov-west-1; NULL when the region is not of the form
 * [a-z]{2}(-gov)?-[a-z]+-[0-9]+ (which leaves out the ISO partitions'
 * us-iso-east-1 and the like).  A "-gov" region is aws-us-gov whatever its
 * first two letters; a "cn-" one is aws-cn; all others are aws.
 */
extern const char *aws_partition(const char *region);

/*
 * Policy documents: compact JSON (no whitespace), keys in a fixed order
 * (Version, Statement; in the statement Effect, Principal, Action,
 * Resource, Condition), "Version": "2012-10-17", Statement always an array
 * of one statement, Action and Resource single strings.
 */

/*
 * rds-db:connect on exactly
 * arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/DB_USER.
 * partition must be aws_partition(region); account_id 12 digits;
 * cluster_resource_id "cluster-" and letters or digits; db_user anything
 * non-empty but '*', '?' (IAM wildcards) and "${" (a policy variable), which
 * would widen the grant to other users.
 */
extern char *iam_connect_policy(const char *partition, const char *region,
								const char *account_id,
								const char *cluster_resource_id,
								const char *db_user);

/*
 * sts:AssumeRole for one principal ARN (as iam_principal_arn returns it).
 * external_id not NULL: a Condition StringEquals sts:ExternalId (a single
 * string; STS's rules: 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]).
 * nips > 0: a Condition IpAddress aws:SourceIp, always an array, even of one
 * address, so that the document's shape does not depend on how many there
 * are; each an IPv4 or IPv6 address, with or without a /prefix length,
 * written as given.
 */
extern char *iam_trust_policy(const char *principal_arn,
							  const char *external_id,
							  int nips, const char *const *allowed_ips);

/*
 * sts:AssumeRole on exactly one role ARN, arn:PARTITION:iam::ACCOUNT:role/...
 * of any of the three partitions (the user's inline policy).
 */
extern char *iam_assume_role_policy(const char *role_arn);

/*
 * The size IAM counts against a quota: characters (UTF-8 code points, not
 * bytes) of the plain JSON document, but for whitespace outside JSON
 * strings.
 */
extern int	iam_policy_size(const char *doc);

/*
 * Are two documents the same policy?  actual: as IAM returns it
 * (URL-encoded, or plain JSON: a '{' after leading whitespace); desired: as
 * built above (plain JSON).  partition (one of the three) expands bare
 * account-id principals.  A malformed, ambiguous (duplicate keys, condition
 * keys equal but for case) or unreadable actual document is not equal,
 * never an error; a malformed desired one is an ERROR
 * (ERRCODE_INVALID_JSON_TEXT).
 */
extern bool iam_policy_equal(const char *actual, const char *desired,
							 const char *partition);

/*
 * A principal given by a DBA for a tenant (mode 'role'): a 12-digit account
 * id, or an IAM ARN arn:PARTITION:iam::ACCOUNT:(root|user/PATH/NAME|
 * role/PATH/NAME) of the given partition, the path optional and each path
 * segment and the name of [A-Za-z0-9_+=,.@-].  Returns the ARN to put into
 * the trust policy (an account id becomes arn:PARTITION:iam::ID:root);
 * anything else, such as "*", another partition's ARN, a service principal
 * or an STS assumed-role ARN, is an ERROR.
 */
extern char *iam_principal_arn(const char *principal, const char *partition);

#endif							/* AURORA_TENANCY_IAM_POLICY_H */
