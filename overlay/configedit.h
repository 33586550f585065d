/* A new image config made from its parent's (husk commit, a build's steps): the parent's JSON
   is kept member by member, fields husk does not know included, and only what was changed is
   written anew.  The OCI image spec's config.md names the fields; docker's image JSON adds a
   few (container_config, ...) that are dropped, since they describe another container.  */
#ifndef HUSK_CONFIGEDIT_H
#define HUSK_CONFIGEDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "json.h"

/* The fields of the config's "config" member husk changes, each with a flag saying whether it
   was changed (then it is written as it is here; else the parent's member is copied as it is).
   Vectors are NULL-terminated; a NULL Cmd or Entrypoint is none (written as null).  */
struct husk_config_edit
{
  husk_json *parent; /* The parent's config, parsed.  */

  char **env; /* "NAME=VALUE".  */
  bool env_set;
  char **cmd;
  bool cmd_set;
  char **entrypoint;
  bool entrypoint_set;
  char *workdir;
  bool workdir_set;
  char *user;
  bool user_set;
  char *stop_signal;
  bool stop_signal_set;
  char **labels; /* "KEY=VALUE", in the parent's order, new keys last.  */
  bool labels_set;
  char **exposed_ports; /* "80/tcp".  */
  bool exposed_ports_set;
  char **volumes; /* "/data".  */
  bool volumes_set;
  char **on_build; /* ONBUILD triggers, "RUN make" (the Dockerfile reference's text).  */
  bool on_build_set;

  /* The top level.  */
  char *created; /* RFC 3339; NULL: the parent's.  */
  char *author;  /* NULL: none (docker does not inherit the parent's author).  */
  char *diff_id; /* The new layer's, appended to rootfs.diff_ids; NULL: no new layer.  */
  /* The history entry appended (always one: marked empty_layer without a new layer).  */
  char *history_created_by;
  char *history_comment;
};

/* Parse the parent's config BUF (LEN bytes) into *E, with the current values of the fields
   above from its "config" member (none changed yet).  Errors: "invalid json: ...", "image
   config: \"FIELD\" is not ..." for a field of the wrong kind.  */
int husk_config_edit_init (struct husk_config_edit *e, const char *buf, size_t len,
                           struct husk_error **err);
void husk_config_edit_clear (struct husk_config_edit *e);

/* Set a label, an exposed port ("80/tcp") or a volume, replacing or keeping an earlier one
   of the same key, and mark the field changed.  */
void husk_config_edit_set_label (struct husk_config_edit *e, const char *key, const char *value);
void husk_config_edit_add_port (struct husk_config_edit *e, const char *port);
void husk_config_edit_add_volume (struct husk_config_edit *e, const char *path);

/* Append the ONBUILD trigger TRIGGER ("RUN make": the instruction after ONBUILD, as the builder
   records it) to the config's OnBuild list, after the parent's, and mark it changed.  */
void husk_config_edit_add_onbuild (struct husk_config_edit *e, const char *trigger);

/* The new config's JSON (compact; allocated, *RET_LEN bytes): the parent's members in their
   order with the changed ones written anew, "created", "author", rootfs.diff_ids with the new
   diff ID and a new history entry ({created, created_by, author, comment, empty_layer}); members
   the parent lacks are added at the end.  */
char *husk_config_edit_render (const struct husk_config_edit *e, size_t *ret_len);

#endif
