/*
 * kmeans_avx512.cpp — src/core/kmeans.cpp's matrix work (training,
 * assignment, ranking) built again with AVX-512 (Makefile), in namespace
 * turboquant::km_avx512 with Eigen renamed; kmeans.cpp's entry points choose
 * it at run time (see "Speed" in its essay).  Nothing on other architectures.
 */
#if defined(__x86_64__) || defined(__i386__)
#define TQ_KMEANS_AVX512 1
/* helpers only the baseline build's entry points use */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "kmeans.cpp"
#endif
