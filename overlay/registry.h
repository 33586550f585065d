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
