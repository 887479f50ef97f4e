/*
 * tqpgvector.cpp — conversions between tqvector and pgvector's vector and
 * halfvec, for the companion extension turboquant_pgvector (its casts, and
 * support function 2 of its turboquant operator classes).
 *
 * pgvector's headers are not needed: its on-disk forms are stable and
 * documented, and match tqvector's header:
 *   vector   varlena header, int16 dim, int16 unused, float4 x[dim]
 *   halfvec  varlena header, int16 dim, int16 unused, IEEE binary16 x[dim]
 * pgvector allows 1 to 16000 dimensions in both, as tqvector does.  Every
 * input's size is checked against its dimension before it is read.
 */
#include <cmath>

#include "tq_pg.h"
#include "tqvector.h"

/* pgvector's halfvec, as stored */
typedef struct TqHalfVec
{
	int32		vl_len_;
	int16		dim;
	int16		unused;
	uint16		x[FLEXIBLE_ARRAY_MEMBER];
} TqHalfVec;

#define TQ_HALFVEC_SIZE(dim) (offsetof(TqHalfVec, x) + sizeof(uint16) * (dim))

/* Errors unless a detoasted pgvector value's size matches its dimension. */
static void
TqCheckForeignSize(const char *type, Size size, Size expect, int dim)
{
	TqVectorCheckDim(dim);
	if (size != expect)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("invalid %s value: %d dimensions in %zu bytes", type, dim,
							   (size_t) size)));
}

/* IEEE binary16 to float: exact for every finite half, subnormals included. */
static float
TqHalfToFloat(uint16 h)
{
	int			exp = (h >> 10) & 0x1f;
	int			mant = h & 0x3ff;
	float		v;

	if (exp == 0x1f)
		ereport(ERROR, (errcode(mant ? ERRCODE_DATA_EXCEPTION : ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						errmsg(mant ? "NaN not allowed in tqvector"
							   : "infinite value not allowed in tqvector")));
	if (exp == 0)
		v = ldexpf((float) mant, -24);	/* zero or subnormal */
	else
		v = ldexpf((float) (mant | 0x400), exp - 25);
	return (h & 0x8000) ? -v : v;
}

/* float to IEEE binary16, rounding to nearest even; errors on overflow. */
static uint16
TqFloatToHalf(float f)
{
	uint32		x;
	uint32		a;
	uint16		sign;
	uint32		h;
	uint32		rest;

	memcpy(&x, &f, sizeof(x));
	sign = (uint16) ((x >> 16) & 0x8000);
	a = x & 0x7fffffff;
	if (a >= 0x477ff000)		/* 65520 and up round to infinity (NaN too) */
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						errmsg("\"%g\" is out of range for type halfvec", (double) f)));
	if (a < 0x38800000)
	{
		/* below 2^-14: a subnormal half (1024 rounds up to the smallest normal) */
		float		m = nearbyintf(fabsf(f) * 16777216.0f);

		return sign | (uint16) m;
	}
	/* rebias the exponent (127 -> 15) and keep 10 of 23 mantissa bits */
	h = (a - 0x38000000) >> 13;
	rest = a & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;					/* a carry into the exponent is still correct */
	return sign | (uint16) h;
}

/* vector -> tqvector */
TQ_FUNCTION(tqvector_from_vector)
{
	TqVector   *in = (TqVector *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	TqVector   *out;

	TqCheckForeignSize("vector", VARSIZE_ANY(in), TQ_VECTOR_SIZE(in->dim), in->dim);
	for (int i = 0; i < in->dim; i++)
		TqVectorCheckElement(in->x[i]);
	out = TqVectorNew(in->dim);
	memcpy(out->x, in->x, sizeof(float) * in->dim);
	PG_RETURN_TQVECTOR_P(out);
}

/* halfvec -> tqvector: every half is exactly a float */
TQ_FUNCTION(tqvector_from_halfvec)
{
	TqHalfVec  *in = (TqHalfVec *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	TqVector   *out;

	TqCheckForeignSize("halfvec", VARSIZE_ANY(in), TQ_HALFVEC_SIZE(in->dim), in->dim);
	out = TqVectorNew(in->dim);
	for (int i = 0; i < in->dim; i++)
		out->x[i] = TqHalfToFloat(in->x[i]);
	PG_RETURN_TQVECTOR_P(out);
}

/* tqvector -> vector: the same bytes */
TQ_FUNCTION(tqvector_to_vector)
{
	TqVector   *in = PG_GETARG_TQVECTOR_P(0);
	TqVector   *out = TqVectorNew(in->dim);

	memcpy(out->x, in->x, sizeof(float) * in->dim);
	PG_RETURN_POINTER(out);
}

/* tqvector -> halfvec, rounding to nearest even as pgvector does */
TQ_FUNCTION(tqvector_to_halfvec)
{
	TqVector   *in = PG_GETARG_TQVECTOR_P(0);
	TqHalfVec  *out = (TqHalfVec *) palloc0(TQ_HALFVEC_SIZE(in->dim));

	SET_VARSIZE(out, TQ_HALFVEC_SIZE(in->dim));
	out->dim = in->dim;
	for (int i = 0; i < in->dim; i++)
		out->x[i] = TqFloatToHalf(in->x[i]);
	PG_RETURN_POINTER(out);
}
