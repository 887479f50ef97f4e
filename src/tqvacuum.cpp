/*
 * tqvacuum.cpp — VACUUM for turboquant.
 *
 * Only a stripe's first page changes: the bits of slots whose heap TIDs the
 * callback reports dead are cleared (and their TIDs invalidated), one generic
 * WAL record per changed page.  The codes stay where they are, as garbage in
 * free slots; a stripe with free slots is reported to the free space map so
 * inserts fill it before creating new stripes.  Pages are never freed: a
 * stripe's place is fixed by its number.
 */
#include "tqindex.h"

extern "C" {
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/indexfsm.h"
#include "utils/rel.h"
}

/* Visits every stripe's first page; with a callback, removes dead TIDs. */
static void
TqVacuumScan(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	TqMetaPageData meta = TqReadMeta(index);
	BufferAccessStrategy bas = info->strategy;
	uint32		pages = meta.pages_per_stripe;

	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->num_index_tuples = 0;
	if (meta.dims == 0)
		return;
	for (uint32 stripe = 0; stripe < meta.n_stripes; stripe++)
	{
		BlockNumber blkno = TQ_FIRST_STRIPE_BLKNO + stripe * pages;
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, bas);
		GenericXLogState *state = NULL;
		Page		page;
		bool		has_free = false;

		vacuum_delay_point();
		LockBuffer(buf, callback ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, TQ_PAGE_STRIPE_HEAD);
		for (uint32 g = 0; g < meta.groups_per_stripe; g++)
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
		/* the last stripe is where inserts go anyway */
		if (has_free && stripe + 1 < meta.n_stripes)
			RecordFreeIndexPage(index, blkno);
	}
	IndexFreeSpaceMapVacuum(index);
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
