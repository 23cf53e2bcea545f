/*
 * The documents of the wire protocol (SPEC 3): the payload a node fetches,
 * schema_version 1, node-local files first and shared files after them, and
 * the {"code","message"} error document.
 */
#ifndef CFGSYNC_PROTOCOL_H
#define CFGSYNC_PROTOCOL_H

#include <stddef.h>

#include "registration.h"

struct artifact_set;
struct buf;
struct errbuf;

#define PROTOCOL_SCHEMA_VERSION	1
/* The largest error document read from a server. */
#define PROTOCOL_ERROR_MAX	65536

/* The payload document around its comma-separated file objects. */
#define PROTOCOL_PAYLOAD_HEAD	"{\"schema_version\":1,\"files\":["
#define PROTOCOL_PAYLOAD_TAIL	"]}"

/* The largest error document a client reads. */
#define PROTOCOL_ERROR_MAX	65536

/* Error codes of the error document. */
#define PROTOCOL_NOT_READY	"not_ready"
#define PROTOCOL_MISSING_CONFIG	"missing_config"
#define PROTOCOL_INTERNAL	"internal"
#define PROTOCOL_BAD_REQUEST	"bad_request"
#define PROTOCOL_UNAUTHORIZED	"unauthorized"
#define PROTOCOL_NOT_FOUND	"not_found"
#define PROTOCOL_METHOD		"method_not_allowed"
#define PROTOCOL_TOO_LARGE	"payload_too_large"
#define PROTOCOL_UNAVAILABLE	"unavailable"

/*
 * Appends the payload document for one node to b: node's files, then
 * shared's (either may be NULL).  Returns 0 or -1 (errno as buf_add).
 */
int	protocol_render_payload(struct buf *, const struct artifact_set *node,
	    const struct artifact_set *shared);

/* Appends {"code":code,"message":message} to b; 0 or -1. */
int	protocol_render_error(struct buf *, const char *code,
	    const char *message);

/*
 * Parses a payload document of at most max bytes into files (appending),
 * checking every path and every sha256, and refusing duplicates.  Returns
 * 0, or -1 with EC_INVALID or EC_INTERNAL.
 */
int	protocol_parse_payload(struct artifact_set *, const char *, size_t,
	    size_t max, struct errbuf *);

/*
 * Appends the body of POST /node/replace, {"identifier":...,"files":[...]},
 * to b; 0 or -1 (errno as buf_add).
 */
int	protocol_render_replace(struct buf *, const char *identifier,
	    const struct artifact_set *files);

/*
 * Parses a /node/replace body of at most max bytes: the identifier,
 * checked, into identifier, and the files, checked as a payload's are,
 * appended to files.  Returns 0, or -1 with EC_INVALID or EC_INTERNAL.
 */
int	protocol_parse_replace(char identifier[REGISTRATION_ID_MAX + 1],
	    struct artifact_set *files, const char *text, size_t len,
	    size_t max, struct errbuf *);

/*
 * Reads the message of an error document into msg (at most size bytes,
 * NUL-terminated); leaves "" when the text is not one.
 */
void	protocol_error_message(const char *, size_t, char *msg, size_t size);

/* Reads the code of an error document the same way ("" when none). */
void	protocol_error_code(const char *, size_t, char *code, size_t size);

#endif
