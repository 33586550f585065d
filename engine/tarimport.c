#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commit.h"
#include "configedit.h"
#include "image.h"
#include "layerout.h"
#include "manifest.h"
#include "newimage.h"
#include "tarimport.h"
#include "timestamp.h"
#include "util.h"
#include "banned.h"

int
husk_tar_import_check (const struct husk_tar_import_opts *o, struct husk_error **err)
{
  struct husk_commit_opts co = { .name = o->name, .changes = o->changes, .command = "import" };

  return husk_commit_check (&co, err);
}

/* The config's skeleton, which the -c instructions then edit as a commit edits its parent's:
   docker import's, with no parent.  */
static char *
base_config (void)
{
  return husk_strdup_printf ("{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{},"
                             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":[]}",
                             husk_host_arch ());
}

/* Unpack INFD into DIR/rootfs and write that as a staged layer.  */
static int
stage_layer (struct husk_store *s, int infd, const char *dir, const struct husk_tar_import_opts *o,
             struct husk_tar_import_result *res, struct husk_layer_written *ret_lw,
             char **ret_staged, struct husk_error **err)
{
  struct husk_unpack_stats stats = { 0 };
  struct husk_layer_write_opts lo = {
    .mode = HUSK_LAYER_WRITE_MOVE,
    .rootless = o->rootless,
    .clamp_mtime = -1,
    .gzip_level = 1,
    .parent_chain_id = NULL,
  };
  cleanup_close int dirfd = -1, rootfd = -1;

  dirfd = openat (husk_store_rootfd (s), dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return husk_error_set (err, errno, "\"%s\"", dir);
  if (mkdirat (dirfd, "rootfs", 0755) < 0)
    return husk_error_set (err, errno, "\"%s/rootfs\"", dir);
  rootfd = openat (dirfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0)
    return husk_error_set (err, errno, "\"%s/rootfs\"", dir);
  if (husk_unpack_archive_fd (infd, rootfd, o->rootless, &stats, err) < 0)
    return -1;
  if (stats.entries == 0)
    return husk_error_set (err, 0, "no files in it");
  res->unmapped = stats.unmapped;
  res->skipped_devices = stats.skipped_devices;
  if (husk_layer_write (s, dirfd, "rootfs", &lo, ret_lw, ret_staged, err) < 0)
    return -1;
  if (*ret_staged == NULL)
    return husk_error_set (err, 0, "no files in it");
  return 0;
}

int
husk_tar_import (struct husk_store *s, int infd, const struct husk_tar_import_opts *o,
                 struct husk_tar_import_result *ret, struct husk_error **err)
{
  struct husk_config_edit e = { 0 };
  struct husk_layer_written lw = { 0 };
  struct husk_tar_import_result res = { 0 };
  cleanup_free char *name = NULL;
  cleanup_free char *skeleton = base_config ();
  cleanup_free char *config = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *dir = NULL;
  cleanup_strv char **names = husk_xcalloc (1, sizeof (char *));
  size_t config_len;
  char now[64];
  int rc = -1;

  if (o->name && (name = husk_image_name_for_tag (o->name, err)) == NULL)
    return -1;
  if (name)
    husk_strv_append (&names, name);
  if (husk_config_edit_init (&e, skeleton, strlen (skeleton), err) < 0)
    return -1;
  if (husk_commit_apply_changes (&e, o->changes, err) < 0)
    goto out;

  /* The store lock from the unpacking to the publishing: taking it sweeps tmp/, where both
     happen.  */
  if (husk_store_lock (s, err) < 0)
    goto out;
  if (husk_store_mkdtemp (s, "import", &dir, err) < 0)
    goto unlock;
  if (stage_layer (s, infd, dir, o, &res, &lw, &staged, err) < 0)
    {
      husk_error_wrap (err, "\"%s\"", o->source);
      goto unlock;
    }

  husk_now_rfc3339 (now, sizeof (now));
  e.created = husk_xstrdup (now);
  e.diff_id = husk_xstrdup (lw.diff_id);
  e.history_comment
      = o->message ? husk_xstrdup (o->message) : husk_strdup_printf ("Imported from %s", o->source);
  config = husk_config_edit_render (&e, &config_len);
  {
    struct husk_new_image ni = {
      .config = config,
      .config_len = config_len,
      .layers = NULL,
      .chain_ids = NULL,
      .n_layers = 0,
      .staged = staged,
      .layer = &lw,
      .names = names,
      .created = e.created,
      .format = HUSK_IMAGE_FORMAT_OCI,
    };
    int r = husk_image_publish_new (s, &ni, res.id, err);
    /* Published, or discarded by the failure: the staged path is gone either way.  */
    free (TAKE_PTR (staged));
    if (r < 0)
      goto unlock;
  }
  rc = 0;
unlock:
  if (staged)
    husk_layer_discard (s, staged);
  if (dir)
    husk_rm_rf_at (husk_store_rootfd (s), dir, NULL);
  husk_store_unlock (s);
out:
  husk_config_edit_clear (&e);
  if (rc == 0)
    *ret = res;
  return rc;
}
