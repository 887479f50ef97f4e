/*
 * tqvector.cpp — the tqvector SQL type: text and binary I/O, the type
 * modifier, casts from and to arrays, distance functions, element-wise
 * arithmetic, vector functions, and the comparison and hash support behind
 * the btree and hash operator classes.  Aggregates are in tqvector_agg.cpp.
 *
 * The conventions are pgvector's, so data and queries move over unchanged:
 *  - text form '[1,2,3]'; floats print in the shortest form that reads back
 *    to the same float (what float4out prints with extra_float_digits >= 1);
 *  - binary form: int16 dim, int16 unused (always 0), dim float4, all in
 *    network byte order;
 *  - NaN and infinities are rejected wherever a vector is built (input,
 *    receive, casts, arithmetic), so every stored vector is finite;
 *  - distances use the kernels in tqvector.h, the same ones the index uses
 *    to re-rank, so index and operators agree to the last bit.
 *
 * Nothing here throws C++ exceptions or keeps C++ objects alive: memory is
 * palloc'd and errors are ereport()s.
 */
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "tq_pg.h"

extern "C" {
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
}

#include "tqvector.h"

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                           */
/* ---------------------------------------------------------------------- */

/* Allocates a zeroed vector of dim dimensions (caller checked dim). */
TqVector *
TqVectorNew(int dim)
{
	Size		size = TQ_VECTOR_SIZE(dim);
	TqVector   *v = (TqVector *) palloc0(size);

	SET_VARSIZE(v, size);
	v->dim = dim;
	return v;
}

/*
 * The one dimension-mismatch error, whatever raises it: the operators, the
 * aggregates and the index scan (a query vector of the wrong dimension gets
 * the same message through the index as through a sequential scan).
 */
void
TqCheckDimsMatch(int a, int b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different tqvector dimensions %d and %d", a, b)));
}

/* Errors (ERRCODE_DATA_EXCEPTION) unless a and b have the same dimension. */
void
TqVectorCheckDims(const TqVector *a, const TqVector *b)
{
	TqCheckDimsMatch(a->dim, b->dim);
}

/* Errors unless dim is an allowed number of dimensions. */
void
TqVectorCheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tqvector must have at least 1 dimension")));
	if (dim > TQ_VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tqvector cannot have more than %d dimensions", TQ_VECTOR_MAX_DIM)));
}

/* Errors unless the type modifier (negative: none) allows dim dimensions. */
void
TqVectorCheckTypmod(int32 typmod, int dim)
{
	if (typmod >= 0 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* Errors unless an element about to be stored is finite. */
void
TqVectorCheckElement(float value)
{
	if (std::isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in tqvector")));
	if (std::isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("infinite value not allowed in tqvector")));
}

/*
 * Errors if arithmetic on finite inputs produced an infinity.  Inputs are
 * always finite, so NaN cannot come out of +, - or *.
 */
static inline void
TqCheckOverflow(const TqVector *r)
{
	for (int i = 0; i < r->dim; i++)
	{
		if (std::isinf(r->x[i]))
			float_overflow_error();
	}
}

/* Whitespace allowed around numbers and brackets (the set array_in accepts). */
static inline bool
TqIsSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* ---------------------------------------------------------------------- */
/* Text and binary I/O, type modifier                                       */
/* ---------------------------------------------------------------------- */

/*
 * Text input: '[x1, x2, ...]'.  Floats are parsed with strtof (as float4in
 * does, so there is no double rounding); values that overflow float are an
 * error, values that underflow become zero or subnormal (as in pgvector).
 */
TQ_FUNCTION(tqvector_in)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *pt = lit;
	int			cap = 1;
	int			dim = 0;
	TqVector   *result;

	/*
	 * Element k (0-based) is preceded by k commas, so commas + 1 bounds the
	 * count; capping it at the maximum keeps a huge literal from making a
	 * huge allocation (the loop errors before storing more).
	 */
	for (const char *c = lit; *c != '\0' && cap < TQ_VECTOR_MAX_DIM; c++)
	{
		if (*c == ',')
			cap++;
	}
	result = TqVectorNew(cap);

	while (TqIsSpace(*pt))
		pt++;
	if (*pt != '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tqvector: \"%s\"", lit),
				 errdetail("Vector contents must start with \"[\".")));
	pt++;
	while (TqIsSpace(*pt))
		pt++;
	if (*pt == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tqvector must have at least 1 dimension")));

	for (;;)
	{
		char	   *end;
		float		val;

		if (dim == TQ_VECTOR_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tqvector cannot have more than %d dimensions", TQ_VECTOR_MAX_DIM)));

		while (TqIsSpace(*pt))
			pt++;
		if (*pt == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type tqvector: \"%s\"", lit)));

		/*
		 * The common case goes through std::from_chars (correctly rounded,
		 * like strtof, and several times faster: a coordinator parses every
		 * vector its postgres_fdw shards send).  Whatever it does not take
		 * plainly (a sign, hex, out of range, a number followed by anything
		 * but a separator) is parsed by strtof as before, so the accepted
		 * syntax and the values are the same.
		 */
		{
			const char *fend = pt + strcspn(pt, ",] \t\n\r\v\f");
			auto		r = std::from_chars(pt, fend, val);

			if (r.ec == std::errc() && r.ptr == fend && r.ptr != pt)
			{
				TqVectorCheckElement(val);
				Assert(dim < cap);
				result->x[dim++] = val;
				pt = const_cast<char *>(r.ptr);
				goto separator;
			}
		}
		/* PostgreSQL runs with LC_NUMERIC = C, so '.' is the decimal point. */
		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type tqvector: \"%s\"", lit)));
		if (errno == ERANGE && std::isinf(val))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type tqvector",
							pnstrdup(pt, end - pt))));
		TqVectorCheckElement(val);
		Assert(dim < cap);
		result->x[dim++] = val;
		pt = end;

separator:
		while (TqIsSpace(*pt))
			pt++;
		if (*pt == ',')
			pt++;
		else if (*pt == ']')
		{
			pt++;
			break;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type tqvector: \"%s\"", lit)));
	}

	while (TqIsSpace(*pt))
		pt++;
	if (*pt != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tqvector: \"%s\"", lit),
				 errdetail("Junk after closing right bracket.")));

	TqVectorCheckTypmod(typmod, dim);

	/* Shrink to the parsed length; the allocation may be larger. */
	SET_VARSIZE(result, TQ_VECTOR_SIZE(dim));
	result->dim = dim;
	PG_RETURN_TQVECTOR_P(result);
}

/* Text output: '[x1,x2,...]' with the shortest round-trip float form. */
TQ_FUNCTION(tqvector_out)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	int			dim = v->dim;
	char	   *buf;
	char	   *p;

	/* Each float takes at most FLOAT_SHORTEST_DECIMAL_LEN - 1 characters. */
	buf = (char *) palloc(FLOAT_SHORTEST_DECIMAL_LEN * dim + 2);
	p = buf;
	*p++ = '[';
	for (int i = 0; i < dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(v->x[i], p);
	}
	*p++ = ']';
	*p = '\0';

	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

/* tqvector(n): one integer, 1..TQ_VECTOR_MAX_DIM. */
TQ_FUNCTION(tqvector_typmod_in)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for type tqvector"),
				 errhint("Use tqvector(n) with one dimension count.")));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type tqvector must be at least 1")));
	if (tl[0] > TQ_VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type tqvector cannot exceed %d", TQ_VECTOR_MAX_DIM)));
	PG_RETURN_INT32(tl[0]);
}

/* Prints the type modifier as "(n)", or nothing when there is none. */
TQ_FUNCTION(tqvector_typmod_out)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod >= 0)
		PG_RETURN_CSTRING(psprintf("(%d)", typmod));
	PG_RETURN_CSTRING(pstrdup(""));
}

/* Binary input; validates everything the text input validates. */
TQ_FUNCTION(tqvector_recv)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim;
	int			unused;
	TqVector   *result;

	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));
	TqVectorCheckDim(dim);
	TqVectorCheckTypmod(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = TqVectorNew(dim);
	for (int i = 0; i < dim; i++)
	{
		/* pq_getmsgfloat4 errors if the message is too short. */
		result->x[i] = pq_getmsgfloat4(buf);
		TqVectorCheckElement(result->x[i]);
	}
	PG_RETURN_TQVECTOR_P(result);
}

/* Binary output: int16 dim, int16 unused, dim float4. */
TQ_FUNCTION(tqvector_send)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, v->unused);
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------------- */
/* Casts                                                                    */
/* ---------------------------------------------------------------------- */

/* tqvector -> tqvector(n): enforces the type modifier. */
TQ_FUNCTION(tqvector_typmod_cast)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	TqVectorCheckTypmod(typmod, v->dim);
	PG_RETURN_TQVECTOR_P(v);
}

/* integer[], real[], double precision[], numeric[] -> tqvector. */
TQ_FUNCTION(tqvector_from_array)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			nelems;
	TqVector   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));
	if (elemtype != INT4OID && elemtype != FLOAT4OID && elemtype != FLOAT8OID &&
		elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array type %s for tqvector", format_type_be(elemtype))));

	/* Check the size before deconstructing a possibly huge array. */
	nelems = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	TqVectorCheckDim(nelems);
	TqVectorCheckTypmod(typmod, nelems);

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, NULL, &nelems);

	result = TqVectorNew(nelems);
	for (int i = 0; i < nelems; i++)
	{
		float		val;

		switch (elemtype)
		{
			case INT4OID:
				val = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT4OID:
				val = DatumGetFloat4(elems[i]);
				break;
			case FLOAT8OID:
				{
					double		d = DatumGetFloat8(elems[i]);

					val = (float) d;
					/* A finite double beyond float's range is an overflow. */
					if (std::isinf(val) && std::isfinite(d))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value %g is out of range for type tqvector", d)));
					break;
				}
			default:			/* NUMERICOID; float4in reports overflow */
				val = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
		}
		TqVectorCheckElement(val);
		result->x[i] = val;
	}
	pfree(elems);
	PG_RETURN_TQVECTOR_P(result);
}

/* tqvector -> real[] */
TQ_FUNCTION(tqvector_to_float4)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	Datum	   *d = (Datum *) palloc(sizeof(Datum) * v->dim);
	ArrayType  *result;

	for (int i = 0; i < v->dim; i++)
		d[i] = Float4GetDatum(v->x[i]);
	result = construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(d);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* ---------------------------------------------------------------------- */
/* Distances (all through the shared kernels in tqvector.h)                */
/* ---------------------------------------------------------------------- */

/* <-> */
TQ_FUNCTION(tqvector_l2_distance)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8(TqL2Distance(a->x, b->x, a->dim));
}

/* Squared L2 distance, in float like <-> before its square root. */
TQ_FUNCTION(tqvector_l2_squared_distance)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8((double) TqL2SquaredF(a->x, b->x, a->dim));
}

/* Inner product: exactly the negation of <#>. */
TQ_FUNCTION(tqvector_inner_product)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8(-TqNegativeInnerProduct(a->x, b->x, a->dim));
}

/* <#> */
TQ_FUNCTION(tqvector_negative_inner_product)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8(TqNegativeInnerProduct(a->x, b->x, a->dim));
}

/* <=> : NaN when either vector is zero, as in pgvector. */
TQ_FUNCTION(tqvector_cosine_distance)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8(TqCosineDistance(a->x, b->x, a->dim));
}

/* <+> : taxicab distance. */
TQ_FUNCTION(tqvector_l1_distance)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);

	TqVectorCheckDims(a, b);
	PG_RETURN_FLOAT8(TqL1Distance(a->x, b->x, a->dim));
}

/* ---------------------------------------------------------------------- */
/* Element-wise arithmetic                                                  */
/* ---------------------------------------------------------------------- */

/* a + b */
TQ_FUNCTION(tqvector_add)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);
	TqVector   *r;

	TqVectorCheckDims(a, b);
	r = TqVectorNew(a->dim);
	for (int i = 0; i < a->dim; i++)
		r->x[i] = a->x[i] + b->x[i];
	TqCheckOverflow(r);
	PG_RETURN_TQVECTOR_P(r);
}

/* a - b */
TQ_FUNCTION(tqvector_sub)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);
	TqVector   *r;

	TqVectorCheckDims(a, b);
	r = TqVectorNew(a->dim);
	for (int i = 0; i < a->dim; i++)
		r->x[i] = a->x[i] - b->x[i];
	TqCheckOverflow(r);
	PG_RETURN_TQVECTOR_P(r);
}

/* a * b, element-wise; overflow and underflow are errors, as for real. */
TQ_FUNCTION(tqvector_mul)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);
	TqVector   *r;

	TqVectorCheckDims(a, b);
	r = TqVectorNew(a->dim);
	for (int i = 0; i < a->dim; i++)
		r->x[i] = a->x[i] * b->x[i];
	for (int i = 0; i < a->dim; i++)
	{
		if (std::isinf(r->x[i]))
			float_overflow_error();
		if (r->x[i] == 0.0f && !(a->x[i] == 0.0f || b->x[i] == 0.0f))
			float_underflow_error();
	}
	PG_RETURN_TQVECTOR_P(r);
}

/* a || b: concatenation. */
TQ_FUNCTION(tqvector_concat)
{
	TqVector   *a = PG_GETARG_TQVECTOR_P(0);
	TqVector   *b = PG_GETARG_TQVECTOR_P(1);
	TqVector   *r;

	TqVectorCheckDim(a->dim + b->dim);
	r = TqVectorNew(a->dim + b->dim);
	memcpy(r->x, a->x, sizeof(float) * a->dim);
	memcpy(r->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_TQVECTOR_P(r);
}

/* ---------------------------------------------------------------------- */
/* Vector functions                                                         */
/* ---------------------------------------------------------------------- */

/* Number of dimensions. */
TQ_FUNCTION(tqvector_dims)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);

	PG_RETURN_INT32(v->dim);
}

/* Euclidean norm, accumulated in double. */
TQ_FUNCTION(tqvector_l2_norm)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);

	PG_RETURN_FLOAT8(TqL2NormD(v->x, v->dim));
}

/* v / |v|; the zero vector stays zero (as in pgvector). */
TQ_FUNCTION(tqvector_l2_normalize)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	TqVector   *r = TqVectorNew(v->dim);
	double		norm = TqL2NormD(v->x, v->dim);

	if (norm > 0)
	{
		for (int i = 0; i < v->dim; i++)
			r->x[i] = (float) (v->x[i] / norm);
		/* A subnormal-only vector can overflow when divided. */
		TqCheckOverflow(r);
	}
	PG_RETURN_TQVECTOR_P(r);
}

/*
 * subvector(v, start, count): elements start .. start + count - 1, 1-based,
 * clipped to the vector like substring() (pgvector's semantics); an empty
 * result is an error.
 */
TQ_FUNCTION(tqvector_subvector)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	int32		start = PG_GETARG_INT32(1);
	int32		count = PG_GETARG_INT32(2);
	int32		end;
	TqVector   *r;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tqvector must have at least 1 dimension")));

	/* end = min(start + count, dim + 1) without overflowing int32 */
	if (start > v->dim - count)
		end = v->dim + 1;
	else
		end = start + count;
	if (start < 1)
		start = 1;
	if (end - start < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tqvector must have at least 1 dimension")));

	r = TqVectorNew(end - start);
	memcpy(r->x, v->x + (start - 1), sizeof(float) * (end - start));
	PG_RETURN_TQVECTOR_P(r);
}

/* ---------------------------------------------------------------------- */
/* Comparison (btree) and hashing                                           */
/* ---------------------------------------------------------------------- */

/*
 * Total order: element-wise, then by dimension (a prefix sorts first), like
 * arrays and pgvector's vector_cmp.  -0 equals +0.
 */
static int
TqVectorCmp(const TqVector *a, const TqVector *b)
{
	int			dim = Min(a->dim, b->dim);

	for (int i = 0; i < dim; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

/*
 * Comparison entry points free detoasted copies: a sort may call them
 * N log N times in one long-lived memory context.
 */
#define TQ_CMP_FUNCTION(name, expr)               \
	TQ_FUNCTION(name)                             \
	{                                             \
		TqVector   *a = PG_GETARG_TQVECTOR_P(0);  \
		TqVector   *b = PG_GETARG_TQVECTOR_P(1);  \
		int			c = TqVectorCmp(a, b);        \
												  \
		PG_FREE_IF_COPY(a, 0);                    \
		PG_FREE_IF_COPY(b, 1);                    \
		return (expr);                            \
	}

TQ_CMP_FUNCTION(tqvector_cmp, Int32GetDatum(c))
TQ_CMP_FUNCTION(tqvector_lt, BoolGetDatum(c < 0))
TQ_CMP_FUNCTION(tqvector_le, BoolGetDatum(c <= 0))
TQ_CMP_FUNCTION(tqvector_eq, BoolGetDatum(c == 0))
TQ_CMP_FUNCTION(tqvector_ne, BoolGetDatum(c != 0))
TQ_CMP_FUNCTION(tqvector_ge, BoolGetDatum(c >= 0))
TQ_CMP_FUNCTION(tqvector_gt, BoolGetDatum(c > 0))

/*
 * Copies the elements with -0 turned into +0, so vectors that compare equal
 * hash equal (elements are never NaN).
 */
static float *
TqHashableCopy(const TqVector *v)
{
	float	   *h = (float *) palloc(sizeof(float) * v->dim);

	for (int i = 0; i < v->dim; i++)
		h[i] = (v->x[i] == 0.0f) ? 0.0f : v->x[i];
	return h;
}

/* Hash support function 1 (int4 hash). */
TQ_FUNCTION(tqvector_hash)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	float	   *h = TqHashableCopy(v);
	Datum		result = hash_any((const unsigned char *) h, sizeof(float) * v->dim);

	pfree(h);
	PG_FREE_IF_COPY(v, 0);
	return result;
}

/* Hash support function 2 (seeded int8 hash). */
TQ_FUNCTION(tqvector_hash_extended)
{
	TqVector   *v = PG_GETARG_TQVECTOR_P(0);
	uint64		seed = PG_GETARG_INT64(1);
	float	   *h = TqHashableCopy(v);
	Datum		result = hash_any_extended((const unsigned char *) h,
										   sizeof(float) * v->dim, seed);

	pfree(h);
	PG_FREE_IF_COPY(v, 0);
	return result;
}
