/* The registry client (the OCI distribution API over libcurl): manifests and blobs with
   anonymous, Bearer-token and Basic auth; HTTP for loopback hosts, HTTPS with the system CAs
   and certs.d elsewhere; retries with backoff on 5xx and 429; blob downloads that resume with
   a Range request.  One client may be used by several threads at once.  */
#ifndef HUSK_REGISTRY_H
#define HUSK_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"

struct husk_registry;

/* What the client's Bearer tokens are asked for (the scope "repository:REPO:ACTIONS" of the
   distribution spec's token authentication).  */
enum husk_registry_access
{
  HUSK_REGISTRY_PULL, /* "pull" */
  HUSK_REGISTRY_PUSH, /* "pull,push": a push also reads (mounts, existing blobs).  */
};

/* A client for DOMAIN (a reference's domain: "docker.io", "127.0.0.1:5000").  TLS_VERIFY
   false: HTTPS without certificate checks, falling back to plain HTTP, as for a loopback
   registry; which of the two a registry speaks is decided once, by the client's first
   request, and kept.  ACCESS: the token scope's actions.  Credentials come from the auth files
   unless set with husk_registry_set_credentials.  NULL with *ERR set when an auth file is
   unreadable.  */
struct husk_registry *husk_registry_new (const char *domain, bool tls_verify,
                                         enum husk_registry_access access, struct husk_error **err);
void husk_registry_free (struct husk_registry *r);
/* Replace the credentials (copied; either may be NULL).  Part of the setup: call it before
   the client's first request, never while another thread uses it.  */
void husk_registry_set_credentials (struct husk_registry *r, const char *user, const char *pass);

/* GET /v2/ with whatever auth the registry asks for: checks credentials (husk login).  */
int husk_registry_ping (struct husk_registry *r, struct husk_error **err);

/* The manifest or index REF (a tag or a digest) of REPO.  *RET_MEDIA_TYPE is the response's
   Content-Type (or NULL); *RET_DIGEST the Docker-Content-Digest header (or NULL).  */
int husk_registry_get_manifest (struct husk_registry *r, const char *repo, const char *ref,
                                char **ret_buf, size_t *ret_len, char **ret_media_type,
                                char **ret_digest, struct husk_error **err);

/* A small blob (a config), read whole and verified against D.  */
int husk_registry_get_blob (struct husk_registry *r, const char *repo,
                            const struct husk_descriptor *d, size_t max, char **ret_buf,
                            size_t *ret_len, struct husk_error **err);

/* How a blob download reports what it has: RECEIVED is called from the downloading thread
   after each piece is written, with the bytes written so far.  */
struct husk_blob_progress
{
  void (*received) (void *arg, uint64_t bytes);
  void *arg;
};

/* Write the blob D of REPO into FD as it arrives (no verification here: the reader verifies),
   resuming with a Range request when the transfer breaks.  Stops when *CANCEL becomes true or
   FD's reader goes away.  PROGRESS may be NULL.  */
int husk_registry_stream_blob (struct husk_registry *r, const char *repo,
                               const struct husk_descriptor *d, int fd, const _Atomic bool *cancel,
                               const struct husk_blob_progress *progress, struct husk_error **err);

/* Pushing (the distribution spec's "Push" section).  A client made with HUSK_REGISTRY_PUSH.  */

/* HEAD /v2/REPO/blobs/DIGEST: 1 when the registry has the blob, 0 when it answers 404,
   negative with *ERR set ("blob DIGEST: ...") otherwise.  Retried on 5xx and 429.  */
int husk_registry_blob_exists (struct husk_registry *r, const char *repo, const char *digest,
                               struct husk_error **err);

/* Blobs up to this size go in the PUT that closes their upload; larger ones stream in one
   PATCH first (the spec's "chunked" upload with a single chunk), in bytes.  */
#define HUSK_UPLOAD_MONOLITHIC_MAX (8 * 1024 * 1024)

/* One blob to upload: SIZE bytes that hash to DIGEST, from BUF, or from FD (read with pread
   from offset 0) when BUF is NULL; with neither (FD -1), a mount only, which fails when the
   registry declines it.  */
struct husk_upload
{
  const char *digest;
  uint64_t size;
  const char *buf;
  int fd;
  /* A repository of the same registry that has the blob (it was pulled from there, or
     pushed there): the upload asks the registry to mount it from there first
     (POST ...?mount=DIGEST&from=REPO) and uploads only when the registry declines.  NULL:
     no mount.  */
  const char *mount_from;
  const _Atomic bool *cancel;                /* May be NULL.  */
  const struct husk_blob_progress *progress; /* Hears the bytes sent; may be NULL.  */
};

/* Upload U to REPO: POST an upload (with the mount, when U asks for one), then send the data
   (a PUT ?digest=, or a PATCH and the PUT for large blobs).  A 5xx, a 429 (after its
   Retry-After) or a broken connection starts a new upload from the first byte, up to 5 tries
   with backoff; a refused mount becomes an upload.  *RET_MOUNTED: the registry mounted it.
   A registry that answers with a Docker-Content-Digest other than U's is an error.  Errors
   are "blob DIGEST: REASON (HTTP N: MESSAGE)".  */
int husk_registry_upload_blob (struct husk_registry *r, const char *repo,
                               const struct husk_upload *u, bool *ret_mounted,
                               struct husk_error **err);

/* HEAD /v2/REPO/manifests/REF, accepting MEDIA_TYPE: 1 when the registry has it, with
   *RET_DIGEST its Docker-Content-Digest (NULL when it sent none), 0 when it answers 404,
   negative with *ERR set otherwise.  */
int husk_registry_manifest_digest (struct husk_registry *r, const char *repo, const char *ref,
                                   const char *media_type, char **ret_digest,
                                   struct husk_error **err);

/* PUT /v2/REPO/manifests/REF (a tag or a digest) with Content-Type MEDIA_TYPE.  *RET_DIGEST
   (may be NULL): the Docker-Content-Digest the registry answered with, NULL when it sent
   none.  Retried on 5xx and 429.  Errors: "manifest \"REF\": REASON (HTTP N: MESSAGE)" (a
   registry refuses a manifest that names a blob it lacks: MANIFEST_BLOB_UNKNOWN).  */
int husk_registry_put_manifest (struct husk_registry *r, const char *repo, const char *ref,
                                const char *media_type, const char *buf, size_t len,
                                char **ret_digest, struct husk_error **err);

/* A WWW-Authenticate challenge: the scheme and the parameters husk uses.  Values may be quoted
   strings with backslash escapes.  Only the first challenge of the header is read.  */
struct husk_challenge
{
  char *scheme;
  char *realm, *service, *scope;
};
int husk_challenge_parse (const char *s, struct husk_challenge *ret);
void husk_challenge_clear (struct husk_challenge *ch);

static inline void
husk_registry_freep (struct husk_registry **r)
{
  husk_registry_free (*r);
}
#define cleanup_registry __attribute__ ((cleanup (husk_registry_freep)))

#endif
