# turboquant — built with PGXS.  `make && make install`, then see scripts/test.sh.
EXTENSION = turboquant turboquant_pgvector
MODULE_big = turboquant
DATA_built = turboquant--0.1.0.sql
# The companion extension for pgvector's types (its C functions are in turboquant.so).
DATA = src/turboquant_pgvector--0.1.0.sql

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/*.cpp))
OBJS = $(GLUE_SRCS:.cpp=.o) $(CORE_SRCS:.cpp=.o)
HEADERS = $(wildcard src/*.h) $(wildcard src/core/*.h)

# pg_regress tests (sql/ and expected/): one file per feature.
REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=turboquant

# The install script is assembled from its parts in src/sql/, in name order.
INSTALL_SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
turboquant--0.1.0.sql: $(INSTALL_SQL_PARTS)
	cat $(INSTALL_SQL_PARTS) > $@
# The rule above precedes PGXS's; keep `make` meaning `make all`.
.DEFAULT_GOAL := all

PG_CONFIG ?= pg_config
# Bitcode for the JIT is not built: it would gain nothing for this C++ code.
override with_llvm = no

# The PostgreSQL version the code is written and tested for (src/tq_pg.h
# checks it again at compile time).
PG_MAJOR := $(shell $(PG_CONFIG) --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
ifeq ($(shell [ "$(PG_MAJOR)" -ge 15 ] 2>/dev/null && echo ok),)
$(error turboquant needs PostgreSQL 15 or newer; $(PG_CONFIG) reports "$(shell $(PG_CONFIG) --version 2>/dev/null)")
endif

# Eigen only where it is used (src/core/kmeans.cpp and the unit tests); as a
# system include, so warnings inside Eigen do not fail a -Werror build.
EIGEN_CFLAGS ?= $(patsubst -I%,-isystem %,$(shell pkg-config --cflags eigen3 2>/dev/null || echo -I/usr/include/eigen3))
# `make WERROR=1` (CI, scripts/test.sh) turns every warning into an error.
WERROR ?=
TQ_WARN = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register \
	$(if $(filter 1 yes true,$(WERROR)),-Werror)
TQ_CXXFLAGS = -std=c++17 -O3 -fno-math-errno -ffp-contract=off $(TQ_WARN) -Isrc
# The extension: no C++ exception can be thrown (so none can unwind into
# PostgreSQL), and only what PostgreSQL calls is exported (PGDLLEXPORT in
# src/tq_pg.h marks it: the SQL-callable functions, Pg_magic_func, _PG_init).
PG_CXXFLAGS = $(TQ_CXXFLAGS) -fno-exceptions -fvisibility=hidden -fvisibility-inlines-hidden
SHLIB_LINK = -lstdc++ -lm -Wl,--version-script=$(srcdir)/src/exports.map

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS sets C flags that C++ rejects; keep only the common ones.
override CXXFLAGS := $(filter-out -Wmissing-prototypes -Wdeclaration-after-statement -Werror=vla,$(CXXFLAGS))

# Per-ISA kernel files (src/core/scan_<isa>.cpp) get their own flags; nothing
# else is built for a specific CPU.  The dispatcher checks the CPU at run time.
# aarch64 needs no flags: NEON is part of the base ISA.
ISA_FLAGS_avx2 = -mavx2 -mfma -mbmi2 -mpopcnt
ISA_FLAGS_avx512 = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mbmi2 -mpopcnt
ifneq ($(filter x86_64% i686% i386%,$(shell $(CXX) -dumpmachine)),)
src/core/scan_avx2.o: CXXFLAGS += $(ISA_FLAGS_avx2)
src/core/scan_avx512.o: CXXFLAGS += $(ISA_FLAGS_avx512) -Wno-uninitialized
endif
# Distance sums may be split into SIMD lanes (see src/tqdistance.cpp).
src/tqdistance.o: CXXFLAGS += -fassociative-math -fno-signed-zeros -fno-trapping-math
# k-means uses Eigen, whose GEMM may allocate with operator new: this one file
# keeps exceptions to catch std::bad_alloc itself (its entry points are
# noexcept, so nothing can leave it; see the essay in kmeans.cpp).
src/core/kmeans.o: CXXFLAGS += $(EIGEN_CFLAGS) -fexceptions
# ... and again with AVX2 + FMA (empty elsewhere), chosen at run time.
src/core/kmeans_avx2.o: CXXFLAGS += $(EIGEN_CFLAGS) -fexceptions
src/core/kmeans_avx2.o: src/core/kmeans.cpp
ifneq ($(filter x86_64% i686% i386%,$(shell $(CXX) -dumpmachine)),)
src/core/kmeans_avx2.o: CXXFLAGS += -mavx2 -mfma
endif
# ... and with AVX-512 (chosen when the kernel set in force is an AVX-512 one).
src/core/kmeans_avx512.o: CXXFLAGS += $(EIGEN_CFLAGS) -fexceptions
src/core/kmeans_avx512.o: src/core/kmeans.cpp
ifneq ($(filter x86_64% i686% i386%,$(shell $(CXX) -dumpmachine)),)
src/core/kmeans_avx512.o: CXXFLAGS += $(ISA_FLAGS_avx512) -Wno-uninitialized -Wno-maybe-uninitialized
endif

$(OBJS): $(HEADERS)
$(shlib): src/exports.map

# ---- core unit tests and benchmarks (no server needed) ----
GTEST_LIBS = -lgtest -lgtest_main -lpthread
CORE_TEST_SRCS = $(sort $(wildcard test/core/*.cpp))
CORE_OBJS = $(CORE_SRCS:.cpp=.o)

test/core/tq_core_tests: $(CORE_TEST_SRCS) $(CORE_OBJS) $(HEADERS)
	$(CXX) $(TQ_CXXFLAGS) $(EIGEN_CFLAGS) -g -o $@ $(CORE_TEST_SRCS) $(CORE_OBJS) $(GTEST_LIBS) -lm

# ---- the companion extension's tests: need pgvector installed ----
PGVECTOR_REGRESS = $(basename $(notdir $(sort $(wildcard test/pgvector/sql/*.sql))))
.PHONY: installcheck-pgvector
installcheck-pgvector:
	$(pg_regress_installcheck) --inputdir=test/pgvector --outputdir=test/pgvector \
		--load-extension=vector --load-extension=turboquant \
		--load-extension=turboquant_pgvector $(PGVECTOR_REGRESS)

.PHONY: unittest bench-kernels
unittest: test/core/tq_core_tests
	./test/core/tq_core_tests

# ---- TAP tests (test/t), run against the installed extension ----
.PHONY: tapcheck
tapcheck:
	test/run_tap.sh

bench/kernel_bench: bench/kernel_bench.cpp $(CORE_OBJS) $(HEADERS)
	$(CXX) $(TQ_CXXFLAGS) -o $@ bench/kernel_bench.cpp $(CORE_OBJS) -lm

bench-kernels: bench/kernel_bench
	./bench/kernel_bench

# k-means init, inner-product list rule, residual vs direct codes (docs/benchmark.md).
bench/partition_bench: bench/partition_bench.cpp test/core/test_util.cpp $(CORE_OBJS) $(HEADERS)
	$(CXX) $(TQ_CXXFLAGS) -o $@ bench/partition_bench.cpp test/core/test_util.cpp $(CORE_OBJS) -lm

.PHONY: bench-partitions
bench-partitions: bench/partition_bench
	./bench/partition_bench $${TQ_DATA_DIR:-../shared/data}

# Core scan vs FAISS IndexPQFastScan (docs/benchmark.md): per kernel set, single query,
# synthetic data (no private data needed); bench/Makefile builds the C shim.
# bench/kernel_bench.py compares quality and QPS on real sets.
.PHONY: bench-faiss
bench-faiss:
	$(MAKE) -C bench libtqcore.so
	python3 bench/kernel_table.py

clean: clean-tq
clean-tq:
	rm -f test/core/tq_core_tests bench/kernel_bench bench/partition_bench
	$(MAKE) -C bench clean
	rm -rf tmp_check build

# ---- core unit tests for aarch64, cross-compiled and run under qemu ----
# The NEON kernel set against scalar, and codes byte-identical to this
# machine's (scripts/test_aarch64.sh drives it; Debian: g++-aarch64-linux-gnu,
# qemu-user, libgtest-dev for the GoogleTest sources).  Static, so qemu needs
# no aarch64 sysroot.
AARCH64_CXX ?= aarch64-linux-gnu-g++
GTEST_DIR ?= /usr/src/googletest/googletest
AARCH64_DIR = build/aarch64
AARCH64_FLAGS = $(TQ_CXXFLAGS) $(EIGEN_CFLAGS) -g0 -I$(GTEST_DIR)/include -I$(GTEST_DIR) -pthread

$(AARCH64_DIR)/gtest.o: $(GTEST_DIR)/src/gtest-all.cc
	@mkdir -p $(AARCH64_DIR)
	$(AARCH64_CXX) $(AARCH64_FLAGS) -O1 -c -o $@ $<
$(AARCH64_DIR)/gtest_main.o: $(GTEST_DIR)/src/gtest_main.cc
	@mkdir -p $(AARCH64_DIR)
	$(AARCH64_CXX) $(AARCH64_FLAGS) -c -o $@ $<
AARCH64_CORE_OBJS = $(patsubst src/core/%.cpp,$(AARCH64_DIR)/core/%.o,$(CORE_SRCS))
AARCH64_TEST_OBJS = $(patsubst test/core/%.cpp,$(AARCH64_DIR)/test/%.o,$(CORE_TEST_SRCS))
$(AARCH64_DIR)/core/%.o: src/core/%.cpp $(HEADERS)
	@mkdir -p $(dir $@)
	$(AARCH64_CXX) $(AARCH64_FLAGS) -c -o $@ $<
# Tests at -O1: GCC 12's aarch64 vectorizer crashes on one of them at -O3.
$(AARCH64_DIR)/test/%.o: test/core/%.cpp $(HEADERS) test/core/test_util.h
	@mkdir -p $(dir $@)
	$(AARCH64_CXX) $(AARCH64_FLAGS) -O1 -c -o $@ $<
$(AARCH64_DIR)/tq_core_tests: $(AARCH64_CORE_OBJS) $(AARCH64_TEST_OBJS) $(AARCH64_DIR)/gtest.o $(AARCH64_DIR)/gtest_main.o
	$(AARCH64_CXX) $(AARCH64_FLAGS) -static -o $@ $^ -lm

.PHONY: unittest-aarch64
unittest-aarch64: test/core/tq_core_tests
	bash scripts/test_aarch64.sh
