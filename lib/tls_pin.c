/*
 * Public-key pins: see tls_pin.h.  GnuTLS reads the certificate (it comes
 * with libmicrohttpd already); nettle hashes and encodes, as elsewhere.
 */
#include "tls_pin.h"

#include <stdint.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "buf.h"
#include "errbuf.h"
#include "exitcode.h"
#include "fsx.h"
#include "banned.h"

#define TLS_PIN_PREFIX		"sha256//"
#define TLS_PIN_CERT_MAX	(1UL << 20)

int
tls_pin_of_cert(const char *path, char pin[TLS_PIN_LEN], struct errbuf *eb)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t pem, der = { NULL, 0 };
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx sha;
	struct buf text;
	int rc = -1, e;

	buf_init(&text, TLS_PIN_CERT_MAX);
	if (fsx_read_file(path, &text, eb) == -1)
		goto out;
	pem.data = (unsigned char *)text.data;
	pem.size = (unsigned)text.len;
	if ((e = gnutls_x509_crt_init(&crt)) < 0 ||
	    (e = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (e = gnutls_pubkey_init(&key)) < 0 ||
	    (e = gnutls_pubkey_import_x509(key, crt, 0)) < 0 ||
	    (e = gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &der)) < 0) {
		errbuf_set(eb, EC_INVALID, "%s: no certificate: %s", path,
		    gnutls_strerror(e));
		goto out;
	}
	sha256_init(&sha);
	sha256_update(&sha, der.size, der.data);
	sha256_digest(&sha, sizeof(digest), digest);
	memcpy(pin, TLS_PIN_PREFIX, sizeof(TLS_PIN_PREFIX) - 1);
	base64_encode_raw(pin + sizeof(TLS_PIN_PREFIX) - 1, sizeof(digest),
	    digest);
	pin[TLS_PIN_LEN - 1] = '\0';
	rc = 0;
out:
	gnutls_free(der.data);
	if (key != NULL)
		gnutls_pubkey_deinit(key);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	buf_release(&text);
	return rc;
}

int
tls_pin_check(const char *s, struct errbuf *eb)
{
	const char *p = s;
	size_t n;

	for (;;) {
		if (strncmp(p, TLS_PIN_PREFIX, sizeof(TLS_PIN_PREFIX) - 1) != 0)
			return errbuf_set(eb, EC_USAGE, "%s: not sha256//BASE64",
			    s);
		p += sizeof(TLS_PIN_PREFIX) - 1;
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
		    "wxyz0123456789+/=");
		if (n != TLS_PIN_LEN - sizeof(TLS_PIN_PREFIX))
			return errbuf_set(eb, EC_USAGE, "%s: a SHA-256 pin has "
			    "44 base64 characters", s);
		p += n;
		if (*p == '\0')
			return 0;
		if (*p++ != ';')
			return errbuf_set(eb, EC_USAGE, "%s: pins are joined "
			    "by ';'", s);
	}
}
