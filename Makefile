# orders-pipeline build. One Makefile, out-of-tree objects:
#   build/      release-ish build (-O2 -g)
#   build-san/  AddressSanitizer + UndefinedBehaviorSanitizer (make SAN=1 ...)
#
# Targets: all (default), test, unit, integration, bench, chart-test (offline
#          Helm chart checks), up, down, install, fmt, fmt-check, clean,
#          podman-e2e (the service images in podman against the local stack).
#          `make help` lists them.

SAN ?= 0
ifeq ($(SAN),0)
  BUILD    := build
  SANFLAGS :=
else ifeq ($(SAN),1)
  BUILD    := build-san
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
  $(error SAN must be 0 or 1, not '$(SAN)')
endif

CC      ?= cc
PKGS    := libmicrohttpd rdkafka hiredis libpq libcjson libcurl openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wformat=2 -Wvla -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -pthread -MMD -MP -Icommon $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS += -pthread -Wl,--as-needed $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lm

# ---- sources ---------------------------------------------------------------
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a

# A service is a folder under services/ with a main.c; its other .c files are
# also linked into the unit tests.
SERVICES := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/main.c))))
SERVICES := $(sort $(SERVICES))
BINS     := $(SERVICES:%=$(BUILD)/bin/%)

UNIT_SRC  := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(BUILD)/tests/unit_tests

INTEG_SRC := $(shell find tests/integration -name '*.c' 2>/dev/null | sort)
INTEG_OBJ := $(INTEG_SRC:%.c=$(BUILD)/%.o)
INTEG_BIN := $(BUILD)/tests/integration_tests

# Benchmark tools: one program per tests/bench/*.c, built by `make bench`;
# tests/bench/lib/*.c are helpers linked into every tool.
BENCH_SRC     := $(wildcard tests/bench/*.c)
BENCH_BINS    := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
BENCH_LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/bench/lib/*.c))

# Unit and integration tests link every service's objects except its main.c.
SERVICE_LIB_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(filter-out %/main.c,$(wildcard services/*/*.c)))

.PHONY: all test unit integration tests bench bench-tools chart-test podman-e2e up down install fmt fmt-check clean help
.DEFAULT_GOAL := all

all: $(BINS) $(UNIT_BIN) $(INTEG_BIN) $(BENCH_BINS)

tests: $(UNIT_BIN) $(INTEG_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# Each service binary: its own objects + libcommon. (In a pattern rule's
# prerequisites every % is the stem, so the object list comes from a call.)
SERVICE_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c))
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(call SERVICE_OBJ,$$*) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_BIN): $(UNIT_OBJ) $(SERVICE_LIB_OBJ) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(INTEG_BIN): $(INTEG_OBJ) $(SERVICE_LIB_OBJ) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(BENCH_LIB_OBJ) $(SERVICE_LIB_OBJ) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# keep the tools' objects: otherwise make deletes them as intermediates and
# relinks every tool on every run
.SECONDARY: $(BENCH_SRC:%.c=$(BUILD)/%.o)

# ---- the two commands ------------------------------------------------------
# make test: install what is missing, build, start what the tests need, run
# every suite, stop what it started. Output ends with "N passed, N failed".
test:
	@SAN=$(SAN) scripts/test.sh

# Unit suites only (no servers needed).
unit: $(UNIT_BIN)
	@scripts/run-suites.sh $(UNIT_BIN)

# Integration suites against an already running stack (make up first).
integration: $(INTEG_BIN)
	@set -a && . scripts/local.env && set +a && \
	  scripts/run-suites.sh "CRITERION_JOBS=1 $(INTEG_BIN)"

# Benchmarks on the local stack (scripts/bench.sh); QUICK=1 for a short run
# that only proves the harness works. Results: docs/BENCHMARKS.md.
bench-tools: $(BINS) $(BENCH_BINS)

bench: bench-tools
	@QUICK=$(QUICK) scripts/bench.sh

# make up: install, build, start the local stack and services, print an example.
up:
	@SAN=$(SAN) scripts/up.sh

down:
	@scripts/stack.sh down

install:
	@scripts/install.sh

# ---- formatting --------------------------------------------------------------
FMT_SRC = $(shell find common services tests -name '*.[ch]' 2>/dev/null)
fmt:
	clang-format -i $(FMT_SRC)

fmt-check:
	clang-format --dry-run --Werror $(FMT_SRC)

clean:
	rm -rf build build-san

# Offline Helm chart proof: lint, schema, kubernetes-validate, checkov,
# NetworkPolicy connectivity. Ends with "N passed, N failed".
chart-test:
	@scripts/chart-test.sh

# Containerised end-to-end run: build the images (incremental), run them in a
# podman pod with the chart's rendered configuration and Secrets against the
# local stack. Ends with "N passed, N failed".
podman-e2e:
	@tests/chart/podman-e2e.sh

help:
	@sed -n '1,10p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
