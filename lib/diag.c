/*
 * Diagnostics on stderr: see diag.h.
 */
#include "diag.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "banned.h"

#define DIAG_LINE_MAX	1024
#define DIAG_JSON_MAX	(8 * DIAG_LINE_MAX)
#define DIAG_REQUEST_MAX	4096	/* a request log line */

static const char *diag_command = NULL;
static int diag_quiet = 0;
static int diag_json_mode = 0;

void
diag_init(const char *command)
{
	diag_command = command;
}

void
diag_set_quiet(int quiet)
{
	diag_quiet = quiet;
}

void
diag_set_json(int on)
{
	diag_json_mode = on;
}

int
diag_json(void)
{
	return diag_json_mode;
}

/*
 * Shows control bytes as '?': messages quote what servers, nodes and
 * materializers sent, which must not drive the terminal or forge lines.
 */
static void
defang(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

static void
write_all(const char *line, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, line, len)) <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/* The length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
diag_add_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t start = b->len, i, l;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	int rc;

	if (buf_addc(b, '"') == -1)
		return -1;
	for (i = 0; i < n; i += l) {
		l = 1;
		if (u[i] == '"' || u[i] == '\\') {
			esc[1] = (char)u[i];
			rc = buf_add(b, esc, 2);
			esc[1] = 'u';
		} else if (u[i] == '\n')
			rc = buf_add(b, "\\n", 2);
		else if (u[i] == '\t')
			rc = buf_add(b, "\\t", 2);
		else if (u[i] < 0x20 || u[i] == 0x7f) {
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 0xf];
			rc = buf_add(b, esc, sizeof(esc));
		} else if ((l = utf8_len(u + i, n - i)) == 0) {
			l = 1;
			rc = buf_add(b, "\\ufffd", 6);
		} else
			rc = buf_add(b, s + i, l);
		if (rc == -1)
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

void
diag_line(const char *line, size_t len)
{
	char copy[DIAG_REQUEST_MAX];

	/* Log lines end in their one newline; nothing else may break them. */
	if (len > sizeof(copy)) {
		memcpy(copy, line, sizeof(copy) - 1);
		copy[sizeof(copy) - 1] = '\n';
		len = sizeof(copy);
	} else
		memcpy(copy, line, len);
	if (len > 0 && copy[len - 1] == '\n')
		defang(copy, len - 1);
	else
		defang(copy, len);
	write_all(copy, len);
}

/* Writes msg[0..len) as one JSON object line of the given level. */
static void
json_line(const char *level, const char *msg, size_t len)
{
	static const char fallback[] =
	    "{\"level\":\"error\",\"message\":\"out of memory\"}\n";
	char when[CLOCK_UTC_LEN];
	struct buf b;

	clock_utc(time(NULL), when);
	buf_init(&b, DIAG_JSON_MAX);
	if (buf_addf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"command\":",
	    when, level) == 0 &&
	    (diag_command != NULL ? diag_add_json_string(&b, diag_command,
	    strlen(diag_command)) : buf_adds(&b, "null")) == 0 &&
	    buf_adds(&b, ",\"message\":") == 0 &&
	    diag_add_json_string(&b, msg, len) == 0 &&
	    buf_adds(&b, "}\n") == 0)
		write_all(b.data, b.len);
	else
		write_all(fallback, sizeof(fallback) - 1);
	buf_release(&b);
}

static void
vline(const char *level, const char *fmt, va_list ap)
{
	char line[DIAG_LINE_MAX];
	int n, m;

	if (diag_json_mode) {
		m = vsnprintf(line, sizeof(line), fmt, ap);
		if (m < 0)
			m = 0;
		if ((size_t)m >= sizeof(line))
			m = sizeof(line) - 1;	/* cut a long message */
		json_line(level, line, (size_t)m);
		return;
	}
	if (diag_command != NULL)
		n = snprintf(line, sizeof(line), "cfgsync: %s: ", diag_command);
	else
		n = snprintf(line, sizeof(line), "cfgsync: ");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;	/* cut a long line, keep its end */
	defang(line, (size_t)n);
	line[n++] = '\n';
	write_all(line, (size_t)n);
}

void
diag_vwarn(const char *fmt, va_list ap)
{
	vline("warn", fmt, ap);
}

void
diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("warn", fmt, ap);
	va_end(ap);
}

void
diag_info(const char *fmt, ...)
{
	va_list ap;

	if (diag_quiet)
		return;
	va_start(ap, fmt);
	vline("info", fmt, ap);
	va_end(ap);
}
