/* husk build's RUN steps: a container from the layers so far (engine/create.h), its mounts
   (secrets, caches, tmpfs) and their stubs, its upper directory moved out as the layer.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build-internal.h"
#include "cleanup.h"
#include "container.h"
#include "copyin.h"
#include "create.h"
#include "expand.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "record.h"
#include "rundir.h"
#include "safepath.h"
#include "store.h"
#include "unpack.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

/* ---------------------------------------------------------------- RUN  */

/* ---------------------------------------------------------------- RUN --mount  */

/* One RUN --mount, as BuildKit's Dockerfile frontend reads it: comma-separated KEY=VALUE
   (a bare boolean key is true).  */
struct run_mount
{
  char *type, *target, *id, *source, *from, *size;
  bool readonly, required;
  int mode; /* -1: the type's default.  */
  long uid, gid;
};

static void
run_mount_clear (struct run_mount *m)
{
  free (m->type);
  free (m->target);
  free (m->id);
  free (m->source);
  free (m->from);
  free (m->size);
}

static bool
parse_bool (const char *v, bool *ret)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *ret = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *ret = false;
  else
    return false;
  return true;
}

static int
parse_mount (const char *spec, struct run_mount *m, struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (spec);
  char *save = NULL;

  memset (m, 0, sizeof *m);
  m->mode = -1;
  m->uid = m->gid = -1;
  for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
    {
      char *v = strchr (kv, '=');
      char **slot = NULL;
      bool flag;
      if (v)
        *v++ = '\0';
      if (strcmp (kv, "type") == 0)
        slot = &m->type;
      else if (strcmp (kv, "target") == 0 || strcmp (kv, "dst") == 0
               || strcmp (kv, "destination") == 0)
        slot = &m->target;
      else if (strcmp (kv, "id") == 0)
        slot = &m->id;
      else if (strcmp (kv, "source") == 0 || strcmp (kv, "src") == 0)
        slot = &m->source;
      else if (strcmp (kv, "from") == 0)
        slot = &m->from;
      else if (strcmp (kv, "size") == 0)
        slot = &m->size;
      else if (strcmp (kv, "ro") == 0 || strcmp (kv, "readonly") == 0)
        {
          if (!parse_bool (v, &m->readonly))
            return husk_error_set (err, 0, "--mount \"%s\": %s: not a boolean", spec, kv);
        }
      else if (strcmp (kv, "rw") == 0 || strcmp (kv, "readwrite") == 0)
        {
          if (!parse_bool (v, &flag))
            return husk_error_set (err, 0, "--mount \"%s\": %s: not a boolean", spec, kv);
          m->readonly = !flag;
        }
      else if (strcmp (kv, "required") == 0)
        {
          if (!parse_bool (v, &m->required))
            return husk_error_set (err, 0, "--mount \"%s\": required: not a boolean", spec);
        }
      else if (strcmp (kv, "mode") == 0)
        {
          if (v == NULL || bld_parse_chmod (v, &m->mode) < 0)
            return husk_error_set (err, 0, "--mount \"%s\": mode: not an octal mode", spec);
        }
      else if (strcmp (kv, "uid") == 0 || strcmp (kv, "gid") == 0)
        {
          uint64_t n;
          if (v == NULL || husk_parse_u64 (v, UINT32_MAX - 1, &n) < 0)
            return husk_error_set (err, 0, "--mount \"%s\": %s: not an id", spec, kv);
          *(kv[0] == 'u' ? &m->uid : &m->gid) = (long) n;
        }
      else if (strcmp (kv, "sharing") == 0)
        {
          if (v == NULL
              || (strcmp (v, "shared") != 0 && strcmp (v, "private") != 0
                  && strcmp (v, "locked") != 0))
            return husk_error_set (
                err, 0, "--mount \"%s\": sharing: expected shared, private or locked", spec);
        }
      else
        return husk_error_set (err, 0, "--mount \"%s\": unknown key \"%s\"", spec, kv);
      if (slot)
        {
          if (v == NULL)
            return husk_error_set (err, 0, "--mount \"%s\": %s needs a value", spec, kv);
          free (*slot);
          *slot = husk_xstrdup (v);
        }
    }
  if (m->type == NULL)
    m->type = husk_xstrdup ("bind");
  return 0;
}

/* The value of secret ID from --secret: allocated, or NULL when it was not given.  */
static int
secret_value (struct build *b, const char *id, char **ret, size_t *ret_len, struct husk_error **err)
{
  for (size_t i = 0; b->o->secrets && b->o->secrets[i]; i++)
    {
      cleanup_free char *copy = husk_xstrdup (b->o->secrets[i]);
      const char *sid = NULL, *src = NULL, *env = NULL;
      char *save = NULL;
      for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
        {
          char *v = strchr (kv, '=');
          if (v == NULL)
            return husk_error_set (err, 0, "--secret \"%s\": expected KEY=VALUE pairs",
                                   b->o->secrets[i]);
          *v++ = '\0';
          if (strcmp (kv, "id") == 0)
            sid = v;
          else if (strcmp (kv, "src") == 0 || strcmp (kv, "source") == 0)
            src = v;
          else if (strcmp (kv, "env") == 0)
            env = v;
          else if (strcmp (kv, "type") != 0)
            return husk_error_set (err, 0, "--secret \"%s\": unknown key \"%s\"", b->o->secrets[i],
                                   kv);
        }
      if (sid == NULL || strcmp (sid, id) != 0)
        continue;
      if (src)
        {
          if (husk_read_file_at (AT_FDCWD, src, 500 * 1024, ret, ret_len, err) < 0)
            return husk_error_wrap (err, "--secret id=%s", id);
          return 0;
        }
      env = env ? env : sid;
      if (getenv (env) == NULL)
        return husk_error_set (err, 0, "--secret id=%s: the environment has no %s", id, env);
      *ret = husk_xstrdup (getenv (env));
      *ret_len = strlen (*ret);
      return 0;
    }
  *ret = NULL;
  return 0;
}

/* Whether PATH (absolute) is in the image LOWERS (base first) makes: the topmost layer that
   has an entry for it decides, and a whiteout there means no.  (Opaque directories above it
   are not looked at: a mount stub kept by mistake is an empty file or directory.)  */
static bool
in_layers (char *const *lowers, const char *path)
{
  for (size_t i = husk_strv_len (lowers); i-- > 0;)
    {
      cleanup_free char *p = husk_strdup_printf ("%s%s", lowers[i], path);
      struct stat st;
      if (lstat (p, &st) == 0)
        return !(S_ISCHR (st.st_mode) && st.st_rdev == 0);
    }
  return false;
}

/* The files of the secrets SPECS mount, into SECRETDIR (named by the mount's index, as
   prepare_mounts gave them to the container).  */
static int
write_secrets (struct stage_exec *x, char **specs, const char *secretdir, struct husk_error **err)
{
  for (size_t i = 0; specs[i]; i++)
    {
      struct run_mount m;
      cleanup_free char *value = NULL, *file = NULL;
      size_t len = 0;
      int r = 0;

      if (parse_mount (specs[i], &m, err) < 0)
        return -1;
      if (strcmp (m.type, "secret") == 0)
        {
          if (m.id == NULL)
            m.id = husk_xstrdup (strrchr (m.target, '/') ? strrchr (m.target, '/') + 1 : m.target);
          r = secret_value (x->b, m.id, &value, &len, err);
          if (r == 0 && value)
            {
              file = husk_strdup_printf ("%s/%zu", secretdir, i);
              r = husk_write_file_replace_at (AT_FDCWD, file, value, len,
                                              m.mode >= 0 ? (mode_t) m.mode : 0400, err);
              explicit_bzero (value, len);
            }
        }
      run_mount_clear (&m);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* The RUN's mounts: SPECS (--mount values, expanded) into MOUNTS for the container, STUBS for
   the layer write, and TEXT for the key.  A secret's file is written into SECRETDIR.  */
static int
prepare_mounts (struct stage_exec *x, char **specs, char *const *lowers, const char *secretdir,
                struct husk_mount **ret_mounts, size_t *ret_n, char ***stubs, char ***copied_up,
                char **text, struct husk_error **err)
{
  struct build *b = x->b;
  struct husk_mount *mounts = husk_xcalloc (husk_strv_len (specs) + 1, sizeof *mounts);
  size_t n = 0;

  for (size_t i = 0; specs[i]; i++)
    {
      struct run_mount m;
      cleanup_free char *target = NULL;
      struct husk_mount *hm = &mounts[n];

      if (parse_mount (specs[i], &m, err) < 0)
        goto fail;
      if (strcmp (m.type, "secret") == 0)
        {
          cleanup_free char *value = NULL, *file = NULL;
          size_t len = 0;
          if (m.id == NULL && m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a secret needs id= or target=", specs[i]);
              goto fail_m;
            }
          if (m.id == NULL)
            m.id = husk_xstrdup (strrchr (m.target, '/') ? strrchr (m.target, '/') + 1 : m.target);
          target = m.target ? bld_abs_path (x->r->cfg.config.working_dir, m.target)
                            : husk_strdup_printf ("/run/secrets/%s", m.id);
          if (m.uid > 0 || m.gid > 0)
            {
              husk_error_set (err, 0, "--mount \"%s\": a secret's uid and gid: not supported yet",
                              specs[i]);
              goto fail_m;
            }
          if (secret_value (b, m.id, &value, &len, err) < 0)
            goto fail_m;
          if (value == NULL)
            {
              if (m.required)
                {
                  husk_error_set (err, 0, "secret \"%s\": required, and no --secret gives it",
                                  m.id);
                  goto fail_m;
                }
              run_mount_clear (&m);
              continue; /* BuildKit's rule: an optional secret not given is not mounted.  */
            }
          file = husk_strdup_printf ("%s/%zu", secretdir, i); /* write_secrets writes it.  */
          explicit_bzero (value, len);
          hm->kind = HUSK_MOUNT_BIND;
          hm->source = TAKE_PTR (file);
          hm->readonly = true;
          bld_append (text, " secret:id=%s,target=%s", m.id, target);
        }
      else if (strcmp (m.type, "cache") == 0)
        {
          char d[HUSK_DIGEST_LEN + 1];
          cleanup_free char *dir = NULL;
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a cache needs target=", specs[i]);
              goto fail_m;
            }
          if (m.from || m.source)
            {
              husk_error_set (err, 0, "--mount \"%s\": a cache from=: not supported yet", specs[i]);
              goto fail_m;
            }
          target = bld_abs_path (x->r->cfg.config.working_dir, m.target);
          if (m.id == NULL)
            m.id = husk_xstrdup (target);
          if ((m.uid > 0 || m.gid > 0) && b->o->map)
            {
              husk_error_set (err, 0,
                              "--mount \"%s\": a rootless cache's uid and gid: not "
                              "supported yet",
                              specs[i]);
              goto fail_m;
            }
          /* The cache's directory is the store's, named by a hash of its id: no path from the
             Dockerfile reaches the host (BuildKit's CVE-2024-23651 was a race on such a
             path).  */
          husk_sha256_buf (m.id, strlen (m.id), d);
          dir = husk_strdup_printf ("%s/build-cache/mounts/%s", husk_store_root (b->s),
                                    husk_digest_hex (d));
          {
            cleanup_free char *parent
                = husk_strdup_printf ("%s/build-cache/mounts", husk_store_root (b->s));
            cleanup_free char *top = husk_strdup_printf ("%s/build-cache", husk_store_root (b->s));
            mkdir (top, 0700);
            mkdir (parent, 0700);
          }
          if (mkdir (dir, m.mode >= 0 ? (mode_t) m.mode : 0755) == 0)
            {
              if (m.mode >= 0)
                chmod (dir, (mode_t) m.mode);
              if ((m.uid > 0 || m.gid > 0)
                  && chown (dir, m.uid > 0 ? (uid_t) m.uid : 0, m.gid > 0 ? (gid_t) m.gid : 0) < 0)
                {
                  husk_error_set (err, errno, "cache mount \"%s\"", target);
                  goto fail_m;
                }
            }
          else if (errno != EEXIST)
            {
              husk_error_set (err, errno, "cache mount \"%s\"", target);
              goto fail_m;
            }
          hm->kind = HUSK_MOUNT_BIND;
          hm->source = TAKE_PTR (dir);
          hm->readonly = m.readonly;
          bld_append (text, " cache:id=%s,target=%s,ro=%d", m.id, target, m.readonly);
        }
      else if (strcmp (m.type, "tmpfs") == 0)
        {
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a tmpfs needs target=", specs[i]);
              goto fail_m;
            }
          target = bld_abs_path (x->r->cfg.config.working_dir, m.target);
          hm->kind = HUSK_MOUNT_TMPFS;
          hm->options = m.size ? husk_strdup_printf ("size=%s", m.size) : NULL;
          bld_append (text, " tmpfs:target=%s,size=%s", target, m.size ? m.size : "");
        }
      else
        {
          husk_error_set (
              err, 0, "--mount=type=%s: not supported yet (secret, cache and tmpfs are)", m.type);
          goto fail_m;
        }
      hm->dest = husk_xstrdup (target);
      n++;
      /* The mount point and the directories above it that the image does not have are made
         for the run only.  */
      {
        cleanup_free char *p = husk_xstrdup (target);
        char *slash;
        bool made = true;
        while (strcmp (p, "/") != 0)
          {
            made = made && !in_layers (lowers, p);
            husk_strv_append (made ? stubs : copied_up, p + 1);
            slash = strrchr (p, '/');
            if (slash == p)
              break;
            *slash = '\0';
          }
      }
      run_mount_clear (&m);
      continue;
    fail_m:
      run_mount_clear (&m);
      goto fail;
    }
  *ret_mounts = mounts;
  *ret_n = n;
  return 0;
fail:
  for (size_t k = 0; k < n; k++)
    {
      free ((char *) mounts[k].source);
      free ((char *) mounts[k].dest);
      free ((char *) mounts[k].options);
    }
  free (mounts);
  return -1;
}

int
bld_do_run (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  struct build *b = x->b;
  const char *net = husk_df_flag (in, "network");
  enum husk_network network = b->o->network;
  cleanup_strv char **argv = NULL, **env = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *text = NULL, *created_by = NULL, *argv_json = NULL, *upper = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  struct husk_image_config icfg = { 0 };
  struct written_shared *ws = NULL;
  cleanup_error struct husk_error *after_err = NULL;
  char key[HUSK_DIGEST_LEN + 1];
  int status = 0, rc = -1;
  int saved_out = -1, saved_err = -1;

  cleanup_strv char **mount_specs = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **lowers = NULL, **stubs = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **copied_up = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *secretdir = NULL, *mount_text = husk_xstrdup ("");
  struct husk_mount *mounts = NULL;
  size_t n_mounts = 0;

  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, "mount") == 0)
      {
        cleanup_free char *v = NULL;
        if (in->flags[i].value == NULL || bld_expand_word (x, in->flags[i].value, &v, err) < 0)
          return in->flags[i].value ? -1 : husk_error_set (err, 0, "--mount needs a value");
        husk_strv_append (&mount_specs, v);
      }
  if (in->n_heredocs > 0)
    {
      /* RUN <<EOF ... EOF: the heredoc is the script SHELL runs.  */
      if (in->exec_form || in->n_args != 1 || husk_df_source_heredoc (in, in->args[0]) == NULL)
        return husk_error_set (err, 0, "this heredoc form: not supported yet");
    }
  if (net)
    {
      if (strcmp (net, "none") == 0 || strcmp (net, "default") == 0)
        network = HUSK_NETWORK_NONE;
      else if (strcmp (net, "host") == 0)
        network = HUSK_NETWORK_HOST;
      else
        return husk_error_set (err, 0, "--network \"%s\": expected none, host or default", net);
    }
  if (in->n_heredocs > 0)
    {
      char *const *shell = x->r->cfg.config.shell && x->r->cfg.config.shell[0]
                               ? x->r->cfg.config.shell
                               : bld_default_shell;
      argv = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; shell[i]; i++)
        husk_strv_append (&argv, shell[i]);
      husk_strv_append (&argv, in->heredocs[0].content);
    }
  else
    argv = bld_command_of (x, in);
  /* The build arguments in scope with a value are the command's environment, unless ENV
     set the same name; they are part of the key, never of the history.  */
  for (size_t i = 0; x->args && x->args[i]; i++)
    if (strchr (x->args[i], '=') != NULL)
      {
        size_t k = strcspn (x->args[i], "=");
        cleanup_free char *name = husk_xmalloc (k + 1);
        memcpy (name, x->args[i], k);
        name[k] = '\0';
        if (!husk_env_has (x->r->cfg.config.env, name))
          husk_strv_append (&env, x->args[i]);
      }
  argv_json = bld_json_strv (argv);
  if (mount_specs[0])
    {
      /* The secrets' files live in the run directory (a tmpfs where systemd makes
         XDG_RUNTIME_DIR, /run for root) for this step only.  */
      cleanup_free char *rundir = NULL;
      if (x->r->n_layers == 0)
        return husk_error_set (err, 0, "a stage FROM scratch has nothing to run yet");
      if (husk_rundir (&rundir, err) < 0)
        return -1;
      secretdir = husk_strdup_printf ("%s/build-secrets-XXXXXX", rundir);
      if (mkdtemp (secretdir) == NULL)
        {
          husk_error_set (err, errno, "build: a directory for the secrets");
          free (TAKE_PTR (secretdir));
          return -1;
        }
      lowers = bld_lowerdirs (b, x->r, err);
      if (lowers == NULL
          || prepare_mounts (x, mount_specs, lowers, secretdir, &mounts, &n_mounts, &stubs,
                             &copied_up, &mount_text, err)
                 < 0)
        {
          husk_rm_rf_at (AT_FDCWD, secretdir, NULL);
          return -1;
        }
    }
  {
    cleanup_free char *env_json = bld_json_strv (env);
    text = husk_strdup_printf ("RUN %s env=%s network=%d mounts=%s", argv_json, env_json,
                               (int) network, mount_text);
  }
  /* The history shows the command as it runs, shell and all (as docker's does), never the
     build arguments' values.  */
  if (in->exec_form)
    created_by = husk_strdup_printf ("RUN %s", argv_json);
  else
    {
      created_by = husk_xstrdup ("RUN");
      for (size_t i = 0; argv[i]; i++)
        bld_append (&created_by, " %s", argv[i]);
    }
  bld_build_key (x->r->key, text, key);
  x->ex.text = text;
  x->ex.env = env;
  if (bld_step_cached (x, key, created_by))
    {
      rc = 0;
      goto out;
    }
  if (x->r->n_layers == 0)
    {
      husk_error_set (err, 0, "a stage FROM scratch has nothing to run yet");
      goto out;
    }

  {
    cleanup_strv char **layers = husk_xcalloc (1, sizeof (char *));
    struct husk_create_opts co = {
      .image = "husk-build",
      .args = argv,
      .entrypoint = "",
      .env = env,
      .network = network,
      .mounts = mounts,
      .n_mounts = n_mounts,
      .durable = false,
    };
    for (size_t i = 0; i < x->r->n_layers; i++)
      husk_strv_append (&layers, x->r->layers[i].chain_id);
    icfg.env = x->r->cfg.config.env;
    icfg.workdir = x->r->cfg.config.working_dir;
    icfg.user = x->r->cfg.config.user;
    /* The secrets' files are written only now, after a re-execution could have happened
       (that would have left them behind).  */
    if (secretdir)
      rmdir (secretdir); /* Empty yet: nothing is left behind by a re-execution.  */
    if (bld_before_run (b, err) < 0)
      goto out;
    if (secretdir && (mkdir (secretdir, 0700) < 0 && errno != EEXIST))
      {
        husk_error_set (err, errno, "build: a directory for the secrets");
        goto out;
      }
    if (secretdir && write_secrets (x, mount_specs, secretdir, err) < 0)
      goto out;
    if (husk_create_from_layers (b->s, &co, x->r->image_id ? x->r->image_id : "", layers, &icfg,
                                 &ctr, err)
        < 0)
      goto out;
  }
  ws = bld_shared_new ();
  if (ws == NULL)
    {
      husk_error_set (err, errno, "build: mmap");
      husk_ctr_remove (b->s, ctr, NULL);
      goto out;
    }
  upper = husk_strdup_printf ("containers/%s/upper", ctr->id);
  struct husk_ctr_rm rm = { .store = b->s, .id = ctr->id, .name = ctr->name };
  struct write_job job = {
    .b = b,
    .dir = upper,
    .parent_chain = x->r->layers[x->r->n_layers - 1].chain_id,
    .out = ws,
    .rm = &rm,
    .stubs = stubs,
    .copied_up = copied_up,
    .lowers = lowers,
  };
  ctr->spec.after_fn = bld_write_layer;
  ctr->spec.after_arg = &job;
  ctr->spec.after_err = &after_err;
  if (b->o->progress == NULL)
    {
      /* -q: the steps' output goes nowhere.  */
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      saved_out = dup (STDOUT_FILENO);
      saved_err = dup (STDERR_FILENO);
      if (null >= 0)
        {
          dup2 (null, STDOUT_FILENO);
          dup2 (null, STDERR_FILENO);
          close (null);
        }
    }
  else
    fflush (b->o->progress);
  rc = husk_container_run (&ctr->spec, NULL, NULL, &status, err);
  if (saved_out >= 0)
    {
      dup2 (saved_out, STDOUT_FILENO);
      close (saved_out);
    }
  if (saved_err >= 0)
    {
      dup2 (saved_err, STDERR_FILENO);
      close (saved_err);
    }
  husk_ctr_remove_rundir (ctr);
  if (rc < 0)
    {
      husk_ctr_remove (b->s, ctr, NULL);
      goto out;
    }
  rc = -1;
  if (status != 0)
    {
      /* Its layer was published by then: it stays, unused, for image prune to take.  */
      husk_error_set (err, 0, "%s: exited with status %d%s", argv_json, status,
                      b->o->map && !husk_idmap_has_range (b->o->map)
                          ? " (without a subordinate id range in /etc/subuid and /etc/subgid, "
                            "uid and gid 0 are the only ids in the build's containers)"
                          : "");
      goto out;
    }
  if (after_err)
    {
      husk_error_set (err, 0, "the step's layer: %s", after_err->msg);
      goto out;
    }
  if (bld_step_done (x, key, ws, created_by, err) < 0)
    goto out;
  rc = 0;
out:
  if (ws)
    munmap (ws, sizeof *ws);
  if (secretdir)
    husk_rm_rf_at (AT_FDCWD, secretdir, NULL);
  for (size_t i = 0; i < n_mounts; i++)
    {
      free ((char *) mounts[i].source);
      free ((char *) mounts[i].dest);
      free ((char *) mounts[i].options);
    }
  free (mounts);
  return rc;
}
