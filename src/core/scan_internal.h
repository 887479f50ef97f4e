/*
 * scan_internal.h — what the core's translation units share, and nothing more.
 *
 * The Quantizer blob, the query lookup-table header and the per-ISA scan entry
 * points.  No SIMD types appear here: every kernel takes plain pointers, so
 * this header can be included from files compiled with and without ISA flags
 * (an intrinsic type in a shared header would silently drag ISA-specific code
 * into the generic objects).
 *
 * Code layout (see quantizer.cpp for the full essay): every bit width is a
 * sequence of nibble *groups* of 64 bytes: 4 units x 16 bytes, a unit being a
 * 4-bit index (4 / 2 / 1 dims at 1 / 2 / 4 bits; at 3 bits either the low two
 * bits of a pair of dims or the high bits of four dims); byte t of a unit holds
 * slot t in its low nibble and slot t+16 in its high nibble.  A layout chunk is
 * 1 group (bits 1, 2, 4) or 3 groups (bits 3).  Lookup tables: 64 bytes per
 * group and plane (unit j's 16 entries at 16j); with two planes (16-bit
 * entries) a group's plane 0 (low bytes) is followed by its plane 1.
 */
#ifndef TURBOQUANT_SCAN_INTERNAL_H
#define TURBOQUANT_SCAN_INTERNAL_H

#include <cstddef>
#include <cstdint>

#include "turboquant.h"

namespace turboquant {

constexpr uint32_t kQuantizerMagic = 0x54515a31; /* "TQZ1" */
constexpr uint32_t kGroupBytes = 64;    /* codes of one nibble group (4 units x 32 slots) */
constexpr uint32_t kLutGroupBytes = 64; /* tables of one group and plane */
/* Largest table entry with one plane (8-bit) and two planes (16-bit). */
constexpr int kLutMaxEntry = 255;
constexpr int kLutMaxEntry2 = 65535; /* 16000 units * 65535 < 2^32: sums stay exact */
constexpr size_t kLutHeaderBytes = 64;

/*
 * The Quantizer blob.  Trivially copyable and position independent: the
 * permutations and sign bits follow the struct at the recorded offsets.
 */
struct Quantizer {
	uint32_t magic;
	uint32_t total_bytes;
	uint64_t seed;
	Layout layout;
	Codebook codebook;
	uint32_t window;          /* P: largest power of two <= padded_dim */
	uint32_t perm_offset[2];  /* uint16_t[padded_dim] per round */
	uint32_t signs_offset[4]; /* uint8_t[(padded_dim + 7) / 8] per round and window */
};

/* Header of a query's lookup tables; the tables start at kLutHeaderBytes. */
struct LutHeader {
	uint32_t metric;
	uint32_t bits;
	uint32_t n_chunks;
	uint32_t lut_chunk_bytes; /* groups per chunk * planes * kLutGroupBytes */
	double qnorm;             /* |q| before normalization (double: see Encode) */
	float scale;              /* table units per unit of <q_unit, x_hat> */
	float offset_sum;         /* sum of the per-unit offsets */
	uint32_t planes;          /* 1: 8-bit entries; 2: 16-bit entries as two byte planes */
	uint32_t groups;          /* nibble groups per layout chunk */
	uint32_t kernel_set;      /* index in KernelSets(), chosen once by PrepareQuery */
	uint32_t pad[5];
};
static_assert(sizeof(LutHeader) == kLutHeaderBytes, "LutHeader must be 64 bytes");

/*
 * A scan kernel adds the table sums of n nibble groups into acc[32].  lut
 * points at the tables of the first group scanned, chunks at its codes.
 * Every kernel returns exactly what the scalar one does.
 */
typedef void (*ScanKernel)(const uint8_t *lut, const uint8_t *groups, uint32_t n, uint32_t *acc);

/*
 * A batch encoder: EncodeBatch's contract (encode_lanes.h is the one source,
 * compiled into every kernel set with its flags).  Its results equal Encode's
 * bit for bit.
 */
typedef void (*EncodeKernel)(const Quantizer *qz, const float *const *x, uint32_t n, uint8_t *codes,
							 double *norms, float *factors, float *scratch);

/*
 * Accumulators of one block to distance estimates: EstimateDistances'
 * contract (encode_lanes.h is the one source, compiled into every kernel set
 * with its flags, so its loops run at the set's width).  Every set's results
 * equal the scalar set's bit for bit.
 */
typedef void (*EstimateKernel)(const uint8_t *lut, const uint32_t *acc, const double *norm,
							   const float *factor, double *out);

/*
 * One kernel set per instruction set: a new ISA is one file (compiled with its
 * flags) defining one KernelSet, and one row in KernelSets() (scan_dispatch.cpp).
 * `runs` says whether this build has the kernels and this CPU executes them;
 * it is false (and the kernels null) in files built for another architecture.
 */
struct KernelSet {
	const char *name;
	bool (*runs)() noexcept;
	ScanKernel nibble[2]; /* [planes - 1] */
	EncodeKernel encode;
	EstimateKernel estimate;
};
extern const KernelSet kScalarKernels;
extern const KernelSet kAvx2Kernels;
extern const KernelSet kAvx512Kernels;
extern const KernelSet kAvx512VnniKernels;
extern const KernelSet kNeonKernels;

/* The sets in order of preference (best first; scalar last), and their count. */
const KernelSet *const *KernelSets() noexcept;

/* Table planes PrepareQuery uses for a layout. */
uint32_t LutPlanes(const Layout &l) noexcept;

/* The rotation's permutation of one round (0, 1): padded_dim entries. */
inline const uint16_t *
QuantizerPerm(const Quantizer *qz, int round)
{
	return reinterpret_cast<const uint16_t *>(reinterpret_cast<const uint8_t *>(qz) +
											  qz->perm_offset[round]);
}

/* Sign bitmap k: 0, 1 before each round's first window; 2, 3 between its windows. */
inline const uint8_t *
QuantizerSigns(const Quantizer *qz, int k)
{
	return reinterpret_cast<const uint8_t *>(qz) + qz->signs_offset[k];
}

/* Encoding internals (quantizer.cpp), shared with encode_lanes.h. */
/* A zero (or non-finite) vector's codes, norm 0 and factor 0. */
void EncodeZeroVector(int levels, size_t padded_dim, uint8_t *codes, double *norm,
					  float *factor) noexcept;
/* The correction 1 / |x_hat| from the number of coordinates at each level. */
float FactorFromCounts(const Codebook &cb, int levels, const uint32_t count[16]) noexcept;

/* Rotation internals (rotation.cpp). */
void InitRotation(Quantizer *qz) noexcept;
/* out[padded_dim] = R (in[dim] * scale, zero padded); tmp has padded_dim floats. */
void RotateScaled(const Quantizer *qz, const float *in, double scale, float *out,
				  float *tmp) noexcept;
/* Vectors encoded together by EncodeBatch (encode_lanes.h). */
constexpr uint32_t kRotateLanes = 8;
/* out[dim] = first dim coordinates of R^T a; a and tmp (padded_dim each) are clobbered. */
void RotateInverseInPlace(const Quantizer *qz, float *a, float *out, float *tmp) noexcept;

} /* namespace turboquant */

#endif /* TURBOQUANT_SCAN_INTERNAL_H */
