/* Image configs as documents: the tables that map them (lib/jsonmap.h).  */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imageconfig.h"
#include "jsonmap.h"
#include "util.h"
#include "banned.h"

#define E HUSK_JM_OMIT_EMPTY

static const struct husk_jsonmap_field healthcheck_fields[] = {
  HUSK_JM_STRV ("Test", struct husk_healthcheck, test, E),
  HUSK_JM_INT64 ("Interval", struct husk_healthcheck, interval, E),
  HUSK_JM_INT64 ("Timeout", struct husk_healthcheck, timeout, E),
  HUSK_JM_INT64 ("StartPeriod", struct husk_healthcheck, start_period, E),
  HUSK_JM_INT64 ("StartInterval", struct husk_healthcheck, start_interval, E),
  HUSK_JM_INT ("Retries", struct husk_healthcheck, retries, E),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field runconfig_fields[] = {
  HUSK_JM_STRING ("User", struct husk_runconfig, user, E),
  HUSK_JM_STRSET ("ExposedPorts", struct husk_runconfig, exposed_ports, E),
  HUSK_JM_STRV ("Env", struct husk_runconfig, env, E),
  HUSK_JM_STRV ("Entrypoint", struct husk_runconfig, entrypoint, E),
  HUSK_JM_STRV ("Cmd", struct husk_runconfig, cmd, E),
  HUSK_JM_STRSET ("Volumes", struct husk_runconfig, volumes, E),
  HUSK_JM_STRING ("WorkingDir", struct husk_runconfig, working_dir, E),
  HUSK_JM_STRMAP ("Labels", struct husk_runconfig, labels, E),
  HUSK_JM_STRING ("StopSignal", struct husk_runconfig, stop_signal, E),
  HUSK_JM_BOOL ("ArgsEscaped", struct husk_runconfig, args_escaped, E),
  HUSK_JM_OBJECT ("Healthcheck", struct husk_runconfig, healthcheck, healthcheck_fields, E),
  HUSK_JM_STRV ("OnBuild", struct husk_runconfig, on_build, E),
  HUSK_JM_STRV ("Shell", struct husk_runconfig, shell, E),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field history_fields[] = {
  HUSK_JM_STRING ("created", struct husk_history, created, E),
  HUSK_JM_STRING ("created_by", struct husk_history, created_by, E),
  HUSK_JM_STRING ("author", struct husk_history, author, E),
  HUSK_JM_STRING ("comment", struct husk_history, comment, E),
  HUSK_JM_BOOL ("empty_layer", struct husk_history, empty_layer, E),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field rootfs_fields[] = {
  HUSK_JM_STRING ("type", struct husk_oci_config, rootfs_type, 0),
  HUSK_JM_STRV ("diff_ids", struct husk_oci_config, diff_ids, 0),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field config_fields[] = {
  HUSK_JM_STRING ("created", struct husk_oci_config, created, E),
  HUSK_JM_STRING ("author", struct husk_oci_config, author, E),
  HUSK_JM_STRING ("architecture", struct husk_oci_config, architecture, 0),
  HUSK_JM_STRING ("variant", struct husk_oci_config, variant, E),
  HUSK_JM_STRING ("os", struct husk_oci_config, os, 0),
  HUSK_JM_STRING ("os.version", struct husk_oci_config, os_version, E),
  HUSK_JM_STRV ("os.features", struct husk_oci_config, os_features, E),
  HUSK_JM_OBJECT ("config", struct husk_oci_config, config, runconfig_fields, E),
  HUSK_JM_NESTED ("rootfs", rootfs_fields, 0),
  HUSK_JM_ARRAY ("history", struct husk_oci_config, history, n_history, history_fields, E),
  HUSK_JM_END,
};

int
husk_oci_config_parse (const char *buf, size_t len, struct husk_oci_config *ret,
                       struct husk_error **err)
{
  memset (ret, 0, sizeof *ret);
  if (husk_jsonmap_parse (buf, len, config_fields, ret, err) < 0)
    return husk_error_wrap (err, "image config");
  return 0;
}

char *
husk_oci_config_write (const struct husk_oci_config *c, size_t *ret_len)
{
  husk_jgen *g = husk_jgen_new (false);
  const char *buf;
  size_t len;
  char *out;

  husk_jsonmap_encode (g, config_fields, c);
  buf = husk_jgen_buf (g, &len);
  out = husk_xmalloc (len + 1);
  memcpy (out, buf, len);
  out[len] = '\0';
  husk_jgen_free (g);
  *ret_len = len;
  return out;
}

static char *
dup_or_null (const char *s)
{
  return s ? husk_xstrdup (s) : NULL;
}

void
husk_oci_config_add_history (struct husk_oci_config *c, const char *created, const char *created_by,
                             const char *author, const char *comment, bool empty_layer)
{
  struct husk_history *h;

  c->history = husk_xrealloc (c->history, (c->n_history + 1) * sizeof *c->history);
  h = &c->history[c->n_history++];
  h->created = dup_or_null (created);
  h->created_by = dup_or_null (created_by);
  h->author = dup_or_null (author);
  h->comment = dup_or_null (comment);
  h->empty_layer = empty_layer;
}

void
husk_oci_config_clear (struct husk_oci_config *c)
{
  husk_jsonmap_clear (config_fields, c);
}
