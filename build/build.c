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

#include "build-internal.h"
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
#include "reference.h"
#include "remove.h"
#include "rundir.h"
#include "safepath.h"
#include "store.h"
#include "strbuf.h"
#include "timestamp.h"
#include "unpack.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

/* Docker's default SHELL.  */
char *const bld_default_shell[] = { "/bin/sh", "-c", NULL };

/* KEY = sha256("husk build step v1" | PREV | TEXT), each part length-prefixed; PREV may be
   "" for a stage's first key (buildcache.h says what goes into TEXT).  */
static void
key_part (struct husk_strbuf *b, const char *s)
{
  char n[32];
  int k = snprintf (n, sizeof n, "%zu:", strlen (s));

  husk_strbuf_add (b, n, k);
  husk_strbuf_adds (b, s);
}

/* The key's few hundred bytes are hashed with lib/sha256.c: a no-change build then never
   loads libcrypto (overlay/lazylibs.c).  */
void
bld_build_key (const char *prev, const char *text, char key[HUSK_DIGEST_LEN + 1])
{
  cleanup_strbuf struct husk_strbuf b = { 0 };

  key_part (&b, "husk build step v1");
  key_part (&b, prev ? prev : "");
  key_part (&b, text);
  husk_sha256_buf (b.p, b.len, key);
}

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

static int64_t
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
bld_say (struct build *b, const char *fmt, ...)
{
  va_list ap;

  unsigned line;

  /* A step (or a base image's trigger) starts: the time its "--> " line gives runs from here.  */
  if (strncmp (fmt, "STEP", 4) == 0 || strncmp (fmt, "ONBUILD", 7) == 0)
    b->step_started_ns = monotonic_ns ();
  if (b->o->progress == NULL)
    return;
  /* After a re-execution: what the first run printed is not printed again, counted in lines
     of its last step (its STEP line, ONBUILD triggers, a cache miss's reason...).  */
  if (strncmp (fmt, "STEP", 4) == 0)
    b->lines = 0;
  line = b->lines++;
  if (b->step < b->shown || (b->step == b->shown && line < b->shown_lines))
    return;
  va_start (ap, fmt);
  vfprintf (b->o->progress, fmt, ap);
  va_end (ap);
  fputc ('\n', b->o->progress);
  fflush (b->o->progress);
}

/* -q: where a RUN step's output goes instead of husk's stdout and stderr, as docker build -q
   keeps it: an unlinked file under the store's tmp/ (a chatty step's output is not held in
   memory), or a memfd where the store's file system has no O_TMPFILE; bld_quiet_output_show
   prints it when the step fails.  /dev/null in prebuild_parallel's children.  A descriptor
   (close-on-exec), or -1 when none opens (the output then goes where husk's does).  */
int
bld_quiet_output_open (struct build *b)
{
  int fd;

  if (b->prebuild)
    return open ("/dev/null", O_WRONLY | O_CLOEXEC);
  fd = openat (husk_store_rootfd (b->s), "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    fd = memfd_create ("husk-build-step", MFD_CLOEXEC);
  return fd;
}

/* A failed step's output, kept by bld_quiet_output_open's FD, onto husk's stderr (before the
   error line main prints).  */
void
bld_quiet_output_show (int fd)
{
  char buf[65536];
  ssize_t n;

  if (fd < 0 || lseek (fd, 0, SEEK_SET) < 0)
    return;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (husk_write_all (STDERR_FILENO, buf, (size_t) n) < 0)
      return;
}

/* "Dockerfile:LINE: KEYWORD: " before *ERR's message.  */
static int
step_error (struct build *b, const struct husk_df_instr *in, struct husk_error **err)
{
  return husk_error_wrap (err, "%s:%u: %s", b->df_name, in->line, in->keyword);
}

int
bld_expand_word (struct stage_exec *x, const char *word, char **ret, struct husk_error **err)
{
  return husk_expand_word (word, x->b->df->escape, lookup_stage, x, ret, NULL, err);
}

int
bld_expand_heredoc (struct stage_exec *x, const char *content, char **ret, struct husk_error **err)
{
  return husk_expand (content, '\\', HUSK_EXPAND_NO_QUOTES, lookup_stage, x, ret, NULL, NULL, err);
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

/* Whether REF names an image only the store can have: podman's rule for localhost/, the
   registry of what was built, committed or loaded here, which no registry serves (a pull
   would ask https://localhost:443).  localhost:PORT/ is a real registry.  */
static bool
local_only (const char *ref)
{
  struct husk_reference r = { 0 };
  bool local;

  if (husk_reference_parse (ref, &r, NULL) < 0)
    return false;
  local = r.had_domain && strcmp (r.domain, "localhost") == 0;
  husk_reference_clear (&r);
  return local;
}

/* --pull=always failed for REF: when REF is a short name the store resolves to a localhost/
   image (one made here, or imported from a layout or an archive), say so, since docker's
   rule sends the short name to a registry.  */
static void
hint_local_name (struct build *b, const char *ref, struct husk_error **err)
{
  struct husk_image_list list = { 0 };
  cleanup_error struct husk_error *e = NULL;
  const struct husk_image *img;
  cleanup_free char *want = NULL;

  if (ref == NULL || strchr (ref, '/') != NULL || husk_images_load (b->s, &list, &e) < 0)
    return;
  want = husk_strdup_printf ("localhost/%s%s", ref, strpbrk (ref, ":@") ? "" : ":latest");
  img = husk_images_lookup (&list, ref, &e);
  for (size_t i = 0; img && img->names && img->names[i]; i++)
    if (strcmp (img->names[i], want) == 0)
      {
        husk_error_wrap (err,
                         "--pull: \"%s\" is pulled from its registry, though the store has "
                         "%s (a localhost/ image is never pulled: name it so, or leave "
                         "out --pull)",
                         ref, img->names[i]);
        break;
      }
  husk_images_clear (&list);
}

/* --pull's rule for the image REF: pulled when the store lacks it (missing), every time
   (always), or never; a localhost/ image never is, and is an error when the store lacks it
   ("image \"localhost/app\": not in the store ...").  A failed pull of a missing image says
   so ("image \"REF\": not in the store and could not be pulled: ...").  */
int
bld_pull_if_needed (struct build *b, const char *ref, struct husk_error **err)
{
  bool have = false, local;

  if (b->o->pull == HUSK_BUILD_PULL_NEVER || b->o->pull_fn == NULL)
    return 0;
  local = local_only (ref);
  if (b->o->pull == HUSK_BUILD_PULL_MISSING || local)
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
  if (local)
    return husk_error_set (err, 0, "image \"%s\": not in the store (%s)", ref,
                           "a localhost/ image is never pulled");
  if (b->o->progress)
    fflush (b->o->progress);
  if (b->o->pull_fn (b->o->pull_arg, ref, err) < 0)
    {
      if (b->o->pull == HUSK_BUILD_PULL_MISSING)
        husk_error_wrap (err, "image \"%s\": not in the store and could not be pulled", ref);
      else
        hint_local_name (b, ref, err);
      return -1;
    }
  return 0;
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

  if (bld_pull_if_needed (b, ref, err) < 0 || husk_images_load (b->s, &list, err) < 0)
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
    bld_build_key ("", text, r->key);
  }
  rc = 0;
out:
  husk_manifest_clear (&m);
  husk_images_clear (&list);
  return rc;
}

/* ---------------------------------------------------------------- layers out  */

/* Write the step's directory out as a layer and publish it, under the store lock (what is
   staged under tmp/ is made only while it is held: husk_store_lock sweeps the rest).  Runs
   where the files' owners are mapped: a child in the user namespace, or husk itself as root;
   a child shares the lock's descriptor, and releases what it took before it exits.  */
int
bld_write_layer (void *arg, struct husk_error **err)
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

  bld_clear_stubs (j);
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

struct written_shared *
bld_shared_new (void)
{
  void *p = mmap (NULL, sizeof (struct written_shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Record what a step's layer write made (published already) in the cache under KEY, and
   as C.  */
int
bld_step_record (struct stage_exec *x, const char *key, const struct written_shared *ws,
                 struct husk_build_cached *c, struct husk_error **err)
{
  memset (c, 0, sizeof *c);
  c->empty = ws->empty;
  snprintf (c->created, sizeof c->created, "%s", x->b->created); /* It ran now.  */
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
void
bld_step_apply (struct stage_exec *x, const char *key, const struct husk_build_cached *c,
                const char *created_by)
{
  struct stage_result *r = x->r;

  if (!c->empty)
    {
      layer_add (r, c->chain_id, c->digest, c->media_type, c->size);
      husk_strv_append (&r->cfg.diff_ids, c->diff_id);
    }
  /* The time the step ran, kept by the cache: a build whose steps are all cached makes the
     same config, so the same image ID, as docker's does (--timestamp sets every time).  */
  if (x->b->o->timestamp < 0 && c->created[0])
    snprintf (r->time, sizeof r->time, "%s", c->created);
  husk_oci_config_add_history (&r->cfg, r->time, created_by, NULL, NULL, c->empty);
  /* The next key depends on what this step made, not only on what it was asked: a step that
     ran again and made something else (a RUN is not always repeatable) has later steps run
     again on it, never a cached layer that was made on top of the other result.  */
  if (c->empty)
    memcpy (r->key, key, HUSK_DIGEST_LEN + 1);
  else
    {
      cleanup_free char *t = husk_strdup_printf ("layer %s", c->chain_id);
      bld_build_key (key, t, r->key);
    }
}

/* A layer step whose key KEY has an entry: its layer (or none) without running it.  True on
   a hit.  */
bool
bld_step_cached (struct stage_exec *x, const char *key, const char *created_by)
{
  struct husk_build_cached c;

  if ((x->b->o->no_cache && !x->r->prebuilt) || !husk_build_cache_get (x->b->s, key, &c))
    goto miss;
  if (!c.empty)
    {
      /* The layer must have been made on the layer below it now.  */
      char chain[HUSK_DIGEST_LEN + 1];
      husk_chain_id (x->r->n_layers ? x->r->layers[x->r->n_layers - 1].chain_id : NULL, c.diff_id,
                     chain);
      if (strcmp (chain, c.chain_id) != 0)
        goto miss;
    }
  if (x->r->prebuilt)
    bld_explain_prebuilt (x, key);
  bld_say (x->b, "--> %s %s", x->r->prebuilt ? "Built in parallel" : "CACHED",
           c.empty ? "(no change)" : husk_digest_hex (c.chain_id));
  bld_step_apply (x, key, &c, created_by);
  bld_explain_step_end (x, key, created_by, false);
  return true;

miss:
  bld_explain_miss (x, key, created_by);
  /* The step runs, and its layer is written in a child: load what that needs here, once.  */
  husk_layer_write_preload ();
  return false;
}

/* A layer step that ran: WS is what its layer write made (published already).  */
int
bld_step_done (struct stage_exec *x, const char *key, const struct written_shared *ws,
               const char *created_by, struct husk_error **err)
{
  struct husk_build_cached c;

  if (!ws->done)
    return husk_error_set (err, 0, "the step's layer was not written");
  if (bld_step_record (x, key, ws, &c, err) < 0)
    return -1;
  bld_step_apply (x, key, &c, created_by);
  bld_explain_step_end (x, key, created_by, true);
  bld_say (x->b, "--> %s %.3fs", c.empty ? "(no change)" : husk_digest_hex (c.chain_id),
           (double) (monotonic_ns () - x->b->step_started_ns) / 1e9);
  return 0;
}

/* *S += the formatted text.  */
void
bld_append (char **s, const char *fmt, ...)
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

char **
bld_lowerdirs (struct build *b, const struct stage_result *r, struct husk_error **err)
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
mode_t
bld_top_mode (struct build *b, const struct stage_result *r)
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

/* JSON array text of V: what a key and a history entry say of an exec form.  */
char *
bld_json_strv (char *const *v)
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
char **
bld_command_of (struct stage_exec *x, const struct husk_df_instr *in)
{
  char **v = husk_xcalloc (1, sizeof (char *));
  char *const *shell = x->r->cfg.config.shell && x->r->cfg.config.shell[0] ? x->r->cfg.config.shell
                                                                           : bld_default_shell;

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

int
bld_parse_chmod (const char *s, int *ret)
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

/* Before a container runs: husk from its sealed copy (before_run), re-executing the whole
   build if it is not yet; the new one is told how far this one printed.  */
int
bld_before_run (struct build *b, struct husk_error **err)
{
  char n[32];

  /* An interrupt would be forgotten by the re-execution.  */
  if (bld_interrupt_check (err) < 0)
    return -1;
  if (b->o->before_run == NULL)
    return 0;
  snprintf (n, sizeof n, "%u.%u", b->step, b->lines);
  setenv (SHOWN_ENV, n, 1);
  if (b->o->progress)
    fflush (b->o->progress);
  fflush (stdout);
  if (b->o->before_run (b->o->before_run_arg, err) < 0)
    return -1;
  unsetenv (SHOWN_ENV);
  return 0;
}

/* ---------------------------------------------------------------- the other instructions  */

/* A metadata step: its key, and its history entry (empty_layer).  EXPLAIN: what explain.c
   compares of it (TEXT, or ARG's with the values hashed).  */
static void
meta_done_as (struct stage_exec *x, const char *text, const char *explain, bool history)
{
  char key[HUSK_DIGEST_LEN + 1];

  bld_explain_meta (x, explain);
  bld_build_key (x->r->key, text, key);
  memcpy (x->r->key, key, sizeof key);
  if (history)
    husk_oci_config_add_history (&x->r->cfg, x->r->time, text, NULL, NULL, true);
}

static void
meta_done (struct stage_exec *x, const char *text, bool history)
{
  meta_done_as (x, text, text, history);
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
char *
bld_abs_path (const char *base, const char *p)
{
  cleanup_free char *joined
      = p[0] == '/' ? husk_xstrdup (p) : husk_strdup_printf ("%s/%s", base ? base : "/", p);

  return husk_path_clean (joined, true);
}

/* EXPOSE's rule (docker's nat.ParsePortSpec): PORT or PORT-PORT, 0 to 65535, an optional
   /tcp, /udp or /sctp.  */
static bool
valid_port (const char *w)
{
  const char *slash = strchr (w, '/');
  size_t n = slash ? (size_t) (slash - w) : strlen (w);
  cleanup_free char *range = husk_xmalloc (n + 1);
  char *dash;
  uint64_t lo, hi;

  if (slash && strcmp (slash + 1, "tcp") != 0 && strcmp (slash + 1, "udp") != 0
      && strcmp (slash + 1, "sctp") != 0)
    return false;
  memcpy (range, w, n);
  range[n] = '\0';
  dash = strchr (range, '-');
  if (dash)
    *dash = '\0';
  if (husk_parse_u64 (range, 65535, &lo) < 0)
    return false;
  if (dash && (husk_parse_u64 (dash + 1, 65535, &hi) < 0 || hi < lo))
    return false;
  return true;
}

static int
do_kvs (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  cleanup_free char *text = husk_xstrdup (in->keyword);
  cleanup_strv char **words = husk_xcalloc (2 * in->n_kvs + 1, sizeof (char *));

  /* Every word with the environment from before the instruction (the Dockerfile reference:
     "ENV abc=bye def=$abc" gives def the old abc), then the pairs set in order.  */
  for (size_t i = 0; i < in->n_kvs; i++)
    if (bld_expand_word (x, in->kvs[i].key, &words[2 * i], err) < 0
        || bld_expand_word (x, in->kvs[i].value ? in->kvs[i].value : "", &words[2 * i + 1], err)
               < 0)
      return -1;
  for (size_t i = 0; i < in->n_kvs; i++)
    {
      const char *k = words[2 * i], *v = words[2 * i + 1];
      if (in->kind == HUSK_DF_ENV)
        kv_set (&x->r->cfg.config.env, k, v);
      else
        strmap_set (&x->r->cfg.config.labels, k, v);
      bld_append (&text, " %s=%s", k, v);
    }
  meta_done (x, text, true);
  return 0;
}

static int
do_arg (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  cleanup_free char *text = husk_xstrdup ("ARG"), *explain = husk_xstrdup ("ARG");
  /* The history shows each NAME with the Dockerfile's default as written, as docker build's
     "ARG NAME=default" entry, but never a value from --build-arg or a global ARG (nor one
     through a default's ${OTHER}): those may be secrets.  */
  cleanup_free char *shown = husk_xstrdup ("ARG");

  for (size_t i = 0; i < in->n_kvs; i++)
    {
      const char *name = in->kvs[i].key;
      const char *given = build_arg (x->b, name);
      cleanup_free char *def = NULL;
      const char *value = given;

      if (value == NULL && in->kvs[i].value)
        {
          if (bld_expand_word (x, in->kvs[i].value, &def, err) < 0)
            return -1;
          value = def;
        }
      if (value == NULL)
        value = kv_get (x->b->global_args, name, NULL); /* ARG NAME: the global default.  */
      kv_set (&x->args, name, value);
      /* The key holds the name, not the value: a step that uses the value holds it itself
         (expanded into its instruction, or in a RUN's environment), so changing an ARG
         makes the steps that use it miss, not every step after it (as docker build does).  */
      bld_append (&text, " %s", name);
      bld_append (&shown, " %s%s%s", name, in->kvs[i].value ? "=" : "",
                  in->kvs[i].value ? in->kvs[i].value : "");
      if (value)
        {
          char h[HUSK_DIGEST_LEN + 1];
          bld_build_key ("", value, h);
          bld_append (&explain, " %s=#%.16s", name, husk_digest_hex (h));
        }
      else
        bld_append (&explain, " %s", name);
    }
  meta_done_as (x, text, explain, false);
  husk_oci_config_add_history (&x->r->cfg, x->r->time, shown, NULL, NULL, true);
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
      return bld_do_run (x, in, err);
    case HUSK_DF_COPY:
    case HUSK_DF_ADD:
      return bld_do_copy (x, in, err);
    case HUSK_DF_ENV:
    case HUSK_DF_LABEL:
      return do_kvs (x, in, err);
    case HUSK_DF_ARG:
      return do_arg (x, in, err);
    case HUSK_DF_WORKDIR:
      if (bld_expand_word (x, in->args[0], &w, err) < 0)
        return -1;
      {
        char *wd = bld_abs_path (rc->working_dir, w); /* Relative to the WORKDIR before.  */
        free (rc->working_dir);
        rc->working_dir = wd;
      }
      text = husk_strdup_printf ("WORKDIR %s", rc->working_dir);
      return bld_do_workdir (x, text, err);
    case HUSK_DF_USER:
      if (bld_expand_word (x, in->args[0], &w, err) < 0)
        return -1;
      free (rc->user);
      rc->user = husk_xstrdup (w);
      text = husk_strdup_printf ("USER %s", w);
      break;
    case HUSK_DF_STOPSIGNAL:
      if (bld_expand_word (x, in->args[0], &w, err) < 0)
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
              if (!valid_port (words[k]))
                return husk_error_set (
                    err, 0, "\"%s\": not PORT[-PORT][/tcp|udp|sctp], ports 0 to 65535", words[k]);
              cleanup_free char *port = strchr (words[k], '/')
                                            ? husk_xstrdup (words[k])
                                            : husk_strdup_printf ("%s/tcp", words[k]);
              set_add (&rc->exposed_ports, port);
              bld_append (&text, " %s", port);
            }
        }
      break;
    case HUSK_DF_VOLUME:
      text = husk_xstrdup ("VOLUME");
      for (size_t i = 0; i < in->n_args; i++)
        {
          cleanup_free char *v = NULL;
          if (bld_expand_word (x, in->args[i], &v, err) < 0)
            return -1;
          set_add (&rc->volumes, v);
          bld_append (&text, " %s", v);
        }
      break;
    case HUSK_DF_CMD:
    case HUSK_DF_ENTRYPOINT:
      {
        char **cmd = bld_command_of (x, in);
        cleanup_free char *j = bld_json_strv (cmd);
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
        cleanup_free char *j = bld_json_strv (rc->shell);
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
        cleanup_free char *j = bld_json_strv (rc->healthcheck.test);
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

/* The stage's base in R, and *RET_DESC what explain.c names it ("image HEX12", "stage
   \"NAME\"", "scratch").  */
static int
stage_base (struct build *b, size_t i, struct stage_result *r, char **ret_desc,
            struct husk_error **err)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  const struct husk_df_stage *ref;
  cleanup_free char *base = NULL;

  if (husk_expand_word (st->base, b->df->escape, lookup_global, b, &base, NULL, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM", b->df_name, st->from.line);
  if (strcmp (base, "scratch") == 0)
    {
      scratch_config (&r->cfg);
      bld_build_key ("", "FROM scratch", r->key);
      *ret_desc = husk_xstrdup ("scratch");
      return 0;
    }
  ref = husk_df_stage_find (b->df, base);
  if (ref && ref->index < i && ref->name != NULL)
    {
      struct stage_result *from = &b->stages[ref->index];
      if (!from->built && bld_build_stage (b, ref->index, err) < 0)
        return -1;
      if (config_copy (&from->cfg, &r->cfg, err) < 0)
        return -1;
      for (size_t k = 0; k < from->n_layers; k++)
        layer_add (r, from->layers[k].chain_id, from->layers[k].digest, from->layers[k].media_type,
                   from->layers[k].size);
      r->image_id = from->image_id ? husk_xstrdup (from->image_id) : NULL;
      memcpy (r->key, from->key, sizeof r->key);
      memcpy (r->time, from->time, sizeof r->time);
      *ret_desc = husk_strdup_printf ("stage \"%s\"", ref->name);
      return 0;
    }
  if (base_from_image (b, base, r, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM %s", b->df_name, st->from.line, base);
  *ret_desc = husk_strdup_printf ("image %.12s", husk_digest_hex (r->image_id));
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
    bld_append (&text, "%s\n", triggers[i]);
  if (husk_dockerfile_parse (text, strlen (text), "ONBUILD", &df, err) < 0)
    return husk_error_wrap (err, "%s:%u: FROM: the base image's trigger", b->df_name,
                            x->st->from.line);
  for (size_t i = 0; i < df->stages[0].n_instrs; i++)
    {
      const struct husk_df_instr *in = &df->stages[0].instrs[i];
      bld_say (b, "ONBUILD %s", in->original);
      if (do_instr (x, in, err) < 0)
        return husk_error_wrap (err, "%s:%u: FROM: ONBUILD %s", b->df_name, x->st->from.line,
                                in->original);
    }
  return 0;
}

int
bld_build_stage (struct build *b, size_t i, struct husk_error **err)
{
  const struct husk_df_stage *st = &b->df->stages[i];
  struct stage_result *r = &b->stages[i];
  struct stage_exec x = { .b = b, .st = st, .r = r };
  cleanup_free char *base_desc = NULL;
  int rc = -1;

  b->step++;
  bld_say (b, "STEP %u/%u: %s", b->step, b->n_steps, st->from.original);
  /* Until a step makes a layer: the base's time (scratch: the build's).  */
  if (bld_interrupt_check (err) < 0 || stage_base (b, i, r, &base_desc, err) < 0)
    goto out;
  if (b->o->timestamp >= 0 || r->cfg.created == NULL || strlen (r->cfg.created) >= sizeof r->time)
    snprintf (r->time, sizeof r->time, "%s", b->created);
  else if (r->time[0] == '\0')
    snprintf (r->time, sizeof r->time, "%s", r->cfg.created);
  if (b->o->timestamp >= 0)
    {
      /* A reproducible build's layers have clamped times: not those of an unclamped one.  */
      cleanup_free char *t = husk_strdup_printf ("timestamp %lld", (long long) b->o->timestamp);
      char key[HUSK_DIGEST_LEN + 1];
      bld_build_key (r->key, t, key);
      memcpy (r->key, key, sizeof key);
    }
  bld_explain_stage_start (&x, base_desc);
  if (run_triggers (&x, err) < 0)
    goto out;
  for (size_t k = 0; k < st->n_instrs; k++)
    {
      const struct husk_df_instr *in = &st->instrs[k];
      b->step++;
      bld_say (b, "STEP %u/%u: %s", b->step, b->n_steps, in->original);
      if (bld_interrupt_check (err) < 0 || do_instr (&x, in, err) < 0)
        {
          step_error (b, in, err);
          goto out;
        }
    }
  r->built = true;
  rc = 0;
out:
  husk_strv_free (x.args);
  bld_explain_clear (&x.ex);
  return rc;
}

/* Mark stage I and every stage it uses (FROM a stage, COPY --from a stage, RUN --mount
   from= a stage) as needed.  */
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
      cleanup_strv char **mount_froms = bld_run_mount_froms (&st->instrs[k]);
      if (from && (ref = husk_df_stage_find (b->df, from)) != NULL && ref->index < i)
        mark_needed (b, ref->index);
      for (size_t j = 0; mount_froms[j]; j++)
        if ((ref = husk_df_stage_find (b->df, mount_froms[j])) != NULL && ref->index < i)
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
      cleanup_strv char **mount_froms = bld_run_mount_froms (in);
      if (from && (ref = husk_df_stage_find (b->df, from)) != NULL)
        return false;
      for (size_t j = 0; mount_froms[j]; j++)
        if (husk_df_stage_find (b->df, mount_froms[j]) != NULL)
          return false;
      work |= in->kind == HUSK_DF_RUN || in->kind == HUSK_DF_COPY || in->kind == HUSK_DF_ADD;
    }
  return work;
}

/* Independent stages build in parallel, as many at once as there are processors: each in a
   child of its own that only fills the cache (quietly, with its own store handle, so that the
   store lock excludes the others), after which the build goes through the stages in order and
   finds their steps cached.  A child that fails changes nothing: the step runs again in order
   and reports.  Nothing is done for fewer than two such stages.  An interrupt (interrupt.c)
   starts no more children and sends the signal on to those running, which stop their step as the
   build does; they are waited for, so that they have removed their containers when the
   build fails.  */
static void
prebuild_parallel (struct build *b, size_t target_i)
{
  size_t idx[64], n = 0;
  pid_t pids[64];
  volatile pid_t live[64];
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
    if (bld_before_run (b, &e) < 0)
      return; /* The builds in order will report it.  */
  }
  if (cpus < 1)
    cpus = 1;
  for (size_t k = 0; k < n; k++)
    live[k] = 0;
  bld_interrupt_workers (live, n);
  while (next < n || running > 0)
    {
      if (next < n && running < (size_t) cpus && !bld_interrupted ())
        {
          sigset_t mask;
          bld_interrupt_block (&mask);
          pid_t pid = fork ();
          if (pid == 0)
            {
              struct husk_build_opts quiet = *b->o;
              bld_interrupt_workers (NULL, 0);
              bld_interrupt_unblock (&mask);
              struct husk_store *own = NULL;
              cleanup_error struct husk_error *e = NULL;
              quiet.progress = NULL;
              b->o = &quiet;
              b->prebuild = true;
              if (husk_store_open (husk_store_root (b->s), &own, &e) < 0)
                _exit (1);
              b->s = own;
              _exit (bld_build_stage (b, idx[next], &e) < 0 ? 1 : 0);
            }
          live[next] = pid;
          pids[next++] = pid;
          if (pid > 0)
            running++;
          bld_interrupt_unblock (&mask);
          continue;
        }
      if (running == 0)
        break; /* Interrupted before every child was started.  */
      int status;
      pid_t done = wait (&status);
      if (done < 0 && errno == EINTR)
        continue;
      if (done < 0)
        break;
      running--;
      for (size_t k = 0; k < next; k++)
        if (pids[k] == done)
          {
            live[k] = 0;
            if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
              b->stages[idx[k]].prebuilt = true;
          }
    }
  bld_interrupt_workers (NULL, 0);
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

/* The stat cache of this context: build-cache/contexts/HEX.stat, HEX the hash of its real
   path (its format: build/context.c).  */
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
  return husk_strdup_printf ("%s/%s.stat", cdir, husk_digest_hex (d));
}

static void
build_clear (struct build *b)
{
  if (b->df && b->stages)
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
  free (b->explain_where);
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
  struct bld_interrupt intr;
  int rc = -1;

  bld_interrupt_begin (&intr);
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
      unsigned step, lines;
      char end;
      if (sscanf (shown, "%u.%u%c", &step, &lines, &end) == 2)
        {
          b.shown = step;
          b.shown_lines = lines;
        }
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

  {
    struct stat st;
    if (strcmp (o->context, "-") == 0)
      {
        husk_error_set (err, 0,
                        "build context \"-\": a context (or Dockerfile) from stdin is not "
                        "supported; give a directory (and -f - for a Dockerfile on stdin)");
        goto out;
      }
    int e = stat (o->context, &st) < 0 ? errno : S_ISDIR (st.st_mode) ? 0 : ENOTDIR;
    if (e)
      {
        husk_error_set (err, e, "build context \"%s\"", o->context);
        goto out;
      }
  }
  /* --secret's files are checked before any step runs, as docker build does.  */
  for (size_t i = 0; o->secrets && o->secrets[i]; i++)
    {
      cleanup_free char *copy = husk_xstrdup (o->secrets[i]);
      char *save = NULL;
      for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
        if (husk_str_has_prefix (kv, "src=") || husk_str_has_prefix (kv, "source=")
            || (strchr (kv, '=') == NULL))
          {
            const char *path = strchr (kv, '=');
            if (path == NULL)
              {
                husk_error_set (err, 0, "--secret \"%s\": expected KEY=VALUE pairs", o->secrets[i]);
                goto out;
              }
            /* Read as the step will (readable, a file, not over the limit), then dropped.  */
            cleanup_free char *data = NULL;
            size_t n;
            if (husk_read_file_at (AT_FDCWD, path + 1, BLD_SECRET_MAX, &data, &n, err) < 0)
              {
                husk_error_wrap (err, "--secret \"%s\"", o->secrets[i]);
                goto out;
              }
            explicit_bzero (data, n);
          }
    }
  /* A Dockerfile on stdin can be read only once: seal first, rather than re-execute after
     reading it (bld_before_run).  */
  if (o->dockerfile && strcmp (o->dockerfile, "-") == 0 && bld_before_run (&b, err) < 0)
    goto out;
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
  if (o->no_cache && bld_before_run (&b, err) < 0)
    {
      husk_store_gc_unlock (s);
      goto out;
    }
  bld_explain_begin (&b);
  prebuild_parallel (&b, target_i);
  if (bld_interrupt_check (err) < 0)
    {
      husk_store_gc_unlock (s);
      goto out;
    }
  for (size_t i = 0; i <= target_i; i++)
    if (b.needed[i] && !b.stages[i].built && bld_build_stage (&b, i, err) < 0)
      {
        husk_store_gc_unlock (s);
        goto out;
      }

  r = &b.stages[target_i];
  free (r->cfg.created);
  r->cfg.created = husk_xstrdup (r->time);
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
      .format = o->format,
    };
    rc = bld_interrupt_check (err) < 0 ? -1 : husk_image_publish_new (s, &ni, id, err);
  }
  husk_store_gc_unlock (s);
  if (rc < 0)
    goto out;
  {
    cleanup_error struct husk_error *serr = NULL;
    if (husk_ctx_save (b.ctx, &serr) < 0 && o->progress)
      bld_say (&b, "warning: %s", serr->msg);
  }
  for (size_t i = 0; b.build_args[i]; i++)
    if (!b.build_arg_used[i])
      {
        size_t k = strcspn (b.build_args[i], "=");
        bld_say (&b, "warning: build argument \"%.*s\" was not used", (int) k, b.build_args[i]);
      }
  for (size_t i = 0; o->tags && o->tags[i]; i++)
    bld_say (&b, "Successfully tagged %s", o->tags[i]);
  memcpy (ret_id, id, HUSK_DIGEST_LEN + 1);
  rc = 0;
out:
  build_clear (&b);
  bld_interrupt_end (&intr);
  return rc;
}
