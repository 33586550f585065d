/* The build cache's keys and entries (cache.h).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildcache.h"
#include "cleanup.h"
#include "json.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define CACHE_DIR "build-cache"

static char *
entry_path (const char *key)
{
  return husk_strdup_printf ("%s/%s.json", CACHE_DIR, husk_digest_hex (key));
}

static bool
copy_digest (char *dst, const char *src)
{
  if (src == NULL || !husk_digest_is_sha256 (src))
    return false;
  memcpy (dst, src, HUSK_DIGEST_LEN + 1);
  return true;
}

bool
husk_build_cache_get (struct husk_store *s, const char *key, struct husk_build_cached *ret)
{
  cleanup_free char *path = entry_path (key);
  cleanup_free char *buf = NULL;
  cleanup_error struct husk_error *err = NULL;
  struct husk_build_cached c = { 0 };
  husk_json *root;
  size_t len;
  bool empty = false, ok = false;
  const char *mt;

  if (husk_read_file_at (husk_store_rootfd (s), path, 64 * 1024, &buf, &len, &err) < 0)
    return false;
  root = husk_json_parse (buf, len, &err);
  if (root == NULL)
    return false;
  {
    const char *t = husk_json_get_string (root, "created");
    if (t && strlen (t) < sizeof c.created)
      snprintf (c.created, sizeof c.created, "%s", t);
  }
  if (husk_json_bool (husk_json_get (root, "empty"), &empty) && empty)
    {
      c.empty = true;
      ok = true;
    }
  else if (copy_digest (c.chain_id, husk_json_get_string (root, "chain_id"))
           && copy_digest (c.diff_id, husk_json_get_string (root, "diff_id"))
           && copy_digest (c.digest, husk_json_get_string (root, "digest"))
           && husk_json_int64 (husk_json_get (root, "size"), &c.size) && c.size >= 0
           && (mt = husk_json_get_string (root, "media_type")) != NULL
           && strlen (mt) < sizeof c.media_type)
    {
      snprintf (c.media_type, sizeof c.media_type, "%s", mt);
      /* A layer or blob removed since (husk image prune) is a miss.  */
      ok = husk_store_has_layer (s, c.chain_id) && husk_store_has_blob (s, c.digest);
    }
  husk_json_free (root);
  if (ok)
    *ret = c;
  return ok;
}

int
husk_build_cache_put (struct husk_store *s, const char *key, const struct husk_build_cached *c,
                      const struct husk_build_stack *stack, struct husk_error **err)
{
  cleanup_free char *path = entry_path (key);
  husk_jgen *g;
  const char *buf;
  size_t len;
  int r;

  if (mkdirat (husk_store_rootfd (s), CACHE_DIR, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "build cache: mkdir \"%s\"", CACHE_DIR);
  g = husk_jgen_new (false);
  husk_jgen_map_open (g);
  if (c->created[0])
    {
      husk_jgen_string (g, "created");
      husk_jgen_string (g, c->created);
    }
  if (c->empty)
    {
      husk_jgen_string (g, "empty");
      husk_jgen_bool (g, true);
    }
  else
    {
      husk_jgen_string (g, "chain_id");
      husk_jgen_string (g, c->chain_id);
      husk_jgen_string (g, "diff_id");
      husk_jgen_string (g, c->diff_id);
      husk_jgen_string (g, "digest");
      husk_jgen_string (g, c->digest);
      husk_jgen_string (g, "size");
      husk_jgen_int (g, c->size);
      husk_jgen_string (g, "media_type");
      husk_jgen_string (g, c->media_type);
      husk_jgen_string (g, "stack_layers");
      husk_jgen_array_open (g);
      for (size_t i = 0; stack && i < stack->n; i++)
        husk_jgen_string (g, stack->chain_ids[i]);
      husk_jgen_array_close (g);
      husk_jgen_string (g, "stack_blobs");
      husk_jgen_array_open (g);
      for (size_t i = 0; stack && i < stack->n; i++)
        husk_jgen_string (g, stack->digests[i]);
      husk_jgen_array_close (g);
    }
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  r = husk_write_file_replace_at (husk_store_rootfd (s), path, buf, len, 0600, err);
  husk_jgen_free (g);
  return r < 0 ? husk_error_wrap (err, "build cache") : 0;
}

static void
pin_strings (const husk_json *v, char ***out)
{
  for (size_t i = 0; i < husk_json_array_len (v); i++)
    {
      const char *d = husk_json_string (husk_json_array_at (v, i));
      if (d && husk_digest_is_sha256 (d))
        husk_strv_append (out, d);
    }
}

void
husk_build_cache_pins (struct husk_store *s, char ***layers, char ***blobs)
{
  cleanup_close int fd
      = openat (husk_store_rootfd (s), CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    return;
  fd = -1; /* Owned by d now.  */
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *buf = NULL;
      cleanup_error struct husk_error *e = NULL;
      husk_json *root;
      const char *v;
      size_t len;

      if (!husk_str_has_suffix (de->d_name, ".json")
          || husk_read_file_at (dirfd (d), de->d_name, 1024 * 1024, &buf, &len, &e) < 0
          || (root = husk_json_parse (buf, len, &e)) == NULL)
        continue;
      if ((v = husk_json_get_string (root, "chain_id")) && husk_digest_is_sha256 (v))
        husk_strv_append (layers, v);
      if ((v = husk_json_get_string (root, "digest")) && husk_digest_is_sha256 (v))
        husk_strv_append (blobs, v);
      pin_strings (husk_json_get (root, "stack_layers"), layers);
      pin_strings (husk_json_get (root, "stack_blobs"), blobs);
      husk_json_free (root);
    }
}

int
husk_build_cache_clear (struct husk_store *s, uint64_t *freed, struct husk_error **err)
{
  if (husk_rm_rf_at_freed (husk_store_rootfd (s), CACHE_DIR, freed, err) < 0)
    return husk_error_wrap (err, "build cache");
  return 0;
}
