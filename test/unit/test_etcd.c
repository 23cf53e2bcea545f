/*
 * lib/etcd against a real one-member etcd that the test starts on free
 * loopback ports (data dir in a scratch directory) and stops by PID:
 * txn create and its failure branch, a prefix range, a watch with its
 * history, a compaction cancel, an endpoint list whose first member is
 * down, and the base64 and range_end helpers.  Skipped (no checks, exit
 * 0) when etcd is not installed.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"

#include "etcd.h"
#include "exitcode.h"

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		port = -1;
	else
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
have_etcd(void)
{
	return system("command -v etcd >/dev/null 2>&1") == 0;
}

static pid_t
etcd_start(const char *dir, int cport, int pport)
{
	char data[TMPDIR_PATH_MAX + 16], log[TMPDIR_PATH_MAX + 16];
	char curl[64], purl[64];
	char cluster[96];
	pid_t pid;
	int fd;

	snprintf(data, sizeof(data), "%s/m1", dir);
	snprintf(log, sizeof(log), "%s/m1.log", dir);
	snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pport);
	snprintf(cluster, sizeof(cluster), "m1=%s", purl);
	if ((pid = fork()) != 0)
		return pid;
	if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execlp("etcd", "etcd", "--name", "m1", "--data-dir", data,
	    "--listen-client-urls", curl, "--advertise-client-urls", curl,
	    "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
	    "--initial-cluster", cluster, "--pre-vote=true", (char *)NULL);
	_exit(127);
}

static struct json_object *
obj(void)
{
	return json_object_new_object();
}

static void
add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

/* {"key": P+suffix, "value": value} as a put request. */
static struct json_object *
put_req(struct etcd *e, const char *suffix, const char *value)
{
	struct json_object *p = obj();

	add(p, "key", etcd_key(e, suffix));
	add(p, "value", etcd_bytes(value, strlen(value)));
	return p;
}

/* A txn creating P+suffix when absent, else reading it. */
static struct json_object *
create_txn(struct etcd *e, const char *suffix, const char *value)
{
	struct json_object *t = obj(), *cmp = obj(), *cmps, *ok, *fail, *op;
	struct json_object *rr;

	add(cmp, "key", etcd_key(e, suffix));
	add(cmp, "target", json_object_new_string("CREATE"));
	add(cmp, "result", json_object_new_string("EQUAL"));
	add(cmp, "create_revision", json_object_new_string("0"));
	cmps = json_object_new_array();
	json_object_array_add(cmps, cmp);
	add(t, "compare", cmps);
	op = obj();
	add(op, "request_put", put_req(e, suffix, value));
	ok = json_object_new_array();
	json_object_array_add(ok, op);
	add(t, "success", ok);
	rr = obj();
	add(rr, "key", etcd_key(e, suffix));
	op = obj();
	add(op, "request_range", rr);
	fail = json_object_new_array();
	json_object_array_add(fail, op);
	add(t, "failure", fail);
	return t;
}

struct seen {
	int		 created;
	int		 puts;
	int		 canceled;
	uint64_t	 compact;
	int		 stop_after;
};

static int
on_result(void *arg, struct json_object *res)
{
	struct seen *s = arg;
	struct json_object *evs;

	if (etcd_bool(res, "created"))
		s->created++;
	if (etcd_bool(res, "canceled")) {
		s->canceled++;
		s->compact = etcd_int(res, "compact_revision");
		return 2;
	}
	if (json_object_object_get_ex(res, "events", &evs))
		s->puts += (int)json_object_array_length(evs);
	return s->stop_after > 0 && s->puts >= s->stop_after ? 1 : 0;
}

static struct json_object *
watch_req(struct etcd *e, uint64_t from)
{
	struct json_object *w = obj(), *c = obj();
	char rev[32];

	snprintf(rev, sizeof(rev), "%llu", (unsigned long long)from);
	add(c, "key", etcd_key(e, ""));
	add(c, "range_end", etcd_range_end(e, ""));
	add(c, "start_revision", json_object_new_string(rev));
	add(w, "create_request", c);
	return w;
}

static void
test_helpers(struct etcd *e)
{
	struct json_object *k;
	struct buf b;

	buf_init(&b, 1024);
	k = etcd_key(e, "reg/a");
	CHECK(etcd_unbytes(k, &b) == 0);
	CHECK_STR(b.data, "t/p/reg/a");
	json_object_put(k);
	buf_reset(&b);
	k = etcd_range_end(e, "");
	CHECK(etcd_unbytes(k, &b) == 0);
	CHECK_STR(b.data, "t/p0");
	json_object_put(k);
	buf_reset(&b);
	CHECK(etcd_unbytes(NULL, &b) == 0 && b.len == 0);
	k = json_object_new_string("!!!");
	CHECK(etcd_unbytes(k, &b) == -1);
	json_object_put(k);
	k = json_tokener_parse("{\"a\":\"12345678901234\",\"b\":7,\"t\":true}");
	CHECK(etcd_int(k, "a") == 12345678901234ULL);
	CHECK(etcd_int(k, "b") == 7);
	CHECK(etcd_int(k, "absent") == 0);
	CHECK(etcd_bool(k, "t") == 1 && etcd_bool(k, "absent") == 0);
	json_object_put(k);
	buf_release(&b);
}

static void
test_live(struct etcd *e, struct etcd *bad)
{
	struct json_object *t, *a = NULL, *v, *r, *kvs;
	struct errbuf eb;
	struct seen s;
	struct buf b;
	uint64_t rev1, rev2;
	int code, i;
	char crev[32];

	buf_init(&b, 1024);
	/* Create, then the same again: the failure branch reads it back. */
	t = create_txn(e, "reg/a", "{\"x\":1}");
	CHECK(etcd_call(e, "/v3/kv/txn", t, &a, &code, &eb) == 0);
	CHECK(etcd_bool(a, "succeeded") == 1);
	rev1 = etcd_revision(a);
	CHECK(rev1 > 1);
	json_object_put(a);
	a = NULL;
	CHECK(etcd_call(e, "/v3/kv/txn", t, &a, &code, &eb) == 0);
	CHECK(etcd_bool(a, "succeeded") == 0);
	CHECK(etcd_revision(a) == rev1);
	if (json_object_object_get_ex(a, "responses", &r) &&
	    (v = json_object_array_get_idx(r, 0)) != NULL &&
	    json_object_object_get_ex(v, "response_range", &v) &&
	    json_object_object_get_ex(v, "kvs", &kvs) &&
	    (v = json_object_array_get_idx(kvs, 0)) != NULL &&
	    json_object_object_get_ex(v, "value", &v))
		CHECK(etcd_unbytes(v, &b) == 0);
	CHECK_STR(b.data, "{\"x\":1}");
	json_object_put(a);
	a = NULL;
	json_object_put(t);

	/* Through a list whose first endpoint is down. */
	t = create_txn(bad, "reg/b", "{\"x\":2}");
	CHECK(etcd_call(bad, "/v3/kv/txn", t, &a, &code, &eb) == 0);
	CHECK(etcd_bool(a, "succeeded") == 1);
	rev2 = etcd_revision(a);
	CHECK(rev2 == rev1 + 1);
	json_object_put(a);
	a = NULL;
	json_object_put(t);

	/* A prefix range at the first revision sees one key, now two. */
	t = obj();
	add(t, "key", etcd_key(e, "reg/"));
	add(t, "range_end", etcd_range_end(e, "reg/"));
	CHECK(etcd_call(e, "/v3/kv/range", t, &a, &code, &eb) == 0);
	CHECK(etcd_int(a, "count") == 2);
	json_object_put(a);
	a = NULL;
	snprintf(crev, sizeof(crev), "%llu", (unsigned long long)rev1);
	add(t, "revision", json_object_new_string(crev));
	CHECK(etcd_call(e, "/v3/kv/range", t, &a, &code, &eb) == 0);
	CHECK(etcd_int(a, "count") == 1);
	json_object_put(a);
	a = NULL;
	/* A future revision is an error etcd answers (code 11). */
	json_object_object_add(t, "revision",
	    json_object_new_string("999999"));
	CHECK(etcd_call(e, "/v3/kv/range", t, &a, &code, &eb) == -1);
	CHECK(eb.code == EC_INVALID && code == ETCD_CODE_OUT_OF_RANGE);
	CHECK(a == NULL);
	json_object_put(t);

	/* The watch delivers the history, then fn's value ends it. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	t = watch_req(e, rev1);
	CHECK(etcd_watch(e, t, on_result, &s, NULL, &eb) == 1);
	CHECK(s.created == 1 && s.puts == 2 && s.canceled == 0);
	json_object_put(t);

	/* Compact past rev1: a watch from rev1 is canceled. */
	t = obj();
	snprintf(crev, sizeof(crev), "%llu", (unsigned long long)rev2);
	add(t, "revision", json_object_new_string(crev));
	add(t, "physical", json_object_new_boolean(1));
	CHECK(etcd_call(e, "/v3/kv/compaction", t, &a, &code, &eb) == 0);
	json_object_put(a);
	a = NULL;
	json_object_put(t);
	memset(&s, 0, sizeof(s));
	t = watch_req(e, rev1);
	CHECK(etcd_watch(e, t, on_result, &s, NULL, &eb) == 2);
	CHECK(s.canceled == 1 && s.compact == rev2);
	json_object_put(t);

	/* Stop ends an idle watch. */
	{
		static volatile int stop = 1;

		memset(&s, 0, sizeof(s));
		t = watch_req(e, rev2 + 1);
		i = etcd_watch(e, t, on_result, &s, &stop, &eb);
		CHECK(i == 0);
		json_object_put(t);
	}
	buf_release(&b);
}

int
main(int argc, char **argv)
{
	char dir[TMPDIR_PATH_MAX], urls[128], bad_urls[256];
	struct etcd_options o;
	struct etcd *e = NULL, *bad = NULL;
	struct json_object *t, *a;
	struct errbuf eb;
	int cport, pport, dport, i, up = 0;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	pid_t pid;

	check_init(argc, argv);
	memset(&o, 0, sizeof(o));
	o.prefix = "t/p/";
	o.endpoints = "ftp://x";
	CHECK(etcd_new(&o, &eb) == NULL && eb.code == EC_USAGE);
	o.endpoints = "http://127.0.0.1:1,";
	CHECK(etcd_new(&o, &eb) == NULL && eb.code == EC_USAGE);
	o.endpoints = "http://127.0.0.1:1";
	o.prefix = "";
	CHECK(etcd_new(&o, &eb) == NULL && eb.code == EC_USAGE);
	o.prefix = "t/p/";
	o.request_ms = 500;
	e = etcd_new(&o, &eb);
	CHECK(e != NULL);
	test_helpers(e);
	/* Nothing listens: EC_REMOTE, quickly. */
	t = obj();
	add(t, "key", etcd_key(e, "x"));
	CHECK(etcd_call(e, "/v3/kv/range", t, &a, NULL, &eb) == -1);
	CHECK(eb.code == EC_REMOTE);
	json_object_put(t);
	etcd_free(e);
	e = NULL;
	if (!have_etcd()) {
		printf("test_etcd: etcd not installed, live part skipped\n");
		return check_done("test_etcd");
	}

	tmpdir_make(dir, "etcd");
	cport = free_port();
	pport = free_port();
	dport = free_port();
	pid = etcd_start(dir, cport, pport);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%d", cport);
	snprintf(bad_urls, sizeof(bad_urls),
	    "http://127.0.0.1:%d,http://127.0.0.1:%d", dport, cport);
	o.endpoints = urls;
	o.request_ms = 2000;
	e = etcd_new(&o, &eb);
	o.endpoints = bad_urls;
	bad = etcd_new(&o, &eb);
	CHECK(e != NULL && bad != NULL);
	for (i = 0; e != NULL && i < 100 && !up; i++) {
		t = obj();
		add(t, "key", etcd_key(e, "x"));
		if (etcd_call(e, "/v3/kv/range", t, &a, NULL, &eb) == 0) {
			up = 1;
			json_object_put(a);
		} else
			nanosleep(&ts, NULL);
		json_object_put(t);
	}
	CHECK(up);
	if (up)
		test_live(e, bad);
	etcd_free(e);
	etcd_free(bad);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	tmpdir_remove(dir);
	return check_done("test_etcd");
}
