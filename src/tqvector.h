/*
 * tqvector.h — the tqvector SQL type: on-disk form and the distance kernels
 * shared by the SQL operators and the index's exact re-ranking (so the index
 * returns exactly the values the operators compute).
 *
 * Include after tq_pg.h.
 */
#ifndef TQVECTOR_H
#define TQVECTOR_H

#include <cmath>

#define TQ_VECTOR_MAX_DIM 16000

/* Same shape as pgvector's vector: varlena header, dimension, unused, floats. */
typedef struct TqVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} TqVector;

#define TQ_VECTOR_SIZE(dim) (offsetof(TqVector, x) + sizeof(float) * (dim))
#define DatumGetTqVector(d) ((TqVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_TQVECTOR_P(n) DatumGetTqVector(PG_GETARG_DATUM(n))
#define PG_RETURN_TQVECTOR_P(v) PG_RETURN_POINTER(v)

/* Allocates a zeroed vector of dim dimensions (caller checked dim). */
TqVector   *TqVectorNew(int dim);
/* Errors (ERRCODE_DATA_EXCEPTION) unless a and b have the same dimension. */
void		TqVectorCheckDims(const TqVector *a, const TqVector *b);
/* Errors unless 1 <= dim <= TQ_VECTOR_MAX_DIM (22000 / 54000). */
void		TqVectorCheckDim(int dim);
/* Errors (22000) unless typmod is negative (none) or equals dim. */
void		TqVectorCheckTypmod(int32 typmod, int dim);
/* Errors unless value is finite (NaN: 22000, infinity: 22003). */
void		TqVectorCheckElement(float value);

/*
 * Distance kernels.  Float accumulation in simple loops the compiler
 * vectorises; the same semantics as pgvector (cosine of a zero vector is NaN).
 */
static inline float
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

static inline float
TqDotF(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* <-> */
static inline double
TqL2Distance(const float *a, const float *b, int n)
{
	return sqrt((double) TqL2SquaredF(a, b, n));
}

/* <#> : negative inner product */
static inline double
TqNegativeInnerProduct(const float *a, const float *b, int n)
{
	return (double) -TqDotF(a, b, n);
}

/* <+> : L1 (taxicab) distance */
static inline double
TqL1Distance(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return (double) s;
}

/* Euclidean norm accumulated in double (l2_norm, l2_normalize). */
static inline double
TqL2NormD(const float *a, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * (double) a[i];
	return sqrt(s);
}

/* <=> : 1 - cos, NaN when either vector is zero, clamped to [0, 2] */
static inline double
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

#endif /* TQVECTOR_H */
