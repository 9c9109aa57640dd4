/*
 * snapshot.c
 *		The reader: everything a tenant's plans need to know about the
 *		cluster, read once, into plain structs the planners plan from.
 *
 * The planners (plan_repair(), plan_offboard()) read nothing themselves: they
 * turn a Tenant (the registry) and a TenantSnapshot (the cluster) into
 * steps.  Where each piece of the snapshot comes from:
 *
 *	- the cluster-wide catalogs of the cluster the operation acts on
 *	  (pg_roles, pg_auth_members, pg_database and its ACLs, the markers,
 *	  pg_shdepend), in one query through cluster_query() (this cluster: as
 *	  the caller, in SPI, from a plan kept for the session; a target: as the
 *	  mapped user, over libpq): the caller (current user, superuser,
 *	  CREATEROLE, CREATEDB), its session user and whether that may connect
 *	  to each database (as the executor will), the IAM role, what is wrong
 *	  with the database template, the tenant role and its marker, its
 *	  members, each registered database's existence, marker and other
 *	  grantees, stray databases carrying the tenant's marker, and the other
 *	  databases where the role owns objects or holds privileges;
 *	- the same cluster's unreachable unmarked databases, each vouched for by
 *	  an intent row of this tenant's in the extension's audit log: the
 *	  unfinished databases an interrupted create left behind;
 *	- the extension's audit log, with pg_stat_activity: the audit intents
 *	  with no outcome.
 *
 * The snapshot is what was true when it was read, after the tenant's lock
 * was taken; each step's guard checks again, in the step's own transaction.
 */
#include "plan/plan.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/*
 * The cluster-wide catalogs, for many tenants at once: $1 their names
 * (text[]), $2 their registered databases and $3 the tenant of each
 * (parallel text[]s), $4 the IAM role; with template, $5 the database
 * template.  Rows (kind, tenant, datname, name, flag, flag2, flag3, flag4),
 * all text, in no order (the lists made of them are sorted afterwards):
 *
 *	caller		name the current user; flag superuser, flag2 CREATEROLE,
 *				flag3 CREATEDB
 *	session		name the session user
 *	iam_role	name the IAM role, if it exists; flag whether the caller
 *				inherits it
 *	template	name what is wrong with the template (NULL: nothing)
 *	role		one a tenant role: name its marker; flag a forbidden
 *				attribute, flag2 LOGIN, flag3 its connection limit, flag4 a
 *				member of the IAM role
 *	database	one a registered database that exists: name its marker;
 *				flag the session user may connect, flag2 its privileges
 *				differ from database_privileges' (PUBLIC holds one, or the
 *				tenant lacks one)
 *	member		name a member of the tenant role; flag whether the caller
 *				can revoke it
 *	reaches		name a role the tenant role is a member of, through which
 *				it reaches one no tenant may (see hooks/role_guard.c); flag
 *				the first such role and why
 *	grantee		name a role but the owner and the tenant holding
 *				privileges on a registered database
 *	marked		datname a database with a marker that none of the tenants
 *				registered (whose it is, marker_owner() says), name the
 *				marker
 *	depends		datname a database not the tenant's own where its role owns
 *				objects or holds privileges
 *
 * The rows about the caller and the cluster, and the marked databases, have
 * no tenant.  Each database's ACL is exploded once.  This cluster plans it
 * once per session (see execute_kept_as()), so where both sides grow with
 * the number of tenants it is a hashed subplan (NOT IN, or IN in the select
 * list), whatever the generic plan guesses; the registered databases and
 * their tenant roles are found by name, through the catalogs' indexes.
 */
static char *
cluster_states_sql(bool template)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "WITH caller AS (SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb"
						   " FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER),"
						   " iam AS (SELECT i.oid, i.rolname FROM pg_catalog.pg_roles i WHERE i.rolname = $4),"
						   " tenant AS (SELECT n.tenant, r.oid, r.rolcanlogin, r.rolconnlimit,"
						   " r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls AS attributes"
						   " FROM pg_catalog.unnest($1::pg_catalog.text[]) n(tenant)"
						   " JOIN pg_catalog.pg_roles r ON r.rolname = n.tenant),"
	/* every tenant of $3 is one of $1 */
						   " registered AS (SELECT x.tenant, x.datname, r.oid AS tenant_oid, d.oid, d.datdba, d.datacl"
						   " FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.text[]),"
						   " pg_catalog.unnest($2::pg_catalog.text[])) x(tenant, datname)"
						   " JOIN pg_catalog.pg_database d ON d.datname = x.datname"
						   " LEFT JOIN pg_catalog.pg_roles r ON r.rolname = x.tenant),"
	/* what database_privileges and the grantees' steps look at (see plan_database) */
						   " databases AS (SELECT x.tenant, x.datname, x.oid, a.public_grant, a.tenant_grant, a.others"
						   " FROM registered x, LATERAL (SELECT"
						   " COALESCE(pg_catalog.bool_or(e.grantee = 0), false) AS public_grant,"
						   " COALESCE(pg_catalog.bool_or(e.grantee = x.tenant_oid AND e.privilege_type = 'CONNECT'), false)"
						   " AND COALESCE(pg_catalog.bool_or(e.grantee = x.tenant_oid AND e.privilege_type = 'TEMPORARY'), false)"
						   " AND COALESCE(pg_catalog.bool_or(e.grantee = x.tenant_oid AND e.privilege_type = 'CREATE'), false)"
						   " AS tenant_grant,"
						   " pg_catalog.array_agg(e.grantee) FILTER (WHERE e.grantee NOT IN (x.datdba, x.tenant_oid)) AS others"
						   " FROM pg_catalog.aclexplode(COALESCE(x.datacl, pg_catalog.acldefault('d', x.datdba))) e) a)"
						   " SELECT * FROM ("
						   " SELECT 'caller'::pg_catalog.text AS kind, NULL::pg_catalog.text AS tenant,"
						   " NULL::pg_catalog.text AS datname, CURRENT_USER::pg_catalog.text AS name,"
						   " rolsuper::pg_catalog.text AS flag, (rolsuper OR rolcreaterole)::pg_catalog.text AS flag2,"
						   " (rolsuper OR rolcreatedb)::pg_catalog.text AS flag3, NULL::pg_catalog.text AS flag4"
						   " FROM caller"
						   " UNION ALL SELECT 'session', NULL, NULL, SESSION_USER::pg_catalog.text, NULL, NULL, NULL, NULL"
						   " UNION ALL SELECT 'iam_role', NULL, NULL, i.rolname::pg_catalog.text,"
						   " (NOT c.rolsuper AND pg_catalog.pg_has_role(CURRENT_USER, i.oid, 'USAGE'))::pg_catalog.text,"
						   " NULL, NULL, NULL FROM iam i, caller c");
	if (template)
		appendStringInfo(&sql,
						 " UNION ALL SELECT 'template', NULL, NULL, CASE WHEN d.oid IS NULL THEN 'it does not exist'"
						 " WHEN NOT d.datallowconn THEN NULL"
						 " WHEN pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')"
						 " THEN 'PUBLIC may connect to it'"
						 " WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE %s"
						 " AND pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT'))"
						 " THEN 'a tenant may connect to it' END, NULL, NULL, NULL, NULL"
						 " FROM (SELECT $5::pg_catalog.name AS datname) n"
						 " LEFT JOIN pg_catalog.pg_database d ON d.datname = n.datname"
						 " WHERE $5 IS NOT NULL",
						 marker_present_sql(true, "r.oid"));
	appendStringInfo(&sql,
	/* what the role's steps look at (see plan_role) */
	/* a role's datname: its guard label (this cluster only) */
					 " UNION ALL SELECT 'role', t.tenant, %s, %s, t.attributes::pg_catalog.text,"
					 " t.rolcanlogin::pg_catalog.text, t.rolconnlimit::pg_catalog.text,"
					 " (t.oid IN (SELECT m.member FROM pg_catalog.pg_auth_members m"
					 " JOIN iam i ON i.oid = m.roleid))::pg_catalog.text"
					 " FROM tenant t"
					 " UNION ALL SELECT 'database', x.tenant, x.datname, %s,"
					 " pg_catalog.has_database_privilege(SESSION_USER, x.oid, 'CONNECT')::pg_catalog.text,"
					 " (x.public_grant OR NOT x.tenant_grant)::pg_catalog.text, NULL, NULL"
					 " FROM databases x"
	/* OFFSET 0: the membership's options read only for the tenant roles' members */
					 " UNION ALL SELECT 'member', a.tenant, NULL, m.rolname::pg_catalog.text,"
					 " pg_catalog.bool_and(c.rolsuper OR pg_catalog.current_setting('server_version_num')::pg_catalog.int4 < 160000"
					 " OR pg_catalog.pg_has_role(CURRENT_USER, a.grantor, 'USAGE'))::pg_catalog.text, NULL, NULL, NULL"
					 " FROM (SELECT t.tenant, a.* FROM tenant t"
					 " JOIN pg_catalog.pg_auth_members a ON a.roleid = t.oid OFFSET 0) a"
					 " JOIN pg_catalog.pg_roles m ON m.oid = a.member, caller c"
					 " WHERE " MEMBERSHIP_CONFERS_SQL("a")
					 " GROUP BY a.tenant, m.rolname"
					 " UNION ALL SELECT 'reaches', t.tenant, NULL, d.rolname::pg_catalog.text, w.why, NULL, NULL, NULL"
					 " FROM tenant t JOIN pg_catalog.pg_auth_members a ON a.member = t.oid AND " MEMBERSHIP_CONFERS_SQL("a")
					 " JOIN pg_catalog.pg_roles d ON d.oid = a.roleid,"
					 " LATERAL (WITH RECURSIVE up(oid) AS (SELECT d.oid UNION SELECT m.roleid"
					 " FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid WHERE " MEMBERSHIP_CONFERS_SQL("m") ")"
					 " SELECT pg_catalog.quote_ident(r.rolname) || CASE WHEN r.oid < 16384 THEN ', a role PostgreSQL defines'"
					 " WHEN r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls"
					 " THEN ', which has SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS'"
					 " ELSE ', another tenant''s role' END AS why"
	/* OFFSET 0: each role of the chain looked up by OID, the filter after */
					 " FROM up, LATERAL (SELECT * FROM pg_catalog.pg_roles r WHERE r.oid = up.oid OFFSET 0) r"
					 " WHERE r.oid < 16384 OR r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication"
					 " OR r.rolbypassrls OR (r.rolname <> t.tenant AND %s)"
					 " ORDER BY r.rolname LIMIT 1) w"
					 " UNION ALL SELECT DISTINCT 'grantee', x.tenant, x.datname, r.rolname::pg_catalog.text,"
					 " NULL, NULL, NULL, NULL"
					 " FROM (SELECT * FROM databases WHERE others IS NOT NULL) x,"
					 " pg_catalog.unnest(x.others) g(oid) JOIN pg_catalog.pg_roles r ON r.oid = g.oid"
					 " UNION ALL SELECT 'marked', NULL, d.datname::pg_catalog.text, %s, NULL, NULL, NULL, NULL"
					 " FROM pg_catalog.pg_database d WHERE %s"
					 " AND d.datname::pg_catalog.text NOT IN (SELECT x.datname FROM registered x)"
	/* dbid 0: a shared object (a database's ACL), in no database */
					 " UNION ALL SELECT DISTINCT 'depends', t.tenant, d.datname::pg_catalog.text,"
					 " NULL, NULL, NULL, NULL, NULL"
					 " FROM tenant t JOIN pg_catalog.pg_shdepend s ON s.refobjid = t.oid"
					 " AND s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass"
					 " JOIN pg_catalog.pg_database d ON d.oid = s.dbid"
					 " WHERE s.dbid <> 0 AND (t.tenant, s.dbid) NOT IN (SELECT x.tenant, x.oid FROM registered x)"
					 ") s",
					 current_cluster ? "NULL" : shared_label_sql(GUARD_PROVIDER, true, "t.oid"),
					 marker_text_sql(true, "t.oid"), marker_text_sql(false, "x.oid"),
					 marker_present_sql(true, "r.oid"),
					 marker_text_sql(false, "d.oid"), marker_present_sql(false, "d.oid"));
	return sql.data;
}

static DatabaseState *
find_database(TenantSnapshot *snap, const char *datname)
{
	for (int i = 0; i < snap->ndatabases; i++)
		if (strcmp(snap->databases[i].name, datname) == 0)
			return &snap->databases[i];
	return NULL;
}

static DatabaseState *
registered_database(TenantSnapshot *snap, const char *datname)
{
	DatabaseState *db = find_database(snap, datname);

	if (db == NULL)
		elog(ERROR, "database \"%s\" is not registered", datname);
	return db;
}

/* A text[] literal of names. */
static char *
text_array_literal(int n, const char *const *names)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		appendStringInfoString(&buf, i ? ",\"" : "\"");
		for (const char *p = names[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* A boolean cast to text: "true" */
static bool
is_true(const char *flag)
{
	return flag != NULL && strcmp(flag, "true") == 0;
}

/*
 * The tenants of one read, by name: a snapshot is found for each row in
 * constant time, whatever the number of tenants.
 */
typedef struct SnapshotEntry
{
	char		name[NAMEDATALEN];	/* key: the tenant */
	TenantSnapshot *snap;
	const Tenant *tenant;
} SnapshotEntry;

static HTAB *
snapshot_index(List *tenants, TenantSnapshot **snaps)
{
	HASHCTL		ctl = {0};
	HTAB	   *index;
	ListCell   *lc;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(SnapshotEntry);
	ctl.hcxt = CurrentMemoryContext;
	index = hash_create("aurora_tenancy snapshots", Max(list_length(tenants), 1), &ctl,
						HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	foreach(lc, tenants)
	{
		const Tenant *t = lfirst(lc);
		SnapshotEntry *e = hash_search(index, t->name, HASH_ENTER, NULL);

		e->snap = snaps[foreach_current_index(lc)];
		e->tenant = t;
	}
	return index;
}

/* The snapshot of the tenant a row names (NULL: not one of the read's). */
static TenantSnapshot *
snapshot_of(HTAB *index, const char *tenant)
{
	SnapshotEntry *e;

	if (tenant == NULL || strlen(tenant) >= NAMEDATALEN)
		return NULL;
	e = hash_search(index, tenant, HASH_FIND, NULL);
	return e ? e->snap : NULL;
}

/* strcmp() order of a List of names: the catalogs' collation "C" */
static int
name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

static void
sort_names(List *names)
{
	if (list_length(names) > 1)
		list_sort(names, name_cmp);
}

/*
 * The rows SPI_tuptable holds, as cluster_query() returns them: each
 * column's output function looked up once, not once a cell.
 */
static Rows *
rows_of_tuptable(void)
{
	TupleDesc	desc = SPI_tuptable->tupdesc;
	Rows	   *rows = palloc(sizeof(Rows));
	FmgrInfo   *output = palloc(sizeof(FmgrInfo) * Max(desc->natts, 1));

	for (int c = 0; c < desc->natts; c++)
	{
		Oid			func;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(desc, c)->atttypid, &func, &varlena);
		fmgr_info(func, &output[c]);
	}
	rows->nrows = SPI_processed;
	rows->ncols = desc->natts;
	rows->cells = palloc0(sizeof(char *) * Max(rows->nrows * rows->ncols, 1));
	for (int r = 0; r < rows->nrows; r++)
		for (int c = 0; c < rows->ncols; c++)
		{
			bool		isnull;
			Datum		value = SPI_getbinval(SPI_tuptable->vals[r], desc, c + 1, &isnull);

			if (!isnull)
				rows->cells[r * rows->ncols + c] = OutputFunctionCall(&output[c], value);
		}
	return rows;
}

/*
 * A query of the cluster the operation acts on, as cluster_query() runs it,
 * but on this cluster from a plan kept for the session: the query's text
 * is the same on every call here (the markers of this cluster are security
 * labels).  A target gets the text, over libpq.
 */
static Rows *
cluster_query_kept(KeptStatement *kept, const char *sql, int nparams,
				   const char *const *params)
{
	if (current_cluster)
		return cluster_query(sql, nparams, params);
	if (execute_kept_as(GetUserId(), kept, sql, nparams, params) != SPI_OK_SELECT)
		elog(ERROR, "cluster query returned no rows: %s", sql);
	return rows_of_tuptable();
}

/* Fills in what the cluster-wide catalogs say about the tenants (one query). */
static void
read_cluster_states(List *tenants, TenantSnapshot **snaps, HTAB *index, bool template)
{
	static KeptStatement kept[2];	/* [template] */
	int			ndbs = 0;
	const char **names = palloc(sizeof(char *) * Max(list_length(tenants), 1));
	const char **datnames;
	const char **owners;
	const char *params[5];
	Rows	   *rows;
	ListCell   *lc;

	foreach(lc, tenants)
		ndbs += ((const Tenant *) lfirst(lc))->ndatabases;
	datnames = palloc(sizeof(char *) * Max(ndbs, 1));
	owners = palloc(sizeof(char *) * Max(ndbs, 1));
	ndbs = 0;
	foreach(lc, tenants)
	{
		const Tenant *t = lfirst(lc);

		names[foreach_current_index(lc)] = t->name;
		for (int i = 0; i < t->ndatabases; i++)
		{
			datnames[ndbs] = t->database_names[i];
			owners[ndbs++] = t->name;
		}
	}
	params[0] = text_array_literal(list_length(tenants), names);
	params[1] = text_array_literal(ndbs, datnames);
	params[2] = text_array_literal(ndbs, owners);
	params[3] = tenancy_iam_role;
	params[4] = tenancy_database_template;
	rows = cluster_query_kept(&kept[template], cluster_states_sql(template),
							  template ? 5 : 4, params);

	for (int i = 0; i < rows->nrows; i++)
	{
		const char *kind = ROWS_CELL(rows, i, 0);
		const char *tenant = ROWS_CELL(rows, i, 1);
		TenantSnapshot *snap = snapshot_of(index, tenant);
		char	   *datname = ROWS_CELL(rows, i, 2);
		char	   *name = ROWS_CELL(rows, i, 3);
		const char *flag = ROWS_CELL(rows, i, 4);
		const char *flag2 = ROWS_CELL(rows, i, 5);
		const char *flag3 = ROWS_CELL(rows, i, 6);
		const char *flag4 = ROWS_CELL(rows, i, 7);

		if (tenant == NULL)
		{
			/* about the caller and the cluster: the same for every tenant */
			for (int j = 0; j < list_length(tenants); j++)
			{
				TenantSnapshot *s = snaps[j];

				if (strcmp(kind, "caller") == 0)
				{
					s->caller = name;
					s->caller_is_superuser = is_true(flag);
					s->caller_can_createrole = is_true(flag2);
					s->caller_can_createdb = is_true(flag3);
				}
				else if (strcmp(kind, "session") == 0)
					s->session_user_name = name;
				else if (strcmp(kind, "iam_role") == 0)
				{
					s->iam_role_exists = true;
					s->caller_in_iam_role = is_true(flag);
				}
				else if (strcmp(kind, "template") == 0)
					s->template_problem = name;
			}
			if (strcmp(kind, "marked") == 0)
			{
				/* stray: marked for one of the tenants, not registered for it */
				char	   *owner = marker_owner(false, datname, name);
				TenantSnapshot *s = snapshot_of(index, owner);

				if (s && find_database(s, datname) == NULL)
					s->stray_databases = lappend(s->stray_databases, datname);
			}
			continue;
		}
		if (snap == NULL)
			elog(ERROR, "cluster state names tenant \"%s\", which was not asked for", tenant);
		if (strcmp(kind, "role") == 0)
		{
			snap->role_exists = true;
			snap->role_marked_for = marker_owner(true, tenant, name);
			snap->role_guard_label = datname;
			snap->role_has_attribute = is_true(flag);
			snap->role_can_login = is_true(flag2);
			snap->role_connection_limit = pg_strtoint32(flag3);
			snap->role_in_iam_role = is_true(flag4);
		}
		else if (strcmp(kind, "reaches") == 0)
		{
			RoleReach  *reach = palloc(sizeof(RoleReach));

			reach->role = name;
			reach->why = flag;
			snap->role_reaches = lappend(snap->role_reaches, reach);
		}
		else if (strcmp(kind, "member") == 0)
		{
			snap->role_members = lappend(snap->role_members, name);
			if (!is_true(flag))
				snap->role_members_unrevokable = lappend(snap->role_members_unrevokable, name);
		}
		else if (strcmp(kind, "database") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->exists = true;
			db->marked_for = marker_owner(false, datname, name);
			db->session_can_connect = is_true(flag);
			db->privileges_differ = is_true(flag2);
			/* registered for this tenant, marked for another: stray there */
			if (db->marked_for && strcmp(db->marked_for, tenant) != 0)
			{
				TenantSnapshot *s = snapshot_of(index, db->marked_for);

				if (s && find_database(s, datname) == NULL)
					s->stray_databases = lappend(s->stray_databases, datname);
			}
		}
		else if (strcmp(kind, "grantee") == 0)
		{
			DatabaseState *db = registered_database(snap, datname);

			db->other_grantees = lappend(db->other_grantees, name);
		}
		else if (strcmp(kind, "depends") == 0)
			snap->dependent_databases = lappend(snap->dependent_databases, datname);
	}

	/* sorted as the catalogs sort names (collation "C") */
	for (int j = 0; j < list_length(tenants); j++)
	{
		TenantSnapshot *s = snaps[j];

		sort_names(s->role_members);
		sort_names(s->role_members_unrevokable);
		sort_names(s->stray_databases);
		sort_names(s->dependent_databases);
		for (int k = 0; k < s->ndatabases; k++)
			sort_names(s->databases[k].other_grantees);
	}
}

/* The SQL of the unfinished databases on the cluster (datname, owner). */
static char *
unfinished_sql(void)
{
	return psprintf("SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba)"
					" FROM pg_catalog.pg_database d"
					" WHERE pg_catalog.starts_with(d.datname::pg_catalog.text, '" UNFINISHED_DATABASE_PREFIX "')"
					" AND NOT d.datallowconn AND NOT %s ORDER BY 1",
					marker_present_sql(false, "d.oid"));
}

/*
 * Unfinished databases (see plan_database): nobody can connect to them,
 * they carry no marker, and an intent row in the audit log, of a create
 * that never completed, shows their owner set out to create exactly that
 * name for a tenant: one of names (a text[]), or with names NULL one no
 * longer registered.  Rows (datname, tenant) in SPI_tuptable; false when
 * the cluster has no such database at all (and nothing was asked of the
 * audit log).
 */
static bool
read_vouched_unfinished(const char *names)
{
	static KeptStatement kept;
	Rows	   *rows = cluster_query_kept(&kept, unfinished_sql(), 0, NULL);
	const char **datnames;
	const char **owners;
	const char *args[4];

	if (rows->nrows == 0)
		return false;
	datnames = palloc(sizeof(char *) * rows->nrows);
	owners = palloc(sizeof(char *) * rows->nrows);
	for (int i = 0; i < rows->nrows; i++)
	{
		datnames[i] = ROWS_CELL(rows, i, 0);
		owners[i] = ROWS_CELL(rows, i, 1);
	}
	args[0] = names;
	args[1] = text_array_literal(rows->nrows, datnames);
	args[2] = text_array_literal(rows->nrows, owners);
	args[3] = current_cluster ? current_cluster->name : NULL;
	/* before 1.2 the audit log has no cluster columns, and no remote rows */
	catalog_execute_text(psprintf("SELECT DISTINCT u.datname COLLATE \"C\", a.tenant"
								  " FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.text[]),"
								  " pg_catalog.unnest($3::pg_catalog.text[])) u(datname, owner),"
								  " tenancy.audit_log a"
								  " WHERE a.step = '" STEP_CREATE_DATABASE "' AND a.phase = '" PHASE_INTENT "'"
								  " AND %s = u.owner"
								  " AND pg_catalog.starts_with(a.statement, 'CREATE DATABASE ' || u.datname || ' ')"
								  /* done: it was renamed, so one of that name now is not ours */
								  " AND NOT EXISTS (SELECT 1 FROM tenancy.audit_log o"
								  " WHERE o.operation_id = a.operation_id AND o.step = a.step"
								  " AND o.object_name = a.object_name AND o.phase = '" PHASE_DONE "' AND o.id > a.id)"
								  " AND CASE WHEN $1 IS NULL"
								  " THEN NOT EXISTS (SELECT 1 FROM tenancy.registry r WHERE r.name = a.tenant)"
								  " ELSE a.tenant IN (SELECT pg_catalog.unnest($1::pg_catalog.text[])) END"
								  " ORDER BY 1, 2",
								  catalog_knows_clusters() ?
								  "a.cluster IS NOT DISTINCT FROM $4 AND COALESCE(a.cluster_user, a.current_user_name)" :
								  "$4::pg_catalog.text IS NULL AND a.current_user_name"), 4, args);
	return true;
}

/* The unfinished databases of tenants no longer registered (see above). */
List *
read_orphaned_unfinished(void)
{
	List	   *result = NIL;

	if (read_vouched_unfinished(NULL))
		for (uint64 i = 0; i < SPI_processed; i++)
			result = lappend(result, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return result;
}

/* The unfinished databases of many tenants, each in its snapshot. */
static void
read_unfinished_of(List *tenants, HTAB *index)
{
	const char **names = palloc(sizeof(char *) * Max(list_length(tenants), 1));
	SPITupleTable *vouched;

	for (int i = 0; i < list_length(tenants); i++)
		names[i] = ((const Tenant *) list_nth(tenants, i))->name;
	if (!read_vouched_unfinished(text_array_literal(list_length(tenants), names)))
		return;
	vouched = SPI_tuptable;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *datname = SPI_getvalue(vouched->vals[i], vouched->tupdesc, 1);
		TenantSnapshot *snap = snapshot_of(index, SPI_getvalue(vouched->vals[i], vouched->tupdesc, 2));

		if (snap)
			snap->unfinished_databases = lappend(snap->unfinished_databases, datname);
	}
}

/*
 * Audit intents of these tenants that never got an outcome, from operations
 * that are not running any more: open_intents_sql()'s conditions, for many
 * tenants in one query.
 */
static void
read_open_intents(List *tenants, HTAB *index)
{
	/* custom: a scan of the whole audit log for many tenants, its index for a few */
	static KeptStatement kept = {.custom = true};
	const char **names = palloc(sizeof(char *) * Max(list_length(tenants), 1));
	const char *args[1];
	SPITupleTable *rows;
	uint64		n;

	for (int i = 0; i < list_length(tenants); i++)
		names[i] = ((const Tenant *) list_nth(tenants, i))->name;
	args[0] = text_array_literal(list_length(tenants), names);
	/* a join with the names, not = ANY: not a scan of the array a row */
	catalog_execute_kept(&kept, "SELECT a.tenant, a.id, a.operation_id, a.step, a.object_name"
						 " FROM tenancy.audit_log a"
						 " JOIN pg_catalog.unnest($1::pg_catalog.text[]) n(tenant) ON n.tenant = a.tenant"
						 " WHERE a.phase = '" PHASE_INTENT "'"
						 " AND NOT EXISTS (SELECT 1 FROM tenancy.audit_log b"
						 " WHERE b.tenant = a.tenant AND b.operation_id = a.operation_id AND b.step = a.step"
						 " AND b.object_name = a.object_name AND b.database IS NOT DISTINCT FROM a.database"
						 " AND b.phase IN ('" PHASE_DONE "', '" PHASE_FAILED "', '" PHASE_UNKNOWN "') AND b.id > a.id)"
						 " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(NULL) s"
						 " WHERE s.pid = a.backend_pid AND s.state = 'active')"
						 " ORDER BY a.id", 1, args);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		TenantSnapshot *snap = snapshot_of(index, SPI_getvalue(rows->vals[i], rows->tupdesc, 1));
		OpenIntent *intent = palloc(sizeof(OpenIntent));

		if (snap == NULL)
			continue;
		intent->id = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
		intent->operation_id = SPI_getvalue(rows->vals[i], rows->tupdesc, 3);
		intent->step = SPI_getvalue(rows->vals[i], rows->tupdesc, 4);
		intent->object_name = SPI_getvalue(rows->vals[i], rows->tupdesc, 5);
		snap->open_intents = lappend(snap->open_intents, intent);
	}
}

/* Empty snapshots of the tenants, and the index that finds them by name. */
static TenantSnapshot **
new_snapshots(List *tenants, HTAB **index)
{
	TenantSnapshot **snaps = palloc(sizeof(TenantSnapshot *) * Max(list_length(tenants), 1));
	ListCell   *lc;

	foreach(lc, tenants)
	{
		const Tenant *t = lfirst(lc);
		TenantSnapshot *snap = palloc0(sizeof(TenantSnapshot));

		snap->ndatabases = t->ndatabases;
		snap->databases = palloc0(sizeof(DatabaseState) * Max(t->ndatabases, 1));
		for (int i = 0; i < t->ndatabases; i++)
			snap->databases[i].name = t->database_names[i];
		snaps[foreach_current_index(lc)] = snap;
	}
	*index = snapshot_index(tenants, snaps);
	return snaps;
}

/*
 * Only what the cluster-wide catalogs say (one query), as below, and what
 * is wrong with tenancy.database_template (for onboarding: it looks at
 * every tenant role, which check() over many tenants need not pay for).
 */
TenantSnapshot *
read_cluster_snapshot(const Tenant *t)
{
	List	   *tenants = list_make1((Tenant *) t);
	HTAB	   *index;
	TenantSnapshot **snaps = new_snapshots(tenants, &index);

	read_cluster_states(tenants, snaps, index, true);
	hash_destroy(index);
	return snaps[0];
}

/*
 * Everything the plans of many tenants (Tenant *, all on the cluster the
 * operation acts on) need, read now, in list order: three queries whatever
 * their number (a fourth when the cluster has unfinished databases), each
 * with a fresh snapshot: the cluster's catalogs, the unfinished databases,
 * the open intents.  The caller is in SPI; each snapshot is what
 * read_tenant_snapshot() would give its tenant.
 */
TenantSnapshot **
read_tenant_snapshots(List *tenants)
{
	HTAB	   *index;
	TenantSnapshot **snaps = new_snapshots(tenants, &index);

	if (tenants != NIL)
	{
		read_cluster_states(tenants, snaps, index, false);
		read_unfinished_of(tenants, index);
		read_open_intents(tenants, index);
	}
	hash_destroy(index);
	return snaps;
}

/*
 * Everything the plans of one tenant need, read now (the caller in SPI,
 * holding the tenant's lock).
 */
TenantSnapshot *
read_tenant_snapshot(const Tenant *t)
{
	return read_tenant_snapshots(list_make1((Tenant *) t))[0];
}

/*
 * The open audit intents of one tenant, into a snapshot read without them
 * (read_cluster_snapshot()): onboarding again records their outcomes.
 */
void
read_open_intents_into(const Tenant *t, TenantSnapshot *snap)
{
	List	   *tenants = list_make1((Tenant *) t);
	HTAB	   *index = snapshot_index(tenants, &snap);

	read_open_intents(tenants, index);
	hash_destroy(index);
}
