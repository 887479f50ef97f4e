/*
 * tqdistance.cpp — the float distance kernels behind the SQL operators and
 * the index's exact re-ranking.
 *
 * This file alone is compiled with -fassociative-math (see Makefile) so the
 * compiler may split each sum into SIMD lanes, as pgvector does; and, on
 * x86-64, with function multiversioning so the AVX-512 or AVX2 clone runs
 * where the CPU has it.  Results can differ in the last bits between CPUs,
 * never between the operators and the index on one machine: both call these.
 */
#include "tq_pg.h"
#include "tqvector.h"

#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TQ_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TQ_TARGET_CLONES
#endif

/* Squared Euclidean distance. */
TQ_TARGET_CLONES float
TqL2SquaredF(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* Inner product. */
TQ_TARGET_CLONES float
TqDotF(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* <+> : L1 (taxicab) distance. */
TQ_TARGET_CLONES double
TqL1Distance(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return (double) s;
}

/* Euclidean norm accumulated in double (l2_norm, l2_normalize). */
TQ_TARGET_CLONES double
TqL2NormD(const float *a, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * (double) a[i];
	return sqrt(s);
}

/* <=> : 1 - cos, NaN when either vector is zero, clamped to [-1, 1] first. */
TQ_TARGET_CLONES double
TqCosineDistance(const float *a, const float *b, int n)
{
	float		dot = 0.0f;
	float		na = 0.0f;
	float		nb = 0.0f;
	double		sim;

	for (int i = 0; i < n; i++)
	{
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	sim = (double) dot / sqrt((double) na * (double) nb);
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return 1.0 - sim;
}
