/*
 * The status document for people: see status_text.h.
 */
#include "status_text.h"

#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

#define STATUS_DOC_MAX	(1UL << 20)

/* The member path a.b of doc as text ("" when absent), borrowed. */
static const char *
text_at(struct json_object *doc, const char *a, const char *b)
{
	struct json_object *v = doc;	/* borrowed */

	if (!json_object_object_get_ex(v, a, &v) || v == NULL)
		return "";
	if (b != NULL && (!json_object_object_get_ex(v, b, &v) || v == NULL))
		return "";
	return json_object_get_string(v);
}

static int
exec_lines(struct buf *o, struct json_object *d, int oneline)
{
	const char *tail = text_at(d, "last_run", "stderr_tail"), *nl;
	const char *outcome = text_at(d, "result", "outcome");
	int rc = 0, none = strcmp(outcome, "none") == 0;
	int current = strcmp(text_at(d, "result", "current"), "true") == 0;

	if (oneline)
		return buf_addf(o, "registrations %s, generation %s, %s%s%s, "
		    "%s served, %s waiting\n",
		    text_at(d, "registrations", NULL),
		    text_at(d, "generation", NULL),
		    none ? "no result yet" : "result ", none ? "" : outcome,
		    none ? "" : current ? " (current)" : " (a run is due)",
		    text_at(d, "nodes", "served"),
		    text_at(d, "nodes", "waiting"));
	rc |= buf_addf(o, "server         serve-exec\n"
	    "registrations  %s", text_at(d, "registrations", NULL));
	if (text_at(d, "newest", "identifier")[0] != '\0')
		rc |= buf_addf(o, " (newest %s, %s)",
		    text_at(d, "newest", "identifier"),
		    text_at(d, "newest", "registered_at"));
	if (none)
		rc |= buf_addf(o, "\ngeneration     %s; no result yet\n",
		    text_at(d, "generation", NULL));
	else
		rc |= buf_addf(o, "\ngeneration     %s; result for generation "
		    "%s: %s%s\n", text_at(d, "generation", NULL),
		    text_at(d, "result", "generation"), outcome,
		    current ? " (current)" : " (a run is due)");
	if (text_at(d, "last_run", "outcome")[0] == '\0')
		rc |= buf_adds(o, "last run       none yet\n");
	else
		rc |= buf_addf(o, "last run       %s for generation %s at %s, "
		    "%s s\n", text_at(d, "last_run", "outcome"),
		    text_at(d, "last_run", "generation"),
		    text_at(d, "last_run", "finished_at"),
		    text_at(d, "last_run", "seconds"));
	rc |= buf_addf(o, "nodes          %s served, %s waiting\n",
	    text_at(d, "nodes", "served"), text_at(d, "nodes", "waiting"));
	/* The run's stderr, each line marked as the program's. */
	while (*tail != '\0') {
		if ((nl = strchr(tail, '\n')) == NULL)
			nl = tail + strlen(tail);
		rc |= buf_addf(o, "stderr         | %.*s\n", (int)(nl - tail),
		    tail);
		tail = *nl == '\n' ? nl + 1 : nl;
	}
	return rc;
}

static int
bundle_lines(struct buf *o, struct json_object *d, int oneline)
{
	int reg = text_at(d, "registrations", NULL)[0] != '\0';

	if (oneline)
		return buf_addf(o, "%s nodes, %s overrides%s%s%s, %s reloads\n",
		    text_at(d, "nodes", NULL), text_at(d, "overrides", NULL),
		    reg ? ", " : "", reg ? text_at(d, "registrations", NULL) :
		    "", reg ? " registered" : "", text_at(d, "reloads", "ok"));
	return buf_addf(o, "server         bundle (%s)\n"
	    "nodes          %s, %s with files replaced\n"
	    "%s%s%s"
	    "reloads        %s, %s refused\n", text_at(d, "kind", NULL),
	    text_at(d, "nodes", NULL), text_at(d, "overrides", NULL),
	    reg ? "registrations  " : "",
	    reg ? text_at(d, "registrations", NULL) : "", reg ? "\n" : "",
	    text_at(d, "reloads", "ok"), text_at(d, "reloads", "refused"));
}

int
status_text(struct buf *out, const char *doc, size_t len, int oneline,
    struct errbuf *eb)
{
	struct json_object *d = NULL;
	const char *server;
	int rc;

	if (jsonx_parse(doc, len, STATUS_DOC_MAX, "status", &d, eb) == -1)
		return -1;
	if (!json_object_is_type(d, json_type_object)) {
		json_object_put(d);
		return errbuf_set(eb, EC_INVALID, "status: not an object");
	}
	server = text_at(d, "server", NULL);
	if (strcmp(server, "serve-exec") == 0)
		rc = exec_lines(out, d, oneline);
	else if (strcmp(server, "bundle") == 0)
		rc = bundle_lines(out, d, oneline);
	else {
		json_object_put(d);
		return errbuf_set(eb, EC_INVALID, "status: unknown server "
		    "\"%.40s\"", server);
	}
	json_object_put(d);
	return rc != 0 ? errbuf_set(eb, EC_INTERNAL, "out of memory") : 0;
}
