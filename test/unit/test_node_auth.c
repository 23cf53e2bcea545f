/*
 * Unit tests for lib/node_auth: the bearer parser, the tokens file (good
 * lines, comments, every kind of bad line named FILE:LINE, duplicates),
 * the tokens directory, the checks (own token, another node's, none),
 * reload keeping the old table on a bad file, and bind-first (binding,
 * refusal, kept in the bindings file and read back, unbinding, a torn
 * last line dropped).
 */
#include "node_auth.h"

#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "check.h"
#include "tmpdir.h"
#include "banned.h"

static char dir[TMPDIR_PATH_MAX];

static void
path_in(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		abort();
}

/* Writes text to dir/name and returns its path in out. */
static const char *
put(char *out, size_t size, const char *name, const char *text)
{
	struct errbuf eb;

	path_in(out, size, name);
	if (fsx_write_atomic(out, text, strlen(text), 0600, &eb) == -1) {
		fprintf(stderr, "%s\n", eb.msg);
		abort();
	}
	return out;
}

static void
test_bearer(void)
{
	const char *t;
	size_t len;

	CHECK(node_auth_bearer("Bearer abc", &t, &len) == 0 && len == 3 &&
	    memcmp(t, "abc", 3) == 0);
	CHECK(node_auth_bearer("  bearer\t abc  ", &t, &len) == 0 &&
	    len == 3 && memcmp(t, "abc", 3) == 0);
	CHECK(node_auth_bearer("BEARER x", &t, &len) == 0 && len == 1);
	CHECK(node_auth_bearer(NULL, &t, &len) == -1);
	CHECK(node_auth_bearer("", &t, &len) == -1);
	CHECK(node_auth_bearer("Bearer", &t, &len) == -1);
	CHECK(node_auth_bearer("Bearer   ", &t, &len) == -1);
	CHECK(node_auth_bearer("Basic abc", &t, &len) == -1);
	CHECK(node_auth_bearer("Bearerabc", &t, &len) == -1);
}

/* Whether tokens text is refused at start with msg containing want. */
static int
refused(const char *text, const char *want)
{
	char path[TMPDIR_PATH_MAX];
	struct node_auth *na;
	struct errbuf eb;

	put(path, sizeof(path), "bad", text);
	if ((na = node_auth_new(path, 0, NULL, &eb)) != NULL) {
		node_auth_free(na);
		return 0;
	}
	if (eb.code != EC_USAGE || strstr(eb.msg, want) == NULL) {
		fprintf(stderr, "got %d %s, want %s\n", eb.code, eb.msg, want);
		return 0;
	}
	return 1;
}

static void
test_file(void)
{
	char path[TMPDIR_PATH_MAX];
	struct node_auth *na;
	struct errbuf eb;

	put(path, sizeof(path), "tokens",
	    "# nodes\n\nnode-1 t1\n  node-2\tt2  \r\n#node-3 t3\nnode-4 t4");
	CHECK((na = node_auth_new(path, 0, NULL, &eb)) != NULL);
	if (na == NULL)
		return;
	CHECK(node_auth_listed(na) == 3);
	CHECK(node_auth_check(na, "node-1", "Bearer t1", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "node-1", "bearer  t1 ", 1, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "node-2", "Bearer t2", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "node-4", "Bearer t4", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	/* Another node's token, a prefix, none, a node not listed. */
	CHECK(node_auth_check(na, "node-1", "Bearer t2", 0, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "node-1", "Bearer t", 0, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "node-1", "Bearer t11", 0, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "node-1", NULL, 0, &eb) == NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "node-3", "Bearer t3", 1, &eb) ==
	    NODE_AUTH_DENY);
	/* Without bind-first nothing binds. */
	CHECK(node_auth_bound(na) == 0);

	/* Reload: a node added, one revoked; a bad file keeps the table. */
	put(path, sizeof(path), "tokens", "node-1 t1\nnode-5 t5\n");
	CHECK(node_auth_reload(na, &eb) == 0);
	CHECK(node_auth_listed(na) == 2);
	CHECK(node_auth_check(na, "node-5", "Bearer t5", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "node-2", "Bearer t2", 0, &eb) ==
	    NODE_AUTH_DENY);
	put(path, sizeof(path), "tokens", "node-1 t1\nnode-6\n");
	CHECK(node_auth_reload(na, &eb) == -1);
	CHECK(strstr(eb.msg, "tokens:2: ") != NULL);
	CHECK(node_auth_listed(na) == 2);
	CHECK(node_auth_check(na, "node-5", "Bearer t5", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	node_auth_free(na);

	CHECK(refused("node-1 t1\nnode-2\n", "bad:2: not IDENTIFIER TOKEN"));
	CHECK(refused("node-1 t1 extra\n", "bad:1: not IDENTIFIER TOKEN"));
	CHECK(refused("a/b t1\n", "bad:1: "));
	CHECK(refused(".. t1\n", "bad:1: "));
	CHECK(refused("node-1 t1\n\nnode-1 t9\n", "bad:3: node-1 listed "
	    "twice"));
	CHECK(refused("node-1 t1\nnode-2 t1\n", "bad:2: node-2 has the "
	    "token of node-1"));
	CHECK(refused("node-1 t\001x\n", "bad:1: node-1: token with"));
	CHECK(node_auth_new("/nonexistent/tokens", 0, NULL, &eb) == NULL &&
	    eb.code == EC_USAGE);
}

static void
test_dir(void)
{
	char path[TMPDIR_PATH_MAX], file[TMPDIR_PATH_MAX];
	struct node_auth *na;
	struct errbuf eb;

	path_in(path, sizeof(path), "tokens.d");
	CHECK(mkdir(path, 0700) == 0);
	put(file, sizeof(file), "tokens.d/node-1", "t1\n");
	put(file, sizeof(file), "tokens.d/node-2", "  t2");
	put(file, sizeof(file), "tokens.d/.hidden", "not a node\nat all");
	CHECK((na = node_auth_new(path, 0, NULL, &eb)) != NULL);
	if (na != NULL) {
		CHECK(node_auth_listed(na) == 2);
		CHECK(node_auth_check(na, "node-1", "Bearer t1", 0, &eb) ==
		    NODE_AUTH_ALLOW);
		CHECK(node_auth_check(na, "node-2", "Bearer t2", 0, &eb) ==
		    NODE_AUTH_ALLOW);
		CHECK(node_auth_check(na, "node-2", "Bearer t1", 0, &eb) ==
		    NODE_AUTH_DENY);
		node_auth_free(na);
	}
	put(file, sizeof(file), "tokens.d/node-3", "t3\nt4\n");
	CHECK(node_auth_new(path, 0, NULL, &eb) == NULL &&
	    eb.code == EC_USAGE && strstr(eb.msg, "node-3: more than one "
	    "line") != NULL);
	CHECK(unlink(file) == 0);
	put(file, sizeof(file), "tokens.d/node 3", "t3\n");
	CHECK(node_auth_new(path, 0, NULL, &eb) == NULL &&
	    eb.code == EC_USAGE && strstr(eb.msg, "node 3") != NULL);
	CHECK(unlink(file) == 0);
	put(file, sizeof(file), "tokens.d/node-3", "\n");
	CHECK(node_auth_new(path, 0, NULL, &eb) == NULL &&
	    strstr(eb.msg, "empty token") != NULL);
	CHECK(unlink(file) == 0);
}

static void
test_bind(void)
{
	char tokens[TMPDIR_PATH_MAX], bindings[TMPDIR_PATH_MAX];
	struct node_auth *na;
	struct errbuf eb;
	struct buf text;

	put(tokens, sizeof(tokens), "listed", "node-1 t1\n");
	path_in(bindings, sizeof(bindings), "state.bindings");
	CHECK((na = node_auth_new(tokens, 1, bindings, &eb)) != NULL);
	if (na == NULL)
		return;
	/* A listed node keeps its listed token: it never binds. */
	CHECK(node_auth_check(na, "node-1", "Bearer other", 1, &eb) ==
	    NODE_AUTH_DENY);
	/* No token: nothing to bind. */
	CHECK(node_auth_check(na, "new-1", NULL, 1, &eb) == NODE_AUTH_DENY);
	/* A fetch does not bind, a registration does. */
	CHECK(node_auth_check(na, "new-1", "Bearer b1", 0, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_bound(na) == 0);
	CHECK(node_auth_check(na, "new-1", "Bearer b1", 1, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_bound(na) == 1);
	CHECK(node_auth_check(na, "new-1", "Bearer b1", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "new-1", "Bearer b2", 1, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "new-2", "Bearer b2", 1, &eb) ==
	    NODE_AUTH_ALLOW);
	/* At the cap: no new binding, the bound ones still served. */
	node_auth_set_max_bound(na, 2);
	CHECK(node_auth_check(na, "new-3", "Bearer b3", 1, &eb) ==
	    NODE_AUTH_FULL);
	CHECK(node_auth_check(na, "new-2", "Bearer b2", 1, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_bound(na) == 2);
	node_auth_free(na);

	/* Read back; a torn last line (a crash mid-append) is dropped. */
	buf_init(&text, 1 << 20);
	CHECK(fsx_read_file(bindings, &text, &eb) == 0);
	CHECK(buf_adds(&text, "new-3 0123") == 0);
	CHECK(fsx_write_atomic(bindings, text.data, text.len, 0600,
	    &eb) == 0);
	buf_release(&text);
	CHECK((na = node_auth_new(tokens, 1, bindings, &eb)) != NULL);
	if (na == NULL)
		return;
	CHECK(node_auth_bound(na) == 2);
	CHECK(node_auth_check(na, "new-1", "Bearer b2", 0, &eb) ==
	    NODE_AUTH_DENY);
	CHECK(node_auth_check(na, "new-1", "Bearer b1", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_unbind(na, "new-1", &eb) == 1);
	CHECK(node_auth_unbind(na, "new-1", &eb) == 0);
	CHECK(node_auth_check(na, "new-1", "Bearer b9", 1, &eb) ==
	    NODE_AUTH_ALLOW);
	node_auth_free(na);
	CHECK((na = node_auth_new(tokens, 1, bindings, &eb)) != NULL);
	if (na == NULL)
		return;
	CHECK(node_auth_check(na, "new-1", "Bearer b9", 0, &eb) ==
	    NODE_AUTH_ALLOW);
	CHECK(node_auth_check(na, "new-1", "Bearer b1", 0, &eb) ==
	    NODE_AUTH_DENY);
	node_auth_free(na);

	/* A bindings file that is not one is refused. */
	put(bindings, sizeof(bindings), "state.bindings", "new-1 xyz\n");
	CHECK(node_auth_new(tokens, 1, bindings, &eb) == NULL &&
	    eb.code == EC_INVALID && strstr(eb.msg, "line 1") != NULL);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	tmpdir_make(dir, "node-auth");
	test_bearer();
	test_file();
	test_dir();
	test_bind();
	tmpdir_remove(dir);
	return check_done("test_node_auth");
}
