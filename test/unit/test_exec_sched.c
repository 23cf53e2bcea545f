/*
 * Unit tests for lib/exec_sched.c on a fake clock: debounce and its cap,
 * the late change notice that used to leave a burst's start stale, the
 * back-off, the settled-result cache and the read-your-writes rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "exec_sched.h"
#include "check.h"
#include "banned.h"

#define DEB	100		/* a debounce, in fake milliseconds */
#define CAP	((uint64_t)EXEC_SCHED_DEBOUNCE_CAP * DEB)

/* One run on the fake clock: start at now, end at end. */
static void
run(struct exec_sched *s, unsigned long snapshot_gen,
    enum materializer_outcome outcome, uint64_t end)
{
	exec_sched_start(s);
	exec_sched_finish(s, snapshot_gen, outcome, end);
}

static void
test_idle(void)
{
	struct exec_sched s;

	exec_sched_init(&s, DEB);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	/* An empty registry replayed at start needs no run. */
	exec_sched_changed(&s, 0, 0);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	/* A replayed set is due at once. */
	exec_sched_changed(&s, 7, 0);
	CHECK(exec_sched_due(&s) <= DEB);
	run(&s, 7, MATERIALIZER_READY, 5);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
}

static void
test_debounce(void)
{
	struct exec_sched s;
	uint64_t t;
	unsigned long gen;

	exec_sched_init(&s, DEB);
	exec_sched_changed(&s, 1, 1000);
	CHECK(exec_sched_due(&s) == 1000 + DEB);
	/* Another change inside the debounce moves the run on. */
	exec_sched_changed(&s, 2, 1050);
	CHECK(exec_sched_due(&s) == 1050 + DEB);
	/* A steady trickle runs at the cap after its first change. */
	for (t = 1100, gen = 3; t < 1000 + 2 * CAP; t += DEB / 2, gen++)
		exec_sched_changed(&s, gen, t);
	CHECK(exec_sched_due(&s) == 1000 + CAP);
	run(&s, gen - 1, MATERIALIZER_READY, 1000 + CAP + 10);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	/* The next burst starts its own cap. */
	exec_sched_changed(&s, gen, 5000);
	CHECK(exec_sched_due(&s) == 5000 + DEB);
}

/*
 * The race of issue 8: a registration moves the generation (under the
 * registry's lock) before its handler notes the change (under se->lock).
 * A worker that runs in between takes the change in its snapshot; the
 * late notice must leave nothing pending, and the next burst, long after,
 * must coalesce over a debounce instead of running at once.
 */
static void
test_late_notice(void)
{
	struct exec_sched s;

	exec_sched_init(&s, DEB);
	exec_sched_changed(&s, 1, 1000);		/* burst: gen 1 */
	CHECK(exec_sched_due(&s) == 1000 + DEB);
	/* At 1100 gen 2 is in the registry; its notice is not yet in. */
	run(&s, 2, MATERIALIZER_READY, 1150);	/* snapshot saw gen 2 */
	exec_sched_changed(&s, 2, 1160);		/* the late notice */
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	/* A burst much later: due a debounce after it, not at once. */
	exec_sched_changed(&s, 3, 9000);
	CHECK(exec_sched_due(&s) == 9000 + DEB);
	exec_sched_changed(&s, 4, 9050);
	CHECK(exec_sched_due(&s) == 9050 + DEB);

	/* The notice arrives during the run, after the snapshot. */
	exec_sched_init(&s, DEB);
	exec_sched_changed(&s, 1, 1000);
	exec_sched_start(&s);
	exec_sched_changed(&s, 2, 1120);		/* in the snapshot */
	exec_sched_finish(&s, 2, MATERIALIZER_READY, 1150);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	exec_sched_changed(&s, 3, 9000);
	CHECK(exec_sched_due(&s) == 9000 + DEB);
}

/* A change the run's snapshot missed runs again, as a new burst. */
static void
test_change_during_run(void)
{
	struct exec_sched s;

	exec_sched_init(&s, DEB);
	exec_sched_changed(&s, 1, 1000);
	exec_sched_start(&s);
	exec_sched_changed(&s, 2, 1300);		/* after the snapshot */
	exec_sched_finish(&s, 1, MATERIALIZER_READY, 1400);
	CHECK(exec_sched_due(&s) == 1300 + DEB);
	/* A notice out of order within a burst still counts as a change. */
	exec_sched_changed(&s, 4, 1350);
	exec_sched_changed(&s, 3, 1360);
	CHECK(exec_sched_due(&s) == 1360 + DEB);
	run(&s, 4, MATERIALIZER_NOT_READY, 1500);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
}

static void
test_backoff(void)
{
	struct exec_sched s;
	uint64_t t = 1000, want = EXEC_SCHED_BACKOFF_MIN_MS;
	int i;

	exec_sched_init(&s, DEB);
	exec_sched_changed(&s, 1, t);
	/* Failures of one set double the delay up to the maximum. */
	for (i = 0; i < 8; i++) {
		run(&s, 1, i % 2 ? MATERIALIZER_TEMPFAIL :
		    MATERIALIZER_FAILED, t);
		CHECK(exec_sched_due(&s) == t + want);
		t += want;
		want = want * 2 > EXEC_SCHED_BACKOFF_MAX_MS ?
		    EXEC_SCHED_BACKOFF_MAX_MS : want * 2;
	}
	CHECK(want == EXEC_SCHED_BACKOFF_MAX_MS);
	/* A new set while backing off runs after its debounce ... */
	exec_sched_changed(&s, 2, t - 500);
	CHECK(exec_sched_due(&s) == t - 500 + DEB);
	/* ... and its failure backs off from the start. */
	run(&s, 2, MATERIALIZER_FAILED, t);
	CHECK(exec_sched_due(&s) == t + EXEC_SCHED_BACKOFF_MIN_MS);
	/* A settled outcome ends the retries. */
	run(&s, 2, MATERIALIZER_READY, t + 2000);
	CHECK(exec_sched_due(&s) == EXEC_SCHED_NEVER);
	run(&s, 2, MATERIALIZER_FAILED, t + 3000);
	CHECK(exec_sched_due(&s) == t + 3000 + EXEC_SCHED_BACKOFF_MIN_MS);
}

static void
digest_of(unsigned char d[REGISTRY_DIGEST_LEN], int n)
{
	memset(d, 0, REGISTRY_DIGEST_LEN);
	d[0] = (unsigned char)n;
	d[REGISTRY_DIGEST_LEN - 1] = (unsigned char)(n * 7);
}

static int released;

static void
count_release(void *v)
{
	(void)v;
	released++;
}

static void
test_cache(void)
{
	unsigned char a[REGISTRY_DIGEST_LEN], b[REGISTRY_DIGEST_LEN],
	    c[REGISTRY_DIGEST_LEN], d[REGISTRY_DIGEST_LEN];
	int va, vb, vc, vd, vb2;
	enum materializer_outcome o;
	struct exec_cache cache;
	void *v;

	digest_of(a, 1);
	digest_of(b, 2);
	digest_of(c, 3);
	digest_of(d, 4);
	exec_cache_init(&cache);
	CHECK(!exec_cache_find(&cache, a, &o, &v));
	CHECK(exec_cache_put(&cache, a, MATERIALIZER_READY, &va) == NULL);
	CHECK(exec_cache_put(&cache, b, MATERIALIZER_NOT_READY, &vb) ==
	    NULL);
	CHECK(exec_cache_put(&cache, c, MATERIALIZER_READY, &vc) == NULL);
	/* A, B, then A again: found, and now the most recent. */
	CHECK(exec_cache_find(&cache, a, &o, &v) && v == &va &&
	    o == MATERIALIZER_READY);
	CHECK(exec_cache_find(&cache, b, &o, &v) && v == &vb &&
	    o == MATERIALIZER_NOT_READY);
	/* A fourth set displaces the least recently used, C. */
	CHECK(exec_cache_put(&cache, d, MATERIALIZER_READY, &vd) == &vc);
	CHECK(!exec_cache_find(&cache, c, &o, &v));
	CHECK(exec_cache_find(&cache, d, &o, &v) && v == &vd);
	/* A set stored again replaces its own slot. */
	CHECK(exec_cache_put(&cache, b, MATERIALIZER_READY, &vb2) == &vb);
	CHECK(exec_cache_find(&cache, a, &o, &v) && v == &va);
	/* NULL values (not ready) are kept and not released. */
	CHECK(exec_cache_put(&cache, c, MATERIALIZER_NOT_READY, NULL) ==
	    &vd);
	CHECK(exec_cache_find(&cache, c, &o, &v) && v == NULL &&
	    o == MATERIALIZER_NOT_READY);
	exec_cache_release(&cache, count_release);
	CHECK(released == 2);		/* va and vb2 */
	CHECK(!exec_cache_find(&cache, a, &o, &v));
}

/*
 * Answers a node whose registration generation node_gen made (0: none),
 * asking since every change up to generation since was answered, with a
 * result of generation rgen.
 */
static enum exec_answer
answer(unsigned long node_gen, unsigned long since, unsigned long rgen,
    enum materializer_outcome o, int has_files)
{
	struct exec_asker a = { node_gen, since };
	struct exec_result_view r = { rgen, o, has_files };

	return exec_sched_answer(&a, &r);
}

static void
test_answer(void)
{
	/* Nothing answers before the first result or unregistered. */
	CHECK(answer(1, 1, 0, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	CHECK(answer(0, 5, 5, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	/* The result of the generation the request came at, by outcome. */
	CHECK(answer(6, 6, 6, MATERIALIZER_READY, 1) == EXEC_ANSWER_FILES);
	CHECK(answer(6, 6, 6, MATERIALIZER_READY, 0) == EXEC_ANSWER_MISSING);
	CHECK(answer(6, 6, 6, MATERIALIZER_NOT_READY, 0) == EXEC_ANSWER_WAIT);
	CHECK(answer(6, 6, 6, MATERIALIZER_TEMPFAIL, 0) == EXEC_ANSWER_WAIT);
	CHECK(answer(6, 6, 6, MATERIALIZER_FAILED, 0) == EXEC_ANSWER_FAILED);
	/*
	 * An older set's result, of a generation before the request came:
	 * read your writes says wait for the run that is due.
	 */
	CHECK(answer(5, 6, 5, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	CHECK(answer(5, 6, 5, MATERIALIZER_FAILED, 0) == EXEC_ANSWER_WAIT);
	/*
	 * Later than the request and the node's registration (generation 5
	 * made it): served, however many nodes registered since.
	 */
	CHECK(answer(5, 6, 7, MATERIALIZER_READY, 1) == EXEC_ANSWER_FILES);
	CHECK(answer(4, 6, 7, MATERIALIZER_READY, 0) == EXEC_ANSWER_MISSING);
	CHECK(answer(4, 6, 7, MATERIALIZER_FAILED, 0) == EXEC_ANSWER_FAILED);
	/*
	 * A result without the node's current registration, as when it
	 * registered again while its request was parked, or with etcd the
	 * current one before the mirror's SYNCED of the node's change.
	 */
	CHECK(answer(8, 6, 7, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	CHECK(answer(8, 8, 7, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	/*
	 * A change answered before the request that the mirror did not show
	 * yet (a commit at 9, the mirror at 7): the result of 7 waits.
	 */
	CHECK(answer(4, 9, 7, MATERIALIZER_READY, 1) == EXEC_ANSWER_WAIT);
	CHECK(answer(4, 9, 9, MATERIALIZER_READY, 1) == EXEC_ANSWER_FILES);
	/* A later result still says not ready: wait for the next. */
	CHECK(answer(4, 6, 7, MATERIALIZER_NOT_READY, 0) == EXEC_ANSWER_WAIT);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_idle();
	test_debounce();
	test_late_notice();
	test_change_during_run();
	test_backoff();
	test_cache();
	test_answer();
	return check_done("test_exec_sched");
}
