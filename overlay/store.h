/* The content-addressed store: blobs by digest, layers by chain ID, published atomically.

   ROOT/
     lock                    flock: exclusive while anything is published or removed
     gc.lock                 flock: see husk_store_gc_lock
     blobs/sha256/HEX        verified blobs (manifests, configs, layers as pulled)
     layers/HEX/diff         an unpacked layer: an overlayfs lower directory, keyed by chain ID
     images.json             image records and their names
     containers/ID/          per-container upper, work and rootfs directories
     tmp/                    work in progress; never trusted, swept by later commands  */
#ifndef HUSK_STORE_H
#define HUSK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

struct husk_store
{
  char *root;
  int rootfd;
  int lockfd;
  int lock_depth;
  int gclockfd;
};

/* Default location: $XDG_DATA_HOME/husk, ~/.local/share/husk, or /var/lib/husk for root.  */
char *husk_store_default_root (void);

int husk_store_open (const char *root, struct husk_store **ret, struct husk_error **err);
void husk_store_close (struct husk_store *s);

int husk_store_lock (struct husk_store *s, struct husk_error **err);
void husk_store_unlock (struct husk_store *s);

/* gc.lock: removing images takes it exclusively (before the store lock); creating a
   container holds it shared from the image lookup until its record is written, so an image
   is never removed between the two.  A pull never takes it, so creating never waits for one.  */
int husk_store_gc_lock (struct husk_store *s, bool exclusive, struct husk_error **err);
void husk_store_gc_unlock (struct husk_store *s);

bool husk_store_has_blob (struct husk_store *s, const char *digest);
/* Verify BUF against DIGEST and publish it.  */
int husk_store_put_blob (struct husk_store *s, const char *digest, const void *buf, size_t len,
                         struct husk_error **err);
/* Read a blob (at most MAX bytes), verifying it again.  */
int husk_store_read_blob (struct husk_store *s, const char *digest, size_t max, char **ret_buf,
                          size_t *ret_len, struct husk_error **err);

/* A new private directory under tmp/ (relative path returned).  */
int husk_store_mkdtemp (struct husk_store *s, const char *prefix, char **ret_relpath,
                        struct husk_error **err);

bool husk_store_has_layer (struct husk_store *s, const char *chain_id);
/* "layers/HEX/diff", relative to the store root.  */
char *husk_store_layer_relpath (const char *chain_id);

/* ChainID(parent, diff_id); PARENT is NULL for the base layer.  */
void husk_chain_id (const char *parent, const char *diff_id, char out[HUSK_DIGEST_LEN + 1]);

static inline void
husk_store_closep (struct husk_store **s)
{
  husk_store_close (*s);
}
#define cleanup_store __attribute__ ((cleanup (husk_store_closep)))

#endif
