/*
 * Growable, capped byte buffers: see buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define BUF_MIN_CAP	64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL. */
static int
buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra) {
		errno = EMSGSIZE;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need) {
		if (cap > ((size_t)-1) / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	if ((p = realloc(b->data, cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

static int
vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (buf_grow(b, (size_t)n) == -1)
		return -1;
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int
buf_add_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len, i;
	unsigned char c;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (buf_addc(b, '"') == -1)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if (buf_addc(b, '\\') == -1 ||
			    buf_addc(b, (char)c) == -1)
				goto fail;
		} else if (c == '\n') {
			if (buf_add(b, "\\n", 2) == -1)
				goto fail;
		} else if (c == '\t') {
			if (buf_add(b, "\\t", 2) == -1)
				goto fail;
		} else if (c == '\r') {
			if (buf_add(b, "\\r", 2) == -1)
				goto fail;
		} else if (c < 0x20 || c == 0x7f) {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			if (buf_add(b, esc, sizeof(esc)) == -1)
				goto fail;
		} else if (c == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			/* U+0080..U+009F, which YAML may not hold raw. */
			c = (unsigned char)s[++i];
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			if (buf_add(b, esc, sizeof(esc)) == -1)
				goto fail;
		} else if (c == 0xef && i + 2 < n &&
		    (unsigned char)s[i + 1] == 0xbf &&
		    ((unsigned char)s[i + 2] & 0xfe) == 0xbe) {
			/* U+FFFE and U+FFFF, neither allowed in YAML. */
			if (buf_adds(b, (unsigned char)s[i + 2] == 0xbe ?
			    "\\ufffe" : "\\uffff") == -1)
				goto fail;
			i += 2;
		} else if (buf_addc(b, (char)c) == -1)
			goto fail;
	}
	if (buf_addc(b, '"') == -1)
		goto fail;
	return 0;
fail:
	b->len = start;
	if (b->data != NULL)
		b->data[start] = '\0';
	return -1;
}

char *
buf_detach(struct buf *b, size_t *lenp)
{
	char *p;

	if (b->data == NULL && buf_grow(b, 0) == -1)
		return NULL;
	if (b->data != NULL && b->len == 0)
		b->data[0] = '\0';
	p = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
