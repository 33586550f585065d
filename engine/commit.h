/* husk commit: a container's writable layer as a new image, as docker commit makes it.  */
#ifndef HUSK_COMMIT_H
#define HUSK_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "newimage.h"

struct husk_store;
struct husk_ctr;

struct husk_commit_opts
{
  const char *name;     /* The new image's name as the user wrote it ("app:1"); NULL: none.  */
  const char *author;   /* -a; NULL: none.  */
  const char *message;  /* -m, the history entry's comment; NULL: none.  */
  char *const *changes; /* -c, Dockerfile instructions, in order (NULL-terminated, or NULL).  */
  /* SOURCE_DATE_EPOCH, in seconds: the image's created time and a clamp on file times; -1:
     now, and no clamp.  */
  int64_t source_date_epoch;
  enum husk_image_format format; /* --format: the image's manifest (OCI's by default).  */
  const char *command; /* The command named in husk_commit_check's messages; NULL: "commit".  */
};

struct husk_commit_result
{
  char id[HUSK_DIGEST_LEN + 1]; /* "sha256:HEX".  */
  bool empty_layer;             /* Nothing changed: no layer added, as docker does.  */
  uint64_t skipped_devices;     /* Device nodes in the layer, left out of the store's copy.  */
};

/* Check O before any work: the name (husk_image_name_for_tag) and each -c instruction (the
   syntax; a config to apply it to comes later).  Errors: "name \"NAME\": ...", "-c \"TEXT\":
   REASON".  */
int husk_commit_check (const struct husk_commit_opts *o, struct husk_error **err);

struct husk_config_edit;

/* Apply the -c instructions CHANGES (NULL-terminated, or NULL) to E in order, as husk_commit
   does.  Errors: "-c \"TEXT\": REASON".  */
int husk_commit_apply_changes (struct husk_config_edit *e, char *const *changes,
                               struct husk_error **err);

/* Make container C's changes an image in S, the way docker commit does: C's upper directory
   written as a new layer (husk_layer_write, COPY: the container keeps running and keeps its
   files; nothing is paused), and a config that is the parent image's, member by member, with
   the container's own settings (its Env without HOSTNAME, its command split back into
   Entrypoint and Cmd, its working directory and user), then the -c changes applied in order
   (ENV, LABEL, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL; a shell-form CMD or
   ENTRYPOINT runs through the config's Shell, else /bin/sh -c; an ENTRYPOINT clears a Cmd no
   -c CMD before it set, as in a Dockerfile), rootfs.diff_ids with the new layer's diff ID, a
   history entry (created, created_by: the container's command, author, comment), created and
   author.  No change at all adds no layer: the history entry is marked empty_layer (docker's
   rule).  The image is published with its manifest (O->format's) and its record, named O->name when
   given (husk_image_publish_new: all or nothing).  Runs where the owners of C's files are
   mapped: C's user namespace (husk_userns_run with C's id map) when C has one.  Errors name
   the step: "image sha256:...: ...", "layer: \"/PATH\": ...", "-c \"...\": ...".  */
int husk_commit (struct husk_store *s, const struct husk_ctr *c, const struct husk_commit_opts *o,
                 struct husk_commit_result *ret, struct husk_error **err);

#endif
