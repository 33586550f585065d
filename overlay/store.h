/* The content-addressed store: blobs by digest, layers by chain ID, published atomically.

   ROOT/
     lock                    flock: exclusive while anything is published or removed
     blobs/sha256/HEX        verified blobs (manifests, configs, layers as pulled)
     layers/HEX/diff         an unpacked layer: an overlayfs lower directory, keyed by chain ID
     images.json             image records and their names
     manifests/HEX.json      manifest lists by name (manifestlist.h)
     tmp/                    work in progress; never trusted, swept by later commands

   Every other name under ROOT belongs to the store's users: the engine keeps its containers/
   and container-names/ there (engine/record.h), reached through husk_store_root,
   husk_store_rootfd and husk_store_open_subdir.  Outside overlay/, a store is used only
   through the functions below.  */
#ifndef HUSK_STORE_H
#define HUSK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

/* An open store; its fields are overlay/'s alone (internal/store-struct.h, on no other folder's
   include path): other folders use the functions below.  */
struct husk_store;

/* Default location: $XDG_DATA_HOME/husk, ~/.local/share/husk, or /var/lib/husk for root.  */
char *husk_store_default_root (void);

/* Open (creating it and its directories, mode 0700, when missing) the store at ROOT, an
   absolute or relative path.  Errors name the store: "store \"ROOT\": mkdir \"layers\"".  */
int husk_store_open (const char *root, struct husk_store **ret, struct husk_error **err);
void husk_store_close (struct husk_store *s);

/* The root path, as given to husk_store_open: where the engine keeps containers/ and
   container-names/ (and what its error messages name).  Valid until husk_store_close.  */
const char *husk_store_root (const struct husk_store *s);
/* A descriptor of the root directory (close-on-exec), owned by the store: valid until
   husk_store_close, never closed by the caller.  For paths under the engine's directories
   ("containers/ID/state.json").  */
int husk_store_rootfd (const struct husk_store *s);
/* A new close-on-exec descriptor of the directory NAME (one component, such as
   "container-names") directly under the root, created first (mode 0700) when CREATE and
   missing; a symlink is refused.  -1 with *ERR set: "store \"ROOT\": create \"NAME\"" or
   "store \"ROOT\": open \"NAME\"" (errno ENOENT when it is missing and not CREATE).  */
int husk_store_open_subdir (struct husk_store *s, const char *name, bool create,
                            struct husk_error **err);

int husk_store_lock (struct husk_store *s, struct husk_error **err);
void husk_store_unlock (struct husk_store *s);

/* The images-in-use lock, a flock on the root directory (not the lock file): removing images
   takes it exclusively (before the store lock) from the moment it asks the engine which images
   containers use until it has removed them; creating a container holds it shared from the
   image lookup until its record is written, so an image is never removed between the two.  A
   pull never takes it, so creating never waits for one.  */
int husk_store_gc_lock (struct husk_store *s, bool exclusive, struct husk_error **err);
void husk_store_gc_unlock (struct husk_store *s);

bool husk_store_has_blob (struct husk_store *s, const char *digest);
/* Open the blob DIGEST ("sha256:HEX") for reading (close-on-exec); *RET_SIZE: its size in
   bytes.  Not verified here: a reader that needs it hashes what it reads.  -1 with *ERR set:
   "blob DIGEST: not in the store".  */
int husk_store_open_blob (struct husk_store *s, const char *digest, uint64_t *ret_size,
                          struct husk_error **err);
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
/* The lower directory of the layer CHAIN_ID ("sha256:HEX"), an absolute path when the store's
   root is one: "ROOT/layers/HEX/diff", what overlayfs stacks.  NULL with *ERR set (from
   husk_digest_check) when CHAIN_ID is not a sha256 digest.  Whether the layer is there is not
   checked (husk_store_has_layer does): a container whose layer went missing still loads, and
   only its start fails, naming the directory.  */
char *husk_store_layer_dir (struct husk_store *s, const char *chain_id, struct husk_error **err);
/* The chain IDs ("sha256:HEX") of every layer directory in the store, also those no image
   names any more (NULL-terminated, never NULL; empty when layers/ cannot be read).  */
char **husk_store_list_layers (struct husk_store *s);

/* ChainID(parent, diff_id); PARENT is NULL for the base layer.  */
void husk_chain_id (const char *parent, const char *diff_id, char out[HUSK_DIGEST_LEN + 1]);

static inline void
husk_store_closep (struct husk_store **s)
{
  husk_store_close (*s);
}
#define cleanup_store __attribute__ ((cleanup (husk_store_closep)))

#endif
