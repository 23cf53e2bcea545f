/*
 * The hash of the project's hash tables (registrations, bundle nodes):
 * SipHash-2-4 under a key drawn at random once per process, so names an
 * attacker chooses cannot be made to collide and turn lookups linear.
 */
#ifndef CFGSYNC_STRHASH_H
#define CFGSYNC_STRHASH_H

#include <stdint.h>

/* Returns the keyed hash of the NUL-terminated string s. */
uint64_t	strhash(const char *s);

#endif
