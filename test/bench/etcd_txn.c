/*
 * etcd_txn: registrations straight into etcd through its v3 JSON gateway,
 * in batches, as `cfgsync serve-exec --etcd` commits them, with nothing in
 * front (no HTTP server, no mirror, no answer to wait for): the reference
 * for cluster.sh's registrations/s, measured in the same invocation.
 *
 * Each of -j committers (a thread, one keep-alive connection) takes its
 * share of -n new identifiers, -B at a time, and commits each batch in one
 * txn: compares VALUE(P/seq) == the counter it last saw (CREATE(P/seq) ==
 * 0 when it has seen none) and CREATE(P/reg/ID) == 0 per identifier;
 * success puts each value (a snapshot element with -b bytes of metadata,
 * the size serve-exec stores for bootstrap.c's registrations), P/seq and
 * P/gen; failure ranges P/seq, whose value is the counter to number the
 * batch from, and the batch is sent again at once.  With -w W, W watch
 * streams on the prefix (threads that read and drop what they get) run
 * meanwhile, as the mirrors of W instances do.  Prints one line:
 * n= committers= batch= watchers= secs= rate= txns= conflicts=.
 *
 * Usage: etcd_txn [-b BYTES] [-B BATCH] [-j COMMITTERS] [-n N]
 *                 [-P PREFIX] [-t SECONDS] [-w WATCHERS] URL
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <nettle/base64.h>

#include "banned.h"

#define COMMITTERS_MAX	16
#define BATCH_MAX	120	/* etcd's default cap: 128 operations */
#define PAD_MAX		2048
#define ITEM_MAX	(4 * PAD_MAX + 1024)	/* one compare and one put */

struct shared {
	const char	*url;		/* .../v3/kv/txn */
	char		 watch_url[1024], watch_body[2048];
	volatile int	 stop;		/* the watchers end */
	const char	*prefix;
	unsigned long	 n, batch, pad;
	double		 deadline;
};

struct committer {
	struct shared	*sh;
	pthread_t	 th;
	unsigned	 index;
	unsigned long	 first, count;	/* identifiers first..first+count */
	unsigned long	 txns, conflicts;
	int		 failed;
	char		*body;		/* the request being built */
	size_t		 len, cap;
	char		*answer;
	size_t		 alen, acap;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "etcd_txn: %s\n", what);
	exit(1);
}

static void
add(struct committer *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		if ((c->body = realloc(c->body, c->cap)) == NULL)
			die("out of memory");
	}
	memcpy(c->body + c->len, s, n);
	c->len += n;
	c->body[c->len] = '\0';
}

static void
adds(struct committer *c, const char *s)
{
	add(c, s, strlen(s));
}

/* s as base64, in double quotes. */
static void
add64(struct committer *c, const char *s, size_t n)
{
	char out[BASE64_ENCODE_RAW_LENGTH(ITEM_MAX)];

	if (n > ITEM_MAX)
		die("value too large");
	base64_encode_raw(out, n, (const uint8_t *)s);
	add(c, "\"", 1);
	add(c, out, BASE64_ENCODE_RAW_LENGTH(n));
	add(c, "\"", 1);
}

/* {"key":base64(prefix suffix)} members, without the braces. */
static void
addkey(struct committer *c, const char *suffix)
{
	char key[1024];
	int k;

	k = snprintf(key, sizeof(key), "%s%s", c->sh->prefix, suffix);
	if (k < 0 || (size_t)k >= sizeof(key))
		die("key too long");
	adds(c, "\"key\":");
	add64(c, key, (size_t)k);
}

/* The txn for identifiers first..first+n, numbered from seq + 1. */
static void
build(struct committer *c, unsigned long first, unsigned long n,
    unsigned long seq)
{
	char id[64], item[ITEM_MAX], pad[PAD_MAX + 1];
	unsigned long i;
	int k;

	memset(pad, 'x', c->sh->pad);
	pad[c->sh->pad] = '\0';
	c->len = 0;
	adds(c, "{\"compare\":[");
	if (seq == 0) {
		adds(c, "{");
		addkey(c, "seq");
		adds(c, ",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		    "\"create_revision\":\"0\"}");
	} else {
		k = snprintf(item, sizeof(item), "%lu", seq);
		adds(c, "{");
		addkey(c, "seq");
		adds(c, ",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":");
		add64(c, item, (size_t)k);
		adds(c, "}");
	}
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "reg/ref-%u-%lu", c->index,
		    first + i);
		adds(c, ",{");
		addkey(c, id);
		adds(c, ",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		    "\"create_revision\":\"0\"}");
	}
	adds(c, "],\"success\":[");
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "reg/ref-%u-%lu", c->index,
		    first + i);
		k = snprintf(item, sizeof(item), "{\"identifier\":\"%s\","
		    "\"ip\":\"127.0.0.1\",\"metadata\":{\"pad\":\"%s\"},"
		    "\"seq\":%lu,\"registered_at\":\"2026-12-01T00:00:00Z\"}",
		    id + 4, pad, seq + 1 + i);
		if (k < 0 || (size_t)k >= sizeof(item))
			die("value too long");
		adds(c, i == 0 ? "{\"request_put\":{" : ",{\"request_put\":{");
		addkey(c, id);
		adds(c, ",\"value\":");
		add64(c, item, (size_t)k);
		adds(c, "}}");
	}
	k = snprintf(item, sizeof(item), "%lu", seq + n);
	adds(c, ",{\"request_put\":{");
	addkey(c, "seq");
	adds(c, ",\"value\":");
	add64(c, item, (size_t)k);
	adds(c, "}},{\"request_put\":{");
	addkey(c, "gen");
	adds(c, ",\"value\":\"\"}}],\"failure\":[{\"request_range\":{");
	addkey(c, "seq");
	adds(c, "}}]}");
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct committer *c = arg;
	size_t n = size * nmemb;

	if (c->alen + n + 1 > c->acap) {
		c->acap = (c->alen + n + 1) * 2;
		if ((c->answer = realloc(c->answer, c->acap)) == NULL)
			return 0;
	}
	memcpy(c->answer + c->alen, p, n);
	c->alen += n;
	c->answer[c->alen] = '\0';
	return n;
}

/*
 * The answer's outcome: 1 committed, 0 refused (*seq: the counter now),
 * -1 an error.
 */
static int
outcome(const char *answer, unsigned long *seq)
{
	struct json_object *a, *v, *kv;
	struct base64_decode_ctx d;
	char num[32];
	size_t n = sizeof(num) - 1;
	const char *s;
	int rc = -1;

	if ((a = json_tokener_parse(answer)) == NULL)
		return -1;
	if (json_object_object_get_ex(a, "succeeded", &v) &&
	    json_object_get_boolean(v))
		rc = 1;
	else if (json_object_object_get_ex(a, "responses", &v) &&
	    (v = json_object_array_get_idx(v, 0)) != NULL &&
	    json_object_object_get_ex(v, "response_range", &v) &&
	    json_object_object_get_ex(v, "kvs", &v) &&
	    (kv = json_object_array_get_idx(v, 0)) != NULL &&
	    json_object_object_get_ex(kv, "value", &v) &&
	    (s = json_object_get_string(v)) != NULL &&
	    strlen(s) <= 40) {
		base64_decode_init(&d);
		if (base64_decode_update(&d, &n, (uint8_t *)num, strlen(s), s) &&
		    base64_decode_final(&d)) {
			num[n] = '\0';
			*seq = strtoul(num, NULL, 10);
			rc = 0;
		}
	}
	json_object_put(a);
	return rc;
}

static void *
run(void *arg)
{
	struct committer *c = arg;
	struct shared *sh = c->sh;
	struct curl_slist *hs;
	unsigned long done = 0, k, seq = 0;
	CURL *h;
	long status;
	int rc;

	if ((h = curl_easy_init()) == NULL)
		die("curl_easy_init");
	hs = curl_slist_append(NULL, "Content-Type: application/json");
	hs = curl_slist_append(hs, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, sh->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	while (done < c->count && now() < sh->deadline) {
		k = c->count - done < sh->batch ? c->count - done : sh->batch;
		build(c, c->first + done, k, seq);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)c->len);
		c->alen = 0;
		c->txns++;
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) !=
		    CURLE_OK || status != 200 || c->answer == NULL ||
		    (rc = outcome(c->answer, &seq)) == -1) {
			c->failed = 1;
			break;
		}
		if (rc == 1) {
			done += k;
			seq += k;
		} else
			c->conflicts++;
	}
	if (done < c->count)
		c->failed = 1;
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	return NULL;
}

static size_t
drop(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	return ((struct shared *)arg)->stop ? 0 : size * nmemb;
}

static int
watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return ((struct shared *)arg)->stop;
}

/* One watch stream on the prefix until sh->stop. */
static void *
watch_run(void *arg)
{
	struct shared *sh = arg;
	struct curl_slist *hs;
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		die("curl_easy_init");
	hs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, sh->watch_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, sh->watch_body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, drop);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sh);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, sh);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 600000L);
	(void)curl_easy_perform(h);
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	return NULL;
}

/* The watch request for every key under the prefix. */
static void
watch_setup(struct shared *sh, const char *base)
{
	char key[BASE64_ENCODE_RAW_LENGTH(512) + 1];
	char end[BASE64_ENCODE_RAW_LENGTH(512) + 1], last[512];
	size_t n = strlen(sh->prefix);
	int k;

	if (n == 0 || n >= sizeof(last))
		die("prefix too long");
	memcpy(last, sh->prefix, n);
	last[n - 1]++;
	base64_encode_raw(key, n, (const uint8_t *)sh->prefix);
	key[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	base64_encode_raw(end, n, (const uint8_t *)last);
	end[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	k = snprintf(sh->watch_url, sizeof(sh->watch_url), "%s/v3/watch",
	    base);
	if (k < 0 || (size_t)k >= sizeof(sh->watch_url))
		die("URL too long");
	k = snprintf(sh->watch_body, sizeof(sh->watch_body),
	    "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}",
	    key, end);
	if (k < 0 || (size_t)k >= sizeof(sh->watch_body))
		die("prefix too long");
}

static unsigned long
number(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "etcd_txn: %s: not a number in %lu..%lu\n", s,
		    lo, hi);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: etcd_txn [-b BYTES] [-B BATCH] "
	    "[-j COMMITTERS] [-n N] [-P PREFIX] [-t SECONDS] [-w WATCHERS] "
	    "URL\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct committer c[COMMITTERS_MAX];
	pthread_t w[COMMITTERS_MAX];
	struct shared sh;
	unsigned long j = 1, i, txns = 0, conflicts = 0, share, nw = 0;
	char url[1024];
	double t0, t1, secs = 60;
	int ch, failed = 0, k;

	memset(&sh, 0, sizeof(sh));
	sh.n = 9000;
	sh.batch = 100;
	sh.pad = 100;
	sh.prefix = "cfgsync/reference/";
	while ((ch = getopt(argc, argv, "b:B:j:n:P:t:w:")) != -1) {
		switch (ch) {
		case 'b':
			sh.pad = number(optarg, 0, PAD_MAX);
			break;
		case 'B':
			sh.batch = number(optarg, 1, BATCH_MAX);
			break;
		case 'j':
			j = number(optarg, 1, COMMITTERS_MAX);
			break;
		case 'n':
			sh.n = number(optarg, 1, 10000000);
			break;
		case 'P':
			sh.prefix = optarg;
			break;
		case 't':
			secs = (double)number(optarg, 1, 3600);
			break;
		case 'w':
			nw = number(optarg, 0, COMMITTERS_MAX);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	k = snprintf(url, sizeof(url), "%s/v3/kv/txn", argv[optind]);
	if (k < 0 || (size_t)k >= sizeof(url))
		die("URL too long");
	sh.url = url;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	watch_setup(&sh, argv[optind]);
	for (i = 0; i < nw; i++)
		if (pthread_create(&w[i], NULL, watch_run, &sh) != 0)
			die("pthread_create");
	if (nw > 0)
		usleep(200000);		/* the streams are open */
	memset(c, 0, sizeof(c));
	share = sh.n / j;
	t0 = now();
	sh.deadline = t0 + secs;
	for (i = 0; i < j; i++) {
		c[i].sh = &sh;
		c[i].index = (unsigned)i;
		c[i].count = i + 1 < j ? share : sh.n - share * (j - 1);
		if (pthread_create(&c[i].th, NULL, run, &c[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < j; i++) {
		pthread_join(c[i].th, NULL);
		txns += c[i].txns;
		conflicts += c[i].conflicts;
		failed |= c[i].failed;
		free(c[i].body);
		free(c[i].answer);
	}
	t1 = now();
	sh.stop = 1;
	for (i = 0; i < nw; i++)
		pthread_join(w[i], NULL);
	printf("n=%lu committers=%lu batch=%lu watchers=%lu secs=%.3f "
	    "rate=%.0f txns=%lu conflicts=%lu%s\n", sh.n, j, sh.batch, nw,
	    t1 - t0, sh.n / (t1 - t0), txns, conflicts,
	    failed ? " failed=1" : "");
	curl_global_cleanup();
	return failed;
}
