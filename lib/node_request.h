/*
 * The step every route that a node calls begins with: its body, a
 * NodeRegistration, parsed and checked, and the identifier named in the
 * request's log line.
 */
#ifndef CFGSYNC_NODE_REQUEST_H
#define CFGSYNC_NODE_REQUEST_H

struct http_request;
struct http_response;
struct registration;

/*
 * Parses req's body into reg (which it zeroes first) and copies the
 * identifier into the request's log field.  Returns 0, or -1 having made
 * resp a 400 bad_request that says what is wrong.
 */
int	node_request_parse(struct http_request *, struct http_response *,
	    struct registration *);

#endif
