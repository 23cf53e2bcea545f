/*
 * Public-key pins, as libcurl's CURLOPT_PINNEDPUBLICKEY takes them and
 * kubeadm's discovery hash works: "sha256//" and the base64 of the
 * SHA-256 of the certificate's SubjectPublicKeyInfo, so a node can trust
 * one server without a CA file.
 */
#ifndef CFGSYNC_TLS_PIN_H
#define CFGSYNC_TLS_PIN_H

#include <stddef.h>

struct errbuf;

/* "sha256//" + 44 base64 characters + NUL */
#define TLS_PIN_LEN	(8 + 44 + 1)

/*
 * Writes the pin of the first certificate in the PEM file at path to pin.
 * Returns 0, or -1 with EC_USAGE (cannot read path) or EC_INVALID (no
 * certificate in it).
 */
int	tls_pin_of_cert(const char *path, char pin[TLS_PIN_LEN],
	    struct errbuf *);

/* Checks the form of a pin argument: "sha256//BASE64[;sha256//...]". */
int	tls_pin_check(const char *, struct errbuf *);

#endif
