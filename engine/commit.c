#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "commit.h"
#include "create.h"
#include "configedit.h"
#include "image.h"
#include "layerout.h"
#include "manifest.h"
#include "newimage.h"
#include "record.h"
#include "signame.h"
#include "timestamp.h"
#include "unpack.h"
#include "util.h"
#include "banned.h"

#define BLOB_MAX (16 * 1024 * 1024)

/* ------------------------------------------------------------------ -c instructions */

/* The instructions -c takes: a Dockerfile's that change only the config.  This is not a
   Dockerfile parser (build/ has that): one instruction a -c, no continuation lines, no
   variable expansion, as docker commit --change reads them.  */
enum change_kind
{
  CH_ENV,
  CH_LABEL,
  CH_CMD,
  CH_ENTRYPOINT,
  CH_WORKDIR,
  CH_USER,
  CH_EXPOSE,
  CH_VOLUME,
  CH_STOPSIGNAL,
  CH_ONBUILD,
};

static const struct
{
  const char *name;
  enum change_kind kind;
} change_names[] = {
  { "ENV", CH_ENV },
  { "LABEL", CH_LABEL },
  { "CMD", CH_CMD },
  { "ENTRYPOINT", CH_ENTRYPOINT },
  { "WORKDIR", CH_WORKDIR },
  { "USER", CH_USER },
  { "EXPOSE", CH_EXPOSE },
  { "VOLUME", CH_VOLUME },
  { "STOPSIGNAL", CH_STOPSIGNAL },
  { "ONBUILD", CH_ONBUILD },
};

/* The instructions an ONBUILD trigger may be: the Dockerfile reference's, less FROM,
   MAINTAINER and ONBUILD itself, which it refuses there.  */
static const char *const trigger_names[] = {
  "ADD",   "ARG", "CMD",   "COPY",       "ENTRYPOINT", "ENV",    "EXPOSE",  "HEALTHCHECK",
  "LABEL", "RUN", "SHELL", "STOPSIGNAL", "USER",       "VOLUME", "WORKDIR",
};

static int
change_error (struct husk_error **err, const char *text, const char *reason)
{
  return husk_error_set (err, 0, "-c \"%s\": %s", text, reason);
}

/* Split TEXT into its keyword (*RET_KIND) and the rest, without the blanks around it.  */
static int
split_change (const char *text, const char *command, enum change_kind *ret_kind,
              const char **ret_rest, struct husk_error **err)
{
  const char *p = text;
  size_t n;

  while (isspace ((unsigned char) *p))
    p++;
  n = strcspn (p, " \t\r\n");
  for (size_t i = 0; i < sizeof (change_names) / sizeof (change_names[0]); i++)
    if (strlen (change_names[i].name) == n && strncasecmp (p, change_names[i].name, n) == 0)
      {
        p += n;
        while (isspace ((unsigned char) *p))
          p++;
        *ret_kind = change_names[i].kind;
        *ret_rest = p;
        return 0;
      }
  if (n == 0)
    return change_error (err, text, "no instruction");
  return husk_error_set (err, 0,
                         "-c \"%s\": husk %s takes ENV, LABEL, CMD, ENTRYPOINT, WORKDIR, "
                         "USER, EXPOSE, VOLUME, STOPSIGNAL and ONBUILD, not \"%.*s\"",
                         text, command, (int) n, p);
}

/* Shell-like words: blanks separate them, "..." and '...' quote, a backslash escapes the next
   character (not inside '...'); the quotes go.  */
static int
split_words (const char *s, char ***ret, const char **ret_reason)
{
  cleanup_strv char **v = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *w = husk_xmalloc (strlen (s) + 1);

  while (*s)
    {
      size_t o = 0;
      char quote = 0;

      while (isspace ((unsigned char) *s))
        s++;
      if (*s == '\0')
        break;
      while (*s && (quote || !isspace ((unsigned char) *s)))
        {
          if (quote && *s == quote)
            quote = 0;
          else if (!quote && (*s == '"' || *s == '\''))
            quote = *s;
          else if (*s == '\\' && quote != '\'' && s[1] != '\0')
            w[o++] = *++s;
          else
            w[o++] = *s;
          s++;
        }
      if (quote)
        {
          *ret_reason = "unterminated quote";
          return -1;
        }
      w[o] = '\0';
      husk_strv_append (&v, w);
    }
  *ret = TAKE_PTR (v);
  return 0;
}

/* ENV and LABEL: "K=V [K2=V2...]" or the old "K V" (the rest of the line is V).  Pairs are
   returned as "K=V".  */
static int
parse_pairs (const char *text, const char *rest, char ***ret, struct husk_error **err)
{
  size_t n = strcspn (rest, " \t\r\n");
  const char *reason = NULL;
  cleanup_strv char **words = NULL;

  if (*rest == '\0')
    return change_error (err, text, "needs NAME=VALUE");
  if (memchr (rest, '=', n) == NULL)
    {
      /* "K V": V is what follows the blanks after K, as it is.  */
      const char *v = rest + n;
      cleanup_free char *kv = NULL;
      while (isspace ((unsigned char) *v))
        v++;
      if (*v == '\0')
        return change_error (err, text, "needs NAME=VALUE or NAME VALUE");
      kv = husk_strdup_printf ("%.*s=%s", (int) n, rest, v);
      *ret = husk_xcalloc (1, sizeof (char *));
      husk_strv_append (ret, kv);
      return 0;
    }
  if (split_words (rest, &words, &reason) < 0)
    return change_error (err, text, reason);
  for (size_t i = 0; words[i]; i++)
    if (strchr (words[i], '=') == NULL || words[i][0] == '=')
      {
        cleanup_free char *msg = husk_strdup_printf ("\"%s\" is not NAME=VALUE", words[i]);
        return change_error (err, text, msg);
      }
  *ret = TAKE_PTR (words);
  return 0;
}

/* CMD, ENTRYPOINT: the exec form (a JSON array of strings) or the shell form (SHELL, the
   config's Shell or /bin/sh -c, then the text).  */
static char **
parse_command (const char *rest, char *const *shell)
{
  char **v;

  if (*rest == '[')
    {
      cleanup_json husk_json *j = husk_json_parse (rest, strlen (rest), NULL);
      if (j && husk_json_is_array (j))
        {
          v = husk_json_strv (j, "command", NULL);
          if (v)
            return v;
        }
      /* Not a JSON array of strings: docker runs it as a shell command.  */
    }
  v = husk_xcalloc (1, sizeof (char *));
  if (shell && shell[0])
    for (size_t i = 0; shell[i]; i++)
      husk_strv_append (&v, shell[i]);
  else
    {
      husk_strv_append (&v, "/bin/sh");
      husk_strv_append (&v, "-c");
    }
  husk_strv_append (&v, rest);
  return v;
}

/* EXPOSE's PORT[-PORT][/PROTO] as "PORT/PROTO" keys, appended to *RET.  */
static int
parse_port (const char *word, char ***ret, const char **ret_reason)
{
  cleanup_free char *w = husk_xstrdup (word);
  char *proto = strchr (w, '/');
  char *dash;
  uint64_t lo, hi;

  if (proto)
    {
      *proto++ = '\0';
      for (char *p = proto; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
        {
          *ret_reason = "a protocol is tcp, udp or sctp";
          return -1;
        }
    }
  dash = strchr (w, '-');
  if (dash)
    *dash = '\0';
  if (husk_parse_u64 (w, 65535, &lo) < 0 || lo == 0
      || (dash && (husk_parse_u64 (dash + 1, 65535, &hi) < 0 || hi < lo)))
    {
      *ret_reason = "a port is a number from 1 to 65535, or a range of them";
      return -1;
    }
  if (!dash)
    hi = lo;
  for (uint64_t p = lo; p <= hi; p++)
    {
      cleanup_free char *k = husk_strdup_printf ("%ju/%s", (uintmax_t) p, proto ? proto : "tcp");
      husk_strv_append (ret, k);
    }
  return 0;
}

/* ONBUILD's trigger REST: an instruction the Dockerfile reference allows there, with what
   follows it.  *RET gets the trigger as the builder records it (the text without the blanks
   around it).  */
static int
parse_trigger (const char *text, const char *rest, char **ret, struct husk_error **err)
{
  size_t n = strcspn (rest, " \t\r\n"), len = strlen (rest);

  if (n == 0)
    return change_error (err, text, "needs an instruction for the builds FROM the image");
  if (n == strlen ("ONBUILD") && strncasecmp (rest, "ONBUILD", n) == 0)
    return change_error (err, text, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if ((n == strlen ("FROM") && strncasecmp (rest, "FROM", n) == 0)
      || (n == strlen ("MAINTAINER") && strncasecmp (rest, "MAINTAINER", n) == 0))
    {
      cleanup_free char *msg
          = husk_strdup_printf ("%.*s isn't allowed as an ONBUILD trigger", (int) n, rest);
      for (size_t i = 0; i < n; i++)
        msg[i] = (char) toupper ((unsigned char) msg[i]);
      return change_error (err, text, msg);
    }
  for (size_t i = 0; i < sizeof (trigger_names) / sizeof (trigger_names[0]); i++)
    if (strlen (trigger_names[i]) == n && strncasecmp (rest, trigger_names[i], n) == 0)
      {
        while (len > n && isspace ((unsigned char) rest[len - 1]))
          len--;
        *ret = husk_strdup_printf ("%.*s", (int) len, rest);
        return 0;
      }
  {
    cleanup_free char *msg = husk_strdup_printf ("unknown instruction \"%.*s\"", (int) n, rest);
    return change_error (err, text, msg);
  }
}

/* Apply one -c instruction TEXT to E (NULL: only check it).  *CMD_GIVEN: a CMD came earlier
   in this commit's changes, which an ENTRYPOINT then keeps.  COMMAND names the command in
   messages.  */
static int
apply_change (struct husk_config_edit *e, const char *text, const char *command, bool *cmd_given,
              struct husk_error **err)
{
  enum change_kind kind = CH_ENV;
  const char *rest = "", *reason = NULL;

  if (split_change (text, command, &kind, &rest, err) < 0)
    return -1;
  switch (kind)
    {
    case CH_ENV:
    case CH_LABEL:
      {
        cleanup_strv char **pairs = NULL;
        if (parse_pairs (text, rest, &pairs, err) < 0)
          return -1;
        for (size_t i = 0; e && pairs[i]; i++)
          if (kind == CH_ENV)
            {
              husk_env_set (&e->env, pairs[i]);
              e->env_set = true;
            }
          else
            {
              char *eq = strchr (pairs[i], '=');
              *eq = '\0';
              husk_config_edit_set_label (e, pairs[i], eq + 1);
            }
        return 0;
      }
    case CH_CMD:
    case CH_ENTRYPOINT:
      {
        cleanup_strv char **shell = NULL;
        char **v;
        if (*rest == '\0')
          return change_error (err, text, "needs a command");
        if (e == NULL)
          return 0;
        shell = husk_json_strv (husk_json_get (husk_json_get (e->parent, "config"), "Shell"),
                                "Shell", NULL);
        v = parse_command (rest, shell);
        if (kind == CH_CMD)
          {
            husk_strv_free (e->cmd);
            e->cmd = v;
            e->cmd_set = true;
            *cmd_given = true;
          }
        else
          {
            husk_strv_free (e->entrypoint);
            e->entrypoint = v;
            e->entrypoint_set = true;
            if (!*cmd_given && e->cmd)
              {
                husk_strv_free (e->cmd);
                e->cmd = NULL;
                e->cmd_set = true;
              }
          }
        return 0;
      }
    case CH_WORKDIR:
      if (*rest == '\0')
        return change_error (err, text, "needs a directory");
      if (e)
        {
          char *w = *rest == '/'
                        ? husk_xstrdup (rest)
                        : husk_strdup_printf (
                            "%s/%s", e->workdir && strcmp (e->workdir, "/") != 0 ? e->workdir : "",
                            rest);
          free (e->workdir);
          e->workdir = w;
          e->workdir_set = true;
        }
      return 0;
    case CH_USER:
      if (*rest == '\0')
        return change_error (err, text, "needs a user");
      if (e)
        {
          free (e->user);
          e->user = husk_xstrdup (rest);
          e->user_set = true;
        }
      return 0;
    case CH_EXPOSE:
      {
        cleanup_strv char **words = NULL;
        cleanup_strv char **ports = husk_xcalloc (1, sizeof (char *));
        if (split_words (rest, &words, &reason) < 0)
          return change_error (err, text, reason);
        if (words[0] == NULL)
          return change_error (err, text, "needs a port");
        for (size_t i = 0; words[i]; i++)
          if (parse_port (words[i], &ports, &reason) < 0)
            return change_error (err, text, reason);
        for (size_t i = 0; e && ports[i]; i++)
          husk_config_edit_add_port (e, ports[i]);
        return 0;
      }
    case CH_VOLUME:
      {
        cleanup_strv char **paths = NULL;
        if (*rest == '[')
          {
            cleanup_json husk_json *j = husk_json_parse (rest, strlen (rest), NULL);
            paths = j && husk_json_is_array (j) ? husk_json_strv (j, "VOLUME", NULL) : NULL;
            if (paths == NULL)
              return change_error (err, text, "not a JSON array of strings");
          }
        else if (split_words (rest, &paths, &reason) < 0)
          return change_error (err, text, reason);
        if (paths[0] == NULL)
          return change_error (err, text, "needs a path");
        for (size_t i = 0; paths[i]; i++)
          if (paths[i][0] == '\0')
            return change_error (err, text, "an empty path");
        for (size_t i = 0; e && paths[i]; i++)
          husk_config_edit_add_volume (e, paths[i]);
        return 0;
      }
    case CH_STOPSIGNAL:
      {
        cleanup_error struct husk_error *serr = NULL;
        if (husk_signal_parse (rest, &serr) < 0)
          return change_error (err, text, serr->msg);
        if (e)
          {
            free (e->stop_signal);
            e->stop_signal = husk_xstrdup (rest);
            e->stop_signal_set = true;
          }
        return 0;
      }
    case CH_ONBUILD:
      {
        cleanup_free char *trigger = NULL;
        if (parse_trigger (text, rest, &trigger, err) < 0)
          return -1;
        if (e)
          husk_config_edit_add_onbuild (e, trigger);
        return 0;
      }
    }
  return change_error (err, text, "unknown instruction");
}

int
husk_commit_apply_changes (struct husk_config_edit *e, char *const *changes,
                           struct husk_error **err)
{
  bool cmd_given = false;

  for (size_t i = 0; changes && changes[i]; i++)
    if (apply_change (e, changes[i], "commit", &cmd_given, err) < 0)
      return -1;
  return 0;
}

int
husk_commit_check (const struct husk_commit_opts *o, struct husk_error **err)
{
  bool cmd_given = false;

  if (o->name)
    {
      cleanup_free char *full = husk_image_name_for_tag (o->name, err);
      if (full == NULL)
        return -1;
    }
  for (size_t i = 0; o->changes && o->changes[i]; i++)
    if (apply_change (NULL, o->changes[i], o->command ? o->command : "commit", &cmd_given, err) < 0)
      return -1;
  return 0;
}

/* ------------------------------------------------------------------ the container's config */

/* What the container runs, as docker's container config holds it: its Env without the
   HOSTNAME husk_create added (nor the PATH it added for an image that sets none), its command
   split back into Entrypoint and Cmd, its working directory and user.  The record keeps the
   command whole, so the split is inferred: the image's Entrypoint in front stays the
   Entrypoint (the arguments given were the Cmd), else the first word is (--entrypoint).
   Either way the image runs the same command line.  */
static void
from_container (struct husk_config_edit *e, const struct husk_ctr *c)
{
  const struct husk_container_spec *sp = &c->spec;
  cleanup_strv char **env = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *hostenv = husk_strdup_printf ("HOSTNAME=%s", sp->hostname ? sp->hostname : "");
  bool image_has_path = husk_env_has (e->env, "PATH");
  size_t n_ep = husk_strv_len (e->entrypoint);
  size_t n_args = husk_strv_len (sp->args);

  for (size_t i = 0; sp->env && sp->env[i]; i++)
    {
      if (strcmp (sp->env[i], hostenv) == 0
          || (!image_has_path && strcmp (sp->env[i], HUSK_DEFAULT_PATH) == 0))
        continue;
      husk_strv_append (&env, sp->env[i]);
    }
  if (!husk_strv_equal (env, e->env))
    {
      husk_strv_free (e->env);
      e->env = TAKE_PTR (env);
      e->env_set = true;
    }

  {
    cleanup_strv char **whole = husk_xcalloc (1, sizeof (char *));
    for (size_t i = 0; i < n_ep; i++)
      husk_strv_append (&whole, e->entrypoint[i]);
    for (size_t i = 0; e->cmd && e->cmd[i]; i++)
      husk_strv_append (&whole, e->cmd[i]);
    if (!husk_strv_equal (whole, sp->args))
      {
        bool keeps_ep = n_ep > 0 && n_args >= n_ep;
        for (size_t i = 0; keeps_ep && i < n_ep; i++)
          keeps_ep = strcmp (sp->args[i], e->entrypoint[i]) == 0;
        if (!keeps_ep && n_ep > 0 && n_args > 0)
          {
            husk_strv_free (e->entrypoint);
            e->entrypoint = husk_xcalloc (1, sizeof (char *));
            husk_strv_append (&e->entrypoint, sp->args[0]);
            e->entrypoint_set = true;
            n_ep = 1;
          }
        else if (!keeps_ep)
          n_ep = 0;
        husk_strv_free (e->cmd);
        e->cmd = NULL;
        if (n_args > n_ep)
          {
            e->cmd = husk_xcalloc (1, sizeof (char *));
            for (size_t i = n_ep; i < n_args; i++)
              husk_strv_append (&e->cmd, sp->args[i]);
          }
        e->cmd_set = true;
      }
  }

  {
    const char *was = e->workdir && *e->workdir ? e->workdir : "/";
    if (sp->cwd && strcmp (sp->cwd, was) != 0)
      {
        free (e->workdir);
        e->workdir = husk_xstrdup (sp->cwd);
        e->workdir_set = true;
      }
  }
  {
    const char *was = e->user ? e->user : "";
    const char *now = sp->user ? sp->user : "";
    if (strcmp (was, now) != 0)
      {
        free (e->user);
        e->user = *now ? husk_xstrdup (now) : NULL;
        e->user_set = true;
      }
  }
}

static char *
rfc3339_of (int64_t t)
{
  time_t tt = (time_t) t;
  struct tm tm;
  char buf[64];

  if (gmtime_r (&tt, &tm) == NULL || strftime (buf, sizeof (buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return husk_xstrdup ("1970-01-01T00:00:00Z");
  return husk_xstrdup (buf);
}

static char *
join_args (char *const *v)
{
  char *out = husk_xstrdup ("");
  for (size_t i = 0; v && v[i]; i++)
    {
      char *t = husk_strdup_printf ("%s%s%s", out, i ? " " : "", v[i]);
      free (out);
      out = t;
    }
  return out;
}

/* ------------------------------------------------------------------ the commit */

static const struct husk_image *
find_image (const struct husk_image_list *l, const char *id)
{
  const char *hex = husk_str_has_prefix (id, "sha256:") ? id + 7 : id;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].id, hex) == 0)
      return &l->items[i];
  return NULL;
}

int
husk_commit (struct husk_store *s, const struct husk_ctr *c, const struct husk_commit_opts *o,
             struct husk_commit_result *ret, struct husk_error **err)
{
  struct husk_image_list list = { 0 };
  struct husk_manifest m = { 0 };
  struct husk_config_edit e = { 0 };
  struct husk_layer_written lw = { 0 };
  struct husk_commit_result res = { 0 };
  cleanup_free char *name = NULL;
  cleanup_free char *mbuf = NULL, *cbuf = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *staged = NULL;
  cleanup_strv char **names = NULL;
  const struct husk_image *img;
  size_t mlen, clen, config_len, n_layers;
  bool locked = false;
  int rc = -1;

  if (o->name && (name = husk_image_name_for_tag (o->name, err)) == NULL)
    return -1;
  if (husk_images_load (s, &list, err) < 0)
    return -1;
  img = find_image (&list, c->image);
  if (img == NULL)
    {
      husk_error_set (err, 0, "image %s: not in the store", c->image);
      goto out;
    }
  if (husk_store_read_blob (s, img->manifest, BLOB_MAX, &mbuf, &mlen, err) < 0
      || husk_manifest_parse (mbuf, mlen, &m, err) < 0
      || husk_store_read_blob (s, img->config, BLOB_MAX, &cbuf, &clen, err) < 0
      || husk_config_edit_init (&e, cbuf, clen, err) < 0)
    {
      husk_error_wrap (err, "image %s", c->image);
      goto out;
    }
  n_layers = husk_strv_len (img->layers);
  if (m.n_layers != n_layers)
    {
      husk_error_set (err, 0, "image %s: its manifest has %zu layers, its record %zu", c->image,
                      m.n_layers, n_layers);
      goto out;
    }

  from_container (&e, c);
  if (husk_commit_apply_changes (&e, o->changes, err) < 0)
    goto out;

  {
    struct husk_layer_write_opts lo = {
      .mode = HUSK_LAYER_WRITE_COPY,
      .rootless = c->spec.idmap != NULL,
      .clamp_mtime = o->source_date_epoch,
      .gzip_level = 1,
      .parent_chain_id = n_layers ? img->layers[n_layers - 1] : NULL,
    };
    /* The store lock from the staging to the publishing: taking it sweeps tmp/.  */
    if (husk_store_lock (s, err) < 0)
      goto out;
    locked = true;
    if (husk_layer_write (s, AT_FDCWD, c->spec.upperdir, &lo, &lw, &staged, err) < 0)
      {
        husk_error_wrap (err, "layer");
        goto out;
      }
  }
  res.empty_layer = staged == NULL;
  res.skipped_devices = lw.skipped_devices;
  if (staged)
    e.diff_id = husk_xstrdup (lw.diff_id);
  if (o->source_date_epoch >= 0)
    e.created = rfc3339_of (o->source_date_epoch);
  else
    {
      char now[64];
      husk_now_rfc3339 (now, sizeof (now));
      e.created = husk_xstrdup (now);
    }
  e.author = o->author ? husk_xstrdup (o->author) : NULL;
  e.history_comment = o->message ? husk_xstrdup (o->message) : NULL;
  e.history_created_by = join_args (c->spec.args);
  config = husk_config_edit_render (&e, &config_len);

  names = husk_xcalloc (1, sizeof (char *));
  if (name)
    husk_strv_append (&names, name);
  {
    struct husk_new_image ni = {
      .config = config,
      .config_len = config_len,
      .layers = m.layers,
      .chain_ids = img->layers,
      .n_layers = n_layers,
      .staged = staged,
      .layer = &lw,
      .names = names,
      .created = e.created,
      .format = o->format,
    };
    int r = husk_image_publish_new (s, &ni, res.id, err);
    /* Published, or discarded by the failure: the staged path is gone either way.  */
    free (TAKE_PTR (staged));
    if (r < 0)
      goto out;
  }
  rc = 0;
out:
  if (staged)
    husk_layer_discard (s, staged);
  if (locked)
    husk_store_unlock (s);
  husk_config_edit_clear (&e);
  husk_manifest_clear (&m);
  husk_images_clear (&list);
  if (rc == 0)
    *ret = res;
  return rc;
}
