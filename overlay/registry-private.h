/* Inside the registry client, shared by its files and by nothing else in husk: the client's
   state (registry.c makes it and sends requests; token.c answers authentication challenges
   and keeps the tokens) and the one exchange they both send.  */
#ifndef HUSK_REGISTRY_PRIVATE_H
#define HUSK_REGISTRY_PRIVATE_H

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "registry.h"

#define MAX_TRIES 5
#define TOKEN_MAX (1024 * 1024)
#define ERRBODY_MAX 2048
/* Idle curl handles a client keeps: as many as requests go at once (three layers, and one
   more).  */
#define HUSK_REGISTRY_IDLE_MAX 4

enum husk_auth_kind
{
  HUSK_AUTH_UNKNOWN,
  HUSK_AUTH_BEARER,
  HUSK_AUTH_BASIC,
};

struct husk_token
{
  char *scope;
  char *value;
  time_t expires; /* CLOCK_MONOTONIC seconds.  */
};

struct husk_registry
{
  /* Set up by husk_registry_new and husk_registry_set_credentials, before any request, and
     never changed after: read without the lock.  */
  char *domain;
  char *host;          /* The API host: docker.io's is registry-1.docker.io.  */
  const char *actions; /* The token scope's actions: "pull" or "pull,push".  */
  bool tls_verify;
  bool may_downgrade; /* Loopback, or --tls-verify=false: plain HTTP when TLS fails.  */
  char *user, *pass;
  char *ca_blob; /* System CAs plus the registry's certs.d ones; NULL for curl's default.  */
  size_t ca_len;

  /* Held by the one thread deciding the scheme, so the others wait for its answer instead of
     each probing (and each deciding) on its own.  Taken before LOCK, never inside it.  */
  pthread_mutex_t probe_lock;

  pthread_mutex_t lock; /* Guards what follows.  */
  /* "https" or "http" (static strings), set once and never changed; NULL until decided.  */
  const char *scheme;
  enum husk_auth_kind auth;
  char *realm, *service;
  struct husk_token *tokens;
  size_t n_tokens;
  /* Handles done with, kept with their connections for the next request (handle_get).  */
  CURL *idle[HUSK_REGISTRY_IDLE_MAX];
  size_t n_idle;
};

/* A request's body: BUF, or when BUF is NULL the first LEN bytes of FD (read with pread, so a
   redirect or a new try sends it again from its start).  */
struct husk_req_body
{
  const char *buf;
  int fd;
  uint64_t len;
  uint64_t pos;      /* Sent so far in this exchange.  */
  const char *ctype; /* Its Content-Type.  */
  int read_errno;    /* A read of FD that failed.  */
  const _Atomic bool *cancel;
  const struct husk_blob_progress *progress; /* Hears the bytes sent.  */
};

struct husk_resp
{
  /* The request, when it is not a GET: METHOD ("HEAD", "POST", "PUT", "PATCH", "DELETE"), and
     for POST, PUT and PATCH the body (NULL: an empty one).  */
  const char *method;
  struct husk_req_body *body;

  long status;
  char *www_auth, *location, *content_type, *retry_after, *docker_digest;
  /* Body into a buffer...  */
  char *buf;
  size_t len, max;
  bool too_big;
  /* ... or into an fd.  */
  int fd;
  uint64_t range_from, skip, written;
  bool body_started;
  int fd_errno;
  const _Atomic bool *cancel;
  const struct husk_blob_progress *progress;
  long timeout_s; /* For the whole exchange, redirects included; 0: none.  */
  char errbody[ERRBODY_MAX + 1];
  size_t errlen;
};

/* CLOCK_MONOTONIC seconds, and a sleep that EINTR does not cut short.  */
static inline time_t
husk_now_mono (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

static inline void
husk_sleep_ms (long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Free RS's headers and body buffer (not its fd).  */
void husk_resp_clear (struct husk_resp *rs);

/* One request to URL, following redirects by hand: AUTHZ (an Authorization header value, or
   NULL) goes only to ORIGIN ("scheme://host[:port]"), never to another host a redirect names.
   ACCEPT is a whole "Accept: ..." header line or NULL.  The answer lands in RS; ERRBUF
   (CURL_ERROR_SIZE bytes) gets curl's message when the result is not CURLE_OK.  */
CURLcode husk_registry_exchange (struct husk_registry *r, CURL *c, const char *url,
                                 const char *origin, const char *accept, const char *authz,
                                 struct husk_resp *rs, char *errbuf);

/* token.c.  The Authorization value to send for REPO (NULL: the registry itself) now, or NULL
   when there is none; the caller holds no lock.  FROM (may be NULL): a second repository the
   request reads, a cross-repository mount's source, whose "pull" the token must carry too.  */
char *husk_registry_authz (struct husk_registry *r, const char *repo, const char *from);
/* After a 401 whose WWW-Authenticate is WWW_AUTH (may be NULL): learn the registry's scheme
   and, for Bearer, fetch a token for REPO with the client's actions, so that the next try
   carries what it needs.  Errors: "authentication required (...)", "token service
   \"REALM\": REASON", "unsupported authentication scheme \"SCHEME\"".  */
int husk_registry_challenge (struct husk_registry *r, CURL *c, const char *repo, const char *from,
                             const char *www_auth, struct husk_error **err);

#endif
