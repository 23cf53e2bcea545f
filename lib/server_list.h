/*
 * The servers a node client may ask (SPEC 6): "--server URL[,URL...]".  A
 * node starts at the one a stable hash of its identifier picks, which
 * spreads a fleet across the instances of one deployment, moves to the
 * next after a connect error, a timeout or a 5xx, and stays on one while
 * it answers.
 */
#ifndef CFGSYNC_SERVER_LIST_H
#define CFGSYNC_SERVER_LIST_H

#include <stddef.h>
#include <stdint.h>

struct errbuf;

#define SERVER_LIST_MAX		32	/* URLs in one list */
#define SERVER_LIST_URL_MAX	2048	/* bytes of one URL */

struct server_list {
	char	*urls[SERVER_LIST_MAX];	/* owned */
	size_t	 n;
	size_t	 cur;			/* the one asked now */
};

/*
 * Splits text at commas into l, each URL checked to be http:// or https://
 * and to fit SERVER_LIST_URL_MAX; l->cur is 0.  Returns 0, or -1 with
 * EC_USAGE naming the bad element (an empty one, too many) or EC_INTERNAL;
 * l then holds nothing.  Release with server_list_release.
 */
int	server_list_parse(struct server_list *, const char *text,
	    struct errbuf *);
void	server_list_release(struct server_list *);

/* The 32-bit FNV-1a hash of s, the same on every host. */
uint32_t server_list_hash(const char *s);

/*
 * Points l->cur at the URL identifier starts from: the hash of identifier
 * mod n, or 0 when identifier is NULL.
 */
void	server_list_start(struct server_list *, const char *identifier);

/* The URL asked now, borrowed from l. */
const char *server_list_current(const struct server_list *);

/* Moves to the next URL, wrapping; returns it (borrowed). */
const char *server_list_next(struct server_list *);

#endif
