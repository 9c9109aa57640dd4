/*
 * audit_chain.c
 *		Tamper evidence for tenancy.audit_log: every row the extension writes
 *		carries the SHA-256 of its content and of the row before it, so a row
 *		changed, deleted, reordered or slipped in by hand breaks the chain.
 *
 * No extension can stop a superuser from disabling the append-only triggers;
 * the chain makes what was done visible instead.  A superuser could still
 * recompute the whole chain, so its head (id and hash) also goes to the
 * server log, where the DBA's log collector keeps it out of reach, and
 * tenancy.verify_audit_log() checks the log against such a kept head.
 *
 * The canonical form of a row, which is what is hashed, depends on no
 * setting (TimeZone, DateStyle, extra_float_digits...), so anyone can
 * recompute it outside the database:
 *
 *		"aurora_tenancy audit_log v1"
 *		then for each column of CANONICAL_COLUMNS, in that order:
 *			NULL:	one byte 0x00
 *			value:	one byte 0x01, its length as 4 bytes big-endian, its bytes
 *		then for each column of LATER_COLUMNS that is not NULL, in that
 *		order: its name, then its value, each as a value above
 *
 * Values are: text and name as stored (database encoding); "at" as decimal
 * microseconds since 1970-01-01 00:00 UTC; id, backend_pid and
 * transaction_id in decimal; operation_id and client_addr as their output
 * functions print them (neither reads a setting); prev_hash as its raw
 * bytes.  row_hash = SHA-256 of all that.
 *
 * Appends are serialized by a transaction-level advisory lock, so the rows
 * written by the extension form one line, in id order.  Rows inserted any
 * other way (by hand, or a restore's COPY of dumped rows) are left exactly
 * as given: a hand-typed row has no hash and is reported, a restored row
 * keeps the hash it was dumped with.
 */
#include "core/core.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/int.h"
#include "common/sha2.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(tenancy_chain_audit_row);
PG_FUNCTION_INFO_V1(tenancy_audit_row_hash);
PG_FUNCTION_INFO_V1(tenancy_verify_audit_log);

#define CANONICAL_PREFIX "aurora_tenancy audit_log v1"

/* How a column enters the canonical form. */
typedef enum CanonKind
{
	CANON_TEXT,					/* text: its bytes */
	CANON_NAME,					/* name: its bytes up to the NUL */
	CANON_TIMESTAMP,			/* timestamptz: microseconds since the Unix epoch */
	CANON_OUTPUT,				/* a type whose output reads no setting */
	CANON_BYTES					/* bytea: its bytes */
} CanonKind;

typedef struct CanonColumn
{
	const char *name;
	Oid			type;
	CanonKind	kind;
} CanonColumn;

/*
 * The columns of version 1.0 plus prev_hash.  Columns added later are not
 * covered unless a new version of the canonical form adds them.
 */
static const CanonColumn CANONICAL_COLUMNS[] = {
	{"id", INT8OID, CANON_OUTPUT},
	{"at", TIMESTAMPTZOID, CANON_TIMESTAMP},
	{"operation_id", UUIDOID, CANON_OUTPUT},
	{"operation", TEXTOID, CANON_TEXT},
	{"tenant", TEXTOID, CANON_TEXT},
	{"step", TEXTOID, CANON_TEXT},
	{"phase", TEXTOID, CANON_TEXT},
	{"object_type", TEXTOID, CANON_TEXT},
	{"object_name", TEXTOID, CANON_TEXT},
	{"database", NAMEOID, CANON_NAME},
	{"statement", TEXTOID, CANON_TEXT},
	{"sqlstate", TEXTOID, CANON_TEXT},
	{"message", TEXTOID, CANON_TEXT},
	{"session_user_name", NAMEOID, CANON_NAME},
	{"current_user_name", NAMEOID, CANON_NAME},
	{"client_addr", INETOID, CANON_OUTPUT},
	{"application_name", TEXTOID, CANON_TEXT},
	{"backend_pid", INT4OID, CANON_OUTPUT},
	{"transaction_id", XID8OID, CANON_OUTPUT},
	{"prev_hash", BYTEAOID, CANON_BYTES},
};

#define NUM_CANONICAL_COLUMNS lengthof(CANONICAL_COLUMNS)

/*
 * Columns added after 1.0 (1.2: the target cluster and its user; 1.3: the
 * manifest apply).  Each is
 * hashed after the columns above, as its name and its value, only where a
 * row has a value: rows written before it existed keep their hashes.
 */
static const CanonColumn LATER_COLUMNS[] = {
	{"cluster", TEXTOID, CANON_TEXT},
	{"cluster_user", NAMEOID, CANON_NAME},
	{"apply_id", UUIDOID, CANON_OUTPUT},
};

#define NUM_LATER_COLUMNS lengthof(LATER_COLUMNS)

/* Where each canonical column is in one tuple descriptor. */
typedef struct CanonLayout
{
	AttrNumber	attnum[NUM_CANONICAL_COLUMNS];
	FmgrInfo	output[NUM_CANONICAL_COLUMNS];
	AttrNumber	later[NUM_LATER_COLUMNS];	/* InvalidAttrNumber: not there
											 * (before the update) */
	AttrNumber	id;
	AttrNumber	at;
	AttrNumber	prev_hash;
	AttrNumber	row_hash;
} CanonLayout;

/*
 * Set while the extension itself inserts audit rows (catalog.c arms it
 * around everything it runs as the owner): only those rows are chained.
 */
bool		audit_chain_armed = false;

/* State for writing the head to the server log once a transaction commits. */
static bool chain_written = false;	/* this transaction appended a row */
static bool log_at_exit = false;	/* an executor: one line when it leaves */
static char noted_head[NAMEDATALEN + 128];	/* "database\tid:hex" before commit, or "" */
static char committed_head[NAMEDATALEN + 128];	/* ... once committed, until logged */

static AttrNumber
column_of(TupleDesc desc, const char *name, Oid type)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (att->atttypid != type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of tenancy.audit_log has type %s, not %s",
							name, format_type_be(att->atttypid), format_type_be(type)),
					 errdetail("The audit chain hashes the columns as the extension created them.")));
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of tenancy.audit_log does not exist", name),
			 errhint("Update the extension: ALTER EXTENSION aurora_tenancy UPDATE.")));
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

static void
canon_layout(TupleDesc desc, CanonLayout *layout)
{
	int			i;

	for (i = 0; i < NUM_CANONICAL_COLUMNS; i++)
	{
		const CanonColumn *c = &CANONICAL_COLUMNS[i];

		layout->attnum[i] = column_of(desc, c->name, c->type);
		if (c->kind == CANON_OUTPUT)
		{
			Oid			func;
			bool		varlena;

			getTypeOutputInfo(c->type, &func, &varlena);
			fmgr_info(func, &layout->output[i]);
		}
	}
	for (i = 0; i < NUM_LATER_COLUMNS; i++)
	{
		bool		present = false;

		for (int a = 0; a < desc->natts; a++)
			present |= !TupleDescAttr(desc, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, a)->attname), LATER_COLUMNS[i].name) == 0;
		layout->later[i] = present ?
			column_of(desc, LATER_COLUMNS[i].name, LATER_COLUMNS[i].type) : InvalidAttrNumber;
	}
	layout->id = column_of(desc, "id", INT8OID);
	layout->at = column_of(desc, "at", TIMESTAMPTZOID);
	layout->prev_hash = column_of(desc, "prev_hash", BYTEAOID);
	layout->row_hash = column_of(desc, "row_hash", BYTEAOID);
}

static void
hash_update(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an audit row hash: %s", pg_cryptohash_error(ctx))));
}

/* One field: a NULL marker, or a value marker, its length and its bytes. */
static void
hash_field(pg_cryptohash_ctx *ctx, const char *data, int len)
{
	uint8		head[5];

	if (data == NULL)
	{
		head[0] = 0;
		hash_update(ctx, head, 1);
		return;
	}
	head[0] = 1;
	head[1] = (len >> 24) & 0xff;
	head[2] = (len >> 16) & 0xff;
	head[3] = (len >> 8) & 0xff;
	head[4] = len & 0xff;
	hash_update(ctx, head, 5);
	hash_update(ctx, data, len);
}

/* "at" without TimeZone or DateStyle: microseconds since 1970-01-01 UTC. */
static char *
canonical_timestamp(TimestampTz ts)
{
	int64		unix_usecs;

	if (TIMESTAMP_IS_NOBEGIN(ts))
		return pstrdup("-infinity");
	if (TIMESTAMP_IS_NOEND(ts))
		return pstrdup("infinity");
	if (pg_add_s64_overflow(ts, (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY,
							&unix_usecs))
		return psprintf("pg" INT64_FORMAT, ts);	/* near the end of time: never written */
	return psprintf(INT64_FORMAT, unix_usecs);
}

/* SHA-256 of the canonical form of a row (see the top of this file). */
static void
audit_row_hash(const CanonLayout *layout, TupleDesc desc, HeapTuple tuple,
			   uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	int			i;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start an audit row hash")));
	hash_update(ctx, CANONICAL_PREFIX, strlen(CANONICAL_PREFIX));
	for (i = 0; i < NUM_CANONICAL_COLUMNS; i++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, layout->attnum[i], desc, &isnull);
		char	   *s;

		if (isnull)
		{
			hash_field(ctx, NULL, 0);
			continue;
		}
		switch (CANONICAL_COLUMNS[i].kind)
		{
			case CANON_TEXT:
			case CANON_BYTES:
				{
					struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

					hash_field(ctx, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
					break;
				}
			case CANON_NAME:
				s = NameStr(*DatumGetName(value));
				hash_field(ctx, s, strlen(s));
				break;
			case CANON_TIMESTAMP:
				s = canonical_timestamp(DatumGetTimestampTz(value));
				hash_field(ctx, s, strlen(s));
				break;
			case CANON_OUTPUT:
				s = OutputFunctionCall((FmgrInfo *) &layout->output[i], value);
				hash_field(ctx, s, strlen(s));
				break;
		}
	}
	for (i = 0; i < NUM_LATER_COLUMNS; i++)
	{
		bool		isnull = true;
		Datum		value = (Datum) 0;
		const char *name = LATER_COLUMNS[i].name;

		if (layout->later[i] != InvalidAttrNumber)
			value = heap_getattr(tuple, layout->later[i], desc, &isnull);
		if (isnull)
			continue;
		hash_field(ctx, name, strlen(name));
		if (LATER_COLUMNS[i].kind == CANON_NAME)
			hash_field(ctx, NameStr(*DatumGetName(value)), strlen(NameStr(*DatumGetName(value))));
		else if (LATER_COLUMNS[i].kind == CANON_OUTPUT)
		{
			Oid			output;
			bool		varlena;
			char	   *text;

			getTypeOutputInfo(LATER_COLUMNS[i].type, &output, &varlena);
			text = OidOutputFunctionCall(output, value);
			hash_field(ctx, text, strlen(text));
		}
		else
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

			hash_field(ctx, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
		}
	}
	if (pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an audit row hash: %s", pg_cryptohash_error(ctx))));
	pg_cryptohash_free(ctx);
}

static bytea *
make_bytea(const uint8 *data, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

static char *
hex_string(const uint8 *data, int len)
{
	char	   *hex = palloc(len * 2 + 1);

	hex_encode((const char *) data, len, hex);
	hex[len * 2] = '\0';
	return hex;
}

/* A btree index whose first key is id, to find the head without a scan of the table. */
static Oid
id_index(Relation rel, AttrNumber id)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		fits = index->rd_rel->relam == BTREE_AM_OID &&
			index->rd_index->indisvalid &&
			index->rd_index->indkey.values[0] == id &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
		Oid			oid = RelationGetRelid(index);

		index_close(index, AccessShareLock);
		if (fits)
			return oid;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenancy.audit_log has no index on id"),
			 errdetail("The audit chain finds its head through that index; the extension created it as audit_log_id_idx.")));
	return InvalidOid;			/* keep the compiler quiet */
}

/*
 * The head of the chain: the hashed row with the highest (id, at).  Read
 * with SnapshotSelf, not the transaction's snapshot: under the chain lock,
 * that sees every row committed before the lock was granted (even in a
 * REPEATABLE READ transaction) and every row of this transaction, including
 * those of the current command, so two appends never link to the same row.
 */
static bytea *
chain_head(Relation rel, const CanonLayout *layout, int64 *id)
{
	Relation	index = index_open(id_index(rel, layout->id), AccessShareLock);
	IndexScanDesc scan = index_beginscan(rel, index, SnapshotSelf, 0, 0);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bytea	   *hash = NULL;
	TimestampTz best_at = 0;

	index_rescan(scan, NULL, 0, NULL, 0);
	while (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;
		Datum		h = slot_getattr(slot, layout->row_hash, &isnull);
		int64		row_id;
		TimestampTz row_at;

		if (isnull)
			continue;			/* not the extension's row */
		row_id = DatumGetInt64(slot_getattr(slot, layout->id, &isnull));
		if (hash && row_id != *id)
			break;				/* past the rows that share the highest id */
		row_at = DatumGetTimestampTz(slot_getattr(slot, layout->at, &isnull));
		if (hash && row_at <= best_at)
			continue;
		/* the next row links to the hash exactly as stored */
		hash = DatumGetByteaPCopy(h);
		*id = row_id;
		best_at = row_at;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	return hash;
}

/*
 * The chain's lock: an advisory lock (AUDIT_CHAIN_LOCK_CLASS, 0) that SQL's
 * advisory lock functions cannot take (they use the last field 1 and 2), so
 * that no role that may connect here can hold every operation up.
 */
static void
lock_chain(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, AUDIT_CHAIN_LOCK_CLASS, 0, 3);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * BEFORE INSERT row trigger of tenancy.audit_log.  For a row the extension
 * writes: under the chain lock, give it an id above the head's, link it to
 * the head and hash it.  The lock is an advisory lock, not a table lock:
 * two writers each holding RowExclusiveLock on the table and both upgrading
 * would deadlock.  Any other row is left exactly as given.
 */
Datum
tenancy_chain_audit_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	CanonLayout layout;
	int64		head_id = 0;
	bytea	   *head;
	bool		isnull;
	int64		id;
	int			cols[3];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	uint8		hash[PG_SHA256_DIGEST_LENGTH];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as a BEFORE INSERT row trigger")));
	tuple = trigdata->tg_trigtuple;
	if (!audit_chain_armed)
		return PointerGetDatum(tuple);

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	canon_layout(desc, &layout);

	lock_chain();
	head = chain_head(rel, &layout, &head_id);

	/*
	 * The id the column default drew before the lock is kept when it is
	 * above the head's (so ids have no gaps); a writer that drew earlier but
	 * got the lock later draws again, so id order is chain order.
	 */
	id = DatumGetInt64(heap_getattr(tuple, layout.id, desc, &isnull));
	if (isnull || (head && id <= head_id))
	{
		Oid			seq = get_relname_relid("audit_log_id_seq", RelationGetNamespace(rel));

		if (!OidIsValid(seq))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("sequence tenancy.audit_log_id_seq does not exist")));
		id = nextval_internal(seq, false);
		/* a restore sets the sequence back to the dumped value: move it on */
		if (head && id <= head_id)
		{
			id = head_id + 1;
			DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seq), Int64GetDatum(id));
		}
	}

	cols[0] = layout.id;
	values[0] = Int64GetDatum(id);
	cols[1] = layout.prev_hash;
	values[1] = PointerGetDatum(head);
	nulls[1] = (head == NULL);
	tuple = heap_modify_tuple_by_cols(tuple, desc, 2, cols, values, nulls);

	audit_row_hash(&layout, desc, tuple, hash);
	cols[0] = layout.row_hash;
	values[0] = PointerGetDatum(make_bytea(hash, sizeof(hash)));
	nulls[0] = false;
	tuple = heap_modify_tuple_by_cols(tuple, desc, 1, cols, values, nulls);

	chain_written = true;
	return PointerGetDatum(tuple);
}

/*
 * tenancy.audit_row_hash(tenancy.audit_log): the hash a row must carry,
 * given its prev_hash.  The upgrade to 1.1 chains existing rows with it.
 */
Datum
tenancy_audit_row_hash(PG_FUNCTION_ARGS)
{
	HeapTupleHeader td = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td),
											  HeapTupleHeaderGetTypMod(td));
	HeapTupleData tuple;
	CanonLayout layout;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];

	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;
	canon_layout(desc, &layout);
	audit_row_hash(&layout, desc, &tuple, hash);
	ReleaseTupleDesc(desc);
	PG_RETURN_BYTEA_P(make_bytea(hash, sizeof(hash)));
}

/* ---------- verification ---------- */

/* A head the DBA kept: "<id>:<64 hex digits>", or the hex digits alone. */
typedef struct KeptHead
{
	bool		has_id;
	int64		id;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	bool		id_seen;		/* a row with that id exists */
	bool		found;			/* ... and carries that hash */
} KeptHead;

static void
parse_head(const char *text, KeptHead *head)
{
	const char *colon = strchr(text, ':');
	const char *hex = colon ? colon + 1 : text;
	size_t		i;

	memset(head, 0, sizeof(*head));
	if (colon)
	{
		char	   *id_text = pnstrdup(text, colon - text);
		char	   *end;

		errno = 0;
		head->id = strtoi64(id_text, &end, 10);
		if (*id_text == '\0' || *end != '\0' || errno != 0)
			goto invalid;
		head->has_id = true;
	}
	if (strlen(hex) != PG_SHA256_DIGEST_LENGTH * 2)
		goto invalid;
	for (i = 0; hex[i]; i++)
		if (!isxdigit((unsigned char) hex[i]))
			goto invalid;
	hex_decode(hex, strlen(hex), (char *) head->hash);
	return;

invalid:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid audit log head \"%s\"", text),
			 errdetail("A head is written as <id>:<hash>, the hash in 64 hexadecimal digits, as the server log shows it."),
			 errhint("Copy the head from the line \"aurora_tenancy audit log head of database ...\" of the server log.")));
}

static void
report(Tuplestorestate *store, TupleDesc desc, bool has_id, int64 id, const char *problem)
{
	Datum		values[2];
	bool		nulls[2] = {!has_id, false};

	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(problem);
	tuplestore_putvalues(store, desc, values, nulls);
}

static bool
bytea_equals(bytea *b, const uint8 *data, int len)
{
	return VARSIZE_ANY_EXHDR(b) == len && memcmp(VARDATA_ANY(b), data, len) == 0;
}

/*
 * tenancy.verify_audit_log(head text DEFAULT NULL): one row per problem, in
 * the order of the log, then the kept head if it is missing or changed.
 * Walks the log in (id, at) order through a cursor, so a long log is never
 * held in memory.  Rows without a hash are reported and skipped: the chain
 * links over them.
 */
Datum
tenancy_verify_audit_log(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	KeptHead	head;
	bool		check_head = !PG_ARGISNULL(0);
	Portal		cursor;
	CanonLayout layout;
	bool		have_layout = false;
	bool		have_prev = false;
	bytea	   *prev = NULL;
	int64		prev_id = 0;
	MemoryContext rowcontext;
	MemoryContext oldcontext;

	InitMaterializedSRF(fcinfo, 0);
	if (check_head)
		parse_head(text_to_cstring(PG_GETARG_TEXT_PP(0)), &head);

	rowcontext = AllocSetContextCreate(CurrentMemoryContext, "audit chain verification",
									   ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cursor = catalog_cursor_open("SELECT * FROM tenancy.audit_log ORDER BY id, at");
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(cursor, true, 1000);
		if (SPI_processed == 0)
			break;
		if (!have_layout)
		{
			oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
			canon_layout(SPI_tuptable->tupdesc, &layout);
			MemoryContextSwitchTo(oldcontext);
			have_layout = true;
		}
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		id = DatumGetInt64(heap_getattr(row, layout.id, desc, &isnull));
			Datum		stored = heap_getattr(row, layout.row_hash, desc, &isnull);
			Datum		stored_prev;
			bytea	   *row_hash;
			uint8		hash[PG_SHA256_DIGEST_LENGTH];

			oldcontext = MemoryContextSwitchTo(rowcontext);
			if (check_head && head.has_id && id == head.id)
				head.id_seen = true;
			if (isnull)
			{
				report(rsinfo->setResult, rsinfo->setDesc, true, id,
					   "the row has no hash: aurora_tenancy did not write it (it was inserted by hand), or its hash was removed");
				MemoryContextSwitchTo(oldcontext);
				MemoryContextReset(rowcontext);
				continue;
			}
			row_hash = DatumGetByteaPP(stored);
			if (check_head && bytea_equals(row_hash, head.hash, sizeof(head.hash)) &&
				(!head.has_id || id == head.id))
				head.found = true;

			audit_row_hash(&layout, desc, row, hash);
			if (!bytea_equals(row_hash, hash, sizeof(hash)))
				report(rsinfo->setResult, rsinfo->setDesc, true, id,
					   "the row does not match its hash: it was changed after it was written");

			stored_prev = heap_getattr(row, layout.prev_hash, desc, &isnull);
			if (!have_prev && !isnull)
				report(rsinfo->setResult, rsinfo->setDesc, true, id,
					   "the first row links to a row before it: the rows before it were deleted");
			else if (have_prev && isnull)
				report(rsinfo->setResult, rsinfo->setDesc, true, id,
					   psprintf("the row starts a new chain after row %lld: rows were deleted or the chain was rewritten",
								(long long) prev_id));
			else if (have_prev && !bytea_equals(DatumGetByteaPP(stored_prev),
												(uint8 *) VARDATA_ANY(prev),
												VARSIZE_ANY_EXHDR(prev)))
				report(rsinfo->setResult, rsinfo->setDesc, true, id,
					   psprintf("the row does not link to row %lld before it: rows between them were deleted, or rows were changed or reordered",
								(long long) prev_id));

			/* the next row links to the hash as stored */
			MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
			if (prev)
				pfree(prev);
			prev = (bytea *) PG_DETOAST_DATUM_COPY(stored);
			prev_id = id;
			have_prev = true;
			MemoryContextSwitchTo(oldcontext);
			MemoryContextReset(rowcontext);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(cursor);
	SPI_finish();

	if (check_head && !head.found)
		report(rsinfo->setResult, rsinfo->setDesc, head.has_id, head.id,
			   head.id_seen ?
			   "the kept head does not match: that row or its hash was changed, or the chain was rewritten" :
			   "the kept head is missing: its row was deleted or the log was truncated");
	MemoryContextDelete(rowcontext);
	return (Datum) 0;
}

/* ---------- the head in the server log ---------- */

static void
log_head(void)
{
	if (committed_head[0] == '\0')
		return;
	ereport(LOG_SERVER_ONLY,
			(errmsg("aurora_tenancy audit log head of database \"%.*s\": %s",
					(int) strcspn(committed_head, "\t"), committed_head,
					strchr(committed_head, '\t') + 1),
			 errhidestmt(true)));
	committed_head[0] = '\0';
}

/*
 * After a transaction that appended rows: before commit (the chain lock is
 * still held, so the head is this transaction's last row) note the head;
 * once committed, log it.  A rolled-back transaction logs nothing, so a
 * logged head always existed.  An executor logs only its last head, when
 * it leaves: one line per operation.
 */
static void
chain_xact_callback(XactEvent event, void *arg)
{
	Oid			relid;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			noted_head[0] = '\0';
			/* looked up by name: the transaction may have dropped the extension since */
			if (chain_written &&
				OidIsValid(relid = get_relname_relid("audit_log", get_namespace_oid("tenancy", true))))
			{
				Relation	rel = table_open(relid, AccessShareLock);
				CanonLayout layout;
				int64		id;
				bytea	   *hash;

				canon_layout(RelationGetDescr(rel), &layout);
				hash = chain_head(rel, &layout, &id);
				if (hash)
					snprintf(noted_head, sizeof(noted_head), "%s\t" INT64_FORMAT ":%s",
							 get_database_name(MyDatabaseId), id,
							 hex_string((uint8 *) VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash)));
				table_close(rel, AccessShareLock);
			}
			break;
		case XACT_EVENT_COMMIT:
			if (chain_written && noted_head[0] != '\0')
			{
				strlcpy(committed_head, noted_head, sizeof(committed_head));
				if (!log_at_exit)
					log_head();
			}
			noted_head[0] = '\0';
			chain_written = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* not committed (yet): nothing to log */
			noted_head[0] = '\0';
			chain_written = false;
			break;
		default:
			break;
	}
}

static void
log_head_at_exit(int code, Datum arg)
{
	log_head();
}

/* Called by an executor: log the head once, when it leaves, not per transaction. */
void
audit_chain_log_head_at_exit(void)
{
	log_at_exit = true;
	before_shmem_exit(log_head_at_exit, (Datum) 0);
}

void
AuditChainInit(void)
{
	RegisterXactCallback(chain_xact_callback, NULL);
}

/*
 * Is the audit log empty?  The event trigger records nothing then: a
 * restore replays DDL before it loads the dumped rows, and rows recorded
 * first would fork the chain the dump carries.
 */
bool
audit_log_is_empty(void)
{
	char	   *empty;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_execute("SELECT NOT EXISTS (SELECT FROM tenancy.audit_log)", 0, NULL, NULL, NULL);
	empty = catalog_value();
	SPI_finish();
	return empty != NULL && strcmp(empty, "t") == 0;
}
