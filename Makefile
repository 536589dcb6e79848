# libh2: one Makefile for the library, tools, tests and benchmarks.
#
# Everything lands in $(BUILD) (default: build). Sanitizer builds use their
# own folders (build/asan, build/tsan) so they never mix objects.

BUILD    ?= build
CC       ?= cc
PREFIX   ?= /usr/local
OPT      ?= -O2 -g
SAN      ?=
PYTHON   ?= python3

VERSION_MAJOR := 0
VERSION       := 0.1.0

WARN := -std=c11 -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Wvla \
        -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
        -Wcast-align -Wwrite-strings -Wundef -Wformat=2 -Wmissing-field-initializers -Werror
# Tests and benchmarks use Criterion's and nghttp2's macros, which trip
# -Wconversion; they keep the rest of the set.
TEST_WARN := -std=gnu11 -Wall -Wextra -Wshadow -Wvla -Wpointer-arith -Wundef -Werror \
             -Wno-missing-field-initializers

CPPFLAGS += -D_GNU_SOURCE -Iinclude -Isrc
LIB_CFLAGS := $(WARN) $(OPT) $(SAN) -fPIC -fvisibility=hidden $(EXTRA_CFLAGS)

CORE_SRC    := $(wildcard src/core/*.c)
SERVICE_SRC := $(wildcard src/service/*.c)
LIB_SRC     := $(CORE_SRC) $(SERVICE_SRC)
LIB_OBJ     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB_LIBS    := -lpthread

STATIC_LIB := $(BUILD)/libh2.a
SHARED_LIB := $(BUILD)/libh2.so.$(VERSION)
SONAME     := libh2.so.$(VERSION_MAJOR)

TEST_SRC     := $(wildcard tests/unit/test_*.c)
TEST_BIN     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
# Interop suites talk to real peers (curl, nghttp, nghttpd) over loopback.
INTEROP_SRC  := $(wildcard tests/interop/test_*.c)
INTEROP_BIN  := $(patsubst tests/interop/%.c,$(BUILD)/tests/interop/%,$(INTEROP_SRC))
SUPPORT_SRC  := $(wildcard tests/support/*.c)
SUPPORT_OBJ  := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(SUPPORT_SRC))
TEST_CFLAGS  := $(TEST_WARN) $(OPT) $(SAN) -Itests $(EXTRA_CFLAGS) \
                -DH2_SHARED_DIR='"$(abspath ../shared)"'
TEST_LIBS    := -lcriterion -ljansson -lpthread

BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_LIBS := -lnghttp2 -lpthread -lm

TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(wildcard tools/*.c))

# Debian packages the build, tests and benchmarks need.
DEPS_PKGS := build-essential pkg-config libck-dev libcriterion-dev libjansson-dev \
             libnghttp2-dev python3 curl nghttp2-client nghttp2-server

.SECONDARY:
.DELETE_ON_ERROR:

.PHONY: all lib tools test test-run asan tsan bench bench-build install deps regen clean format
all: lib tools

lib: $(STATIC_LIB) $(SHARED_LIB) $(BUILD)/libh2.so

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	$(CC) -shared $(SAN) -Wl,-soname,$(SONAME) -o $@ $^ $(LIB_LIBS)

$(BUILD)/libh2.so: $(SHARED_LIB)
	ln -sf $(notdir $(SHARED_LIB)) $(BUILD)/$(SONAME)
	ln -sf $(notdir $(SHARED_LIB)) $@

# ---- tools ------------------------------------------------------------------
tools: $(TOOLS)

$(BUILD)/%: tools/%.c $(STATIC_LIB)
	$(CC) $(CPPFLAGS) $(TEST_WARN) $(OPT) $(SAN) $< -o $@ $(STATIC_LIB) -ljansson

# ---- tests ------------------------------------------------------------------
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SUPPORT_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $< $(SUPPORT_OBJ) $(STATIC_LIB) $(TEST_LIBS)

test: deps
	$(MAKE) test-run

$(BUILD)/tests/interop/%: $(BUILD)/obj/tests/interop/%.o $(SUPPORT_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $< $(SUPPORT_OBJ) $(STATIC_LIB) $(TEST_LIBS)

test-run: all $(TEST_BIN) $(INTEROP_BIN)
	@SAN="$(SAN)" sh tests/check_readme.sh $(BUILD)
	@sh tests/run.sh $(TEST_BIN) $(INTEROP_BIN)

asan: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test-run

tsan: deps
	$(MAKE) BUILD=build/tsan OPT="-O1 -g" EXTRA_CFLAGS="-DCK_USE_CC_BUILTINS=1" \
	    SAN="-fsanitize=thread" test-run

# ---- benchmarks ---------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_WARN) -O2 -g $(SAN) -DNDEBUG -DH2_SHARED_DIR='"$(abspath ../shared)"' \
	    $< -o $@ $(STATIC_LIB) $(BENCH_LIBS)

bench-build: deps
	$(MAKE) $(BENCH_BIN)

bench: bench-build
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

# ---- install ------------------------------------------------------------------
install: lib tools
	install -d $(DESTDIR)$(PREFIX)/include/h2 $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/h2/*.h $(DESTDIR)$(PREFIX)/include/h2/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(PREFIX)/lib/libh2.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' libh2.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libh2.pc

# ---- set-up ---------------------------------------------------------------------
# Installs whichever of DEPS_PKGS are missing (Debian; needs root or sudo).
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

regen:
	$(PYTHON) tools/gen_huffman.py > src/core/huffman_table.c
	$(PYTHON) tools/gen_hpack_static.py > src/core/hpack_static_table.c

format:
	clang-format -i $(wildcard include/h2/*.h src/*/*.c src/*/*.h)

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/tests/*/*.d)
