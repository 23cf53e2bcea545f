/*
 * Payload and error documents: see protocol.h.
 */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "artifacts.h"
#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

int
protocol_render_payload(struct buf *b, const struct artifact_set *node,
    const struct artifact_set *shared)
{
	int both = node != NULL && node->len > 0 && shared != NULL &&
	    shared->len > 0;

	if (buf_adds(b, PROTOCOL_PAYLOAD_HEAD) == -1 ||
	    (node != NULL && artifact_set_render_items(b, node) == -1) ||
	    (both && buf_addc(b, ',') == -1) ||
	    (shared != NULL && artifact_set_render_items(b, shared) == -1))
		return -1;
	return buf_adds(b, PROTOCOL_PAYLOAD_TAIL);
}

int
protocol_render_error(struct buf *b, const char *code, const char *message)
{
	if (buf_adds(b, "{\"code\":") == -1 ||
	    buf_add_json_string(b, code, strlen(code)) == -1 ||
	    buf_adds(b, ",\"message\":") == -1 ||
	    buf_add_json_string(b, message, strlen(message)) == -1)
		return -1;
	return buf_addc(b, '}');
}

int
protocol_parse_payload(struct artifact_set *files, const char *text,
    size_t len, size_t max, struct errbuf *eb)
{
	struct json_object *doc = NULL, *v;	/* v: borrowed */
	const struct artifact_set *sets[1];
	size_t i;
	int rc = -1;

	if (jsonx_parse(text, len, max, "payload", &doc, eb) == -1)
		return -1;
	if (!json_object_is_type(doc, json_type_object)) {
		errbuf_set(eb, EC_INVALID, "payload: not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(doc, "schema_version", &v) &&
	    v != NULL && (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != PROTOCOL_SCHEMA_VERSION)) {
		errbuf_set(eb, EC_INVALID,
		    "payload: schema_version %s not supported",
		    json_object_get_string(v));
		goto out;
	}
	if (!json_object_object_get_ex(doc, "files", &v)) {
		errbuf_set(eb, EC_INVALID, "payload: no files");
		goto out;
	}
	if (artifact_set_from_json(files, v, eb) == -1) {
		errbuf_prefix(eb, "payload");
		goto out;
	}
	sets[0] = files;
	if (artifact_sets_check_unique(sets, 1, eb) == -1) {
		errbuf_prefix(eb, "payload");
		goto out;
	}
	for (i = 0; i < files->len; i++) {
		if (!artifact_file_digest_ok(&files->files[i])) {
			errbuf_set(eb, EC_INVALID, "payload: %s: sha256 "
			    "mismatch: refusing the whole set",
			    files->files[i].path);
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

void
protocol_error_message(const char *text, size_t len, char *msg, size_t size)
{
	struct json_object *doc = NULL;
	struct errbuf eb;
	const char *m;
	size_t mlen;

	if (size == 0)
		return;

	msg[0] = '\0';
	if (jsonx_parse(text, len, PROTOCOL_ERROR_MAX, "error", &doc,
	    &eb) == -1)
		return;
	if (json_object_is_type(doc, json_type_object) &&
	    jsonx_get_string(doc, "message", &m, &mlen) == 0)
		(void)snprintf(msg, size, "%s", m);
	json_object_put(doc);
}
