/*
 * tqvacuum.cpp — VACUUM for turboquant.
 *
 * Only a stripe's first page changes: the bits of slots whose heap TIDs the
 * callback reports dead are cleared (and their TIDs invalidated), one generic
 * WAL record per changed page.  The codes stay where they are, as garbage in
 * free slots.  Stripes are visited in physical order, whatever their list;
 * for each list the first stripe (other than its tail, where inserts go
 * anyway) left with free slots becomes the list's free-space hint in the
 * directory, so inserts into that list fill it before growing the list.
 * Space is reused within its list, never across lists, so a vector always
 * lives in the list of its nearest centroid.  Pages are never freed: a
 * stripe's place is fixed by its number.
 */
#include "tqindex.h"

extern "C" {
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

/* Lowers each list's free-space hint to the first stripe VACUUM found with room. */
static void
TqVacuumSetHints(Relation index, const TqMetaPageData *meta, const uint32 *hint)
{
	for (uint32 p = 0; p < meta->n_dir_pages; p++)
	{
		BlockNumber blkno = meta->dir_blkno + p;
		uint32		first = p * TQ_LISTS_PER_DIR_PAGE;
		uint32		n = Min((uint32) TQ_LISTS_PER_DIR_PAGE, meta->n_lists - first);
		Buffer		buf;
		GenericXLogState *state = NULL;
		Page		page;
		bool		any = false;

		for (uint32 l = first; l < first + n; l++)
			any |= hint[l] != TQ_INVALID_STRIPE;
		if (!any)
			continue;
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, TQ_PAGE_DIRECTORY);
		for (uint32 l = first; l < first + n; l++)
		{
			TqListEntry *e = TqDirEntry(page, l);

			if (hint[l] == TQ_INVALID_STRIPE ||
				(e->free_hint != TQ_INVALID_STRIPE && e->free_hint <= hint[l]))
				continue;
			if (state == NULL)
			{
				state = GenericXLogStart(index);
				page = GenericXLogRegisterBuffer(state, buf, 0);
				e = TqDirEntry(page, l);
			}
			e->free_hint = hint[l];
		}
		if (state)
			GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
}

/* Visits every stripe's first page; with a callback, removes dead TIDs. */
static void
TqVacuumScan(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	TqMetaPageData meta = TqReadMeta(index);
	BufferAccessStrategy bas = info->strategy;
	const TqIndexCache *cache;
	TqStripeGeometry geo;
	TqListEntry *dir;
	uint32	   *hint;

	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->num_index_tuples = 0;
	if (meta.dims == 0)
		return;
	cache = TqGetCache(index, &meta);
	geo = cache->geo;			/* a copy: rd_amcache may go away */
	dir = (TqListEntry *) palloc(sizeof(TqListEntry) * meta.n_lists);
	hint = (uint32 *) palloc(sizeof(uint32) * meta.n_lists);
	TqReadDirectory(index, &meta, dir);
	for (uint32 l = 0; l < meta.n_lists; l++)
		hint[l] = TQ_INVALID_STRIPE;

	for (uint32 stripe = 0; stripe < meta.n_stripes; stripe++)
	{
		BlockNumber blkno = TqStripeBlock(&geo, stripe, 0);
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, bas);
		GenericXLogState *state = NULL;
		Page		page;
		bool		has_free = false;
		uint32		list;

		vacuum_delay_point();
		LockBuffer(buf, callback ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, TQ_PAGE_STRIPE_HEAD);
		list = TqPageGetOpaque(page)->list;
		if (list >= meta.n_lists)
			ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
							errmsg("index \"%s\" has stripe %u in list %u of %u",
								   RelationGetRelationName(index), stripe, list, meta.n_lists)));
		for (uint32 g = 0; g < geo.groups; g++)
		{
			TqGroupHeader *gh = TqPageGroupHeader(page, g);
			uint32		mask = gh->used_mask;

			while (mask)
			{
				uint32		s = __builtin_ctz(mask);

				mask &= mask - 1;
				if (callback && callback(&gh->tids[s], callback_state))
				{
					if (state == NULL)
					{
						/* re-point at the WAL copy; gh moves with it */
						state = GenericXLogStart(index);
						page = GenericXLogRegisterBuffer(state, buf, 0);
						gh = TqPageGroupHeader(page, g);
					}
					gh->used_mask &= ~((uint32) 1 << s);
					ItemPointerSetInvalid(&gh->tids[s]);
					stats->tuples_removed += 1;
				}
				else
					stats->num_index_tuples += 1;
			}
			if (gh->used_mask != 0xFFFFFFFFu)
				has_free = true;
		}
		if (state)
			GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
		/* the tail is where inserts go anyway; the first stripe with room wins */
		if (has_free && stripe != dir[list].tail && hint[list] == TQ_INVALID_STRIPE)
			hint[list] = stripe;
	}
	TqVacuumSetHints(index, &meta, hint);
}

/* ambulkdelete */
IndexBulkDeleteResult *
tqbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
	TqVacuumScan(info, stats, callback, callback_state);
	return stats;
}

/* amvacuumcleanup: counts tuples when no bulkdelete pass ran. */
IndexBulkDeleteResult *
tqvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		TqVacuumScan(info, stats, NULL, NULL);
	}
	return stats;
}
