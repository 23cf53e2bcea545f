/*
 * The etcd v3 gateway client: see etcd.h.  Every request is one POST of a
 * JSON body; answers are JSON (a watch is one JSON object per line).  A
 * small pool of curl handles keeps connections open between requests and
 * lets several threads call at once.
 */
#include "etcd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <nettle/base64.h>

#include "buf.h"
#include "clock.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define ETCD_ENDPOINTS_MAX	16
#define ETCD_URL_MAX		1024
#define ETCD_POOL_MAX		8
#define ETCD_CONNECT_MS		1000L
/* A range of 10 000 registrations, or a result's chunks, fits. */
#define ETCD_ANSWER_MAX		((size_t)256 << 20)
#define ETCD_LINE_MAX		((size_t)256 << 20)
#define ETCD_USER_FILE_MAX	4096
#define ETCD_AUTH_MAX		4096
#define ETCD_KEEPIDLE_S		5L

struct etcd {
	char		*endpoints[ETCD_ENDPOINTS_MAX];
	size_t		 nendpoints;
	char		 prefix[ETCD_PREFIX_MAX];
	size_t		 prefix_len;
	char		*cacert;
	char		*user;
	char		*password;
	unsigned	 request_ms;
	pthread_mutex_t	 lock;		/* current, token, pool */
	size_t		 current;	/* the endpoint that answered last */
	char		*token;
	CURL		*pool[ETCD_POOL_MAX];
	size_t		 npool;
};

/* One request's state, shared with curl's callbacks. */
struct etcd_req {
	struct buf		 body;		/* answer, or the line so far */
	const volatile int	*stop;
	/* watch only */
	int			 (*fn)(void *, struct json_object *);
	void			*arg;
	int			 fnrc;
	int			 got;		/* a line arrived */
	int			 stream_error;
	struct errbuf		 err;
};

static size_t on_stream(char *, size_t, size_t, void *);

static pthread_once_t etcd_once = PTHREAD_ONCE_INIT;
static int etcd_global_ok;

static void
global_init(void)
{
	etcd_global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int
read_user_file(struct etcd *e, const char *path, struct errbuf *eb)
{
	struct buf b;
	char *colon, *nl;
	int rc = -1;

	buf_init(&b, ETCD_USER_FILE_MAX);
	if (fsx_read_file(path, &b, eb) == -1) {
		errbuf_set(eb, EC_USAGE, "%s", eb->msg);
		goto out;
	}
	if (b.data == NULL || (nl = strchr(b.data, '\n')) == NULL)
		nl = b.data == NULL ? NULL : b.data + b.len;
	if (nl != NULL)
		*nl = '\0';
	if (b.data == NULL || (colon = strchr(b.data, ':')) == NULL ||
	    colon == b.data) {
		errbuf_set(eb, EC_USAGE, "%s: not one line USER:PASSWORD",
		    path);
		goto out;
	}
	*colon = '\0';
	if ((e->user = strdup(b.data)) == NULL ||
	    (e->password = strdup(colon + 1)) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	return rc;
}

static int
parse_endpoints(struct etcd *e, const char *list, struct errbuf *eb)
{
	const char *p = list, *comma;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && p[len - 1] == '/')
			len--;
		if (len == 0 || len >= ETCD_URL_MAX / 2)
			return errbuf_set(eb, EC_USAGE,
			    "etcd endpoint list: empty or long entry");
		if (strncmp(p, "http://", 7) != 0 &&
		    strncmp(p, "https://", 8) != 0)
			return errbuf_set(eb, EC_USAGE,
			    "etcd endpoint %.*s: not http:// or https://",
			    (int)len, p);
		if (e->nendpoints == ETCD_ENDPOINTS_MAX)
			return errbuf_set(eb, EC_USAGE,
			    "etcd endpoint list: more than %d",
			    ETCD_ENDPOINTS_MAX);
		if ((e->endpoints[e->nendpoints] = strndup(p, len)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		e->nendpoints++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (e->nendpoints == 0)
		return errbuf_set(eb, EC_USAGE, "etcd endpoint list: empty");
	return 0;
}

struct etcd *
etcd_new(const struct etcd_options *o, struct errbuf *eb)
{
	struct etcd *e;
	size_t len;

	(void)pthread_once(&etcd_once, global_init);
	if (!etcd_global_ok) {
		errbuf_set(eb, EC_INTERNAL, "cannot start libcurl");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&e->lock, NULL) != 0) {
		free(e);
		errbuf_set(eb, EC_INTERNAL, "cannot make a mutex");
		return NULL;
	}
	e->request_ms = o->request_ms > 0 ? o->request_ms :
	    ETCD_REQUEST_MS_DEFAULT;
	if (parse_endpoints(e, o->endpoints != NULL ? o->endpoints : "",
	    eb) == -1)
		goto fail;
	len = o->prefix != NULL ? strlen(o->prefix) : 0;
	if (len == 0 || len >= sizeof(e->prefix)) {
		errbuf_set(eb, EC_USAGE, "etcd prefix: empty or too long");
		goto fail;
	}
	memcpy(e->prefix, o->prefix, len + 1);
	e->prefix_len = len;
	if (o->cacert != NULL && (e->cacert = strdup(o->cacert)) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto fail;
	}
	if (o->user_file != NULL && read_user_file(e, o->user_file, eb) == -1)
		goto fail;
	return e;
fail:
	etcd_free(e);
	return NULL;
}

void
etcd_free(struct etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	for (i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->cacert);
	free(e->user);
	if (e->password != NULL) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->token);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

const char *
etcd_prefix(const struct etcd *e)
{
	return e->prefix;
}

static CURL *
handle_get(struct etcd *e)
{
	CURL *h = NULL;

	pthread_mutex_lock(&e->lock);
	if (e->npool > 0)
		h = e->pool[--e->npool];
	pthread_mutex_unlock(&e->lock);
	return h != NULL ? h : curl_easy_init();
}

static void
handle_put(struct etcd *e, CURL *h)
{
	if (h == NULL)
		return;
	curl_easy_reset(h);	/* keeps its connections */
	pthread_mutex_lock(&e->lock);
	if (e->npool < ETCD_POOL_MAX) {
		e->pool[e->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&e->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

static size_t
endpoint_first(struct etcd *e)
{
	size_t i;

	pthread_mutex_lock(&e->lock);
	i = e->current;
	pthread_mutex_unlock(&e->lock);
	return i;
}

static void
endpoint_set(struct etcd *e, size_t i)
{
	pthread_mutex_lock(&e->lock);
	e->current = i;
	pthread_mutex_unlock(&e->lock);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_req *r = arg;

	(void)size;
	if (buf_add(&r->body, data, nmemb) == -1)
		return 0;
	return nmemb;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct etcd_req *r = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return r->stop != NULL && *r->stop ? 1 : 0;
}

static struct json_object *
parse_text(const char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (s == NULL || len == 0 || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * One POST of body to endpoint i.  Returns the curl code; *status is the
 * HTTP status when it is CURLE_OK.  auth: send the token.
 */
static CURLcode
post(struct etcd *e, size_t i, const char *path, const char *body,
    long timeout_ms, int auth, int watch, struct etcd_req *r, long *status,
    char *errmsg)
{
	char url[ETCD_URL_MAX], hdr[ETCD_AUTH_MAX];
	struct curl_slist *hs = NULL, *t;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	CURL *h;
	int n;

	*status = 0;
	errmsg[0] = '\0';
	n = snprintf(url, sizeof(url), "%s%s", e->endpoints[i], path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return CURLE_URL_MALFORMAT;
	if ((h = handle_get(e)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if ((t = curl_slist_append(hs, "Content-Type: application/json")) ==
	    NULL)
		goto out;
	hs = t;
	if ((t = curl_slist_append(hs, "Expect:")) == NULL)
		goto out;
	hs = t;
	if (watch) {
		if ((t = curl_slist_append(hs,
		    "Grpc-Metadata-Hasleader: true")) == NULL)
			goto out;
		hs = t;
	}
	if (auth) {
		pthread_mutex_lock(&e->lock);
		n = e->token == NULL ? -1 : snprintf(hdr, sizeof(hdr),
		    "Authorization: %s", e->token);
		pthread_mutex_unlock(&e->lock);
		if (n >= 0 && (size_t)n < sizeof(hdr)) {
			if ((t = curl_slist_append(hs, hdr)) == NULL)
				goto out;
			hs = t;
		}
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errmsg);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cfgsync/" CFGSYNC_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
	    watch ? on_stream : on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (r->stop != NULL) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
	}
	if (watch || timeout_ms == 0) {
		curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, ETCD_KEEPIDLE_S);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, ETCD_KEEPIDLE_S);
	}
	if (e->cacert != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->cacert);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(hs);
	handle_put(e, h);
	explicit_bzero(hdr, sizeof(hdr));
	return rc;
}

/* The message and code of an error answer; msg borrowed from it. */
static void
answer_error(struct json_object *a, const char **msg, int *code)
{
	struct json_object *v, *in;

	*msg = "unknown error";
	*code = 0;
	if (a == NULL)
		return;
	in = a;
	/* Stream errors nest: {"error":{"grpc_code":14,"message":...}}. */
	if (json_object_object_get_ex(a, "error", &v) &&
	    json_object_is_type(v, json_type_object))
		in = v;
	if (json_object_object_get_ex(in, "message", &v) &&
	    json_object_is_type(v, json_type_string))
		*msg = json_object_get_string(v);
	else if (json_object_object_get_ex(in, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		*msg = json_object_get_string(v);
	if (json_object_object_get_ex(in, "code", &v) ||
	    json_object_object_get_ex(in, "grpc_code", &v))
		*code = json_object_get_int(v);
}

static int
auth_error(const char *msg)
{
	return strstr(msg, "invalid auth token") != NULL ||
	    strstr(msg, "user name is empty") != NULL;
}

/* Asks endpoint i for a token.  0, or -1 with eb set. */
static int
authenticate(struct etcd *e, size_t i, struct errbuf *eb)
{
	struct json_object *req = NULL, *a = NULL, *v;
	struct etcd_req r;
	char errmsg[CURL_ERROR_SIZE];
	const char *msg;
	char *tok;
	long status;
	int code, rc = -1;
	CURLcode crc;

	memset(&r, 0, sizeof(r));
	buf_init(&r.body, ETCD_ANSWER_MAX);
	if ((req = json_object_new_object()) == NULL ||
	    json_object_object_add(req, "name",
	    json_object_new_string(e->user)) < 0 ||
	    json_object_object_add(req, "password",
	    json_object_new_string(e->password)) < 0) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	crc = post(e, i, "/v3/auth/authenticate",
	    json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
	    (long)e->request_ms, 0, 0, &r, &status, errmsg);
	if (crc != CURLE_OK) {
		errbuf_set(eb, EC_REMOTE, "etcd %s: authenticate: %s",
		    e->endpoints[i], errmsg[0] != '\0' ? errmsg :
		    curl_easy_strerror(crc));
		goto out;
	}
	a = parse_text(r.body.data, r.body.len);
	if (status != 200 || a == NULL ||
	    !json_object_object_get_ex(a, "token", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		answer_error(a, &msg, &code);
		errbuf_set(eb, EC_INVALID, "etcd authenticate as %s: %s",
		    e->user, msg);
		goto out;
	}
	if ((tok = strdup(json_object_get_string(v))) == NULL) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&e->lock);
	free(e->token);
	e->token = tok;
	pthread_mutex_unlock(&e->lock);
	rc = 0;
out:
	json_object_put(a);
	if (req != NULL) {
		/* The password is in the serialized copy too. */
		json_object_put(req);
	}
	if (r.body.data != NULL)
		explicit_bzero(r.body.data, r.body.len);
	buf_release(&r.body);
	return rc;
}

static int
have_token(struct etcd *e)
{
	int have;

	pthread_mutex_lock(&e->lock);
	have = e->token != NULL;
	pthread_mutex_unlock(&e->lock);
	return have;
}

static int
call(struct etcd *e, const char *path, struct json_object *body,
    struct json_object **answer, int *code, long timeout_ms,
    uint64_t deadline, const volatile int *stop, struct errbuf *eb)
{
	struct etcd_req r;
	struct json_object *a = NULL;
	char errmsg[CURL_ERROR_SIZE];
	struct errbuf last;
	const char *text, *msg;
	size_t first, i, k;
	long status, try_ms;
	uint64_t now;
	int c, authed = 0, rc = -1;
	CURLcode crc;

	*answer = NULL;
	if (code != NULL)
		*code = 0;
	if ((text = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	memset(&r, 0, sizeof(r));
	r.stop = stop;
	buf_init(&r.body, ETCD_ANSWER_MAX);
	errbuf_set(&last, EC_REMOTE, "no endpoint");
	first = endpoint_first(e);
	for (k = 0; k < e->nendpoints; k++) {
		i = (first + k) % e->nendpoints;
		if (stop != NULL && *stop) {
			errbuf_set(&last, EC_REMOTE, "stopped");
			break;
		}
		try_ms = timeout_ms;
		if (deadline != 0) {
			if ((now = clock_ms()) >= deadline) {
				if (k == 0)
					errbuf_set(&last, EC_REMOTE,
					    "no time left");
				break;
			}
			if (try_ms == 0 || deadline - now < (uint64_t)try_ms)
				try_ms = (long)(deadline - now);
		}
again:
		if (e->user != NULL && !have_token(e) &&
		    authenticate(e, i, eb) == -1) {
			if (eb->code != EC_REMOTE)
				goto out;
			errbuf_set(&last, EC_REMOTE, "%s", eb->msg);
			continue;
		}
		buf_reset(&r.body);
		crc = post(e, i, path, text, try_ms, e->user != NULL, 0,
		    &r, &status, errmsg);
		if (crc != CURLE_OK) {
			errbuf_set(&last, EC_REMOTE, "%s: %s", e->endpoints[i],
			    errmsg[0] != '\0' ? errmsg :
			    curl_easy_strerror(crc));
			continue;
		}
		json_object_put(a);
		a = parse_text(r.body.data, r.body.len);
		if (status == 200 && a != NULL &&
		    json_object_is_type(a, json_type_object)) {
			endpoint_set(e, i);
			*answer = a;
			a = NULL;
			rc = 0;
			goto out;
		}
		answer_error(a, &msg, &c);
		if (a == NULL)
			errbuf_set(&last, EC_REMOTE, "%s: HTTP %ld",
			    e->endpoints[i], status);
		if (c == ETCD_CODE_UNAVAILABLE || status == 503 ||
		    a == NULL) {
			if (a != NULL)
				errbuf_set(&last, EC_REMOTE, "%s: %s",
				    e->endpoints[i], msg);
			continue;
		}
		if (e->user != NULL && !authed && auth_error(msg)) {
			authed = 1;
			if (authenticate(e, i, eb) == -1)
				goto out;
			goto again;
		}
		if (code != NULL)
			*code = c;
		errbuf_set(eb, EC_INVALID, "etcd %s: %s", path + 1, msg);
		goto out;
	}
	errbuf_set(eb, EC_REMOTE, "etcd unreachable: %s", last.msg);
out:
	json_object_put(a);
	buf_release(&r.body);
	return rc;
}

int
etcd_call(struct etcd *e, const char *path, struct json_object *body,
    struct json_object **answer, int *code, struct errbuf *eb)
{
	return call(e, path, body, answer, code, (long)e->request_ms, 0, NULL,
	    eb);
}

int
etcd_call_until(struct etcd *e, const char *path, struct json_object *body,
    struct json_object **answer, int *code, uint64_t deadline,
    struct errbuf *eb)
{
	return call(e, path, body, answer, code, (long)e->request_ms,
	    deadline, NULL, eb);
}

int
etcd_call_long(struct etcd *e, const char *path, struct json_object *body,
    struct json_object **answer, const volatile int *stop, struct errbuf *eb)
{
	return call(e, path, body, answer, NULL, 0, 0, stop, eb);
}

/* Hands each complete line of the stream to the watcher. */
static size_t
on_stream(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_req *r = arg;
	struct json_object *o, *res;
	const char *msg;
	char *nl;
	size_t off = 0, len;
	int code;

	(void)size;
	if (buf_add(&r->body, data, nmemb) == -1) {
		errbuf_set(&r->err, EC_REMOTE,
		    "watch message over %zu bytes", r->body.max);
		r->stream_error = 1;
		return 0;
	}
	while (off < r->body.len &&
	    (nl = memchr(r->body.data + off, '\n', r->body.len - off)) !=
	    NULL) {
		len = (size_t)(nl - (r->body.data + off));
		o = len > 0 ? parse_text(r->body.data + off, len) : NULL;
		off += len + 1;
		if (len == 0)
			continue;
		r->got = 1;
		if (o == NULL) {
			errbuf_set(&r->err, EC_REMOTE,
			    "watch: not JSON");
			r->stream_error = 1;
			return 0;
		}
		if (json_object_object_get_ex(o, "result", &res)) {
			r->fnrc = r->fn(r->arg, res);
			json_object_put(o);
			if (r->fnrc != 0)
				return 0;
			continue;
		}
		answer_error(o, &msg, &code);
		errbuf_set(&r->err, EC_REMOTE, "watch: %s", msg);
		json_object_put(o);
		r->stream_error = 1;
		return 0;
	}
	if (off > 0) {
		memmove(r->body.data, r->body.data + off, r->body.len - off);
		r->body.len -= off;
		r->body.data[r->body.len] = '\0';
	}
	return nmemb;
}

int
etcd_watch(struct etcd *e, struct json_object *body,
    int (*fn)(void *, struct json_object *), void *arg,
    const volatile int *stop, struct errbuf *eb)
{
	struct etcd_req r;
	char errmsg[CURL_ERROR_SIZE];
	struct errbuf last;
	const char *text;
	size_t first, i, k;
	long status;
	int authed = 0, rc = -1;
	CURLcode crc;

	if ((text = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	memset(&r, 0, sizeof(r));
	r.stop = stop;
	r.fn = fn;
	r.arg = arg;
	buf_init(&r.body, ETCD_LINE_MAX);
	errbuf_set(&last, EC_REMOTE, "no endpoint");
	first = endpoint_first(e);
	for (k = 0; k < e->nendpoints; k++) {
		i = (first + k) % e->nendpoints;
again:
		if (stop != NULL && *stop) {
			rc = 0;
			goto out;
		}
		if (e->user != NULL && !have_token(e) &&
		    authenticate(e, i, eb) == -1) {
			if (eb->code != EC_REMOTE)
				goto out;
			errbuf_set(&last, EC_REMOTE, "%s", eb->msg);
			continue;
		}
		buf_reset(&r.body);
		r.got = r.stream_error = r.fnrc = 0;
		r.err.msg[0] = '\0';
		crc = post(e, i, "/v3/watch", text, 0, e->user != NULL, 1, &r,
		    &status, errmsg);
		if (r.fnrc != 0) {
			rc = r.fnrc;
			goto out;
		}
		if (stop != NULL && *stop) {
			rc = 0;
			goto out;
		}
		if (r.stream_error) {
			if (e->user != NULL && !authed &&
			    auth_error(r.err.msg)) {
				authed = 1;
				if (authenticate(e, i, eb) == -1)
					goto out;
				goto again;
			}
			errbuf_set(&last, EC_REMOTE, "%s: %s",
			    e->endpoints[i], r.err.msg);
			/* Another member may have a leader. */
			endpoint_set(e, (i + 1) % e->nendpoints);
			if (r.got)
				break;
			continue;
		}
		if (crc == CURLE_OK && status == 200) {
			rc = 0;		/* the stream ended */
			goto out;
		}
		if (crc == CURLE_OK)
			errbuf_set(&last, EC_REMOTE, "%s: watch: HTTP %ld",
			    e->endpoints[i], status);
		else
			errbuf_set(&last, EC_REMOTE, "%s: %s",
			    e->endpoints[i], errmsg[0] != '\0' ? errmsg :
			    curl_easy_strerror(crc));
		endpoint_set(e, (i + 1) % e->nendpoints);
		if (r.got)
			break;
	}
	errbuf_set(eb, EC_REMOTE, "etcd watch: %s", last.msg);
out:
	buf_release(&r.body);
	return rc;
}

uint64_t
etcd_int(struct json_object *o, const char *member)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, member, &v) ||
	    v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoull(json_object_get_string(v), NULL, 10);
	if (json_object_is_type(v, json_type_int))
		return (uint64_t)json_object_get_int64(v);
	return 0;
}

int
etcd_bool(struct json_object *o, const char *member)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, member, &v) ||
	    v == NULL)
		return 0;
	return json_object_get_boolean(v) ? 1 : 0;
}

uint64_t
etcd_revision(struct json_object *answer)
{
	struct json_object *h;

	if (answer == NULL ||
	    !json_object_object_get_ex(answer, "header", &h))
		return 0;
	return etcd_int(h, "revision");
}

struct json_object *
etcd_bytes(const void *p, size_t len)
{
	struct json_object *o;
	char *s;
	size_t n;

	if (len > ((size_t)1 << 30))
		return NULL;
	n = BASE64_ENCODE_RAW_LENGTH(len);
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	base64_encode_raw(s, len, p);
	s[n] = '\0';
	o = json_object_new_string_len(s, (int)n);
	free(s);
	return o;
}

int
etcd_unbytes(struct json_object *o, struct buf *b)
{
	struct base64_decode_ctx ctx;
	const char *s;
	size_t len, out;
	uint8_t *d;
	int rc;

	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_string))
		return -1;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (len == 0)
		return 0;
	if ((d = malloc(BASE64_DECODE_LENGTH(len))) == NULL)
		return -1;
	base64_decode_init(&ctx);
	out = BASE64_DECODE_LENGTH(len);
	rc = base64_decode_update(&ctx, &out, d, len, s) &&
	    base64_decode_final(&ctx) ? buf_add(b, d, out) : -1;
	free(d);
	return rc;
}

int
etcd_add(struct json_object *o, const char *name, struct json_object *v)
{
	if (o == NULL || v == NULL || json_object_object_add(o, name, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int
etcd_push(struct json_object *a, struct json_object *v)
{
	if (a == NULL || v == NULL || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

struct json_object *
etcd_compare(struct json_object *key, const char *target, const char *result,
    const char *member, struct json_object *value)
{
	struct json_object *c = json_object_new_object();

	if (etcd_add(c, "key", key) == -1 ||
	    etcd_add(c, "target", json_object_new_string(target)) == -1 ||
	    etcd_add(c, "result", json_object_new_string(result)) == -1) {
		json_object_put(c);
		json_object_put(value);
		return NULL;
	}
	if (etcd_add(c, member, value) == -1) {
		json_object_put(c);
		return NULL;
	}
	return c;
}

struct json_object *
etcd_key(const struct etcd *e, const char *suffix)
{
	struct buf b;
	struct json_object *o = NULL;

	buf_init(&b, ETCD_PREFIX_MAX * 4 + 8192);
	if (buf_add(&b, e->prefix, e->prefix_len) == 0 &&
	    buf_adds(&b, suffix) == 0)
		o = etcd_bytes(b.data, b.len);
	buf_release(&b);
	return o;
}

struct json_object *
etcd_range_end(const struct etcd *e, const char *suffix)
{
	struct buf b;
	struct json_object *o = NULL;
	unsigned char *u;

	buf_init(&b, ETCD_PREFIX_MAX * 4 + 8192);
	if (buf_add(&b, e->prefix, e->prefix_len) == -1 ||
	    buf_adds(&b, suffix) == -1)
		goto out;
	u = (unsigned char *)b.data;
	while (b.len > 0 && u[b.len - 1] == 0xff)
		b.len--;
	if (b.len == 0)
		o = etcd_bytes("", 1);	/* "\0": every key */
	else {
		u[b.len - 1]++;
		o = etcd_bytes(b.data, b.len);
	}
out:
	buf_release(&b);
	return o;
}
