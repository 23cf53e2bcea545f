/*
 * A bundle made ready to serve: every node's 200 answer (its files, then
 * the shared files) rendered once, when the bundle is loaded, so answering
 * POST /node is a binary search and a reference to a prepared response.
 * Both serve commands build one per bundle or materializer result.
 *
 * Each answer comes in three representations, each made here once: the
 * JSON payload, made at load, and on the first request that asks for
 * one, the same gzip-compressed (the shared files compressed once for all
 * nodes and spliced after each node's own part) and a tar archive of the
 * files; each carries an ETag, the payload's digest.  Nodes whose
 * answers are the same bytes share one.
 */
#ifndef CFGSYNC_PAYLOAD_INDEX_H
#define CFGSYNC_PAYLOAD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

struct artifact_set;
struct bundle;
struct errbuf;
struct http_body;
struct payload_index;

/*
 * Renders every node of b and takes b over: its file contents are freed
 * once rendered, its identifiers kept for lookups.  Returns the index, or
 * NULL with EC_INTERNAL (b is released either way).
 */
struct payload_index *payload_index_new(struct bundle *b, struct errbuf *);

/*
 * Makes identifier be served files (plus the shared files) instead of
 * what the bundle gives it, whether the bundle names it or not
 * (POST /node/replace).  The caller excludes lookups meanwhile.  Returns
 * 0, or -1 with EC_INTERNAL.
 */
int	payload_index_override(struct payload_index *, const char *identifier,
	    const struct artifact_set *files, struct errbuf *);

/*
 * Gives to every override of from (which may be NULL), made again with
 * to's shared files, so an override outlives the result it was set on.
 * 0, or -1 with EC_INTERNAL.
 */
int	payload_index_carry_overrides(struct payload_index *to,
	    const struct payload_index *from, struct errbuf *);

/*
 * Makes the answer for a node whose own files are files, with the shared
 * files of idx (none when idx is NULL), outside the index: serve-exec's
 * overrides, which outlive every result.  Returns the body, or NULL with
 * EC_INTERNAL.
 */
struct http_body *payload_index_body_with(const struct payload_index *,
	    const struct artifact_set *files, struct errbuf *);

/* The number of overrides. */
size_t	payload_index_overrides(const struct payload_index *);

/*
 * The prepared answer for identifier (borrowed from idx): its override,
 * else the bundle's, else NULL.
 */
const struct http_body *payload_index_find(const struct payload_index *,
	    const char *identifier);

/* The number of nodes. */
size_t	payload_index_nodes(const struct payload_index *);

void	payload_index_free(struct payload_index *);

/*
 * The gzip splice, for the index and its tests.  A raw deflate stream and
 * what it holds: pieces made alone are joined as pigz joins its blocks.
 */
struct payload_deflate {
	unsigned char	*data;
	size_t		 len;
	uint32_t	 crc;		/* CRC-32 of the uncompressed bytes */
	size_t		 in_len;	/* how many */
};

#define PAYLOAD_GZIP_HEADER_LEN		10
#define PAYLOAD_GZIP_TRAILER_LEN	8

/* Readies z for payload_deflate; 0, or -1 when out of memory. */
int	payload_deflate_init(z_stream *);

/*
 * Compresses data[0..len) alone (z is reset first) into d: a final
 * stream when last, else one that ends on a byte boundary without a final
 * block, so another stream may follow it (a small one as a stored block,
 * not compressed).  0, or -1 when out of memory.
 */
int	payload_deflate(z_stream *, const void *data, size_t len, int last,
	    struct payload_deflate *d);

void	payload_deflate_release(struct payload_deflate *);

/*
 * A gzip member is the header, head's data, tail's data (final), and the
 * trailer: the CRC-32 of both (crc32_combine) and their length.
 */
void	payload_gzip_header(unsigned char hdr[PAYLOAD_GZIP_HEADER_LEN]);
void	payload_gzip_trailer(unsigned char trl[PAYLOAD_GZIP_TRAILER_LEN],
	    const struct payload_deflate *head,
	    const struct payload_deflate *tail);

#endif
