/*
 * peers N: a cfgsync materializer in C, against only libc and json-c.
 *
 * Not ready until N nodes have registered.  Then every registered node
 * gets config.yaml with its identity and the address (ip:port) of every
 * other node, the port taken from its metadata's network_port (default
 * 3000), and all of them share one deployment.yaml that lists the whole
 * cluster.  Strings are written as YAML double-quoted scalars, so no
 * identifier or address can break the files.  Exit 0 with a bundle or
 * {"ready": false}, 1 on bad input.  See cfgsync-materializer(7).
 *
 * Build:  cc -o peers peers.c $(pkg-config --cflags --libs json-c)
 * Run:    cfgsync serve-exec --listen 4400 -- ./peers 3
 */
#define _POSIX_C_SOURCE 200809L	/* open_memstream */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define SNAPSHOT_MAX	(64UL << 20)	/* what serve-exec sends at most */
#define NODES_MAX	100000
#define DEFAULT_PORT	3000

struct node {
	const char	*id;		/* borrowed from the snapshot */
	const char	*ip;		/* borrowed from the snapshot */
	int		 port;
};

/*
 * Reads all of f into a NUL-terminated heap string the caller frees;
 * NULL (errno set) on a read error, out of memory, or more than max bytes.
 */
static char *
read_all(FILE *f, size_t max)
{
	char *p = NULL, *np;
	size_t len = 0, cap = 0, n;

	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(p);
				errno = EFBIG;
				return NULL;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if ((np = realloc(p, cap + 1)) == NULL) {
				free(p);
				return NULL;
			}
			p = np;
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f) || len > max) {
		free(p);
		errno = ferror(f) ? EIO : EFBIG;
		return NULL;
	}
	p[len] = '\0';
	return p;
}

/* Writes s as a YAML double-quoted scalar (JSON's escapes are YAML's). */
static int
put_quoted(FILE *f, const char *s)
{
	struct json_object *o;
	int rc;

	if ((o = json_object_new_string(s)) == NULL)
		return -1;
	rc = fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), f) == EOF ? -1 : 0;
	json_object_put(o);
	return rc;
}

/* The string member key of o, or NULL; borrowed from o. */
static const char *
member_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* metadata.network_port when it is a port number, else DEFAULT_PORT. */
static int
node_port(struct json_object *reg)
{
	struct json_object *md, *v;
	int64_t port;

	if (!json_object_object_get_ex(reg, "metadata", &md) ||
	    !json_object_object_get_ex(md, "network_port", &v) ||
	    !json_object_is_type(v, json_type_int))
		return DEFAULT_PORT;
	port = json_object_get_int64(v);
	return port >= 1 && port <= 65535 ? (int)port : DEFAULT_PORT;
}

/*
 * Adds {"path": path, "content": the bytes of text} to the array files;
 * frees text.  Returns 0, or -1 when out of memory.
 */
static int
add_file(struct json_object *files, const char *path, char *text,
    size_t len)
{
	struct json_object *f, *v;

	if (text == NULL)
		return -1;
	if ((f = json_object_new_object()) == NULL)
		goto fail;
	if ((v = json_object_new_string(path)) == NULL ||
	    json_object_object_add(f, "path", v) < 0) {
		json_object_put(v);
		goto fail;
	}
	if ((v = json_object_new_string_len(text, (int)len)) == NULL ||
	    json_object_object_add(f, "content", v) < 0) {
		json_object_put(v);
		goto fail;
	}
	free(text);
	if (json_object_array_add(files, f) < 0) {
		json_object_put(f);
		return -1;
	}
	return 0;
fail:
	json_object_put(f);
	free(text);
	return -1;
}

/* config.yaml of nodes[me]: its identity, then every other node. */
static int
config_yaml(struct json_object *files, const struct node *nodes,
    size_t n, size_t me)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return -1;
	fputs("id: ", f);
	put_quoted(f, nodes[me].id);
	fputs("\nip: ", f);
	put_quoted(f, nodes[me].ip);
	fprintf(f, "\nport: %d\npeers:\n", nodes[me].port);
	for (i = 0; i < n; i++) {
		if (i == me)
			continue;
		fputs("  - id: ", f);
		put_quoted(f, nodes[i].id);
		fputs("\n    address: ", f);
		put_quoted(f, nodes[i].ip);
		fprintf(f, "\n    port: %d\n", nodes[i].port);
	}
	if (ferror(f)) {
		fclose(f);
		free(text);
		return -1;
	}
	if (fclose(f) == EOF) {
		free(text);
		return -1;
	}
	return add_file(files, "config.yaml", text, len);
}

/* deployment.yaml, shared: the generation and every node, in order. */
static int
deployment_yaml(struct json_object *files, const struct node *nodes,
    size_t n, int64_t generation)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return -1;
	fprintf(f, "generation: %lld\ncluster_size: %zu\nnodes:\n",
	    (long long)generation, n);
	for (i = 0; i < n; i++) {
		fputs("  - id: ", f);
		put_quoted(f, nodes[i].id);
		fputs("\n    address: ", f);
		put_quoted(f, nodes[i].ip);
		fprintf(f, "\n    port: %d\n", nodes[i].port);
	}
	if (ferror(f)) {
		fclose(f);
		free(text);
		return -1;
	}
	if (fclose(f) == EOF) {
		free(text);
		return -1;
	}
	return add_file(files, "deployment.yaml", text, len);
}

/* Builds the bundle for nodes; NULL when out of memory. */
static struct json_object *
bundle_new(const struct node *nodes, size_t n, int64_t generation)
{
	struct json_object *bundle, *list, *shared, *entry, *files, *v;
	size_t i;

	if ((bundle = json_object_new_object()) == NULL)
		return NULL;
	list = json_object_new_array();
	if (list == NULL || json_object_object_add(bundle, "nodes", list) < 0) {
		json_object_put(list);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		entry = json_object_new_object();
		if (entry == NULL || json_object_array_add(list, entry) < 0) {
			json_object_put(entry);
			goto fail;
		}
		v = json_object_new_string(nodes[i].id);
		if (v == NULL ||
		    json_object_object_add(entry, "identifier", v) < 0) {
			json_object_put(v);
			goto fail;
		}
		files = json_object_new_array();
		if (files == NULL ||
		    json_object_object_add(entry, "files", files) < 0) {
			json_object_put(files);
			goto fail;
		}
		if (config_yaml(files, nodes, n, i) == -1)
			goto fail;
	}
	shared = json_object_new_array();
	if (shared == NULL ||
	    json_object_object_add(bundle, "shared_files", shared) < 0) {
		json_object_put(shared);
		goto fail;
	}
	if (deployment_yaml(shared, nodes, n, generation) == -1)
		goto fail;
	return bundle;
fail:
	json_object_put(bundle);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct json_object *snap = NULL, *regs, *reg, *v, *bundle = NULL;
	struct node *nodes = NULL;
	enum json_tokener_error jerr;
	int64_t generation = 0;
	size_t count, i;
	char *text = NULL, *end;
	long want;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: peers N\n");
		return 2;
	}
	errno = 0;
	want = strtol(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || want < 1 ||
	    want > NODES_MAX) {
		fprintf(stderr, "peers: N must be a number from 1 to %d, "
		    "not '%s'\n", NODES_MAX, argv[1]);
		return 2;
	}

	if ((text = read_all(stdin, SNAPSHOT_MAX)) == NULL) {
		fprintf(stderr, "peers: read the snapshot: %s\n",
		    strerror(errno));
		goto out;
	}
	if ((snap = json_tokener_parse_verbose(text, &jerr)) == NULL) {
		fprintf(stderr, "peers: snapshot: %s\n",
		    json_tokener_error_desc(jerr));
		goto out;
	}
	if (!json_object_object_get_ex(snap, "registrations", &regs) ||
	    !json_object_is_type(regs, json_type_array)) {
		fprintf(stderr, "peers: snapshot: no registrations array\n");
		goto out;
	}
	if (json_object_object_get_ex(snap, "generation", &v))
		generation = json_object_get_int64(v);
	count = json_object_array_length(regs);
	if (count < (size_t)want) {
		fprintf(stderr, "peers: %zu of %ld nodes registered\n", count,
		    want);
		if (puts("{\"ready\": false}") == EOF || fflush(stdout) == EOF)
			goto out;
		rc = 0;
		goto out;
	}
	if (count > NODES_MAX ||
	    (nodes = calloc(count, sizeof(*nodes))) == NULL) {
		fprintf(stderr, "peers: %zu nodes: too many\n", count);
		goto out;
	}
	for (i = 0; i < count; i++) {
		reg = json_object_array_get_idx(regs, i);
		nodes[i].id = member_string(reg, "identifier");
		nodes[i].ip = member_string(reg, "ip");
		if (nodes[i].id == NULL || nodes[i].ip == NULL) {
			fprintf(stderr, "peers: registrations[%zu]: no "
			    "identifier or ip\n", i);
			goto out;
		}
		nodes[i].port = node_port(reg);
	}
	if ((bundle = bundle_new(nodes, count, generation)) == NULL) {
		fprintf(stderr, "peers: out of memory\n");
		goto out;
	}
	if (puts(json_object_to_json_string_ext(bundle,
	    JSON_C_TO_STRING_PLAIN)) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "peers: write the bundle: %s\n",
		    strerror(errno));
		goto out;
	}
	fprintf(stderr, "peers: %zu nodes, generation %lld: ready\n", count,
	    (long long)generation);
	rc = 0;
out:
	json_object_put(bundle);
	free(nodes);
	json_object_put(snap);
	free(text);
	return rc;
}
