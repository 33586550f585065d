#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "manifest.h"
#include "manifestlist.h"
#include "push.h"
#include "reference.h"
#include "recompress.h"
#include "registry.h"
#include "util.h"
#include "banned.h"

#define PARALLEL_UPLOADS 3
#define DOC_MAX (8 * 1024 * 1024)

enum job_outcome
{
  JOB_PENDING,
  JOB_PRESENT,
  JOB_MOUNTED,
  JOB_UPLOADED,
};

struct pusher;

struct up_job
{
  size_t index;                    /* In the manifest.  */
  const struct husk_descriptor *d; /* The blob pushed: the stored one, or CONV.  */
  const char *mount_from;          /* A repository of the registry that has the blob, or NULL.  */
  const char *diff_id;
  enum husk_compression want; /* NONE: push the stored blob; else compress it so first.  */
  struct husk_descriptor conv;
  bool compressed; /* CONV was made for this push.  */
  char *mount_buf; /* MOUNT_FROM when it is the job's own.  */
  enum job_outcome outcome;
  bool started; /* LAYER_UPLOADING was emitted.  */
  struct husk_error *err;
  struct pusher *p;
};

struct pusher
{
  struct husk_store *s;
  int level;
  struct husk_registry *reg;
  const char *domain; /* The registry.  */
  const char *repo;   /* The path on the registry.  */
  size_t n;
  struct up_job *jobs;
  const struct husk_progress *progress;
  _Atomic bool cancel;
  pthread_mutex_t lock; /* Guards NEXT.  */
  size_t next;
};

void
husk_push_result_clear (struct husk_push_result *r)
{
  free (r->repository);
  memset (r, 0, sizeof (*r));
}

static void
emit (struct up_job *job, enum husk_progress_kind kind, const char *name, uint64_t bytes)
{
  struct husk_progress_event ev = {
    .kind = kind,
    .name = name,
    .index = job->index,
    .n_layers = job->p->n,
    .digest = job->d->digest,
    .size = job->d->size,
    .bytes = bytes,
  };
  husk_progress_emit (job->p->progress, &ev);
}

static void
job_sent (void *arg, uint64_t bytes)
{
  struct up_job *job = arg;

  /* Said at the first bytes sent, not before: a mount sends none.  */
  if (!job->started)
    {
      job->started = true;
      emit (job, HUSK_PROGRESS_LAYER_UPLOADING, NULL, 0);
    }
  emit (job, HUSK_PROGRESS_LAYER_BYTES, NULL, bytes);
}

static int
push_layer (struct up_job *job, struct husk_error **err)
{
  struct pusher *p = job->p;
  struct husk_blob_progress progress = { .received = job_sent, .arg = job };
  cleanup_close int fd = -1;
  uint64_t size;
  bool mounted = false;
  int have;

  if (job->want != HUSK_COMPRESSION_NONE)
    {
      bool cached;
      if (husk_layer_recompress (p->s, job->d, job->diff_id, job->want, p->level, &job->conv,
                                 &cached, err)
          < 0)
        return -1;
      job->compressed = !cached;
      job->d = &job->conv;
      if (cached)
        {
          /* A repository of this registry it was pushed to before: mounted from there.  */
          cleanup_strv char **repos = husk_blob_cache_repos (p->s, job->diff_id, job->want);
          for (size_t k = 0; repos[k] && job->mount_buf == NULL; k++)
            {
              size_t dl = strlen (p->domain);
              if (strncmp (repos[k], p->domain, dl) == 0 && repos[k][dl] == '/'
                  && strcmp (repos[k] + dl + 1, p->repo) != 0)
                job->mount_buf = husk_xstrdup (repos[k] + dl + 1);
            }
          job->mount_from = job->mount_buf;
        }
    }
  have = husk_registry_blob_exists (p->reg, p->repo, job->d->digest, err);
  if (have < 0)
    return -1;
  if (have)
    {
      job->outcome = JOB_PRESENT;
      emit (job, HUSK_PROGRESS_LAYER_SKIPPED, NULL, 0);
      return 0;
    }
  fd = husk_store_open_blob (p->s, job->d->digest, &size, err);
  if (fd < 0)
    return -1;
  if (job->d->size < 0 || size != (uint64_t) job->d->size)
    return husk_error_set (err, 0, "blob %s: %ju bytes in the store, the manifest says %jd",
                           job->d->digest, (uintmax_t) size, (intmax_t) job->d->size);
  {
    struct husk_upload u = {
      .digest = job->d->digest,
      .size = size,
      .fd = fd,
      .mount_from = job->mount_from,
      .cancel = &p->cancel,
      .progress = p->progress ? &progress : NULL,
    };
    if (husk_registry_upload_blob (p->reg, p->repo, &u, &mounted, err) < 0)
      return -1;
  }
  if (mounted)
    {
      job->outcome = JOB_MOUNTED;
      emit (job, HUSK_PROGRESS_LAYER_MOUNTED, job->mount_from, 0);
    }
  else
    {
      job->outcome = JOB_UPLOADED;
      if (!job->started)
        job_sent (job, 0); /* An empty blob sends no byte.  */
      emit (job, HUSK_PROGRESS_LAYER_DONE, NULL, (uint64_t) job->d->size);
    }
  return 0;
}

static void *
upload_thread (void *arg)
{
  struct pusher *p = arg;
  sigset_t set;

  /* A connection the registry closes must fail the transfer, not kill the process.  */
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  for (;;)
    {
      struct up_job *job;

      pthread_mutex_lock (&p->lock);
      job = p->next < p->n && !atomic_load (&p->cancel) ? &p->jobs[p->next++] : NULL;
      pthread_mutex_unlock (&p->lock);
      if (job == NULL)
        return NULL;
      if (push_layer (job, &job->err) < 0)
        atomic_store (&p->cancel, true);
    }
}

/* Every layer of the manifest, PARALLEL_UPLOADS at a time; the first error, in manifest
   order, is the push's.  */
static int
push_layers (struct pusher *p, struct husk_error **err)
{
  pthread_t threads[PARALLEL_UPLOADS];
  size_t n_threads = 0;
  int rc = 0;

  pthread_mutex_init (&p->lock, NULL);
  for (size_t i = 0; i < PARALLEL_UPLOADS && i < p->n; i++)
    {
      if (pthread_create (&threads[i], NULL, upload_thread, p) != 0)
        break;
      n_threads++;
    }
  if (n_threads == 0 && p->n > 0)
    upload_thread (p);
  for (size_t i = 0; i < n_threads; i++)
    pthread_join (threads[i], NULL);
  pthread_mutex_destroy (&p->lock);
  for (size_t i = 0; i < p->n; i++)
    if (p->jobs[i].err)
      {
        if (rc == 0 && !(p->jobs[i].err->errnum == ECANCELED))
          {
            *err = TAKE_PTR (p->jobs[i].err);
            rc = -1;
          }
        else
          husk_error_free (&p->jobs[i].err);
      }
  if (rc == 0)
    for (size_t i = 0; i < p->n; i++)
      if (p->jobs[i].outcome == JOB_PENDING)
        return husk_error_set (err, ECANCELED, "layer %s: not pushed", p->jobs[i].d->digest);
  return rc;
}

/* Whether the manifest document BUF of the image names the blob DIGEST.  */
static bool
manifest_has_blob (const char *buf, size_t len, const char *digest)
{
  struct husk_manifest m = { 0 };
  cleanup_error struct husk_error *e = NULL;
  bool found;

  if (husk_manifest_parse (buf, len, &m, &e) < 0)
    return false;
  found = strcmp (m.config.digest, digest) == 0;
  for (size_t i = 0; i < m.n_layers && !found; i++)
    found = strcmp (m.layers[i].digest, digest) == 0;
  husk_manifest_clear (&m);
  return found;
}

/* For each layer of M (and its config, at RET[M->n_layers]), a repository of DOMAIN other
   than REPO that has its blob: one of the names or repository digests (husk stores
   "domain/path:tag", "domain/path@sha256:...") of an image of LIST on that registry whose
   manifest names the blob: it was pulled from there, or pushed there.  RET[i] is owned by the
   caller, NULL when none.  */
static void
find_mounts (struct husk_store *s, const struct husk_image_list *list, const char *domain,
             const char *repo, const struct husk_manifest *m, char **ret)
{
  for (size_t i = 0; i < list->n; i++)
    {
      const struct husk_image *img = &list->items[i];
      cleanup_strv char **refs = husk_xcalloc (1, sizeof (char *));
      cleanup_free char *buf = NULL;
      size_t len = 0;
      bool read = false;

      for (size_t k = 0; img->names && img->names[k]; k++)
        husk_strv_append (&refs, img->names[k]);
      for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
        husk_strv_append (&refs, img->repo_digests[k]);
      for (char **name = refs; name && *name; name++)
        {
          struct husk_reference r;
          cleanup_error struct husk_error *e = NULL;

          if (husk_reference_parse (*name, &r, &e) < 0)
            continue;
          if (strcmp (r.domain, domain) == 0 && strcmp (r.path, repo) != 0)
            {
              if (!read)
                {
                  cleanup_error struct husk_error *e2 = NULL;
                  read = true;
                  if (img->manifest == NULL
                      || husk_store_read_blob (s, img->manifest, DOC_MAX, &buf, &len, &e2) < 0)
                    {
                      free (buf);
                      buf = NULL;
                    }
                }
              if (buf)
                for (size_t k = 0; k <= m->n_layers; k++)
                  {
                    const char *d = k < m->n_layers ? m->layers[k].digest : m->config.digest;
                    if (ret[k] == NULL && manifest_has_blob (buf, len, d))
                      ret[k] = husk_xstrdup (r.path);
                  }
            }
          husk_reference_clear (&r);
        }
    }
}

/* The media type a manifest document declares (NULL: none, an OCI manifest may omit it).  */
static char *
manifest_media_type (const char *buf, size_t len)
{
  cleanup_json husk_json *doc = husk_json_parse (buf, len, NULL);
  const char *mt = husk_json_get_string (doc, "mediaType");
  return mt ? husk_xstrdup (mt) : NULL;
}

/* The manifest to send: the stored one, or (another FORMAT asked for) the same blobs in that
   format's document.  */
static int
manifest_for (const char *stored, size_t stored_len, const struct husk_manifest *m,
              bool layers_changed, enum husk_push_format format, char **ret_buf, size_t *ret_len,
              const char **ret_media_type, struct husk_error **err)
{
  cleanup_free char *mt = manifest_media_type (stored, stored_len);
  bool is_docker = mt && strcmp (mt, HUSK_MT_DOCKER_MANIFEST) == 0;

  if (format == HUSK_PUSH_FORMAT_KEEP)
    format = is_docker ? HUSK_PUSH_FORMAT_DOCKER : HUSK_PUSH_FORMAT_OCI;
  if (!layers_changed && (format == HUSK_PUSH_FORMAT_DOCKER) == is_docker)
    {
      *ret_buf = husk_xmalloc (stored_len + 1);
      memcpy (*ret_buf, stored, stored_len);
      (*ret_buf)[stored_len] = '\0';
      *ret_len = stored_len;
      *ret_media_type = is_docker ? HUSK_MT_DOCKER_MANIFEST : HUSK_MT_OCI_MANIFEST;
      return 0;
    }
  if (format == HUSK_PUSH_FORMAT_DOCKER)
    for (size_t i = 0; i < m->n_layers; i++)
      if (m->layers[i].media_type && strstr (m->layers[i].media_type, "zstd"))
        return husk_error_set (err, 0,
                               "layer %s is zstd-compressed, which a Docker v2s2 manifest cannot "
                               "name (push with --format oci, or with --compression-format gzip)",
                               m->layers[i].digest);
  *ret_buf = husk_manifest_make (format == HUSK_PUSH_FORMAT_DOCKER ? HUSK_IMAGE_FORMAT_DOCKER
                                                                   : HUSK_IMAGE_FORMAT_OCI,
                                 m->config.digest, m->config.size, m->layers, m->n_layers, ret_len);
  *ret_media_type
      = format == HUSK_PUSH_FORMAT_DOCKER ? HUSK_MT_DOCKER_MANIFEST : HUSK_MT_OCI_MANIFEST;
  return 0;
}

/* The manifest to push and its DIGEST (manifest_for), which must be the one REF names when it
   names one.  */
static int
final_manifest (const char *stored, size_t stored_len, const struct husk_manifest *m,
                bool layers_changed, enum husk_push_format format, const struct husk_reference *ref,
                char **ret_buf, size_t *ret_len, const char **ret_media_type,
                char digest[HUSK_DIGEST_LEN + 1], struct husk_error **err)
{
  if (manifest_for (stored, stored_len, m, layers_changed, format, ret_buf, ret_len, ret_media_type,
                    err)
      < 0)
    return -1;
  husk_sha256_buf (*ret_buf, *ret_len, digest);
  if (ref->digest && strcmp (ref->digest, digest) != 0)
    return husk_error_set (err, 0, "the destination names the digest %s, the manifest is %s",
                           ref->digest, digest);
  return 0;
}

static int
push_config (struct pusher *p, const struct husk_descriptor *d, const char *buf, size_t len,
             const char *mount_from, struct husk_error **err)
{
  bool mounted;
  struct husk_upload u
      = { .digest = d->digest, .size = len, .buf = buf, .fd = -1, .mount_from = mount_from };
  int have = husk_registry_blob_exists (p->reg, p->repo, d->digest, err);

  if (have != 0)
    return have < 0 ? -1 : 0;
  return husk_registry_upload_blob (p->reg, p->repo, &u, &mounted, err);
}

/* Put the manifest (or index) BUF of DIGEST under REF (a tag, or its digest) of REPO, unless
   the registry's REF already names it (a HEAD first: a push of what is there sends no PUT);
   the registry must store it as DIGEST.  */
static int
put_document (struct husk_registry *reg, const char *repo, const char *ref, const char *media_type,
              const char *buf, size_t len, const char *digest, struct husk_error **err)
{
  cleanup_free char *there = NULL;
  cleanup_free char *answered = NULL;
  int have = husk_registry_manifest_digest (reg, repo, ref, media_type, &there, err);

  if (have < 0)
    return -1;
  if (have == 1 && there && strcmp (there, digest) == 0)
    return 0;
  if (husk_registry_put_manifest (reg, repo, ref, media_type, buf, len, &answered, err) < 0)
    return -1;
  if (answered && strcmp (answered, digest) != 0)
    return husk_error_set (err, 0, "the registry stored \"%s\" as %s, not %s", ref, answered,
                           digest);
  return 0;
}

static int
do_push (struct husk_store *s, const struct husk_image_list *list, const struct husk_image *img,
         const struct husk_reference *ref, const char *dest_name, const struct husk_push_options *o,
         struct husk_push_result *ret, struct husk_error **err)
{
  cleanup_free char *stored = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *manifest = NULL;
  cleanup_free struct up_job *jobs = NULL;
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free struct husk_descriptor *pushed = NULL;
  struct husk_manifest m = { 0 };
  struct husk_manifest pm;
  struct husk_image_config cfg = { 0 };
  struct pusher p = { 0 };
  bool layers_changed = false;
  char **mounts = NULL;
  size_t stored_len, config_len, manifest_len;
  const char *media_type = NULL;
  char digest[HUSK_DIGEST_LEN + 1];
  int rc = -1;

  if (img->manifest == NULL)
    return husk_error_set (err, 0, "image %.12s has no manifest in the store", img->id);
  if (husk_store_read_blob (s, img->manifest, DOC_MAX, &stored, &stored_len, err) < 0)
    return husk_error_wrap (err, "manifest");
  if (husk_manifest_parse (stored, stored_len, &m, err) < 0)
    return husk_error_wrap (err, "manifest %s", img->manifest);
  if (husk_store_read_blob (s, m.config.digest, DOC_MAX, &config, &config_len, err) < 0)
    {
      husk_error_wrap (err, "config");
      goto out;
    }
  if (husk_image_config_parse (config, config_len, &cfg, err) < 0)
    {
      husk_error_wrap (err, "config");
      goto out;
    }
  if (husk_strv_len (cfg.diff_ids) != m.n_layers)
    {
      husk_error_set (err, 0, "config %s: %zu diff_ids for %zu layers", m.config.digest,
                      husk_strv_len (cfg.diff_ids), m.n_layers);
      goto out;
    }
  for (size_t i = 0; i < m.n_layers; i++)
    {
      enum husk_compression have = husk_layer_compression (m.layers[i].media_type);
      enum husk_compression want = o->compression;
      if (want == HUSK_COMPRESSION_NONE && have == HUSK_COMPRESSION_NONE)
        want = HUSK_COMPRESSION_GZIP; /* A plain tar goes up compressed, as podman's does.  */
      if (want != HUSK_COMPRESSION_NONE && want != have)
        layers_changed = true;
    }
  if (!layers_changed)
    {
      /* The manifest is known before anything goes out: check a digest asked for first.  */
      if (final_manifest (stored, stored_len, &m, false, o->format, ref, &manifest, &manifest_len,
                          &media_type, digest, err)
          < 0)
        goto out;
    }
  else if (o->format == HUSK_PUSH_FORMAT_DOCKER && o->compression == HUSK_COMPRESSION_ZSTD)
    {
      husk_error_set (err, 0,
                      "a Docker v2s2 manifest cannot name zstd layers (push with --format oci, or "
                      "with --compression-format gzip)");
      goto out;
    }
  /* Every layer blob must be here before anything goes out.  */
  for (size_t i = 0; i < m.n_layers; i++)
    if (!husk_store_has_blob (s, m.layers[i].digest))
      {
        husk_error_set (err, 0, "layer blob %s: not in the store", m.layers[i].digest);
        goto out;
      }

  reg = husk_registry_new (ref->domain, o->tls_verify, HUSK_REGISTRY_PUSH, err);
  if (reg == NULL)
    goto out;
  mounts = husk_xcalloc (m.n_layers + 1, sizeof (char *));
  find_mounts (s, list, ref->domain, ref->path, &m, mounts);
  jobs = husk_xcalloc (m.n_layers + 1, sizeof (*jobs));
  pushed = husk_xcalloc (m.n_layers + 1, sizeof (*pushed));
  p.s = s;
  p.domain = ref->domain;
  p.level = o->compression_level;
  p.reg = reg;
  p.repo = ref->path;
  p.n = m.n_layers;
  p.jobs = jobs;
  p.progress = o->progress;
  for (size_t i = 0; i < m.n_layers; i++)
    {
      jobs[i].index = i;
      jobs[i].d = &m.layers[i];
      jobs[i].mount_from = mounts[i];
      jobs[i].p = &p;
      jobs[i].diff_id = cfg.diff_ids[i];
      {
        enum husk_compression have = husk_layer_compression (m.layers[i].media_type);
        enum husk_compression want = o->compression;
        if (want == HUSK_COMPRESSION_NONE && have == HUSK_COMPRESSION_NONE)
          want = HUSK_COMPRESSION_GZIP;
        jobs[i].want = want == have ? HUSK_COMPRESSION_NONE : want;
        if (jobs[i].want != HUSK_COMPRESSION_NONE)
          /* Blobs compressed anew are this store's alone: no other repository has them.  */
          jobs[i].mount_from = NULL;
      }
    }
  {
    struct husk_progress_event ev = { .kind = HUSK_PROGRESS_PUSH, .name = dest_name };
    husk_progress_emit (o->progress, &ev);
  }
  if (push_layers (&p, err) < 0)
    goto out;
  if (layers_changed)
    {
      /* The same manifest with the blobs that went up.  */
      for (size_t i = 0; i < m.n_layers; i++)
        pushed[i] = *jobs[i].d;
      pm = m;
      pm.layers = pushed;
      if (final_manifest (stored, stored_len, &pm, true, o->format, ref, &manifest, &manifest_len,
                          &media_type, digest, err)
          < 0)
        goto out;
    }
  if (push_config (&p, &m.config, config, config_len, mounts[m.n_layers], err) < 0)
    {
      husk_error_wrap (err, "config");
      goto out;
    }
  if (put_document (reg, ref->path, ref->tag ? ref->tag : digest, media_type, manifest,
                    manifest_len, digest, err)
      < 0)
    goto out;
  memcpy (ret->digest, digest, sizeof (ret->digest));
  {
    /* Where the blobs compressed anew now are, for the next push's mounts.  */
    cleanup_free char *repo = husk_reference_repository (ref);
    for (size_t i = 0; i < m.n_layers; i++)
      if (jobs[i].want != HUSK_COMPRESSION_NONE
          && husk_blob_cache_add_repo (s, jobs[i].diff_id, jobs[i].want, repo, err) < 0)
        {
          husk_error_wrap (err, "the manifest is pushed, but recording where its blobs are failed");
          goto out;
        }
  }
  {
    /* The image's repository digest, as a pull records it (docker does as much): what
       husk images --digests shows, and where a later push finds blobs to mount.  A push of
       a manifest in another format or with other blobs records it too (podman does).  */
    cleanup_free char *repo = husk_reference_repository (ref);
    cleanup_free char *rd = husk_strdup_printf ("%s@%s", repo, digest);
    if (husk_images_add_repo_digest (s, img->id, rd, err) < 0)
      {
        husk_error_wrap (err, "the manifest is pushed, but recording its digest failed");
        goto out;
      }
  }
  for (size_t i = 0; i < m.n_layers; i++)
    ret->layers_compressed += jobs[i].compressed;
  for (size_t i = 0; i < m.n_layers; i++)
    if (jobs[i].outcome == JOB_PRESENT)
      ret->layers_present++;
    else if (jobs[i].outcome == JOB_MOUNTED)
      ret->layers_mounted++;
    else
      ret->layers_uploaded++;
  rc = 0;
out:
  if (mounts)
    for (size_t i = 0; i <= m.n_layers; i++)
      free (mounts[i]);
  free (mounts);
  if (jobs)
    for (size_t i = 0; i < m.n_layers; i++)
      {
        husk_descriptor_clear (&jobs[i].conv);
        free (jobs[i].mount_buf);
      }
  husk_image_config_clear (&cfg);
  husk_manifest_clear (&m);
  return rc;
}

int
husk_registry_push (struct husk_store *s, const struct husk_image_list *list,
                    const struct husk_image *img, const char *dest,
                    const struct husk_push_options *o, struct husk_push_result *ret,
                    struct husk_error **err)
{
  struct husk_reference ref;
  cleanup_free char *name = NULL;
  int rc;

  memset (ret, 0, sizeof (*ret));
  if (husk_reference_parse (dest, &ref, err) < 0)
    return husk_error_wrap (err, "push \"%s\"", dest);
  name = husk_reference_string (&ref);
  rc = do_push (s, list, img, &ref, name, o, ret, err);
  if (rc < 0)
    husk_error_wrap (err, "push \"%s\"", dest);
  else
    ret->repository = husk_reference_repository (&ref);
  husk_reference_clear (&ref);
  return rc;
}

/* The registry entry E of a list, from its source repository of the same registry as REF:
   its config and layers mounted, then its manifest put by digest.  */
static int
copy_registry_entry (struct husk_registry *reg, const struct husk_reference *ref,
                     const struct husk_manifest_list_entry *e, struct husk_push_result *ret,
                     struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_free char *mt = NULL;
  cleanup_free char *dg = NULL;
  struct husk_reference src;
  struct husk_manifest m = { 0 };
  size_t len;
  int rc = -1;

  if (e->source == NULL)
    return husk_error_set (err, 0, "entry %s: no image and no repository it came from", e->digest);
  if (husk_reference_parse (e->source, &src, err) < 0)
    return husk_error_wrap (err, "entry %s", e->digest);
  if (strcmp (src.domain, ref->domain) != 0)
    {
      husk_error_set (err, 0,
                      "entry %s: copying an image from %s to another registry is not "
                      "supported (pull it, and add the local image to the list)",
                      e->digest, e->source);
      goto out;
    }
  if (husk_registry_get_manifest (reg, src.path, e->digest, &buf, &len, &mt, &dg, err) < 0
      || husk_manifest_parse (buf, len, &m, err) < 0)
    {
      husk_error_wrap (err, "entry %s", e->digest);
      goto out;
    }
  {
    char got[HUSK_DIGEST_LEN + 1];
    husk_sha256_buf (buf, len, got);
    if (strcmp (got, e->digest) != 0)
      {
        husk_error_set (err, 0, "entry %s: %s has another manifest (%s)", e->digest, e->source,
                        got);
        goto out;
      }
  }
  for (size_t i = 0; i <= m.n_layers; i++)
    {
      const struct husk_descriptor *d = i < m.n_layers ? &m.layers[i] : &m.config;
      struct husk_upload u
          = { .digest = d->digest, .size = (uint64_t) d->size, .fd = -1, .mount_from = src.path };
      bool mounted;
      int have = strcmp (src.path, ref->path) == 0
                     ? 1
                     : husk_registry_blob_exists (reg, ref->path, d->digest, err);
      if (have < 0
          || (have == 0 && husk_registry_upload_blob (reg, ref->path, &u, &mounted, err) < 0))
        {
          husk_error_wrap (err, "entry %s", e->digest);
          goto out;
        }
      if (i < m.n_layers)
        {
          if (have)
            ret->layers_present++;
          else
            ret->layers_mounted++;
        }
    }
  if (put_document (reg, ref->path, e->digest, e->media_type, buf, len, e->digest, err) < 0)
    {
      husk_error_wrap (err, "entry %s", e->digest);
      goto out;
    }
  rc = 0;
out:
  husk_manifest_clear (&m);
  husk_reference_clear (&src);
  return rc;
}

int
husk_registry_push_list (struct husk_store *s, const struct husk_image_list *list,
                         const struct husk_manifest_list *l, const char *dest,
                         const struct husk_push_options *o, struct husk_push_result *ret,
                         struct husk_error **err)
{
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *repo = NULL;
  struct husk_reference ref;
  struct husk_push_options eo = *o;
  char digest[HUSK_DIGEST_LEN + 1];
  int rc = -1;

  memset (ret, 0, sizeof (*ret));
  if (husk_reference_parse (dest, &ref, err) < 0)
    return husk_error_wrap (err, "push \"%s\"", dest);
  repo = husk_reference_repository (&ref);
  if (l->index == NULL)
    {
      husk_error_set (err, 0, "manifest list \"%s\" has no index", l->name);
      goto out;
    }
  husk_sha256_buf (l->index, l->index_len, digest);
  if (ref.digest && strcmp (ref.digest, digest) != 0)
    {
      husk_error_set (err, 0, "the destination names the digest %s, the list is %s", ref.digest,
                      digest);
      goto out;
    }
  /* The entries' manifests must be the ones the index names: pushed as they are.  */
  eo.format = HUSK_PUSH_FORMAT_KEEP;
  eo.compression = HUSK_COMPRESSION_NONE;
  reg = husk_registry_new (ref.domain, o->tls_verify, HUSK_REGISTRY_PUSH, err);
  if (reg == NULL)
    goto out;
  for (size_t i = 0; i < l->n_entries; i++)
    {
      const struct husk_manifest_list_entry *e = &l->entries[i];
      const struct husk_image *img = NULL;

      if (e->image_id == NULL)
        {
          if (copy_registry_entry (reg, &ref, e, ret, err) < 0)
            goto out;
          continue;
        }
      for (size_t k = 0; k < list->n && img == NULL; k++)
        if (strcmp (list->items[k].id, e->image_id) == 0)
          img = &list->items[k];
      if (img == NULL)
        {
          husk_error_set (err, 0, "entry %s: image %.12s is no longer in the store", e->digest,
                          e->image_id);
          goto out;
        }
      if (img->manifest == NULL || strcmp (img->manifest, e->digest) != 0)
        {
          husk_error_set (err, 0, "entry %s: image %.12s has another manifest now (%s)", e->digest,
                          e->image_id, img->manifest ? img->manifest : "none");
          goto out;
        }
      {
        cleanup_free char *by_digest = husk_strdup_printf ("%s@%s", repo, e->digest);
        struct husk_push_result one;
        if (husk_registry_push (s, list, img, by_digest, &eo, &one, err) < 0)
          {
            husk_error_wrap (err, "entry %s", e->digest);
            goto out;
          }
        ret->layers_present += one.layers_present;
        ret->layers_mounted += one.layers_mounted;
        ret->layers_uploaded += one.layers_uploaded;
        husk_push_result_clear (&one);
      }
    }
  if (put_document (reg, ref.path, ref.tag ? ref.tag : digest, l->media_type, l->index,
                    l->index_len, digest, err)
      < 0)
    goto out;
  memcpy (ret->digest, digest, sizeof (ret->digest));
  ret->repository = TAKE_PTR (repo);
  rc = 0;
out:
  if (rc < 0)
    husk_error_wrap (err, "push \"%s\"", dest);
  husk_reference_clear (&ref);
  return rc;
}
