/*
 * scan_neon.cpp — the "neon" kernel set for aarch64 (Graviton, Ampere, Apple).
 *
 * NEON (Advanced SIMD) is part of every aarch64 CPU, so no extra flags are
 * needed; elsewhere this file defines a set that never runs.
 *
 * Per group, each of the four 16-byte units is looked up with tbl (vqtbl1q_u8,
 * a 16-entry byte table): the low nibbles give slots 0..15, the high nibbles
 * slots 16..31.  Widening adds (uaddw, uaddw2) sum the bytes into uint16
 * lanes, four accumulators of 8 slots each.  Each lane receives 4 entries
 * <= 255 per group, so after 64 groups (65280) the sums are widened into the
 * uint32 acc: exact at any d.  Two-plane tables (16-bit entries) run the
 * same on the high-byte plane into their own accumulators, shifted by 8.
 */
#include "scan_internal.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define TQ_HAVE_NEON 1
#include "encode_lanes.h"
#endif

namespace turboquant {

#ifdef TQ_HAVE_NEON

namespace {

constexpr uint32_t kFlushGroups = 64;

/* Adds 8 uint16 sums (shifted by `shift`) into acc8. */
inline void
Flush8(uint16x8_t s, int shift, uint32_t *acc8)
{
	int32x4_t sh = vdupq_n_s32(shift);
	uint32x4_t lo = vshlq_u32(vmovl_u16(vget_low_u16(s)), sh);
	uint32x4_t hi = vshlq_u32(vmovl_high_u16(s), sh);
	vst1q_u32(acc8, vaddq_u32(vld1q_u32(acc8), lo));
	vst1q_u32(acc8 + 4, vaddq_u32(vld1q_u32(acc8 + 4), hi));
}

/* NEON nibble kernel with P table planes. */
template <int P>
void
ScanNibbleNeon(const uint8_t *lut, const uint8_t *groups, uint32_t n, uint32_t *acc) noexcept
{
	const uint8x16_t m0f = vdupq_n_u8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushGroups ? n : kFlushGroups;
		n -= batch;
		/* s[p][q]: slots 8q .. 8q+7 */
		uint16x8_t s[P][4];
		for (int p = 0; p < P; p++)
			for (int q = 0; q < 4; q++)
				s[p][q] = vdupq_n_u16(0);
		for (uint32_t c = 0; c < batch; c++) {
			for (int j = 0; j < 4; j++) {
				uint8x16_t v = vld1q_u8(groups + 16 * j);
				uint8x16_t il = vandq_u8(v, m0f);
				uint8x16_t ih = vshrq_n_u8(v, 4);
				for (int p = 0; p < P; p++) {
					uint8x16_t t = vld1q_u8(lut + p * kLutGroupBytes + 16 * j);
					uint8x16_t rl = vqtbl1q_u8(t, il);
					uint8x16_t rh = vqtbl1q_u8(t, ih);
					s[p][0] = vaddw_u8(s[p][0], vget_low_u8(rl));
					s[p][1] = vaddw_high_u8(s[p][1], rl);
					s[p][2] = vaddw_u8(s[p][2], vget_low_u8(rh));
					s[p][3] = vaddw_high_u8(s[p][3], rh);
				}
			}
			groups += kGroupBytes;
			lut += P * kLutGroupBytes;
		}
		for (int p = 0; p < P; p++)
			for (int q = 0; q < 4; q++)
				Flush8(s[p][q], 8 * p, acc + 8 * q);
	}
}

bool
NeonRuns() noexcept
{
	return true;
}

} /* namespace */

const KernelSet kNeonKernels = {
	"neon", NeonRuns, {ScanNibbleNeon<1>, ScanNibbleNeon<2>}, EncodeLanes, EstimateLanes};

#else /* !TQ_HAVE_NEON */

namespace {

bool
NotHere() noexcept
{
	return false;
}

} /* namespace */

const KernelSet kNeonKernels = {"neon", NotHere, {nullptr, nullptr}, nullptr, nullptr};

#endif

} /* namespace turboquant */
