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

void
husk_sha256_buf (const void *buf, size_t len, char out[HUSK_DIGEST_LEN + 1])
{
  struct husk_sha256 *h = husk_sha256_new ();
  husk_sha256_update (h, buf, len);
  husk_sha256_final (h, out);
  husk_sha256_free (h);
}

static bool
is_lower_hex (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[n] == '\0';
}

bool
husk_digest_is_sha256 (const char *d)
{
  return d != NULL && strncmp (d, "sha256:", 7) == 0 && strlen (d) == HUSK_DIGEST_LEN
         && is_lower_hex (d + 7, HUSK_DIGEST_HEX_LEN);
}

int
husk_digest_check (const char *d, struct husk_error **err)
{
  const char *colon;

  if (d == NULL)
    return husk_error_set (err, 0, "missing digest");
  if (husk_digest_is_sha256 (d))
    return 0;
  colon = strchr (d, ':');
  if (colon != NULL && colon != d && strncmp (d, "sha256:", 7) != 0)
    return husk_error_set (err, 0, "digest \"%s\": algorithm \"%.*s\" is not supported", d,
                           (int) (colon - d), d);
  return husk_error_set (err, 0, "digest \"%s\": malformed", d);
}

const char *
husk_digest_hex (const char *d)
{
  return d + 7;
}
