/*
 * Diagnostics: the only way lib/ writes to stderr.  Every line starts with
 * "cfgsync: COMMAND: " once diag_init has named the command.  Lines are
 * written with one write(2) each so threads do not interleave them.
 */
#ifndef CFGSYNC_DIAG_H
#define CFGSYNC_DIAG_H

#include <stdarg.h>
#include <stddef.h>

/* Names the running command ("fetch"); the string is borrowed for good. */
void	diag_init(const char *);

/* Sets whether progress lines (diag_info) are printed; errors always are. */
void	diag_set_quiet(int);

/* "cfgsync: COMMAND: message" on stderr. */
void	diag_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	diag_vwarn(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* Like diag_warn, but silent under diag_set_quiet(1). */
void	diag_info(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Writes one preformatted line (a request log line) as it is. */
void	diag_line(const char *, size_t);

#endif
