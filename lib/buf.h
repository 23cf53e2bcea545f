/*
 * Growable byte buffers with a hard size cap (curl's dynbuf): the data is
 * always NUL-terminated, and growing past max is an error, never a silent
 * truncation.
 */
#ifndef CFGSYNC_BUF_H
#define CFGSYNC_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes used, without the NUL */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* len never exceeds this */
};

/* Starts an empty buffer that will hold at most max bytes. */
void	buf_init(struct buf *, size_t max);

/* Frees the contents; the buffer is empty and reusable (same max). */
void	buf_release(struct buf *);

/* Empties the buffer, keeping its memory. */
void	buf_reset(struct buf *);

/*
 * Append bytes, a string or formatted text.  Return 0, or -1 with errno
 * EMSGSIZE when the result would pass max, ENOMEM when out of memory; on
 * failure the buffer is unchanged.
 */
int	buf_add(struct buf *, const void *, size_t);
int	buf_adds(struct buf *, const char *);
int	buf_addc(struct buf *, char);
int	buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Appends s as a JSON string literal, quotes included.  Every C0 and C1
 * control character, DEL, U+FFFE and U+FFFF is escaped (\u00XX), the rest
 * written as it is, so characters past U+FFFF stay UTF-8, never surrogate
 * escapes: a YAML reader (the original's) takes the text too.
 */
int	buf_add_json_string(struct buf *, const char *, size_t);

/*
 * Gives the data away: returns a NUL-terminated heap string the caller
 * frees with free(3) (an empty string for an empty buffer, NULL when out of
 * memory), stores its length in *lenp if lenp is not NULL, and leaves the
 * buffer empty.
 */
char	*buf_detach(struct buf *, size_t *lenp);

#endif
