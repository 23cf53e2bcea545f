# cfgsync: one binary over one library.  `make check` runs every test;
# `make deps` installs the Debian packages the build needs, `make deps-test`
# (run by `make check`) those the tests need as well.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/cfgsync
DOCDIR	?= $(PREFIX)/share/doc/cfgsync
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Debian's zsh searches .../site-functions under /usr/local and
# vendor-completions under /usr.
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
else
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
endif
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

VERSION	= 0.1.0
PKGS	= libmicrohttpd libcurl json-c libarchive nettle gnutls yaml-0.1 zlib

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
	lib/array.o \
	lib/artifacts.o \
	lib/buf.o \
	lib/bundle.o \
	lib/bundle_archive.o \
	lib/bundle_dir.o \
	lib/bundle_file.o \
	lib/bundle_service.o \
	lib/bundle_shape.o \
	lib/bundle_tree.o \
	lib/cgroup.o \
	lib/clock.o \
	lib/cluster.o \
	lib/cluster_etcd.o \
	lib/diag.o \
	lib/errbuf.o \
	lib/etcd.o \
	lib/exec_sched.o \
	lib/fsx.o \
	lib/http_client.o \
	lib/http_conns.o \
	lib/http_dispatch.o \
	lib/http_listen.o \
	lib/http_metrics.o \
	lib/http_park.o \
	lib/http_server.o \
	lib/jsonx.o \
	lib/materializer.o \
	lib/node_auth.o \
	lib/node_client.o \
	lib/node_request.o \
	lib/output.o \
	lib/payload_index.o \
	lib/prom.o \
	lib/protocol.o \
	lib/registration.o \
	lib/registry.o \
	lib/server_list.o \
	lib/status_text.o \
	lib/store_etcd.o \
	lib/store_journal.o \
	lib/strmap.o \
	lib/supervise.o \
	lib/tls_pin.o \
	lib/yamlx.o

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
	cmd/pin.o \
	cmd/register.o \
	cmd/replace.o \
	cmd/serve.o \
	cmd/serve_bundle.o \
	cmd/serve_exec.o \
	cmd/status.o

UNIT_TESTS = \
	test/unit/test_array \
	test/unit/test_artifacts \
	test/unit/test_buf \
	test/unit/test_bundle_archive \
	test/unit/test_cgroup \
	test/unit/test_committer \
	test/unit/test_cluster_manifest \
	test/unit/test_etcd \
	test/unit/test_exec_sched \
	test/unit/test_materializer \
	test/unit/test_node_auth \
	test/unit/test_http_request \
	test/unit/test_prom \
	test/unit/test_fsx \
	test/unit/test_output \
	test/unit/test_payload_index \
	test/unit/test_registration \
	test/unit/test_registry \
	test/unit/test_server_list \
	test/unit/test_store_journal \
	test/unit/test_strmap \
	test/unit/test_supervise \
	test/unit/test_yamlx

.PHONY: all check unit bats lint deps deps-test demo install uninstall \
	clean bench fuzz fuzz-deps fuzz-replay FORCE

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

test/unit/%: test/unit/%.c test/unit/check.h test/unit/tmpdir.h lib/libcfgsync.a \
    .build-flags
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
	$(call apt_missing,$(FUZZ_DEB))

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

# Debian packages, each installed only when missing, so a second run is a
# no-op: DEPS_BUILD builds cfgsync and runs `make demo`; DEPS_RUN is the
# service serve-exec --etcd stands on (etcd, which test/95-cluster.bats
# starts as three members on loopback); DEPS_TEST adds
# what `make check` needs (bats, the clients and archivers the suites
# drive, mandoc for lint, man-db for `man -l`, python3-yaml to parse the
# YAML examples, strace to inject faults into fetch, time for the peak
# memory of the bomb tests, acl for a default ACL that masks modes).
DEPS_BUILD = build-essential pkg-config libmicrohttpd-dev \
	libcurl4-openssl-dev libjson-c-dev libarchive-dev nettle-dev \
	libgnutls28-dev libyaml-dev zlib1g-dev
DEPS_RUN = etcd-server
DEPS_TEST = bats bats-support bats-assert curl jq python3 python3-yaml \
	mandoc man-db zstd xz-utils libarchive-tools zip unzip procps \
	e2fsprogs openssl busybox strace time acl

# apt_missing LIST: installs the packages of LIST that are not installed.
apt_missing = @missing=; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q '^install ok installed' || \
		    missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make $@: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq $$missing; \
	fi

deps:
	$(call apt_missing,$(DEPS_BUILD) $(DEPS_RUN))

deps-test: deps
	$(call apt_missing,$(DEPS_TEST))

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

check: deps-test
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
	@sh test/lint/include-graph.sh lib
	@if sh test/lint/include-graph.sh test/fixtures/include-cycle \
	    >/dev/null; then echo "lint: include-graph misses a cycle"; \
	    exit 1; fi
	@$(CC) $(CPPFLAGS) $(WARN) -Werror -fsyntax-only test/bench/bootstrap.c
	@$(CC) $(CPPFLAGS) $(WARN) -Werror -fsyntax-only test/bench/etcd_txn.c
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

test/bench/etcd_txn: test/bench/etcd_txn.c
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ test/bench/etcd_txn.c \
	    -lcurl -ljson-c -lnettle -lpthread

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
	$(MAKE) all test/bench/bootstrap test/bench/etcd_txn
	sh test/bench/run.sh

# What install puts under SHAREDIR (the examples, as source) and which of
# those are programs.
SHARE_FILES = \
	share/bundles/demo.json \
	share/busybox/fetch.sh \
	share/compose/docker-compose.yml \
	share/demo.sh \
	share/kubernetes/cfgsync.yaml \
	share/materializers/exactly-n.py \
	share/materializers/peers.c \
	share/materializers/wait-for-n.sh \
	share/systemd/cfgsync-fetch.env \
	share/systemd/cfgsync-fetch.service \
	share/systemd/cfgsync-serve-exec.service
SHARE_PROGS = share/busybox/fetch.sh share/demo.sh \
	share/materializers/exactly-n.py \
	share/materializers/wait-for-n.sh
MAN_PAGES = $(wildcard man/*.[157])
MAN_INSTALLED = $(foreach m,$(MAN_PAGES), \
	$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
SHARE_SUBDIRS = $(filter-out share/,$(sort $(dir $(SHARE_FILES))))

# The original's program names, links to cfgsync (SPEC 9).
PROGRAM_LINKS = cfgsync-client cfgsync-server

# Every file install writes, without $(DESTDIR); uninstall removes these.
INSTALLED_FILES = $(BINDIR)/cfgsync \
	$(addprefix $(BINDIR)/,$(PROGRAM_LINKS)) \
	$(MAN_INSTALLED) \
	$(patsubst share/%,$(SHAREDIR)/%,$(SHARE_FILES)) \
	$(DOCDIR)/LICENSE \
	$(BASHCOMPDIR)/cfgsync $(ZSHCOMPDIR)/_cfgsync \
	$(FISHCOMPDIR)/cfgsync.fish
# Parents before children.  Install records each one it had to make in
# $(INSTALL_LOG), and uninstall removes only those, and only when empty.
INSTALL_DIRS = $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7 \
	$(DOCDIR) $(BASHCOMPDIR) $(ZSHCOMPDIR) $(FISHCOMPDIR) $(SHAREDIR) \
	$(patsubst share/%/,$(SHAREDIR)/%,$(SHARE_SUBDIRS))
INSTALL_LOG = $(SHAREDIR)/.installed-dirs

install: all
	@[ -z "$(DESTDIR)" ] || mkdir -p "$(DESTDIR)"; \
	made=; for d in $(INSTALL_DIRS); do \
		new=; p=$$d; \
		while [ "$$p" != / ] && [ "$$p" != . ] && \
		    [ ! -d "$(DESTDIR)$$p" ]; do \
			new="$$p $$new"; p=$$(dirname "$$p"); \
		done; \
		for n in $$new; do \
			mkdir -m 0755 "$(DESTDIR)$$n" || exit 1; \
			made="$$made $$n"; \
		done; \
	done; \
	for n in $$made; do echo "$$n"; done >>"$(DESTDIR)$(INSTALL_LOG)" && \
	chmod 0644 "$(DESTDIR)$(INSTALL_LOG)"
	install -m 0755 cfgsync $(DESTDIR)$(BINDIR)/cfgsync
	for p in $(PROGRAM_LINKS); do \
		ln -sf cfgsync $(DESTDIR)$(BINDIR)/$$p || exit 1; \
	done
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	@for f in $(SHARE_FILES); do \
		case " $(SHARE_PROGS) " in \
		*" $$f "*) m=0755 ;; \
		*) m=0644 ;; \
		esac; \
		to="$(DESTDIR)$(SHAREDIR)/$${f#share/}"; \
		echo "install -m $$m $$f $$to"; \
		install -m $$m $$f "$$to" || exit 1; \
	done
	install -m 0644 LICENSE $(DESTDIR)$(DOCDIR)/LICENSE
	install -m 0644 completions/cfgsync.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/cfgsync
	install -m 0644 completions/_cfgsync $(DESTDIR)$(ZSHCOMPDIR)/_cfgsync
	install -m 0644 completions/cfgsync.fish \
	    $(DESTDIR)$(FISHCOMPDIR)/cfgsync.fish

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	@if [ -f "$(DESTDIR)$(INSTALL_LOG)" ]; then \
		dirs=$$(sort -r -u "$(DESTDIR)$(INSTALL_LOG)"); \
		rm -f "$(DESTDIR)$(INSTALL_LOG)"; \
		for d in $$dirs; do \
			rmdir "$(DESTDIR)$$d" 2>/dev/null || :; \
		done; \
	fi

clean:
	rm -f cfgsync test/bench/bootstrap test/bench/etcd_txn .build-flags lib/libcfgsync.a lib/*.o lib/*.d cmd/*.o cmd/*.d $(UNIT_TESTS)
	rm -rf test/fuzz/bin test/fuzz/obj
