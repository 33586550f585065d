#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "image.h"
#include "import.h"
#include "unpack.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

struct stager
{
  struct husk_store *s;
  const struct husk_import *im;
  const struct husk_import_source *src;
  const struct husk_manifest *m;
  char **diff_ids;
  char **chain_ids;
  char **staged;
  bool *todo;

  pthread_mutex_t lock; /* Guards what follows.  */
  size_t next;
  struct husk_error *err; /* The first failure.  */
  struct husk_pull_result res;
};

/* Read FD to its end as the blob DIGEST of SIZE bytes (-1: any size), verifying both as it
   streams, and publish it.  The caller holds the store lock.  */
static int
put_blob_fd (struct husk_store *s, const char *digest, int64_t size, int fd,
             struct husk_error **err)
{
  cleanup_free char *tmpdir = husk_strdup_printf ("%s/tmp", s->root);
  cleanup_free char *p = NULL;
  cleanup_free char *proc = NULL;
  cleanup_free unsigned char *buf = NULL;
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  cleanup_close int out = -1;
  char got[HUSK_DIGEST_LEN + 1];
  int64_t total = 0;
  ssize_t n;

  if (husk_digest_check (digest, err) < 0)
    return -1;
  /* Unnamed until verified: nothing half-written ever has a name in the store.  */
  out = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0)
    return husk_error_set (err, errno, "blob %s: temporary file in \"%s\"", digest, tmpdir);
  buf = husk_xmalloc (256 * 1024);
  while ((n = read (fd, buf, 256 * 1024)) != 0)
    {
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return husk_error_set (err, errno, "blob %s: read", digest);
        }
      total += n;
      if (size >= 0 && total > size)
        return husk_error_set (err, 0, "blob %s: size mismatch (more than %jd bytes)", digest,
                               (intmax_t) size);
      husk_sha256_update (h, buf, (size_t) n);
      if (husk_write_all (out, buf, (size_t) n) < 0)
        return husk_error_set (err, errno, "blob %s: write", digest);
    }
  if (size >= 0 && total != size)
    return husk_error_set (err, 0, "blob %s: size mismatch (%jd bytes, descriptor says %jd)",
                           digest, (intmax_t) total, (intmax_t) size);
  husk_sha256_final (h, got);
  if (strcmp (got, digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", digest, got);
  if (fchmod (out, 0644) < 0)
    return husk_error_set (err, errno, "blob %s: chmod", digest);
  p = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  proc = husk_strdup_printf ("/proc/self/fd/%d", out);
  if (linkat (AT_FDCWD, proc, s->rootfd, p, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "store blob %s", digest);
  return 0;
}

/* The blob D alone from SRC into the store (a layer whose content the store has already).  */
static int
fetch_blob (struct husk_store *s, const struct husk_import_source *src,
            const struct husk_descriptor *d, struct husk_error **err)
{
  struct husk_error *src_err = NULL;
  int bfd, r;

  bfd = src->open_blob (src->arg, d, err);
  if (bfd < 0)
    return husk_error_wrap (err, "layer %s", d->digest);
  r = put_blob_fd (s, d->digest, d->size, bfd, err);
  close (bfd);
  if (src->close_blob && src->close_blob (src->arg, d, &src_err) < 0)
    {
      if (r == 0 || src_err->errnum != ECANCELED)
        {
          husk_error_free (err);
          *err = src_err;
          src_err = NULL;
        }
      husk_error_free (&src_err);
      return -1;
    }
  return r;
}

static int
stage_one (struct stager *st, size_t i, struct husk_unpack_stats *stats, struct husk_error **err)
{
  const struct husk_descriptor *ld = &st->m->layers[i];
  struct husk_layer_desc d = { .digest = ld->digest,
                               .size = ld->size,
                               .media_type = ld->media_type,
                               .diff_id = st->diff_ids[i],
                               .chain_id = st->chain_ids[i] };
  struct husk_progress_event ev = { .kind = HUSK_PROGRESS_LAYER_STARTED,
                                    .index = i,
                                    .n_layers = st->m->n_layers,
                                    .digest = ld->digest,
                                    .size = ld->size };
  struct husk_error *src_err = NULL;
  int bfd, r;

  husk_progress_emit (st->im->progress, &ev);
  bfd = st->src->open_blob (st->src->arg, ld, err);
  if (bfd < 0)
    return -1;
  r = husk_layer_stage (st->s, bfd, &d, st->im->rootless, stats, &st->staged[i], err);
  close (bfd);
  if (st->src->close_blob && st->src->close_blob (st->src->arg, ld, &src_err) < 0)
    {
      /* The reader saw a short stream; why it was short is the better message, unless the
         download was only stopped because the reader had failed.  */
      if (r == 0 || src_err->errnum != ECANCELED)
        {
          husk_error_free (err);
          *err = src_err;
          src_err = NULL;
        }
      husk_error_free (&src_err);
      return -1;
    }
  if (r == 0)
    {
      ev.kind = HUSK_PROGRESS_LAYER_DONE;
      husk_progress_emit (st->im->progress, &ev);
    }
  return r;
}

static void *
stage_worker (void *arg)
{
  struct stager *st = arg;

  for (;;)
    {
      struct husk_unpack_stats stats = { 0 };
      struct husk_error *e = NULL;
      size_t i;

      pthread_mutex_lock (&st->lock);
      while (st->next < st->m->n_layers && !st->todo[st->next])
        st->next++;
      if (st->err != NULL || st->next >= st->m->n_layers)
        {
          pthread_mutex_unlock (&st->lock);
          return NULL;
        }
      i = st->next++;
      pthread_mutex_unlock (&st->lock);

      if (stage_one (st, i, &stats, &e) < 0)
        {
          pthread_mutex_lock (&st->lock);
          if (st->err == NULL)
            {
              st->err = e;
              e = NULL;
            }
          pthread_mutex_unlock (&st->lock);
          husk_error_free (&e);
          if (st->src->cancel)
            atomic_store (st->src->cancel, true);
          continue;
        }
      pthread_mutex_lock (&st->lock);
      st->res.layers_new++;
      husk_unmapped_ids_merge (&st->res.unmapped, &stats.unmapped);
      st->res.skipped_devices += stats.skipped_devices;
      pthread_mutex_unlock (&st->lock);
    }
}

/* Stage every layer marked in TODO, SRC->parallel at a time.  */
static int
stage_layers (struct stager *st, struct husk_error **err)
{
  unsigned n = st->src->parallel > 1 ? st->src->parallel : 1;
  pthread_t threads[8];
  unsigned started = 0;

  if (n > sizeof (threads) / sizeof (threads[0]))
    n = sizeof (threads) / sizeof (threads[0]);
  pthread_mutex_init (&st->lock, NULL);
  for (unsigned t = 1; t < n; t++)
    if (pthread_create (&threads[started], NULL, stage_worker, st) == 0)
      started++;
  stage_worker (st);
  for (unsigned t = 0; t < started; t++)
    pthread_join (threads[t], NULL);
  pthread_mutex_destroy (&st->lock);
  if (st->err)
    {
      *err = st->err;
      st->err = NULL;
      return -1;
    }
  return 0;
}

int
husk_image_commit (struct husk_store *s, const struct husk_import *im,
                   const struct husk_import_source *src, struct husk_pull_result *ret,
                   struct husk_error **err)
{
  cleanup_strv char **chain_ids = NULL;
  cleanup_free char **staged = NULL; /* Entries freed as they are published or discarded.  */
  cleanup_free bool *todo = NULL;
  struct husk_manifest m = { 0 };
  struct husk_image_config cfg = { 0 };
  struct husk_pull_result res = { 0 };
  struct husk_image img;
  char manifest_digest[HUSK_DIGEST_LEN + 1], config_digest[HUSK_DIGEST_LEN + 1];
  bool locked = false;
  int rc = -1;

  husk_sha256_buf (im->manifest, im->manifest_len, manifest_digest);
  if (husk_manifest_parse (im->manifest, im->manifest_len, &m, err) < 0)
    return husk_error_wrap (err, "manifest %s", manifest_digest);
  husk_sha256_buf (im->config, im->config_len, config_digest);
  if ((int64_t) im->config_len != m.config.size || strcmp (config_digest, m.config.digest) != 0)
    {
      husk_error_set (err, 0, "config %s: digest mismatch (content is %s, %zu bytes)",
                      m.config.digest, config_digest, im->config_len);
      goto out;
    }
  if (husk_image_config_parse (im->config, im->config_len, &cfg, err) < 0)
    {
      husk_error_wrap (err, "config %s", m.config.digest);
      goto out;
    }
  if (husk_strv_len (cfg.diff_ids) != m.n_layers)
    {
      husk_error_set (err, 0, "manifest %s has %zu layers but its config has %zu diff_ids",
                      manifest_digest, m.n_layers, husk_strv_len (cfg.diff_ids));
      goto out;
    }
  if (cfg.os && strcmp (cfg.os, "linux") != 0)
    {
      husk_error_set (err, 0, "image is for \"%s\", not linux", cfg.os);
      goto out;
    }
  chain_ids = husk_xcalloc (m.n_layers + 1, sizeof (char *));
  for (size_t i = 0; i < m.n_layers; i++)
    {
      char chain[HUSK_DIGEST_LEN + 1];
      husk_chain_id (i ? chain_ids[i - 1] : NULL, cfg.diff_ids[i], chain);
      chain_ids[i] = husk_xstrdup (chain);
    }

  if (husk_store_lock (s, err) < 0)
    goto out;
  locked = true;
  staged = husk_xcalloc (m.n_layers + 1, sizeof (char *));
  todo = husk_xcalloc (m.n_layers + 1, sizeof (bool));
  for (size_t i = 0; i < m.n_layers; i++)
    {
      struct husk_progress_event ev = { .kind = HUSK_PROGRESS_LAYER_QUEUED,
                                        .index = i,
                                        .n_layers = m.n_layers,
                                        .digest = m.layers[i].digest,
                                        .size = m.layers[i].size };
      if (husk_store_has_layer (s, chain_ids[i]))
        {
          res.layers_shared++;
          ev.kind = HUSK_PROGRESS_LAYER_SKIPPED;
        }
      else
        todo[i] = true;
      husk_progress_emit (im->progress, &ev);
    }
  {
    struct stager st = { .s = s,
                         .im = im,
                         .src = src,
                         .m = &m,
                         .diff_ids = cfg.diff_ids,
                         .chain_ids = chain_ids,
                         .staged = staged,
                         .todo = todo };
    if (stage_layers (&st, err) < 0)
      goto out;
    res.layers_new = st.res.layers_new;
    res.unmapped = st.res.unmapped;
    res.skipped_devices = st.res.skipped_devices;
  }
  for (size_t i = 0; i < m.n_layers; i++)
    {
      struct husk_layer_desc d = { .digest = m.layers[i].digest, .chain_id = chain_ids[i] };
      if (staged[i] == NULL)
        continue;
      if (husk_layer_publish (s, staged[i], &d, err) < 0)
        goto out;
      free (staged[i]);
      staged[i] = NULL;
    }
  /* A layer already in the store may have come in another compression (the same image from
     a docker-archive, then from a registry; a base layer two images share): its blob as this
     manifest names it is kept too, so that every manifest the store records names blobs it
     holds (push and save send them as they are).  */
  for (size_t i = 0; i < m.n_layers; i++)
    if (!todo[i] && !husk_store_has_blob (s, m.layers[i].digest)
        && fetch_blob (s, src, &m.layers[i], err) < 0)
      goto out;
  if (husk_store_put_blob (s, config_digest, im->config, im->config_len, err) < 0
      || husk_store_put_blob (s, manifest_digest, im->manifest, im->manifest_len, err) < 0)
    goto out;

  memset (&img, 0, sizeof (img));
  memcpy (img.id, husk_digest_hex (config_digest), HUSK_DIGEST_HEX_LEN + 1);
  img.names = im->names;
  img.repo_digests = im->repo_digests;
  img.manifest = manifest_digest;
  img.config = config_digest;
  img.layers = chain_ids;
  img.created = cfg.created;
  for (size_t i = 0; i < m.n_layers; i++)
    img.size += husk_layer_size (s, chain_ids[i]);
  if (husk_images_add (s, &img, err) < 0)
    goto out;
  memcpy (res.id, img.id, sizeof (res.id));
  *ret = res;
  rc = 0;

out:
  for (size_t i = 0; staged && i < m.n_layers; i++)
    if (staged[i])
      {
        husk_layer_discard (s, staged[i]);
        free (staged[i]);
      }
  if (locked)
    husk_store_unlock (s);
  husk_manifest_clear (&m);
  husk_image_config_clear (&cfg);
  return rc;
}
