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

# The version lives in include/h2/version.h alone; the soname and libh2.pc
# take it from there.
version_part = $(shell sed -n 's/^\#define H2_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/h2/version.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION       := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)

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
# Abuse suites: one attack class per test, scripted against the core or the service.
ABUSE_SRC    := $(wildcard tests/abuse/test_*.c)
ABUSE_BIN    := $(patsubst tests/abuse/%.c,$(BUILD)/tests/abuse/%,$(ABUSE_SRC))
SUPPORT_SRC  := $(wildcard tests/support/*.c)
SUPPORT_OBJ  := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(SUPPORT_SRC))
TEST_CFLAGS  := $(TEST_WARN) $(OPT) $(SAN) -Itests $(EXTRA_CFLAGS) \
                -DH2_STORIES_DIR='"$(abspath tests/data/hpack-test-case)"' -DH2_BUILD_DIR='"$(abspath $(BUILD))"' \
                -DH2_SOURCE_DIR='"$(abspath .)"'
TEST_LIBS    := -lcriterion -ljansson -lpthread

BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_LIBS := -lnghttp2 -lpthread -lm

TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(wildcard tools/*.c))

# Example programs built on the service: build/h2server and build/h2client.
# Each is every .c of its folder plus examples/common/*.c, linked with OpenSSL.
EX_COMMON_SRC := $(wildcard examples/common/*.c)
EX_SERVER_SRC := $(wildcard examples/server/*.c)
EX_CLIENT_SRC := $(wildcard examples/client/*.c)
EX_CFLAGS     := $(WARN) $(OPT) $(SAN) -Iexamples $(EXTRA_CFLAGS)
EX_LIBS       := -lssl -lcrypto -lpthread
EXAMPLES      := $(if $(EX_SERVER_SRC),$(BUILD)/h2server) $(if $(EX_CLIENT_SRC),$(BUILD)/h2client)
# Examples on a libuv loop (examples/libuv): the core on uv_tcp_t, and the
# service with its event queue watched by uv_poll_t.
UV_EX_OBJ     := $(BUILD)/obj/examples/libuv/uvconn.o $(BUILD)/obj/examples/libuv/routes.o
EXAMPLES      += $(if $(wildcard examples/libuv/*.c),$(BUILD)/uv_h2server $(BUILD)/uv_h2client $(BUILD)/uv_h2service)

# Debian packages the build, tests and benchmarks need.
DEPS_PKGS := build-essential pkg-config libcriterion-dev libjansson-dev \
             libnghttp2-dev python3 curl nghttp2-client nghttp2-server libssl-dev openssl \
             python3-h2 h2o chromium clang valgrind python3-grpcio libuv1-dev haproxy

.SECONDARY:
.DELETE_ON_ERROR:

.PHONY: all lib tools examples run test test-run asan tsan bench bench-build install deps regen \
        clean format fuzz fuzz-smoke valgrind
all: lib tools examples

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

# pkg-config file for using the library from the tree, uninstalled (pkg-config
# looks for NAME-uninstalled.pc on PKG_CONFIG_PATH):
#   cc app.c $(PKG_CONFIG_PATH=build pkg-config --cflags --libs --static libh2-uninstalled)
lib: $(BUILD)/libh2-uninstalled.pc

$(BUILD)/libh2-uninstalled.pc: Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'includedir=$(abspath include)' 'libdir=$(abspath $(BUILD))' '' \
	    'Name: libh2 (uninstalled)' \
	    'Description: HTTP/2 protocol stack, used from its build tree' \
	    'Version: $(VERSION)' 'Libs: $${libdir}/libh2.a' 'Libs.private: -lpthread' \
	    'Cflags: -I$${includedir}' > $@

# ---- tools ------------------------------------------------------------------
tools: $(TOOLS)

$(BUILD)/%: tools/%.c $(STATIC_LIB)
	$(CC) $(CPPFLAGS) $(TEST_WARN) $(OPT) $(SAN) $< -o $@ $(STATIC_LIB) -ljansson

# ---- examples -----------------------------------------------------------------
examples: $(EXAMPLES)

$(BUILD)/obj/examples/%.o: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(EX_CFLAGS) -MMD -MP -c $< -o $@

ex_objs = $(patsubst examples/%.c,$(BUILD)/obj/examples/%.o,$(1) $(EX_COMMON_SRC))
$(BUILD)/h2server: $(call ex_objs,$(EX_SERVER_SRC)) $(STATIC_LIB)
$(BUILD)/h2client: $(call ex_objs,$(EX_CLIENT_SRC)) $(STATIC_LIB)
$(BUILD)/h2server $(BUILD)/h2client:
	$(CC) $(SAN) -o $@ $^ $(EX_LIBS)

$(BUILD)/uv_h2%: $(BUILD)/obj/examples/libuv/%.o $(UV_EX_OBJ) $(STATIC_LIB)
	$(CC) $(SAN) -o $@ $^ -luv -lpthread

# Starts the example server on 127.0.0.1:8080 (h2c) and :8443 (TLS) with a
# self-signed certificate made on first run in run/ (ignored by git).
run: deps
	$(MAKE) all
	@mkdir -p run
	@[ -f run/key.pem ] && [ -f run/cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	    -keyout run/key.pem -out run/cert.pem 2>/dev/null
	@echo "Try:  curl --http2-prior-knowledge http://127.0.0.1:8080/"
	@echo "      curl --http2 http://127.0.0.1:8080/          (h2c upgrade)"
	@echo "      curl --http2 -k https://127.0.0.1:8443/"
	@echo "      curl --http2-prior-knowledge --data-binary hello http://127.0.0.1:8080/echo"
	@echo "      nghttp -v http://127.0.0.1:8080/"
	@echo "      $(BUILD)/h2client http://127.0.0.1:8080/"
	$(BUILD)/h2server --host 127.0.0.1 --port 8080 --tls-port 8443 --cert run/cert.pem \
	    --key run/key.pem --root examples/www -v

# ---- tests ------------------------------------------------------------------
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

# One link rule for the three suites: unit tests in $(BUILD)/tests, abuse and
# interop suites in their own subfolders.
define test_link_rule
$(BUILD)/tests/$(1)%: $(BUILD)/obj/tests/$(2)/%.o $(SUPPORT_OBJ) $(STATIC_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(SAN) -o $$@ $$< $$(SUPPORT_OBJ) $$(STATIC_LIB) $$(TEST_LIBS)
endef
$(eval $(call test_link_rule,,unit))
$(eval $(call test_link_rule,interop/,interop))
$(eval $(call test_link_rule,abuse/,abuse))

test: deps
	$(MAKE) test-run

test-run: all $(TEST_BIN) $(ABUSE_BIN) $(INTEROP_BIN)
	@SAN="$(SAN)" sh tests/check_readme.sh $(BUILD)
	@SAN="$(SAN)" sh tests/check_pkgconfig.sh $(BUILD)
	@sh tests/check_switch.sh
	@SAN="$(SAN)" sh tests/check_abi.sh $(BUILD)
	@sh tests/run.sh $(TEST_BIN) $(ABUSE_BIN) $(INTEROP_BIN)

asan: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test-run

tsan: deps
	$(MAKE) BUILD=build/tsan OPT="-O1 -g" \
	    SAN="-fsanitize=thread" test-run

# ---- benchmarks ---------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_WARN) -O2 -g $(SAN) -DNDEBUG -DH2_STORIES_DIR='"$(abspath tests/data/hpack-test-case)"' \
	    $< -o $@ $(STATIC_LIB) $(BENCH_LIBS)

bench-build: deps
	$(MAKE) $(BENCH_BIN) examples

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

# Every C file of the tree (generated tables aside, which regen rewrites).
FORMAT_SRC := $(filter-out src/core/huffman_table.c src/core/hpack_static_table.c, \
    $(shell git ls-files '*.c' '*.h' 2>/dev/null))
format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)

# ---- fuzzing and valgrind ---------------------------------------------------------
# libFuzzer targets (clang): fuzz/fuzz_<name>.c, each linked with the library
# sources rebuilt by clang with coverage and ASan/UBSan in $(BUILD)/fuzz/obj.
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_TIME    ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := $(WARN) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(EXTRA_CFLAGS)
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_CORE_OBJ := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC))
FUZZ_SVC_OBJ  := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(SERVICE_SRC))

fuzz: $(FUZZ_BIN)

# The library is held to -Werror by the normal (gcc) build; a warning only
# clang gives must not stop the fuzz build.
$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Wno-error -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Ifuzz -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# Only the service target links the service; the others need the core alone.
$(FUZZ_DIR)/fuzz_service_feed: $(FUZZ_SVC_OBJ)
$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(FUZZ_CORE_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIB_LIBS)

# Runs each target for FUZZ_TIME seconds on a copy of its corpus; fails on
# any crash, leak or timeout (the input that did it is kept in $(FUZZ_DIR)).
fuzz-smoke: fuzz
	@rc=0; ok=0; bad=0; for f in $(FUZZ_BIN); do \
	    t=$$(basename $$f | sed 's/^fuzz_//'); \
	    if sh fuzz/run_smoke.sh $$f fuzz/corpus/$$t $(FUZZ_TIME) $(FUZZ_DIR); then ok=$$((ok + 1)); \
	    else rc=1; bad=$$((bad + 1)); fi; \
	done; echo "fuzz: $$ok passed, $$bad failed"; exit $$rc

# Memcheck over the interop suite: library, examples and interop tests built
# without sanitizers in $(BUILD)/valgrind; the example programs the tests
# start run under valgrind too (H2_EXAMPLE_WRAP).
VG_DIR  := $(BUILD)/valgrind
VG_BIN  := $(patsubst tests/interop/%.c,$(VG_DIR)/tests/interop/%,$(INTEROP_SRC))
VG_OPTS  := --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect --error-exitcode=99
# The test binaries: every process traced, logs checked by fuzz/valgrind_run.sh.
VG_TESTS := valgrind $(VG_OPTS) --trace-children=yes --trace-children-skip=/usr/*,/bin/*,/sbin/*
# h2server and h2client as the interop suites start them: the exit status tells.
VG_WRAP  := valgrind -q $(VG_OPTS)

valgrind:
	$(MAKE) BUILD=$(VG_DIR) OPT="-O1 -g" SAN= all $(VG_BIN)
	@H2_EXAMPLE_WRAP="$(VG_WRAP)" sh fuzz/valgrind_run.sh "$(VG_TESTS)" $(VG_BIN)

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/fuzz/*.d)

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/tests/*/*.d $(BUILD)/obj/examples/*/*.d)
