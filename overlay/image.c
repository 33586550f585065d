#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "reference.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

#define IMAGES_FILE "images.json"
#define IMAGES_MAX (64 * 1024 * 1024)

static void
image_clear (struct husk_image *img)
{
  husk_strv_free (img->names);
  husk_strv_free (img->repo_digests);
  husk_strv_free (img->layers);
  free (img->manifest);
  free (img->config);
  free (img->created);
  memset (img, 0, sizeof (*img));
}

void
husk_images_clear (struct husk_image_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    image_clear (&l->items[i]);
  free (l->items);
  l->items = NULL;
  l->n = 0;
}

static int
image_from_json (const husk_json *v, struct husk_image *img, struct husk_error **err)
{
  const char *id = husk_json_get_string (v, "id");

  memset (img, 0, sizeof (*img));
  if (id == NULL || strlen (id) != HUSK_DIGEST_HEX_LEN)
    return husk_error_set (err, 0, "image record without a valid id");
  memcpy (img->id, id, HUSK_DIGEST_HEX_LEN + 1);
  img->names = husk_json_strv (husk_json_get (v, "names"), "names", err);
  img->layers = husk_json_strv (husk_json_get (v, "layers"), "layers", err);
  /* Records written before husk kept repo digests have none: an empty list.  */
  img->repo_digests = husk_json_strv (husk_json_get (v, "repo_digests"), "repo_digests", err);
  if (img->names == NULL || img->layers == NULL || img->repo_digests == NULL)
    {
      image_clear (img);
      return -1;
    }
  img->manifest = husk_xstrdup (husk_json_get_string (v, "manifest") ?: "");
  img->config = husk_xstrdup (husk_json_get_string (v, "config") ?: "");
  if (husk_json_get_string (v, "created"))
    img->created = husk_xstrdup (husk_json_get_string (v, "created"));
  if (!husk_json_int64 (husk_json_get (v, "size"), &img->size))
    img->size = 0;
  return 0;
}

int
husk_images_load (struct husk_store *s, struct husk_image_list *ret, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json husk_json *root = NULL;
  const husk_json *arr;
  size_t len;

  memset (ret, 0, sizeof (*ret));
  if (husk_read_file_at (s->rootfd, IMAGES_FILE, IMAGES_MAX, &buf, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          husk_error_free (err);
          return 0;
        }
      return husk_error_wrap (err, "store \"%s\"", s->root);
    }
  root = husk_json_parse (buf, len, err);
  if (root == NULL)
    return husk_error_wrap (err, "store \"%s\": %s", s->root, IMAGES_FILE);
  arr = husk_json_get (root, "images");
  ret->items = husk_xcalloc (husk_json_array_len (arr) + 1, sizeof (struct husk_image));
  for (size_t i = 0; i < husk_json_array_len (arr); i++)
    {
      if (image_from_json (husk_json_array_at (arr, i), &ret->items[ret->n], err) < 0)
        {
          husk_images_clear (ret);
          return husk_error_wrap (err, "store \"%s\": %s", s->root, IMAGES_FILE);
        }
      ret->n++;
    }
  return 0;
}

static void
gen_strv (husk_jgen *g, const char *key, char **v)
{
  husk_jgen_key (g, key);
  husk_jgen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
}

int
husk_images_save (struct husk_store *s, const struct husk_image_list *l, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  husk_jgen_key (g, "images");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < l->n; i++)
    {
      const struct husk_image *img = &l->items[i];
      husk_jgen_map_open (g);
      husk_jgen_key (g, "id");
      husk_jgen_string (g, img->id);
      gen_strv (g, "names", img->names);
      gen_strv (g, "repo_digests", img->repo_digests);
      husk_jgen_key (g, "manifest");
      husk_jgen_string (g, img->manifest);
      husk_jgen_key (g, "config");
      husk_jgen_string (g, img->config);
      gen_strv (g, "layers", img->layers);
      if (img->created)
        {
          husk_jgen_key (g, "created");
          husk_jgen_string (g, img->created);
        }
      husk_jgen_key (g, "size");
      husk_jgen_int (g, img->size);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  if (husk_write_file_atomic_at (s->rootfd, IMAGES_FILE, buf, len, 0644, err) < 0)
    return husk_error_wrap (err, "store \"%s\"", s->root);
  return 0;
}

static void
remove_name (char **names, const char *name)
{
  size_t j = 0;
  for (size_t i = 0; names && names[i]; i++)
    {
      if (strcmp (names[i], name) == 0)
        free (names[i]);
      else
        names[j++] = names[i];
    }
  if (names)
    names[j] = NULL;
}

int
husk_images_add (struct husk_store *s, const struct husk_image *img, struct husk_error **err)
{
  struct husk_image_list l;
  struct husk_image *target = NULL;
  int ret;

  if (husk_images_load (s, &l, err) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++)
    {
      if (strcmp (l.items[i].id, img->id) == 0)
        target = &l.items[i];
      else
        {
          for (size_t k = 0; img->names && img->names[k]; k++)
            remove_name (l.items[i].names, img->names[k]);
          for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
            remove_name (l.items[i].repo_digests, img->repo_digests[k]);
        }
    }
  if (target == NULL)
    {
      l.items = husk_xrealloc (l.items, (l.n + 1) * sizeof (*l.items));
      target = &l.items[l.n++];
      memset (target, 0, sizeof (*target));
      memcpy (target->id, img->id, sizeof (target->id));
      target->names = husk_xcalloc (1, sizeof (char *));
      target->repo_digests = husk_xcalloc (1, sizeof (char *));
    }
  /* The record's content is replaced; its names and repo digests are the unions.  */
  husk_strv_free (target->layers);
  target->layers = NULL;
  for (size_t k = 0; img->layers && img->layers[k]; k++)
    husk_strv_append (&target->layers, img->layers[k]);
  if (target->layers == NULL)
    target->layers = husk_xcalloc (1, sizeof (char *));
  for (size_t k = 0; img->names && img->names[k]; k++)
    if (!husk_strv_contains (target->names, img->names[k]))
      husk_strv_append (&target->names, img->names[k]);
  for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
    if (!husk_strv_contains (target->repo_digests, img->repo_digests[k]))
      husk_strv_append (&target->repo_digests, img->repo_digests[k]);
  free (target->manifest);
  target->manifest = husk_xstrdup (img->manifest);
  free (target->config);
  target->config = husk_xstrdup (img->config);
  free (target->created);
  target->created = img->created ? husk_xstrdup (img->created) : NULL;
  target->size = img->size;

  ret = husk_images_save (s, &l, err);
  husk_images_clear (&l);
  return ret;
}

int
husk_images_add_repo_digest (struct husk_store *s, const char *image_id_hex,
                             const char *repo_digest, struct husk_error **err)
{
  cleanup_free char *full = NULL;
  struct husk_image_list l = { 0 };
  struct husk_reference r;
  struct husk_image *target = NULL;
  const char *id = image_id_hex;
  int rc = -1;

  if (husk_reference_parse (repo_digest, &r, err) < 0)
    return husk_error_wrap (err, "repo digest \"%s\"", repo_digest);
  if (r.digest == NULL || r.tag != NULL)
    {
      husk_error_set (err, 0, "repo digest \"%s\": %s", repo_digest,
                      r.digest == NULL ? "no digest in it" : "a tag in it");
      husk_reference_clear (&r);
      return -1;
    }
  if (!husk_digest_is_sha256 (r.digest))
    {
      husk_error_set (err, 0, "repo digest \"%s\": not a sha256 digest", repo_digest);
      husk_reference_clear (&r);
      return -1;
    }
  full = husk_reference_string (&r);
  husk_reference_clear (&r);
  if (husk_str_has_prefix (id, "sha256:"))
    id += strlen ("sha256:");

  if (husk_store_lock (s, err) < 0)
    return -1;
  if (husk_images_load (s, &l, err) < 0)
    goto out;
  for (size_t i = 0; i < l.n; i++)
    if (strcmp (l.items[i].id, id) == 0)
      target = &l.items[i];
  if (target == NULL)
    {
      husk_error_set (err, 0, "image \"%s\": not found", image_id_hex);
      goto out;
    }
  if (husk_strv_contains (target->repo_digests, full))
    {
      rc = 0;
      goto out;
    }
  /* A reference names one image.  */
  for (size_t i = 0; i < l.n; i++)
    remove_name (l.items[i].repo_digests, full);
  husk_strv_append (&target->repo_digests, full);
  rc = husk_images_save (s, &l, err);
out:
  husk_images_clear (&l);
  husk_store_unlock (s);
  return rc;
}

static bool
is_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static const struct husk_image *
find_name (const struct husk_image_list *l, const char *name)
{
  for (size_t i = 0; i < l->n; i++)
    if (husk_strv_contains (l->items[i].names, name))
      return &l->items[i];
  return NULL;
}

static const struct husk_image *
find_name_ret (const struct husk_image_list *l, const char *name, const char **ret_name)
{
  const struct husk_image *found = find_name (l, name);

  if (found && ret_name)
    for (size_t k = 0; found->names[k]; k++)
      if (strcmp (found->names[k], name) == 0)
        *ret_name = found->names[k];
  return found;
}

size_t
husk_image_name_repo_len (const char *name)
{
  const char *at = strchr (name, '@');
  const char *slash, *colon;

  if (at)
    return (size_t) (at - name);
  slash = strrchr (name, '/');
  colon = strrchr (slash ? slash : name, ':');
  return colon ? (size_t) (colon - name) : strlen (name);
}

static bool
in_repo (const char *name, const char *repo)
{
  size_t n = husk_image_name_repo_len (name);
  return n == strlen (repo) && strncmp (name, repo, n) == 0;
}

/* Whether IMG has a name or a repo digest in REPO ("domain/path").  */
static bool
has_repo (const struct husk_image *img, const char *repo)
{
  for (size_t k = 0; img->names && img->names[k]; k++)
    if (in_repo (img->names[k], repo))
      return true;
  for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
    if (in_repo (img->repo_digests[k], repo))
      return true;
  return false;
}

/* The image whose repo digests have REPO@DIGEST, and that entry; else (*RET_MANIFEST) one of
   REPO whose manifest is DIGEST.  */
static const struct husk_image *
find_digest (const struct husk_image_list *l, const char *repo, const char *digest,
             const char **ret_what, bool *ret_manifest)
{
  cleanup_free char *full = husk_strdup_printf ("%s@%s", repo, digest);

  for (size_t i = 0; i < l->n; i++)
    for (size_t k = 0; l->items[i].repo_digests && l->items[i].repo_digests[k]; k++)
      if (strcmp (l->items[i].repo_digests[k], full) == 0)
        {
          *ret_what = l->items[i].repo_digests[k];
          *ret_manifest = false;
          return &l->items[i];
        }
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].manifest, digest) == 0 && has_repo (&l->items[i], repo))
      {
        *ret_what = NULL;
        *ret_manifest = true;
        return &l->items[i];
      }
  return NULL;
}

/* R's path as a local image's (podman's localhost/ convention for short names): "app" is
   localhost/app, not localhost/library/app.  */
static const char *
local_path (const struct husk_reference *r, const char *ref)
{
  return husk_str_has_prefix (r->path, "library/") && strchr (ref, '/') == NULL
             ? r->path + strlen ("library/")
             : r->path;
}

const struct husk_image *
husk_images_lookup (const struct husk_image_list *l, const char *ref, struct husk_error **err)
{
  return husk_images_lookup_match (l, ref, NULL, NULL, err);
}

const struct husk_image *
husk_images_lookup_name (const struct husk_image_list *l, const char *ref, const char **ret_name,
                         struct husk_error **err)
{
  enum husk_image_match how;
  const char *what = NULL;
  const struct husk_image *found = husk_images_lookup_match (l, ref, &how, &what, err);

  if (found && ret_name)
    *ret_name = how == HUSK_IMAGE_MATCH_NAME ? what : NULL;
  return found;
}

const struct husk_image *
husk_images_lookup_match (const struct husk_image_list *l, const char *ref,
                          enum husk_image_match *ret_match, const char **ret_what,
                          struct husk_error **err)
{
  const struct husk_image *found;
  enum husk_image_match how = HUSK_IMAGE_MATCH_NAME;
  struct husk_reference r;
  const char *idpart = ref;
  const char *name = NULL;

  if ((found = find_name_ret (l, ref, &name)) != NULL)
    goto found;

  if (husk_reference_parse (ref, &r, NULL) == 0)
    {
      if (r.digest)
        {
          /* A digest names the content: a tag beside it is ignored, as docker does.  */
          cleanup_free char *repo = husk_reference_repository (&r);
          bool manifest = false;
          found = find_digest (l, repo, r.digest, &name, &manifest);
          if (found == NULL && !r.had_domain)
            {
              cleanup_free char *local = husk_strdup_printf ("localhost/%s", local_path (&r, ref));
              found = find_digest (l, local, r.digest, &name, &manifest);
            }
          how = manifest ? HUSK_IMAGE_MATCH_MANIFEST : HUSK_IMAGE_MATCH_DIGEST;
          husk_reference_clear (&r);
          if (found)
            goto found;
          husk_error_set (err, 0, "image \"%s\": not found (no image has that digest)", ref);
          return NULL;
        }
      cleanup_free char *full = husk_reference_string (&r);
      found = find_name_ret (l, full, &name);
      if (found == NULL && !r.had_domain && r.tag != NULL)
        {
          /* A short name may also be a local image (podman's localhost/ convention).  */
          cleanup_free char *local
              = husk_strdup_printf ("localhost/%s:%s", local_path (&r, ref), r.tag);
          found = find_name_ret (l, local, &name);
        }
      husk_reference_clear (&r);
      if (found)
        goto found;
    }

  if (husk_str_has_prefix (idpart, "sha256:"))
    idpart += 7;
  if (is_hex (idpart) && strlen (idpart) <= HUSK_DIGEST_HEX_LEN)
    {
      for (size_t i = 0; i < l->n; i++)
        if (husk_str_has_prefix (l->items[i].id, idpart))
          {
            if (found)
              {
                husk_error_set (err, 0, "image \"%s\": ambiguous id prefix", ref);
                return NULL;
              }
            found = &l->items[i];
          }
      if (found)
        {
          how = HUSK_IMAGE_MATCH_ID;
          name = NULL;
          goto found;
        }
    }
  husk_error_set (err, 0, "image \"%s\": not found", ref);
  return NULL;
found:
  if (ret_match)
    *ret_match = how;
  if (ret_what)
    *ret_what = name;
  return found;
}

void
husk_image_config_clear (struct husk_image_config *c)
{
  husk_strv_free (c->env);
  husk_strv_free (c->entrypoint);
  husk_strv_free (c->cmd);
  husk_strv_free (c->diff_ids);
  husk_strv_free (c->exposed_ports);
  free (c->workdir);
  free (c->user);
  free (c->stop_signal);
  free (c->architecture);
  free (c->os);
  free (c->created);
  memset (c, 0, sizeof (*c));
}

static char *
dup_or_null (const char *s)
{
  return s ? husk_xstrdup (s) : NULL;
}

int
husk_image_config_parse (const char *buf, size_t len, struct husk_image_config *ret,
                         struct husk_error **err)
{
  cleanup_json husk_json *root = husk_json_parse (buf, len, err);
  struct husk_image_config c;
  const husk_json *cfg, *rootfs;

  memset (&c, 0, sizeof (c));
  if (root == NULL)
    return -1;
  if (!husk_json_is_object (root))
    return husk_error_set (err, 0, "config is not a json object");
  cfg = husk_json_get (root, "config");
  rootfs = husk_json_get (root, "rootfs");
  if (!husk_json_is_object (rootfs) || !husk_json_is_array (husk_json_get (rootfs, "diff_ids")))
    return husk_error_set (err, 0, "config has no rootfs.diff_ids");
  if ((c.env = husk_json_strv (husk_json_get (cfg, "Env"), "Env", err)) == NULL
      || (c.entrypoint = husk_json_strv (husk_json_get (cfg, "Entrypoint"), "Entrypoint", err))
             == NULL
      || (c.cmd = husk_json_strv (husk_json_get (cfg, "Cmd"), "Cmd", err)) == NULL
      || (c.diff_ids = husk_json_strv (husk_json_get (rootfs, "diff_ids"), "diff_ids", err))
             == NULL)
    {
      husk_image_config_clear (&c);
      return -1;
    }
  for (size_t i = 0; c.diff_ids[i]; i++)
    if (husk_digest_check (c.diff_ids[i], err) < 0)
      {
        husk_image_config_clear (&c);
        return husk_error_wrap (err, "config diff_ids[%zu]", i);
      }
  c.workdir = dup_or_null (husk_json_get_string (cfg, "WorkingDir"));
  c.user = dup_or_null (husk_json_get_string (cfg, "User"));
  c.stop_signal = dup_or_null (husk_json_get_string (cfg, "StopSignal"));
  c.architecture = dup_or_null (husk_json_get_string (root, "architecture"));
  c.os = dup_or_null (husk_json_get_string (root, "os"));
  c.created = dup_or_null (husk_json_get_string (root, "created"));
  {
    const husk_json *ports = husk_json_get (cfg, "ExposedPorts");
    if (husk_json_is_object (ports))
      for (size_t i = 0; i < husk_json_object_len (ports); i++)
        husk_strv_append (&c.exposed_ports, husk_json_object_key (ports, i));
  }
  *ret = c;
  return 0;
}

char *
husk_image_name_for_tag (const char *name, struct husk_error **err)
{
  struct husk_reference r;
  char *out;

  if (husk_reference_parse (name, &r, err) < 0)
    return NULL;
  if (r.tag == NULL)
    {
      husk_reference_clear (&r);
      husk_error_set (err, 0, "name \"%s\": a digest cannot be a tag", name);
      return NULL;
    }
  if (!r.had_domain)
    {
      const char *path = husk_str_has_prefix (r.path, "library/") && strchr (name, '/') == NULL
                             ? r.path + strlen ("library/")
                             : r.path;
      out = husk_strdup_printf ("localhost/%s:%s", path, r.tag);
    }
  else
    out = husk_reference_string (&r);
  husk_reference_clear (&r);
  return out;
}

bool
husk_image_untag (struct husk_image *img, const char *name)
{
  /* NAME may be one of IMG's own strings, freed on the way.  */
  cleanup_free char *copy = husk_xstrdup (name);

  if (husk_strv_contains (img->names, copy))
    remove_name (img->names, copy);
  else if (husk_strv_contains (img->repo_digests, copy))
    remove_name (img->repo_digests, copy);
  else
    return false;
  return true;
}

void
husk_images_drop (struct husk_image_list *l, size_t i)
{
  image_clear (&l->items[i]);
  memmove (&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof (l->items[0]));
  l->n--;
}

int64_t
husk_layer_size (struct husk_store *s, const char *chain_id)
{
  cleanup_free char *p = husk_strdup_printf ("layers/%s/size", husk_digest_hex (chain_id));
  cleanup_free char *buf = NULL;
  uint64_t v;

  if (husk_read_file_at (s->rootfd, p, 64, &buf, NULL, NULL) < 0)
    return 0;
  buf[strcspn (buf, "\n")] = '\0';
  if (husk_parse_u64 (buf, INT64_MAX, &v) < 0)
    return 0;
  return (int64_t) v;
}
