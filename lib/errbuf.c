/*
 * The error record of lib/: see errbuf.h.
 */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

int
errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (eb == NULL)
		return -1;
	eb->code = code;
	va_start(ap, fmt);
	/* A message longer than the record is cut; the cut is harmless. */
	(void)vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char head[ERRBUF_MSG_MAX], joined[2 * ERRBUF_MSG_MAX + 2];
	size_t len;
	va_list ap;

	if (eb == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	(void)snprintf(joined, sizeof(joined), "%s: %s", head, eb->msg);
	/* Cut to the record's size; the cut is harmless. */
	len = strlen(joined);
	if (len >= sizeof(eb->msg))
		len = sizeof(eb->msg) - 1;
	memcpy(eb->msg, joined, len);
	eb->msg[len] = '\0';
	return -1;
}
