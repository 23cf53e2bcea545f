/*
 * The tree form of a bundle: see bundle_tree.h.
 */
#include "bundle_tree.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "buf.h"
#include "bundle.h"
#include "errbuf.h"
#include "exitcode.h"
#include "jsonx.h"
#include "banned.h"

#define SHOW	BUNDLE_TREE_SHOW	/* of an entry name, in messages */

/* Names in messages are cut here, so the reason after them still fits. */

static int
outside(const char *name, struct errbuf *eb)
{
	return errbuf_set(eb, EC_INVALID,
	    "%.*s: outside nodes/<identifier>/ and shared/", SHOW, name);
}

/*
 * Copies name to buf with every byte that is not printable ASCII as '?',
 * for a message about a name whose bytes are not text.
 */
static const char *
ascii(char *buf, size_t size, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < size && name[i] != '\0'; i++)
		buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

int
bundle_tree_parse(const char *name, int isdir, struct bundle_tree_entry *e,
    struct errbuf *eb)
{
	const char *p = name, *id, *slash;
	char shown[SHOW + 1];
	size_t len, idlen;

	e->identifier[0] = '\0';
	e->path = NULL;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (p[0] == '/')
		return errbuf_set(eb, EC_INVALID, "%.*s: %s", SHOW, name,
		    p == name ? "absolute name" : "empty component");
	len = strlen(p);
	if (isdir && len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && p[0] == '.')) {
		if (isdir)
			return 0;
		return errbuf_set(eb, EC_INVALID, "%.*s: no file name", SHOW,
		    name);
	}
	if (!jsonx_utf8_valid(p, len))
		return errbuf_set(eb, EC_INVALID, "%s: name not UTF-8",
		    ascii(shown, sizeof(shown), name));
	if (artifact_path_check(p, len, eb) == -1)
		return -1;
	if (len >= 5 && memcmp(p, "nodes", 5) == 0 &&
	    (len == 5 || p[5] == '/')) {
		if (len == 5)
			return isdir ? 0 : outside(name, eb);
		id = p + 6;
		slash = memchr(id, '/', len - 6);
		idlen = slash != NULL ? (size_t)(slash - id) : len - 6;
		if (registration_identifier_check(id, idlen, eb) == -1)
			return errbuf_prefix(eb, "%.*s", SHOW, name);
		memcpy(e->identifier, id, idlen);
		e->identifier[idlen] = '\0';
		if (isdir)
			return 0;
		if (slash == NULL)
			return outside(name, eb);
		e->path = slash + 1;
		return 0;
	}
	if (len >= 6 && memcmp(p, "shared", 6) == 0 &&
	    (len == 6 || p[6] == '/')) {
		if (isdir)
			return 0;
		if (len == 6)
			return outside(name, eb);
		e->path = p + 7;
		return 0;
	}
	return outside(name, eb);
}

int
bundle_tree_add(struct bundle *b, const struct bundle_tree_entry *e,
    char *content, size_t len, int mode, struct errbuf *eb)
{
	struct bundle_node *node = NULL;
	struct artifact_set *set;
	struct artifact_file *f;

	if (e->identifier[0] != '\0' &&
	    (node = bundle_node_get(b, e->identifier)) == NULL)
		goto nomem;
	if (e->path == NULL)
		return 0;
	set = node != NULL ? &node->files : &b->shared;
	if ((f = artifact_set_push(set)) == NULL)
		goto nomem;
	if ((f->path = strdup(e->path)) == NULL) {
		set->len--;
		goto nomem;
	}
	f->content = content;
	f->len = len;
	f->mode = mode;
	return 0;
nomem:
	free(content);
	return errbuf_set(eb, EC_INTERNAL, "out of memory");
}

const char *
bundle_tree_refusal(unsigned type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
		return NULL;
	case S_IFLNK:
		return "symbolic link";
	case S_IFCHR:
	case S_IFBLK:
		return "device";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	default:
		return "not a regular file or a directory";
	}
}

int
bundle_tree_mode(unsigned perm)
{
	perm &= 07777;
	return perm == BUNDLE_TREE_PERM ? ARTIFACT_MODE_NONE : (int)perm;
}

unsigned
bundle_tree_perm(const struct artifact_file *f)
{
	return f->mode == ARTIFACT_MODE_NONE ? BUNDLE_TREE_PERM :
	    (unsigned)f->mode;
}

int
bundle_tree_name(struct buf *b, const char *identifier, const char *path)
{
	if (identifier != NULL)
		return buf_addf(b, "nodes/%s/%s", identifier,
		    artifact_path_key(path));
	return buf_addf(b, "shared/%s", artifact_path_key(path));
}

int
bundle_tree_finish(struct bundle *b, const struct bundle_limits *l,
    struct bundle_report *r, struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++)
		artifact_set_sort(&b->nodes[i].files);
	artifact_set_sort(&b->shared);
	return bundle_check(b, l, r, eb);
}

/* Moves the files of from into to, named as bundle_tree_name says. */
static int
move_files(struct artifact_set *from, const char *identifier,
    struct artifact_set *to, struct errbuf *eb)
{
	struct artifact_file *f, *g;
	struct buf name;
	size_t i;

	for (i = 0; i < from->len; i++) {
		f = &from->files[i];
		buf_init(&name, (size_t)-1);
		if (bundle_tree_name(&name, identifier, f->path) == -1 ||
		    (g = artifact_set_push(to)) == NULL) {
			buf_release(&name);
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		free(f->path);
		*g = *f;
		if ((g->path = buf_detach(&name, NULL)) == NULL) {
			artifact_file_release(g);
			to->len--;
			memset(f, 0, sizeof(*f));
			return errbuf_set(eb, EC_INTERNAL, "out of memory");
		}
		g->mode = (int)bundle_tree_perm(g);
		/* Moved: what f pointed to is g's now. */
		memset(f, 0, sizeof(*f));
	}
	artifact_set_release(from);
	return 0;
}

int
bundle_tree_flatten(struct bundle *b, struct artifact_set *set,
    struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++)
		if (move_files(&b->nodes[i].files, b->nodes[i].identifier, set,
		    eb) == -1)
			return -1;
	return move_files(&b->shared, NULL, set, eb);
}
