/*
 * cfgsync fetch: register, wait until this node's files are ready, fetch
 * them in one payload, write them all or nothing, and optionally exec the
 * rest of argv, so `cfgsync fetch ... -- app` is a whole entrypoint.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "buf.h"
#include "cli.h"
#include "cli_client.h"
#include "clock.h"
#include "cmds.h"
#include "diag.h"
#include "errbuf.h"
#include "exitcode.h"
#include "node_client.h"
#include "output.h"
#include "supervise.h"
#include "banned.h"

#define FETCH_MAX_ROUTES	64
#define ON_CHANGE_TIMEOUT_S	30
#define ON_CHANGE_TIMEOUT_MAX	86400
/* How often the supervisor looks at the watch between signals. */
#define SUPERVISE_TICK_MS	100
/* How long a child restarted or left behind gets before SIGKILL. */
#define SUPERVISE_STOP_MS	10000

struct fetch_opts {
	struct output_route	 routes[FETCH_MAX_ROUTES];
	char			*route_args[FETCH_MAX_ROUTES];
	size_t			 nroutes;
	const char		*out_dir;
	const char		*check_cmd;
	const char		*check_dir_cmd;
	unsigned		 check_timeout;
	int			 print;
	int			 watch;
	const char		*on_change;		/* or NULL */
	unsigned		 on_change_timeout;	/* seconds */
	int			 reload_signal;
	int			 restart_on_change;
};

static void
add_route(struct fetch_opts *fo, const char *artifact, const char *target)
{
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error("more than %d routes", FETCH_MAX_ROUTES);
	if (target[0] == '\0' || artifact[0] == '\0')
		cli_usage_error("--route %s=%s: empty side", artifact,
		    target);
	fo->routes[fo->nroutes].artifact = artifact;
	fo->routes[fo->nroutes].target = target;
	fo->nroutes++;
}

/* --route ARTIFACT=PATH; the copy lives until exit. */
static void
route_opt(struct fetch_opts *fo, const char *arg)
{
	char *copy, *eq;

	if ((eq = strchr(arg, '=')) == NULL)
		cli_usage_error("--route %s: not ARTIFACT=PATH", arg);
	if (fo->nroutes == FETCH_MAX_ROUTES)
		cli_usage_error("more than %d routes", FETCH_MAX_ROUTES);
	if ((copy = strdup(arg)) == NULL)
		cli_die(EC_INTERNAL, "out of memory");
	fo->route_args[fo->nroutes] = copy;
	eq = copy + (eq - arg);
	*eq = '\0';
	add_route(fo, copy, eq + 1);
}

/* The CFG_* routes of the original client, after explicit --route. */
static void
env_routes(struct fetch_opts *fo)
{
	const char *v;

	if ((v = getenv("CFG_FILE_PATH")) != NULL && v[0] != '\0')
		add_route(fo, "config.yaml", v);
	if ((v = getenv("CFG_DEPLOYMENT_PATH")) != NULL && v[0] != '\0') {
		add_route(fo, "deployment.yaml", v);
		add_route(fo, "deployment-settings.yaml", v);
	}
}

enum {
	OPT_CHECK_CMD = CLI_OPT_OWN,
	OPT_CHECK_DIR_CMD,
	OPT_CHECK_TIMEOUT,
	OPT_MAX_PAYLOAD,
	OPT_NO_REGISTER,
	OPT_ON_CHANGE,
	OPT_ON_CHANGE_TIMEOUT,
	OPT_OUT,
	OPT_POLL_WAIT,
	OPT_PRINT,
	OPT_RELOAD_SIGNAL,
	OPT_RESTART_ON_CHANGE,
	OPT_ROUTE,
	OPT_WATCH
};

static const struct cli_option fetch_options[] = {
	{ "check-cmd", 0, "CMD", OPT_CHECK_CMD,
	    "run CMD on each staged file {} before any is written" },
	{ "check-dir-cmd", 0, "CMD", OPT_CHECK_DIR_CMD,
	    "run CMD once on a tree {} of the files to be" },
	{ "check-timeout", 0, "SECONDS", OPT_CHECK_TIMEOUT,
	    "give each check this long (default 30)" },
	{ "max-payload", 0, "BYTES", OPT_MAX_PAYLOAD,
	    "largest payload to accept (default 256 MiB)" },
	{ "no-register", 0, NULL, OPT_NO_REGISTER,
	    "skip POST /register, only poll for the files" },
	{ "on-change", 0, "CMD", OPT_ON_CHANGE,
	    "with --watch, run CMD (/bin/sh -c) after each change" },
	{ "on-change-timeout", 0, "SECONDS", OPT_ON_CHANGE_TIMEOUT,
	    "kill --on-change after this long (default 30)" },
	{ "out", 0, "DIR", OPT_OUT,
	    "write every file under DIR, never outside it" },
	{ "poll-wait", 0, "SECONDS", OPT_POLL_WAIT,
	    "long-poll this long (default 30; 0: plain polls)" },
	{ "print", 0, NULL, OPT_PRINT,
	    "print the payload JSON instead of writing files" },
	{ "reload-signal", 0, "SIG", OPT_RELOAD_SIGNAL,
	    "signal COMMAND gets after a change (default HUP)" },
	{ "restart-on-change", 0, NULL, OPT_RESTART_ON_CHANGE,
	    "restart COMMAND after a change, not signal it" },
	{ "route", 0, "ARTIFACT=PATH", OPT_ROUTE,
	    "write one artifact to PATH (repeatable)" },
	{ "watch", 0, NULL, OPT_WATCH,
	    "stay, and rewrite the files whenever they change" },
	CLI_OPTIONS_END
};

static const struct cli_command fetch_command = {
	.name = "fetch",
	.operands = "[-- COMMAND [ARG ...]]",
	.sets = { cli_client_options, cli_client_identity_options,
	    fetch_options, NULL },
};

/* The exit status of a command that could not be run, as env(1) has it. */
static int
exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

/* The options of --watch, kept apart from the one-shot fetch's. */
static void
watch_opt(struct fetch_opts *fo, int id, const char *arg)
{
	switch (id) {
	case OPT_ON_CHANGE:
		if (arg[0] == '\0')
			cli_usage_error("--on-change: empty command");
		fo->on_change = arg;
		break;
	case OPT_ON_CHANGE_TIMEOUT:
		fo->on_change_timeout = (unsigned)cli_uint_opt(
		    "--on-change-timeout", arg, 1, ON_CHANGE_TIMEOUT_MAX);
		break;
	case OPT_RELOAD_SIGNAL:
		if ((fo->reload_signal = supervise_signal_parse(arg)) == -1)
			cli_usage_error("--reload-signal %s: not a signal",
			    arg);
		break;
	case OPT_RESTART_ON_CHANGE:
		fo->restart_on_change = 1;
		break;
	case OPT_WATCH:
		fo->watch = 1;
		break;
	}
}

/* Refuses the options that only mean something with --watch. */
static void
watch_opts_check(const struct fetch_opts *fo, int have_command)
{
	if (fo->watch) {
		if (fo->print)
			cli_usage_error("--print and --watch exclude each "
			    "other");
		if (!have_command && fo->restart_on_change)
			cli_usage_error("--restart-on-change needs a command "
			    "after --");
		return;
	}
	if (fo->on_change != NULL)
		cli_usage_error("--on-change needs --watch");
	if (fo->restart_on_change)
		cli_usage_error("--restart-on-change needs --watch");
}

/*
 * What the watch and the supervisor share.  The watch thread (or, without
 * a command, the only thread) writes the files and runs --on-change under
 * lock, then bumps changes; the supervisor reads changes and failed, and
 * takes lock before it exits so that no write is cut short.
 */
struct watch {
	const struct fetch_opts	*fo;		/* borrowed */
	const struct node_client_opts *nco;	/* borrowed */
	struct output_opts	 oo;
	pthread_mutex_t		 lock;
	atomic_uint		 changes;	/* writes that changed files */
	atomic_int		 failed;	/* the watch ended (eb) */
	struct errbuf		 eb;
};

/* Runs --on-change once and reports how it ended; never fatal. */
static void
run_on_change(const struct fetch_opts *fo)
{
	struct errbuf eb;
	int status, timed_out, code;

	if (supervise_run(fo->on_change, fo->on_change_timeout * 1000UL,
	    &status, &timed_out, &eb) == -1) {
		diag_warn("on-change: %s", eb.msg);
		return;
	}
	if (timed_out)
		diag_warn("on-change: killed after %u s",
		    fo->on_change_timeout);
	else if ((code = supervise_exit_code(status)) != 0)
		diag_warn("on-change: exit %d", code);
}

/*
 * node_client_watch's callback: writes a new payload.  A failed first write
 * ends the watch as it ends a fetch; a later one keeps the old files and
 * has the payload asked for and tried again after the back-off.
 */
static int
watch_payload(void *arg, const struct artifact_set *files, struct errbuf *eb)
{
	struct watch *w = arg;
	struct output_result res;
	struct errbuf err;
	sigset_t stop, old;
	int first = atomic_load(&w->changes) == 0, rc;

	/* A SIGTERM waits for the renames: all or nothing holds. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_mutex_lock(&w->lock);
	memset(&res, 0, sizeof(res));
	w->oo.result = &res;
	(void)pthread_sigmask(SIG_BLOCK, &stop, &old);
	rc = output_install(files, &w->oo, &err);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == -1) {
		pthread_mutex_unlock(&w->lock);
		if (first) {
			*eb = err;
			return -1;
		}
		diag_warn("%s (old files kept)", err.msg);
		return 1;
	}
	diag_info("wrote %zu files, %zu unchanged", res.written,
	    res.unchanged);
	/* A new payload that changes no file is no change to act on. */
	if (first || res.written > 0) {
		if (w->fo->on_change != NULL)
			run_on_change(w->fo);
		atomic_fetch_add(&w->changes, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static void *
watch_thread(void *arg)
{
	struct watch *w = arg;

	(void)node_client_watch(w->nco, watch_payload, w, &w->eb);
	atomic_store(&w->failed, 1);
	return NULL;
}

/* Waits for the child, with SIGKILL once the clock passes kill_ms. */
static void
child_wait(pid_t child, uint64_t kill_ms, int *status)
{
	struct timespec ts = { 0, SUPERVISE_TICK_MS * 1000000L };

	for (;;) {
		if (waitpid(child, status, WNOHANG) == child)
			return;
		if (clock_ms() >= kill_ms)
			(void)kill(child, SIGKILL);
		(void)nanosleep(&ts, NULL);
	}
}

/*
 * Exits with code once no write is under way.  exit, not a return: the
 * watch thread goes on reading the options on cmd_fetch's stack.
 */
static noreturn void
supervise_exit(struct watch *w, int code)
{
	pthread_mutex_lock(&w->lock);
	exit(cli_finish(code));
}

/* Starts the command; dies as an exec would (126, 127) when it cannot. */
static pid_t
child_start(struct watch *w, char **argv)
{
	struct errbuf eb;
	pid_t pid;
	int err;

	if (supervise_spawn(argv, &pid, &err, &eb) == -1) {
		diag_warn("%s", eb.msg);
		supervise_exit(w, exec_status(err));
	}
	return pid;
}

/*
 * fetch --watch -- COMMAND: the watch runs in a thread; this one starts
 * COMMAND after the first write, forwards SIGTERM, SIGINT and SIGHUP to
 * it, signals or restarts it after each change, and exits with its status
 * (128 + the signal when a signal killed it).
 */
static noreturn void
supervise(struct watch *w, char **argv)
{
	struct timespec tick = { 0, SUPERVISE_TICK_MS * 1000000L };
	sigset_t set;
	pthread_t tid;
	pid_t child = 0;
	uint64_t stop_ms = 0;
	unsigned seen = 0, now_changes;
	int sig, status, restarting = 0, stopping = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	/* Blocked before the thread starts, so it inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    pthread_create(&tid, NULL, watch_thread, w) != 0)
		cli_die(EC_INTERNAL, "cannot start the watch");
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			if (child == 0)
				supervise_exit(w, 128 + sig);
			(void)kill(child, sig);
			if (sig != SIGHUP)
				stopping = 1;
		}
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			if (!restarting || stopping)
				supervise_exit(w, supervise_exit_code(status));
			restarting = 0;
			/* It reads the newest files: changes since are seen. */
			seen = atomic_load(&w->changes);
			child = child_start(w, argv);
			diag_info("restarted %s", argv[0]);
		}
		if (restarting && clock_ms() >= stop_ms)
			(void)kill(child, SIGKILL);
		if (atomic_load(&w->failed)) {
			if (child > 0) {
				(void)kill(child, SIGTERM);
				child_wait(child, clock_ms() +
				    SUPERVISE_STOP_MS, &status);
			}
			cli_die_eb(&w->eb);
		}
		now_changes = atomic_load(&w->changes);
		if (now_changes == 0 || now_changes == seen)
			continue;
		if (child == 0 && !restarting) {
			seen = now_changes;
			child = child_start(w, argv);
			continue;
		}
		if (restarting)
			continue;
		seen = now_changes;
		if (!w->fo->restart_on_change) {
			(void)kill(child, w->fo->reload_signal);
			continue;
		}
		(void)kill(child, SIGTERM);
		restarting = 1;
		stop_ms = clock_ms() + SUPERVISE_STOP_MS;
	}
}

/*
 * fetch --watch [-- COMMAND]: writes the files, then rewrites them on each
 * change.  Never returns: it exits on a failure (the codes of a fetch) or,
 * with a command, with its status.
 */
static int
fetch_watch(const struct node_client_opts *nco, struct fetch_opts *fo,
    char **rest)
{
	static struct watch w;	/* the watch thread reads it until exit */

	watch_opts_check(fo, rest != NULL);
	w.fo = fo;
	w.nco = nco;
	w.oo.out_dir = fo->out_dir;
	w.oo.routes = fo->routes;
	w.oo.nroutes = fo->nroutes;
	w.oo.apply_owner = geteuid() == 0;
	w.oo.check_cmd = fo->check_cmd;
	w.oo.check_dir_cmd = fo->check_dir_cmd;
	w.oo.check_timeout = fo->check_timeout;
	w.oo.tmpdir = getenv("TMPDIR");
	/* A file over ulimit -f is EFBIG, exit 6, not a kill. */
	(void)signal(SIGXFSZ, SIG_IGN);
	pthread_mutex_init(&w.lock, NULL);
	if (rest != NULL)
		supervise(&w, rest);
	(void)node_client_watch(nco, watch_payload, &w, &w.eb);
	cli_die_eb(&w.eb);
}

int
cmd_fetch(int argc, char **argv)
{
	struct cli_client client;
	struct cli_parser p;
	struct fetch_opts fo;
	struct output_opts oo;
	struct output_result res;
	struct artifact_set files;
	struct errbuf eb;
	struct buf raw;
	size_t i;
	int id, err;

	memset(&fo, 0, sizeof(fo));
	fo.on_change_timeout = ON_CHANGE_TIMEOUT_S;
	fo.reload_signal = SIGHUP;
	cli_client_init(&client);
	cli_parser_init(&p, &fetch_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_client_opt(&client, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_usage_error("unexpected argument %s (a command "
			    "goes after --)", p.arg);
		case OPT_CHECK_CMD:
			fo.check_cmd = p.arg;
			break;
		case OPT_CHECK_DIR_CMD:
			fo.check_dir_cmd = p.arg;
			break;
		case OPT_CHECK_TIMEOUT:
			fo.check_timeout = (unsigned)cli_uint_opt(
			    "--check-timeout", p.arg, 1, 86400);
			break;
		case OPT_MAX_PAYLOAD:
			client.opts.max_payload = cli_uint_opt("--max-payload",
			    p.arg, 1024, 1UL << 34);
			break;
		case OPT_NO_REGISTER:
			client.opts.no_register = 1;
			break;
		case OPT_OUT:
			if (p.arg[0] == '\0')
				cli_usage_error("--out: empty path");
			fo.out_dir = p.arg;
			break;
		case OPT_POLL_WAIT:
			client.opts.poll_wait = (unsigned)cli_uint_opt(
			    "--poll-wait", p.arg, 0, 60);
			break;
		case OPT_PRINT:
			fo.print = 1;
			break;
		case OPT_ROUTE:
			route_opt(&fo, p.arg);
			break;
		default:
			watch_opt(&fo, id, p.arg);
			break;
		}
	}
	env_routes(&fo);
	cli_client_finish(&client);
	if (fo.watch)
		return fetch_watch(&client.opts, &fo, p.rest);
	watch_opts_check(&fo, p.rest != NULL);

	artifact_set_init(&files);
	buf_init(&raw, SIZE_MAX);	/* capped as it arrives */
	if (node_client_fetch(&client.opts, &files, fo.print ? &raw : NULL,
	    &eb) == -1)
		cli_die_eb(&eb);
	if (fo.print) {
		fwrite(raw.data, 1, raw.len, stdout);
		if (raw.len == 0 || raw.data[raw.len - 1] != '\n')
			putchar('\n');
	} else {
		memset(&oo, 0, sizeof(oo));
		oo.out_dir = fo.out_dir;
		oo.routes = fo.routes;
		oo.nroutes = fo.nroutes;
		oo.apply_owner = geteuid() == 0;
		oo.check_cmd = fo.check_cmd;
		oo.check_dir_cmd = fo.check_dir_cmd;
		oo.check_timeout = fo.check_timeout;
		oo.tmpdir = getenv("TMPDIR");
		oo.result = &res;
		/* A file over ulimit -f is EFBIG, exit 6, not a kill. */
		(void)signal(SIGXFSZ, SIG_IGN);
		if (output_install(&files, &oo, &eb) == -1)
			cli_die_eb(&eb);
		if (res.replayed > 0)
			diag_info("finished %zu renames of an interrupted "
			    "fetch", res.replayed);
		diag_info("wrote %zu files, %zu unchanged", res.written,
		    res.unchanged);
	}
	artifact_set_release(&files);
	buf_release(&raw);
	for (i = 0; i < fo.nroutes; i++)
		free(fo.route_args[i]);
	cli_client_release(&client);
	if (p.rest == NULL)
		return EC_OK;
	if (cli_finish(EC_OK) != EC_OK)
		return EC_INTERNAL;
	execvp(p.rest[0], p.rest);
	err = errno;
	diag_warn("exec %s: %s", p.rest[0], strerror(err));
	return exec_status(err);
}
