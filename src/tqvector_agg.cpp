/*
 * tqvector_agg.cpp — avg(tqvector) and sum(tqvector).
 *
 * Both aggregates share one transition state, a double precision[] holding
 * {n, sum_1, ..., sum_dim} (pgvector's layout), and one transition and one
 * combine function; only the final function differs.  Accumulating in
 * double keeps sums of many floats exact enough and makes intermediate
 * overflow impossible in practice; the final function reports overflow when
 * the result does not fit in a float.
 *
 * The initial state is '{0}' (n = 0, no sums): the first vector fixes the
 * dimension.  When called as an aggregate, the transition and combine
 * functions update the state in place (as float8_accum does) instead of
 * copying dim + 1 doubles per row.
 *
 * The functions are SQL-callable with any double precision[], so they
 * validate the state rather than trust it.
 */
#include <cmath>

#include "tq_pg.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"
}

#include "tqvector.h"

/*
 * Validates a state array and returns its values; *dim receives the number
 * of sums (0 for the initial state).
 */
static float8 *
TqStateValues(ArrayType *state, int *dim)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 ||
		ARR_DIMS(state)[0] > TQ_VECTOR_MAX_DIM + 1 ||
		ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid tqvector aggregate state")));
	*dim = ARR_DIMS(state)[0] - 1;
	return (float8 *) ARR_DATA_PTR(state);
}

/* Builds a new state array {n, values...} in the current memory context. */
static ArrayType *
TqStateNew(float8 n, int dim, const float *fx, const float8 *dx)
{
	Datum	   *d = (Datum *) palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *result;

	d[0] = Float8GetDatum(n);
	for (int i = 0; i < dim; i++)
		d[i + 1] = Float8GetDatum(fx ? (float8) fx[i] : dx[i]);
	result = construct_array(d, dim + 1, FLOAT8OID, sizeof(float8),
							 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(d);
	return result;
}

/* Errors if a state dimension and a vector (or state) dimension differ. */
static void
TqCheckStateDims(int a, int b)
{
	TqCheckDimsMatch(a, b);
}

/* Transition function: adds one vector to the state. */
TQ_FUNCTION(tqvector_accum)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	TqVector   *v = PG_GETARG_TQVECTOR_P(1);
	int			dim;
	float8	   *s = TqStateValues(state, &dim);
	float8	   *sums;

	if (s[0] == 0)
		PG_RETURN_ARRAYTYPE_P(TqStateNew(1, v->dim, v->x, NULL));

	TqCheckStateDims(dim, v->dim);
	if (!AggCheckCallContext(fcinfo, NULL))
		state = TqStateNew(s[0], dim, NULL, s + 1);
	sums = (float8 *) ARR_DATA_PTR(state);
	sums[0] += 1;
	for (int i = 0; i < dim; i++)
	{
		sums[i + 1] += (float8) v->x[i];
		if (std::isinf(sums[i + 1]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

/* Combine function: merges two partial states (parallel aggregation). */
TQ_FUNCTION(tqvector_combine)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	int			dim1;
	int			dim2;
	float8	   *s1 = TqStateValues(state1, &dim1);
	float8	   *s2 = TqStateValues(state2, &dim2);
	float8	   *sums;

	if (s2[0] == 0)
		PG_RETURN_ARRAYTYPE_P(state1);
	if (s1[0] == 0)
		PG_RETURN_ARRAYTYPE_P(TqStateNew(s2[0], dim2, NULL, s2 + 1));

	TqCheckStateDims(dim1, dim2);
	if (!AggCheckCallContext(fcinfo, NULL))
		state1 = TqStateNew(s1[0], dim1, NULL, s1 + 1);
	sums = (float8 *) ARR_DATA_PTR(state1);
	sums[0] += s2[0];
	for (int i = 0; i < dim1; i++)
	{
		sums[i + 1] += s2[i + 1];
		if (std::isinf(sums[i + 1]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(state1);
}

/*
 * Final step shared by avg and sum: sums / divisor as a tqvector, or NULL
 * when no rows were aggregated.
 */
static Datum
TqStateFinal(FunctionCallInfo fcinfo, bool average)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			dim;
	float8	   *s = TqStateValues(state, &dim);
	float8		n = s[0];
	TqVector   *r;

	if (n == 0)
		PG_RETURN_NULL();
	TqVectorCheckDim(dim);

	r = TqVectorNew(dim);
	for (int i = 0; i < dim; i++)
	{
		float8		d = average ? s[i + 1] / n : s[i + 1];

		r->x[i] = (float) d;
		if (std::isinf(r->x[i]))
			float_overflow_error();
		TqVectorCheckElement(r->x[i]);
	}
	PG_RETURN_TQVECTOR_P(r);
}

/* Final function of avg(tqvector). */
TQ_FUNCTION(tqvector_avg)
{
	return TqStateFinal(fcinfo, true);
}

/* Final function of sum(tqvector). */
TQ_FUNCTION(tqvector_sum_final)
{
	return TqStateFinal(fcinfo, false);
}
