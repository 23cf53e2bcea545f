/*
 * YAML to and from json-c trees with libyaml: see yamlx.h.
 */
#include "yamlx.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <yaml.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define SHOW	64		/* bytes of a key or anchor in messages */

/* What a plain scalar means in YAML 1.2's core schema. */
enum plain_kind {
	PLAIN_STRING,
	PLAIN_NULL,
	PLAIN_BOOL,
	PLAIN_NUMBER
};

struct anchor {
	char			*name;
	struct json_object	*obj;		/* a reference of our own */
	size_t			 nodes;		/* the subtree, expanded */
	size_t			 bytes;
};

struct frame {
	struct json_object	*obj;		/* the collection to fill */
	char			*key;		/* a mapping's pending key */
	char			*anchor;	/* this collection's, or NULL */
	size_t			 nodes0;	/* counts when it started */
	size_t			 bytes0;
};

struct reader {
	const struct yamlx_limits *l;		/* borrowed */
	const char		*what;		/* borrowed */
	struct frame		 stack[YAMLX_MAX_DEPTH];
	size_t			 depth;
	struct anchor		 anchors[YAMLX_MAX_ANCHORS];
	size_t			 nanchors;
	struct json_object	*root;
	int			 have_root;
	size_t			 nodes;
	size_t			 bytes;
};

void
yamlx_limits_init(struct yamlx_limits *l, size_t max_size, size_t max_nodes)
{
	l->max_size = max_size;
	l->max_nodes = max_nodes;
	l->max_bytes = max_size;
}

/*
 * Returns 1 when s[0..len), a plain (unquoted) scalar, means null in YAML
 * 1.2's core schema: empty, "~", "null", "Null" or "NULL".
 */
static int
plain_null(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '~') ||
	    (len == 4 && (memcmp(s, "null", 4) == 0 ||
	    memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

static int
all_of(const char *s, size_t len, const char *set)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* Returns 1 when s[0..len) is one of the words in the NULL-ended list. */
static int
one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == len && memcmp(*words, s, len) == 0)
			return 1;
	return 0;
}

static enum plain_kind
plain_kind(const char *s, size_t len)
{
	static const char *const bools[] = { "true", "True", "TRUE",
	    "false", "False", "FALSE", NULL };
	static const char *const specials[] = { ".inf", ".Inf", ".INF",
	    ".nan", ".NaN", ".NAN", NULL };
	size_t i = 0, digits = 0;

	if (plain_null(s, len))
		return PLAIN_NULL;
	if (one_of(s, len, bools))
		return PLAIN_BOOL;
	if (len > 2 && s[0] == '0' && s[1] == 'o' &&
	    all_of(s + 2, len - 2, "01234567"))
		return PLAIN_NUMBER;
	if (len > 2 && s[0] == '0' && s[1] == 'x' &&
	    all_of(s + 2, len - 2, "0123456789abcdefABCDEF"))
		return PLAIN_NUMBER;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (one_of(s + i, len - i, specials))
		return PLAIN_NUMBER;
	/* [0-9]+ | [0-9]*\.[0-9]*, at least one digit, then an exponent. */
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return PLAIN_STRING;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == len)
			return PLAIN_STRING;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	return i == len ? PLAIN_NUMBER : PLAIN_STRING;
}

/* Line and column (from 1) of byte off of text, for reader errors. */
static void
offset_mark(const char *text, size_t len, size_t off, size_t *line,
    size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

static int
fail_at(struct reader *rd, const yaml_mark_t *m, struct errbuf *eb,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail_at(struct reader *rd, const yaml_mark_t *m, struct errbuf *eb,
    const char *fmt, ...)
{
	char msg[sizeof(eb->msg)];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errbuf_set(eb, EC_INVALID, "%s: YAML %zu:%zu: %s", rd->what,
	    m->line + 1, m->column + 1, msg);
}

static int
count(struct reader *rd, size_t nodes, size_t bytes, int alias,
    const yaml_mark_t *m, struct errbuf *eb)
{
	const char *how = alias ? " with aliases expanded" : "";

	if (nodes > rd->l->max_nodes - rd->nodes)
		return fail_at(rd, m, eb, "over %zu nodes%s", rd->l->max_nodes,
		    how);
	if (bytes > rd->l->max_bytes - rd->bytes)
		return fail_at(rd, m, eb, "over %zu bytes of scalars%s",
		    rd->l->max_bytes, how);
	rd->nodes += nodes;
	rd->bytes += bytes;
	return 0;
}

static int
anchor_add(struct reader *rd, const char *name, struct json_object *obj,
    size_t nodes, size_t bytes, const yaml_mark_t *m, struct errbuf *eb)
{
	struct anchor *a;

	if (rd->nanchors == YAMLX_MAX_ANCHORS)
		return fail_at(rd, m, eb, "over %d anchors", YAMLX_MAX_ANCHORS);
	a = &rd->anchors[rd->nanchors];
	if ((a->name = strdup(name)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	a->obj = json_object_get(obj);
	a->nodes = nodes;
	a->bytes = bytes;
	rd->nanchors++;
	return 0;
}

/* The newest anchor named name (YAML lets a name be used again), or NULL. */
static const struct anchor *
anchor_find(const struct reader *rd, const char *name)
{
	size_t i;

	for (i = rd->nanchors; i > 0; i--)
		if (strcmp(rd->anchors[i - 1].name, name) == 0)
			return &rd->anchors[i - 1];
	return NULL;
}

/*
 * Takes v (owned, may be NULL for JSON null) into the collection on top of
 * the stack, or makes it the root.
 */
static int
place(struct reader *rd, struct json_object *v, const yaml_mark_t *m,
    struct errbuf *eb)
{
	struct frame *f;

	if (rd->depth == 0) {
		rd->root = v;
		rd->have_root = 1;
		return 0;
	}
	f = &rd->stack[rd->depth - 1];
	if (json_object_is_type(f->obj, json_type_array)) {
		if (json_object_array_add(f->obj, v) < 0) {
			json_object_put(v);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		return 0;
	}
	if (json_object_object_add(f->obj, f->key, v) < 0) {
		json_object_put(v);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	free(f->key);
	f->key = NULL;
	return 0;
}

/* Returns 1 when the next node is a key of the mapping on top. */
static int
want_key(const struct reader *rd)
{
	const struct frame *f;

	if (rd->depth == 0)
		return 0;
	f = &rd->stack[rd->depth - 1];
	return json_object_is_type(f->obj, json_type_object) && f->key == NULL;
}

static int
on_key(struct reader *rd, const yaml_event_t *ev, struct errbuf *eb)
{
	struct frame *f = &rd->stack[rd->depth - 1];
	const char *s;
	size_t len;

	if (ev->type != YAML_SCALAR_EVENT)
		return fail_at(rd, &ev->start_mark, eb, "%s as a key: only "
		    "strings are keys", ev->type == YAML_ALIAS_EVENT ?
		    "an alias" : "a collection");
	s = (const char *)ev->data.scalar.value;
	len = ev->data.scalar.length;
	if (memchr(s, '\0', len) != NULL)
		return fail_at(rd, &ev->start_mark, eb, "NUL in a key");
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    plain_kind(s, len) != PLAIN_STRING)
		return fail_at(rd, &ev->start_mark, eb, "key %.*s: a %s, not "
		    "a string (quote it)", SHOW, s,
		    plain_kind(s, len) == PLAIN_NULL ? "null" :
		    plain_kind(s, len) == PLAIN_BOOL ? "boolean" : "number");
	if (json_object_object_get_ex(f->obj, s, NULL))
		return fail_at(rd, &ev->start_mark, eb, "duplicate key %.*s",
		    SHOW, s);
	if (count(rd, 1, len, 0, &ev->start_mark, eb) == -1)
		return -1;
	if ((f->key = strdup(s)) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (ev->data.scalar.anchor != NULL) {
		struct json_object *k = json_object_new_string_len(s,
		    (int)len);

		if (k == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		if (anchor_add(rd, (const char *)ev->data.scalar.anchor, k, 1,
		    len, &ev->start_mark, eb) == -1) {
			json_object_put(k);
			return -1;
		}
		json_object_put(k);
	}
	return 0;
}

static int
on_scalar(struct reader *rd, const yaml_event_t *ev, struct errbuf *eb)
{
	struct json_object *v = NULL;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (len > INT_MAX)
		return fail_at(rd, &ev->start_mark, eb, "scalar too long");
	if (count(rd, 1, len, 0, &ev->start_mark, eb) == -1)
		return -1;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !plain_null(s, len)) {
		if ((v = json_object_new_string_len(s, (int)len)) == NULL)
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	if (ev->data.scalar.anchor != NULL && anchor_add(rd,
	    (const char *)ev->data.scalar.anchor, v, 1, len, &ev->start_mark,
	    eb) == -1) {
		json_object_put(v);
		return -1;
	}
	return place(rd, v, &ev->start_mark, eb);
}

static int
on_alias(struct reader *rd, const yaml_event_t *ev, struct errbuf *eb)
{
	const struct anchor *a;
	const char *name = (const char *)ev->data.alias.anchor;

	if ((a = anchor_find(rd, name)) == NULL)
		return fail_at(rd, &ev->start_mark, eb, "alias *%.*s: no "
		    "anchor &%.*s before it", SHOW, name, SHOW, name);
	if (count(rd, a->nodes, a->bytes, 1, &ev->start_mark, eb) == -1)
		return -1;
	return place(rd, json_object_get(a->obj), &ev->start_mark, eb);
}

static int
on_start(struct reader *rd, const yaml_event_t *ev, struct errbuf *eb)
{
	struct frame *f;
	const yaml_char_t *anchor;
	int map = ev->type == YAML_MAPPING_START_EVENT;

	anchor = map ? ev->data.mapping_start.anchor :
	    ev->data.sequence_start.anchor;
	if (rd->depth == YAMLX_MAX_DEPTH)
		return fail_at(rd, &ev->start_mark, eb, "over %d levels deep",
		    YAMLX_MAX_DEPTH);
	f = &rd->stack[rd->depth];
	memset(f, 0, sizeof(*f));
	f->nodes0 = rd->nodes;
	f->bytes0 = rd->bytes;
	if (count(rd, 1, 0, 0, &ev->start_mark, eb) == -1)
		return -1;
	if ((f->obj = map ? json_object_new_object() :
	    json_object_new_array()) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (anchor != NULL &&
	    (f->anchor = strdup((const char *)anchor)) == NULL) {
		json_object_put(f->obj);
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	}
	rd->depth++;
	return 0;
}

static int
on_end(struct reader *rd, const yaml_event_t *ev, struct errbuf *eb)
{
	struct frame *f = &rd->stack[--rd->depth];
	struct json_object *obj = f->obj;
	int rc = 0;

	f->obj = NULL;
	if (f->anchor != NULL)
		rc = anchor_add(rd, f->anchor, obj, rd->nodes - f->nodes0,
		    rd->bytes - f->bytes0, &ev->start_mark, eb);
	free(f->anchor);
	f->anchor = NULL;
	free(f->key);
	f->key = NULL;
	if (rc == -1) {
		json_object_put(obj);
		return -1;
	}
	return place(rd, obj, &ev->start_mark, eb);
}

static const yaml_char_t *
event_tag(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.tag;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.tag;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.tag;
	default:
		return NULL;
	}
}

static int
on_event(struct reader *rd, const yaml_event_t *ev, int *done,
    struct errbuf *eb)
{
	const yaml_char_t *tag;

	if ((tag = event_tag(ev)) != NULL)
		return fail_at(rd, &ev->start_mark, eb, "tag %.*s: tags are "
		    "refused", SHOW, (const char *)tag);
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		*done = 1;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (rd->have_root)
			return fail_at(rd, &ev->start_mark, eb,
			    "a second document");
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return on_end(rd, ev, eb);
	default:
		break;
	}
	if (want_key(rd) && ev->type != YAML_STREAM_START_EVENT &&
	    ev->type != YAML_DOCUMENT_END_EVENT)
		return on_key(rd, ev, eb);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(rd, ev, eb);
	case YAML_ALIAS_EVENT:
		return on_alias(rd, ev, eb);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_start(rd, ev, eb);
	default:
		return 0;
	}
}

static int
parser_error(struct reader *rd, const yaml_parser_t *p, const char *text,
    size_t len, struct errbuf *eb)
{
	yaml_mark_t m;
	size_t line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	if (p->error == YAML_READER_ERROR) {
		offset_mark(text, len, p->problem_offset, &line, &col);
		memset(&m, 0, sizeof(m));
		m.line = line - 1;
		m.column = col - 1;
		if (p->problem_value != -1)
			return fail_at(rd, &m, eb, "%s (byte 0x%02x)",
			    p->problem, (unsigned)p->problem_value & 0xff);
		return fail_at(rd, &m, eb, "%s", p->problem);
	}
	if (p->context != NULL)
		return fail_at(rd, &p->problem_mark, eb, "%s %s", p->problem,
		    p->context);
	return fail_at(rd, &p->problem_mark, eb, "%s",
	    p->problem != NULL ? p->problem : "bad YAML");
}

int
yamlx_parse(const char *text, size_t len, const struct yamlx_limits *l,
    const char *what, struct json_object **out, struct errbuf *eb)
{
	struct reader *rd = NULL;
	yaml_parser_t p;
	yaml_event_t ev;
	size_t i;
	int done = 0, rc = -1, inited = 0;

	*out = NULL;
	if (len > l->max_size)
		return errbuf_set(eb, EC_INVALID, "%s: over %zu bytes", what,
		    l->max_size);
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	rd->l = l;
	rd->what = what;
	if (!yaml_parser_initialize(&p)) {
		errbuf_set(eb, EC_INTERNAL, "out of memory");
		goto out;
	}
	inited = 1;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(rd, &p, text, len, eb);
			goto out;
		}
		rc = on_event(rd, &ev, &done, eb);
		yaml_event_delete(&ev);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	*out = rd->root;
	rd->root = NULL;
	rc = 0;
out:
	if (inited)
		yaml_parser_delete(&p);
	while (rd->depth > 0) {
		rd->depth--;
		json_object_put(rd->stack[rd->depth].obj);
		free(rd->stack[rd->depth].key);
		free(rd->stack[rd->depth].anchor);
	}
	for (i = 0; i < rd->nanchors; i++) {
		free(rd->anchors[i].name);
		json_object_put(rd->anchors[i].obj);
	}
	json_object_put(rd->root);
	free(rd);
	return rc;
}

/* The emitter's output handler: appends to a struct buf. */
static int
write_buf(void *arg, unsigned char *data, size_t len)
{
	return buf_add(arg, (const char *)data, len) == 0;
}

/*
 * Returns 1 when s can go out plain and every YAML 1.1 or 1.2 reader
 * reads it back as the same string: a letter, '_' or '/' first, then only
 * letters, digits and "_./-", and no word YAML 1.1 takes for a boolean.
 */
static int
safe_plain(const char *s, size_t len)
{
	static const char *const words[] = { "y", "Y", "n", "N", "yes",
	    "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off",
	    "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "null",
	    "Null", "NULL", NULL };
	size_t i;
	char c;

	if (len == 0 || one_of(s, len, words))
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || c == '/')
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/*
 * Returns 1 when a literal block keeps s exactly: some line break, and no
 * byte a reader would fold or normalise in a block (CR, the other Unicode
 * line breaks) nor a control character.  libyaml falls back to
 * double-quoted by itself for what else a block cannot hold.
 */
static int
literal_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;
	int lines = 0;

	for (i = 0; i < len; i++) {
		if (u[i] == '\n')
			lines = 1;
		else if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;
		else if (u[i] == 0xc2 && i + 1 < len && u[i + 1] < 0xa0)
			return 0;	/* U+0080..U+009F, NEL among them */
		else if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			return 0;	/* U+2028, U+2029 */
	}
	return lines;
}

static int
emit_string(yaml_emitter_t *e, const char *s, size_t len)
{
	yaml_event_t ev;
	yaml_scalar_style_t style;

	if (len > INT_MAX)
		return 0;
	if (safe_plain(s, len))
		style = YAML_PLAIN_SCALAR_STYLE;
	else if (literal_ok(s, len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)s, (int)len, style == YAML_PLAIN_SCALAR_STYLE, 1,
	    style))
		return 0;
	return yaml_emitter_emit(e, &ev);
}

static int
emit_plain(yaml_emitter_t *e, const char *s)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
	    (int)strlen(s), 1, 1, YAML_PLAIN_SCALAR_STYLE))
		return 0;
	return yaml_emitter_emit(e, &ev);
}

static int
emit_node(yaml_emitter_t *e, struct json_object *o)
{
	yaml_event_t ev;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return emit_plain(e, "null");
	case json_type_boolean:
		return emit_plain(e, json_object_get_boolean(o) ? "true" :
		    "false");
	case json_type_int:
	case json_type_double:
		return emit_plain(e, json_object_to_json_string(o));
	case json_type_string:
		return emit_string(e, json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
	case json_type_array:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_BLOCK_SEQUENCE_STYLE) || !yaml_emitter_emit(e, &ev))
			return 0;
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!emit_node(e, json_object_array_get_idx(o, i)))
				return 0;
		return yaml_sequence_end_event_initialize(&ev) &&
		    yaml_emitter_emit(e, &ev);
	case json_type_object:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_BLOCK_MAPPING_STYLE) || !yaml_emitter_emit(e, &ev))
			return 0;
		json_object_object_foreach(o, key, val) {
			if (!emit_string(e, key, strlen(key)) ||
			    !emit_node(e, val))
				return 0;
		}
		return yaml_mapping_end_event_initialize(&ev) &&
		    yaml_emitter_emit(e, &ev);
	}
	return 0;
}

int
yamlx_emit(struct buf *out, struct json_object *obj, struct errbuf *eb)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	size_t start = out->len;
	int ok;

	if (!yaml_emitter_initialize(&e))
		return errbuf_set(eb, EC_INTERNAL, "out of memory");
	yaml_emitter_set_output(&e, write_buf, out);
	yaml_emitter_set_encoding(&e, YAML_UTF8_ENCODING);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_break(&e, YAML_LN_BREAK);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	    yaml_emitter_emit(&e, &ev) &&
	    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	    yaml_emitter_emit(&e, &ev) &&
	    emit_node(&e, obj) &&
	    yaml_document_end_event_initialize(&ev, 1) &&
	    yaml_emitter_emit(&e, &ev) &&
	    yaml_stream_end_event_initialize(&ev) &&
	    yaml_emitter_emit(&e, &ev) &&
	    yaml_emitter_flush(&e);
	if (!ok) {
		errbuf_set(eb, EC_INTERNAL, "emit YAML: %s", e.problem !=
		    NULL ? e.problem : "out of memory");
		yaml_emitter_delete(&e);
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	yaml_emitter_delete(&e);
	return 0;
}
