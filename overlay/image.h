/* Image records (images.json) and image configs.  */
#ifndef HUSK_IMAGE_H
#define HUSK_IMAGE_H

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

/* Find an image by name (normalized as Docker does, and short names also under localhost/) or
   by a unique ID prefix.  */
const struct husk_image *husk_images_lookup (const struct husk_image_list *l, const char *ref,
                                             struct husk_error **err);

/* What the runtime needs from a config.  */
struct husk_image_config
{
  char **env;
  char **entrypoint;
  char **cmd;
  char *workdir;
  char *user;
  char *architecture;
  char *os;
  char **diff_ids;
  char *created;
};

int husk_image_config_parse (const char *buf, size_t len, struct husk_image_config *ret,
                             struct husk_error **err);
void husk_image_config_clear (struct husk_image_config *c);

#endif
