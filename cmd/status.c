/*
 * cfgsync status: what an operator asks a server first (GET /status):
 * registrations, generations, the last materializer run, nodes served
 * and waiting.  --watch redraws in place on a terminal, and prints one
 * line per change otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cli_client.h"
#include "cmds.h"
#include "errbuf.h"
#include "exitcode.h"
#include "http_client.h"
#include "server_list.h"
#include "status_text.h"
#include "banned.h"

#define STATUS_MAX		(1UL << 20)
#define STATUS_URL_MAX		2048
#define STATUS_INTERVAL_MAX	3600

enum {
	OPT_INTERVAL = CLI_OPT_OWN,
	OPT_JSON,
	OPT_WATCH
};

static const struct cli_option status_options[] = {
	{ "interval", 0, "SECONDS", OPT_INTERVAL,
	    "with --watch, ask this often (default 2)" },
	{ "json", 0, NULL, OPT_JSON, "print the status document as it is" },
	{ "watch", 0, NULL, OPT_WATCH, "keep watching the server" },
	CLI_OPTIONS_END
};

static const struct cli_command status_command = {
	.name = "status",
	.operands = "",
	.sets = { cli_client_options, status_options, NULL },
};

/* Builds base's /status URL into url. */
static void
status_url(char *url, size_t size, const char *base)
{
	size_t len = strlen(base);
	int n;

	while (len > 0 && base[len - 1] == '/')
		len--;
	n = snprintf(url, size, "%.*s/status", (int)len, base);
	if (n < 0 || (size_t)n >= size)
		cli_usage_error("--server: too long");
}

/*
 * GETs /status into doc from the server asked now, or from the next ones
 * of the list after a connect error, a timeout or a 5xx, each once; dies
 * with exit 5 when none answers 200.
 */
static void
get_status(struct http_client *http, struct server_list *servers,
    unsigned timeout, struct buf *doc)
{
	char url[STATUS_URL_MAX], why[ERRBUF_MSG_MAX];
	struct errbuf eb;
	long status;
	size_t i;

	for (i = 0; i < servers->n; i++) {
		if (i > 0)
			(void)server_list_next(servers);
		status_url(url, sizeof(url), server_list_current(servers));
		status = 0;
		buf_reset(doc);
		if (http_client_get(http, url, (long)(timeout ? timeout : 30) *
		    1000, &status, doc, &eb) == -1) {
			if (http_client_error_final(http))
				cli_die(EC_REMOTE, "%s", eb.msg);
			(void)snprintf(why, sizeof(why), "%s", eb.msg);
			continue;
		}
		if (status == 200)
			return;
		(void)snprintf(why, sizeof(why), "GET %.*s: HTTP %ld %.*s",
		    (int)(sizeof(url) < 120 ? sizeof(url) : 120), url, status,
		    (int)(doc->len < 200 ? doc->len : 200),
		    doc->data != NULL ? doc->data : "");
		if (status < 500)
			break;
	}
	cli_die(EC_REMOTE, "%s", why);
}

int
cmd_status(int argc, char **argv)
{
	struct cli_client client;
	struct http_client_opts hopts;
	struct http_client *http;
	struct cli_parser p;
	struct errbuf eb;
	struct server_list servers;
	struct buf doc, text, last;
	unsigned long interval = 2;
	int id, json = 0, watch = 0, tty;

	cli_client_init(&client);
	cli_parser_init(&p, &status_command, argc, argv);
	while ((id = cli_next(&p)) != CLI_DONE) {
		if (cli_client_opt(&client, id, p.arg))
			continue;
		switch (id) {
		case CLI_OPERAND:
			cli_operand(&p, NULL, 0, "no operands");
			break;
		case OPT_INTERVAL:
			interval = cli_uint_opt("--interval", p.arg, 1,
			    STATUS_INTERVAL_MAX);
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_WATCH:
			watch = 1;
			break;
		}
	}
	cli_operands_end(&p, NULL, 0, "no operands");
	client.opts.identifier = "status";	/* no node is named */
	cli_client_finish(&client);
	/* No node is named: a list is asked from its first URL on. */
	if (server_list_parse(&servers, client.opts.server, &eb) == -1)
		cli_die_eb(&eb);
	memset(&hopts, 0, sizeof(hopts));
	hopts.token = client.opts.token;
	hopts.cacert = client.opts.cacert;
	hopts.pin = client.opts.pin;
	if ((http = http_client_new(&hopts, &eb)) == NULL)
		cli_die_eb(&eb);
	tty = isatty(STDOUT_FILENO);
	buf_init(&doc, STATUS_MAX);
	buf_init(&text, STATUS_MAX * 2);
	buf_init(&last, STATUS_MAX * 2);
	for (;;) {
		get_status(http, &servers, client.opts.timeout, &doc);
		buf_reset(&text);
		if (json) {
			if (buf_add(&text, doc.data, doc.len) == -1)
				cli_die(EC_INTERNAL, "out of memory");
		} else if (status_text(&text, doc.data, doc.len,
		    watch && !tty, &eb) == -1)
			cli_die_eb(&eb);
		if (!watch) {
			fwrite(text.data, 1, text.len, stdout);
			break;
		}
		/* A terminal is redrawn; a pipe gets a line per change. */
		if (tty) {
			fputs("\033[H\033[2J", stdout);
			fwrite(text.data, 1, text.len, stdout);
		} else if (text.len != last.len ||
		    memcmp(text.data, last.data, text.len) != 0) {
			fwrite(text.data, 1, text.len, stdout);
			buf_reset(&last);
			if (buf_add(&last, text.data, text.len) == -1)
				cli_die(EC_INTERNAL, "out of memory");
		}
		if (cli_finish(EC_OK) != EC_OK)
			return EC_INTERNAL;
		nanosleep(&(struct timespec){ (time_t)interval, 0 }, NULL);
	}
	buf_release(&doc);
	buf_release(&text);
	buf_release(&last);
	http_client_free(http);
	server_list_release(&servers);
	cli_client_release(&client);
	return EC_OK;
}
