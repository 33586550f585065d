#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "configedit.h"
#include "util.h"
#include "banned.h"

/* Members of docker's image JSON that describe the container an image was made in: the
   parent's are not the child's.  */
static const char *const dropped[] = { "container", "container_config", NULL };

static int
get_strv (const husk_json *cfg, const char *key, char ***ret, struct husk_error **err)
{
  const husk_json *v = husk_json_get (cfg, key);

  if (v == NULL || husk_json_is_null (v))
    {
      *ret = NULL;
      return 0;
    }
  *ret = husk_json_strv (v, key, err);
  return *ret ? 0 : husk_error_wrap (err, "image config");
}

static int
get_str (const husk_json *cfg, const char *key, char **ret, struct husk_error **err)
{
  const husk_json *v = husk_json_get (cfg, key);

  *ret = NULL;
  if (v == NULL || husk_json_is_null (v))
    return 0;
  if (husk_json_string (v) == NULL)
    return husk_error_set (err, 0, "image config: \"%s\" is %s, not a string", key,
                           husk_json_kind (v));
  *ret = husk_xstrdup (husk_json_string (v));
  return 0;
}

/* The keys of an object member ("ExposedPorts": {"80/tcp": {}}), or "KEY=VALUE" for each
   member when WITH_VALUES (Labels, whose values must be strings).  */
static int
get_keys (const husk_json *cfg, const char *key, bool with_values, char ***ret,
          struct husk_error **err)
{
  const husk_json *v = husk_json_get (cfg, key);
  char **out = husk_xcalloc (1, sizeof (char *));

  *ret = NULL;
  if (v == NULL || husk_json_is_null (v))
    {
      *ret = out;
      return 0;
    }
  if (!husk_json_is_object (v))
    {
      husk_strv_free (out);
      return husk_error_set (err, 0, "image config: \"%s\" is %s, not an object", key,
                             husk_json_kind (v));
    }
  for (size_t i = 0; i < husk_json_object_len (v); i++)
    {
      const char *k = husk_json_object_key (v, i);
      if (with_values)
        {
          const char *val = husk_json_string (husk_json_object_value (v, i));
          cleanup_free char *kv = NULL;
          if (val == NULL)
            {
              husk_strv_free (out);
              return husk_error_set (err, 0, "image config: label \"%s\" is not a string", k);
            }
          kv = husk_strdup_printf ("%s=%s", k, val);
          husk_strv_append (&out, kv);
        }
      else
        husk_strv_append (&out, k);
    }
  *ret = out;
  return 0;
}

int
husk_config_edit_init (struct husk_config_edit *e, const char *buf, size_t len,
                       struct husk_error **err)
{
  struct husk_config_edit n = { 0 };
  const husk_json *cfg;

  n.parent = husk_json_parse (buf, len, err);
  if (n.parent == NULL)
    return husk_error_wrap (err, "image config");
  if (!husk_json_is_object (n.parent))
    {
      husk_json_free (n.parent);
      return husk_error_set (err, 0, "image config: not an object");
    }
  cfg = husk_json_get (n.parent, "config");
  if (get_strv (cfg, "Env", &n.env, err) < 0 || get_strv (cfg, "Cmd", &n.cmd, err) < 0
      || get_strv (cfg, "Entrypoint", &n.entrypoint, err) < 0
      || get_str (cfg, "WorkingDir", &n.workdir, err) < 0 || get_str (cfg, "User", &n.user, err) < 0
      || get_str (cfg, "StopSignal", &n.stop_signal, err) < 0
      || get_keys (cfg, "Labels", true, &n.labels, err) < 0
      || get_keys (cfg, "ExposedPorts", false, &n.exposed_ports, err) < 0
      || get_keys (cfg, "Volumes", false, &n.volumes, err) < 0
      || get_strv (cfg, "OnBuild", &n.on_build, err) < 0)
    {
      husk_config_edit_clear (&n);
      return -1;
    }
  if (n.env == NULL)
    n.env = husk_xcalloc (1, sizeof (char *));
  *e = n;
  return 0;
}

void
husk_config_edit_clear (struct husk_config_edit *e)
{
  husk_json_free (e->parent);
  husk_strv_free (e->env);
  husk_strv_free (e->cmd);
  husk_strv_free (e->entrypoint);
  free (e->workdir);
  free (e->user);
  free (e->stop_signal);
  husk_strv_free (e->labels);
  husk_strv_free (e->exposed_ports);
  husk_strv_free (e->volumes);
  husk_strv_free (e->on_build);
  free (e->created);
  free (e->author);
  free (e->diff_id);
  free (e->history_created_by);
  free (e->history_comment);
  memset (e, 0, sizeof (*e));
}

void
husk_config_edit_set_label (struct husk_config_edit *e, const char *key, const char *value)
{
  cleanup_free char *kv = husk_strdup_printf ("%s=%s", key, value);
  size_t klen = strlen (key);

  e->labels_set = true;
  for (size_t i = 0; e->labels[i]; i++)
    if (strncmp (e->labels[i], key, klen) == 0 && e->labels[i][klen] == '=')
      {
        free (e->labels[i]);
        e->labels[i] = TAKE_PTR (kv);
        return;
      }
  husk_strv_append (&e->labels, kv);
}

static void
add_key (char ***v, const char *key)
{
  if (!husk_strv_contains (*v, key))
    husk_strv_append (v, key);
}

void
husk_config_edit_add_port (struct husk_config_edit *e, const char *port)
{
  e->exposed_ports_set = true;
  add_key (&e->exposed_ports, port);
}

void
husk_config_edit_add_volume (struct husk_config_edit *e, const char *path)
{
  e->volumes_set = true;
  add_key (&e->volumes, path);
}

void
husk_config_edit_add_onbuild (struct husk_config_edit *e, const char *trigger)
{
  if (e->on_build == NULL)
    e->on_build = husk_xcalloc (1, sizeof (char *));
  husk_strv_append (&e->on_build, trigger);
  e->on_build_set = true;
}

static void
gen_strv_or_null (husk_jgen *g, char *const *v)
{
  if (v == NULL)
    {
      husk_jgen_null (g);
      return;
    }
  husk_jgen_array_open (g);
  for (size_t i = 0; v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
}

static void
gen_str_or_null (husk_jgen *g, const char *s)
{
  if (s)
    husk_jgen_string (g, s);
  else
    husk_jgen_null (g);
}

/* {"KEY": {}} for each key, or {"KEY": "VALUE"} for "KEY=VALUE" when WITH_VALUES.  */
static void
gen_keys (husk_jgen *g, char *const *v, bool with_values)
{
  husk_jgen_map_open (g);
  for (size_t i = 0; v && v[i]; i++)
    {
      if (with_values)
        {
          const char *eq = strchr (v[i], '=');
          cleanup_free char *k = husk_xstrdup (v[i]);
          k[eq - v[i]] = '\0';
          husk_jgen_key (g, k);
          husk_jgen_string (g, eq + 1);
        }
      else
        {
          husk_jgen_key (g, v[i]);
          husk_jgen_map_open (g);
          husk_jgen_map_close (g);
        }
    }
  husk_jgen_map_close (g);
}

/* The fields of "config" husk changes, in the order docker writes them.  */
enum field
{
  F_USER,
  F_EXPOSED,
  F_ENV,
  F_ENTRYPOINT,
  F_CMD,
  F_VOLUMES,
  F_WORKDIR,
  F_ONBUILD,
  F_LABELS,
  F_STOPSIGNAL,
  F_N,
};

static const char *const field_names[F_N] = {
  "User",    "ExposedPorts", "Env",     "Entrypoint", "Cmd",
  "Volumes", "WorkingDir",   "OnBuild", "Labels",     "StopSignal",
};

static bool
field_set (const struct husk_config_edit *e, enum field f)
{
  switch (f)
    {
    case F_USER:
      return e->user_set;
    case F_EXPOSED:
      return e->exposed_ports_set;
    case F_ENV:
      return e->env_set;
    case F_ENTRYPOINT:
      return e->entrypoint_set;
    case F_CMD:
      return e->cmd_set;
    case F_VOLUMES:
      return e->volumes_set;
    case F_WORKDIR:
      return e->workdir_set;
    case F_ONBUILD:
      return e->on_build_set;
    case F_LABELS:
      return e->labels_set;
    case F_STOPSIGNAL:
      return e->stop_signal_set;
    default:
      return false;
    }
}

static void
gen_field (husk_jgen *g, const struct husk_config_edit *e, enum field f)
{
  husk_jgen_key (g, field_names[f]);
  switch (f)
    {
    case F_USER:
      gen_str_or_null (g, e->user);
      break;
    case F_EXPOSED:
      gen_keys (g, e->exposed_ports, false);
      break;
    case F_ENV:
      gen_strv_or_null (g, e->env);
      break;
    case F_ENTRYPOINT:
      gen_strv_or_null (g, e->entrypoint);
      break;
    case F_CMD:
      gen_strv_or_null (g, e->cmd);
      break;
    case F_VOLUMES:
      gen_keys (g, e->volumes, false);
      break;
    case F_WORKDIR:
      gen_str_or_null (g, e->workdir);
      break;
    case F_ONBUILD:
      gen_strv_or_null (g, e->on_build);
      break;
    case F_LABELS:
      gen_keys (g, e->labels, true);
      break;
    case F_STOPSIGNAL:
      gen_str_or_null (g, e->stop_signal);
      break;
    default:
      break;
    }
}

static int
field_of (const char *key)
{
  for (int f = 0; f < F_N; f++)
    if (strcmp (field_names[f], key) == 0)
      return f;
  return -1;
}

static void
gen_config (husk_jgen *g, const struct husk_config_edit *e, const husk_json *old)
{
  bool written[F_N] = { false };

  husk_jgen_map_open (g);
  for (size_t i = 0; old && husk_json_is_object (old) && i < husk_json_object_len (old); i++)
    {
      const char *k = husk_json_object_key (old, i);
      int f = field_of (k);
      if (f >= 0 && field_set (e, (enum field) f))
        {
          gen_field (g, e, (enum field) f);
          written[f] = true;
        }
      else
        {
          husk_jgen_key (g, k);
          husk_jgen_value (g, husk_json_object_value (old, i));
        }
    }
  for (int f = 0; f < F_N; f++)
    if (!written[f] && field_set (e, (enum field) f))
      gen_field (g, e, (enum field) f);
  husk_jgen_map_close (g);
}

static void
gen_rootfs (husk_jgen *g, const struct husk_config_edit *e, const husk_json *old)
{
  const husk_json *ids = husk_json_get (old, "diff_ids");
  bool wrote_ids = false, wrote_type = false;

  husk_jgen_map_open (g);
  for (size_t i = 0; old && husk_json_is_object (old) && i < husk_json_object_len (old); i++)
    {
      const char *k = husk_json_object_key (old, i);
      husk_jgen_key (g, k);
      if (strcmp (k, "diff_ids") == 0)
        {
          husk_jgen_array_open (g);
          for (size_t j = 0; j < husk_json_array_len (ids); j++)
            husk_jgen_value (g, husk_json_array_at (ids, j));
          if (e->diff_id)
            husk_jgen_string (g, e->diff_id);
          husk_jgen_array_close (g);
          wrote_ids = true;
        }
      else
        {
          husk_jgen_value (g, husk_json_object_value (old, i));
          wrote_type = wrote_type || strcmp (k, "type") == 0;
        }
    }
  if (!wrote_type)
    {
      husk_jgen_key (g, "type");
      husk_jgen_string (g, "layers");
    }
  if (!wrote_ids)
    {
      husk_jgen_key (g, "diff_ids");
      husk_jgen_array_open (g);
      if (e->diff_id)
        husk_jgen_string (g, e->diff_id);
      husk_jgen_array_close (g);
    }
  husk_jgen_map_close (g);
}

static void
gen_history (husk_jgen *g, const struct husk_config_edit *e, const husk_json *old)
{
  husk_jgen_array_open (g);
  for (size_t i = 0; husk_json_is_array (old) && i < husk_json_array_len (old); i++)
    husk_jgen_value (g, husk_json_array_at (old, i));
  husk_jgen_map_open (g);
  if (e->created)
    {
      husk_jgen_key (g, "created");
      husk_jgen_string (g, e->created);
    }
  if (e->history_created_by)
    {
      husk_jgen_key (g, "created_by");
      husk_jgen_string (g, e->history_created_by);
    }
  if (e->author)
    {
      husk_jgen_key (g, "author");
      husk_jgen_string (g, e->author);
    }
  if (e->history_comment)
    {
      husk_jgen_key (g, "comment");
      husk_jgen_string (g, e->history_comment);
    }
  if (e->diff_id == NULL)
    {
      husk_jgen_key (g, "empty_layer");
      husk_jgen_bool (g, true);
    }
  husk_jgen_map_close (g);
  husk_jgen_array_close (g);
}

char *
husk_config_edit_render (const struct husk_config_edit *e, size_t *ret_len)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  const husk_json *top = e->parent;
  bool wrote_created = false, wrote_author = false, wrote_config = false, wrote_rootfs = false,
       wrote_history = false;
  bool config_changed = false;
  const char *buf;
  size_t len;
  char *out;

  for (int f = 0; f < F_N; f++)
    config_changed = config_changed || field_set (e, (enum field) f);
  husk_jgen_map_open (g);
  for (size_t i = 0; i < husk_json_object_len (top); i++)
    {
      const char *k = husk_json_object_key (top, i);
      const husk_json *v = husk_json_object_value (top, i);

      if (husk_strv_contains ((char *const *) dropped, k))
        continue;
      if (strcmp (k, "created") == 0)
        {
          husk_jgen_key (g, k);
          if (e->created)
            husk_jgen_string (g, e->created);
          else
            husk_jgen_value (g, v);
          wrote_created = true;
        }
      else if (strcmp (k, "author") == 0)
        {
          if (e->author)
            {
              husk_jgen_key (g, k);
              husk_jgen_string (g, e->author);
            }
          wrote_author = true;
        }
      else if (strcmp (k, "config") == 0)
        {
          husk_jgen_key (g, k);
          gen_config (g, e, v);
          wrote_config = true;
        }
      else if (strcmp (k, "rootfs") == 0)
        {
          husk_jgen_key (g, k);
          gen_rootfs (g, e, v);
          wrote_rootfs = true;
        }
      else if (strcmp (k, "history") == 0)
        {
          husk_jgen_key (g, k);
          gen_history (g, e, v);
          wrote_history = true;
        }
      else
        {
          husk_jgen_key (g, k);
          husk_jgen_value (g, v);
        }
    }
  if (!wrote_created && e->created)
    {
      husk_jgen_key (g, "created");
      husk_jgen_string (g, e->created);
    }
  if (!wrote_author && e->author)
    {
      husk_jgen_key (g, "author");
      husk_jgen_string (g, e->author);
    }
  if (!wrote_config && config_changed)
    {
      husk_jgen_key (g, "config");
      gen_config (g, e, NULL);
    }
  if (!wrote_rootfs)
    {
      husk_jgen_key (g, "rootfs");
      gen_rootfs (g, e, NULL);
    }
  if (!wrote_history)
    {
      husk_jgen_key (g, "history");
      gen_history (g, e, NULL);
    }
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  out = husk_xmalloc (len + 1);
  memcpy (out, buf, len);
  out[len] = '\0';
  *ret_len = len;
  return out;
}
