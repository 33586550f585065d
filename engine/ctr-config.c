/* A container's config.json: what it is and the whole spec to start it again (record.h).  */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "defaults.h"
#include "devices.h"
#include "digest.h"
#include "json.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

static const char *
mount_kind_name (enum husk_mount_kind k)
{
  return k == HUSK_MOUNT_TMPFS ? "tmpfs" : "bind";
}

void
husk_ctr_json_opt_string (husk_jgen *g, const char *key, const char *v)
{
  if (v == NULL)
    return;
  husk_jgen_key (g, key);
  husk_jgen_string (g, v);
}

static void
gen_strv (husk_jgen *g, const char *key, char *const *v)
{
  husk_jgen_key (g, key);
  husk_jgen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
}

static void
gen_bool (husk_jgen *g, const char *key, bool v)
{
  husk_jgen_key (g, key);
  husk_jgen_bool (g, v);
}

int
husk_ctr_save_config (struct husk_store *s, const struct husk_ctr *c, bool durable,
                      struct husk_error **err)
{
  const struct husk_container_spec *sp = &c->spec;
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", c->id);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  husk_ctr_json_opt_string (g, "id", c->id);
  husk_ctr_json_opt_string (g, "name", c->name);
  husk_ctr_json_opt_string (g, "image", c->image);
  husk_ctr_json_opt_string (g, "image_name", c->image_name);
  husk_ctr_json_opt_string (g, "created", c->created);
  gen_bool (g, "auto_remove", c->auto_remove);
  husk_ctr_json_opt_string (g, "stop_signal", c->stop_signal);
  gen_strv (g, "layers", c->layers);
  gen_strv (g, "args", sp->args);
  gen_strv (g, "env", sp->env);
  husk_ctr_json_opt_string (g, "cwd", sp->cwd);
  husk_ctr_json_opt_string (g, "hostname", sp->hostname);
  husk_ctr_json_opt_string (g, "user", sp->user);
  husk_jgen_key (g, "mounts");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < sp->n_mounts; i++)
    {
      const struct husk_mount *m = &sp->mounts[i];
      husk_jgen_map_open (g);
      husk_ctr_json_opt_string (g, "kind", mount_kind_name (m->kind));
      husk_ctr_json_opt_string (g, "source", m->source);
      husk_ctr_json_opt_string (g, "dest", m->dest);
      husk_ctr_json_opt_string (g, "options", m->options);
      gen_bool (g, "readonly", m->readonly);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  gen_bool (g, "readonly_rootfs", sp->readonly_rootfs);
  husk_ctr_json_opt_string (g, "network", sp->network == HUSK_NETWORK_HOST ? "host" : "none");
  husk_jgen_key (g, "caps");
  husk_jgen_int (g, (int64_t) sp->caps);
  gen_bool (g, "privileged", c->privileged);
  gen_strv (g, "masked_paths", sp->masked_paths);
  gen_strv (g, "readonly_paths", sp->readonly_paths);
  gen_bool (g, "no_new_privs", sp->no_new_privs);
  husk_ctr_json_opt_string (g, "seccomp",
                  sp->seccomp == HUSK_SECCOMP_UNCONFINED ? "unconfined"
                  : sp->seccomp == HUSK_SECCOMP_PROFILE  ? "profile"
                                                         : "default");
  husk_ctr_json_opt_string (g, "seccomp_profile", sp->seccomp_profile);
  husk_jgen_key (g, "rlimits");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < sp->n_rlimits; i++)
    {
      husk_jgen_map_open (g);
      husk_jgen_key (g, "resource");
      husk_jgen_int (g, sp->rlimits[i].resource);
      /* RLIM_INFINITY round-trips as -1.  */
      husk_jgen_key (g, "soft");
      husk_jgen_int (g, (int64_t) sp->rlimits[i].soft);
      husk_jgen_key (g, "hard");
      husk_jgen_int (g, (int64_t) sp->rlimits[i].hard);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  gen_bool (g, "init", sp->init);
  gen_bool (g, "tty", sp->tty);
  gen_bool (g, "interactive", sp->interactive);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  if (!durable)
    return husk_write_file_replace_at (s->rootfd, path, buf, len, 0600, err);
  return husk_write_file_atomic_at (s->rootfd, path, buf, len, 0600, err);
}

char *
husk_ctr_json_dup (const husk_json *j, const char *key)
{
  const char *v = husk_json_get_string (j, key);
  return v ? husk_xstrdup (v) : NULL;
}

static bool
get_bool (const husk_json *j, const char *key)
{
  bool v = false;
  husk_json_bool (husk_json_get (j, key), &v);
  return v;
}

int
husk_ctr_parse_config (struct husk_store *s, struct husk_ctr *c, const char *buf, size_t len,
                       struct husk_error **err)
{
  struct husk_container_spec *sp = &c->spec;
  cleanup_json husk_json *j = husk_json_parse (buf, len, err);
  const husk_json *a;
  const char *v;
  int64_t n;

  if (j == NULL)
    return -1;
  c->name = husk_ctr_json_dup (j, "name");
  c->image = husk_ctr_json_dup (j, "image");
  c->image_name = husk_ctr_json_dup (j, "image_name");
  c->created = husk_ctr_json_dup (j, "created");
  c->auto_remove = get_bool (j, "auto_remove");
  c->stop_signal = husk_ctr_json_dup (j, "stop_signal");
  if ((c->layers = husk_json_strv (husk_json_get (j, "layers"), "layers", err)) == NULL
      || (sp->args = husk_json_strv (husk_json_get (j, "args"), "args", err)) == NULL
      || (sp->env = husk_json_strv (husk_json_get (j, "env"), "env", err)) == NULL)
    return -1;
  sp->cwd = husk_ctr_json_dup (j, "cwd");
  sp->hostname = husk_ctr_json_dup (j, "hostname");
  sp->user = husk_ctr_json_dup (j, "user");
  a = husk_json_get (j, "mounts");
  sp->n_mounts = husk_json_array_len (a);
  if (sp->n_mounts)
    {
      struct husk_mount *m = husk_xcalloc (sp->n_mounts, sizeof (*m));
      for (size_t i = 0; i < sp->n_mounts; i++)
        {
          const husk_json *e = husk_json_array_at (a, i);
          v = husk_json_get_string (e, "kind");
          m[i].kind = v && strcmp (v, "tmpfs") == 0 ? HUSK_MOUNT_TMPFS : HUSK_MOUNT_BIND;
          m[i].source = husk_ctr_json_dup (e, "source");
          m[i].dest = husk_ctr_json_dup (e, "dest");
          m[i].options = husk_ctr_json_dup (e, "options");
          m[i].readonly = get_bool (e, "readonly");
          if (m[i].dest == NULL || (m[i].kind == HUSK_MOUNT_BIND && m[i].source == NULL))
            {
              sp->mounts = m;
              return husk_error_set (err, 0, "mounts[%zu]: incomplete", i);
            }
        }
      sp->mounts = m;
    }
  sp->readonly_rootfs = get_bool (j, "readonly_rootfs");
  v = husk_json_get_string (j, "network");
  sp->network = v && strcmp (v, "host") == 0 ? HUSK_NETWORK_HOST : HUSK_NETWORK_NONE;
  if (husk_json_int64 (husk_json_get (j, "caps"), &n))
    sp->caps = (uint64_t) n;
  c->privileged = get_bool (j, "privileged");
  /* A record written before the spec held its paths has Docker's, or none when privileged,
     as that husk applied them.  */
  if (husk_json_get (j, "masked_paths") == NULL && husk_json_get (j, "readonly_paths") == NULL)
    husk_defaults_paths (c->privileged, &sp->masked_paths, &sp->readonly_paths);
  else if ((sp->masked_paths = husk_json_strv (husk_json_get (j, "masked_paths"),
                                               "masked_paths", err))
               == NULL
           || (sp->readonly_paths = husk_json_strv (husk_json_get (j, "readonly_paths"),
                                                    "readonly_paths", err))
                  == NULL)
    return -1;
  sp->no_new_privs = get_bool (j, "no_new_privs");
  v = husk_json_get_string (j, "seccomp");
  sp->seccomp = v && strcmp (v, "unconfined") == 0 ? HUSK_SECCOMP_UNCONFINED
                : v && strcmp (v, "profile") == 0  ? HUSK_SECCOMP_PROFILE
                                                   : HUSK_SECCOMP_DEFAULT;
  sp->seccomp_profile = husk_ctr_json_dup (j, "seccomp_profile");
  if (sp->seccomp == HUSK_SECCOMP_PROFILE && sp->seccomp_profile == NULL)
    return husk_error_set (err, 0, "seccomp profile missing");
  a = husk_json_get (j, "rlimits");
  sp->n_rlimits = husk_json_array_len (a);
  if (sp->n_rlimits)
    {
      struct husk_rlimit *r = husk_xcalloc (sp->n_rlimits, sizeof (*r));
      for (size_t i = 0; i < sp->n_rlimits; i++)
        {
          const husk_json *e = husk_json_array_at (a, i);
          int64_t x;
          if (husk_json_int64 (husk_json_get (e, "resource"), &x))
            r[i].resource = (int) x;
          if (husk_json_int64 (husk_json_get (e, "soft"), &x))
            r[i].soft = (uint64_t) x;
          if (husk_json_int64 (husk_json_get (e, "hard"), &x))
            r[i].hard = (uint64_t) x;
        }
      sp->rlimits = r;
    }
  sp->init = get_bool (j, "init");
  sp->tty = get_bool (j, "tty");
  sp->interactive = get_bool (j, "interactive");
  /* Every container gets the default device rules (there is no --device yet); the cgroup
     is used only when husk runs as root.  */
  sp->device_cgroup = c->id;
  sp->devices = husk_devices_default;
  sp->n_devices = husk_devices_n_default;

  /* Paths follow the store, wherever it is now.  */
  for (size_t i = 0; c->layers[i]; i++)
    {
      cleanup_free char *abs = NULL;
      if (husk_digest_check (c->layers[i], err) < 0)
        return husk_error_wrap (err, "layers[%zu]", i);
      abs = husk_strdup_printf ("%s/layers/%s/diff", s->root, husk_digest_hex (c->layers[i]));
      husk_strv_append (&sp->lowerdirs, abs);
    }
  sp->upperdir = husk_strdup_printf ("%s/containers/%s/upper", s->root, c->id);
  sp->workdir = husk_strdup_printf ("%s/containers/%s/work", s->root, c->id);
  sp->rootfs = husk_strdup_printf ("%s/containers/%s/rootfs", s->root, c->id);
  return 0;
}
