/*
 * scan_scalar.cpp — the reference scan kernels: the specification.
 *
 * Every SIMD kernel must add exactly the same integers into acc.  These read
 * the layout byte by byte (scan_internal.h), so they are also endian-proof,
 * and they run on every CPU.  The set's batch encoder is encode_lanes.h
 * compiled with the base flags (SSE2 on x86-64).
 */
#include "encode_lanes.h"
#include "scan_internal.h"

namespace turboquant {

namespace {

/* Scalar nibble kernel: four 16-entry tables per group and plane. */
template <int P>
void
ScanNibbleScalar(const uint8_t *lut, const uint8_t *groups, uint32_t n, uint32_t *acc) noexcept
{
	for (uint32_t c = 0; c < n; c++) {
		for (uint32_t j = 0; j < 4; j++) {
			const uint8_t *g = groups + 16 * j;
			const uint8_t *t = lut + 16 * j;
			for (uint32_t s = 0; s < 16; s++) {
				uint32_t lo = g[s] & 15u, hi = g[s] >> 4;
				acc[s] += t[lo];
				acc[s + 16] += t[hi];
				if (P == 2) {
					acc[s] += (uint32_t) t[kLutGroupBytes + lo] << 8;
					acc[s + 16] += (uint32_t) t[kLutGroupBytes + hi] << 8;
				}
			}
		}
		groups += kGroupBytes;
		lut += P * kLutGroupBytes;
	}
}

bool
ScalarRuns() noexcept
{
	return true;
}

} /* namespace */

const KernelSet kScalarKernels = {
	"scalar", ScalarRuns, {ScanNibbleScalar<1>, ScanNibbleScalar<2>}, EncodeLanes, EstimateLanes};

} /* namespace turboquant */
