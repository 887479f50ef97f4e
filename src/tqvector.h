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

/* The type's limit is the core's (turboquant::kMaxDim): one constant. */
#define TQ_VECTOR_MAX_DIM ((int) turboquant::kMaxDim)
static_assert(turboquant::kMaxDim <= PG_INT16_MAX, "TqVector.dim is an int16");

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
/* The same error for two dimensions (column's first, as in `col <-> query`). */
void		TqCheckDimsMatch(int a, int b);
/* Errors unless 1 <= dim <= TQ_VECTOR_MAX_DIM (22000 / 54000). */
void		TqVectorCheckDim(int dim);
/* Errors (22000) unless typmod is negative (none) or equals dim. */
void		TqVectorCheckTypmod(int32 typmod, int dim);
/* Errors unless value is finite (NaN: 22000, infinity: 22003). */
void		TqVectorCheckElement(float value);

/*
 * Distance kernels (src/tqdistance.cpp), pgvector's semantics (the cosine
 * distance of a zero vector is NaN).  Out of line on purpose: the SQL
 * operators and the index's re-ranking call the very same machine code, so
 * an index scan returns exactly the values the operators compute.
 */
#pragma GCC visibility push(hidden)	/* their ifunc symbols too (target_clones) */
float		TqL2SquaredF(const float *a, const float *b, int n);
float		TqDotF(const float *a, const float *b, int n);
double		TqL1Distance(const float *a, const float *b, int n);
double		TqL2NormD(const float *a, int n);
double		TqCosineDistance(const float *a, const float *b, int n);
#pragma GCC visibility pop

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

#endif /* TQVECTOR_H */
