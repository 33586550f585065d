/* Image records (images.json) and image configs.  */
#ifndef HUSK_IMAGE_H
#define HUSK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "store.h"

struct husk_image
{
  char id[HUSK_DIGEST_HEX_LEN + 1]; /* sha256 of the config, hex.  */
  char **names;                     /* Full references, "domain/path:tag".  */
  char *manifest;                   /* Digest.  */
  char *config;                     /* Digest.  */
  char **layers;                    /* Chain IDs, base first.  */
  char *created;                    /* From the config, may be NULL.  */
  int64_t size;                     /* Sum of the layers' uncompressed sizes.  */
  /* Full references by digest, "domain/path@sha256:HEX": the manifests (and indexes) the image
     was pulled or pushed as, docker's and podman's RepoDigests.  Never NULL once loaded.  */
  char **repo_digests;
};

struct husk_image_list
{
  struct husk_image *items;
  size_t n;
};

int husk_images_load (struct husk_store *s, struct husk_image_list *ret, struct husk_error **err);
void husk_images_clear (struct husk_image_list *l);
/* Add or update IMG (matched by id); its names and repo digests (either may be NULL) are taken
   from any other image and added to those the record has.  The caller holds the store lock.  */
int husk_images_add (struct husk_store *s, const struct husk_image *img, struct husk_error **err);

/* Record that the image IMAGE_ID_HEX (its ID: 64 hex digits, as struct husk_image's id, a
   "sha256:" prefix allowed; never a prefix of it) is REPO_DIGEST in a registry, for a push
   that uploaded its manifest.  REPO_DIGEST is a reference by digest without a tag,
   "[DOMAIN/]PATH@sha256:HEX", normalized as names are ("busybox@sha256:..." is
   "docker.io/library/busybox@sha256:..."); it moves from any other image that had it, and
   is not added twice.  Takes the store lock (the caller may hold it already), loads
   images.json, and saves it atomically.  Errors: "repo digest \"REF\": ..." (not a reference,
   a tag in it, no digest or not a sha256 one), "image \"ID\": not found", and
   husk_images_load's and husk_images_save's.  */
int husk_images_add_repo_digest (struct husk_store *s, const char *image_id_hex,
                                 const char *repo_digest, struct husk_error **err);

/* Write L as images.json, atomically.  The caller holds the store lock.  */
int husk_images_save (struct husk_store *s, const struct husk_image_list *l,
                      struct husk_error **err);

/* The full name a user's NAME stands for when tagging: "domain/path:tag", short names under
   localhost/ (names without a registry are local images).  Digests are refused.  */
char *husk_image_name_for_tag (const char *name, struct husk_error **err);

/* Remove NAME from IMG's names, or a repo digest from its repo digests; true when it was
   there.  */
bool husk_image_untag (struct husk_image *img, const char *name);

/* Remove the record at index I of L (the list only; see husk_images_gc, imagegc.h, for the
   files).  */
void husk_images_drop (struct husk_image_list *l, size_t i);

/* The unpacked size of a layer, from layers/CHAIN/size (0 when unknown).  */
int64_t husk_layer_size (struct husk_store *s, const char *chain_id);

/* Find an image by name (normalized as Docker does, and short names also under localhost/), by
   digest or by a unique ID prefix.  A reference with a digest, NAME@sha256:HEX or
   NAME:TAG@sha256:HEX (the tag is then ignored, as docker does), finds the image that has it
   among its repo digests, else an image with a name or repo digest in NAME's repository whose
   manifest digest it is.  */
const struct husk_image *husk_images_lookup (const struct husk_image_list *l, const char *ref,
                                             struct husk_error **err);

/* How a reference named an image.  */
enum husk_image_match
{
  HUSK_IMAGE_MATCH_NAME,     /* One of its names.  */
  HUSK_IMAGE_MATCH_DIGEST,   /* One of its repo digests.  */
  HUSK_IMAGE_MATCH_MANIFEST, /* REPO@DIGEST: its manifest's digest, in a repository it has.  */
  HUSK_IMAGE_MATCH_ID,       /* Its ID, or a unique prefix of it.  */
};

/* husk_images_lookup, also saying how REF named the image: *RET_MATCH (may be NULL) and
   *RET_WHAT (may be NULL): the image's own name or repo digest that REF matched (valid while L
   is), or NULL for the other matches.  Errors: the image is not found ("image \"REF\": not
   found", with the reason for a digest), or an ID prefix is ambiguous.  */
const struct husk_image *husk_images_lookup_match (const struct husk_image_list *l, const char *ref,
                                                   enum husk_image_match *ret_match,
                                                   const char **ret_what, struct husk_error **err);

/* husk_images_lookup, also saying how REF named the image: *RET_NAME (may be NULL) points to
   the image's own name that REF matched ("domain/path:tag", valid while L is), or is NULL when
   REF matched by ID or by digest.  Errors: husk_images_lookup_match's.  */
const struct husk_image *husk_images_lookup_name (const struct husk_image_list *l, const char *ref,
                                                  const char **ret_name, struct husk_error **err);

/* The length of the repository ("domain/path") at the start of a stored name or repo digest,
   "domain/path:tag" or "domain/path@sha256:HEX".  */
size_t husk_image_name_repo_len (const char *name);

/* What the runtime needs from a config.  */
struct husk_image_config
{
  char **env;
  char **entrypoint;
  char **cmd;
  char *workdir;
  char *user;
  char *stop_signal;
  char *architecture;
  char *os;
  char **diff_ids;
  char *created;
  char **exposed_ports; /* config.ExposedPorts' keys ("80/tcp", "53/udp"), or NULL.  */
};

int husk_image_config_parse (const char *buf, size_t len, struct husk_image_config *ret,
                             struct husk_error **err);
void husk_image_config_clear (struct husk_image_config *c);

#endif
