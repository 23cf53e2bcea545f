/*
 * The two shapes a bundle document takes (SPEC 5), as written: the
 * original's NodeArtifactsBundle (what its kind: static server reads) and
 * MaterializedArtifacts (what its kind: registration server reads and its
 * testing framework writes), each as JSON or as YAML.  Reading both is
 * bundle_parse's (bundle.h).
 */
#ifndef CFGSYNC_BUNDLE_SHAPE_H
#define CFGSYNC_BUNDLE_SHAPE_H

struct buf;
struct bundle;
struct errbuf;

enum bundle_shape {
	BUNDLE_SHAPE_STATIC,		/* nodes: [{identifier, files}] */
	BUNDLE_SHAPE_MATERIALIZED	/* nodes: {identifier: {files}} */
};

/*
 * Sets *shape to the shape named name ("static", "materialized"); returns
 * 0, or -1 when name is neither.
 */
int	bundle_shape_parse(const char *name, enum bundle_shape *shape);

/*
 * Appends the MaterializedArtifacts JSON document of b to out: nodes in
 * b's order, each as {"files": [...]}, then "shared": {"files": [...]}.
 * Returns 0 or -1 (out of memory, out->max passed).
 */
int	bundle_render_materialized(struct buf *out, const struct bundle *);

/*
 * Appends b to out in shape, as JSON (the document and a newline) or as
 * YAML (yamlx_emit of the same tree).  Neither holds a raw control
 * character or a surrogate escape, so the original's YAML reader takes
 * both.  The same bundle always gives the same bytes.  Returns 0, or -1
 * with EC_INTERNAL.
 */
int	bundle_shape_render(struct buf *out, const struct bundle *,
	    enum bundle_shape shape, int yaml, struct errbuf *);

#endif
