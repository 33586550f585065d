/* husk build's COPY and ADD steps: the sources selected and hashed, the cache, the copy
   through an overlay of the image so far (copyin.h), the layer written (build-internal.h).  */
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
#include "fetch.h"
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

/* ---------------------------------------------------------------- COPY  */

/* Whether a 512-byte block's checksum field holds the sum of its bytes (the field counted as
   spaces), as a tar header's does: the only mark a tar without "ustar" (V7) has.  */
static bool
tar_checksum_ok (const unsigned char *h)
{
  unsigned long sum = 0, want = 0;
  size_t i = 148;
  bool digits = false;

  for (size_t k = 0; k < 512; k++)
    sum += k >= 148 && k < 156 ? ' ' : h[k];
  while (i < 156 && h[i] == ' ')
    i++;
  for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++, digits = true)
    want = want * 8 + (unsigned long) (h[i] - '0');
  return digits && want == sum;
}

/* ADD's rule: a local file that is a tar archive, plain or compressed with gzip, bzip2, xz or
   zstd, is extracted; anything else, a compressed file that holds no tar too, is copied as it
   is.  Its first bytes say whether it may be one (its name does not count); then its first
   tar header must read through the decompression (husk_unpack_is_archive), as BuildKit
   decides.  The look at the bytes first keeps libarchive unloaded for other files.  */
static bool
is_archive (int ctxfd, const char *path)
{
  static const struct
  {
    const char *magic;
    size_t len;
  } compressed[] = {
    { "\x1f\x8b", 2 }, /* gzip */
    { "BZh", 3 },      /* bzip2 */
    { "\xfd"
      "7zXZ\0",
      6 },                     /* xz */
    { "\x28\xb5\x2f\xfd", 4 }, /* zstd */
  };
  unsigned char h[512];
  bool maybe = false;
  ssize_t n;
  cleanup_close int fd = husk_open_in_root (
      ctxfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, HUSK_RESOLVE_NO_SYMLINKS);

  if (fd < 0)
    return false;
  n = husk_read_all (fd, h, sizeof h);
  for (size_t i = 0; i < sizeof (compressed) / sizeof (compressed[0]); i++)
    if (n >= (ssize_t) compressed[i].len && memcmp (h, compressed[i].magic, compressed[i].len) == 0)
      maybe = true;
  if (n == (ssize_t) sizeof h && tar_checksum_ok (h))
    maybe = true;
  if (!maybe || lseek (fd, 0, SEEK_SET) != 0)
    return false;
  return husk_unpack_is_archive (fd);
}

/* COPY --from=FROM (and RUN --mount=type=bind,from=FROM): build-internal.h.  */
int
bld_resolve_from (struct stage_exec *x, const char *from, char ***ret_layers, char **ret_id,
                  struct husk_error **err)
{
  struct build *b = x->b;
  const struct husk_df_stage *ref = husk_df_stage_find (b->df, from);
  char **layers = husk_xcalloc (1, sizeof (char *));

  if (ref && ref->index < x->st->index)
    {
      struct stage_result *r = &b->stages[ref->index];
      if (!r->built && bld_build_stage (b, ref->index, err) < 0)
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
      if (bld_pull_if_needed (b, from, err) < 0 || husk_images_load (b->s, &list, err) < 0)
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

/* The heredocs' files of a step.  */
struct inline_set
{
  struct husk_build_inline *v;
  size_t n;
};

static void
inline_set_clear (struct inline_set *s)
{
  for (size_t i = 0; i < s->n; i++)
    free ((char *) s->v[i].content);
  free (s->v);
}
#define cleanup_inline __attribute__ ((cleanup (inline_set_clear)))

/* A heredoc source's file: its name checked, its content expanded when the delimiter was not
   quoted.  */
static int
heredoc_file (struct stage_exec *x, const struct husk_df_heredoc *h, struct husk_build_inline *f,
              struct husk_error **err)
{
  char *content = NULL;

  if (strchr (h->name, '/') || strcmp (h->name, ".") == 0 || strcmp (h->name, "..") == 0)
    return husk_error_set (err, 0, "heredoc \"%s\": not a file name", h->name);
  if (h->expand && bld_expand_heredoc (x, h->content, &content, err) < 0)
    return husk_error_wrap (err, "heredoc \"%s\"", h->name);
  f->name = h->name;
  f->content = content ? content : husk_xstrdup (h->content);
  f->len = strlen (f->content);
  return 0;
}

/* --exclude's patterns (repeatable, not expanded: BuildKit's) as a matcher, or NULL without
   any.  */
static int
exclude_matcher (const struct husk_df_instr *in, char ***ret_patterns, struct husk_ignore **ret,
                 struct husk_error **err)
{
  cleanup_strv char **v = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, "exclude") == 0)
      husk_strv_append (&v, in->flags[i].value ? in->flags[i].value : "");
  if (v[0] && husk_ignore_new (v, ret, err) < 0)
    return husk_error_wrap (err, "--exclude");
  *ret_patterns = TAKE_PTR (v);
  return 0;
}

/* A copy step's directories under the store's tmp/, made by step_dirs_make with the store
   lock taken (husk_store_lock sweeps tmp/, so it is held until the step ends, and shared with
   the copy's child, which publishes the layer); step_dirs_clear discards what is left and
   releases the lock.  UPPER (relative to the store's root) becomes the layer.  */
struct step_dirs
{
  char *tmp, *upper;              /* Relative to the store's root.  */
  char *a_upper, *a_work, *a_mnt; /* Absolute: the copy's overlay.  */
  char **lowers;                  /* The image so far, base first.  */
  struct written_shared *ws;      /* What the layer write hands back.  */
  bool locked;
};

static int
step_dirs_make (struct stage_exec *x, const char *prefix, struct step_dirs *d,
                struct husk_error **err)
{
  struct build *b = x->b;
  int rootfd = husk_store_rootfd (b->s);
  const char *root = husk_store_root (b->s);

  if (husk_store_lock (b->s, err) < 0)
    return -1;
  d->locked = true;
  if (husk_store_mkdtemp (b->s, prefix, &d->tmp, err) < 0)
    return -1;
  d->upper = husk_strdup_printf ("%s/upper", d->tmp);
  d->a_upper = husk_strdup_printf ("%s/%s", root, d->upper);
  d->a_work = husk_strdup_printf ("%s/%s/work", root, d->tmp);
  d->a_mnt = husk_strdup_printf ("%s/%s/mnt", root, d->tmp);
  if (mkdirat (rootfd, d->upper, 0755) < 0
      || fchmodat (rootfd, d->upper, bld_top_mode (b, x->r), 0) < 0 || mkdir (d->a_work, 0700) < 0
      || mkdir (d->a_mnt, 0700) < 0)
    return husk_error_set (err, errno, "build: the step's directories");
  d->lowers = bld_lowerdirs (b, x->r, err);
  if (d->lowers == NULL)
    return -1;
  d->ws = bld_shared_new ();
  if (d->ws == NULL)
    return husk_error_set (err, errno, "build: mmap");
  return 0;
}

static void
step_dirs_clear (struct build *b, struct step_dirs *d)
{
  if (d->tmp)
    husk_layer_discard (b->s, d->tmp);
  if (d->locked)
    husk_store_unlock (b->s);
  if (d->ws)
    munmap (d->ws, sizeof *d->ws);
  free (d->tmp);
  free (d->upper);
  free (d->a_upper);
  free (d->a_work);
  free (d->a_mnt);
  husk_strv_free (d->lowers);
  *d = (struct step_dirs){ 0 };
}

/* Run the copy REQ (its own fields set: what to copy, where, how) through D's overlay, with
   the layer written by its child, then record the step under KEY.  */
static int
step_dirs_run (struct stage_exec *x, struct step_dirs *d, struct husk_build_copy *req,
               const char *key, const char *created_by, struct husk_error **err)
{
  struct write_job job = {
    .b = x->b,
    .dir = d->upper,
    .parent_chain = x->r->n_layers ? x->r->layers[x->r->n_layers - 1].chain_id : NULL,
    .out = d->ws,
  };

  req->lowerdirs = d->lowers;
  req->upper = d->a_upper;
  req->work = d->a_work;
  req->mountpoint = d->a_mnt;
  req->map = x->b->o->map;
  req->after = bld_write_layer;
  req->after_arg = &job;
  if (husk_build_copy_run (req, err) < 0)
    return -1;
  return bld_step_done (x, key, d->ws, created_by, err);
}

int
bld_do_copy (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  struct build *b = x->b;
  const char *from = husk_df_flag (in, "from");
  const char *chown_raw = husk_df_flag (in, "chown");
  const char *chmod_raw = husk_df_flag (in, "chmod");
  const char *checksum_raw = husk_df_flag (in, "checksum");
  cleanup_free char *chown = NULL, *chmod_s = NULL, *dest = NULL, *text = NULL;
  cleanup_free char *abs = NULL;
  cleanup_free char *created_by = NULL, *checksum = NULL;
  cleanup_fetch struct bld_fetch *fetch = NULL;
  cleanup_strv char **srcs = husk_xcalloc (1, sizeof (char *));
  struct husk_ctx_selection sel = { 0 };
  struct step_dirs sd = { 0 };
  char key[HUSK_DIGEST_LEN + 1];
  int chmod_v = -1, rc = -1;
  size_t n = in->n_args;

  cleanup_strv char **from_layers = NULL, **from_lowers = NULL;
  cleanup_free bool *extract = NULL;
  cleanup_free char *extract_text = NULL;
  cleanup_free char *from_id = NULL, *from_upper = NULL, *from_work = NULL, *from_mnt = NULL;
  cleanup_free char *from_label = from ? husk_strdup_printf ("\"%s\" (--from)", from) : NULL;
  cleanup_strv char **excludes = NULL;
  cleanup_ignore struct husk_ignore *exclude = NULL;
  const char *parents = husk_df_flag (in, "parents");
  struct husk_ctx_select_opts opts = {
    .parents = parents && strcmp (parents, "false") != 0,
  };
  cleanup_inline struct inline_set inl = { husk_xcalloc (n + 1, sizeof *inl.v), 0 };

  if (from && bld_resolve_from (x, from, &from_layers, &from_id, err) < 0)
    return -1;
  if (exclude_matcher (in, &excludes, &exclude, err) < 0)
    return -1;
  opts.exclude = exclude;
  if (in->kind == HUSK_DF_ADD && from)
    return husk_error_set (err, 0, "--from: not supported yet");
  if (n < 2)
    return husk_error_set (err, 0, "needs a source and a destination");
  for (size_t i = 0; i + 1 < n; i++)
    {
      cleanup_free char *w = NULL;
      const struct husk_df_heredoc *h = husk_df_source_heredoc (in, in->args[i]);
      if (h)
        {
          if (heredoc_file (x, h, &inl.v[inl.n], err) < 0)
            return -1;
          inl.n++;
          continue;
        }
      if (bld_expand_word (x, in->args[i], &w, err) < 0)
        return -1;
      husk_strv_append (&srcs, w);
    }
  if (bld_expand_word (x, in->args[n - 1], &dest, err) < 0)
    return -1;
  if (chown_raw && bld_expand_word (x, chown_raw, &chown, err) < 0)
    return -1;
  if (chmod_raw)
    {
      if (bld_expand_word (x, chmod_raw, &chmod_s, err) < 0)
        return -1;
      if (bld_parse_chmod (chmod_s, &chmod_v) < 0)
        return husk_error_set (err, 0, "--chmod \"%s\": not an octal mode", chmod_s);
    }
  if (checksum_raw && bld_expand_word (x, checksum_raw, &checksum, err) < 0)
    return -1;
  /* BuildKit refuses a URL in COPY before it looks at the context (or at --from).  */
  for (size_t i = 0; in->kind != HUSK_DF_ADD && srcs[i]; i++)
    if (husk_fetch_is_url (srcs[i]))
      return husk_error_set (err, 0, "\"%s\": source can't be a URL for COPY (ADD downloads it)",
                             srcs[i]);
  /* From the context: what the sources hold is hashed now.  From a stage or an image: its
     key names its content, and the sources are selected by the copy itself.  ADD's URLs:
     their content's digests (fetch.h), downloaded now unless --checksum gives them.  */
  if (in->kind == HUSK_DF_ADD && bld_fetch_sources (b, srcs, checksum, &fetch, err) < 0)
    return -1;
  if (from == NULL && fetch == NULL
      && husk_ctx_select_opts (b->ctx, srcs, husk_strv_len (srcs), &opts, &sel, err) < 0)
    return -1;
  if (in->kind == HUSK_DF_ADD && fetch == NULL)
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
            bld_append (&extract_text, " %zu", i);
          }
    }

  created_by = from ? husk_strdup_printf ("COPY --from=%s", from) : husk_xstrdup (in->keyword);
  if (chown)
    bld_append (&created_by, " --chown=%s", chown);
  if (chmod_s)
    bld_append (&created_by, " --chmod=%s", chmod_s);
  if (opts.parents)
    bld_append (&created_by, " --parents");
  for (size_t i = 0; excludes[i]; i++)
    bld_append (&created_by, " --exclude=%s", excludes[i]);
  for (size_t i = 0; srcs[i]; i++)
    bld_append (&created_by, " %s", srcs[i]);
  for (size_t i = 0; i < inl.n; i++)
    bld_append (&created_by, " <<%s", inl.v[i].name);
  bld_append (&created_by, " %s", dest);
  {
    cleanup_free char *srcs_json = bld_json_strv (srcs);
    const char *origin = fetch ? bld_fetch_id (fetch) : "context";
    text = husk_strdup_printf (
        "%s chown=%s chmod=%d workdir=%s dest=%s n=%zu sources=%s from=%s extract=%s", in->keyword,
        chown ? chown : "", chmod_v,
        x->r->cfg.config.working_dir ? x->r->cfg.config.working_dir : "/", dest, n - 1,
        from ? srcs_json : sel.hash, from ? from_id : origin, extract_text ? extract_text : "");
    /* Only what a step uses, so that the keys of steps without them stay as they were.  */
    if (excludes[0])
      {
        cleanup_free char *ex_json = bld_json_strv (excludes);
        bld_append (&text, " exclude=%s", ex_json);
      }
    if (opts.parents)
      bld_append (&text, " parents=1");
    if (inl.n)
      {
        cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
        char digest[HUSK_DIGEST_LEN + 1];
        for (size_t i = 0; i < inl.n; i++)
          {
            char len[32];
            snprintf (len, sizeof len, "%zu:%zu:", strlen (inl.v[i].name), inl.v[i].len);
            husk_sha256_update (h, len, strlen (len));
            husk_sha256_update (h, inl.v[i].name, strlen (inl.v[i].name));
            husk_sha256_update (h, inl.v[i].content, inl.v[i].len);
          }
        husk_sha256_final (h, digest);
        bld_append (&text, " heredocs=%s", digest);
      }
  }
  bld_build_key (x->r->key, text, key);
  x->ex.text = text;
  x->ex.sel = &sel;
  if (bld_step_cached (x, key, created_by))
    {
      husk_ctx_selection_clear (&sel);
      return 0;
    }
  if (fetch && bld_fetch_select (fetch, &sel, err) < 0)
    return -1;

  if (step_dirs_make (x, "build-copy-", &sd, err) < 0)
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
      from_upper = husk_strdup_printf ("%s/%s/from-upper", husk_store_root (b->s), sd.tmp);
      from_work = husk_strdup_printf ("%s/%s/from-work", husk_store_root (b->s), sd.tmp);
      from_mnt = husk_strdup_printf ("%s/%s/from-mnt", husk_store_root (b->s), sd.tmp);
      if (mkdir (from_upper, 0755) < 0 || mkdir (from_work, 0700) < 0 || mkdir (from_mnt, 0700) < 0)
        {
          husk_error_set (err, errno, "build: the step's directories");
          goto out;
        }
    }
  {
    struct husk_build_copy req = {
      .ctx = fetch ? bld_fetch_ctx (fetch) : b->ctx,
      .sel = &sel,
      .extract = extract,
      .from_lowerdirs = from_lowers,
      .from_sources = srcs,
      .from_upper = from_upper,
      .from_work = from_work,
      .from_mountpoint = from_mnt,
      .from_name = from_label,
      .from_opts = &opts,
      .inline_files = inl.v,
      .n_inline = inl.n,
      .n_written = n - 1,
      .dest = dest,
      .workdir = x->r->cfg.config.working_dir,
      .chown = chown,
      .chmod = chmod_v,
    };
    if (step_dirs_run (x, &sd, &req, key, created_by, err) < 0)
      goto out;
  }
  rc = 0;
out:
  step_dirs_clear (b, &sd);
  husk_ctx_selection_clear (&sel);
  return rc;
}

/* WORKDIR's directory, made in a layer of its own when the image lacks it, as the
   Dockerfile reference says (and buildah does); an existing one makes no layer.  The step
   is keyed like any layer step: TEXT (its config text, "WORKDIR /abs") and what it makes.  */
int
bld_do_workdir (struct stage_exec *x, const char *text, struct husk_error **err)
{
  struct build *b = x->b;
  cleanup_free char *keytext = husk_strdup_printf ("%s mkdir", text);
  cleanup_free char *dest = husk_strdup_printf ("%s/", x->r->cfg.config.working_dir);
  struct husk_ctx_selection sel = { 0 };
  struct step_dirs sd = { 0 };
  char key[HUSK_DIGEST_LEN + 1];
  int rc = -1;

  bld_build_key (x->r->key, keytext, key);
  x->ex.text = keytext;
  x->ex.sel = NULL;
  if (bld_step_cached (x, key, text))
    return 0;
  if (step_dirs_make (x, "build-workdir-", &sd, err) < 0)
    goto out;
  {
    struct husk_build_copy req = {
      .ctx = b->ctx,
      .sel = &sel,
      .dest = dest,
      .workdir = "/",
      .chmod = -1,
      .make_dest = true,
    };
    if (step_dirs_run (x, &sd, &req, key, text, err) < 0)
      goto out;
  }
  rc = 0;
out:
  step_dirs_clear (b, &sd);
  return rc;
}
