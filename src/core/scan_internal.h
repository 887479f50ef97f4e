/*
 * scan_internal.h — what the core's translation units share, and nothing more.
 *
 * The Quantizer blob, the query lookup-table header and the per-ISA scan entry
 * points.  No SIMD types appear here: every kernel takes plain pointers, so
 * this header can be included from files compiled with and without ISA flags
 * (an intrinsic type in a shared header would silently drag ISA-specific code
 * into the generic objects).
 *
 * Code layout of one chunk (see quantizer.cpp for the full essay):
 *   nibble layouts (bits 1, 2, 4): 4 units x 16 bytes = 64 bytes; a unit is
 *     4 / 2 / 1 dims whose codes form a 4-bit index; byte t of a unit's group
 *     holds slot t in its low nibble and slot t+16 in its high nibble.
 *   3-bit layout: 4 dim pairs; 64 bytes of nibbles (low 2 bits of both codes)
 *     as above, then 4 little-endian uint64 selector words W0..W3: bit j*16+t
 *     of W0/W1 is the high bit of the pair's first code for slot t / t+16,
 *     W2/W3 the same for the second code.
 * Lookup tables of one chunk: nibble layouts 4 x 16 bytes (unit j at 16j);
 * 3-bit layout 4 sub-tables x 64 bytes, sub-table s holding pair j at 16j,
 * s = (hi bit of first code) | (hi bit of second code) << 1, followed by the
 * same entries pair by pair (pair j's 64 entries at 256 + 64j + 16s + nib) for
 * the VBMI kernel's 64-byte vpermb lookups: 512 bytes per plane.  With two table
 * planes (16-bit entries), a chunk's plane 0 (low bytes) is followed by its
 * plane 1 (high bytes) of the same shape.
 */
#ifndef TURBOQUANT_SCAN_INTERNAL_H
#define TURBOQUANT_SCAN_INTERNAL_H

#include <cstddef>
#include <cstdint>

#include "turboquant.h"

namespace turboquant {

constexpr uint32_t kQuantizerMagic = 0x54515a31; /* "TQZ1" */
constexpr uint32_t kNibbleChunkBytes = 64;
constexpr uint32_t kNibbleLutChunkBytes = 64;
constexpr uint32_t kBits3ChunkBytes = 96;
constexpr uint32_t kBits3LutChunkBytes = 512; /* per plane: sub-table tables, then per-pair */
constexpr uint32_t kBits3PairTablesOffset = 256;
/* Largest table entry with one plane (8-bit) and two planes (16-bit). */
constexpr int kLutMaxEntry = 255;
constexpr int kLutMaxEntry2 = 65535; /* 16000 * 65535 < 2^32: sums stay exact */
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
	uint32_t lut_chunk_bytes;
	double qnorm;     /* |q| before normalization (double: see Encode) */
	float scale;      /* table units per unit of <q_unit, x_hat> */
	float offset_sum; /* sum of the per-unit offsets */
	uint32_t planes;  /* 1: 8-bit entries; 2: 16-bit entries as two byte planes */
	uint32_t pad[7];
};
static_assert(sizeof(LutHeader) == kLutHeaderBytes, "LutHeader must be 64 bytes");

/*
 * Scan kernels: add the table sums of n chunks into acc[32].  lut points at the
 * tables of the first chunk scanned.  Each returns exactly what the scalar one
 * does.  The suffix 2 marks the two-plane (16-bit entry) variants.
 */
typedef void (*ScanKernel)(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc);
#define TQ_DECLARE_KERNELS(isa)                                                                    \
	void tq_scan_nibble_##isa(const uint8_t *lut, const uint8_t *chunks, uint32_t n,               \
							  uint32_t *acc) noexcept;                                             \
	void tq_scan_bits3_##isa(const uint8_t *lut, const uint8_t *chunks, uint32_t n,                \
							 uint32_t *acc) noexcept;                                              \
	void tq_scan_nibble2_##isa(const uint8_t *lut, const uint8_t *chunks, uint32_t n,              \
							   uint32_t *acc) noexcept;                                            \
	void tq_scan_bits3_2_##isa(const uint8_t *lut, const uint8_t *chunks, uint32_t n,              \
							   uint32_t *acc) noexcept;
TQ_DECLARE_KERNELS(scalar)
TQ_DECLARE_KERNELS(simde)
TQ_DECLARE_KERNELS(avx512)
#undef TQ_DECLARE_KERNELS
/* Whether the per-ISA files were compiled with their instruction sets. */
bool tq_simde_compiled() noexcept;
bool tq_avx512_compiled() noexcept;

/* AVX-512 nibble kernels with VBMI + VNNI (vpermb + vpdpbusd), when the CPU has them. */
void tq_scan_nibble_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
								uint32_t *acc) noexcept;
void tq_scan_nibble2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
								 uint32_t *acc) noexcept;
/* AVX-512 3-bit kernels with VBMI + VNNI (vpermi2b + vpdpbusd), same CPU check. */
void tq_scan_bits3_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
							   uint32_t *acc) noexcept;
void tq_scan_bits3_2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
								 uint32_t *acc) noexcept;
/* Whether the AVX-512 level may use them (CPU support; tests can turn them off). */
bool Avx512VnniSupported() noexcept;
void SetAvx512Vnni(bool enabled) noexcept;

/* The kernel for this table's layout and planes at the active SIMD level. */
ScanKernel SelectScanKernel(uint32_t bits, uint32_t planes) noexcept;
/* Table planes PrepareQuery uses for a bit width. */
uint32_t LutPlanes(int bits) noexcept;

/* Rotation internals (rotation.cpp). */
void InitRotation(Quantizer *qz) noexcept;
/* out[padded_dim] = R (in[dim] * scale, zero padded); tmp has padded_dim floats. */
void RotateScaled(const Quantizer *qz, const float *in, double scale, float *out,
				  float *tmp) noexcept;
/* out[dim] = first dim coordinates of R^T a; a and tmp (padded_dim each) are clobbered. */
void RotateInverseInPlace(const Quantizer *qz, float *a, float *out, float *tmp) noexcept;

} /* namespace turboquant */

#endif /* TURBOQUANT_SCAN_INTERNAL_H */
