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
};

struct husk_image_list
{
  struct husk_image *items;
  size_t n;
};

int husk_images_load (struct husk_store *s, struct husk_image_list *ret, struct husk_error **err);
void husk_images_clear (struct husk_image_list *l);
/* Add or update IMG (matched by id); its names are taken from any other image.  The caller holds
   the store lock.  */
int husk_images_add (struct husk_store *s, const struct husk_image *img, struct husk_error **err);

/* Write L as images.json, atomically.  The caller holds the store lock.  */
int husk_images_save (struct husk_store *s, const struct husk_image_list *l,
                      struct husk_error **err);

/* The full name a user's NAME stands for when tagging: "domain/path:tag", short names under
   localhost/ (names without a registry are local images).  Digests are refused.  */
char *husk_image_name_for_tag (const char *name, struct husk_error **err);

/* Remove NAME from IMG's names; true when it was there.  */
bool husk_image_untag (struct husk_image *img, const char *name);

/* Remove the record at index I of L (the list only; see husk_images_gc, imagegc.h, for the
   files).  */
void husk_images_drop (struct husk_image_list *l, size_t i);

/* The unpacked size of a layer, from layers/CHAIN/size (0 when unknown).  */
int64_t husk_layer_size (struct husk_store *s, const char *chain_id);

/* Find an image by name (normalized as Docker does, and short names also under localhost/) or
   by a unique ID prefix.  */
const struct husk_image *husk_images_lookup (const struct husk_image_list *l, const char *ref,
                                             struct husk_error **err);

/* husk_images_lookup, also saying how REF named the image: *RET_NAME (may be NULL) points to
   the image's own name that REF matched ("domain/path:tag", valid while L is), or is NULL when
   REF matched by ID.  Errors: the image is not found, or an ID prefix is ambiguous.  */
const struct husk_image *husk_images_lookup_name (const struct husk_image_list *l, const char *ref,
                                                  const char **ret_name, struct husk_error **err);

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
};

int husk_image_config_parse (const char *buf, size_t len, struct husk_image_config *ret,
                             struct husk_error **err);
void husk_image_config_clear (struct husk_image_config *c);

#endif
