/*
 * A node's request body as a registration (node_request.h).
 */
#include "node_request.h"

#include <stdint.h>
#include <string.h>

#include "errbuf.h"
#include "http_server.h"
#include "protocol.h"
#include "registration.h"
#include "banned.h"

int
node_request_parse(struct http_request *req, struct http_response *resp,
    struct registration *reg)
{
	struct errbuf eb;

	memset(reg, 0, sizeof(*reg));
	/* The server capped the body already. */
	if (registration_parse(reg, req->body, req->body_len, SIZE_MAX,
	    &eb) == -1) {
		http_response_error(resp, 400, PROTOCOL_BAD_REQUEST, "%s",
		    eb.msg);
		return -1;
	}
	_Static_assert(sizeof(req->identifier) == sizeof(reg->identifier),
	    "an identifier fits the request's log field");
	memcpy(req->identifier, reg->identifier, sizeof(reg->identifier));
	return 0;
}
