/*
 * cfgsync serve-exec: registration-backed serving.  Nodes register; a
 * worker thread runs the materializer on a snapshot of the registration
 * set when the set changes (bursts coalesced over --debounce) and turns a
 * ready result into a payload_index, which POST /node answers from.  When
 * a run is due, which results are kept and which result a request may be
 * answered from are decided in lib/exec_sched.c; this file holds the
 * options, the handlers and the threads' lifecycle.
 *
 * Every result carries the generation of the snapshot it was computed
 * from, and a node is served from it only when that snapshot holds the
 * node's registration as it is now and every change made before its
 * request came (exec_sched_answer), so no node gets files computed
 * without its own registration or one it saw acknowledged.  Polls only
 * read: they never start a process.  Long polls park until the worker
 * installs a result (http_server_wake) or their wait runs out.
 *
 * Threads
 *   main	parses the options, starts the HTTP server and the worker,
 *		waits for SIGINT or SIGTERM (cli_server_wait), then sets
 *		se->cancel, stops and joins the worker, stops the server
 *		and frees everything.
 *   handlers	libmicrohttpd's thread pool runs on_register, on_node,
 *		on_list, on_delete and metrics().  They own nothing
 *		between calls.
 *   deadline	lib/http_server.c's thread: resumes a parked request whose
 *		?wait ran out (req->timed_out), so its handler answers 425.
 *   worker	the only thread that runs the materializer (one run at a
 *		time, one child process group) and the only one that
 *		touches se->cache.  It installs results into se->result.
 *		With --etcd it runs only while this instance leads, ends
 *		a run by publishing it, and installs what was published
 *		for the current set, or the newest published while that
 *		has none (sync_result), here as everywhere.
 *   cluster	with --etcd, lib/cluster_etcd.c's keepalive, campaign and
 *		result-watch threads: leadership() and result_event()
 *		note what changed under se->lock and wake the worker; the
 *		store's watch thread calls set_changed() likewise.
 *
 * Locks.  Each is taken alone, but for one nesting: overrides_rerender
 * holds se->override_lock (writing) while it reads se->result under
 * se->result_lock, so that is the order; nothing takes them the other
 * way.  No code calls, under one of them, a module that takes a lock
 * (only exec_sched's pure functions, clock_ms and buf_addf run under
 * se->lock), but for cluster_leading, which the worker and leadership()
 * call under se->lock: the cluster's own lock nests inside it, and the
 * cluster never calls back while holding it.
 *   se->lock		mutex, with se->cond: se->sched, se->stopping,
 *			se->run_seconds, se->reused.  Handlers note changes
 *			(changed()) and signal; the worker waits on it.
 *   se->override_lock	rwlock: se->overrides and their index.  on_node
 *			and on_replace look up and take a reference on an
 *			answer; on_replace, override_remove and
 *			overrides_rerender (after each install) write.
 *   se->result_lock	rwlock: se->result.  on_node reads it just long
 *			enough to copy the result and take a reference on
 *			its index, metrics() to read its generation;
 *			install() (the worker) writes it.
 *   registry lock	inside lib/registry.c, taken by each registry_*
 *			call alone.  A change moves the generation under it;
 *			the handler then reads the generation and notes it
 *			in se->sched, which counts changes by generation,
 *			so a worker that ran in between (and saw the change
 *			in its snapshot) finds the late notice covered.
 *   server lock	inside lib/http_server.c (parked requests, wake_seq).
 *   se->cancel (set by main, read by the running materializer) and
 *   se->runs are atomics, read and written only with __atomic builtins.
 *
 * How a parked request is resumed: on_node answers 425 with
 * resp->suspend set.  The server noted its wake sequence before the
 * handler ran; it parks the connection only when no wake came since, so
 * a result installed while the handler ran is never missed.  install()
 * swaps the result first and calls http_server_wake() after, which
 * resumes every parked request: its handler runs again and sees the new
 * result.  The deadline thread resumes one whose wait ran out
 * (req->timed_out: the handler's 425 is then sent), http_server_stop
 * all that are left (req->stopping).
 *
 * Who releases what: on_node takes the read lock and releases it before
 * it returns, on every path.  A 200 answer hands the response one
 * reference on the ready index (struct served) it borrows the body from;
 * the server drops it through resp->done once the body is queued (a skip
 * would leak one index, never block the worker).  The current result
 * and each cache slot hold a reference of their own; the last drop frees
 * the index, whichever thread it runs on.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "artifacts.h"
#include "buf.h"
#include "clock.h"
#include "bundle.h"
#include "cgroup.h"
#include "cli.h"
#include "cli_server.h"
#include "cluster.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "etcd.h"
#include "exec_sched.h"
#include "exitcode.h"
#include "fsx.h"
#include "http_server.h"
#include "materializer.h"
#include "node_auth.h"
#include "node_request.h"
#include "payload_index.h"
#include "prom.h"
#include "protocol.h"
#include "registration.h"
#include "registry.h"
#include "store.h"
#include "strmap.h"
#include "banned.h"

extern char **environ;

#define DEBOUNCE_MS		EXEC_SCHED_DEBOUNCE_MS
#define HOLD_SECONDS		30	/* --hold default (SPEC 4) */
#define COMMIT_TIMEOUT		5	/* --commit-timeout default, seconds */
#define OVERRIDES_MAX		(256UL << 20)	/* --state's overrides file */
#define OVERRIDES_SUFFIX	".overrides"
#define MAX_REGISTRATIONS	100000
/* The message of a deferred answer (an identifier and some words). */
#define ANSWER_MAX		512
/* --persist holds every node's files, secrets included: as --state. */
#define PERSIST_MODE		0600
/* The fewest bytes of output a file takes: {"path":"a","content":""} */
#define MATERIALIZER_FILE_MIN_BYTES	26
/* With --etcd, how often the worker looks again without being told. */
#define SYNC_RETRY_MS		1000

/*
 * A ready result's index, shared by the current result, the cache and
 * the responses sending one of its bodies; the last reference frees it.
 */
struct served {
	struct payload_index	*index;
	unsigned long		 refs;		/* atomic */
};

/* An override's answer, shared by the table and the responses sending it. */
struct override_body {
	struct http_body	*body;
	unsigned long		 refs;		/* atomic */
};

/*
 * A node served other files than the results give it (POST /node/replace):
 * its own files, kept to make its answer again with each new result's
 * shared files.  Not part of its registration: the materializer never
 * sees it.
 */
struct override {
	char			 identifier[REGISTRATION_ID_MAX + 1];
	struct artifact_set	 files;
	struct override_body	*answer;	/* one reference */
};

/* What the last materializer run said, for one registry generation. */
struct result {
	/* of its snapshot; 0: none yet */
	unsigned long		 generation;
	enum materializer_outcome outcome;
	struct served		*served;	/* READY: one reference */
	char			 reason[MATERIALIZER_REASON_MAX];
};

struct serve_exec {
	struct registry		*registry;
	struct materializer	 mat;
	const char		*persist;
	unsigned		 debounce_ms;
	unsigned		 hold;		/* --hold seconds */
	struct http_server	*srv;

	pthread_rwlock_t	 result_lock;	/* guards result */
	struct result		 result;

	pthread_rwlock_t	 override_lock;	/* guards what follows */
	struct override		*overrides;
	size_t			 noverrides, overrides_cap;
	struct strmap		 override_index;	/* identifier -> slot */
	/* --state's overrides: one replace document a line, rewritten whole */
	char			*overrides_path;
	pthread_mutex_t		 override_save;	/* one save at a time */

	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 cond;
	struct exec_sched	 sched;		/* when the next run is due */
	int			 stopping;
	double			 run_seconds;
	unsigned long		 reused;	/* runs a settled set saved */

	/* For GET /status, under se->lock too. */
	char			 newest_id[REGISTRATION_ID_MAX + 1];
	time_t			 newest_at;	/* 0: none yet */
	struct last_run {
		enum materializer_outcome outcome;
		unsigned long	 generation;
		time_t		 finished_at;	/* 0: no run yet */
		double		 seconds;
		char		 stderr_tail[MATERIALIZER_TAIL_MAX];
	}			 last_run;

	pthread_t		 worker;
	/* settled results: struct served * or NULL; worker only */
	struct exec_cache	 cache;
	int			 cancel;	/* atomic: stop a running run */
	/* the cgroup v2 directory runs get a cgroup under; "": none */
	char			 cgroup[CGROUP_PATH_MAX];
	unsigned long		 runs[4];	/* atomic, by outcome */
	struct prom_histogram	 run_duration;	/* atomic */

	struct node_auth	*auth;		/* per-node tokens, or NULL */
	/*
	 * --etcd: one of several instances (NULL: the only one).  Only the
	 * leader runs the materializer, and publishes instead of
	 * installing; every instance installs published results (sync).
	 */
	struct etcd		*etcd;
	struct cluster		*cluster;
	int			 sync;		/* under se->lock: look again */
	unsigned long		 rewinds;	/* under se->lock: seen so far */
	int			 rewound;	/* under se->lock: unwind() due */
	uint64_t		 sync_at;	/* under se->lock: not before */
	uint64_t		 office;	/* worker: term cleaned up for */
	struct installed {			/* worker: what sync installed */
		unsigned char	 digest[REGISTRY_DIGEST_LEN];
		unsigned long	 generation;
		uint64_t	 mod_revision;	/* of its manifest */
		int		 ahead;		/* newer than the set here */
	}			 installed;
};

static const char *const outcome_names[] = {
	"ready", "not_ready", "tempfail", "failed"
};

/* A new index with one reference (the caller's), or NULL. */
static struct served *
served_new(struct payload_index *index)
{
	struct served *sv;

	if ((sv = malloc(sizeof(*sv))) == NULL)
		return NULL;
	sv->index = index;
	sv->refs = 1;
	return sv;
}

static void
served_hold(struct served *sv)
{
	if (sv != NULL)
		__atomic_add_fetch(&sv->refs, 1, __ATOMIC_RELAXED);
}

/* Drops one reference; the last frees the index.  Accepts NULL. */
static void
served_drop(void *arg)
{
	struct served *sv = arg;

	if (sv == NULL || __atomic_sub_fetch(&sv->refs, 1,
	    __ATOMIC_ACQ_REL) != 0)
		return;
	payload_index_free(sv->index);
	free(sv);
}

static struct override_body *
override_body_new(struct http_body *body)
{
	struct override_body *ob;

	if ((ob = malloc(sizeof(*ob))) == NULL) {
		http_body_free(body);
		return NULL;
	}
	ob->body = body;
	ob->refs = 1;
	return ob;
}

/* Drops one reference; the last frees the body.  Accepts NULL. */
static void
override_body_drop(void *arg)
{
	struct override_body *ob = arg;

	if (ob == NULL || __atomic_sub_fetch(&ob->refs, 1,
	    __ATOMIC_ACQ_REL) != 0)
		return;
	http_body_free(ob->body);
	free(ob);
}

/*
 * The answer for files with the shared files of the current result (none
 * before the first ready one); NULL with eb set.
 */
static struct override_body *
override_answer(struct serve_exec *se, const struct artifact_set *files,
    struct errbuf *eb)
{
	struct http_body *body;
	struct served *sv;

	pthread_rwlock_rdlock(&se->result_lock);
	sv = se->result.served;
	served_hold(sv);
	pthread_rwlock_unlock(&se->result_lock);
	body = payload_index_body_with(sv != NULL ? sv->index : NULL, files,
	    eb);
	served_drop(sv);
	if (body == NULL)
		return NULL;
	return override_body_new(body);
}

/* The override answer for identifier, with a reference, or NULL. */
static struct override_body *
override_find(struct serve_exec *se, const char *identifier)
{
	struct override_body *ob = NULL;
	size_t at;

	pthread_rwlock_rdlock(&se->override_lock);
	if (se->noverrides > 0 &&
	    strmap_get(&se->override_index, identifier, &at) == 1) {
		ob = se->overrides[at].answer;
		__atomic_add_fetch(&ob->refs, 1, __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&se->override_lock);
	return ob;
}

/* Makes every override's answer again with the new result's shared files. */
static void
overrides_rerender(struct serve_exec *se)
{
	struct override_body *ob, *old;
	struct errbuf eb;
	size_t i;

	pthread_rwlock_wrlock(&se->override_lock);
	for (i = 0; i < se->noverrides; i++) {
		if ((ob = override_answer(se, &se->overrides[i].files,
		    &eb)) == NULL) {
			diag_warn("override %s: %s",
			    se->overrides[i].identifier, eb.msg);
			continue;	/* the old answer stays */
		}
		old = se->overrides[i].answer;
		se->overrides[i].answer = ob;
		override_body_drop(old);
	}
	pthread_rwlock_unlock(&se->override_lock);
}

static int	overrides_save(struct serve_exec *, struct errbuf *);

/* Removes identifier's override, if any: the node is deleted. */
static void
override_remove(struct serve_exec *se, const char *identifier)
{
	struct errbuf eb;
	size_t at, last;
	int removed = 0;

	pthread_rwlock_wrlock(&se->override_lock);
	if (se->noverrides > 0 &&
	    strmap_remove(&se->override_index, identifier, &at) == 1) {
		override_body_drop(se->overrides[at].answer);
		artifact_set_release(&se->overrides[at].files);
		last = --se->noverrides;
		if (at != last) {
			se->overrides[at] = se->overrides[last];
			(void)strmap_put(&se->override_index,
			    se->overrides[at].identifier, at);
		}
		removed = 1;
	}
	pthread_rwlock_unlock(&se->override_lock);
	if (removed && overrides_save(se, &eb) == -1)
		diag_warn("delete %s: overrides not stored: %s", identifier,
		    eb.msg);
}

/*
 * Makes id be served files (taken over, released on failure) from now on.
 * Returns 0, or -1 with EC_INTERNAL.
 */
static int
override_set(struct serve_exec *se, const char *id,
    struct artifact_set *files, struct errbuf *eb)
{
	struct override_body *ob, *old = NULL;
	struct override *o;
	size_t at;

	if ((ob = override_answer(se, files, eb)) == NULL) {
		artifact_set_release(files);
		return -1;
	}
	pthread_rwlock_wrlock(&se->override_lock);
	if (strmap_get(&se->override_index, id, &at) == 1) {
		o = &se->overrides[at];
		old = o->answer;
		artifact_set_release(&o->files);
	} else if (ARRAY_GROW(se->overrides, se->noverrides + 1,
	    se->overrides_cap) == -1 || strmap_put(&se->override_index, id,
	    se->noverrides) == -1) {
		pthread_rwlock_unlock(&se->override_lock);
		override_body_drop(ob);
		artifact_set_release(files);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	} else {
		o = &se->overrides[se->noverrides++];
		(void)snprintf(o->identifier, sizeof(o->identifier), "%s", id);
	}
	o->files = *files;		/* taken over */
	o->answer = ob;
	pthread_rwlock_unlock(&se->override_lock);
	override_body_drop(old);
	return 0;
}

/*
 * Writes every override to --state's overrides file, atomically and
 * durably, one replace document a line.  Returns 0, or -1 with EC_WRITE
 * or EC_INTERNAL.  Without --state, 0 at once.
 */
static int
overrides_save(struct serve_exec *se, struct errbuf *eb)
{
	struct buf doc;
	size_t i;
	int rc = 0;

	if (se->overrides_path == NULL)
		return 0;
	pthread_mutex_lock(&se->override_save);
	buf_init(&doc, SIZE_MAX);
	pthread_rwlock_rdlock(&se->override_lock);
	for (i = 0; i < se->noverrides && rc == 0; i++)
		rc = protocol_render_replace(&doc, se->overrides[i].identifier,
		    &se->overrides[i].files) | buf_addc(&doc, '\n');
	pthread_rwlock_unlock(&se->override_lock);
	if (rc != 0)
		rc = errbuf_set(eb, EC_INTERNAL, "out of memory");
	else
		rc = fsx_write_atomic(se->overrides_path, doc.data != NULL ?
		    doc.data : "", doc.len, PERSIST_MODE, eb);
	buf_release(&doc);
	pthread_mutex_unlock(&se->override_save);
	return rc;
}

/* Reads --state's overrides back at start; a bad line is exit 7. */
static void
overrides_load(struct serve_exec *se)
{
	char id[REGISTRATION_ID_MAX + 1], *line, *nl;
	struct artifact_set files;
	struct errbuf eb;
	struct buf text;
	size_t n = 0;

	buf_init(&text, OVERRIDES_MAX);
	if (fsx_read_file(se->overrides_path, &text, &eb) == -1) {
		buf_release(&text);
		if (access(se->overrides_path, F_OK) == -1)
			return;		/* none kept yet */
		cli_die_eb(&eb);
	}
	for (line = text.data; line != NULL && *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			cli_die(EC_INVALID, "%s: a line without its newline",
			    se->overrides_path);
		artifact_set_init(&files);
		if (protocol_parse_replace(id, &files, line,
		    (size_t)(nl - line), OVERRIDES_MAX, &eb) == -1)
			cli_die(EC_INVALID, "%s: line %zu: %s",
			    se->overrides_path, n + 1, eb.msg);
		if (override_set(se, id, &files, &eb) == -1)
			cli_die_eb(&eb);
		n++;
	}
	buf_release(&text);
	if (n > 0)
		diag_warn("state %s: %zu nodes with files replaced",
		    se->overrides_path, n);
}

/* POST /node/replace: the node is served these files from now on. */
static void
on_replace(void *ctx, struct http_request *req, struct http_response *resp)
{
	char id[REGISTRATION_ID_MAX + 1];
	struct serve_exec *se = ctx;
	struct artifact_set files;
	struct errbuf eb;

	artifact_set_init(&files);
	if (protocol_parse_replace(id, &files, req->body, req->body_len,
	    SIZE_MAX, &eb) == -1) {
		artifact_set_release(&files);
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return;
	}
	memcpy(req->identifier, id, sizeof(id));
	/* Kept before it is acknowledged, as a registration is. */
	if (override_set(se, id, &files, &eb) == -1 ||
	    overrides_save(se, &eb) == -1) {
		diag_warn("replace %s: %s", id, eb.msg);
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "replacement of %s not stored", id);
		return;
	}
	resp->status = 202;
	http_server_wake(se->srv);	/* parked polls of the node */
}

/* Tells the worker the set changed (after the registry did). */
static void
changed(struct serve_exec *se)
{
	unsigned long gen = registry_generation(se->registry);
	unsigned long rewinds = registry_rewinds(se->registry);
	uint64_t due;
	int wake;

	pthread_mutex_lock(&se->lock);
	if (rewinds != se->rewinds) {
		/*
		 * The store's history went back: generations are counted
		 * again from lower down, so what was run, scheduled and
		 * installed by the old ones starts over, and a run of an
		 * old set is stopped.
		 */
		diag_warn("the store went back to generation %lu (restored "
		    "from a backup?): results and runs start over", gen);
		se->rewinds = rewinds;
		se->rewound = 1;
		exec_sched_init(&se->sched, se->debounce_ms);
		if (se->cluster != NULL)
			__atomic_store_n(&se->cancel, 1, __ATOMIC_RELAXED);
		pthread_cond_signal(&se->cond);
	}
	due = exec_sched_due(&se->sched);
	exec_sched_changed(&se->sched, gen, clock_ms());
	/*
	 * The worker wakes by itself at the deadline it waits for, and the
	 * changes of a burst only move the run later: it is woken for the
	 * first of them, not for each (a wake, a context switch and back,
	 * for each of 30 000 registrations a second).
	 */
	wake = exec_sched_due(&se->sched) < due;
	if (se->cluster != NULL) {
		/*
		 * Another set, maybe published already (A, B, A): looked up
		 * once the burst is over, not one snapshot per change.
		 */
		wake |= !se->sync;
		se->sync = 1;
		se->sync_at = clock_ms() + se->debounce_ms;
	}
	if (wake)
		pthread_cond_signal(&se->cond);
	pthread_mutex_unlock(&se->lock);
}

/*
 * The registry's change hook: every applied change of the set, made here
 * or (with --etcd) by another instance.
 */
static void
set_changed(void *arg)
{
	changed(arg);
}

/*
 * What a registration's outcome is answered with: returns the status and
 * sets *code (NULL: no body) and msg.
 */
static int
put_answer(struct serve_exec *se, const char *id, int rc,
    const struct errbuf *eb, const char **code, char *msg, size_t size)
{
	*code = NULL;
	msg[0] = '\0';
	switch (rc) {
	case REGISTRY_CHANGED:
		pthread_mutex_lock(&se->lock);
		(void)snprintf(se->newest_id, sizeof(se->newest_id), "%s", id);
		se->newest_at = time(NULL);
		pthread_mutex_unlock(&se->lock);
		/* The worker heard of it from the registry. */
		/* FALLTHROUGH */
	case REGISTRY_UNCHANGED:
		return 202;
	case REGISTRY_FULL:
		*code = PROTOCOL_UNAVAILABLE;
		(void)snprintf(msg, size, "registration limit reached: %s "
		    "not registered", id);
		return 503;
	case -1:
		if (eb->code != EC_REMOTE)
			goto internal;
		diag_warn("register %s: %s", id, eb->msg);
		*code = PROTOCOL_UNAVAILABLE;
		(void)snprintf(msg, size, "%s", eb->msg);
		return 503;
	default:
	internal:
		diag_warn("register %s: %s", id, eb->msg);
		*code = PROTOCOL_INTERNAL;
		(void)snprintf(msg, size, "registration of %s not stored", id);
		return 500;
	}
}

/* A registration's commit came back (the committer thread). */
static void
registered(void *ctx, void *token, const char *id, int rc,
    const struct errbuf *eb)
{
	char msg[ANSWER_MAX];
	const char *code;
	int status;

	status = put_answer(ctx, id, rc, eb, &code, msg, sizeof(msg));
	http_server_answer(token, status, code, msg);
}

/*
 * With --state the 202 waits for the journal: the request is deferred
 * (its connection suspended, its thread free) until the commit that
 * holds it returns, so one fdatasync answers every registration that
 * arrived while the one before it ran.
 */
static void
on_register(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	struct registration reg;
	struct errbuf eb;
	char msg[ANSWER_MAX];
	const char *code;
	int rc, status;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	/* A binding is kept before the registration it comes with. */
	if (node_auth_request(se->auth, req, resp, reg.identifier, 1) == -1) {
		registration_release(&reg);
		return;
	}
	rc = registry_put_async(se->registry, &reg, time(NULL), registered,
	    se, req->deferred, &eb);
	if (rc == REGISTRY_PENDING) {
		resp->defer = 1;
	} else {
		status = put_answer(se, reg.identifier, rc, &eb, &code, msg,
		    sizeof(msg));
		if (code != NULL)
			http_response_error(resp, status, code, "%s", msg);
		else
			resp->status = status;
	}
	registration_release(&reg);
}

static void
not_ready(struct http_request *req, struct http_response *resp)
{
	http_response_error(resp, 425, PROTOCOL_NOT_READY,
	    "config for host %s is not ready", req->identifier);
	resp->suspend = 1;	/* parked when the request asked to wait */
}

static void
on_node(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	const struct http_body *body = NULL;
	struct exec_result_view view;
	struct override_body *ob;
	struct exec_asker asker;
	struct registration reg;
	struct result cur;
	struct registry_node_state ns;
	unsigned long gen;
	int registered;

	if (node_request_parse(req, resp, &reg) == -1)
		return;
	registration_release(&reg);
	if (node_auth_request(se->auth, req, resp, req->identifier, 0) == -1)
		return;
	/* An override wins over every result until it is deleted. */
	if ((ob = override_find(se, req->identifier)) != NULL) {
		resp->prepared = ob->body;
		resp->done = override_body_drop;
		resp->done_arg = ob;
		return;
	}
	registry_node_state(se->registry, req->identifier, &ns);
	gen = ns.generation;
	registered = ns.node_generation != 0;
	/*
	 * Kept while the request is parked, but never above what the store
	 * holds: lower only when it went back meanwhile.
	 */
	if (req->mark == 0 || req->mark > ns.committed)
		req->mark = ns.committed;
	pthread_rwlock_rdlock(&se->result_lock);
	cur = se->result;
	served_hold(cur.served);
	pthread_rwlock_unlock(&se->result_lock);
	if (cur.served != NULL)
		body = payload_index_find(cur.served->index, req->identifier);
	asker.node_generation = ns.node_generation;
	asker.since_generation = (unsigned long)req->mark;
	view.generation = cur.generation;
	view.outcome = cur.outcome;
	view.has_files = body != NULL;
	switch (exec_sched_answer(&asker, &view)) {
	case EXEC_ANSWER_FILES:
		/*
		 * The response owns the reference until body is queued.  The
		 * server sends body, its gzip or tar variant, or a 304 when
		 * If-None-Match names it, parked under ?wait like a 425 until
		 * install() wakes it (lib/http_dispatch.c, negotiate).
		 */
		resp->prepared = body;
		resp->done = served_drop;
		resp->done_arg = cur.served;
		return;
	case EXEC_ANSWER_MISSING:
		http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
		    "missing config for host %s", req->identifier);
		break;
	case EXEC_ANSWER_FAILED:
		http_response_error(resp, 500, PROTOCOL_INTERNAL, "%s",
		    cur.reason);
		break;
	case EXEC_ANSWER_WAIT:
		/*
		 * A registered node waits for the run that is due (the set
		 * has no result yet) even without ?wait, up to --hold: the
		 * original's client polls five times, 250 ms apart, and
		 * would give up on a slow run.
		 */
		if (req->held && cur.generation == gen)
			req->wait = 0;		/* the run came: answer now */
		else if (req->wait == 0 && registered &&
		    cur.generation != gen) {
			req->wait = se->hold;
			req->held = 1;
		}
		not_ready(req, resp);
		break;
	}
	served_drop(cur.served);
}

static void
on_list(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	unsigned char digest[REGISTRY_DIGEST_LEN];
	unsigned long gen;
	size_t count;

	if (registry_snapshot(se->registry, &resp->body, &gen, &count,
	    digest) == -1) {
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "out of memory");
		return;
	}
	resp->status = 200;
}

/* What a removal's outcome is answered with, as put_answer. */
static int
remove_answer(struct serve_exec *se, const char *id, int rc,
    const struct errbuf *eb, const char **code, char *msg, size_t size)
{
	*code = NULL;
	msg[0] = '\0';
	switch (rc) {
	case 1:
		return 204;	/* the worker heard of it from the registry */
	case 0:
		*code = PROTOCOL_NOT_FOUND;
		(void)snprintf(msg, size, "%s is not registered", id);
		return 404;
	case -1:
		if (eb->code != EC_REMOTE)
			goto internal;
		diag_warn("delete %s: %s", id, eb->msg);
		*code = PROTOCOL_UNAVAILABLE;
		(void)snprintf(msg, size, "%s", eb->msg);
		return 503;
	default:
	internal:
		diag_warn("delete %s: %s", id, eb->msg);
		*code = PROTOCOL_INTERNAL;
		(void)snprintf(msg, size, "removal of %s not stored", id);
		return 500;
	}
}

static void
removed(void *ctx, void *token, const char *id, int rc,
    const struct errbuf *eb)
{
	char msg[ANSWER_MAX];
	const char *code;
	int status;

	status = remove_answer(ctx, id, rc, eb, &code, msg, sizeof(msg));
	http_server_answer(token, status, code, msg);
}

static void
on_delete(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	const char *id = req->path + strlen("/registrations/");
	struct errbuf eb;
	char msg[ANSWER_MAX];
	const char *code;
	int rc, status;

	if (registration_identifier_check(id, strlen(id), &eb) == -1) {
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return;
	}
	(void)snprintf(req->identifier, sizeof(req->identifier), "%s", id);
	override_remove(se, id);
	/* A re-provisioned node may bind again. */
	if (se->auth != NULL && node_auth_unbind(se->auth, id, &eb) == -1)
		diag_warn("delete %s: bindings not stored: %s", id, eb.msg);
	rc = registry_remove_async(se->registry, id, removed, se,
	    req->deferred, &eb);
	if (rc == REGISTRY_PENDING) {
		resp->defer = 1;
		return;
	}
	status = remove_answer(se, id, rc, &eb, &code, msg, sizeof(msg));
	if (code != NULL)
		http_response_error(resp, status, code, "%s", msg);
	else
		resp->status = status;
}

/*
 * GET /readyz: 200 when the registry's mirror is current (always without
 * --etcd), 503 before etcd's first listing and while its watch is down;
 * /healthz stays a liveness check.
 */
static void
on_readyz(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	struct registry_stats rs;

	(void)req;
	registry_get_stats(se->registry, &rs);
	if (!rs.current) {
		http_response_error(resp, 503, PROTOCOL_UNAVAILABLE,
		    "the registration mirror is not current");
		return;
	}
	if (buf_adds(&resp->body, "{\"ready\":true}\n") == -1) {
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "out of memory");
		return;
	}
	resp->status = 200;
}

/* Appends ,"name":"UTC time" or ,"name":null. */
static int
add_time(struct buf *b, const char *name, time_t t)
{
	char when[CLOCK_UTC_LEN];

	if (t == 0)
		return buf_addf(b, ",\"%s\":null", name);
	clock_utc(t, when);
	return buf_addf(b, ",\"%s\":\"%s\"", name, when);
}

/*
 * ,"cluster":{...} for GET /status with --etcd: who leads, whether etcd
 * answers, how far the watch has come.
 */
static int
cluster_json(struct serve_exec *se, struct buf *b)
{
	struct cluster_status cs;
	struct registry_stats rs;

	cluster_status(se->cluster, &cs);
	registry_get_stats(se->registry, &rs);
	return buf_addf(b, ",\"cluster\":{\"leading\":%s,\"leader\":",
	    cs.leading ? "true" : "false") |
	    (cs.leader_url[0] == '\0' ? buf_adds(b, "null") :
	    buf_add_json_string(b, cs.leader_url, strlen(cs.leader_url))) |
	    buf_addf(b, ",\"etcd\":\"%s\",\"mirror_revision\":%llu,"
	    "\"mirror_current\":%s,\"results_revision\":%llu,"
	    "\"results\":%zu,\"fetched\":%lu}",
	    cs.up && rs.current ? "ok" : "unreachable",
	    (unsigned long long)rs.revision, rs.current ? "true" : "false",
	    (unsigned long long)cs.revision, cs.results, cs.fetched);
}

/*
 * GET /status: what an operator asks first (cfgsync status): the
 * registrations, the generations, the last run, the nodes served.
 */
static void
on_status(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	struct last_run run;
	struct result cur;
	struct buf *b = &resp->body;
	char newest[REGISTRATION_ID_MAX + 1];
	time_t newest_at;
	unsigned long gen = registry_generation(se->registry);
	size_t count = registry_count(se->registry), ready = 0;
	int rc;

	pthread_rwlock_rdlock(&se->result_lock);
	cur = se->result;
	if (cur.served != NULL && cur.generation == gen)
		ready = payload_index_nodes(cur.served->index);
	pthread_rwlock_unlock(&se->result_lock);
	pthread_mutex_lock(&se->lock);
	run = se->last_run;
	memcpy(newest, se->newest_id, sizeof(newest));
	newest_at = se->newest_at;
	pthread_mutex_unlock(&se->lock);
	if (ready > count)
		ready = count;
	rc = buf_addf(b, "{\"server\":\"serve-exec\",\"registrations\":%zu,"
	    "\"containment\":\"%s\",\"newest\":", count,
	    se->mat.cgroup != NULL ? "cgroup" : "session");
	if (newest_at == 0)
		rc |= buf_adds(b, "null");
	else
		rc |= buf_adds(b, "{\"identifier\":") |
		    buf_add_json_string(b, newest, strlen(newest)) |
		    add_time(b, "registered_at", newest_at) | buf_addc(b, '}');
	rc |= buf_addf(b, ",\"generation\":%lu,\"result\":{\"generation\":%lu,"
	    "\"outcome\":\"%s\",\"current\":%s}", gen, cur.generation,
	    cur.generation == 0 ? "none" : outcome_names[cur.outcome],
	    cur.generation == gen ? "true" : "false");
	rc |= buf_adds(b, ",\"last_run\":");
	if (run.finished_at == 0)
		rc |= buf_adds(b, "null");
	else
		rc |= buf_addf(b, "{\"outcome\":\"%s\",\"generation\":%lu",
		    outcome_names[run.outcome], run.generation) |
		    add_time(b, "finished_at", run.finished_at) |
		    buf_addf(b, ",\"seconds\":%.3f,\"stderr_tail\":",
		    run.seconds) |
		    buf_add_json_string(b, run.stderr_tail,
		    strlen(run.stderr_tail)) | buf_addc(b, '}');
	rc |= buf_addf(b, ",\"nodes\":{\"served\":%zu,\"waiting\":%zu}",
	    ready, count - ready);
	if (se->cluster != NULL)
		rc |= cluster_json(se, b);
	rc |= buf_adds(b, "}\n");
	if (rc != 0) {
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "out of memory");
		return;
	}
	resp->status = 200;
	(void)req;
}

/* With --etcd: who leads, etcd's health, the watch, the fetches. */
static int
cluster_metrics(struct serve_exec *se, struct buf *b)
{
	struct cluster_status cs;
	struct registry_stats rs;
	struct prom_label l = { "leader", NULL };
	int rc = 0;

	cluster_status(se->cluster, &cs);
	registry_get_stats(se->registry, &rs);
	rc |= prom_family(b, "cfgsync_etcd_up", PROM_GAUGE,
	    "1 when etcd answers and the registration mirror is current.");
	rc |= prom_sample_u64(b, "cfgsync_etcd_up", NULL, 0,
	    cs.up && rs.current);
	rc |= prom_family(b, "cfgsync_leader", PROM_GAUGE,
	    "1 when this instance leads (runs the materializer); the "
	    "label is the leader's URL.");
	l.value = cs.leader_url;
	rc |= prom_sample_u64(b, "cfgsync_leader", &l, 1, cs.leading);
	rc |= prom_family(b, "cfgsync_mirror_revision", PROM_GAUGE,
	    "etcd revision the registration mirror has applied.");
	rc |= prom_sample_u64(b, "cfgsync_mirror_revision", NULL, 0,
	    rs.revision);
	rc |= prom_family(b, "cfgsync_commit_batches_total", PROM_COUNTER,
	    "Registration batches committed to etcd, one txn each.");
	rc |= prom_sample_u64(b, "cfgsync_commit_batches_total", NULL, 0,
	    rs.batches);
	rc |= prom_family(b, "cfgsync_commit_conflicts_total", PROM_COUNTER,
	    "Batches refused because another instance wrote first.");
	rc |= prom_sample_u64(b, "cfgsync_commit_conflicts_total", NULL, 0,
	    rs.conflicts);
	rc |= prom_family(b, "cfgsync_watch_resyncs_total", PROM_COUNTER,
	    "Listings of the registrations after the first (compaction).");
	rc |= prom_sample_u64(b, "cfgsync_watch_resyncs_total", NULL, 0,
	    rs.resets > 0 ? rs.resets - 1 : 0);
	rc |= prom_family(b, "cfgsync_store_rewinds_total", PROM_COUNTER,
	    "Listings whose generation fell (etcd restored from a backup).");
	rc |= prom_sample_u64(b, "cfgsync_store_rewinds_total", NULL, 0,
	    rs.rewinds);
	rc |= prom_family(b, "cfgsync_results_revision", PROM_GAUGE,
	    "etcd revision the result watch has applied.");
	rc |= prom_sample_u64(b, "cfgsync_results_revision", NULL, 0,
	    cs.revision);
	rc |= prom_family(b, "cfgsync_results_fetched_total", PROM_COUNTER,
	    "Published bundles fetched from etcd and installed.");
	rc |= prom_sample_u64(b, "cfgsync_results_fetched_total", NULL, 0,
	    cs.fetched);
	rc |= prom_family(b, "cfgsync_results_published", PROM_GAUGE,
	    "Result manifests in etcd.");
	rc |= prom_sample_u64(b, "cfgsync_results_published", NULL, 0,
	    cs.results);
	return rc;
}

static int
metrics(void *ctx, struct buf *b)
{
	struct serve_exec *se = ctx;
	struct prom_label l = { "outcome", NULL };
	unsigned long gen, reused;
	double seconds;
	size_t i;
	int rc = 0;

	pthread_rwlock_rdlock(&se->result_lock);
	gen = se->result.generation;
	pthread_rwlock_unlock(&se->result_lock);
	pthread_mutex_lock(&se->lock);
	seconds = se->run_seconds;
	reused = se->reused;
	pthread_mutex_unlock(&se->lock);
	rc |= prom_family(b, "cfgsync_registrations", PROM_GAUGE,
	    "Nodes registered now.");
	rc |= prom_sample_u64(b, "cfgsync_registrations", NULL, 0,
	    registry_count(se->registry));
	rc |= prom_family(b, "cfgsync_snapshot_generation", PROM_GAUGE,
	    "Generation of the registration set, one more per change.");
	rc |= prom_sample_u64(b, "cfgsync_snapshot_generation", NULL, 0,
	    registry_generation(se->registry));
	rc |= prom_family(b, "cfgsync_result_generation", PROM_GAUGE,
	    "Generation of the snapshot the result being served was made "
	    "from.");
	rc |= prom_sample_u64(b, "cfgsync_result_generation", NULL, 0, gen);
	rc |= prom_family(b, "cfgsync_materializer_runs_total", PROM_COUNTER,
	    "Materializer runs, by outcome.");
	for (i = 0; i < 4; i++) {
		l.value = outcome_names[i];
		rc |= prom_sample_u64(b, "cfgsync_materializer_runs_total",
		    &l, 1, __atomic_load_n(&se->runs[i], __ATOMIC_RELAXED));
	}
	rc |= prom_family(b, "cfgsync_materializer_seconds_total",
	    PROM_COUNTER, "Time spent in materializer runs.");
	rc |= prom_sample_double(b, "cfgsync_materializer_seconds_total",
	    NULL, 0, seconds);
	rc |= prom_family(b, "cfgsync_materializer_run_duration_seconds",
	    PROM_HISTOGRAM, "Run time of each materializer run.");
	rc |= prom_histogram_write(b,
	    "cfgsync_materializer_run_duration_seconds", NULL, 0,
	    &se->run_duration);
	rc |= prom_family(b, "cfgsync_materializer_reused_total",
	    PROM_COUNTER, "Registration sets served from a kept result "
	    "without a run.");
	rc |= prom_sample_u64(b, "cfgsync_materializer_reused_total", NULL, 0,
	    reused);
	rc |= prom_family(b, "cfgsync_materializer_cgroup", PROM_GAUGE,
	    "1 when each run gets a cgroup of its own, 0 when its session "
	    "and a scan of reparented processes contain it.");
	rc |= prom_sample_u64(b, "cfgsync_materializer_cgroup", NULL, 0,
	    se->mat.cgroup != NULL);
	if (se->cluster != NULL)
		rc |= cluster_metrics(se, b);
	return rc;
}

/*
 * Swaps in a new result (taking the reference fresh holds) and wakes the
 * parked polls.  Once this returns no request can reach the old result;
 * responses still sending one of its bodies hold their own reference.
 */
static void
install(struct serve_exec *se, const struct result *fresh)
{
	struct served *old;

	pthread_rwlock_wrlock(&se->result_lock);
	old = se->result.served;
	se->result = *fresh;
	pthread_rwlock_unlock(&se->result_lock);
	served_drop(old);
	if (fresh->served != NULL)
		overrides_rerender(se);
	/*
	 * A not-ready result changes no long poll's answer (they wait on):
	 * waking 10 000 parked polls for each registration of a bootstrap
	 * would cost each registration their handlers' time.
	 */
	if (fresh->outcome == MATERIALIZER_READY ||
	    fresh->outcome == MATERIALIZER_FAILED)
		http_server_wake(se->srv);
	else	/* held plain polls waited for this run: they get their 425 */
		http_server_wake_held(se->srv);
}

static void
persist(struct serve_exec *se, const struct bundle *b)
{
	struct errbuf eb;
	struct buf doc;

	buf_init(&doc, SIZE_MAX);
	if (bundle_render_json(&doc, b) == -1 || buf_addc(&doc, '\n') == -1)
		diag_warn("persist %s: out of memory", se->persist);
	else if (fsx_write_atomic(se->persist, doc.data, doc.len,
	    PERSIST_MODE, &eb) == -1)
		diag_warn("persist: %s", eb.msg);
	buf_release(&doc);
}

static int
settled(enum materializer_outcome o)
{
	return o == MATERIALIZER_READY || o == MATERIALIZER_NOT_READY;
}

/*
 * The registry's current generation and digest, from a view (nothing
 * rendered): 0, or -1 when out of memory.
 */
static int
current_set(struct serve_exec *se, unsigned long *gen,
    unsigned char digest[REGISTRY_DIGEST_LEN])
{
	struct registry_view *v;

	if ((v = registry_view_take(se->registry)) == NULL) {
		diag_warn("snapshot: out of memory");
		return -1;
	}
	*gen = registry_view_generation(v);
	memcpy(digest, registry_view_digest(v), REGISTRY_DIGEST_LEN);
	registry_view_free(v);
	return 0;
}

/*
 * The index of a published bundle: fetched, checked, parsed, and written
 * to --persist on the way.  NULL with eb set.
 */
static struct served *
fetch_served(struct serve_exec *se, const struct cluster_manifest *m,
    struct errbuf *eb)
{
	struct payload_index *index;
	struct served *sv = NULL;
	struct bundle b;
	struct buf text;

	buf_init(&text, m->bytes + 2);
	bundle_init(&b);
	if (cluster_fetch(se->cluster, m, &text, eb) == -1)
		goto out;
	if (bundle_parse_json(&b, text.data, text.len, &se->mat.limits, NULL,
	    eb) == -1)
		goto out;
	if (se->persist != NULL && (buf_addc(&text, '\n') == -1 ||
	    fsx_write_atomic(se->persist, text.data, text.len, PERSIST_MODE,
	    eb) == -1))
		diag_warn("persist: %s", eb->msg);
	buf_release(&text);
	if ((index = payload_index_new(&b, eb)) == NULL)
		return NULL;		/* b is released */
	if ((sv = served_new(index)) == NULL) {
		payload_index_free(index);
		errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	return sv;
out:
	bundle_release(&b);
	buf_release(&text);
	return NULL;
}

/*
 * With --etcd, every instance (the leader too): installs the published
 * result for the registry's current set, or while it has none the newest
 * published one when it is newer than what is installed, so an instance
 * serves only what was published.  The newest serves, by the generation
 * rule of exec_sched_answer, the nodes its snapshot holds: a steady
 * trickle of registrations, which moves the set on before each result is
 * out, keeps no node waiting here longer than on the leader.  Installs
 * never go back from such a result to an older one for a set this
 * mirror reaches late: the newer holds every node the older does.  On
 * the worker's thread.  Returns 0, or -1 when it must be tried again (a
 * fetch failed).
 */
static int
sync_result(struct serve_exec *se)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct cluster_manifest m;
	enum materializer_outcome kept;
	struct result fresh;
	struct errbuf eb;
	unsigned long gen, rewinds;
	int current;
	void *hit;

	pthread_mutex_lock(&se->lock);
	rewinds = se->rewinds;
	pthread_mutex_unlock(&se->lock);
	if (current_set(se, &gen, digest) == -1)
		return 0;
	if ((current = cluster_lookup(se->cluster, digest, &m))) {
		if (se->installed.ahead && gen < se->installed.generation)
			return 0;
	} else {
		if (!cluster_newest(se->cluster, &m) ||
		    m.generation < se->installed.generation)
			return 0;	/* nothing newer published yet */
		gen = m.generation;
		memcpy(digest, m.digest, sizeof(digest));
	}
	if (se->installed.generation == gen && se->installed.mod_revision ==
	    m.mod_revision && memcmp(se->installed.digest, digest,
	    sizeof(digest)) == 0)
		return 0;
	memset(&fresh, 0, sizeof(fresh));
	fresh.generation = gen;
	fresh.outcome = m.outcome;
	if (m.outcome == MATERIALIZER_READY) {
		if (exec_cache_find(&se->cache, digest, &kept, &hit) &&
		    kept == MATERIALIZER_READY && hit != NULL) {
			fresh.served = hit;
			served_hold(fresh.served);
		} else if ((fresh.served = fetch_served(se, &m, &eb)) ==
		    NULL) {
			diag_warn("generation %lu: result: %s", gen, eb.msg);
			return eb.code == EC_REMOTE ? -1 : 0;
		} else {
			served_hold(fresh.served);	/* the cache's */
			served_drop(exec_cache_put(&se->cache, digest,
			    MATERIALIZER_READY, fresh.served));
		}
	} else if (m.outcome == MATERIALIZER_NOT_READY)
		served_drop(exec_cache_put(&se->cache, digest,
		    MATERIALIZER_NOT_READY, NULL));
	else
		(void)snprintf(fresh.reason, sizeof(fresh.reason), "%s",
		    m.reason);
	install(se, &fresh);
	memcpy(se->installed.digest, digest, sizeof(digest));
	se->installed.generation = gen;
	se->installed.mod_revision = m.mod_revision;
	se->installed.ahead = !current;
	diag_info("generation %lu: installed the %s result of term %llu%s",
	    gen, outcome_names[m.outcome], (unsigned long long)m.term,
	    current ? "" : " (the newest; the set moved on since)");
	if (current && settled(m.outcome)) {
		/* No instance runs for this set again, this one included. */
		pthread_mutex_lock(&se->lock);
		if (se->rewinds == rewinds)	/* else gen is from before */
			exec_sched_finish(&se->sched, gen, m.outcome,
			    clock_ms());
		pthread_mutex_unlock(&se->lock);
	}
	return 0;
}

/*
 * The leader's end of a run: publishes what it came to (a ready bundle
 * as --persist writes it) under term, fenced, and retires old results.
 * Every instance then installs it from the watch (sync_result).  Returns
 * the outcome for the scheduler: tempfail when the publish failed, so the
 * set is tried again.
 */
static enum materializer_outcome
publish(struct serve_exec *se, const struct cluster_term *term,
    unsigned long gen, const unsigned char digest[REGISTRY_DIGEST_LEN],
    struct materializer_result *mr)
{
	enum materializer_outcome outcome = mr->outcome;
	struct cluster_manifest m;
	struct errbuf eb;
	struct buf doc;
	int rc;

	memset(&m, 0, sizeof(m));
	memcpy(m.digest, digest, sizeof(m.digest));
	m.outcome = mr->outcome;
	m.generation = gen;
	if (mr->outcome == MATERIALIZER_FAILED)
		(void)snprintf(m.reason, sizeof(m.reason), "%s", mr->reason);
	buf_init(&doc, SIZE_MAX);
	if (mr->outcome == MATERIALIZER_READY &&
	    bundle_render_json(&doc, &mr->bundle) == -1) {
		buf_release(&doc);
		diag_warn("generation %lu: out of memory", gen);
		return MATERIALIZER_TEMPFAIL;
	}
	rc = cluster_publish(se->cluster, term, &m, doc.data, doc.len, &eb);
	buf_release(&doc);
	if (rc == CLUSTER_REFUSED) {
		diag_warn("generation %lu: publish refused: term %llu no "
		    "longer leads, or the set has a result", gen,
		    (unsigned long long)term->rev);
		return outcome;
	}
	if (rc == -1) {
		diag_warn("generation %lu: publish: %s", gen, eb.msg);
		return MATERIALIZER_TEMPFAIL;
	}
	diag_info("generation %lu: published %s (term %llu)", gen,
	    outcome_names[outcome], (unsigned long long)term->rev);
	if (cluster_retire(se->cluster, term, digest, 0, &eb) == -1)
		diag_warn("retire results: %s", eb.msg);
	return outcome;
}

/*
 * One materializer run for the registry's current set, or none when the
 * set settled before (its result is served again).  Returns the outcome
 * and sets *generation to the snapshot's (0 when none was taken).
 */
/* The materializer's input: the snapshot document, read from a view. */
static ssize_t
snapshot_read(void *ctx, char *out, size_t size)
{
	return registry_reader_read(ctx, out, size);
}

static enum materializer_outcome
run_once(struct serve_exec *se, const struct cluster_term *term,
    unsigned long *generation)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct materializer_result mr;
	struct materializer_input input;
	struct registry_reader reader;
	struct registry_view *view;
	struct cluster_manifest m;
	struct result fresh;
	struct errbuf eb;
	struct payload_index *index;
	void *hit;
	unsigned long gen;
	size_t count;

	*generation = 0;
	if ((view = registry_view_take(se->registry)) == NULL) {
		diag_warn("snapshot: out of memory");
		return MATERIALIZER_FAILED;
	}
	gen = registry_view_generation(view);
	count = registry_view_count(view);
	memcpy(digest, registry_view_digest(view), sizeof(digest));
	*generation = gen;
	memset(&fresh, 0, sizeof(fresh));
	fresh.generation = gen;
	/* Cluster-wide: a set with a settled result never runs again. */
	if (se->cluster != NULL && cluster_lookup(se->cluster, digest, &m) &&
	    settled(m.outcome)) {
		registry_view_free(view);
		pthread_mutex_lock(&se->lock);
		se->reused++;
		se->sync = 1;
		pthread_mutex_unlock(&se->lock);
		return m.outcome;
	}
	if (se->cluster == NULL &&
	    exec_cache_find(&se->cache, digest, &fresh.outcome, &hit)) {
		registry_view_free(view);
		fresh.served = hit;
		served_hold(fresh.served);
		install(se, &fresh);
		pthread_mutex_lock(&se->lock);
		se->reused++;
		pthread_mutex_unlock(&se->lock);
		return fresh.outcome;
	}
	/* The document is rendered as the pipe takes it, never whole. */
	registry_reader_init(&reader, view);
	input.read = snapshot_read;
	input.ctx = &reader;
	if (materializer_run(&se->mat, &input, gen, count, &mr, &eb) == -1) {
		mr.outcome = MATERIALIZER_FAILED;
		(void)snprintf(mr.reason, sizeof(mr.reason), "%s", eb.msg);
	}
	registry_reader_release(&reader);
	registry_view_free(view);
	__atomic_fetch_add(&se->runs[mr.outcome], 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&se->lock);
	se->run_seconds += mr.seconds;
	se->last_run.outcome = mr.outcome;
	se->last_run.generation = gen;
	se->last_run.finished_at = time(NULL);
	se->last_run.seconds = mr.seconds;
	memcpy(se->last_run.stderr_tail, mr.stderr_tail,
	    sizeof(se->last_run.stderr_tail));
	pthread_mutex_unlock(&se->lock);
	prom_histogram_observe(&se->run_duration,
	    (uint64_t)(mr.seconds * 1e9));
	if (se->cluster != NULL) {
		if (mr.outcome != MATERIALIZER_READY &&
		    __atomic_load_n(&se->cancel, __ATOMIC_RELAXED)) {
			diag_warn("generation %lu: run cancelled: leadership "
			    "lost, or the store went back", gen);
			fresh.outcome = mr.outcome;
		} else {
			diag_info("generation %lu: %s (%zu nodes, %.3f s)",
			    gen, outcome_names[mr.outcome], count,
			    mr.seconds);
			fresh.outcome = publish(se, term, gen, digest, &mr);
		}
		bundle_release(&mr.bundle);
		return fresh.outcome;
	}
	fresh.outcome = mr.outcome;
	if (mr.outcome == MATERIALIZER_READY) {
		if (se->persist != NULL)
			persist(se, &mr.bundle);
		if ((index = payload_index_new(&mr.bundle, &eb)) == NULL) {
			fresh.outcome = MATERIALIZER_FAILED;
			(void)snprintf(mr.reason, sizeof(mr.reason), "%s",
			    eb.msg);
		} else if ((fresh.served = served_new(index)) == NULL) {
			payload_index_free(index);
			fresh.outcome = MATERIALIZER_FAILED;
			(void)snprintf(mr.reason, sizeof(mr.reason),
			    "out of memory");
		}
	}
	bundle_release(&mr.bundle);
	if (fresh.outcome == MATERIALIZER_FAILED) {
		(void)snprintf(fresh.reason, sizeof(fresh.reason), "%s",
		    mr.reason);
		diag_warn("generation %lu: %s", gen, mr.reason);
	} else
		diag_info("generation %lu: %s (%zu nodes, %.3f s)", gen,
		    outcome_names[fresh.outcome], count, mr.seconds);
	if (fresh.outcome != MATERIALIZER_READY &&
	    fresh.outcome != MATERIALIZER_NOT_READY) {
		install(se, &fresh);	/* retried, so not kept */
		return fresh.outcome;
	}
	served_hold(fresh.served);	/* the cache's reference */
	served_drop(exec_cache_put(&se->cache, digest, fresh.outcome,
	    fresh.served));
	install(se, &fresh);
	return fresh.outcome;
}

/*
 * Leadership came or went (a cluster thread): a run of a term that ended
 * is cancelled, and the worker looks again.
 */
static void
leadership(void *arg)
{
	struct serve_exec *se = arg;

	pthread_mutex_lock(&se->lock);
	/* NULL: cluster_new has not returned yet; no run has started. */
	if (se->cluster != NULL && !cluster_leading(se->cluster, NULL))
		__atomic_store_n(&se->cancel, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&se->cond);
	pthread_mutex_unlock(&se->lock);
}

/* A result manifest came or went (the cluster's watch thread). */
static void
result_event(void *arg)
{
	struct serve_exec *se = arg;

	pthread_mutex_lock(&se->lock);
	se->sync = 1;
	pthread_cond_signal(&se->cond);
	pthread_mutex_unlock(&se->lock);
}

/*
 * After a rewind (changed): the result index is listed again before
 * anything is looked up in it (it may hold results the restored store
 * does not), and the installed result, of a set from before, goes, so
 * that nodes wait for a result of the set as it is now.  On the worker's
 * thread.
 */
static void
unwind(struct serve_exec *se)
{
	struct timespec ts = { 0, 50 * 1000000L };
	struct cluster_status cs;
	struct result none;
	unsigned long before;
	int stop;

	if (se->cluster != NULL) {
		cluster_status(se->cluster, &cs);
		before = cs.resyncs;
		cluster_relist(se->cluster);
		for (stop = 0; cs.resyncs == before && !stop;) {
			nanosleep(&ts, NULL);
			cluster_status(se->cluster, &cs);
			pthread_mutex_lock(&se->lock);
			stop = se->stopping;
			pthread_mutex_unlock(&se->lock);
		}
	}
	memset(&none, 0, sizeof(none));
	none.outcome = MATERIALIZER_NOT_READY;
	install(se, &none);
	memset(&se->installed, 0, sizeof(se->installed));
}

/* Runs the materializer whenever se->sched says a run is due. */
static void *
worker(void *arg)
{
	struct serve_exec *se = arg;
	enum materializer_outcome outcome;
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct cluster_term term;
	struct errbuf eb;
	unsigned long gen, rewinds;
	struct timespec ts;
	uint64_t due, now;
	int leading = 1;

	memset(&term, 0, sizeof(term));
	pthread_mutex_lock(&se->lock);
	while (!se->stopping) {
		now = clock_ms();
		if (se->rewound) {
			se->rewound = 0;
			pthread_mutex_unlock(&se->lock);
			unwind(se);
			pthread_mutex_lock(&se->lock);
			se->sync = se->cluster != NULL;
			se->sync_at = now;
			continue;
		}
		if (se->cluster != NULL && se->sync && now >= se->sync_at) {
			se->sync = 0;
			pthread_mutex_unlock(&se->lock);
			if (sync_result(se) == -1) {
				pthread_mutex_lock(&se->lock);
				se->sync = 1;
				se->sync_at = clock_ms() + SYNC_RETRY_MS;
				continue;
			}
			pthread_mutex_lock(&se->lock);
			continue;
		}
		/* With --etcd, only the leader runs the materializer. */
		if (se->cluster != NULL)
			leading = cluster_leading(se->cluster, &term);
		if (leading && se->cluster != NULL && term.rev != se->office) {
			/* Just elected: clear what a dead leader left. */
			se->office = term.rev;
			pthread_mutex_unlock(&se->lock);
			if (current_set(se, &gen, digest) == 0 &&
			    cluster_retire(se->cluster, &term, digest, 1,
			    &eb) == -1)
				diag_warn("retire results: %s", eb.msg);
			pthread_mutex_lock(&se->lock);
			continue;
		}
		due = leading ? exec_sched_due(&se->sched) : EXEC_SCHED_NEVER;
		if (se->cluster != NULL && (due == EXEC_SCHED_NEVER ||
		    due > now + SYNC_RETRY_MS))
			due = now + SYNC_RETRY_MS;	/* look again */
		if (se->cluster != NULL && se->sync && se->sync_at < due)
			due = se->sync_at;
		if (due == EXEC_SCHED_NEVER) {
			pthread_cond_wait(&se->cond, &se->lock);
			continue;
		}
		if (now < due || !leading) {
			ts = clock_deadline(due * 1000000u);
			(void)pthread_cond_timedwait(&se->cond, &se->lock,
			    &ts);
			continue;
		}
		exec_sched_start(&se->sched);
		/* A cancel for a term that ended is not this run's. */
		if (se->cluster != NULL)
			__atomic_store_n(&se->cancel, 0, __ATOMIC_RELAXED);
		rewinds = se->rewinds;
		pthread_mutex_unlock(&se->lock);
		outcome = run_once(se, &term, &gen);
		pthread_mutex_lock(&se->lock);
		/* A run of a set from before a rewind covers nothing now. */
		if (se->rewinds == rewinds)
			exec_sched_finish(&se->sched, gen, outcome,
			    clock_ms());
	}
	pthread_mutex_unlock(&se->lock);
	return NULL;
}

/*
 * Decides, once, how runs are contained, and says so: a cgroup of their
 * own under the server's, where that is writable, else their session and
 * a scan of the processes reparented to the server.
 */
static void
contain(struct serve_exec *se, int no_cgroup)
{
	struct errbuf eb;

	if (no_cgroup) {
		diag_warn("materializer containment: session (--no-cgroup)");
		return;
	}
	if (cgroup_probe(se->cgroup, sizeof(se->cgroup), &eb) == -1) {
		diag_warn("materializer containment: session (no cgroup: %s)",
		    eb.msg);
		return;
	}
	se->mat.cgroup = se->cgroup;
	materializer_sweep(se->cgroup);
	diag_warn("materializer containment: a cgroup per run under %s",
	    se->cgroup);
}

enum {
	OPT_ADVERTISE_URL = CLI_OPT_OWN,
	OPT_COMMIT_TIMEOUT,
	OPT_DEBOUNCE,
	OPT_ETCD,
	OPT_ETCD_CACERT,
	OPT_ETCD_PREFIX,
	OPT_ETCD_USER_FILE,
	OPT_HOLD,
	OPT_LEASE_TTL,
	OPT_MATERIALIZER_TIMEOUT,
	OPT_MAX_OUTPUT,
	OPT_MAX_REGISTRATION_BYTES,
	OPT_MAX_REGISTRATIONS,
	OPT_NO_CGROUP,
	OPT_PERSIST,
	OPT_STATE
};

static const struct cli_option serve_exec_options[] = {
	{ "advertise-url", 0, "URL", OPT_ADVERTISE_URL,
	    "this instance's address, as the leader (with --etcd)" },
	{ "commit-timeout", 0, "SECONDS", OPT_COMMIT_TIMEOUT,
	    "503 after this long without the store (default 5)" },
	{ "debounce", 0, "MS", OPT_DEBOUNCE,
	    "wait this long for more registrations (default 100)" },
	{ "etcd", 0, "URL[,URL...]", OPT_ETCD,
	    "share registrations and results through etcd" },
	{ "etcd-cacert", 0, "FILE", OPT_ETCD_CACERT,
	    "trust FILE's certificates for https etcd endpoints" },
	{ "etcd-prefix", 0, "PREFIX", OPT_ETCD_PREFIX,
	    "key prefix in etcd (default cfgsync/default/)" },
	{ "etcd-user-file", 0, "FILE", OPT_ETCD_USER_FILE,
	    "authenticate to etcd as FILE's USER:PASSWORD line" },
	{ "hold", 0, "SECONDS", OPT_HOLD,
	    "hold a plain /node for a due run (default 30)" },
	{ "lease-ttl", 0, "SECONDS", OPT_LEASE_TTL,
	    "leader lease with --etcd (default 10)" },
	{ "materializer-timeout", 0, "SECONDS", OPT_MATERIALIZER_TIMEOUT,
	    "kill a run after this long (default 30)" },
	{ "max-output", 0, "BYTES", OPT_MAX_OUTPUT,
	    "largest materializer output (default 64 MiB)" },
	{ "max-registration-bytes", 0, "BYTES", OPT_MAX_REGISTRATION_BYTES,
	    "most bytes of all registrations (default 256 MiB)" },
	{ "max-registrations", 0, "N", OPT_MAX_REGISTRATIONS,
	    "most registrations held (default 100000)" },
	{ "no-cgroup", 0, NULL, OPT_NO_CGROUP,
	    "contain runs by session only, not in a cgroup" },
	{ "persist", 0, "FILE", OPT_PERSIST,
	    "write each ready result to FILE as a bundle" },
	{ "state", 0, "FILE", OPT_STATE,
	    "journal registrations in FILE, kept across restarts" },
	CLI_OPTIONS_END
};

/* SIGHUP: the node tokens are read again (nothing else is). */
static void
reload_tokens(void *arg)
{
	cli_server_node_auth_reload(arg);
}

static const struct cli_command serve_exec_command = {
	.name = "serve-exec",
	.operands = "-- PROGRAM [ARG ...]",
	.sets = { cli_server_options, cli_bind_options, serve_exec_options,
	    NULL },
};

int
cmd_serve_exec(int argc, char **argv)
{
	static const struct http_route routes[] = {
		{ "POST", "/init-with-node", "init-with-node", on_node,
		    HTTP_NODE },
		{ "POST", "/node", "node", on_node, HTTP_NODE },
		{ "POST", "/node/replace", "replace", on_replace,
		    HTTP_OPERATOR },
		{ "POST", "/register", "register", on_register, HTTP_NODE },
		{ "GET", "/readyz", "readyz", on_readyz, HTTP_OPEN },
		{ "GET", "/registrations", "registrations", on_list,
		    HTTP_OPERATOR },
		{ "GET", "/status", "status", on_status, HTTP_OPERATOR },
		{ "DELETE", "/registrations/", "registrations", on_delete,
		    0 },
	};
	struct serve_exec se;
	struct cli_server server;
	struct cli_parser p;
	struct store *store = NULL;
	struct errbuf eb;
	const char *state = NULL;
	char *bindings = NULL;
	size_t max_registrations = MAX_REGISTRATIONS, i;
	size_t max_registration_bytes = REGISTRY_MAX_BYTES;
	unsigned commit_timeout = COMMIT_TIMEOUT;
	struct etcd_options etcd;
	struct cluster_options copts;
	struct cluster *cluster;
	unsigned long gen0;
	int id, no_cgroup = 0;

	memset(&se, 0, sizeof(se));
	memset(&etcd, 0, sizeof(etcd));
	etcd.prefix = "cfgsync/default/";
	memset(&copts, 0, sizeof(copts));
	copts.lease_ttl = CLUSTER_LEASE_TTL;
	cli_server_init(&server);
	se.debounce_ms = DEBOUNCE_MS;
	se.hold = HOLD_SECONDS;
	se.mat.timeout = MATERIALIZER_TIMEOUT;
	se.mat.max_output = MATERIALIZER_MAX_OUTPUT;
	bundle_limits_default(&se.mat.limits);
	cli_parser_init(&p, &serve_exec_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_server_opt(&server, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_usage_error("unexpected argument %s (PROGRAM goes "
			    "after --)", p.arg);
		case OPT_DEBOUNCE:
			se.debounce_ms = (unsigned)cli_uint_opt("--debounce",
			    p.arg, 0, 60000);
			break;
		case OPT_HOLD:
			se.hold = (unsigned)cli_uint_opt("--hold", p.arg, 0,
			    HTTP_SERVER_MAX_WAIT);
			break;
		case OPT_MATERIALIZER_TIMEOUT:
			se.mat.timeout = (unsigned)cli_uint_opt(
			    "--materializer-timeout", p.arg, 1, 86400);
			break;
		case OPT_MAX_OUTPUT:
			se.mat.max_output = cli_uint_opt("--max-output", p.arg,
			    2, 1UL << 34);
			break;
		case OPT_MAX_REGISTRATION_BYTES:
			max_registration_bytes = cli_uint_opt(
			    "--max-registration-bytes", p.arg, 1, 1UL << 40);
			break;
		case OPT_MAX_REGISTRATIONS:
			max_registrations = cli_uint_opt(
			    "--max-registrations", p.arg, 1, 100000000);
			break;
		case OPT_NO_CGROUP:
			no_cgroup = 1;
			break;
		case OPT_PERSIST:
			se.persist = p.arg;
			break;
		case OPT_STATE:
			state = p.arg;
			break;
		case OPT_ADVERTISE_URL:
			copts.url = p.arg;
			break;
		case OPT_ETCD:
			etcd.endpoints = p.arg;
			break;
		case OPT_ETCD_PREFIX:
			etcd.prefix = p.arg;
			break;
		case OPT_ETCD_CACERT:
			etcd.cacert = p.arg;
			break;
		case OPT_ETCD_USER_FILE:
			etcd.user_file = p.arg;
			break;
		case OPT_COMMIT_TIMEOUT:
			commit_timeout = (unsigned)cli_uint_opt(
			    "--commit-timeout", p.arg, 1, 3600);
			break;
		case OPT_LEASE_TTL:
			copts.lease_ttl = (unsigned)cli_uint_opt("--lease-ttl",
			    p.arg, CLUSTER_LEASE_TTL_MIN, 3600);
			break;
		}
	}
	if (p.rest == NULL)
		cli_usage_error("expected -- PROGRAM [ARG ...]");
	if (etcd.endpoints != NULL && state != NULL)
		cli_usage_error("--etcd and --state exclude each other");
	se.mat.argv = p.rest;
	se.mat.envp = environ;
	if (materializer_check(&se.mat, &eb) == -1)
		cli_usage_error("%s", eb.msg);
	se.mat.cancel = &se.cancel;
	if (se.mat.max_output < se.mat.limits.max_total_size)
		se.mat.limits.max_total_size = se.mat.max_output;
	/*
	 * --max-output bounds the result already, and a file object takes
	 * some bytes of it: a fleet of 100 000 nodes with a file each plus
	 * shared ones must not stop at the default entry cap of bundles.
	 */
	if (se.mat.limits.max_entries < se.mat.max_output /
	    MATERIALIZER_FILE_MIN_BYTES)
		se.mat.limits.max_entries = se.mat.max_output /
		    MATERIALIZER_FILE_MIN_BYTES;
	if (state != NULL && (store = store_journal_open(state, &eb)) == NULL)
		cli_die_eb(&eb);
	/* The store lists and watches etcd from its own thread. */
	if (etcd.endpoints != NULL &&
	    ((se.etcd = etcd_new(&etcd, &eb)) == NULL ||
	    (store = store_etcd_new(se.etcd, &eb)) == NULL))
		cli_die_eb(&eb);
	if ((se.registry = registry_new(max_registrations, store, &eb)) ==
	    NULL)
		cli_die_eb(&eb);
	registry_set_max_bytes(se.registry, max_registration_bytes);
	registry_set_commit_timeout(se.registry, commit_timeout * 1000);
	if (state != NULL)
		diag_warn("state %s: %zu registrations, generation %lu", state,
		    registry_count(se.registry),
		    registry_generation(se.registry));
	exec_sched_init(&se.sched, se.debounce_ms);
	/* A replayed set changed long ago: its run is due at once. */
	gen0 = registry_generation(se.registry);
	exec_sched_changed(&se.sched, gen0, 0);
	exec_cache_init(&se.cache);
	pthread_rwlock_init(&se.result_lock, NULL);
	pthread_rwlock_init(&se.override_lock, NULL);
	pthread_mutex_init(&se.override_save, NULL);
	strmap_init(&se.override_index);
	if (state != NULL) {
		if (asprintf(&se.overrides_path, "%s%s", state,
		    OVERRIDES_SUFFIX) == -1)
			cli_die(EC_INTERNAL, "out of memory");
		overrides_load(&se);
	}
	pthread_mutex_init(&se.lock, NULL);
	if (clock_cond_init(&se.cond) != 0)
		cli_die(EC_INTERNAL, "cannot make a condition variable");
	/* Changes come from the mirror, wherever they were made. */
	registry_on_change(se.registry, set_changed, &se);
	if (registry_generation(se.registry) != gen0)
		changed(&se);	/* applied before the hook was set */
	se.result.outcome = MATERIALIZER_NOT_READY;
	if (state != NULL && asprintf(&bindings, "%s%s", state,
	    NODE_AUTH_BINDINGS_SUFFIX) == -1)
		cli_die(EC_INTERNAL, "out of memory");
	se.auth = cli_server_node_auth(&server, bindings);
	/* No more bindings than registrations: a flood of names binds none. */
	if (se.auth != NULL)
		node_auth_set_max_bound(se.auth, max_registrations);
	/* After every start-up check: a refused start says only why. */
	contain(&se, no_cgroup);
	se.srv = cli_server_start(&server, routes,
	    nitems(routes), &se, metrics);
	if (etcd.endpoints != NULL) {
		copts.etcd = se.etcd;
		if (copts.url == NULL)
			copts.url = http_server_url(se.srv);
		copts.on_leader = leadership;
		copts.on_result = result_event;
		copts.arg = &se;
		if ((cluster = cluster_new(&copts, &eb)) == NULL)
			cli_die_eb(&eb);
		/* The registry's hook reads it (changed()), under se.lock. */
		pthread_mutex_lock(&se.lock);
		se.cluster = cluster;
		se.sync = 1;
		pthread_mutex_unlock(&se.lock);
	}
	if (pthread_create(&se.worker, NULL, worker, &se) != 0)
		cli_die(EC_INTERNAL, "cannot start the worker thread");
	cli_server_wait(se.auth != NULL ? reload_tokens : NULL, se.auth);
	/*
	 * Stop the worker first: a run in progress is cut short.  The
	 * cancel is set under the lock, where a leader's worker clears a
	 * stale one before a run.
	 */
	pthread_mutex_lock(&se.lock);
	se.stopping = 1;
	__atomic_store_n(&se.cancel, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&se.cond);
	pthread_mutex_unlock(&se.lock);
	pthread_join(se.worker, NULL);
	/* Revokes the lease: another instance leads at once. */
	cluster_free(se.cluster);
	/* No request is left: every reference but these is dropped. */
	http_server_stop(se.srv);
	exec_cache_release(&se.cache, served_drop);
	served_drop(se.result.served);
	registry_free(se.registry);
	etcd_free(se.etcd);	/* after the store that borrows it */
	pthread_cond_destroy(&se.cond);
	pthread_mutex_destroy(&se.lock);
	pthread_rwlock_destroy(&se.result_lock);
	for (i = 0; i < se.noverrides; i++) {
		override_body_drop(se.overrides[i].answer);
		artifact_set_release(&se.overrides[i].files);
	}
	free(se.overrides);
	strmap_release(&se.override_index);
	pthread_rwlock_destroy(&se.override_lock);
	pthread_mutex_destroy(&se.override_save);
	free(se.overrides_path);
	node_auth_free(se.auth);
	free(bindings);
	cli_server_release(&server);
	return EC_OK;
}
