/* husk build: the stages, their steps, the cache, the image (build.h).  */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "buildcache.h"
#include "cleanup.h"
#include "container.h"
#include "context.h"
#include "copyin.h"
#include "create.h"
#include "dockerfile.h"
#include "expand.h"
#include "ignore.h"
#include "image.h"
#include "imageconfig.h"
#include "newimage.h"
#include "json.h"
#include "layerout.h"
#include "manifest.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "safepath.h"
#include "store.h"
#include "timestamp.h"
#include "unpack.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

#define DOCKERFILE_MAX (16 * 1024 * 1024)
#define CONFIG_MAX (8 * 1024 * 1024)

/* Docker's default SHELL.  */
static char *const default_shell[] = { "/bin/sh", "-c", NULL };

/* KEY = sha256("husk build step v1" | PREV | TEXT), each part length-prefixed; PREV may be
   "" for a stage's first key (buildcache.h says what goes into TEXT).  */
static void
key_part (struct husk_sha256 *h, const char *s)
{
  char n[32];
  int k = snprintf (n, sizeof n, "%zu:", strlen (s));

  husk_sha256_update (h, n, k);
  husk_sha256_update (h, s, strlen (s));
}

static void
build_key (const char *prev, const char *text, char key[HUSK_DIGEST_LEN + 1])
{
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();

  key_part (h, "husk build step v1");
  key_part (h, prev ? prev : "");
  key_part (h, text);
  husk_sha256_final (h, key);
}

/* One layer of the image being built: what the manifest says of it and where it is.  */
struct layer
{
  char *chain_id;
  char *digest;
  char *media_type;
  int64_t size;
};

struct stage_result
{
  bool built;
  bool prebuilt; /* A child built it in parallel (prebuild_parallel): its steps are cached
                    even under --no-cache.  */
  struct husk_oci_config cfg;
  struct layer *layers;
  size_t n_layers;
  char key[HUSK_DIGEST_LEN + 1];
  char *image_id; /* The base image's "sha256:HEX" (what RUN containers' records name).  */
};

/* How far a build printed before it re-executed itself from husk's sealed copy (before_run):
   the build that starts again stays quiet up to there.  */
#define SHOWN_ENV "_HUSK_BUILD_SHOWN"

struct build
{
  unsigned shown; /* Steps the build before the re-execution printed (SHOWN_ENV).  */
  struct husk_store *s;
  const struct husk_build_opts *o;
  struct husk_dockerfile *df;
  const char *df_name;
  struct husk_ignore *ig;
  struct husk_ctx *ctx;
  char **global_args; /* "NAME=VALUE", or "NAME" declared without a value.  */
  char **build_args;  /* --build-arg, resolved: "NAME=VALUE" (NAME alone is left out).  */
  bool *build_arg_used;
  struct stage_result *stages;
  bool *needed;
  unsigned step, n_steps;
  char created[64];
};

/* A stage being built.  */
struct stage_exec
{
  struct build *b;
  const struct husk_df_stage *st;
  struct stage_result *r;
  char **args;  /* The stage's ARGs: "NAME=VALUE" or "NAME".  */
  bool cmd_set; /* CMD given in this stage (ENTRYPOINT then keeps it).  */
};

static void
layers_clear (struct layer *l, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (l[i].chain_id);
      free (l[i].digest);
      free (l[i].media_type);
    }
  free (l);
}

static void
layer_add (struct stage_result *r, const char *chain_id, const char *digest, const char *media_type,
           int64_t size)
{
  r->layers = husk_xrealloc (r->layers, (r->n_layers + 1) * sizeof *r->layers);
  r->layers[r->n_layers].chain_id = husk_xstrdup (chain_id);
  r->layers[r->n_layers].digest = husk_xstrdup (digest);
  r->layers[r->n_layers].media_type = husk_xstrdup (media_type);
  r->layers[r->n_layers].size = size;
  r->n_layers++;
}

/* The value of NAME in V ("NAME=VALUE" entries; "NAME" alone is declared, unset).  */
static const char *
kv_get (char *const *v, const char *name, bool *declared)
{
  size_t n = strlen (name);
  const char *found = NULL;

  for (size_t i = 0; v && v[i]; i++)
    if (strncmp (v[i], name, n) == 0 && (v[i][n] == '=' || v[i][n] == '\0'))
      {
        if (declared)
          *declared = true;
        found = v[i][n] == '=' ? v[i] + n + 1 : NULL;
      }
  return found;
}

/* Set NAME to VALUE (NULL: declared, no value) in *V, replacing an earlier NAME.  */
static void
kv_set (char ***v, const char *name, const char *value)
{
  size_t n = strlen (name);
  char *e = value ? husk_strdup_printf ("%s=%s", name, value) : husk_xstrdup (name);

  for (size_t i = 0; *v && (*v)[i]; i++)
    if (strncmp ((*v)[i], name, n) == 0 && ((*v)[i][n] == '=' || (*v)[i][n] == '\0'))
      {
        free ((*v)[i]);
        (*v)[i] = e;
        return;
      }
  husk_strv_append (v, e);
  free (e);
}

/* A build argument the user gave: the value, marking it used.  */
static const char *
build_arg (struct build *b, const char *name)
{
  size_t n = strlen (name);

  for (size_t i = husk_strv_len (b->build_args); i-- > 0;)
    if (strncmp (b->build_args[i], name, n) == 0 && b->build_args[i][n] == '=')
      {
        b->build_arg_used[i] = true;
        return b->build_args[i] + n + 1;
      }
  return NULL;
}

/* Lookup for FROM lines: the global ARGs.  */
static bool
lookup_global (const char *name, const char **ret, void *data)
{
  struct build *b = data;
  const char *v = kv_get (b->global_args, name, NULL);

  if (v == NULL)
    return false;
  *ret = v;
  return true;
}

/* Lookup inside a stage: ENV wins over ARG (the Dockerfile reference, "Using ARG
   variables").  */
static bool
lookup_stage (const char *name, const char **ret, void *data)
{
  struct stage_exec *x = data;
  const char *v = kv_get (x->r->cfg.config.env, name, NULL);

  if (v == NULL)
    v = kv_get (x->args, name, NULL);
  if (v == NULL)
    return false;
  *ret = v;
  return true;
}

static void say (struct build *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
say (struct build *b, const char *fmt, ...)
{
  va_list ap;

  if (b->o->progress == NULL)
    return;
  /* After a re-execution: what the first run printed is not printed again (its last step's
     STEP line was, its outcome was not).  */
  if (b->step < b->shown || (b->step == b->shown && strncmp (fmt, "STEP", 4) == 0))
    return;
  va_start (ap, fmt);
  vfprintf (b->o->progress, fmt, ap);
  va_end (ap);
  fputc ('\n', b->o->progress);
  fflush (b->o->progress);
}

/* "Dockerfile:LINE: KEYWORD: " before *ERR's message.  */
static int
step_error (struct build *b, const struct husk_df_instr *in, struct husk_error **err)
{
  return husk_error_wrap (err, "%s:%u: %s", b->df_name, in->line, in->keyword);
}

static int
expand_word (struct stage_exec *x, const char *word, char **ret, struct husk_error **err)
{
  return husk_expand_word (word, x->b->df->escape, lookup_stage, x, ret, NULL, err);
}

/* ---------------------------------------------------------------- base images  */

/* A deep copy of a config (its members are all owned: write it and read it back).  */
static int
config_copy (const struct husk_oci_config *from, struct husk_oci_config *to,
             struct husk_error **err)
{
  size_t len;
  cleanup_free char *buf = husk_oci_config_write (from, &len);

  return husk_oci_config_parse (buf, len, to, err);
}

static void
scratch_config (struct husk_oci_config *c)
{
  memset (c, 0, sizeof *c);
  c->architecture = husk_xstrdup (husk_host_arch ());
  c->os = husk_xstrdup ("linux");
  c->rootfs_type = husk_xstrdup ("layers");
  c->diff_ids = husk_xcalloc (1, sizeof (char *));
}

/* --pull's rule for the image REF: pulled when the store lacks it (missing), every time
   (always), or never.  */
static int
pull_if_needed (struct build *b, const char *ref, struct husk_error **err)
{
  bool have = false;

  if (b->o->pull == HUSK_BUILD_PULL_NEVER || b->o->pull_fn == NULL)
    return 0;
  if (b->o->pull == HUSK_BUILD_PULL_MISSING)
    {
      struct husk_image_list list = { 0 };
      cleanup_error struct husk_error *e = NULL;
      if (husk_images_load (b->s, &list, err) < 0)
        return -1;
      have = husk_images_lookup (&list, ref, &e) != NULL;
      husk_images_clear (&list);
    }
  if (have)
    return 0;
  if (b->o->progress)
    fflush (b->o->progress);
  return b->o->pull_fn (b->o->pull_arg, ref, err);
}

/* The image REF from the store: its config and layers into R.  */
static int
base_from_image (struct build *b, const char *ref, struct stage_result *r, struct husk_error **err)
{
  struct husk_image_list list = { 0 };
  const struct husk_image *img;
  cleanup_free char *cbuf = NULL, *mbuf = NULL;
  struct husk_manifest m = { 0 };
  size_t clen, mlen, n;
  int rc = -1;

  if (pull_if_needed (b, ref, err) < 0 || husk_images_load (b->s, &list, err) < 0)
    return -1;
  img = husk_images_lookup (&list, ref, err);
  if (img == NULL)
    goto out;
  if (husk_store_read_blob (b->s, img->config, CONFIG_MAX, &cbuf, &clen, err) < 0
      || husk_oci_config_parse (cbuf, clen, &r->cfg, err) < 0
      || husk_store_read_blob (b->s, img->manifest, CONFIG_MAX, &mbuf, &mlen, err) < 0
      || husk_manifest_parse (mbuf, mlen, &m, err) < 0)
    {
      husk_error_wrap (err, "image \"%s\"", ref);
      goto out;
    }
  n = husk_strv_len (img->layers);
  if (m.n_layers != n || husk_strv_len (r->cfg.diff_ids) != n)
    {
      husk_error_set (err, 0,
                      "image \"%s\": its manifest, config and record disagree on its layers", ref);
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    layer_add (r, img->layers[i], m.layers[i].digest,
               m.layers[i].media_type ? m.layers[i].media_type : HUSK_MT_OCI_LAYER_GZIP,
               m.layers[i].size);
  r->image_id = husk_strdup_printf ("sha256:%s", img->id);
  {
    cleanup_free char *text = husk_strdup_printf ("FROM image sha256:%s", img->id);
    build_key ("", text, r->key);
  }
  rc = 0;
out:
  husk_manifest_clear (&m);
  husk_images_clear (&list);
  return rc;
}

/* ---------------------------------------------------------------- layers out  */

/* What a layer write in a child (a user namespace) hands back: shared memory.  */
struct written_shared
{
  struct husk_layer_written w;
  bool empty; /* Nothing changed: no layer.  */
  bool done;
};

struct write_job
{
  struct build *b;
  const char *dir; /* Relative to the store's root.  */
  const char *parent_chain;
  struct written_shared *out;
  struct husk_ctr_rm *rm; /* Also remove this container's files (RUN), or NULL.  */
  char *const *stubs;     /* Paths (relative to DIR, deepest first) the RUN's mounts made
                             as mount points where the image had nothing: taken out again,
                             when still empty, before the layer is written.  */
  char *const *copied_up; /* The directories above those that the image has (deepest first):
                             overlayfs copied them up to make the mount points; one that is
                             left empty, and not opaque, is taken out too, so the layer does
                             not carry it with new times.  */
  char *const *lowers;    /* The image's layers, to tell a copied-up directory whose mode or
                             owner the step changed (it stays).  */
};

/* Write the step's directory out as a layer and publish it, under the store lock (what is
   staged under tmp/ is made only while it is held: husk_store_lock sweeps the rest).  Runs
   where the files' owners are mapped: a child in the user namespace, or husk itself as root;
   a child shares the lock's descriptor, and releases what it took before it exits.  */
static int
write_layer (void *arg, struct husk_error **err)
{
  struct write_job *j = arg;
  struct husk_layer_write_opts wo = {
    .mode = HUSK_LAYER_WRITE_MOVE,
    .rootless = j->b->o->map != NULL,
    .clamp_mtime = j->b->o->timestamp,
    .gzip_level = 1,
    .parent_chain_id = j->parent_chain,
  };
  cleanup_free char *staged = NULL;
  int r;

  for (size_t i = 0; j->stubs && j->stubs[i]; i++)
    {
      cleanup_free char *p = husk_strdup_printf ("%s/%s", j->dir, j->stubs[i]);
      struct stat st;
      if (fstatat (husk_store_rootfd (j->b->s), p, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        unlinkat (husk_store_rootfd (j->b->s), p, AT_REMOVEDIR); /* Only when empty.  */
      else if (S_ISREG (st.st_mode) && st.st_size == 0)
        unlinkat (husk_store_rootfd (j->b->s), p, 0);
    }
  for (size_t i = 0; j->copied_up && j->copied_up[i]; i++)
    {
      cleanup_free char *p = husk_strdup_printf ("%s/%s", j->dir, j->copied_up[i]);
      cleanup_close int fd = openat (husk_store_rootfd (j->b->s), p,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      struct stat up, low = { 0 };
      char v;
      bool found = false;
      if (fd < 0 || fgetxattr (fd, "trusted.overlay.opaque", &v, 1) >= 0
          || fgetxattr (fd, "user.overlay.opaque", &v, 1) >= 0 || fstat (fd, &up) < 0)
        break;
      for (size_t k = husk_strv_len (j->lowers); k-- > 0 && !found;)
        {
          cleanup_free char *lp = husk_strdup_printf ("%s/%s", j->lowers[k], j->copied_up[i]);
          found = lstat (lp, &low) == 0;
        }
      if (!found || up.st_mode != low.st_mode || up.st_uid != low.st_uid || up.st_gid != low.st_gid)
        break; /* The step changed it: it stays in the layer.  */
      if (unlinkat (husk_store_rootfd (j->b->s), p, AT_REMOVEDIR) < 0)
        break; /* Not empty: the step changed something in it.  */
    }
  if (husk_store_lock (j->b->s, err) < 0)
    return -1;
  r = husk_layer_write (j->b->s, husk_store_rootfd (j->b->s), j->dir, &wo, &j->out->w, &staged,
                        err);
  if (r == 0 && staged)
    {
      struct husk_layer_desc d = {
        .digest = j->out->w.digest,
        .size = j->out->w.size,
        .media_type = HUSK_MT_OCI_LAYER_GZIP,
        .diff_id = j->out->w.diff_id,
        .chain_id = j->out->w.chain_id,
      };
      r = husk_layer_publish (j->b->s, staged, &d, err);
      if (r < 0)
        husk_layer_discard (j->b->s, staged);
    }
  husk_store_unlock (j->b->s);
  if (r == 0)
    {
      j->out->empty = staged == NULL;
      j->out->done = true;
    }
  if (j->rm)
    {
      cleanup_error struct husk_error *rmerr = NULL;
      husk_ctr_remove_files (j->rm, &rmerr);
    }
  return r;
}

static struct written_shared *
shared_new (void)
{
  void *p = mmap (NULL, sizeof (struct written_shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Record what a step's layer write made (published already) in the cache under KEY, and
   as C.  */
static int
step_record (struct stage_exec *x, const char *key, const struct written_shared *ws,
             struct husk_build_cached *c, struct husk_error **err)
{
  memset (c, 0, sizeof *c);
  c->empty = ws->empty;
  if (!c->empty)
    {
      memcpy (c->chain_id, ws->w.chain_id, sizeof c->chain_id);
      memcpy (c->diff_id, ws->w.diff_id, sizeof c->diff_id);
      memcpy (c->digest, ws->w.digest, sizeof c->digest);
      c->size = ws->w.size;
      snprintf (c->media_type, sizeof c->media_type, "%s", HUSK_MT_OCI_LAYER_GZIP);
    }
  {
    cleanup_strv char **chains = husk_xcalloc (1, sizeof (char *));
    cleanup_strv char **digests = husk_xcalloc (1, sizeof (char *));
    struct husk_build_stack stack;
    for (size_t i = 0; i < x->r->n_layers; i++)
      {
        husk_strv_append (&chains, x->r->layers[i].chain_id);
        husk_strv_append (&digests, x->r->layers[i].digest);
      }
    stack = (struct husk_build_stack){ chains, digests, x->r->n_layers };
    return husk_build_cache_put (x->b->s, key, c, &stack, err);
  }
}

/* Apply a layer step's result C (new or cached) to R.  */
static void
step_apply (struct stage_exec *x, const char *key, const struct husk_build_cached *c,
            const char *created_by)
{
  struct stage_result *r = x->r;

  if (!c->empty)
    {
      layer_add (r, c->chain_id, c->digest, c->media_type, c->size);
      husk_strv_append (&r->cfg.diff_ids, c->diff_id);
    }
  husk_oci_config_add_history (&r->cfg, x->b->created, created_by, NULL, NULL, c->empty);
  /* The next key depends on what this step made, not only on what it was asked: a step that
     ran again and made something else (a RUN is not always repeatable) has later steps run
     again on it, never a cached layer that was made on top of the other result.  */
  if (c->empty)
    memcpy (r->key, key, HUSK_DIGEST_LEN + 1);
  else
    {
      cleanup_free char *t = husk_strdup_printf ("layer %s", c->chain_id);
      build_key (key, t, r->key);
    }
}

/* A layer step whose key KEY has an entry: its layer (or none) without running it.  True on
   a hit.  */
static bool
step_cached (struct stage_exec *x, const char *key, const char *created_by)
{
  struct husk_build_cached c;

  if ((x->b->o->no_cache && !x->r->prebuilt) || !husk_build_cache_get (x->b->s, key, &c))
    return false;
  if (!c.empty)
    {
      /* The layer must have been made on the layer below it now.  */
      char chain[HUSK_DIGEST_LEN + 1];
      husk_chain_id (x->r->n_layers ? x->r->layers[x->r->n_layers - 1].chain_id : NULL, c.diff_id,
                     chain);
      if (strcmp (chain, c.chain_id) != 0)
        return false;
    }
  say (x->b, "--> %s %s", x->r->prebuilt ? "Built in parallel" : "Using cache",
       c.empty ? "(no change)" : husk_digest_hex (c.chain_id));
  step_apply (x, key, &c, created_by);
  return true;
}

/* A layer step that ran: WS is what its layer write made (published already).  */
static int
step_done (struct stage_exec *x, const char *key, const struct written_shared *ws,
           const char *created_by, struct husk_error **err)
{
  struct husk_build_cached c;

  if (!ws->done)
    return husk_error_set (err, 0, "the step's layer was not written");
  if (step_record (x, key, ws, &c, err) < 0)
    return -1;
  step_apply (x, key, &c, created_by);
  say (x->b, "--> %s", c.empty ? "(no change)" : husk_digest_hex (c.chain_id));
  return 0;
}

/* *S += the formatted text.  */
static void append (char **s, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
append (char **s, const char *fmt, ...)
{
  va_list ap;
  char *more, *next;

  va_start (ap, fmt);
  if (vasprintf (&more, fmt, ap) < 0)
    abort ();
  va_end (ap);
  next = husk_strdup_printf ("%s%s", *s ? *s : "", more);
  free (more);
  free (*s);
  *s = next;
}

static char **
lowerdirs (struct build *b, const struct stage_result *r, struct husk_error **err)
{
  char **v = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; i < r->n_layers; i++)
    {
      cleanup_free char *d = husk_store_layer_dir (b->s, r->layers[i].chain_id, err);
      if (d == NULL)
        {
          husk_strv_free (v);
          return NULL;
        }
      husk_strv_append (&v, d);
    }
  return v;
}

/* The mode of the top layer's root, which a new layer's root keeps.  */
static mode_t
top_mode (struct build *b, const struct stage_result *r)
{
  struct stat st;

  if (r->n_layers > 0)
    {
      cleanup_free char *rel = husk_store_layer_relpath (r->layers[r->n_layers - 1].chain_id);
      if (fstatat (husk_store_rootfd (b->s), rel, &st, 0) == 0)
        return st.st_mode & 07777;
    }
  return 0755;
}

/* ---------------------------------------------------------------- COPY  */

static enum husk_ctx_filter
ignore_filter (void *arg, const char *path, bool is_dir)
{
  struct husk_ignore *ig = arg;

  if (!husk_ignore_match (ig, path))
    return HUSK_CTX_INCLUDE;
  if (is_dir && husk_ignore_must_walk (ig, path))
    return HUSK_CTX_EXCLUDE_WALK;
  return HUSK_CTX_EXCLUDE;
}

static int
parse_chmod (const char *s, int *ret)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 8);
  if (errno || *s == '\0' || *end != '\0' || v < 0 || v > 07777)
    return -1;
  *ret = (int) v;
  return 0;
}

static int build_stage (struct build *b, size_t i, struct husk_error **err);
static char *json_strv (char *const *v);

/* Before a container runs: husk from its sealed copy (before_run), re-executing the whole
   build if it is not yet; the new one is told how far this one printed.  */
static int
before_run (struct build *b, struct husk_error **err)
{
  char n[32];

  if (b->o->before_run == NULL)
    return 0;
  snprintf (n, sizeof n, "%u", b->step);
  setenv (SHOWN_ENV, n, 1);
  if (b->o->progress)
    fflush (b->o->progress);
  fflush (stdout);
  if (b->o->before_run (b->o->before_run_arg, err) < 0)
    return -1;
  unsetenv (SHOWN_ENV);
  return 0;
}

/* ADD's rule: a local file that is a tar archive, plain or compressed with gzip, bzip2, xz or
   zstd, is extracted; what it is is read from its first bytes, as Docker does (its name does
   not count).  */
static bool
is_archive (int ctxfd, const char *path)
{
  unsigned char h[512];
  ssize_t n;
  int fd = husk_open_in_root (ctxfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0,
                              HUSK_RESOLVE_NO_SYMLINKS);

  if (fd < 0)
    return false;
  n = husk_read_all (fd, h, sizeof h);
  close (fd);
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
    return true; /* gzip */
  if (n >= 3 && memcmp (h, "BZh", 3) == 0)
    return true;
  if (n >= 6
      && memcmp (h,
                 "\xfd"
                 "7zXZ\0",
                 6)
             == 0)
    return true;
  if (n >= 4 && memcmp (h, "\x28\xb5\x2f\xfd", 4) == 0)
    return true; /* zstd */
  return n >= 262 && memcmp (h + 257, "ustar", 5) == 0;
}
static char *abs_path (const char *base, const char *p);

/* COPY --from=FROM: a stage before this one (by name or number), else an image in the store.
   *RET_LAYERS its layers' chain IDs, *RET_ID what names its content in the step's key (the
   stage's last key, the image's ID).  */
static int
resolve_from (struct stage_exec *x, const char *from, char ***ret_layers, char **ret_id,
              struct husk_error **err)
{
  struct build *b = x->b;
  const struct husk_df_stage *ref = husk_df_stage_find (b->df, from);
  char **layers = husk_xcalloc (1, sizeof (char *));

  if (ref && ref->index < x->st->index)
    {
      struct stage_result *r = &b->stages[ref->index];
      if (!r->built && build_stage (b, ref->index, err) < 0)
        {
          husk_strv_free (layers);
          return -1;
        }
      for (size_t i = 0; i < r->n_layers; i++)
        husk_strv_append (&layers, r->layers[i].chain_id);
      *ret_id = husk_strdup_printf ("stage %s", r->key);
    }
  else if (ref)
    {
      husk_strv_free (layers);
      return husk_error_set (err, 0, "--from=%s: a stage can only copy from a stage before it",
                             from);
    }
  else
    {
      struct husk_image_list list = { 0 };
      const struct husk_image *img;
      if (pull_if_needed (b, from, err) < 0 || husk_images_load (b->s, &list, err) < 0)
        {
          husk_strv_free (layers);
          return -1;
        }
      img = husk_images_lookup (&list, from, err);
      if (img == NULL)
        {
          husk_images_clear (&list);
          husk_strv_free (layers);
          return husk_error_wrap (err, "--from=%s: no such stage, and the image", from);
        }
      for (size_t i = 0; img->layers[i]; i++)
        husk_strv_append (&layers, img->layers[i]);
      *ret_id = husk_strdup_printf ("image sha256:%s", img->id);
      husk_images_clear (&list);
    }
  *ret_layers = layers;
  return 0;
}

static int
do_copy (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  struct build *b = x->b;
  const char *from = husk_df_flag (in, "from");
  const char *chown_raw = husk_df_flag (in, "chown");
  const char *chmod_raw = husk_df_flag (in, "chmod");
  cleanup_free char *chown = NULL, *chmod_s = NULL, *dest = NULL, *text = NULL;
  cleanup_free char *tmp = NULL, *upper = NULL, *work = NULL, *mnt = NULL, *abs = NULL;
  cleanup_free char *created_by = NULL;
  cleanup_strv char **srcs = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **lowers = NULL;
  struct husk_ctx_selection sel = { 0 };
  struct written_shared *ws = NULL;
  char key[HUSK_DIGEST_LEN + 1];
  int chmod_v = -1, rc = -1;
  bool locked = false;
  size_t n = in->n_args;

  cleanup_strv char **from_layers = NULL, **from_lowers = NULL;
  cleanup_free bool *extract = NULL;
  cleanup_free char *extract_text = NULL;
  cleanup_free char *from_id = NULL, *from_upper = NULL, *from_work = NULL, *from_mnt = NULL;

  if (from && resolve_from (x, from, &from_layers, &from_id, err) < 0)
    return -1;
  if (husk_df_flag (in, "parents") || husk_df_flag (in, "exclude"))
    return husk_error_set (err, 0, "--parents and --exclude: not supported yet");
  if (in->kind == HUSK_DF_ADD && (from || husk_df_flag (in, "checksum")))
    return husk_error_set (err, 0, "--from and --checksum: not supported yet");
  if (n < 2)
    return husk_error_set (err, 0, "needs a source and a destination");
  for (size_t i = 0; i + 1 < n; i++)
    {
      cleanup_free char *w = NULL;
      if (husk_df_source_heredoc (in, in->args[i]))
        return husk_error_set (err, 0, "a heredoc source: not supported yet");
      if (expand_word (x, in->args[i], &w, err) < 0)
        return -1;
      husk_strv_append (&srcs, w);
    }
  if (expand_word (x, in->args[n - 1], &dest, err) < 0)
    return -1;
  if (chown_raw && expand_word (x, chown_raw, &chown, err) < 0)
    return -1;
  if (chmod_raw)
    {
      if (expand_word (x, chmod_raw, &chmod_s, err) < 0)
        return -1;
      if (parse_chmod (chmod_s, &chmod_v) < 0)
        return husk_error_set (err, 0, "--chmod \"%s\": not an octal mode", chmod_s);
    }
  /* From the context: what the sources hold is hashed now.  From a stage or an image: its
     key names its content, and the sources are selected by the copy itself.  */
  for (size_t i = 0; in->kind == HUSK_DF_ADD && srcs[i]; i++)
    if (strstr (srcs[i], "://") || husk_str_has_prefix (srcs[i], "git@"))
      return husk_error_set (err, 0, "\"%s\": sources from URLs and git: not supported yet",
                             srcs[i]);
  if (from == NULL && husk_ctx_select (b->ctx, srcs, n - 1, &sel, err) < 0)
    return -1;
  if (in->kind == HUSK_DF_ADD)
    {
      extract = husk_xcalloc (sel.n_sources + 1, sizeof (bool));
      for (size_t i = 0; i < sel.n_sources; i++)
        if (!sel.source_is_dir[i] && is_archive (husk_ctx_dirfd (b->ctx), sel.sources[i]))
          {
            if (chown)
              {
                husk_ctx_selection_clear (&sel);
                return husk_error_set (err, 0,
                                       "--chown of an extracted archive: not supported yet");
              }
            extract[i] = true;
            append (&extract_text, " %zu", i);
          }
    }

  created_by = from ? husk_strdup_printf ("COPY --from=%s", from) : husk_xstrdup (in->keyword);
  if (chown)
    append (&created_by, " --chown=%s", chown);
  if (chmod_s)
    append (&created_by, " --chmod=%s", chmod_s);
  for (size_t i = 0; srcs[i]; i++)
    append (&created_by, " %s", srcs[i]);
  append (&created_by, " %s", dest);
  {
    cleanup_free char *srcs_json = json_strv (srcs);
    text = husk_strdup_printf (
        "%s chown=%s chmod=%d workdir=%s dest=%s n=%zu sources=%s from=%s extract=%s", in->keyword,
        chown ? chown : "", chmod_v,
        x->r->cfg.config.working_dir ? x->r->cfg.config.working_dir : "/", dest, n - 1,
        from ? srcs_json : sel.hash, from ? from_id : "context", extract_text ? extract_text : "");
  }
  build_key (x->r->key, text, key);
  if (step_cached (x, key, created_by))
    {
      husk_ctx_selection_clear (&sel);
      return 0;
    }

  /* tmp/ is only worked in under the store lock (husk_store_lock sweeps it): held from here
     to the end of the step, and shared by the copy's child, which publishes the layer.  */
  if (husk_store_lock (b->s, err) < 0)
    goto out;
  locked = true;
  if (husk_store_mkdtemp (b->s, "build-copy-", &tmp, err) < 0)
    goto out;
  upper = husk_strdup_printf ("%s/upper", tmp);
  work = husk_strdup_printf ("%s/work", tmp);
  mnt = husk_strdup_printf ("%s/mnt", tmp);
  if (mkdirat (husk_store_rootfd (b->s), upper, 0755) < 0
      || fchmodat (husk_store_rootfd (b->s), upper, top_mode (b, x->r), 0) < 0
      || mkdirat (husk_store_rootfd (b->s), work, 0700) < 0
      || mkdirat (husk_store_rootfd (b->s), mnt, 0700) < 0)
    {
      husk_error_set (err, errno, "build: the step's directories");
      goto out;
    }
  lowers = lowerdirs (b, x->r, err);
  if (lowers == NULL)
    goto out;
  if (from)
    {
      from_lowers = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; from_layers[i]; i++)
        {
          cleanup_free char *d = husk_store_layer_dir (b->s, from_layers[i], err);
          if (d == NULL)
            goto out;
          husk_strv_append (&from_lowers, d);
        }
      from_upper = husk_strdup_printf ("%s/%s/from-upper", husk_store_root (b->s), tmp);
      from_work = husk_strdup_printf ("%s/%s/from-work", husk_store_root (b->s), tmp);
      from_mnt = husk_strdup_printf ("%s/%s/from-mnt", husk_store_root (b->s), tmp);
      if (mkdir (from_upper, 0755) < 0 || mkdir (from_work, 0700) < 0 || mkdir (from_mnt, 0700) < 0)
        {
          husk_error_set (err, errno, "build: the step's directories");
          goto out;
        }
    }
  ws = shared_new ();
  if (ws == NULL)
    {
      husk_error_set (err, errno, "build: mmap");
      goto out;
    }
  {
    cleanup_free char *a_upper = husk_strdup_printf ("%s/%s", husk_store_root (b->s), upper);
    cleanup_free char *a_work = husk_strdup_printf ("%s/%s", husk_store_root (b->s), work);
    cleanup_free char *a_mnt = husk_strdup_printf ("%s/%s", husk_store_root (b->s), mnt);
    struct write_job job = {
      .b = b,
      .dir = upper,
      .parent_chain = x->r->n_layers ? x->r->layers[x->r->n_layers - 1].chain_id : NULL,
      .out = ws,
    };
    struct husk_build_copy req = {
      .ctx = b->ctx,
      .sel = &sel,
      .extract = extract,
      .from_lowerdirs = from_lowers,
      .from_sources = srcs,
      .from_upper = from_upper,
      .from_work = from_work,
      .from_mountpoint = from_mnt,
      .n_written = n - 1,
      .lowerdirs = lowers,
      .upper = a_upper,
      .work = a_work,
      .mountpoint = a_mnt,
      .map = b->o->map,
      .dest = dest,
      .workdir = x->r->cfg.config.working_dir,
      .chown = chown,
      .chmod = chmod_v,
      .after = write_layer,
      .after_arg = &job,
    };
    if (husk_build_copy_run (&req, err) < 0)
      goto out;
  }
  if (step_done (x, key, ws, created_by, err) < 0)
    goto out;
  rc = 0;
out:
  if (tmp)
    husk_layer_discard (b->s, tmp);
  if (locked)
    husk_store_unlock (b->s);
  if (ws)
    munmap (ws, sizeof *ws);
  husk_ctx_selection_clear (&sel);
  return rc;
}

/* ---------------------------------------------------------------- RUN  */

/* JSON array text of V: what a key and a history entry say of an exec form.  */
static char *
json_strv (char *const *v)
{
  husk_jgen *g = husk_jgen_new (false);
  const char *buf;
  size_t len;
  char *out;

  husk_jgen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
  buf = husk_jgen_buf (g, &len);
  out = husk_xmalloc (len + 1);
  memcpy (out, buf, len);
  out[len] = '\0';
  husk_jgen_free (g);
  return out;
}

/* The command of a RUN, CMD or ENTRYPOINT: the exec form's words, or SHELL + the line.  */
static char **
command_of (struct stage_exec *x, const struct husk_df_instr *in)
{
  char **v = husk_xcalloc (1, sizeof (char *));
  char *const *shell = x->r->cfg.config.shell && x->r->cfg.config.shell[0] ? x->r->cfg.config.shell
                                                                           : default_shell;

  if (in->exec_form)
    {
      for (size_t i = 0; i < in->n_args; i++)
        husk_strv_append (&v, in->args[i]);
      return v;
    }
  for (size_t i = 0; shell[i]; i++)
    husk_strv_append (&v, shell[i]);
  husk_strv_append (&v, in->n_args ? in->args[0] : "");
  return v;
}

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
          if (v == NULL || parse_chmod (v, &m->mode) < 0)
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
          target = m.target ? abs_path (x->r->cfg.config.working_dir, m.target)
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
          append (text, " secret:id=%s,target=%s", m.id, target);
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
          target = abs_path (x->r->cfg.config.working_dir, m.target);
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
          append (text, " cache:id=%s,target=%s,ro=%d", m.id, target, m.readonly);
        }
      else if (strcmp (m.type, "tmpfs") == 0)
        {
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a tmpfs needs target=", specs[i]);
              goto fail_m;
            }
          target = abs_path (x->r->cfg.config.working_dir, m.target);
          hm->kind = HUSK_MOUNT_TMPFS;
          hm->options = m.size ? husk_strdup_printf ("size=%s", m.size) : NULL;
          append (text, " tmpfs:target=%s,size=%s", target, m.size ? m.size : "");
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

static int
do_run (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
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
        if (in->flags[i].value == NULL || expand_word (x, in->flags[i].value, &v, err) < 0)
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
                               : default_shell;
      argv = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; shell[i]; i++)
        husk_strv_append (&argv, shell[i]);
      husk_strv_append (&argv, in->heredocs[0].content);
    }
  else
    argv = command_of (x, in);
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
  argv_json = json_strv (argv);
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
      lowers = lowerdirs (b, x->r, err);
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
    cleanup_free char *env_json = json_strv (env);
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
        append (&created_by, " %s", argv[i]);
    }
  build_key (x->r->key, text, key);
  if (step_cached (x, key, created_by))
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
    if (before_run (b, err) < 0)
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
  ws = shared_new ();
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
  ctr->spec.after_fn = write_layer;
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
  if (step_done (x, key, ws, created_by, err) < 0)
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

/* ---------------------------------------------------------------- the other instructions  */

/* A metadata step: its key, and its history entry (empty_layer).  */
static void
meta_done (struct stage_exec *x, const char *text, bool history)
{
  char key[HUSK_DIGEST_LEN + 1];

  build_key (x->r->key, text, key);
  memcpy (x->r->key, key, sizeof key);
  if (history)
    husk_oci_config_add_history (&x->r->cfg, x->b->created, text, NULL, NULL, true);
}

static void
strmap_set (char ***m, const char *key, const char *value)
{
  for (size_t i = 0; *m && (*m)[i] && (*m)[i + 1]; i += 2)
    if (strcmp ((*m)[i], key) == 0)
      {
        free ((*m)[i + 1]);
        (*m)[i + 1] = husk_xstrdup (value);
        return;
      }
  husk_strv_append (m, key);
  husk_strv_append (m, value);
}

static void
set_add (char ***v, const char *s)
{
  if (!husk_strv_contains (*v, s))
    husk_strv_append (v, s);
}

/* P cleaned, relative to BASE (absolute, or NULL for "/") when it is not absolute.  */
static char *
abs_path (const char *base, const char *p)
{
  cleanup_free char *joined
      = p[0] == '/' ? husk_xstrdup (p) : husk_strdup_printf ("%s/%s", base ? base : "/", p);

  return husk_path_clean (joined, true);
}

static int
do_kvs (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  cleanup_free char *text = husk_xstrdup (in->keyword);

  for (size_t i = 0; i < in->n_kvs; i++)
    {
      cleanup_free char *k = NULL, *v = NULL;
      if (expand_word (x, in->kvs[i].key, &k, err) < 0
          || (in->kvs[i].value && expand_word (x, in->kvs[i].value, &v, err) < 0))
        return -1;
      if (in->kind == HUSK_DF_ENV)
        kv_set (&x->r->cfg.config.env, k, v ? v : "");
      else
        strmap_set (&x->r->cfg.config.labels, k, v ? v : "");
      append (&text, " %s=%s", k, v ? v : "");
    }
  meta_done (x, text, true);
  return 0;
}

static int
do_arg (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  cleanup_free char *text = husk_xstrdup ("ARG");

  for (size_t i = 0; i < in->n_kvs; i++)
    {
      const char *name = in->kvs[i].key;
      const char *given = build_arg (x->b, name);
      cleanup_free char *def = NULL;
      const char *value = given;

      if (value == NULL && in->kvs[i].value)
        {
          if (expand_word (x, in->kvs[i].value, &def, err) < 0)
            return -1;
          value = def;
        }
      if (value == NULL)
        value = kv_get (x->b->global_args, name, NULL); /* ARG NAME: the global default.  */
      kv_set (&x->args, name, value);
      append (&text, " %s%s%s", name, value ? "=" : "", value ? value : "");
    }
  /* ARG leaves no history entry (BuildKit's images have none for it).  */
  meta_done (x, text, false);
  return 0;
}

static int
do_instr (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  struct husk_runconfig *rc = &x->r->cfg.config;
  cleanup_free char *w = NULL, *text = NULL;

  switch (in->kind)
    {
    case HUSK_DF_RUN:
      return do_run (x, in, err);
    case HUSK_DF_COPY:
    case HUSK_DF_ADD:
      return do_copy (x, in, err);
    case HUSK_DF_ENV:
    case HUSK_DF_LABEL:
      return do_kvs (x, in, err);
    case HUSK_DF_ARG:
      return do_arg (x, in, err);
    case HUSK_DF_WORKDIR:
      if (expand_word (x, in->args[0], &w, err) < 0)
        return -1;
      {
        char *wd = abs_path (rc->working_dir, w); /* Relative to the WORKDIR before.  */
        free (rc->working_dir);
        rc->working_dir = wd;
      }
      text = husk_strdup_printf ("WORKDIR %s", rc->working_dir);
      break;
    case HUSK_DF_USER:
      if (expand_word (x, in->args[0], &w, err) < 0)
        return -1;
      free (rc->user);
      rc->user = husk_xstrdup (w);
      text = husk_strdup_printf ("USER %s", w);
      break;
    case HUSK_DF_STOPSIGNAL:
      if (expand_word (x, in->args[0], &w, err) < 0)
        return -1;
      free (rc->stop_signal);
      rc->stop_signal = husk_xstrdup (w);
      text = husk_strdup_printf ("STOPSIGNAL %s", w);
      break;
    case HUSK_DF_EXPOSE:
      text = husk_xstrdup ("EXPOSE");
      for (size_t i = 0; i < in->n_args; i++)
        {
          cleanup_strv char **words = NULL;
          if (husk_expand_words (in->args[i], x->b->df->escape, lookup_stage, x, &words, NULL, err)
              < 0)
            return -1;
          for (size_t k = 0; words[k]; k++)
            {
              cleanup_free char *port = strchr (words[k], '/')
                                            ? husk_xstrdup (words[k])
                                            : husk_strdup_printf ("%s/tcp", words[k]);
              set_add (&rc->exposed_ports, port);
              append (&text, " %s", port);
            }
        }
      break;
    case HUSK_DF_VOLUME:
      text = husk_xstrdup ("VOLUME");
      for (size_t i = 0; i < in->n_args; i++)
        {
          cleanup_free char *v = NULL;
          if (expand_word (x, in->args[i], &v, err) < 0)
            return -1;
          set_add (&rc->volumes, v);
          append (&text, " %s", v);
        }
      break;
    case HUSK_DF_CMD:
    case HUSK_DF_ENTRYPOINT:
      {
        char **cmd = command_of (x, in);
        cleanup_free char *j = json_strv (cmd);
        if (in->kind == HUSK_DF_CMD)
          {
            husk_strv_free (rc->cmd);
            rc->cmd = cmd;
            x->cmd_set = true;
          }
        else
          {
            husk_strv_free (rc->entrypoint);
            rc->entrypoint = cmd;
            /* The reference: ENTRYPOINT resets a CMD the base image set.  */
            if (!x->cmd_set)
              {
                husk_strv_free (rc->cmd);
                rc->cmd = NULL;
              }
          }
        text = husk_strdup_printf ("%s %s", in->keyword, j);
        break;
      }
    case HUSK_DF_SHELL:
      husk_strv_free (rc->shell);
      rc->shell = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; i < in->n_args; i++)
        husk_strv_append (&rc->shell, in->args[i]);
      {
        cleanup_free char *j = json_strv (rc->shell);
        text = husk_strdup_printf ("SHELL %s", j);
      }
      break;
    case HUSK_DF_HEALTHCHECK:
      husk_strv_free (rc->healthcheck.test);
      memset (&rc->healthcheck, 0, sizeof rc->healthcheck);
      rc->healthcheck.test = husk_xcalloc (1, sizeof (char *));
      if (in->health.none)
        husk_strv_append (&rc->healthcheck.test, "NONE");
      else
        {
          husk_strv_append (&rc->healthcheck.test, in->exec_form ? "CMD" : "CMD-SHELL");
          for (size_t i = 0; i < in->n_args; i++)
            husk_strv_append (&rc->healthcheck.test, in->args[i]);
          rc->healthcheck.interval = in->health.interval;
          rc->healthcheck.timeout = in->health.timeout;
          rc->healthcheck.start_period = in->health.start_period;
          rc->healthcheck.start_interval = in->health.start_interval;
          rc->healthcheck.retries = in->health.retries;
        }
      {
        cleanup_free char *j = json_strv (rc->healthcheck.test);
        text = husk_strdup_printf ("HEALTHCHECK %s", j);
      }
      break;
    case HUSK_DF_ONBUILD:
      husk_strv_append (&rc->on_build, in->trigger);
      text = husk_strdup_printf ("ONBUILD %s", in->trigger);
      break;
    case HUSK_DF_MAINTAINER:
      free (x->r->cfg.author);
      x->r->cfg.author = husk_xstrdup (in->args[0]);
      text = husk_strdup_printf ("MAINTAINER %s", in->args[0]);
      break;
    case HUSK_DF_FROM:
      return husk_error_set (err, 0, "FROM inside a stage");
    }
  meta_done (x, text, true);
  return 0;
}

/* ---------------------------------------------------------------- stages  */

static int
stage_base (struct build *b, size_t i, struct stage_result *r, struct husk_error **err)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  const struct husk_df_stage *ref;
  cleanup_free char *base = NULL;

  if (husk_expand_word (st->base, b->df->escape, lookup_global, b, &base, NULL, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM", b->df_name, st->from.line);
  if (strcmp (base, "scratch") == 0)
    {
      scratch_config (&r->cfg);
      build_key ("", "FROM scratch", r->key);
      return 0;
    }
  ref = husk_df_stage_find (b->df, base);
  if (ref && ref->index < i && ref->name != NULL)
    {
      struct stage_result *from = &b->stages[ref->index];
      if (!from->built && build_stage (b, ref->index, err) < 0)
        return -1;
      if (config_copy (&from->cfg, &r->cfg, err) < 0)
        return -1;
      for (size_t k = 0; k < from->n_layers; k++)
        layer_add (r, from->layers[k].chain_id, from->layers[k].digest, from->layers[k].media_type,
                   from->layers[k].size);
      r->image_id = from->image_id ? husk_xstrdup (from->image_id) : NULL;
      memcpy (r->key, from->key, sizeof r->key);
      return 0;
    }
  if (base_from_image (b, base, r, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM %s", b->df_name, st->from.line, base);
  return 0;
}

/* The base image's ONBUILD triggers, run right after FROM, before the stage's own
   instructions (the Dockerfile reference, ONBUILD); the new image does not keep them (they
   are for the image's direct children only).  Each is parsed as a Dockerfile line; an error
   names the trigger.  */
static int
run_triggers (struct stage_exec *x, struct husk_error **err)
{
  struct build *b = x->b;
  cleanup_strv char **triggers = x->r->cfg.config.on_build;
  cleanup_free char *text = husk_xstrdup ("FROM scratch\n");
  cleanup_dockerfile struct husk_dockerfile *df = NULL;

  x->r->cfg.config.on_build = NULL;
  if (triggers == NULL || triggers[0] == NULL)
    return 0;
  for (size_t i = 0; triggers[i]; i++)
    append (&text, "%s\n", triggers[i]);
  if (husk_dockerfile_parse (text, strlen (text), "ONBUILD", &df, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM: the base image's trigger", b->df_name,
                            x->st->from.line);
  for (size_t i = 0; i < df->stages[0].n_instrs; i++)
    {
      const struct husk_df_instr *in = &df->stages[0].instrs[i];
      say (b, "ONBUILD %s", in->original);
      if (do_instr (x, in, err) < 0)
        return husk_error_wrap (err, "%s:%u: FROM: ONBUILD %s", b->df_name, x->st->from.line,
                                in->original);
    }
  return 0;
}

static int
build_stage (struct build *b, size_t i, struct husk_error **err)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  struct stage_result *r = &b->stages[i];
  struct stage_exec x = { .b = b, .st = st, .r = r };
  int rc = -1;

  b->step++;
  say (b, "STEP %u/%u: %s", b->step, b->n_steps, st->from.original);
  if (stage_base (b, i, r, err) < 0)
    goto out;
  if (b->o->timestamp >= 0)
    {
      /* A reproducible build's layers have clamped times: not those of an unclamped one.  */
      cleanup_free char *t = husk_strdup_printf ("timestamp %lld", (long long) b->o->timestamp);
      char key[HUSK_DIGEST_LEN + 1];
      build_key (r->key, t, key);
      memcpy (r->key, key, sizeof key);
    }
  if (run_triggers (&x, err) < 0)
    goto out;
  for (size_t k = 0; k < st->n_instrs; k++)
    {
      const struct husk_df_instr *in = &st->instrs[k];
      b->step++;
      say (b, "STEP %u/%u: %s", b->step, b->n_steps, in->original);
      if (do_instr (&x, in, err) < 0)
        {
          step_error (b, in, err);
          goto out;
        }
    }
  r->built = true;
  rc = 0;
out:
  husk_strv_free (x.args);
  return rc;
}

/* Mark stage I and every stage it uses (FROM a stage, COPY --from a stage) as needed.  */
static void
mark_needed (struct build *b, size_t i)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  const struct husk_df_stage *ref;

  if (b->needed[i])
    return;
  b->needed[i] = true;
  ref = husk_df_stage_find (b->df, st->base);
  if (ref && ref->index < i && ref->name)
    mark_needed (b, ref->index);
  for (size_t k = 0; k < st->n_instrs; k++)
    {
      const char *from = husk_df_flag (&st->instrs[k], "from");
      if (from && (ref = husk_df_stage_find (b->df, from)) != NULL && ref->index < i)
        mark_needed (b, ref->index);
    }
}

/* Whether stage I stands on no other stage (FROM an image or scratch, no COPY --from a
   stage) and has a step that makes a layer: one that can be built beside others.  */
static bool
independent (struct build *b, size_t i)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  const struct husk_df_stage *ref = husk_df_stage_find (b->df, st->base);
  bool work = false;

  if (ref && ref->index < i && ref->name)
    return false;
  for (size_t k = 0; k < st->n_instrs; k++)
    {
      const struct husk_df_instr *in = &st->instrs[k];
      const char *from = husk_df_flag (in, "from");
      if (from && (ref = husk_df_stage_find (b->df, from)) != NULL)
        return false;
      work |= in->kind == HUSK_DF_RUN || in->kind == HUSK_DF_COPY || in->kind == HUSK_DF_ADD;
    }
  return work;
}

/* Independent stages build in parallel, as many at once as there are processors: each in a
   child of its own that only fills the cache (quietly, with its own store handle, so that the
   store lock excludes the others), after which the build goes through the stages in order and
   finds their steps cached.  A child that fails changes nothing: the step runs again in order
   and reports.  Nothing is done for fewer than two such stages.  */
static void
prebuild_parallel (struct build *b, size_t target_i)
{
  size_t idx[64], n = 0;
  pid_t pids[64];
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  size_t running = 0, next = 0;

  for (size_t i = 0; i <= target_i && n < 64; i++)
    if (b->needed[i] && independent (b, i))
      idx[n++] = i;
  if (n < 2)
    return;
  /* The children run containers: husk must run sealed before they fork.  */
  {
    cleanup_error struct husk_error *e = NULL;
    if (before_run (b, &e) < 0)
      return; /* The builds in order will report it.  */
  }
  if (cpus < 1)
    cpus = 1;
  while (next < n || running > 0)
    {
      if (next < n && running < (size_t) cpus)
        {
          pid_t pid = fork ();
          if (pid == 0)
            {
              struct husk_build_opts quiet = *b->o;
              struct husk_store *own = NULL;
              cleanup_error struct husk_error *e = NULL;
              quiet.progress = NULL;
              b->o = &quiet;
              if (husk_store_open (husk_store_root (b->s), &own, &e) < 0)
                _exit (1);
              b->s = own;
              _exit (build_stage (b, idx[next], &e) < 0 ? 1 : 0);
            }
          pids[next++] = pid;
          if (pid > 0)
            running++;
          continue;
        }
      int status;
      pid_t done = wait (&status);
      if (done < 0 && errno == EINTR)
        continue;
      if (done < 0)
        break;
      running--;
      for (size_t k = 0; k < next; k++)
        if (pids[k] == done && WIFEXITED (status) && WEXITSTATUS (status) == 0)
          b->stages[idx[k]].prebuilt = true;
    }
}

static int
read_dockerfile (const struct husk_build_opts *o, char **ret_buf, size_t *ret_len,
                 struct husk_error **err)
{
  cleanup_free char *path = NULL;

  if (o->dockerfile && strcmp (o->dockerfile, "-") == 0)
    {
      size_t cap = 65536, len = 0;
      char *buf = husk_xmalloc (cap);
      ssize_t n;
      while ((n = read (STDIN_FILENO, buf + len, cap - len)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              free (buf);
              return husk_error_set (err, errno, "read the Dockerfile from stdin");
            }
          len += n;
          if (len == cap)
            {
              if (cap >= DOCKERFILE_MAX)
                {
                  free (buf);
                  return husk_error_set (err, 0, "Dockerfile on stdin: larger than 16 MiB");
                }
              cap *= 2;
              buf = husk_xrealloc (buf, cap);
            }
        }
      *ret_buf = buf;
      *ret_len = len;
      return 0;
    }
  path = o->dockerfile ? husk_xstrdup (o->dockerfile)
                       : husk_strdup_printf ("%s/Dockerfile", o->context);
  if (husk_read_file_at (AT_FDCWD, path, DOCKERFILE_MAX, ret_buf, ret_len, err) < 0)
    return husk_error_wrap (err, "Dockerfile");
  return 0;
}

/* The stat cache of this context: build-cache/contexts/HEX.json, HEX the hash of its real
   path.  */
static char *
statcache_path (struct husk_store *s, const char *context)
{
  cleanup_free char *real = realpath (context, NULL);
  char d[HUSK_DIGEST_LEN + 1];
  cleanup_free char *dir = husk_strdup_printf ("%s/build-cache", husk_store_root (s));
  cleanup_free char *cdir = husk_strdup_printf ("%s/contexts", dir);

  if (real == NULL)
    return NULL;
  husk_sha256_buf (real, strlen (real), d);
  mkdir (dir, 0700);
  mkdir (cdir, 0700);
  return husk_strdup_printf ("%s/%s.json", cdir, husk_digest_hex (d));
}

static void
build_clear (struct build *b)
{
  if (b->df)
    for (size_t i = 0; i < b->df->n_stages; i++)
      {
        husk_oci_config_clear (&b->stages[i].cfg);
        layers_clear (b->stages[i].layers, b->stages[i].n_layers);
        free (b->stages[i].image_id);
      }
  free (b->stages);
  free (b->needed);
  free (b->build_arg_used);
  husk_strv_free (b->global_args);
  husk_strv_free (b->build_args);
  husk_ctx_close (b->ctx);
  husk_ignore_free (b->ig);
  husk_dockerfile_free (b->df);
}

int
husk_build (struct husk_store *s, const struct husk_build_opts *o, char ret_id[HUSK_DIGEST_LEN + 1],
            struct husk_error **err)
{
  struct build b = { .s = s, .o = o };
  const char *shown = getenv (SHOWN_ENV);
  cleanup_free char *buf = NULL, *cache = NULL, *cfgjson = NULL;
  cleanup_free struct husk_descriptor *descs = NULL;
  cleanup_strv char **chains = NULL;
  const struct husk_df_stage *target;
  struct stage_result *r;
  size_t len, target_i;
  char id[HUSK_DIGEST_LEN + 1];
  int rc = -1;

  b.df_name = o->dockerfile && strcmp (o->dockerfile, "-") != 0 ? o->dockerfile : "Dockerfile";
  if (o->dockerfile == NULL || strcmp (o->dockerfile, "-") == 0)
    b.df_name = "Dockerfile";
  else
    {
      const char *slash = strrchr (o->dockerfile, '/');
      b.df_name = slash ? slash + 1 : o->dockerfile;
    }
  if (shown)
    {
      uint64_t v;
      if (husk_parse_u64 (shown, UINT32_MAX, &v) == 0)
        b.shown = (unsigned) v;
      unsetenv (SHOWN_ENV);
    }
  if (o->timestamp >= 0)
    {
      struct tm tm;
      time_t t = (time_t) o->timestamp;
      gmtime_r (&t, &tm);
      strftime (b.created, sizeof b.created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
  else
    husk_now_rfc3339 (b.created, sizeof b.created);

  if (read_dockerfile (o, &buf, &len, err) < 0
      || husk_dockerfile_parse (buf, len, b.df_name, &b.df, err) < 0)
    goto out;
  if (husk_ignore_load (o->context,
                        o->dockerfile && strcmp (o->dockerfile, "-") ? o->dockerfile : NULL, &b.ig,
                        NULL, err)
      < 0)
    goto out;
  cache = statcache_path (s, o->context);
  if (husk_ctx_open (o->context, cache, ignore_filter, b.ig, &b.ctx, err) < 0)
    goto out;

  /* Build arguments: NAME=VALUE, or NAME from husk's environment.  */
  b.build_args = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; o->build_args && o->build_args[i]; i++)
    {
      const char *a = o->build_args[i];
      if (strchr (a, '='))
        husk_strv_append (&b.build_args, a);
      else if (getenv (a))
        {
          cleanup_free char *kv = husk_strdup_printf ("%s=%s", a, getenv (a));
          husk_strv_append (&b.build_args, kv);
        }
    }
  b.build_arg_used = husk_xcalloc (husk_strv_len (b.build_args) + 1, sizeof (bool));
  /* The global ARGs (before the first FROM), each expanded with those before it.  */
  b.global_args = husk_xcalloc (1, sizeof (char *));
  {
    static const char *const platform_args[]
        = { "TARGETPLATFORM", "TARGETOS",  "TARGETARCH", "BUILDPLATFORM",
            "BUILDOS",        "BUILDARCH", NULL };
    const char *arch = husk_host_arch ();
    for (size_t i = 0; platform_args[i]; i++)
      {
        const char *n = platform_args[i];
        cleanup_free char *v = strstr (n, "PLATFORM") ? husk_strdup_printf ("linux/%s", arch)
                               : strstr (n, "OS")     ? husk_xstrdup ("linux")
                                                      : husk_xstrdup (arch);
        kv_set (&b.global_args, n, v);
      }
  }
  for (size_t i = 0; i < b.df->n_global_args; i++)
    for (size_t k = 0; k < b.df->global_args[i].n_kvs; k++)
      {
        const struct husk_df_kv *kv = &b.df->global_args[i].kvs[k];
        const char *given = build_arg (&b, kv->key);
        cleanup_free char *def = NULL;
        if (given == NULL && kv->value
            && husk_expand_word (kv->value, b.df->escape, lookup_global, &b, &def, NULL, err) < 0)
          {
            husk_error_wrap (err, "%s:%u: ARG", b.df_name, b.df->global_args[i].line);
            goto out;
          }
        kv_set (&b.global_args, kv->key, given ? given : def);
      }

  if (o->target)
    {
      target = husk_df_stage_find (b.df, o->target);
      if (target == NULL)
        {
          husk_error_set (err, 0, "--target \"%s\": no such stage in %s", o->target, b.df_name);
          goto out;
        }
    }
  else
    target = &b.df->stages[b.df->n_stages - 1];
  target_i = target->index;
  b.stages = husk_xcalloc (b.df->n_stages, sizeof *b.stages);
  b.needed = husk_xcalloc (b.df->n_stages, sizeof *b.needed);
  mark_needed (&b, target_i);
  for (size_t i = 0; i <= target_i; i++)
    if (b.needed[i])
      b.n_steps += 1 + b.df->stages[i].n_instrs;

  /* Hold the GC lock, shared, for the whole build: the layers the steps stand on and make
     belong to no image yet, and no removal of images may take them.  */
  if (husk_store_gc_lock (s, false, err) < 0)
    goto out;
  /* With --no-cache every RUN runs: seal now rather than redo the steps before the first.  */
  if (o->no_cache && before_run (&b, err) < 0)
    {
      husk_store_gc_unlock (s);
      goto out;
    }
  prebuild_parallel (&b, target_i);
  for (size_t i = 0; i <= target_i; i++)
    if (b.needed[i] && !b.stages[i].built && build_stage (&b, i, err) < 0)
      {
        husk_store_gc_unlock (s);
        goto out;
      }

  r = &b.stages[target_i];
  free (r->cfg.created);
  r->cfg.created = husk_xstrdup (b.created);
  for (size_t i = 0; o->labels && o->labels[i]; i++)
    {
      size_t k = strcspn (o->labels[i], "=");
      cleanup_free char *key = husk_xmalloc (k + 1);
      memcpy (key, o->labels[i], k);
      key[k] = '\0';
      strmap_set (&r->cfg.config.labels, key, o->labels[i][k] ? o->labels[i] + k + 1 : "");
    }
  cfgjson = husk_oci_config_write (&r->cfg, &len);
  descs = husk_xcalloc (r->n_layers + 1, sizeof *descs);
  chains = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; i < r->n_layers; i++)
    {
      descs[i].media_type = r->layers[i].media_type;
      descs[i].digest = r->layers[i].digest;
      descs[i].size = r->layers[i].size;
      husk_strv_append (&chains, r->layers[i].chain_id);
    }
  {
    /* Every layer is in the store already (each step published its own): no staged one.  */
    struct husk_new_image ni = {
      .config = cfgjson,
      .config_len = len,
      .layers = descs,
      .chain_ids = chains,
      .n_layers = r->n_layers,
      .names = o->tags,
      .created = r->cfg.created,
    };
    rc = husk_image_publish_new (s, &ni, id, err);
  }
  husk_store_gc_unlock (s);
  if (rc < 0)
    goto out;
  {
    cleanup_error struct husk_error *serr = NULL;
    if (husk_ctx_save (b.ctx, &serr) < 0 && o->progress)
      say (&b, "warning: %s", serr->msg);
  }
  for (size_t i = 0; b.build_args[i]; i++)
    if (!b.build_arg_used[i])
      {
        size_t k = strcspn (b.build_args[i], "=");
        say (&b, "warning: build argument \"%.*s\" was not used", (int) k, b.build_args[i]);
      }
  for (size_t i = 0; o->tags && o->tags[i]; i++)
    say (&b, "Successfully tagged %s", o->tags[i]);
  memcpy (ret_id, id, HUSK_DIGEST_LEN + 1);
  rc = 0;
out:
  build_clear (&b);
  return rc;
}
