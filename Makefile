# cfgsync: one binary over one library.  `make check` runs every test;
# `make deps` installs the Debian packages the build and the tests need.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/cfgsync
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

VERSION	= 0.1.0
PKGS	= libmicrohttpd libcurl json-c libarchive nettle

CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -DCFGSYNC_VERSION='"$(VERSION)"' -Ilib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS	+= $(PKG_LIBS) -lpthread

ifeq ($(SANITIZE),1)
CFLAGS	+= -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

ALL_CFLAGS = $(WARN) $(PKG_CFLAGS) $(CFLAGS)

LIB_OBJS = \
	lib/artifacts.o \
	lib/buf.o \
	lib/bundle.o \
	lib/bundle_archive.o \
	lib/bundle_dir.o \
	lib/bundle_service.o \
	lib/bundle_tree.o \
	lib/clock.o \
	lib/diag.o \
	lib/errbuf.o \
	lib/fsx.o \
	lib/http_client.o \
	lib/http_server.o \
	lib/jsonx.o \
	lib/materializer.o \
	lib/node_client.o \
	lib/node_request.o \
	lib/output.o \
	lib/payload_index.o \
	lib/protocol.o \
	lib/registration.o \
	lib/registry.o \
	lib/store_journal.o \
	lib/strhash.o

CMD_OBJS = \
	cmd/bundle.o \
	cmd/bundle_check.o \
	cmd/bundle_list.o \
	cmd/bundle_pack.o \
	cmd/bundle_unpack.o \
	cmd/cfgsync.o \
	cmd/cli.o \
	cmd/cli_client.o \
	cmd/cli_limits.o \
	cmd/cli_server.o \
	cmd/fetch.o \
	cmd/register.o \
	cmd/replace.o \
	cmd/serve_bundle.o \
	cmd/serve_exec.o

UNIT_TESTS = \
	test/unit/test_artifacts \
	test/unit/test_buf \
	test/unit/test_bundle_archive \
	test/unit/test_registration \
	test/unit/test_registry

.PHONY: all check unit bats lint deps demo install clean bench FORCE \
	fuzz fuzz-deps fuzz-replay

all: cfgsync

# Rebuild everything when the flags change (SANITIZE=1 and back).
BUILD_FLAGS = $(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@
FORCE:

lib/libcfgsync.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

cfgsync: $(CMD_OBJS) lib/libcfgsync.a .build-flags
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) lib/libcfgsync.a $(LDLIBS)

%.o: %.c .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

test/unit/%: test/unit/%.c test/unit/check.h lib/libcfgsync.a .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< lib/libcfgsync.a $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d)

# Fuzz targets (test/fuzz/NAME.c, one LLVMFuzzerTestOneInput each), one per
# parser of outside input; seeds in test/fuzz/corpus/NAME/, regression
# inputs in test/fuzz/crashes/NAME/.  Still to come from other branches:
# bundle_yaml (YAML bundles), server_config (the server config file) and
# http_target (the request target and query, once lib/http_server.c
# exposes its parser); add each to FUZZ_TARGETS with its corpus.
FUZZ_TARGETS = \
	bundle_archive \
	bundle_json \
	error_doc \
	journal \
	materializer_output \
	metadata \
	path_check \
	payload \
	raw_member \
	registration \
	replace

FUZZ_SECONDS ?= 30
FUZZ_CC	?= clang
# clang's -Wformat=2 also flags the vsnprintf of libmicrohttpd's log format.
FUZZ_CFLAGS = -Wno-format-nonliteral -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS = $(LIB_OBJS:lib/%.o=test/fuzz/obj/%.o)
FUZZ_BINS = $(FUZZ_TARGETS:%=test/fuzz/bin/fuzz-%)
REPLAY_BINS = $(FUZZ_TARGETS:%=test/fuzz/bin/replay-%)

# The library again, built by clang with coverage for libFuzzer.
test/fuzz/obj/%.o: lib/%.c
	@mkdir -p test/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS) $(WARN) $(PKG_CFLAGS) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

test/fuzz/bin/fuzz-%: test/fuzz/%.c test/fuzz/fuzz.h $(FUZZ_OBJS)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(CPPFLAGS) $(WARN) $(PKG_CFLAGS) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

# The same targets with the normal compiler and a main that replays files.
test/fuzz/bin/replay-%: test/fuzz/%.c test/fuzz/fuzz.h test/fuzz/replay.c \
    lib/libcfgsync.a .build-flags
	@mkdir -p test/fuzz/bin
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< \
	    test/fuzz/replay.c lib/libcfgsync.a $(LDLIBS)

-include $(FUZZ_OBJS:.o=.d)

# clang and libFuzzer's runtime, installed only when missing.
FUZZ_DEB = clang libclang-rt-14-dev
fuzz-deps:
	@missing=; for p in $(FUZZ_DEB); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make fuzz-deps: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Each target FUZZ_SECONDS seconds; what it finds new goes to
# test/fuzz/work/NAME/ (not committed), a crash to test/fuzz/work/crash/.
fuzz: deps fuzz-deps
	$(MAKE) $(FUZZ_BINS)
	@mkdir -p test/fuzz/work/crash; fail=; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p test/fuzz/work/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		./test/fuzz/bin/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) \
		    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix=test/fuzz/work/crash/$$t- \
		    test/fuzz/work/$$t test/fuzz/corpus/$$t \
		    2>test/fuzz/work/$$t.log || fail="$$fail $$t"; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
		    test/fuzz/work/$$t.log; \
	done; \
	if [ -n "$$fail" ]; then \
		echo "fuzz: findings in$$fail (test/fuzz/work/crash/)"; \
		exit 1; fi

# Every corpus file and crash input once, without clang (make check).
fuzz-replay: $(REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do \
		test -d test/fuzz/corpus/$$t || \
		    { echo "fuzz-replay: no corpus for $$t"; exit 1; }; \
		find test/fuzz/corpus/$$t test/fuzz/crashes/$$t -type f \
		    -print0 2>/dev/null | sort -z | \
		    xargs -0 ./test/fuzz/bin/replay-$$t || exit 1; \
	done

# Debian packages: installed only when missing, so a second run is a no-op.
DEPS_DEB = build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev \
	libjson-c-dev libarchive-dev nettle-dev bats bats-support bats-assert \
	curl jq python3 mandoc zstd xz-utils libarchive-tools zip unzip \
	procps e2fsprogs openssl
deps:
	@missing=; for p in $(DEPS_DEB); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The wire vectors the tests compare against: the repository's copy of the
# reference (SPEC section 8), so the tests read nothing outside the tree.
VECTORS	?= test/vectors

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t $(VECTORS) || exit 1; done

# Every suite under test/, one at a time; the last line is the tally.
bats: cfgsync
	@rm -f test/.bats.tap test/.bats.rc; \
	{ bats --jobs 1 --tap test; echo $$? >test/.bats.rc; } | \
	    tee test/.bats.tap; \
	rc=$$(cat test/.bats.rc); \
	pass=$$(grep -c '^ok ' test/.bats.tap); \
	skip=$$(grep -c '^ok .* # skip' test/.bats.tap); \
	fail=$$(grep -c '^not ok ' test/.bats.tap); \
	rm -f test/.bats.tap test/.bats.rc; \
	echo "bats: $$((pass - skip)) passed, $$fail failed, $$skip skipped"; \
	exit $$rc

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) lint
	$(MAKE) bats

lint:
	@for h in lib/*.h; do \
		echo "#include \"$$h\"" | $(CC) $(CPPFLAGS) $(WARN) $(PKG_CFLAGS) \
		    -fsyntax-only -x c - || exit 1; \
	done
	@if grep -nE '\<(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|strtok|gets|atoi)[[:space:]]*\(' \
	    cmd/*.c lib/*.c | grep -v 'banned.h'; then \
		echo "lint: banned function"; exit 1; fi
	@for f in cmd/*.c lib/*.c; do \
		tail -n 3 $$f | grep -q '"banned.h"' || \
		    grep -q '#include "banned.h"' $$f || { echo "lint: $$f lacks banned.h"; exit 1; }; \
	done
	@out=$$(mandoc -Tlint -Wwarning man/* 2>&1); \
	    if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

demo: deps
	$(MAKE) all
	sh share/demo.sh

bench: deps
	$(MAKE) all
	@dpkg-query -W -f='$${Status}\n' wrk 2>/dev/null | \
	    grep -q '^install ok installed' || \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
	sh test/bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 cfgsync $(DESTDIR)$(BINDIR)/cfgsync
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	cp -R share/. $(DESTDIR)$(SHAREDIR)/
	install -m 0644 completions/cfgsync.bash $(DESTDIR)$(BASHCOMPDIR)/cfgsync
	install -m 0644 completions/_cfgsync $(DESTDIR)$(ZSHCOMPDIR)/_cfgsync
	install -m 0644 completions/cfgsync.fish $(DESTDIR)$(FISHCOMPDIR)/cfgsync.fish

clean:
	rm -f cfgsync .build-flags lib/libcfgsync.a lib/*.o lib/*.d cmd/*.o cmd/*.d $(UNIT_TESTS)
	rm -rf test/fuzz/bin test/fuzz/obj
