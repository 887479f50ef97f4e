/*
 * tqindex.cpp — the turboquant access method's handler: capabilities,
 * options, GUCs, cost estimate, opclass validation and the metric support
 * functions.
 */
#include "tqindex.h"

#include <cmath>

extern "C" {
#include "access/amvalidate.h"
#include "access/genam.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_language.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/catcache.h"
}

int			tq_rerank = TQ_RERANK_AUTO;
int			tq_probes = TQ_PROBES_AUTO;

/*
 * Candidates re-ranked per pass: the setting, or by default by the codes'
 * bits — 4-bit estimates rank the true neighbours near the top, 2-bit ones
 * need several times more candidates for the same recall (measured on the
 * real sets, README "Performance and tuning").
 */
int
TqRerank(int bits)
{
	if (tq_rerank >= 0)
		return tq_rerank;
	return bits >= 4 ? 40 : bits == 3 ? 80 : 200;
}

/*
 * Lists probed first: the setting, or by default enough lists to scan about
 * TQ_AUTO_PROBE_ROWS rows of an index of `rows` rows, and at least
 * TQ_MIN_AUTO_PROBES.  Measured (README "Tuning lists and probes"): recall@10
 * >= 0.95 needed about 3-4K rows scanned at every size up to 100K rows with
 * the default lists, and 16 probes reached it on every real set; with the
 * default lists (rows / lists >= 250) the rule gives 16 up to 1M rows.  A
 * user's own lists keep the same rows scanned: 2000 lists on 100K rows probe
 * 80.
 */
uint32
TqProbes(uint32 n_lists, double rows)
{
	double		p;

	if (tq_probes > 0)
		p = tq_probes;
	else
	{
		p = Max(ceil((double) TQ_AUTO_PROBE_ROWS * n_lists / Max(rows, 1.0)),
				(double) TQ_MIN_AUTO_PROBES);
	}
	return (uint32) Max(1.0, Min(p, (double) n_lists));
}
static int	tq_simd = -1;			/* a kernel set index, -1 = auto */
static char *tq_simd_available = NULL;
static relopt_kind tq_relopt_kind;

/* "auto" plus one entry per kernel set the core knows, filled by TqIndexInit. */
static struct config_enum_entry tq_simd_options[16];

/* The kernel sets this CPU runs, space separated, into buf. */
static void
TqSimdRunnable(char *buf, size_t len)
{
	size_t		used = 0;

	buf[0] = '\0';
	for (int i = 0; i < turboquant::KernelSetCount(); i++)
		if (turboquant::KernelSetRuns(i))
			used += snprintf(buf + used, len - used, "%s%s", used ? " " : "",
							 turboquant::KernelSetName(i));
}

/* turboquant.simd may only name a kernel set this CPU runs. */
static bool
TqSimdCheck(int *newval, void **extra, GucSource source)
{
	char		sets[256];

	if (*newval == -1 || turboquant::KernelSetRuns(*newval))
		return true;
	TqSimdRunnable(sets, sizeof(sets));
	GUC_check_errdetail("This CPU runs: %s.", sets);
	return false;
}

static void
TqSimdAssign(int newval, void *extra)
{
	turboquant::SetKernelSet(newval);
}

/* Registers the index's options and GUCs; called from _PG_init. */
void
TqIndexInit(void)
{
	tq_relopt_kind = add_reloption_kind();
	add_int_reloption(tq_relopt_kind, "bits", "Bits per dimension of the codes (2, 3 or 4)",
					  TQ_DEFAULT_BITS, TQ_MIN_BITS, TQ_MAX_BITS, AccessExclusiveLock);
	add_int_reloption(tq_relopt_kind, "seed", "Seed of the random rotation",
					  TQ_DEFAULT_SEED, 0, PG_INT32_MAX, AccessExclusiveLock);
	add_int_reloption(tq_relopt_kind, "lists",
					  "Number of lists (0 = flat; -1 = chosen from the table size at build)",
					  TQ_LISTS_AUTO, TQ_LISTS_AUTO, TQ_MAX_LISTS, AccessExclusiveLock);

	DefineCustomIntVariable("turboquant.rerank",
							"Candidates re-ranked with exact distances per scan pass.",
							"-1 (default) chooses by the index's bits: 40 at 4 bits, 80 at 3, 200 at 2; "
							"0 returns rows in approximate order without reading the table.",
							&tq_rerank, TQ_RERANK_AUTO, TQ_RERANK_AUTO, TQ_MAX_RERANK,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("turboquant.probes",
							"Lists scanned per query by a partitioned index.",
							"0 (default) probes enough lists to scan about 4000 rows, at least 16.  "
							"More: higher recall, slower queries.  Filtered queries continue into "
							"further lists until they have their rows.",
							&tq_probes, TQ_PROBES_AUTO, 0, TQ_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	/*
	 * The kernel sets come from the core's table.  The boot value is the set
	 * TURBOQUANT_SIMD names (when this CPU runs it): registering the GUC
	 * assigns its boot value, which would otherwise undo the environment.
	 */
	{
		static char runnable[256];
		int			n = 0;

		tq_simd_options[n++] = {"auto", -1, false};
		for (int i = 0; i < turboquant::KernelSetCount() && n + 1 < (int) lengthof(tq_simd_options); i++)
			tq_simd_options[n++] = {turboquant::KernelSetName(i), i, false};
		tq_simd_options[n] = {NULL, 0, false};
		TqSimdRunnable(runnable, sizeof(runnable));
		DefineCustomEnumVariable("turboquant.simd",
								 "Kernel set (instruction set) used to scan codes.",
								 "auto picks the best set this CPU runs; turboquant.simd_available lists them.",
								 &tq_simd, turboquant::KernelSetFromEnvironment(), tq_simd_options,
								 PGC_USERSET, 0, TqSimdCheck, TqSimdAssign, NULL);
		DefineCustomStringVariable("turboquant.simd_available",
								   "Kernel sets this CPU runs, best first.",
								   NULL, &tq_simd_available, runnable,
								   PGC_INTERNAL, 0, NULL, NULL, NULL);
	}
	MarkGUCPrefixReserved("turboquant");
}

/* amoptions */
static bytea *
tqoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"bits", RELOPT_TYPE_INT, offsetof(TqOptions, bits)},
		{"seed", RELOPT_TYPE_INT, offsetof(TqOptions, seed)},
		{"lists", RELOPT_TYPE_INT, offsetof(TqOptions, lists)},
	};

	return (bytea *) build_reloptions(reloptions, validate, tq_relopt_kind,
									  sizeof(TqOptions), tab, lengthof(tab));
}

/* An index's lists and bits, from its metapage (1 list, default bits when empty). */
static void
TqCostMeta(Oid indexoid, uint32 *lists, int *bits)
{
	Relation	index = index_open(indexoid, NoLock);

	*lists = 1;
	*bits = TqIndexBits(index);
	if (RelationGetNumberOfBlocks(index) > 0)
	{
		TqMetaPageData meta = TqReadMeta(index);

		*lists = meta.n_lists;
		*bits = meta.bits;
	}
	index_close(index, NoLock);
}

/*
 * amcostestimate.  A scan reads the code pages of the `turboquant.probes`
 * nearest lists (all of a flat index) in place, scoring codes with table
 * lookups: cheaper per page than a sequential scan, which deforms tuples and
 * detoasts vectors (charged at half a sequential page), plus one distance per
 * centroid.  Then it fetches `turboquant.rerank` rows from the table and
 * computes their exact distances (the distance functions declare their cost)
 * before the first row comes out; every further row is nearly free.  Without
 * ORDER BY the index is useless and must never be chosen.
 */
static void
tqcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
			   Cost *indexStartupCost, Cost *indexTotalCost,
			   Selectivity *indexSelectivity, double *indexCorrelation,
			   double *indexPages)
{
	double		pages = Max(path->indexinfo->pages, 1);
	double		tuples = Max(path->indexinfo->tuples, 1.0);
	double		rerank;
	Cost		distance_cost = 0;
	Cost		startup;
	uint32		lists;
	int			bits;
	double		fraction;
	ListCell   *lc;

	*indexCorrelation = 0;
	*indexSelectivity = 1.0;
	*indexPages = pages;
	if (path->indexorderbys == NIL)
	{
		/* finite, so that total - startup stays a number */
		*indexStartupCost = disable_cost;
		*indexTotalCost = disable_cost;
		return;
	}
	foreach(lc, path->indexorderbys)
	{
		QualCost	qc;

		cost_qual_eval_node(&qc, (Node *) lfirst(lc), root);
		distance_cost += qc.per_tuple;
	}
	TqCostMeta(path->indexinfo->indexoid, &lists, &bits);
	fraction = Min(1.0, (double) TqProbes(lists, tuples) / lists);
	rerank = Min((double) TqRerank(bits), tuples);
	startup = pages * fraction * seq_page_cost * 0.5 +
		tuples * fraction * cpu_operator_cost * 0.05 +
		(lists > 1 ? (double) lists * distance_cost : 0) +
		rerank * (seq_page_cost + cpu_tuple_cost + distance_cost);
	*indexStartupCost = startup;
	*indexTotalCost = startup + tuples * cpu_index_tuple_cost;
}

/* Is typid the tqvector type (read by tqvector_in, whatever its schema)? */
static bool
TqIsTqvectorType(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		Oid			input = ((Form_pg_type) GETSTRUCT(tup))->typinput;
		HeapTuple	ptup = SearchSysCache1(PROCOID, ObjectIdGetDatum(input));

		if (HeapTupleIsValid(ptup))
		{
			bool		isnull;
			Datum		src = SysCacheGetAttr(PROCOID, ptup, Anum_pg_proc_prosrc, &isnull);

			result = !isnull && ((Form_pg_proc) GETSTRUCT(ptup))->prolang == ClanguageId &&
				strcmp(TextDatumGetCString(src), "tqvector_in") == 0;
			ReleaseSysCache(ptup);
		}
		ReleaseSysCache(tup);
	}
	return result;
}

/* Reports one problem with an operator class; returns false. */
static bool
TqValidateFail(const char *opclassname, const char *what, Oid oid)
{
	ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				   errmsg("turboquant operator class \"%s\" %s %u", opclassname, what, oid)));
	return false;
}

/*
 * amvalidate.  Each member must have its purpose and signature:
 *   operator 1     ORDER BY (opcintype, opcintype) returning float8, sorted by float_ops
 *   function 1     metric(internal) returning int4
 *   function 2     converts opcintype to tqvector: required unless opcintype is tqvector
 */
static bool
tqvalidate(Oid opclassoid)
{
	HeapTuple	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	Form_pg_opclass form;
	char	   *name;
	Oid			opfamily;
	Oid			intype;
	bool		ok = true;
	bool		has_op = false;
	bool		has_metric = false;
	bool		has_convert = false;
	CatCList   *oprlist;
	CatCList   *proclist;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	form = (Form_pg_opclass) GETSTRUCT(tup);
	opfamily = form->opcfamily;
	intype = form->opcintype;
	name = pstrdup(NameStr(form->opcname));
	ReleaseSysCache(tup);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamily));
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (proc->amproclefttype != intype || proc->amprocrighttype != intype)
			continue;			/* another opclass of the family */
		switch (proc->amprocnum)
		{
			case TQ_METRIC_PROC:
				if (!check_amproc_signature(proc->amproc, INT4OID, true, 1, 1, INTERNALOID))
					ok = TqValidateFail(name, "has a metric function of the wrong signature, oid",
										proc->amproc);
				has_metric = true;
				break;
			case TQ_CONVERT_PROC:
				if (!check_amproc_signature(proc->amproc, get_func_rettype(proc->amproc), true,
											1, 1, intype) ||
					!TqIsTqvectorType(get_func_rettype(proc->amproc)))
					ok = TqValidateFail(name, "has a conversion function that does not take the column "
										"type and return tqvector, oid", proc->amproc);
				has_convert = true;
				break;
			default:
				ok = TqValidateFail(name, "has a support function of unknown number, oid",
									proc->amproc);
		}
	}
	ReleaseCatCacheList(proclist);

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamily));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (op->amoplefttype != intype)
			continue;
		if (op->amopstrategy != 1 || op->amoppurpose != AMOP_ORDER ||
			!check_amop_signature(op->amopopr, FLOAT8OID, intype, intype) ||
			!opfamily_can_sort_type(op->amopsortfamily, FLOAT8OID))
			ok = TqValidateFail(name, "needs its operator 1 FOR ORDER BY float_ops with both "
								"arguments of the column type returning float8, not operator",
								op->amopopr);
		has_op = true;
	}
	ReleaseCatCacheList(oprlist);

	if (!has_op)
		ok = TqValidateFail(name, "is missing its ORDER BY operator 1, opclass", opclassoid);
	if (!has_metric)
		ok = TqValidateFail(name, "is missing support function 1 (metric), opclass", opclassoid);
	if (!has_convert && !TqIsTqvectorType(intype))
		ok = TqValidateFail(name, "is missing support function 2 (conversion to tqvector), opclass",
							opclassoid);
	return ok;
}

/* ambuildphasename */
static char *
tqbuildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return (char *) "initializing";
		case TQ_PHASE_SAMPLE:
			return (char *) "sampling";
		case TQ_PHASE_TRAIN:
			return (char *) "training";
		case TQ_PHASE_ASSIGN:
			return (char *) "assigning and encoding";
		case TQ_PHASE_WRITE:
			return (char *) "writing";
		case TQ_PHASE_WAL:
			return (char *) "writing WAL";
		default:
			return NULL;
	}
}

/* The index access method handler. */
TQ_FUNCTION(tqhandler)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = TQ_NPROCS;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;	/* the build uses it, inserts do not */
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = tqbuild;
	amroutine->ambuildempty = tqbuildempty;
	amroutine->aminsert = tqinsert;
	amroutine->ambulkdelete = tqbulkdelete;
	amroutine->amvacuumcleanup = tqvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = tqcostestimate;
	amroutine->amoptions = tqoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = tqbuildphasename;
	amroutine->amvalidate = tqvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = tqbeginscan;
	amroutine->amrescan = tqrescan;
	amroutine->amgettuple = tqgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = tqendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}

/* Support procedure 1 of each opclass: which metric the index scores. */
TQ_FUNCTION(tqvector_l2_metric)
{
	PG_RETURN_INT32((int32) turboquant::Metric::kL2);
}

TQ_FUNCTION(tqvector_cosine_metric)
{
	PG_RETURN_INT32((int32) turboquant::Metric::kCosine);
}

TQ_FUNCTION(tqvector_ip_metric)
{
	PG_RETURN_INT32((int32) turboquant::Metric::kInnerProduct);
}
