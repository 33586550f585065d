/* Manifest lists (husk manifest): an OCI image index or a Docker manifest list that husk keeps
   by name in the store, to be pushed as one multi-platform image.

   ROOT/manifests/HEX.json, HEX the sha256 of the list's full name ("localhost/mylist:latest",
   normalized by husk_image_name_for_tag), holds one JSON object:

     {"name": NAME, "images": [ID or null, ...], "sources": [REPO or null, ...],
      "index": "INDEX"}

   INDEX is the index document as a string, byte for byte what a push sends (its digest is the
   list's); "images" and "sources" have one member per entry of the index's "manifests", in
   the same order: the local image (its ID, 64 hex) the entry was made from, or null for an
   entry that came from a registry; and for the latter the repository it came from
   ("DOMAIN/PATH", where a push finds its manifest and blobs), else null.  The file is written under
   a temporary name and renamed into place; the caller holds the store lock for every change.

   The index is made from the entries alone, in one fixed shape: the same entries give the same
   bytes, so the list's digest stays stable.  An entry is the image's manifest blob as the store
   has it (its digest, size and mediaType) and the platform of the image's config (os,
   architecture, variant).  A list names images, it does not pin them: husk rmi and the GC
   remove an image a list names, and a push of the list then fails naming the entry.  */
#ifndef HUSK_MANIFESTLIST_H
#define HUSK_MANIFESTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

struct husk_store;
struct husk_image;

/* Most entries a list holds.  */
#define HUSK_MANIFEST_LIST_MAX 1024

enum husk_manifest_list_format
{
  HUSK_MANIFEST_LIST_OCI,    /* application/vnd.oci.image.index.v1+json (the default) */
  HUSK_MANIFEST_LIST_DOCKER, /* application/vnd.docker.distribution.manifest.list.v2+json */
};

/* One entry of the list: a descriptor with its platform.  */
struct husk_manifest_list_entry
{
  char *media_type;   /* The manifest's ("application/vnd.oci.image.manifest.v1+json", ...).  */
  char *digest;       /* "sha256:HEX" of the manifest.  */
  int64_t size;       /* Its length in bytes.  */
  char *os;           /* The platform: "linux", ...  */
  char *architecture; /* "amd64", "arm64", ...  */
  char *variant;      /* "v7", ..., or NULL.  */
  char **annotations; /* "KEY=VALUE", sorted by key, NULL-terminated; NULL: none.  */
  char *image_id;     /* The local image (64 hex) it came from; NULL: from a registry.  */
  char *source;       /* From a registry: its repository, "DOMAIN/PATH"; else NULL.  */
};

struct husk_manifest_list
{
  char *name; /* Full name: "domain/path:tag".  */
  enum husk_manifest_list_format format;
  char **annotations; /* The index's own, "KEY=VALUE", sorted by key; NULL: none.  */
  struct husk_manifest_list_entry *entries;
  size_t n_entries;
  /* The index document as it is stored and pushed (LEN bytes, NUL-terminated), and its media
     type (a string constant of manifest.h).  Set by husk_manifest_list_load and by
     husk_manifest_list_save; NULL in a list not yet saved.  */
  char *index;
  size_t index_len;
  const char *media_type;
};

/* Load the list NAME (as the user wrote it: "mylist" is localhost/mylist:latest) into *RET
   (cleared first): its name, entries, index bytes and media type, and each entry's image ID.
   This is what husk manifest push reads: it sends RET->index as the list (media type
   RET->media_type) after pushing each entry's image, found by its image_id (pushed as it is,
   so that its manifest keeps RET->entries[i].digest; a push that converts the manifests
   changes the entries' digest, size and media_type and makes the index again with
   husk_manifest_list_render); an entry without image_id is a registry's manifest, to be
   copied from its source repository.  An entry whose image is gone, or whose image's manifest
   is no longer RET->entries[i].digest, is the push's error to report.  Errors: NAME not a valid
   name; "manifest list \"NAME\": not found" with errno ENOENT; a file that cannot be read or does
   not parse.  */
int husk_manifest_list_load (struct husk_store *s, const char *name, struct husk_manifest_list *ret,
                             struct husk_error **err);

/* Whether a list named NAME (as the user wrote it) exists.  */
bool husk_manifest_list_exists (struct husk_store *s, const char *name);

/* A new empty list NAME (normalized with husk_image_name_for_tag) of FORMAT in *RET; nothing
   is written.  Errors: NAME not a valid name.  */
int husk_manifest_list_init (const char *name, enum husk_manifest_list_format format,
                             struct husk_manifest_list *ret, struct husk_error **err);

/* Make L's index from its entries (setting L->index, index_len, media_type) and write L's
   file atomically.  The caller holds the store lock.  Errors: an annotation in a Docker
   manifest list (which has none), the store's writes.  */
int husk_manifest_list_save (struct husk_store *s, struct husk_manifest_list *l,
                             struct husk_error **err);

/* The list file for L (BUF, LEN bytes, NUL-terminated, allocated), making L's index from its
   entries as husk_manifest_list_save does (setting L->index, index_len, media_type), without
   writing anything.  Errors: an annotation in a Docker manifest list.  */
int husk_manifest_list_render (struct husk_manifest_list *l, char **ret_buf, size_t *ret_len,
                               struct husk_error **err);

/* Parse the list file BUF (LEN bytes) of the list whose full name is NAME into *RET: what
   husk_manifest_list_load does once it has read the file (and what the fuzzer feeds).  Errors:
   invalid JSON, another list's name, an index that is not an OCI index or a Docker manifest
   list, an entry without digest, size, media type, os or architecture, annotations that are
   not strings, "images" not matching the entries.  */
int husk_manifest_list_parse (const char *buf, size_t len, const char *name,
                              struct husk_manifest_list *ret, struct husk_error **err);

/* Remove the list NAME (as the user wrote it), not its images; *RET_NAME (may be NULL) gets
   its full name.  The caller holds the store lock.  Errors: not found (errno ENOENT), the
   unlink.  */
int husk_manifest_list_remove (struct husk_store *s, const char *name, char **ret_name,
                               struct husk_error **err);

/* Add the local image IMG to L, or when an entry of L already has IMG's manifest, replace it
   (as podman does; its annotations stay).  The entry is the image's manifest blob and its
   config's platform; OS, ARCH and VARIANT (each may be NULL) override that platform.  *RET_I
   (may be NULL) gets the entry's index.  Errors: the manifest or config blob is missing or
   does not parse, the config names no os or architecture, L is full.  */
int husk_manifest_list_add_image (struct husk_store *s, struct husk_manifest_list *l,
                                  const struct husk_image *img, const char *os, const char *arch,
                                  const char *variant, size_t *ret_i, struct husk_error **err);

/* Add E (copied; its image_id NULL and its source set for a registry's image) to L, or replace
   the entry with the same digest (keeping that one's annotations when E has none).  Errors: E
   lacks a digest, media type, os or architecture; L is full.  */
int husk_manifest_list_add_descriptor (struct husk_manifest_list *l,
                                       const struct husk_manifest_list_entry *e, size_t *ret_i,
                                       struct husk_error **err);

/* The index of L's entry whose digest is DIGEST ("sha256:HEX", or the 64 hex alone), or -1.  */
ssize_t husk_manifest_list_find (const struct husk_manifest_list *l, const char *digest);

/* Set KV ("KEY=VALUE", KEY not empty) in *ANNOTATIONS, replacing KEY's value, keeping the
   vector sorted by key.  Errors: KV has no "=" or an empty key.  */
int husk_manifest_list_annotate (char ***annotations, const char *kv, struct husk_error **err);

void husk_manifest_list_clear (struct husk_manifest_list *l);

#endif
