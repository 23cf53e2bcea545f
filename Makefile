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
	cmd/serve_bundle.o \
	cmd/serve_exec.o

UNIT_TESTS = \
	test/unit/test_artifacts \
	test/unit/test_buf \
	test/unit/test_bundle_archive \
	test/unit/test_registration \
	test/unit/test_registry

.PHONY: all check unit bats lint deps demo install clean bench FORCE

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
	@$(CC) $(CPPFLAGS) $(WARN) -Werror -fsyntax-only test/bench/bootstrap.c
	@out=$$(mandoc -Tlint -Wwarning man/* 2>&1); \
	    if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

demo: deps
	$(MAKE) all
	sh share/demo.sh

# The benchmarks' tools from Debian's packages, installed only when missing
# (any nginx will do).
BENCH_DEB = wrk nginx-light nghttp2-client gnuplot-nox linux-perf
BENCH_CFLAGS = $(WARN) -O2 -g

test/bench/bootstrap: test/bench/bootstrap.c
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ test/bench/bootstrap.c

bench: deps
	@missing=; for p in $(BENCH_DEB); do \
		[ $$p = nginx-light ] && [ -x /usr/sbin/nginx ] && continue; \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make bench: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(MAKE) all test/bench/bootstrap
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
	rm -f cfgsync test/bench/bootstrap .build-flags lib/libcfgsync.a lib/*.o lib/*.d cmd/*.o cmd/*.d $(UNIT_TESTS)
