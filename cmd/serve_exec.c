/*
 * cfgsync serve-exec: registration-backed serving.  Nodes register; a
 * worker thread runs the materializer on a snapshot of the registration
 * set when the set changes (bursts coalesced over --debounce) and turns a
 * ready result into a payload_index, which POST /node answers from.
 *
 * Every result carries the generation of the snapshot it was computed
 * from and is served only while the registry is still at that generation,
 * so a node never gets files computed for another set.  Polls only read:
 * they never start a process.  Long polls park until the worker installs
 * a result (http_server_wake) or their wait runs out.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "bundle.h"
#include "cli.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "http_server.h"
#include "materializer.h"
#include "payload_index.h"
#include "prom.h"
#include "protocol.h"
#include "registration.h"
#include "registry.h"
#include "store.h"
#include "banned.h"

extern char **environ;

#define DEBOUNCE_MS		100
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		30000
#define MAX_REGISTRATIONS	100000
#define SNAPSHOT_MAX		(SIZE_MAX / 2)
#define SETTLED_MAX		3	/* results kept by registration set */

static const char usage[] =
    "usage: cfgsync serve-exec [-q] [--listen [HOST:]PORT] "
    "[--port-file FILE]\n"
    "           [--token-file FILE] [--tls-cert FILE --tls-key FILE]\n"
    "           [--max-body BYTES] [--max-connections N] "
    "[--connection-timeout SECONDS]\n"
    "           [--threads N] [--log-format text|json] "
    "[--materializer-timeout SECONDS]\n"
    "           [--max-output BYTES] [--max-registrations N] "
    "[--debounce MS]\n"
    "           [--state FILE] [--persist FILE] -- PROGRAM [ARG ...]\n";

/* What the last materializer run said, for one registry generation. */
struct result {
	/* of its snapshot; 0: none yet */
	unsigned long		 generation;
	enum materializer_outcome outcome;
	struct payload_index	*index;		/* READY */
	char			 reason[MATERIALIZER_REASON_MAX];
};

/*
 * A settled (ready or not ready) result, kept for its registration set, so
 * a set seen again (A, B, then A) is served without another run.  The
 * cache owns the payload indexes; se->result borrows one.
 */
struct settled {
	unsigned char		 digest[REGISTRY_DIGEST_LEN];
	enum materializer_outcome outcome;
	struct payload_index	*index;
	uint64_t		 used;		/* for least-recently-used */
	int			 valid;
};

struct serve_exec {
	struct registry		*registry;
	struct materializer	 mat;
	const char		*persist;
	unsigned		 debounce_ms;
	struct http_server	*srv;

	pthread_rwlock_t	 result_lock;	/* guards result */
	struct result		 result;

	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 cond;
	uint64_t		 last_change_ms;	/* newest change */
	uint64_t		 pending_since_ms;	/* first unhandled */
	int			 stopping;
	pthread_t		 worker;

	struct settled		 settled[SETTLED_MAX];	/* worker only */
	uint64_t		 settled_clock;
	int			 cancel;	/* atomic: stop a running run */
	unsigned long		 runs[4];	/* atomic, by outcome */
	double			 run_seconds;	/* worker thread only */
	struct prom_histogram	 run_duration;	/* atomic */
	unsigned long		 reused;
};

static const char *const outcome_names[] = {
	"ready", "not_ready", "tempfail", "failed"
};

/* Tells the worker the set changed. */
static void
changed(struct serve_exec *se)
{
	pthread_mutex_lock(&se->lock);
	se->last_change_ms = clock_ms();
	if (se->pending_since_ms == 0)
		se->pending_since_ms = se->last_change_ms;
	pthread_cond_signal(&se->cond);
	pthread_mutex_unlock(&se->lock);
}

static void
on_register(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	struct registration reg;
	struct errbuf eb;

	if (cli_request_registration(req, resp, &reg) == -1)
		return;
	switch (registry_put(se->registry, &reg, time(NULL), &eb)) {
	case REGISTRY_CHANGED:
		changed(se);
		/* FALLTHROUGH */
	case REGISTRY_UNCHANGED:
		resp->status = 202;
		break;
	case REGISTRY_FULL:
		http_response_error(resp, 503, PROTOCOL_UNAVAILABLE,
		    "registration limit reached: %s not registered",
		    reg.identifier);
		break;
	default:
		diag_warn("register %s: %s", reg.identifier, eb.msg);
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "registration of %s not stored", reg.identifier);
	}
	registration_release(&reg);
}

static void
unlock_result(void *arg)
{
	struct serve_exec *se = arg;

	pthread_rwlock_unlock(&se->result_lock);
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
	const struct http_body *body;
	struct registration reg;
	unsigned long gen;

	if (cli_request_registration(req, resp, &reg) == -1)
		return;
	registration_release(&reg);
	gen = registry_generation(se->registry);
	if (!registry_contains(se->registry, req->identifier)) {
		not_ready(req, resp);
		return;
	}
	pthread_rwlock_rdlock(&se->result_lock);
	if (se->result.generation != gen || gen == 0) {
		pthread_rwlock_unlock(&se->result_lock);
		not_ready(req, resp);
		return;
	}
	switch (se->result.outcome) {
	case MATERIALIZER_READY:
		if ((body = payload_index_find(se->result.index,
		    req->identifier)) != NULL) {
			/* Held until the prepared body is queued. */
			resp->prepared = body;
			resp->done = unlock_result;
			resp->done_arg = se;
			return;
		}
		http_response_error(resp, 404, PROTOCOL_MISSING_CONFIG,
		    "missing config for host %s", req->identifier);
		break;
	case MATERIALIZER_NOT_READY:
	case MATERIALIZER_TEMPFAIL:
		not_ready(req, resp);
		break;
	case MATERIALIZER_FAILED:
		http_response_error(resp, 500, PROTOCOL_INTERNAL, "%s",
		    se->result.reason);
		break;
	}
	pthread_rwlock_unlock(&se->result_lock);
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

static void
on_delete(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct serve_exec *se = ctx;
	const char *id = req->path + strlen("/registrations/");
	struct errbuf eb;

	if (registration_identifier_check(id, strlen(id), &eb) == -1) {
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return;
	}
	(void)snprintf(req->identifier, sizeof(req->identifier), "%s", id);
	switch (registry_remove(se->registry, id, &eb)) {
	case 1:
		changed(se);
		resp->status = 204;
		break;
	case 0:
		http_response_error(resp, 404, PROTOCOL_NOT_FOUND,
		    "%s is not registered", id);
		break;
	default:
		diag_warn("delete %s: %s", id, eb.msg);
		http_response_error(resp, 500, PROTOCOL_INTERNAL,
		    "removal of %s not stored", id);
	}
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
	return rc;
}

/* Swaps in a new result and wakes the parked polls. */
/*
 * Swaps in a new result (its index borrowed from the cache) and wakes the
 * parked polls.  Once this returns no request can reach the old index.
 */
static void
install(struct serve_exec *se, const struct result *fresh)
{
	pthread_rwlock_wrlock(&se->result_lock);
	se->result = *fresh;
	pthread_rwlock_unlock(&se->result_lock);
	http_server_wake(se->srv);
}

/* The settled result for digest, or NULL. */
static struct settled *
settled_find(struct serve_exec *se, const unsigned char *digest)
{
	size_t i;

	for (i = 0; i < SETTLED_MAX; i++)
		if (se->settled[i].valid && memcmp(se->settled[i].digest,
		    digest, REGISTRY_DIGEST_LEN) == 0)
			return &se->settled[i];
	return NULL;
}

/*
 * The slot for a new settled result: a free one, else the least recently
 * used, whose index the caller frees after install() (it is not current).
 */
static struct settled *
settled_victim(struct serve_exec *se)
{
	struct settled *v = &se->settled[0];
	size_t i;

	for (i = 0; i < SETTLED_MAX; i++) {
		if (!se->settled[i].valid)
			return &se->settled[i];
		if (se->settled[i].used < v->used)
			v = &se->settled[i];
	}
	return v;
}

static void
persist(struct serve_exec *se, const struct bundle *b)
{
	struct errbuf eb;
	struct buf doc;

	buf_init(&doc, SIZE_MAX);
	if (bundle_render_json(&doc, b) == -1 || buf_addc(&doc, '\n') == -1)
		diag_warn("persist %s: out of memory", se->persist);
	else if (fsx_write_atomic(se->persist, doc.data, doc.len, 0644,
	    &eb) == -1)
		diag_warn("persist: %s", eb.msg);
	buf_release(&doc);
}

/*
 * One materializer run for the registry's current set, or none when the
 * set settled before (its result is served again).  Returns the outcome.
 */
static enum materializer_outcome
run_once(struct serve_exec *se)
{
	unsigned char digest[REGISTRY_DIGEST_LEN];
	struct materializer_result mr;
	struct settled *hit, *slot, old;
	struct result fresh;
	struct errbuf eb;
	struct buf snap;
	unsigned long gen;
	size_t count;

	buf_init(&snap, SNAPSHOT_MAX);
	if (registry_snapshot(se->registry, &snap, &gen, &count,
	    digest) == -1) {
		buf_release(&snap);
		diag_warn("snapshot: out of memory");
		return MATERIALIZER_FAILED;
	}
	memset(&fresh, 0, sizeof(fresh));
	fresh.generation = gen;
	if ((hit = settled_find(se, digest)) != NULL) {
		buf_release(&snap);
		hit->used = ++se->settled_clock;
		fresh.outcome = hit->outcome;
		fresh.index = hit->index;
		install(se, &fresh);
		pthread_mutex_lock(&se->lock);
		se->reused++;
		pthread_mutex_unlock(&se->lock);
		return fresh.outcome;
	}
	if (materializer_run(&se->mat, snap.data, snap.len, gen, count, &mr,
	    &eb) == -1) {
		mr.outcome = MATERIALIZER_FAILED;
		(void)snprintf(mr.reason, sizeof(mr.reason), "%s", eb.msg);
	}
	buf_release(&snap);
	__atomic_fetch_add(&se->runs[mr.outcome], 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&se->lock);
	se->run_seconds += mr.seconds;
	pthread_mutex_unlock(&se->lock);
	prom_histogram_observe(&se->run_duration, (uint64_t)(mr.seconds * 1e9));
	fresh.outcome = mr.outcome;
	if (mr.outcome == MATERIALIZER_READY) {
		if (se->persist != NULL)
			persist(se, &mr.bundle);
		if ((fresh.index = payload_index_new(&mr.bundle, &eb)) ==
		    NULL) {
			fresh.outcome = MATERIALIZER_FAILED;
			(void)snprintf(mr.reason, sizeof(mr.reason), "%s",
			    eb.msg);
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
	slot = settled_victim(se);
	old = *slot;
	memcpy(slot->digest, digest, sizeof(digest));
	slot->outcome = fresh.outcome;
	slot->index = fresh.index;
	slot->used = ++se->settled_clock;
	slot->valid = 1;
	install(se, &fresh);
	/* Not current (install has moved on): no request can reach it. */
	if (old.valid)
		payload_index_free(old.index);
	return fresh.outcome;
}

static void *
worker(void *arg)
{
	struct serve_exec *se = arg;
	unsigned long done_gen = 0;
	uint64_t now, due, retry_at = 0;
	unsigned backoff = BACKOFF_MIN_MS;
	enum materializer_outcome outcome;
	struct timespec ts;
	int run;

	pthread_mutex_lock(&se->lock);
	while (!se->stopping) {
		now = clock_ms();
		run = 0;
		due = 0;
		if (registry_generation(se->registry) != done_gen) {
			/* Quiet for a debounce, or pending ten of them. */
			due = se->last_change_ms + se->debounce_ms;
			if (se->pending_since_ms != 0 &&
			    se->pending_since_ms +
			    10ull * se->debounce_ms < due)
				due = se->pending_since_ms +
				    10ull * se->debounce_ms;
			run = now >= due;
		} else if (retry_at != 0) {
			due = retry_at;
			run = now >= due;
		}
		if (!run) {
			if (due == 0) {
				pthread_cond_wait(&se->cond, &se->lock);
				continue;
			}
			ts = clock_deadline(due * 1000000u);
			(void)pthread_cond_timedwait(&se->cond, &se->lock,
			    &ts);
			continue;
		}
		if (registry_generation(se->registry) != done_gen)
			backoff = BACKOFF_MIN_MS;
		se->pending_since_ms = 0;
		done_gen = registry_generation(se->registry);
		pthread_mutex_unlock(&se->lock);
		outcome = run_once(se);
		pthread_mutex_lock(&se->lock);
		if (outcome == MATERIALIZER_FAILED ||
		    outcome == MATERIALIZER_TEMPFAIL) {
			/* Ask again later, not on every poll. */
			retry_at = clock_ms() + backoff;
			backoff = backoff * 2 > BACKOFF_MAX_MS ?
			    BACKOFF_MAX_MS : backoff * 2;
		} else {
			retry_at = 0;
			backoff = BACKOFF_MIN_MS;
		}
	}
	pthread_mutex_unlock(&se->lock);
	return NULL;
}

enum {
	OPT_DEBOUNCE = CLI_OPT_OWN,
	OPT_MATERIALIZER_TIMEOUT,
	OPT_MAX_OUTPUT,
	OPT_MAX_REGISTRATIONS,
	OPT_PERSIST,
	OPT_STATE
};

int
cmd_serve_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_SERVER_LONGOPTS,
		{ "debounce",		  required_argument, NULL,
		    OPT_DEBOUNCE },
		{ "help",		  no_argument,	     NULL, 'h' },
		{ "materializer-timeout", required_argument, NULL,
		    OPT_MATERIALIZER_TIMEOUT },
		{ "max-output",		  required_argument, NULL,
		    OPT_MAX_OUTPUT },
		{ "max-registrations",	  required_argument, NULL,
		    OPT_MAX_REGISTRATIONS },
		{ "persist",		  required_argument, NULL,
		    OPT_PERSIST },
		{ "state",		  required_argument, NULL, OPT_STATE },
		{ NULL, 0, NULL, 0 }
	};
	static const struct http_route routes[] = {
		{ "POST", "/init-with-node", "init-with-node", on_node },
		{ "POST", "/node", "node", on_node },
		{ "POST", "/register", "register", on_register },
		{ "GET", "/registrations", "registrations", on_list },
		{ "DELETE", "/registrations/", "registrations", on_delete },
	};
	struct serve_exec se;
	struct cli_server server;
	struct store *store = NULL;
	struct errbuf eb;
	const char *state = NULL;
	size_t max_registrations = MAX_REGISTRATIONS, i;
	int ch;

	memset(&se, 0, sizeof(se));
	cli_server_init(&server);
	se.debounce_ms = DEBOUNCE_MS;
	se.mat.timeout = MATERIALIZER_TIMEOUT;
	se.mat.max_output = MATERIALIZER_MAX_OUTPUT;
	bundle_limits_default(&se.mat.limits);
	while ((ch = getopt_long(argc, argv, "+hq", longopts, NULL)) != -1) {
		if (cli_server_opt(&server, usage, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			cli_help(usage);
		case OPT_DEBOUNCE:
			se.debounce_ms = (unsigned)cli_uint_opt(usage,
			    "--debounce", optarg, 0, 60000);
			break;
		case OPT_MATERIALIZER_TIMEOUT:
			se.mat.timeout = (unsigned)cli_uint_opt(usage,
			    "--materializer-timeout", optarg, 1, 86400);
			break;
		case OPT_MAX_OUTPUT:
			se.mat.max_output = cli_uint_opt(usage, "--max-output",
			    optarg, 2, 1UL << 34);
			break;
		case OPT_MAX_REGISTRATIONS:
			max_registrations = cli_uint_opt(usage,
			    "--max-registrations", optarg, 1, 100000000);
			break;
		case OPT_PERSIST:
			se.persist = optarg;
			break;
		case OPT_STATE:
			state = optarg;
			break;
		default:
			cli_bad_option(usage);
		}
	}
	if (optind >= argc || strcmp(argv[optind - 1], "--") != 0)
		cli_usage_error(usage, "expected -- PROGRAM [ARG ...]");
	se.mat.argv = argv + optind;
	se.mat.envp = environ;
	se.mat.cancel = &se.cancel;
	if (se.mat.max_output < se.mat.limits.max_total_size)
		se.mat.limits.max_total_size = se.mat.max_output;
	if (state != NULL && (store = store_journal_open(state, &eb)) == NULL)
		cli_die_eb(&eb);
	if ((se.registry = registry_new(max_registrations, store, &eb)) ==
	    NULL)
		cli_die_eb(&eb);
	if (state != NULL)
		diag_warn("state %s: %zu registrations, generation %lu", state,
		    registry_count(se.registry),
		    registry_generation(se.registry));
	pthread_rwlock_init(&se.result_lock, NULL);
	pthread_mutex_init(&se.lock, NULL);
	if (clock_cond_init(&se.cond) != 0)
		cli_die(EC_INTERNAL, "cannot make a condition variable");
	se.result.outcome = MATERIALIZER_NOT_READY;
	se.srv = cli_server_start(&server, routes,
	    sizeof(routes) / sizeof(routes[0]), &se, metrics);
	if (pthread_create(&se.worker, NULL, worker, &se) != 0)
		cli_die(EC_INTERNAL, "cannot start the worker thread");
	cli_server_wait(NULL, NULL);
	/* Stop the worker first: a run in progress is cut short. */
	__atomic_store_n(&se.cancel, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&se.lock);
	se.stopping = 1;
	pthread_cond_signal(&se.cond);
	pthread_mutex_unlock(&se.lock);
	pthread_join(se.worker, NULL);
	http_server_stop(se.srv);
	for (i = 0; i < SETTLED_MAX; i++)
		payload_index_free(se.settled[i].index);
	registry_free(se.registry);
	pthread_cond_destroy(&se.cond);
	pthread_mutex_destroy(&se.lock);
	pthread_rwlock_destroy(&se.result_lock);
	cli_server_release(&server);
	return EC_OK;
}
