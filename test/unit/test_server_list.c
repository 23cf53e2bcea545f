/*
 * Unit tests for lib/server_list: the split and its checks, the FNV-1a
 * hash against published vectors, the start index from an identifier, and
 * the order a client asks the servers of a list in.
 */
#include "server_list.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "exitcode.h"
#include "banned.h"

static void
test_parse(void)
{
	struct server_list l;
	struct errbuf eb;

	CHECK(server_list_parse(&l, "http://127.0.0.1:4400", &eb) == 0);
	CHECK(l.n == 1 && l.cur == 0);
	CHECK_STR(server_list_current(&l), "http://127.0.0.1:4400");
	CHECK_STR(server_list_next(&l), "http://127.0.0.1:4400");
	server_list_release(&l);

	CHECK(server_list_parse(&l, "http://a:1,https://b:2/x/,http://c", &eb)
	    == 0);
	CHECK(l.n == 3);
	CHECK_STR(l.urls[0], "http://a:1");
	CHECK_STR(l.urls[1], "https://b:2/x/");
	CHECK_STR(l.urls[2], "http://c");
	server_list_release(&l);
	server_list_release(&l);	/* twice is harmless */
	server_list_release(NULL);

	CHECK(server_list_parse(&l, "http://a,ftp://b", &eb) == -1);
	CHECK(eb.code == EC_USAGE);
	CHECK(strstr(eb.msg, "ftp://b") != NULL);
	CHECK(l.n == 0);
	CHECK(server_list_parse(&l, "http://a,,http://b", &eb) == -1);
	CHECK(eb.code == EC_USAGE && strstr(eb.msg, "empty") != NULL);
	CHECK(server_list_parse(&l, "http://a,", &eb) == -1);
	CHECK(server_list_parse(&l, "", &eb) == -1);
	CHECK(server_list_parse(&l, "127.0.0.1:4400", &eb) == -1);
	CHECK(strstr(eb.msg, "127.0.0.1:4400") != NULL);
}

static void
test_too_many(void)
{
	struct server_list l;
	struct errbuf eb;
	char text[SERVER_LIST_MAX * 16 + 64];
	size_t i, off = 0;
	int n;

	for (i = 0; i < SERVER_LIST_MAX; i++) {
		n = snprintf(text + off, sizeof(text) - off, "%shttp://h%zu",
		    i > 0 ? "," : "", i);
		CHECK(n > 0 && (size_t)n < sizeof(text) - off);
		off += (size_t)n;
	}
	CHECK(server_list_parse(&l, text, &eb) == 0);
	CHECK(l.n == SERVER_LIST_MAX);
	server_list_release(&l);
	n = snprintf(text + off, sizeof(text) - off, ",http://one-more");
	CHECK(n > 0 && (size_t)n < sizeof(text) - off);
	CHECK(server_list_parse(&l, text, &eb) == -1);
	CHECK(eb.code == EC_USAGE);
}

static void
test_hash(void)
{
	/* The FNV-1a 32-bit test vectors. */
	CHECK(server_list_hash("") == 0x811c9dc5u);
	CHECK(server_list_hash("a") == 0xe40c292cu);
	CHECK(server_list_hash("foobar") == 0xbf9cf968u);
}

static void
test_order(void)
{
	struct server_list l;
	struct errbuf eb;
	size_t counts[3] = { 0, 0, 0 }, i, start;
	char id[32];

	CHECK(server_list_parse(&l, "http://a,http://b,http://c", &eb) == 0);
	/* Without an identifier: the first URL. */
	server_list_start(&l, NULL);
	CHECK(l.cur == 0);
	/* "a" hashes to 0xe40c292c, which is 1 mod 3. */
	server_list_start(&l, "a");
	CHECK(l.cur == 1);
	CHECK_STR(server_list_current(&l), "http://b");
	/* Then each of the others in turn, wrapping, and back. */
	CHECK_STR(server_list_next(&l), "http://c");
	CHECK_STR(server_list_next(&l), "http://a");
	CHECK_STR(server_list_next(&l), "http://b");
	/* The same identifier starts at the same place every time. */
	server_list_start(&l, "node-17");
	start = l.cur;
	server_list_start(&l, "node-17");
	CHECK(l.cur == start);
	/* A fleet spreads over the list, none left out, none far above. */
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "node-%zu", i);
		server_list_start(&l, id);
		CHECK(l.cur < 3);
		counts[l.cur]++;
	}
	for (i = 0; i < 3; i++)
		CHECK(counts[i] > 800 && counts[i] < 1200);
	server_list_release(&l);

	/* One URL: always it. */
	CHECK(server_list_parse(&l, "http://only", &eb) == 0);
	server_list_start(&l, "whatever");
	CHECK(l.cur == 0);
	server_list_release(&l);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_parse();
	test_too_many();
	test_hash();
	test_order();
	return check_done("test_server_list");
}
