/* Container records: loading and listing them (record.h).  */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "imagegc.h"
#include "names.h"
#include "net.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (4u << 20)

char *
husk_ctr_dir (struct husk_store *s, const struct husk_ctr *c)
{
  return husk_strdup_printf ("%s/containers/%s", husk_store_root (s), c->id);
}

char *
husk_ctr_log_path (struct husk_store *s, const struct husk_ctr *c)
{
  return husk_strdup_printf ("%s/containers/%s/ctr.log", husk_store_root (s), c->id);
}

int
husk_ctr_dirs_create (struct husk_store *s, struct husk_error **err)
{
  static const char *const dirs[] = { "containers", "container-names" };

  for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    if (mkdirat (husk_store_rootfd (s), dirs[i], 0700) < 0 && errno != EEXIST)
      return husk_error_set (err, errno, "store \"%s\": mkdir \"%s\"", husk_store_root (s),
                             dirs[i]);
  {
    char *init = husk_net_init_layer (s, err);
    if (init == NULL)
      return -1;
    free (init);
  }
  return 0;
}

/* STORE/containers for reading, or NULL: with *ERR set, or without when it does not exist.  */
DIR *
husk_ctr_open_dir (struct husk_store *s, struct husk_error **err)
{
  int fd = openat (husk_store_rootfd (s), "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;

  if (fd < 0)
    {
      if (errno != ENOENT)
        husk_error_set (err, errno, "store \"%s\": containers", husk_store_root (s));
      return NULL;
    }
  d = fdopendir (fd);
  if (d == NULL)
    {
      husk_error_set (err, errno, "store \"%s\": containers", husk_store_root (s));
      close (fd);
    }
  return d;
}

/* containers/ID/config.json alone: no id map, no state.  */
/* A record from config.json's BUF: its fields, without state.  */
static int
parse_config (struct husk_store *s, const char *id, const char *buf, size_t len,
              struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = husk_xcalloc (1, sizeof (*c));

  snprintf (c->id, sizeof (c->id), "%s", id);
  if (husk_ctr_parse_config (s, c, buf, len, err) < 0)
    return husk_error_wrap (err, "container %.12s", id);
  *ret = TAKE_PTR (c);
  return 0;
}

static int
load_config (struct husk_store *s, const char *id, struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", id);
  cleanup_free char *buf = NULL;
  size_t len;

  if (husk_read_file_at (husk_store_rootfd (s), path, CONFIG_MAX, &buf, &len, err) < 0)
    return husk_error_wrap (err, "container %.12s", id);
  return parse_config (s, id, buf, len, ret, err);
}

/* The rest of loading a record just parsed: the caller's id map, then the state.  */
static int
load_finish (struct husk_store *s, struct husk_ctr *c, struct husk_error **err)
{
  if (geteuid () != 0)
    {
      /* The caller's map, read once per process: ps of a thousand containers reads
         /etc/subuid once, not a thousand times.  */
      static struct husk_idmap map;
      static bool have_map;
      if (!have_map && husk_idmap_for_user (geteuid (), getegid (), NULL, NULL, &map, err) < 0)
        return -1;
      have_map = true;
      c->idmap = map;
      c->spec.idmap = &c->idmap;
      husk_ctr_set_namespaces (c);
    }
  husk_ctr_load_state (s, c);
  if (c->status == HUSK_CTR_RUNNING)
    husk_ctr_repair_state (s, c);
  return 0;
}

static int
load_id (struct husk_store *s, const char *id, struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;

  if (load_config (s, id, &c, err) < 0 || load_finish (s, c, err) < 0)
    return -1;
  *ret = TAKE_PTR (c);
  return 0;
}

int
husk_ctr_load_config (struct husk_store *s, const char *id, struct husk_ctr **ret,
                      struct husk_error **err)
{
  return load_config (s, id, ret, err);
}

int
husk_ctr_load_config_buf (struct husk_store *s, const char *id, const char *buf, size_t len,
                          struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;

  if (parse_config (s, id, buf, len, &c, err) < 0 || load_finish (s, c, err) < 0)
    return -1;
  *ret = TAKE_PTR (c);
  return 0;
}

void
husk_ctr_set_namespaces (struct husk_ctr *c)
{
  c->spec.n_namespaces
      = husk_defaults_namespaces (c->network, c->spec.idmap != NULL, c->namespaces);
  c->spec.namespaces = c->namespaces;
}

bool
husk_ctr_is_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isdigit ((unsigned char) *s) && !(*s >= 'a' && *s <= 'f'))
      return false;
  return true;
}

int
husk_ctr_load (struct husk_store *s, const char *query, struct husk_ctr **ret,
               struct husk_error **err)
{
  cleanup_free char *match = NULL;
  size_t qlen = strlen (query);

  if (qlen == 64 && husk_ctr_is_hex (query) && husk_ctr_exists (s, query))
    return load_id (s, query, ret, err);
  if (husk_ctr_name_valid (query))
    {
      cleanup_close int dfd = husk_store_open_subdir (s, "container-names", false, NULL);
      char target[80];
      ssize_t n = dfd >= 0 ? readlinkat (dfd, query, target, sizeof (target) - 1) : -1;
      if (n == 64)
        {
          target[n] = '\0';
          if (husk_ctr_is_hex (target) && husk_ctr_exists (s, target))
            return load_id (s, target, ret, err);
        }
    }
  if (husk_ctr_is_hex (query) && qlen < 64)
    {
      cleanup_error struct husk_error *e = NULL;
      cleanup_dir DIR *d = husk_ctr_open_dir (s, &e);
      struct dirent *de;

      while (d && (de = readdir (d)) != NULL)
        {
          if (strncmp (de->d_name, query, qlen) != 0 || strlen (de->d_name) != 64)
            continue;
          if (match)
            return husk_error_set (err, 0,
                                   "container \"%s\": ambiguous, more than one ID "
                                   "starts with it",
                                   query);
          match = husk_xstrdup (de->d_name);
        }
      if (match && husk_ctr_exists (s, match))
        return load_id (s, match, ret, err);
    }
  return husk_error_set (err, 0, "no such container: %s", query);
}

static int
cmp_created (const void *a, const void *b)
{
  const struct husk_ctr *x = *(struct husk_ctr *const *) a;
  const struct husk_ctr *y = *(struct husk_ctr *const *) b;
  const char *cx = x->created ? x->created : "", *cy = y->created ? y->created : "";
  return strcmp (cy, cx);
}

int
husk_ctr_list (struct husk_store *s, struct husk_ctr ***ret, size_t *ret_n, struct husk_error **err)
{
  cleanup_dir DIR *d = husk_ctr_open_dir (s, err);
  struct husk_ctr **v = NULL;
  size_t n = 0;
  struct dirent *de;

  *ret = NULL;
  *ret_n = 0;
  if (d == NULL)
    return *err ? -1 : 0;
  while ((de = readdir (d)) != NULL)
    {
      struct husk_ctr *c = NULL;
      cleanup_error struct husk_error *e = NULL;

      if (strlen (de->d_name) != 64 || !husk_ctr_is_hex (de->d_name))
        continue;
      /* One being created or removed right now has no record: not a container (yet).  */
      if (load_id (s, de->d_name, &c, &e) < 0)
        continue;
      v = husk_xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = c;
    }
  if (n)
    qsort (v, n, sizeof (*v), cmp_created);
  *ret = v;
  *ret_n = n;
  return 0;
}

static void
append_new (char ***v, const char *s)
{
  for (size_t i = 0; (*v)[i]; i++)
    if (strcmp ((*v)[i], s) == 0)
      return;
  husk_strv_append (v, s);
}

/* The image ID and chain IDs of container ID's config.json when the record as a whole does not
   load (a field this husk refuses, say one a newer husk wrote): its "image" and "layers"
   alone, read leniently.  A file that is not a JSON object pins nothing: no command can load,
   list or start that container, and husk rm cannot name it either.  */
static void
pins_of_unloadable (struct husk_store *s, const char *id, char ***ids, char ***chains)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", id);
  cleanup_free char *buf = NULL;
  cleanup_json husk_json *root = NULL;
  cleanup_strv char **layers = NULL;
  const char *image;
  size_t len;

  if (husk_read_file_at (husk_store_rootfd (s), path, CONFIG_MAX, &buf, &len, NULL) < 0
      || (root = husk_json_parse (buf, len, NULL)) == NULL)
    return;
  image = husk_json_get_string (root, "image");
  if (husk_json_get (root, "layers"))
    layers = husk_json_strv (husk_json_get (root, "layers"), "layers", NULL);
  if (image && *image)
    append_new (ids, image);
  for (size_t k = 0; layers && layers[k]; k++)
    append_new (chains, layers[k]);
}

int
husk_ctr_images_in_use (struct husk_store *s, struct husk_images_in_use *ret,
                        struct husk_error **err)
{
  cleanup_dir DIR *d = husk_ctr_open_dir (s, err);
  cleanup_strv char **ids = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **chains = husk_xcalloc (1, sizeof (char *));
  struct dirent *de;

  if (d == NULL && *err)
    return -1;
  while (d && (de = readdir (d)) != NULL)
    {
      cleanup_ctr struct husk_ctr *c = NULL;
      cleanup_error struct husk_error *e = NULL;

      if (strlen (de->d_name) != 64 || !husk_ctr_is_hex (de->d_name))
        continue;
      /* One being created has no record yet: nothing to protect then.  */
      if (load_config (s, de->d_name, &c, &e) < 0)
        {
          /* A record this husk cannot load whole still pins what it names.  */
          if (e->errnum != ENOENT)
            pins_of_unloadable (s, de->d_name, &ids, &chains);
          continue;
        }
      if (c->image && *c->image)
        append_new (&ids, c->image);
      for (size_t k = 0; c->layers && c->layers[k]; k++)
        append_new (&chains, c->layers[k]);
    }
  ret->ids = TAKE_PTR (ids);
  ret->chains = TAKE_PTR (chains);
  return 0;
}

void
husk_ctr_free (struct husk_ctr *c)
{
  struct husk_container_spec *sp;

  if (c == NULL)
    return;
  sp = &c->spec;
  free (c->name);
  free (c->image);
  free (c->image_name);
  free (c->created);
  free (c->stop_signal);
  free (c->started_at);
  free (c->finished_at);
  free (c->error);
  husk_strv_free (c->layers);
  free (c->network_value);
  husk_ports_free (c->ports, c->n_ports);
  husk_strv_free (c->dns);
  husk_strv_free (c->dns_search);
  husk_strv_free (c->dns_options);
  husk_strv_free (c->extra_hosts);
  husk_strv_free (c->extra_networks);
  husk_strv_free (c->exposed);
  free (c->ns_paths[0]);
  free (c->ns_paths[1]);
  husk_net_bridge_release (c);
  free (c->net_addr);
  husk_strv_free (c->net_argv);
  husk_container_spec_clear (sp);
  free (c);
}

void
husk_ctr_list_free (struct husk_ctr **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    husk_ctr_free (v[i]);
  free (v);
}
