#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "manifest.h"
#include "pull.h"
#include "reference.h"
#include "registry.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (8 * 1024 * 1024)
#define PARALLEL_LAYERS 3
#define PIPE_SIZE (1024 * 1024)

struct blob_job
{
  pthread_t thread;
  bool running;
  int wfd;
  const struct husk_descriptor *d;
  size_t index; /* In the manifest.  */
  bool opened;
  int rc;
  struct husk_error *err;
  struct remote *remote;
};

struct remote
{
  struct husk_registry *reg;
  const char *repo;
  const struct husk_manifest *m;
  struct blob_job *jobs;
  _Atomic bool cancel;
  const struct husk_progress *progress;
  pthread_mutex_t lock; /* Guards the jobs' opened and d.  */
};

static void
job_received (void *arg, uint64_t bytes)
{
  struct blob_job *job = arg;
  struct husk_progress_event ev = { .kind = HUSK_PROGRESS_LAYER_BYTES,
                                    .index = job->index,
                                    .n_layers = job->remote->m->n_layers,
                                    .digest = job->d->digest,
                                    .size = job->d->size,
                                    .bytes = bytes };
  husk_progress_emit (job->remote->progress, &ev);
}

static void *
download_thread (void *arg)
{
  struct blob_job *job = arg;
  struct husk_blob_progress progress = { .received = job_received, .arg = job };
  sigset_t set;

  /* A reader that stopped reading (its layer failed) closes the pipe: the write fails with
     EPIPE in this thread instead of killing the process.  */
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  job->rc = husk_registry_stream_blob (job->remote->reg, job->remote->repo, job->d, job->wfd,
                                       &job->remote->cancel,
                                       job->remote->progress ? &progress : NULL, &job->err);
  close (job->wfd);
  job->wfd = -1;
  return NULL;
}

/* The job for the importer's descriptor D: the one opened with it, or (OPEN) the first of
   its digest not opened yet.  */
static struct blob_job *
job_for (struct remote *rm, const struct husk_descriptor *d, bool open)
{
  struct blob_job *job = NULL;

  pthread_mutex_lock (&rm->lock);
  for (size_t i = 0; i < rm->m->n_layers && job == NULL; i++)
    {
      struct blob_job *j = &rm->jobs[i];
      if (open ? (!j->opened && strcmp (rm->m->layers[i].digest, d->digest) == 0)
               : (j->opened && j->d == d))
        job = j;
    }
  if (job && open)
    {
      job->opened = true;
      job->d = d;
    }
  pthread_mutex_unlock (&rm->lock);
  return job;
}

static int
open_layer (void *arg, const struct husk_descriptor *d, struct husk_error **err)
{
  struct remote *rm = arg;
  struct blob_job *job = job_for (rm, d, true);
  int fds[2];

  if (job == NULL)
    return husk_error_set (err, EINVAL, "layer %s: not in the manifest", d->digest);
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  /* Fewer wake-ups between the download and the unpacker; a smaller pipe works too.  */
  (void) fcntl (fds[1], F_SETPIPE_SZ, PIPE_SIZE);
  job->wfd = fds[1];
  job->remote = rm;
  if (pthread_create (&job->thread, NULL, download_thread, job) != 0)
    {
      close (fds[0]);
      close (fds[1]);
      return husk_error_set (err, EAGAIN, "layer %s: cannot start a download thread", d->digest);
    }
  job->running = true;
  return fds[0];
}

static int
close_layer (void *arg, const struct husk_descriptor *d, struct husk_error **err)
{
  struct remote *rm = arg;
  struct blob_job *job = job_for (rm, d, false);

  if (job == NULL || !job->running)
    return 0;
  pthread_join (job->thread, NULL);
  job->running = false;
  if (job->rc < 0)
    {
      *err = job->err;
      job->err = NULL;
      return -1;
    }
  return 0;
}

/* ------------------------------------------------------------ manifests  */

/* Fetch REF of REPO; verify it against EXPECT_DIGEST when given, else against the registry's
   Docker-Content-Digest when it sent one.  *RET_MT: the media type, from the response or the
   document.  */
static int
fetch_manifest (struct husk_registry *reg, const char *repo, const char *ref,
                const char *expect_digest, int64_t expect_size, char **ret_buf, size_t *ret_len,
                char **ret_mt, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_free char *ct = NULL;
  cleanup_free char *hdr_digest = NULL;
  cleanup_json husk_json *doc = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  const char *mt;
  size_t len;

  if (husk_registry_get_manifest (reg, repo, ref, &buf, &len, &ct, &hdr_digest, err) < 0)
    return -1;
  husk_sha256_buf (buf, len, got);
  if (expect_digest && strcmp (got, expect_digest) != 0)
    return husk_error_set (err, 0, "manifest %s: digest mismatch (content is %s)", expect_digest,
                           got);
  if (expect_size >= 0 && (int64_t) len != expect_size)
    return husk_error_set (err, 0, "manifest %s: size mismatch (%zu bytes, descriptor says %jd)",
                           expect_digest, len, (intmax_t) expect_size);
  if (!expect_digest && hdr_digest && husk_digest_is_sha256 (hdr_digest)
      && strcmp (got, hdr_digest) != 0)
    return husk_error_set (err, 0,
                           "manifest \"%s\": digest mismatch (registry says %s, content is %s)",
                           ref, hdr_digest, got);
  doc = husk_json_parse (buf, len, err);
  if (doc == NULL)
    return husk_error_wrap (err, "manifest \"%s\"", ref);
  mt = husk_json_get_string (doc, "mediaType");
  if (mt == NULL || !(husk_media_is_index (mt) || husk_media_is_manifest (mt)))
    {
      /* Older documents leave mediaType out: the response's type says what it is.  */
      if (mt == NULL && ct && (husk_media_is_index (ct) || husk_media_is_manifest (ct)))
        mt = ct;
      else if (mt == NULL && husk_json_get (doc, "manifests") && !husk_json_get (doc, "layers"))
        mt = HUSK_MT_OCI_INDEX;
      else if (mt == NULL && husk_json_get (doc, "layers"))
        mt = HUSK_MT_OCI_MANIFEST;
      else
        return husk_error_set (err, 0, "manifest \"%s\": unsupported media type \"%s\"", ref,
                               mt ? mt : (ct ? ct : ""));
    }
  *ret_mt = husk_xstrdup (mt);
  *ret_len = len;
  *ret_buf = TAKE_PTR (buf);
  return 0;
}

int
husk_registry_pull (struct husk_store *s, const char *reference, const struct husk_pull_options *o,
                    struct husk_pull_result *ret, char **ret_name, struct husk_error **err)
{
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *mt = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *os = NULL;
  cleanup_free char *arch = NULL;
  cleanup_free char *variant = NULL;
  cleanup_free struct blob_job *jobs = NULL;
  cleanup_free char *repo = NULL;
  cleanup_strv char **repo_digests = NULL;
  struct husk_reference ref = { 0 };
  struct husk_manifest m = { 0 };
  struct remote rm = { 0 };
  struct husk_import im = { .rootless = o->rootless };
  struct husk_import_source src = {
    .open_blob = open_layer, .close_blob = close_layer, .arg = &rm, .parallel = PARALLEL_LAYERS
  };
  char *names[2] = { NULL, NULL };
  char top_digest[HUSK_DIGEST_LEN + 1];
  size_t len, config_len;
  int rc = -1;

  if (husk_reference_parse (reference, &ref, err) < 0)
    return -1;
  if (o->platform && husk_platform_parse (o->platform, &os, &arch, &variant, err) < 0)
    goto out;
  reg = husk_registry_new (ref.domain, o->tls_verify, HUSK_REGISTRY_PULL, err);
  if (reg == NULL)
    goto out;
  if (o->progress)
    {
      cleanup_free char *what
          = husk_strdup_printf ("%s/%s%s%s", ref.domain, ref.path, ref.digest ? "@" : ":",
                                ref.digest ? ref.digest : ref.tag);
      struct husk_progress_event ev = { .kind = HUSK_PROGRESS_PULL, .name = what };
      husk_progress_emit (o->progress, &ev);
    }
  if (fetch_manifest (reg, ref.path, ref.digest ? ref.digest : ref.tag, ref.digest, -1, &buf, &len,
                      &mt, err)
      < 0)
    goto out;
  /* What the reference resolved to, recorded as the image's repo digest (docker's
     RepoDigests); through an index, the platform's manifest is recorded too, as podman does.  */
  husk_sha256_buf (buf, len, top_digest);
  repo = husk_reference_repository (&ref);
  repo_digests = husk_xcalloc (1, sizeof (char *));
  {
    cleanup_free char *rd = husk_strdup_printf ("%s@%s", repo, top_digest);
    husk_strv_append (&repo_digests, rd);
  }
  if (husk_media_is_index (mt))
    {
      struct husk_descriptor child = { 0 };
      cleanup_free char *cbuf = NULL;
      cleanup_free char *cmt = NULL;
      size_t clen;
      if (husk_index_select (buf, len, os ? os : "linux", arch ? arch : husk_host_arch (), variant,
                             &child, err)
          < 0)
        {
          husk_error_wrap (err, "index");
          goto out;
        }
      if (fetch_manifest (reg, ref.path, child.digest, child.digest, child.size, &cbuf, &clen, &cmt,
                          err)
          < 0)
        {
          husk_descriptor_clear (&child);
          goto out;
        }
      if (!husk_media_is_manifest (cmt))
        {
          husk_error_set (err, 0,
                          "manifest %s: unsupported media type \"%s\" (an index inside an index)",
                          child.digest, cmt);
          husk_descriptor_clear (&child);
          goto out;
        }
      {
        cleanup_free char *rd = husk_strdup_printf ("%s@%s", repo, child.digest);
        if (!husk_strv_contains (repo_digests, rd))
          husk_strv_append (&repo_digests, rd);
      }
      husk_descriptor_clear (&child);
      free (buf);
      buf = TAKE_PTR (cbuf);
      len = clen;
    }
  if (husk_manifest_parse (buf, len, &m, err) < 0)
    goto out;
  if (husk_registry_get_blob (reg, ref.path, &m.config, CONFIG_MAX, &config, &config_len, err) < 0)
    goto out;

  jobs = husk_xcalloc (m.n_layers, sizeof (*jobs));
  for (size_t i = 0; i < m.n_layers; i++)
    {
      jobs[i].wfd = -1;
      jobs[i].index = i;
    }
  pthread_mutex_init (&rm.lock, NULL);
  rm.reg = reg;
  rm.repo = ref.path;
  rm.m = &m;
  rm.jobs = jobs;
  rm.progress = o->progress;
  src.cancel = &rm.cancel;
  /* A pull by digest names no tag, even with one beside the digest: the tag may now be another
     image (docker/cli#2856).  */
  if (ref.tag && !ref.digest)
    name = husk_reference_string (&ref);
  names[0] = name;
  im.manifest = buf;
  im.manifest_len = len;
  im.config = config;
  im.config_len = config_len;
  im.names = name ? names : NULL;
  im.repo_digests = repo_digests;
  im.progress = o->progress;
  rc = husk_image_commit (s, &im, &src, ret, err);
  for (size_t i = 0; i < m.n_layers; i++)
    {
      if (jobs[i].running)
        {
          atomic_store (&rm.cancel, true);
          pthread_join (jobs[i].thread, NULL);
        }
      husk_error_free (&jobs[i].err);
    }
  pthread_mutex_destroy (&rm.lock);
  if (rc < 0)
    goto out;
  if (ret_name)
    *ret_name = TAKE_PTR (name);

out:
  if (rc < 0 && *err)
    husk_error_wrap (err, "pull \"%s\"", reference);
  husk_manifest_clear (&m);
  husk_reference_clear (&ref);
  return rc;
}
