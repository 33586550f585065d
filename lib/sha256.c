/* SHA-256 of small documents (configs, manifests, chain ids) and the digest strings, without
   OpenSSL: "husk run" and the container commands link this and not libcrypto, whose loading
   and configuration cost more than hashing a few kilobytes.  Layers and blobs are hashed as
   streams with OpenSSL (digest.c), which is several times faster on large inputs.
   The algorithm is FIPS 180-4, section 6.2.  */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "digest.h"
#include "util.h"
#include "banned.h"

static const uint32_t k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t
ror (uint32_t x, unsigned n)
{
  return (x >> n) | (x << (32 - n));
}

static void
block (uint32_t h[8], const unsigned char *p)
{
  uint32_t w[64], a, b, c, d, e, f, g, hh;

  for (int t = 0; t < 16; t++)
    w[t] = (uint32_t) p[4 * t] << 24 | (uint32_t) p[4 * t + 1] << 16 | (uint32_t) p[4 * t + 2] << 8
           | (uint32_t) p[4 * t + 3];
  for (int t = 16; t < 64; t++)
    {
      uint32_t s0 = ror (w[t - 15], 7) ^ ror (w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1 = ror (w[t - 2], 17) ^ ror (w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
  a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; t++)
    {
      uint32_t t1
          = hh + (ror (e, 6) ^ ror (e, 11) ^ ror (e, 25)) + ((e & f) ^ (~e & g)) + k[t] + w[t];
      uint32_t t2 = (ror (a, 2) ^ ror (a, 13) ^ ror (a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void
husk_sha256_buf (const void *buf, size_t len, char out[HUSK_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  const unsigned char *p = buf;
  unsigned char tail[128] = { 0 };
  uint64_t bits = (uint64_t) len * 8;
  size_t rest, n;

  for (; len >= 64; p += 64, len -= 64)
    block (h, p);
  /* The padding: 0x80, zeros, and the length in bits, big-endian, in one or two blocks.  */
  rest = len;
  if (rest > 0)
    memcpy (tail, p, rest);
  tail[rest] = 0x80;
  n = rest < 56 ? 64 : 128;
  for (int i = 0; i < 8; i++)
    tail[n - 1 - i] = (unsigned char) (bits >> (8 * i));
  for (size_t off = 0; off < n; off += 64)
    block (h, tail + off);

  memcpy (out, "sha256:", 7);
  for (int i = 0; i < 32; i++)
    {
      unsigned char byte = (unsigned char) (h[i / 4] >> (24 - 8 * (i % 4)));
      out[7 + 2 * i] = hex[byte >> 4];
      out[7 + 2 * i + 1] = hex[byte & 0xf];
    }
  out[HUSK_DIGEST_LEN] = '\0';
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
