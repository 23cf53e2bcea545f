/*
 * JSON at the edge: capped, strict parsing with json-c, typed member access,
 * the raw text of a member (so opaque values travel byte for byte), and the
 * UTF-8 check that decides whether content can travel as a JSON string.
 */
#ifndef CFGSYNC_JSONX_H
#define CFGSYNC_JSONX_H

#include <stddef.h>

struct errbuf;
struct json_object;

#define JSONX_MAX_DEPTH	64

/*
 * Parses text[0..len) as exactly one JSON value (strict mode, no trailing
 * bytes, at most JSONX_MAX_DEPTH deep, no single quotes, no member named
 * twice) after refusing a text longer than max.  Returns 0 and an owned object in *out (put it with json_object_put),
 * or -1 with EC_INVALID.  what names the document in the message.
 */
int	jsonx_parse(const char *text, size_t len, size_t max, const char *what,
	    struct json_object **out, struct errbuf *);

/*
 * Refuses, in text that json-c accepted, what other readers would read
 * another way: a single-quoted string, and an object naming a member twice
 * (compared after unescaping).  jsonx_parse calls it.  Returns 0, or -1
 * with EC_INVALID naming the place, or EC_INTERNAL.
 */
int	jsonx_check_members(const char *text, size_t len, const char *what,
	    struct errbuf *);

/*
 * Gets member key of obj as a string: returns 0 with *s borrowed from obj
 * (valid while obj lives) and its length in *len, 1 when the member is
 * absent or null, or -1 when it has another type.
 */
int	jsonx_get_string(struct json_object *obj, const char *key,
	    const char **s, size_t *len);

/*
 * Finds the value of member key in the object that text[0..len) holds
 * (text already known to be valid JSON): returns 0 with the offset and
 * length of the value's exact bytes, or -1 when text is not an object,
 * has no such member, or has a key with an escape (which may spell key:
 * the caller falls back to json-c's value).  With duplicate keys the last
 * one wins, as in json-c.
 */
int	jsonx_raw_member(const char *text, size_t len, const char *key,
	    size_t *off, size_t *vlen);

/*
 * Returns 1 when s[0..len), JSON that json-c accepted, is also plain RFC
 * 8259 JSON that every other reader takes: no NaN or Infinity, no raw
 * control byte in a string, no lone surrogate escape.  Else 0.
 */
int	jsonx_raw_plain(const char *s, size_t len);

/* Returns 1 when s[0..len) is well-formed UTF-8 without NUL, else 0. */
int	jsonx_utf8_valid(const char *s, size_t len);

/*
 * Walking one object's members or one array's elements without a tree of
 * them, so a large document can be parsed a piece at a time: begin at
 * text[off], which must be '{' or '[', then next until it returns 0.
 * The walk checks the document's structure around the values only: each
 * value's bytes are for jsonx_parse_inner to judge.  It is strict by
 * refusal: a member name with an escape or a byte outside printable ASCII,
 * or anything not plainly JSON, stops it with -1, and the caller parses
 * the document whole instead (for the verdict and the message).
 */
struct jsonx_walk {
	const char	*text;		/* borrowed */
	size_t		 len;
	size_t		 pos;		/* the next byte to read */
	char		 close;		/* '}' or ']' */
	int		 first;		/* no member read yet */
};

/* Begins at text[off]; 0, or -1 when it holds no '{' or '['. */
int	jsonx_walk_begin(struct jsonx_walk *, const char *text, size_t len,
	    size_t off);

/*
 * Reads the next member (*key and *klen the name's bytes in text, not
 * NUL-terminated) or element (*key NULL): returns 1 with the value at
 * text[*voff..*voff + *vlen), 0 at the closing bracket (pos then just past
 * it), or -1 (see above).
 */
int	jsonx_walk_next(struct jsonx_walk *, const char **key, size_t *klen,
	    size_t *voff, size_t *vlen);

/*
 * Parses text[0..len), a value found by a walk at nesting level level (1:
 * a member of the top-level value), exactly as jsonx_parse parses it as a
 * part of the whole document: strict, within JSONX_MAX_DEPTH counted from
 * the top, no single quotes, no member named twice.  Returns 0 with an
 * owned object in *out (NULL for null; put it with json_object_put), or
 * -1 without a message when jsonx_parse would refuse the document, or on
 * anything it cannot tell (out of memory included).
 */
int	jsonx_parse_inner(const char *text, size_t len, unsigned level,
	    struct json_object **out);

#endif
