/*
 * Unit tests for the HTTP server's request parsing (lib/http_dispatch.c):
 * route matching on the request target (exact paths, prefixes, 404 and
 * 405), the ?wait= query value, the bearer-token check, Accept-Encoding
 * and If-None-Match as the response path reads them; and the cleaning
 * of libmicrohttpd's messages for the log (lib/http_listen.c).
 */
#include <stdio.h>
#include <string.h>

#include "http_server_internal.h"

#include "check.h"

static void
handler(void *ctx, struct http_request *req, struct http_response *resp)
{
}

static const struct http_route routes[] = {
	{ "POST", "/init-with-node", "init-with-node", handler, HTTP_OPERATOR },
	{ "POST", "/node", "node", handler, HTTP_OPERATOR },
	{ "POST", "/node/replace", "replace", handler, HTTP_OPERATOR },
	{ "DELETE", "/registrations/", "delete", handler, HTTP_OPERATOR },
	{ "GET", "/registrations", "registrations", handler, HTTP_OPERATOR },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static void
test_routes(void)
{
	size_t idx = 99;

	CHECK(http_route_find(routes, NROUTES, "POST", "/node", &idx) == 0);
	CHECK(idx == 1);
	CHECK(http_route_find(routes, NROUTES, "POST", "/node/replace",
	    &idx) == 0);
	CHECK(idx == 2);
	CHECK(http_route_find(routes, NROUTES, "POST", "/init-with-node",
	    &idx) == 0);
	CHECK(idx == 0);
	/* An exact path does not match a longer or shorter one. */
	idx = 99;
	CHECK(http_route_find(routes, NROUTES, "POST", "/node/", &idx) ==
	    404);
	CHECK(idx == 99);
	CHECK(http_route_find(routes, NROUTES, "POST", "/nod", &idx) == 404);
	CHECK(http_route_find(routes, NROUTES, "POST", "/nodes", &idx) ==
	    404);
	CHECK(http_route_find(routes, NROUTES, "POST", "", &idx) == 404);
	CHECK(http_route_find(routes, NROUTES, "POST", "/NODE", &idx) == 404);
	/* A path ending in "/" is a prefix. */
	CHECK(http_route_find(routes, NROUTES, "DELETE", "/registrations/n1",
	    &idx) == 0);
	CHECK(idx == 3);
	CHECK(http_route_find(routes, NROUTES, "DELETE", "/registrations/",
	    &idx) == 0);
	CHECK(http_route_find(routes, NROUTES, "GET", "/registrations",
	    &idx) == 0);
	CHECK(idx == 4);
	/* The right path with the wrong method is 405, idx on that path. */
	CHECK(http_route_find(routes, NROUTES, "GET", "/node", &idx) == 405);
	CHECK(idx == 1);
	CHECK(http_route_find(routes, NROUTES, "GET", "/registrations/n1",
	    &idx) == 405);
	CHECK(idx == 3);
	CHECK(http_route_find(routes, NROUTES, "post", "/node", &idx) == 405);
	CHECK(http_route_find(routes, 0, "POST", "/node", &idx) == 404);
}

static void
test_wait(void)
{
	unsigned w = 7;

	CHECK(http_query_wait(NULL, &w) == 0 && w == 0);
	CHECK(http_query_wait("0", &w) == 0 && w == 0);
	CHECK(http_query_wait("5", &w) == 0 && w == 5);
	CHECK(http_query_wait("60", &w) == 0 && w == 60);
	CHECK(http_query_wait("007", &w) == 0 && w == 7);
	/* Past the cap is the cap, however far past. */
	CHECK(http_query_wait("61", &w) == 0 && w == HTTP_SERVER_MAX_WAIT);
	CHECK(http_query_wait("4294967297", &w) == 0 &&
	    w == HTTP_SERVER_MAX_WAIT);
	w = 3;
	CHECK(http_query_wait("", &w) == -1);
	CHECK(http_query_wait("-1", &w) == -1);
	CHECK(http_query_wait("+1", &w) == -1);
	CHECK(http_query_wait(" 1", &w) == -1);
	CHECK(http_query_wait("1 ", &w) == -1);
	CHECK(http_query_wait("1x", &w) == -1);
	CHECK(http_query_wait("1.5", &w) == -1);
	CHECK(http_query_wait("0x10", &w) == -1);
	CHECK(http_query_wait("99999999999999999999999", &w) == -1);
	CHECK(w == 3);
}

static void
test_token(void)
{
	const char *t = "s3cret";
	size_t n = strlen(t);

	CHECK(http_token_ok(t, n, "Bearer s3cret") == 1);
	CHECK(http_token_ok(t, n, NULL) == 0);
	CHECK(http_token_ok(t, n, "") == 0);
	CHECK(http_token_ok(t, n, "Bearer ") == 0);
	CHECK(http_token_ok(t, n, "Bearer s3cre") == 0);
	CHECK(http_token_ok(t, n, "Bearer s3crett") == 0);
	CHECK(http_token_ok(t, n, "Bearer S3cret") == 0);
	/* RFC 9110: the scheme in any case, 1*SP, whitespace around. */
	CHECK(http_token_ok(t, n, "bearer s3cret") == 1);
	CHECK(http_token_ok(t, n, "BEARER s3cret") == 1);
	CHECK(http_token_ok(t, n, " Bearer s3cret \t") == 1);
	CHECK(http_token_ok(t, n, "Bearer\ts3cret") == 1);
	CHECK(http_token_ok(t, n, "Bearers3cret") == 0);
	CHECK(http_token_ok(t, n, "Bearer s3 cret") == 0);
	CHECK(http_token_ok(t, n, "Bearer s3cret x") == 0);
	CHECK(http_token_ok(t, n, "Basic s3cret") == 0);
	CHECK(http_token_ok(t, n, "Bearer  s3cret") == 1);
}

static void
test_clean(void)
{
	char m[512];

	(void)snprintf(m, sizeof(m), "Error processing request (HTTP "
	    "response code is 400 ('<html><head><title>Request malformed"
	    "</title></head><body>Your HTTP request was syntactically "
	    "incorrect.</body></html>')). Closing connection.\n");
	http_listen_clean_message(m);
	CHECK_STR(m, "Error processing request (HTTP response code is 400: "
	    "Your HTTP request was syntactically incorrect.). Closing "
	    "connection.");
	(void)snprintf(m, sizeof(m), "x ('<html><body>has <b>Content-Length"
	    "</b> wrong</body></html>') y");
	http_listen_clean_message(m);
	CHECK_STR(m, "x: has Content-Length wrong y");
	(void)snprintf(m, sizeof(m), "Failed to parse `Content-Length' "
	    "header. Closing connection.\n\n");
	http_listen_clean_message(m);
	CHECK_STR(m, "Failed to parse `Content-Length' header. Closing "
	    "connection.");
	/* An unclosed page is left as it is. */
	(void)snprintf(m, sizeof(m), "a ('<html><body>cut");
	http_listen_clean_message(m);
	CHECK_STR(m, "a ('<html><body>cut");
	CHECK(strchr(m, '\n') == NULL);
}

static void
test_accept_gzip(void)
{
	CHECK(http_accepts_gzip("gzip"));
	CHECK(http_accepts_gzip("deflate, gzip"));
	CHECK(http_accepts_gzip("gzip, deflate, br"));
	CHECK(http_accepts_gzip("GZIP"));
	CHECK(http_accepts_gzip("x-gzip"));
	CHECK(http_accepts_gzip("*"));
	CHECK(http_accepts_gzip("gzip;q=0.5"));
	CHECK(http_accepts_gzip("gzip; q=1"));
	CHECK(http_accepts_gzip("gzip;q=0.001"));
	CHECK(http_accepts_gzip(" gzip ;q=0.1 , identity"));
	CHECK(!http_accepts_gzip(NULL));
	CHECK(!http_accepts_gzip(""));
	CHECK(!http_accepts_gzip("identity"));
	CHECK(!http_accepts_gzip("deflate, br"));
	CHECK(!http_accepts_gzip("gzipped"));
	CHECK(!http_accepts_gzip("gzip;q=0"));
	CHECK(!http_accepts_gzip("gzip;q=0.000"));
	CHECK(!http_accepts_gzip("gzip; q=0 , identity"));
	CHECK(!http_accepts_gzip("*;q=0"));
}

static void
test_etag_match(void)
{
	static const char e[] = "\"abc\"";

	CHECK(http_etag_matches("\"abc\"", e));
	CHECK(http_etag_matches("W/\"abc\"", e));
	CHECK(http_etag_matches("\"x\", \"abc\"", e));
	CHECK(http_etag_matches("\"x\",W/\"abc\"", e));
	CHECK(http_etag_matches("*", e));
	CHECK(!http_etag_matches(NULL, e));
	CHECK(!http_etag_matches("", e));
	CHECK(!http_etag_matches("\"abcd\"", e));
	CHECK(!http_etag_matches("\"ab\"", e));
	CHECK(!http_etag_matches("abc", e));
	CHECK(!http_etag_matches("\"abc", e));
	CHECK(!http_etag_matches("\"x\"", e));
	CHECK(!http_etag_matches("\"abc\"", ""));	/* no tag: no 304 */
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	test_routes();
	test_wait();
	test_token();
	test_clean();
	test_accept_gzip();
	test_etag_match();
	return check_done("test_http_request");
}
