/* Importing one layer: the blob is verified by size and digest while it streams, decompressed
   and unpacked in the same pass, and checked against its diff_id before it is published.  */
#ifndef HUSK_UNPACK_H
#define HUSK_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "store.h"

struct husk_layer_desc
{
  const char *digest; /* Of the blob as stored (often compressed).  */
  int64_t size;
  const char *media_type;
  const char *diff_id; /* Of the uncompressed tar, from the config.  */
  const char *chain_id;
};

/* Owners a rootless unpack could not give: ids with no mapping in its user namespace (the
   caller's own id and its /etc/subuid, /etc/subgid ranges).  Such an entry keeps the ids that
   are mapped; the others stay the unpacking user's (root in a container).  */
struct husk_unmapped_ids
{
  uint64_t files;            /* Entries with an unmapped uid or gid.  */
  uint64_t uids, gids;       /* Entries whose uid (gid) is unmapped: the ranges below are
                                valid only when these are not 0.  */
  uint32_t uid_min, uid_max; /* As the layer gives them: container ids.  */
  uint32_t gid_min, gid_max;
};

/* Add SRC's entries and ranges to DST.  */
void husk_unmapped_ids_merge (struct husk_unmapped_ids *dst, const struct husk_unmapped_ids *src);

struct husk_unpack_stats
{
  uint64_t entries;
  uint64_t bytes; /* Uncompressed.  */
  struct husk_unmapped_ids unmapped;
  uint64_t skipped_devices; /* Char and block nodes, never created.  */
  uint64_t skipped_xattrs;
  uint64_t whiteouts; /* Deletions and opaque markers applied.  */
};

/* Read the blob from SRCFD, unpack it and verify it by size, digest and diff_id, leaving the
   result staged under tmp/ (*RET_STAGED, a path relative to the store).  The caller holds the
   store lock and later publishes or discards it.  ROOTLESS: no device nodes.  */
int husk_layer_stage (struct husk_store *s, int srcfd, const struct husk_layer_desc *desc,
                      bool rootless, struct husk_unpack_stats *stats, char **ret_staged,
                      struct husk_error **err);

/* Move a staged layer (and its blob) to blobs/sha256/HEX and layers/CHAIN.  */
int husk_layer_publish (struct husk_store *s, const char *staged,
                        const struct husk_layer_desc *desc, struct husk_error **err);
void husk_layer_discard (struct husk_store *s, const char *staged);

/* Unpack an uncompressed or compressed tar stream from SRCFD into the directory ROOTFD, without
   any digest checks (tests and callers that verify on their own).  */
int husk_unpack_fd (int srcfd, int rootfd, bool rootless, struct husk_unpack_stats *stats,
                    struct husk_error **err);

/* ADD's test for a local archive: whether FD (read from where it is) holds a tar archive,
   uncompressed or compressed with gzip, bzip2, xz or zstd: its first tar header reads through
   the decompression its first bytes name, as BuildKit decides (the Dockerfile reference:
   "a local tar archive in a recognized compression format"; its name does not count).  A
   compressed file that holds no tar, a tar with no entry, or anything unreadable is not one.  */
bool husk_unpack_is_archive (int fd);

/* husk_unpack_fd for such an archive (bzip2 and xz too, which layers never use).  */
int husk_unpack_archive_fd (int srcfd, int rootfd, bool rootless, struct husk_unpack_stats *stats,
                            struct husk_error **err);

#endif
