/*
 * Writing a bundle in either shape, JSON or YAML: see bundle_shape.h.
 */
#include "bundle_shape.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "yamlx.h"
#include "banned.h"

int
bundle_shape_parse(const char *name, enum bundle_shape *shape)
{
	if (strcmp(name, "static") == 0)
		*shape = BUNDLE_SHAPE_STATIC;
	else if (strcmp(name, "materialized") == 0)
		*shape = BUNDLE_SHAPE_MATERIALIZED;
	else
		return -1;
	return 0;
}

int
bundle_render_materialized(struct buf *out, const struct bundle *b)
{
	size_t i;

	if (buf_adds(out, "{\"nodes\":{") == -1)
		return -1;
	for (i = 0; i < b->nnodes; i++) {
		if ((i > 0 && buf_addc(out, ',') == -1) ||
		    buf_add_json_string(out, b->nodes[i].identifier,
		    strlen(b->nodes[i].identifier)) == -1 ||
		    buf_adds(out, ":{\"files\":") == -1 ||
		    artifact_set_render(out, &b->nodes[i].files) == -1 ||
		    buf_addc(out, '}') == -1)
			return -1;
	}
	if (buf_adds(out, "},\"shared\":{\"files\":") == -1 ||
	    artifact_set_render(out, &b->shared) == -1)
		return -1;
	return buf_adds(out, "}}");
}

int
bundle_shape_render(struct buf *out, const struct bundle *b,
    enum bundle_shape shape, int yaml, struct errbuf *eb)
{
	struct json_object *doc = NULL;
	struct buf json;
	int rc = -1;

	buf_init(&json, yaml ? SIZE_MAX : out->max);
	if ((shape == BUNDLE_SHAPE_STATIC ? bundle_render_json(&json, b) :
	    bundle_render_materialized(&json, b)) == -1) {
		errbuf_set(eb, EC_INTERNAL, "render JSON: %s", strerror(errno));
		goto out;
	}
	if (!yaml) {
		if (buf_add(out, json.data, json.len) == -1 ||
		    buf_addc(out, '\n') == -1) {
			errbuf_set(eb, EC_INTERNAL, "render JSON: %s",
			    strerror(errno));
			goto out;
		}
		rc = 0;
		goto out;
	}
	/*
	 * One renderer of each shape: YAML is the JSON document's tree,
	 * emitted.  The text is ours, so parsing it only fails for memory.
	 */
	if (jsonx_parse(json.data, json.len, SIZE_MAX, "bundle", &doc,
	    eb) == -1) {
		eb->code = EC_INTERNAL;
		goto out;
	}
	rc = yamlx_emit(out, doc, eb);
out:
	json_object_put(doc);
	buf_release(&json);
	return rc;
}
