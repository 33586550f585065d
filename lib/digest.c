/* SHA-256 of streams (layers, blobs) with OpenSSL; small documents and the digest strings are
   in sha256.c.  */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "util.h"
#include "banned.h"

struct husk_sha256
{
  EVP_MD_CTX *ctx;
};

struct husk_sha256 *
husk_sha256_new (void)
{
  struct husk_sha256 *h = husk_xcalloc (1, sizeof (*h));
  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    abort ();
  return h;
}

void
husk_sha256_update (struct husk_sha256 *h, const void *buf, size_t len)
{
  if (len > 0 && EVP_DigestUpdate (h->ctx, buf, len) != 1)
    abort ();
}

void
husk_sha256_final (struct husk_sha256 *h, char out[HUSK_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[32];
  unsigned int n = 0;

  if (EVP_DigestFinal_ex (h->ctx, md, &n) != 1 || n != 32)
    abort ();
  memcpy (out, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[7 + 2 * i + 1] = hex[md[i] & 0xf];
    }
  out[HUSK_DIGEST_LEN] = '\0';
}

void
husk_sha256_free (struct husk_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}
