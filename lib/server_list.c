/*
 * A node client's list of servers: see server_list.h.
 */
#include "server_list.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "exitcode.h"
#include "banned.h"

#define FNV_OFFSET	2166136261u
#define FNV_PRIME	16777619u
#define URL_SHOWN_MAX	120	/* of a URL in a message */

uint32_t
server_list_hash(const char *s)
{
	uint32_t h = FNV_OFFSET;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

void
server_list_release(struct server_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->urls[i]);
	l->n = 0;
	l->cur = 0;
}

/* Checks one element [s, s + len) of the list. */
static int
check_url(const char *s, size_t len, struct errbuf *eb)
{
	if (len == 0)
		return errbuf_set(eb, EC_USAGE, "--server: an empty URL in "
		    "the list");
	if (len >= SERVER_LIST_URL_MAX)
		return errbuf_set(eb, EC_USAGE, "--server %.*s...: too long",
		    URL_SHOWN_MAX, s);
	if (!(len >= 7 && strncmp(s, "http://", 7) == 0) &&
	    !(len >= 8 && strncmp(s, "https://", 8) == 0))
		return errbuf_set(eb, EC_USAGE, "--server %.*s: not an http:// "
		    "or https:// URL", (int)(len > URL_SHOWN_MAX ?
		    URL_SHOWN_MAX : len), s);
	return 0;
}

int
server_list_parse(struct server_list *l, const char *text, struct errbuf *eb)
{
	const char *s = text, *end;
	size_t len;

	memset(l, 0, sizeof(*l));
	for (;;) {
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		if (check_url(s, len, eb) == -1)
			goto fail;
		if (l->n == SERVER_LIST_MAX) {
			errbuf_set(eb, EC_USAGE, "--server: more than %d URLs",
			    SERVER_LIST_MAX);
			goto fail;
		}
		if ((l->urls[l->n] = strndup(s, len)) == NULL) {
			errbuf_set(eb, EC_INTERNAL, "out of memory");
			goto fail;
		}
		l->n++;
		if (end == NULL)
			return 0;
		s = end + 1;
	}
fail:
	server_list_release(l);
	return -1;
}

void
server_list_start(struct server_list *l, const char *identifier)
{
	l->cur = identifier == NULL || l->n == 0 ? 0 :
	    server_list_hash(identifier) % l->n;
}

const char *
server_list_current(const struct server_list *l)
{
	return l->urls[l->cur];
}

const char *
server_list_next(struct server_list *l)
{
	l->cur = (l->cur + 1) % l->n;
	return l->urls[l->cur];
}
