/*
 * Functions this project does not call: each one has a bounded or checked
 * replacement (snprintf with its result checked, struct buf, strtoul through
 * cli_parse_uint).  Included last in every .c file, after every other
 * header, so a use of one of these names fails to compile.
 */
#ifndef CFGSYNC_BANNED_H
#define CFGSYNC_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)

#endif
