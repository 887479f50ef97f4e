/*
 * tqverify.cpp — tq_index_check(regclass, verify_codes): an amcheck for
 * turboquant.
 *
 * Checks every page the metapage accounts for (kind, stripe number, geometry),
 * the lists (every stripe in exactly one list's chain, chains ascending from
 * the directory's head to its tail with its stripe count, every page of a
 * stripe marked with its list, free-space hints inside their list), every
 * used slot (valid heap TID, finite norm and factor), and — with one
 * pass over the table under an MVCC snapshot — that every row visible to it
 * with a non-NULL vector is indexed exactly once, with the norm of its vector,
 * in the list of its nearest centroid (up to float rounding).
 * With verify_codes, each such row's vector is encoded again and its codes,
 * norm and factor must equal the stored ones bit for bit (the idea of
 * amcheck's heapallindexed): torn or misplaced code pages, invisible to
 * the other checks, are found.  Any failure is an ERROR with
 * ERRCODE_INDEX_CORRUPTED naming the first problem found; success returns the
 * number of index entries.  Takes only AccessShareLock, so it runs beside
 * inserts, scans and VACUUM, and on a hot standby (the TAP tests call it
 * after each ordeal, and during one).
 *
 * Who may run it.  EXECUTE is revoked from PUBLIC: an administrator grants it
 * (amcheck's model), and the caller must also have SELECT on the table, checked
 * before any lock is taken, since the result reveals its row count.  The
 * table pass evaluates index expressions and partial-index predicates, which
 * are the table owner's code: like REINDEX and amcheck, the check runs them as
 * the owner, inside a security-restricted operation with its own GUC nest
 * level, so an owner's function never runs with the checker's rights.  An
 * error restores the caller's identity through transaction abort.
 *
 * Running beside writers dictates two choices.  The snapshot is taken before
 * the index is read: a row visible to it was indexed before it, and VACUUM
 * cannot remove the entry of a row our snapshot still sees, so a visible row
 * missing from the index is corruption, never a race (with the snapshot taken
 * after the index pass, a row inserted into an already-read stripe and
 * committed meanwhile looked missing).  For the same reason the slot of a
 * visible row cannot be rewritten while we read its stripe (first page first,
 * as inserts write it last), so its codes can be compared.  And a heap TID
 * found twice is reported only when the table pass sees a row at that TID:
 * while the index is read, VACUUM may clear a dead row's slot, the heap reuse
 * the TID and an insert put it in a stripe read later, so the same TID
 * legitimately appears twice for a row no snapshot of ours can see.
 */
#include "tqindex.h"
#include "tqvector.h"

#include <cmath>

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

typedef struct TqCheckEntry
{
	ItemPointerData tid;
	bool		dup;			/* another entry has the same heap TID */
	uint32		list;
	float		factor;
	double		norm;
	uint64		code_hash;		/* of the slot's unpacked codes (verify_codes) */
} TqCheckEntry;

typedef struct TqCheckState
{
	Relation	index;
	TqCheckEntry *entries;
	int64		n;
	int64		rows;
	/* verify_codes: re-encoding the table's vectors */
	const TqIndexCache *cache;	/* a private copy; NULL without verify_codes */
	uint8	   *codes;
	float	   *scratch;
	MemoryContext tmpctx;
	/* lists: each row must sit in its nearest centroid's list */
	const TqIndexCache *lcache; /* a private copy when the index has lists */
	void	   *assign_scratch;
} TqCheckState;

static int
TqCheckEntryCmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) &((const TqCheckEntry *) a)->tid,
							  (ItemPointer) &((const TqCheckEntry *) b)->tid);
}

/* FNV-1a over one vector's codes (one per byte). */
static uint64
TqCodeHash(const uint8 *codes, uint32 n)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);

	for (uint32 i = 0; i < n; i++)
	{
		h ^= codes[i];
		h *= UINT64CONST(0x100000001b3);
	}
	return h;
}

/* Raises the corruption error. */
static void
TqCorrupt(Relation index, const char *what, ItemPointer tid)
{
	if (tid)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" is corrupted: %s (heap tid (%u,%u))",
							   RelationGetRelationName(index), what,
							   ItemPointerGetBlockNumberNoCheck(tid),
							   ItemPointerGetOffsetNumberNoCheck(tid))));
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" is corrupted: %s",
						   RelationGetRelationName(index), what)));
}

/* Heap pass: every visible row must be in the index. */
static void
TqCheckCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool tupleIsAlive, void *state)
{
	TqCheckState *st = (TqCheckState *) state;
	TqCheckEntry key;
	TqCheckEntry *e;
	Datum		value;
	TqVector   *vec;
	double		norm;
	MemoryContext old;

	if (isnull[0])
		return;
	st->rows++;
	key.tid = *tid;
	e = (TqCheckEntry *) bsearch(&key, st->entries, st->n, sizeof(TqCheckEntry),
								 TqCheckEntryCmp);
	if (e == NULL)
		TqCorrupt(st->index, "table row missing from the index", tid);
	if (e->dup)
		TqCorrupt(st->index, "heap tid indexed twice", tid);
	/* the row's value, converted and detoasted in a context reset after each row */
	old = MemoryContextSwitchTo(st->tmpctx);
	value = TqIndexValueToTqvector(index, values[0]);
	vec = DatumGetTqVector(value);
	/* in double like Encode, so huge and tiny elements neither overflow nor vanish */
	norm = TqL2NormD(vec->x, vec->dim);
	if (fabs(norm - e->norm) > 1e-9 * norm)
		TqCorrupt(st->index, "stored norm differs from the row's vector", tid);
	if (st->lcache != NULL && (uint32) vec->dim == st->lcache->dims)
	{
		const TqIndexCache *c = st->lcache;
		uint32		nearest;
		uint32		dummy;
		float		dmin;
		float		dlist;

		/* the same distance definition as the build's assignment, from the core */
		turboquant::AssignNearest(c->centroids, c->n_lists, c->dims, c->mi->partition, vec->x,
								  1, &nearest, &dmin, st->assign_scratch);
		turboquant::AssignNearest(c->centroids + (size_t) e->list * c->dims, 1, c->dims,
								  c->mi->partition, vec->x, 1, &dummy, &dlist,
								  st->assign_scratch);
		if (nearest != e->list &&
			!(dlist - dmin <= 1e-3 * (1.0 + fabs(dmin) + norm * norm)))
			TqCorrupt(st->index, "entry in a list other than its nearest centroid's", tid);
	}
	if (st->cache != NULL)
	{
		const turboquant::Layout &layout = turboquant::QuantizerLayout(st->cache->qz);
		double		enorm;
		float		efactor;

		if ((uint32) vec->dim != st->cache->dims)
			TqCorrupt(st->index, "indexed row has another dimension than the index", tid);
		turboquant::Encode(st->cache->qz, vec->x, st->codes, &enorm, &efactor, st->scratch);
		if (TqCodeHash(st->codes, layout.padded_dim) != e->code_hash)
			TqCorrupt(st->index, "stored codes differ from the row's vector encoded again", tid);
		if (enorm != e->norm || memcmp(&efactor, &e->factor, sizeof(float)) != 0)
			TqCorrupt(st->index, "stored norm or factor differs from the row's vector encoded again", tid);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->tmpctx);
}

/* Appends one entry, growing the array. */
static void
TqCheckAddEntry(TqCheckState *st, int64 *cap, const TqGroupHeader *gh, uint32 s, uint64 hash,
				uint32 list)
{
	if (st->n == *cap)
	{
		*cap *= 2;
		st->entries = (TqCheckEntry *) repalloc_huge(st->entries, sizeof(TqCheckEntry) * *cap);
	}
	st->entries[st->n].tid = gh->tids[s];
	st->entries[st->n].norm = gh->norms[s];
	st->entries[st->n].factor = gh->factors[s];
	st->entries[st->n].dup = false;
	st->entries[st->n].code_hash = hash;
	st->entries[st->n].list = list;
	st->n++;
}

/*
 * Index pass: pages, slots, and the entries (with their codes' hashes when
 * verifying codes) of every stripe the metapage counts.
 */
static void
TqCheckIndexPass(TqCheckState *st, const TqMetaPageData *meta, bool verify_codes)
{
	Relation	index = st->index;
	const TqIndexCache *cache = TqCopyCache(TqGetCache(index, meta), CurrentMemoryContext);
	const TqStripeGeometry *geo = &cache->geo;
	const turboquant::Layout &layout = turboquant::QuantizerLayout(cache->qz);
	int64		cap = 1024;
	TqGroupHeader *headers = (TqGroupHeader *) palloc(sizeof(TqGroupHeader) * geo->groups);
	uint8	   *blocks = NULL;
	uint8	   *codes = NULL;

	st->entries = (TqCheckEntry *) palloc(sizeof(TqCheckEntry) * cap);
	if (verify_codes)
	{
		/* the stripe's G blocks reassembled from its pages, and one slot's codes */
		blocks = (uint8 *) palloc((size_t) geo->groups * layout.block_bytes);
		codes = (uint8 *) palloc(layout.padded_dim);
		st->cache = cache;
		st->codes = (uint8 *) palloc(layout.padded_dim);
		st->scratch = (float *) TqPallocAligned(sizeof(float) * turboquant::ScratchFloats(cache->qz), 64);
	}
	if (meta->padded_dim != layout.padded_dim)
		TqCorrupt(index, "metapage padded dimension disagrees with the quantizer", NULL);
	if (RelationGetNumberOfBlocks(index) < TqStripeBlock(geo, meta->n_stripes, 0))
		TqCorrupt(index, "relation shorter than its stripes", NULL);
	for (uint32 stripe = 0; stripe < meta->n_stripes; stripe++)
	{
		uint32		list = 0;

		CHECK_FOR_INTERRUPTS();
		/* the first page first (inserts write it last), as scans do */
		for (uint32 p = 0; p < geo->pages; p++)
		{
			BlockNumber blkno = TqStripeBlock(geo, stripe, p);
			Buffer		buf = ReadBuffer(index, blkno);
			Page		page;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			TqCheckPage(page, index, blkno, p == 0 ? TQ_PAGE_STRIPE_HEAD : TQ_PAGE_STRIPE_CONT);
			if (TqPageGetOpaque(page)->stripe != stripe)
				TqCorrupt(index, "page belongs to another stripe", NULL);
			if (p == 0)
			{
				memcpy(headers, TqPageGroupHeader(page, 0), sizeof(TqGroupHeader) * geo->groups);
				list = TqPageGetOpaque(page)->list;
				if (list >= meta->n_lists)
					TqCorrupt(index, "stripe in a list that does not exist", NULL);
			}
			else if (TqPageGetOpaque(page)->list != list)
				TqCorrupt(index, "page belongs to another list than its stripe", NULL);
			if (verify_codes)
			{
				uint32		first = TqPageFirstChunk(geo, p);
				size_t		bytes = (size_t) TqPageChunkCount(geo, p) * geo->chunk_bytes;

				for (uint32 g = 0; g < geo->groups; g++)
					memcpy(blocks + (size_t) g * layout.block_bytes + (size_t) first * geo->chunk_bytes,
						   TqPageGroupChunks(page, geo, p, g), bytes);
			}
			UnlockReleaseBuffer(buf);
		}
		for (uint32 g = 0; g < geo->groups; g++)
		{
			const TqGroupHeader *gh = &headers[g];

			for (uint32 s = 0; s < turboquant::kBlockVectors; s++)
			{
				uint64		hash = 0;

				if (!((gh->used_mask >> s) & 1))
					continue;
				if (!ItemPointerIsValid(&gh->tids[s]))
					TqCorrupt(index, "used slot without a heap tid", NULL);
				if (!std::isfinite(gh->norms[s]) || gh->norms[s] < 0 ||
					!std::isfinite(gh->factors[s]))
					TqCorrupt(index, "used slot with an invalid norm or factor",
							  (ItemPointer) &gh->tids[s]);
				if (verify_codes)
				{
					turboquant::UnpackSlot(layout, blocks + (size_t) g * layout.block_bytes, s, codes);
					hash = TqCodeHash(codes, layout.padded_dim);
				}
				TqCheckAddEntry(st, &cap, gh, s, hash, list);
			}
		}
	}
}

/*
 * The lists: the directory (read after the metapage) against the stripe
 * chains.  Every stripe the metapage counts is in exactly one chain (its
 * list's, as its pages say), chains ascend and end at the directory's tail
 * with its stripe count, and free-space hints point into their own list.
 * Stripes linked after the metapage was read have higher numbers than it
 * counted and are ignored, so the check runs beside inserts.
 */
static void
TqCheckLists(TqCheckState *st, const TqMetaPageData *meta)
{
	Relation	index = st->index;
	TqStripeGeometry geo = TqGetCache(index, meta)->geo;
	TqListEntry *dir = (TqListEntry *) palloc(sizeof(TqListEntry) * meta->n_lists);
	uint32	   *owner = (uint32 *) palloc(sizeof(uint32) * Max(meta->n_stripes, 1));

	TqReadDirectory(index, meta, dir);
	for (uint32 s = 0; s < meta->n_stripes; s++)
		owner[s] = TQ_INVALID_STRIPE;
	for (uint32 list = 0; list < meta->n_lists; list++)
	{
		uint32		stripe = dir[list].head;
		uint32		prev = TQ_INVALID_STRIPE;
		uint32		count = 0;
		bool		saw_tail = false;

		if ((dir[list].head == TQ_INVALID_STRIPE) != (dir[list].tail == TQ_INVALID_STRIPE))
			TqCorrupt(index, "list with a head but no tail, or a tail but no head", NULL);
		while (stripe != TQ_INVALID_STRIPE && stripe < meta->n_stripes)
		{
			BlockNumber blkno = TqStripeBlock(&geo, stripe, 0);
			Buffer		buf;
			Page		page;

			CHECK_FOR_INTERRUPTS();
			if (owner[stripe] != TQ_INVALID_STRIPE)
				TqCorrupt(index, "stripe in two list chains (or twice in one)", NULL);
			if (prev != TQ_INVALID_STRIPE && stripe <= prev)
				TqCorrupt(index, "list chain out of order", NULL);
			owner[stripe] = list;
			count++;
			saw_tail |= stripe == dir[list].tail;
			buf = ReadBuffer(index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			TqCheckPage(page, index, blkno, TQ_PAGE_STRIPE_HEAD);
			if (TqPageGetOpaque(page)->list != list)
				TqCorrupt(index, "stripe chained into another list than its own", NULL);
			prev = stripe;
			stripe = TqPageGetOpaque(page)->next;
			UnlockReleaseBuffer(buf);
		}
		/* a tail counted by the metapage must be reached, with the whole chain */
		if (dir[list].tail != TQ_INVALID_STRIPE && dir[list].tail < meta->n_stripes &&
			(!saw_tail || count != dir[list].n_stripes))
			TqCorrupt(index, "list chain disagrees with the directory", NULL);
		if (dir[list].free_hint != TQ_INVALID_STRIPE && dir[list].free_hint < meta->n_stripes &&
			owner[dir[list].free_hint] != list)
			TqCorrupt(index, "free-space hint outside its list", NULL);
	}
	for (uint32 s = 0; s < meta->n_stripes; s++)
		if (owner[s] == TQ_INVALID_STRIPE)
			TqCorrupt(index, "stripe in no list", NULL);
	pfree(owner);
	pfree(dir);
	if (meta->n_lists > 1)
	{
		st->lcache = TqCopyCache(TqGetCache(index, meta), CurrentMemoryContext);
		st->assign_scratch = palloc(Max(turboquant::AssignScratchBytes(meta->dims, meta->n_lists), 8));
	}
}

/* The relation's name for messages, or its OID when it is gone. */
static char *
TqRelName(Oid relid)
{
	char	   *name = get_rel_name(relid);

	return name ? name : psprintf("with OID %u", relid);
}

/*
 * Errors unless `index` is a turboquant index with pages this session may
 * read: not partitioned (no storage), not another session's temporary index.
 * `verb` names what the caller does ("check", "read").
 */
static void
TqCheckReadableIndex(Relation index, const char *verb)
{
	if (index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is a partitioned index", RelationGetRelationName(index)),
						errhint("Use the index of each partition.")));
	if (index->rd_indam->ambuild != tqbuild)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not a turboquant index",
							   RelationGetRelationName(index))));
	if (RELATION_IS_OTHER_TEMP(index))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("cannot %s temporary indexes of other sessions", verb)));
}

TQ_FUNCTION(tq_index_check)
{
	Oid			indexoid = PG_GETARG_OID(0);
	bool		verify_codes = PG_GETARG_BOOL(1);
	Oid			heapid;
	Relation	index;
	Relation	heap;
	TqMetaPageData meta;
	TqCheckState st;
	Snapshot	snapshot;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	/* the table first, as REINDEX locks them; privileges before any lock */
	heapid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(heapid))
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not an index", TqRelName(indexoid))));
	if (pg_class_aclcheck(heapid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied for table %s", TqRelName(heapid)),
						errdetail("tq_index_check needs SELECT on the table of the index it checks.")));
	heap = table_open(heapid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	if (IndexGetRelation(indexoid, false) != heapid)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("could not open the table of index \"%s\"",
							   RelationGetRelationName(index))));
	TqCheckReadableIndex(index, "check");
	if (!index->rd_index->indisvalid)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("cannot check index \"%s\"", RelationGetRelationName(index)),
						errdetail("The index is not valid.")));

	/*
	 * From here on, index expressions and predicates may run: as the table's
	 * owner, restricted, with GUC changes undone at the end (see the essay).
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(heap->rd_rel->relowner,
						   save_sec_context | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();

	/* before reading the index: see the essay above */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	meta = TqReadMeta(index);
	memset(&st, 0, sizeof(st));
	st.index = index;
	st.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "turboquant check row",
									  ALLOCSET_DEFAULT_SIZES);

	if (meta.dims == 0)
	{
		if (meta.n_stripes != 0 || meta.n_lists != 1)
			TqCorrupt(index, "stripes or lists without a dimension", NULL);
		st.entries = (TqCheckEntry *) palloc(sizeof(TqCheckEntry));
	}
	else
	{
		TqCheckIndexPass(&st, &meta, verify_codes);
		TqCheckLists(&st, &meta);
	}

	qsort(st.entries, st.n, sizeof(TqCheckEntry), TqCheckEntryCmp);
	for (int64 i = 1; i < st.n; i++)
		if (ItemPointerEquals(&st.entries[i - 1].tid, &st.entries[i].tid))
			st.entries[i - 1].dup = st.entries[i].dup = true;

	{
		TableScanDesc scan = table_beginscan_strat(heap, snapshot, 0, NULL, true, false);
		IndexInfo  *indexInfo = BuildIndexInfo(index);

		indexInfo->ii_Concurrent = true;
		table_index_build_scan(heap, index, indexInfo, true, false, TqCheckCallback, &st, scan);
		UnregisterSnapshot(snapshot);
	}

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);

	MemoryContextDelete(st.tmpctx);
	table_close(heap, AccessShareLock);
	index_close(index, AccessShareLock);
	PG_RETURN_INT64(st.n);
}

/*
 * tq_index_stats(regclass): what a partitioned index looks like now — lists,
 * rows per list (min / avg / max), rows now and at build (inserts since the
 * build drift from the trained centroids: see the README on when to
 * REINDEX), pages, bits and on-disk format.  Reads the directory and every
 * stripe's first page under AccessShareLock.  Not executable by PUBLIC; the
 * caller must also own the table or have pg_stat_scan_tables (the rule of
 * pgstattuple's index functions).
 */
TQ_FUNCTION(tq_index_stats)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapid;
	Relation	index;
	TupleDesc	tupdesc;
	TqMetaPageData meta;
	uint64	   *rows;
	uint64		total = 0;
	uint64		min_rows = 0;
	uint64		max_rows = 0;
	uint32		empty = 0;
	Datum		values[11];
	bool		nulls[11];

	/* privileges before any lock, as tq_index_check */
	heapid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(heapid))
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not an index", TqRelName(indexoid))));
	if (!pg_class_ownercheck(heapid, GetUserId()) &&
		!has_privs_of_role(GetUserId(), ROLE_PG_STAT_SCAN_TABLES))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied for index %s", TqRelName(indexoid)),
						errdetail("Only the table's owner or members of pg_stat_scan_tables may read its statistics.")));
	index = index_open(indexoid, AccessShareLock);
	TqCheckReadableIndex(index, "read");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	meta = TqReadMeta(index);
	rows = (uint64 *) palloc0(sizeof(uint64) * meta.n_lists);
	if (meta.dims > 0)
	{
		TqStripeGeometry geo = TqGetCache(index, &meta)->geo;

		for (uint32 stripe = 0; stripe < meta.n_stripes; stripe++)
		{
			BlockNumber blkno = TqStripeBlock(&geo, stripe, 0);
			Buffer		buf = ReadBuffer(index, blkno);
			Page		page;
			uint32		list;
			uint64		n = 0;

			CHECK_FOR_INTERRUPTS();
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			TqCheckPage(page, index, blkno, TQ_PAGE_STRIPE_HEAD);
			list = TqPageGetOpaque(page)->list;
			for (uint32 g = 0; g < geo.groups; g++)
				n += __builtin_popcount(TqPageGroupHeader(page, g)->used_mask);
			UnlockReleaseBuffer(buf);
			if (list >= meta.n_lists)
				TqCorrupt(index, "stripe in a list that does not exist", NULL);
			rows[list] += n;
		}
	}
	for (uint32 l = 0; l < meta.n_lists; l++)
	{
		total += rows[l];
		min_rows = l == 0 ? rows[l] : Min(min_rows, rows[l]);
		max_rows = Max(max_rows, rows[l]);
		empty += rows[l] == 0;
	}
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum((int32) meta.n_lists);
	values[1] = Int64GetDatum((int64) total);
	values[2] = Int64GetDatum((int64) meta.n_built);
	values[3] = Int64GetDatum((int64) min_rows);
	values[4] = Float8GetDatum((double) total / meta.n_lists);
	values[5] = Int64GetDatum((int64) max_rows);
	values[6] = Int32GetDatum((int32) empty);
	values[7] = Int64GetDatum((int64) RelationGetNumberOfBlocks(index));
	values[8] = Int32GetDatum((int32) meta.bits);
	values[9] = Int32GetDatum((int32) meta.dims);
	values[10] = Int32GetDatum((int32) meta.version);
	index_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
