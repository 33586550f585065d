/* SHA-256 digests in OCI form ("sha256:" + 64 lowercase hex).  */
#ifndef HUSK_DIGEST_H
#define HUSK_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define HUSK_DIGEST_HEX_LEN 64
#define HUSK_DIGEST_LEN (7 + HUSK_DIGEST_HEX_LEN) /* "sha256:" + hex */

struct husk_sha256;

struct husk_sha256 *husk_sha256_new (void);
void husk_sha256_update (struct husk_sha256 *h, const void *buf, size_t len);
/* Writes "sha256:<hex>" and a NUL into OUT (HUSK_DIGEST_LEN + 1 bytes).  */
void husk_sha256_final (struct husk_sha256 *h, char out[HUSK_DIGEST_LEN + 1]);
void husk_sha256_free (struct husk_sha256 *h);

void husk_sha256_buf (const void *buf, size_t len, char out[HUSK_DIGEST_LEN + 1]);

/* Whether D is a well-formed sha256 digest.  Other algorithms are well formed by the spec but
   not supported; husk_digest_check says which.  */
bool husk_digest_is_sha256 (const char *d);
int husk_digest_check (const char *d, struct husk_error **err);
/* The hex part of a digest already checked.  */
const char *husk_digest_hex (const char *d);

static inline void
husk_sha256_freep (struct husk_sha256 **h)
{
  husk_sha256_free (*h);
}
#define cleanup_sha256 __attribute__ ((cleanup (husk_sha256_freep)))

#endif
