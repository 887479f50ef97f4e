/*
 * scan_dispatch.cpp — the table of kernel sets and the choice among them.
 *
 * One row per instruction set, best first; each set lives in its own file,
 * compiled with its own flags (Makefile), and says itself whether this build
 * and CPU run it.  Nothing ranks sets by number: a new ISA is one file and
 * one row here.  The active set is a process-wide atomic, initialised once
 * from TURBOQUANT_SIMD or the best set; PrepareQuery copies it into the
 * query's tables, so the inner loops never consult it.
 */
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {

namespace {

const KernelSet *const kSets[] = {&kAvx512VnniKernels, &kAvx512Kernels, &kAvx2Kernels,
								  &kNeonKernels, &kScalarKernels};
constexpr int kSetCount = (int) (sizeof(kSets) / sizeof(kSets[0]));

std::atomic<int> g_active{-2}; /* -2: not yet initialised */

} /* namespace */

const KernelSet *const *
KernelSets() noexcept
{
	return kSets;
}

int
KernelSetCount() noexcept
{
	return kSetCount;
}

const char *
KernelSetName(int set) noexcept
{
	return set >= 0 && set < kSetCount ? kSets[set]->name : "auto";
}

/* Whether this build has the set and this CPU runs it (asked once per set). */
bool
KernelSetRuns(int set) noexcept
{
	static std::atomic<int> known[kSetCount]; /* 0 unknown, 1 yes, 2 no */
	if (set < 0 || set >= kSetCount)
		return false;
	int k = known[set].load(std::memory_order_relaxed);
	if (k == 0) {
		k = kSets[set]->runs() && kSets[set]->nibble[0] != nullptr ? 1 : 2;
		known[set].store(k, std::memory_order_relaxed);
	}
	return k == 1;
}

int
FindKernelSet(const char *name) noexcept
{
	if (name == nullptr)
		return -1;
	for (int i = 0; i < kSetCount; i++)
		if (std::strcmp(name, kSets[i]->name) == 0)
			return i;
	return -1;
}

int
BestKernelSet() noexcept
{
	for (int i = 0; i < kSetCount; i++)
		if (KernelSetRuns(i))
			return i;
	return kSetCount - 1; /* unreachable: scalar always runs */
}

int
KernelSetFromEnvironment() noexcept
{
	int set = FindKernelSet(std::getenv("TURBOQUANT_SIMD"));
	return set >= 0 && KernelSetRuns(set) ? set : -1;
}

bool
SetKernelSet(int set) noexcept
{
	if (set == -1)
		set = BestKernelSet();
	if (!KernelSetRuns(set))
		return false;
	g_active.store(set, std::memory_order_relaxed);
	return true;
}

int
ActiveKernelSet() noexcept
{
	int v = g_active.load(std::memory_order_relaxed);
	if (v >= 0)
		return v;
	int set = KernelSetFromEnvironment();
	if (set < 0)
		set = BestKernelSet();
	int expected = -2;
	g_active.compare_exchange_strong(expected, set);
	return g_active.load(std::memory_order_relaxed);
}

} /* namespace turboquant */
