/*
 * Diagnostics: the only way lib/ writes to stderr.  Every line starts with
 * "cfgsync: COMMAND: " once diag_init has named the command, or, once
 * diag_set_json(1) is called, every line is one JSON object:
 * {"time":...,"level":"warn"|"info","command":...,"message":...}.  Lines
 * are written with one write(2) each so threads do not interleave them.
 */
#ifndef CFGSYNC_DIAG_H
#define CFGSYNC_DIAG_H

#include <stdarg.h>
#include <stddef.h>

struct buf;

/* Names the running command ("fetch"); the string is borrowed for good. */
void	diag_init(const char *);

/* Sets whether progress lines (diag_info) are printed; errors always are. */
void	diag_set_quiet(int);

/*
 * Sets whether lines are JSON objects (1) or text (0, the default).  Call
 * it before starting threads.
 */
void	diag_set_json(int);

/* Whether lines are JSON objects. */
int	diag_json(void);

/* "cfgsync: COMMAND: message" on stderr. */
void	diag_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	diag_vwarn(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* Like diag_warn, but silent under diag_set_quiet(1). */
void	diag_info(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Writes one preformatted line (a request log line) as it is. */
void	diag_line(const char *, size_t);

/*
 * Appends s[0..len) to b as a JSON string literal, quotes included, with
 * control bytes escaped and each byte that is not part of valid UTF-8
 * written as U+FFFD, so any input makes valid JSON.  Returns 0, or -1
 * (b unchanged) when b is full or out of memory.
 */
int	diag_add_json_string(struct buf *, const char *, size_t);

#endif
