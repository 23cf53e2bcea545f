/*
 * Diagnostics on stderr: see diag.h.
 */
#include "diag.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

#define DIAG_LINE_MAX	1024

static const char *diag_command = NULL;
static int diag_quiet = 0;

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

void
diag_line(const char *line, size_t len)
{
	char copy[DIAG_LINE_MAX];

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

void
diag_vwarn(const char *fmt, va_list ap)
{
	char line[DIAG_LINE_MAX];
	int n, m;

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
diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vwarn(fmt, ap);
	va_end(ap);
}

void
diag_info(const char *fmt, ...)
{
	va_list ap;

	if (diag_quiet)
		return;
	va_start(ap, fmt);
	diag_vwarn(fmt, ap);
	va_end(ap);
}
