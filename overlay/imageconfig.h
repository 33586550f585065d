/* An image config as a whole document, to read, change and write back: what an image build and
   husk commit start from (the base image's config) and write (the new image's).  The fields
   are those of the OCI image spec's config.md (image-spec v1.1) and the members of "config"
   Docker's image spec v1.2 adds and Docker and buildah keep in both formats (Healthcheck,
   OnBuild, Shell).  A field neither spec names is not kept: an image made from a base gets
   only what these describe.  husk_image_config (image.h) is what a container start needs;
   this is the full document.  */
#ifndef HUSK_IMAGECONFIG_H
#define HUSK_IMAGECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Docker's HEALTHCHECK: TEST is ["NONE"], ["CMD", ARG...] or ["CMD-SHELL", COMMAND]; the
   durations in nanoseconds, 0 for the default.  */
struct husk_healthcheck
{
  char **test;
  int64_t interval, timeout, start_period, start_interval;
  int retries;
};

/* The "config" member: what a container from the image starts with.  */
struct husk_runconfig
{
  char *user;
  char **exposed_ports; /* "80/tcp", ...  */
  char **env;           /* "NAME=VALUE", ...  */
  char **entrypoint;
  char **cmd;
  char **volumes; /* "/data", ...  */
  char *working_dir;
  char **labels; /* KEY, VALUE, KEY, VALUE, ..., NULL (jsonmap.h's STRMAP).  */
  char *stop_signal;
  bool args_escaped;
  struct husk_healthcheck healthcheck;
  char **on_build;
  char **shell;
};

struct husk_history
{
  char *created; /* RFC 3339.  */
  char *created_by;
  char *author;
  char *comment;
  bool empty_layer;
};

struct husk_oci_config
{
  char *created;
  char *author;
  char *architecture;
  char *variant;
  char *os;
  char *os_version;
  char **os_features;
  struct husk_runconfig config;
  char *rootfs_type; /* "layers".  */
  char **diff_ids;
  struct husk_history *history;
  size_t n_history;
};

/* Parse BUF (LEN bytes) as an image config.  Errors name the member and what it should be
   (lib/jsonmap.h's messages); *RET is cleared then.  Members not named above are ignored.  */
int husk_oci_config_parse (const char *buf, size_t len, struct husk_oci_config *ret,
                           struct husk_error **err);

/* C as JSON (compact, members in the order of the spec, empty ones left out: the bytes are the
   same for the same config, which reproducible builds need).  *RET_LEN bytes, NUL-terminated;
   free with free().  */
char *husk_oci_config_write (const struct husk_oci_config *c, size_t *ret_len);

/* Append a history entry (the strings are copied; NULL ones are left out).  */
void husk_oci_config_add_history (struct husk_oci_config *c, const char *created,
                                  const char *created_by, const char *author, const char *comment,
                                  bool empty_layer);

void husk_oci_config_clear (struct husk_oci_config *c);

#endif
