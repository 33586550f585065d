/* The registry client: setup (TLS, certs.d, credentials), the HTTP exchange, the scheme, and
   requests with retries and resumption (registry.h).  Authentication is token.c's.  */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "registry-private.h"
#include "util.h"
#include "banned.h"

#define MAX_REDIRECTS 10
#define MANIFEST_MAX (8 * 1024 * 1024)
/* How long the scheme probe waits for /v2/'s answer over one scheme: other requests wait for
   the probe, and a server that accepts connections but never answers must not hold them past
   this.  */
#define PROBE_TIMEOUT_S 30
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static const char manifest_accept[] = "Accept: " HUSK_MT_OCI_MANIFEST ", " HUSK_MT_OCI_INDEX
                                      ", " HUSK_MT_DOCKER_MANIFEST ", " HUSK_MT_DOCKER_LIST;

static void
resp_reset_headers (struct husk_resp *rs)
{
  free (rs->www_auth);
  free (rs->location);
  free (rs->content_type);
  free (rs->retry_after);
  free (rs->docker_digest);
  rs->www_auth = rs->location = rs->content_type = rs->retry_after = rs->docker_digest = NULL;
  rs->status = 0;
  rs->errlen = 0;
  rs->errbody[0] = '\0';
  rs->body_started = false;
  rs->skip = 0;
}

void
husk_resp_clear (struct husk_resp *rs)
{
  resp_reset_headers (rs);
  free (rs->buf);
  rs->buf = NULL;
  rs->len = 0;
}

/* ------------------------------------------------------------------ setup  */

static bool
host_is_loopback (const char *domain)
{
  cleanup_free char *h = NULL;
  unsigned char addr[16];

  if (domain[0] == '[')
    {
      const char *end = strchr (domain, ']');
      if (end == NULL)
        return false;
      h = husk_xstrdup (domain + 1);
      h[end - domain - 1] = '\0';
    }
  else
    {
      h = husk_xstrdup (domain);
      h[strcspn (h, ":")] = '\0';
    }
  if (strcasecmp (h, "localhost") == 0)
    return true;
  if (inet_pton (AF_INET, h, addr) == 1)
    return addr[0] == 127;
  if (inet_pton (AF_INET6, h, addr) == 1)
    return IN6_IS_ADDR_LOOPBACK ((struct in6_addr *) addr);
  return false;
}

static void
append_file (char **buf, size_t *len, const char *path)
{
  cleanup_free char *data = NULL;
  size_t n;

  if (husk_read_file_at (AT_FDCWD, path, 16 * 1024 * 1024, &data, &n, NULL) < 0)
    return;
  *buf = husk_xrealloc (*buf, *len + n + 2);
  memcpy (*buf + *len, data, n);
  *len += n;
  (*buf)[(*len)++] = '\n';
  (*buf)[*len] = '\0';
}

/* The CA certificates of DIR (its *.crt files, as podman and Docker read certs.d).  */
static bool
append_cert_dir (char **buf, size_t *len, const char *dir)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *e;
  bool found = false;

  if (d == NULL)
    return false;
  while ((e = readdir (d)) != NULL)
    if (husk_str_has_suffix (e->d_name, ".crt"))
      {
        cleanup_free char *p = husk_strdup_printf ("%s/%s", dir, e->d_name);
        append_file (buf, len, p);
        found = true;
      }
  return found;
}

static void
load_cert_dirs (struct husk_registry *r)
{
  const char *xdg = getenv ("XDG_CONFIG_HOME");
  const char *home = getenv ("HOME");
  cleanup_free char *user_dir = NULL;
  cleanup_free char *extra = NULL;
  size_t extra_len = 0;
  bool found = false;

  if (xdg && *xdg)
    user_dir = husk_strdup_printf ("%s/containers/certs.d/%s", xdg, r->domain);
  else if (home && *home)
    user_dir = husk_strdup_printf ("%s/.config/containers/certs.d/%s", home, r->domain);
  {
    cleanup_free char *etc = husk_strdup_printf ("/etc/containers/certs.d/%s", r->domain);
    cleanup_free char *docker = husk_strdup_printf ("/etc/docker/certs.d/%s", r->domain);
    found |= append_cert_dir (&extra, &extra_len, etc);
    if (user_dir)
      found |= append_cert_dir (&extra, &extra_len, user_dir);
    found |= append_cert_dir (&extra, &extra_len, docker);
  }
  if (!found)
    return;
  append_file (&r->ca_blob, &r->ca_len, SYSTEM_CA_BUNDLE);
  r->ca_blob = husk_xrealloc (r->ca_blob, r->ca_len + extra_len + 1);
  memcpy (r->ca_blob + r->ca_len, extra, extra_len);
  r->ca_len += extra_len;
  r->ca_blob[r->ca_len] = '\0';
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void
curl_init_once (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

struct husk_registry *
husk_registry_new (const char *domain, bool tls_verify, enum husk_registry_access access,
                   struct husk_error **err)
{
  struct husk_registry *r;
  char *user = NULL, *pass = NULL;
  int found;

  pthread_once (&curl_once, curl_init_once);
  found = husk_auth_lookup (domain, &user, &pass, err);
  if (found < 0)
    return NULL;
  r = husk_xcalloc (1, sizeof (*r));
  pthread_mutex_init (&r->lock, NULL);
  pthread_mutex_init (&r->probe_lock, NULL);
  r->domain = husk_xstrdup (domain);
  r->host = husk_xstrdup (strcmp (domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
  r->actions = access == HUSK_REGISTRY_PUSH ? "pull,push" : "pull";
  r->tls_verify = tls_verify;
  /* Docker talks plain HTTP to loopback registries; a loopback registry that speaks TLS is
     still verified: which of the two the server speaks is asked once (client_scheme).  Any
     other registry is HTTPS from the start.  */
  r->may_downgrade = !tls_verify || host_is_loopback (domain);
  r->scheme = r->may_downgrade ? NULL : "https";
  r->user = user;
  r->pass = pass;
  load_cert_dirs (r);
  return r;
}

void
husk_registry_set_credentials (struct husk_registry *r, const char *user, const char *pass)
{
  free (r->user);
  free (r->pass);
  r->user = user ? husk_xstrdup (user) : NULL;
  r->pass = pass ? husk_xstrdup (pass) : NULL;
}

void
husk_registry_free (struct husk_registry *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_tokens; i++)
    {
      free (r->tokens[i].scope);
      free (r->tokens[i].value);
    }
  free (r->tokens);
  for (size_t i = 0; i < r->n_idle; i++)
    curl_easy_cleanup (r->idle[i]);
  free (r->realm);
  free (r->service);
  free (r->domain);
  free (r->host);
  free (r->user);
  if (r->pass)
    explicit_bzero (r->pass, strlen (r->pass));
  free (r->pass);
  free (r->ca_blob);
  pthread_mutex_destroy (&r->probe_lock);
  pthread_mutex_destroy (&r->lock);
  free (r);
}

/* A curl handle for one request: one the client used before when there is one, so that its
   live connection (and TLS session) serves the next request too, instead of a new connection
   (and handshake) each time.  Back with handle_put; NULL when curl cannot make one.  */
static CURL *
handle_get (struct husk_registry *r)
{
  CURL *c = NULL;

  pthread_mutex_lock (&r->lock);
  if (r->n_idle > 0)
    c = r->idle[--r->n_idle];
  pthread_mutex_unlock (&r->lock);
  return c ? c : curl_easy_init ();
}

static void
handle_put (struct husk_registry *r, CURL *c)
{
  if (c == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->n_idle < HUSK_REGISTRY_IDLE_MAX)
    {
      r->idle[r->n_idle++] = c;
      c = NULL;
    }
  pthread_mutex_unlock (&r->lock);
  if (c)
    curl_easy_cleanup (c);
}

/* ------------------------------------------------------------- callbacks  */

static char *
header_value (const char *line, size_t n, const char *name)
{
  size_t k = strlen (name);
  const char *v, *end = line + n;
  char *out;

  if (n <= k || strncasecmp (line, name, k) != 0 || line[k] != ':')
    return NULL;
  v = line + k + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  out = husk_xmalloc ((size_t) (end - v) + 1);
  memcpy (out, v, (size_t) (end - v));
  out[end - v] = '\0';
  return out;
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *arg)
{
  struct husk_resp *rs = arg;
  size_t n = size * nmemb;
  char *v;

  if (n >= 5 && memcmp (data, "HTTP/", 5) == 0)
    {
      /* A new response (after a 100 Continue): forget the previous one's headers.  */
      const char *sp = memchr (data, ' ', n);
      resp_reset_headers (rs);
      if (sp)
        rs->status = strtol (sp + 1, NULL, 10);
      return n;
    }
#define KEEP(field, name)                                                                          \
  if ((v = header_value (data, n, name)) != NULL)                                                  \
    {                                                                                              \
      if (rs->field == NULL)                                                                       \
        rs->field = v;                                                                             \
      else                                                                                         \
        free (v);                                                                                  \
      return n;                                                                                    \
    }
  KEEP (www_auth, "WWW-Authenticate");
  KEEP (location, "Location");
  KEEP (content_type, "Content-Type");
  KEEP (retry_after, "Retry-After");
  KEEP (docker_digest, "Docker-Content-Digest");
#undef KEEP
  return n;
}

static size_t
on_body (char *data, size_t size, size_t nmemb, void *arg)
{
  struct husk_resp *rs = arg;
  size_t n = size * nmemb;

  if (rs->status < 200 || rs->status >= 300)
    {
      size_t room = ERRBODY_MAX - rs->errlen;
      size_t k = n < room ? n : room;
      memcpy (rs->errbody + rs->errlen, data, k);
      rs->errlen += k;
      rs->errbody[rs->errlen] = '\0';
      return n;
    }
  if (rs->fd >= 0)
    {
      if (!rs->body_started)
        {
          rs->body_started = true;
          /* A server that ignores Range sends the whole blob again.  */
          if (rs->status == 200 && rs->range_from > 0)
            rs->skip = rs->range_from;
        }
      if (rs->cancel && atomic_load (rs->cancel))
        {
          rs->fd_errno = ECANCELED;
          return 0;
        }
      if (rs->skip)
        {
          size_t k = rs->skip < n ? (size_t) rs->skip : n;
          rs->skip -= k;
          data += k;
          n -= k;
        }
      if (n && husk_write_all (rs->fd, data, n) < 0)
        {
          rs->fd_errno = errno;
          return 0;
        }
      rs->written += n;
      if (rs->progress && rs->progress->received)
        rs->progress->received (rs->progress->arg, rs->written);
      return size * nmemb;
    }
  if (rs->len + n > rs->max)
    {
      rs->too_big = true;
      return 0;
    }
  rs->buf = husk_xrealloc (rs->buf, rs->len + n + 1);
  memcpy (rs->buf + rs->len, data, n);
  rs->len += n;
  rs->buf[rs->len] = '\0';
  return n;
}

static size_t
on_read (char *data, size_t size, size_t nmemb, void *arg)
{
  struct husk_req_body *b = arg;
  size_t want = size * nmemb;
  uint64_t left = b->len - b->pos;

  if (b->cancel && atomic_load (b->cancel))
    {
      b->read_errno = ECANCELED;
      return CURL_READFUNC_ABORT;
    }
  if (want > left)
    want = (size_t) left;
  if (want == 0)
    return 0;
  if (b->buf)
    memcpy (data, b->buf + b->pos, want);
  else
    {
      ssize_t n;
      do
        n = pread (b->fd, data, want, (off_t) b->pos);
      while (n < 0 && errno == EINTR);
      if (n <= 0)
        {
          b->read_errno = n < 0 ? errno : EIO; /* EIO: the file is shorter than its size.  */
          return CURL_READFUNC_ABORT;
        }
      want = (size_t) n;
    }
  b->pos += want;
  if (b->progress && b->progress->received)
    b->progress->received (b->progress->arg, b->pos);
  return want;
}

/* ------------------------------------------------------------- exchanges  */

/* Whether URL is on ORIGIN ("scheme://host[:port]").  */
static bool
same_origin (const char *url, const char *origin)
{
  size_t n = strlen (origin);
  return strncasecmp (url, origin, n) == 0 && (url[n] == '/' || url[n] == '\0' || url[n] == '?');
}

static void
setup_handle (struct husk_registry *r, CURL *c, struct husk_resp *rs, struct curl_slist *headers,
              char *errbuf)
{
  curl_easy_reset (c);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, rs);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, rs);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_USERAGENT, "husk/" PACKAGE_VERSION);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled transfer is broken: under 1 byte/s for 60 s.  */
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (!r->tls_verify)
    {
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  else if (r->ca_blob)
    {
      struct curl_blob blob = { .data = r->ca_blob, .len = r->ca_len, .flags = CURL_BLOB_NOCOPY };
      curl_easy_setopt (c, CURLOPT_CAINFO_BLOB, &blob);
    }
}

/* One request, following redirects by hand: AUTHZ (an Authorization header value) goes only to
   ORIGIN, never to another host a redirect names.  */
CURLcode
husk_registry_exchange (struct husk_registry *r, CURL *c, const char *url, const char *origin,
                        const char *accept, const char *authz, struct husk_resp *rs, char *errbuf)
{
  cleanup_free char *cur = husk_xstrdup (url);

  for (int hop = 0; hop <= MAX_REDIRECTS; hop++)
    {
      struct curl_slist *headers = NULL;
      cleanup_free char *auth_line = NULL;
      cleanup_free char *range_line = NULL;
      cleanup_free char *ctype_line = NULL;
      struct husk_req_body empty_body = { .fd = -1 };
      char *next = NULL;
      CURLcode code;

      if (accept)
        headers = curl_slist_append (headers, accept);
      if (authz && same_origin (cur, origin))
        {
          auth_line = husk_strdup_printf ("Authorization: %s", authz);
          headers = curl_slist_append (headers, auth_line);
        }
      if (rs->fd >= 0 && rs->range_from > 0)
        {
          range_line = husk_strdup_printf ("Range: bytes=%ju-", (uintmax_t) rs->range_from);
          headers = curl_slist_append (headers, range_line);
        }
      if (rs->body && rs->body->ctype)
        {
          ctype_line = husk_strdup_printf ("Content-Type: %s", rs->body->ctype);
          headers = curl_slist_append (headers, ctype_line);
        }
      if (rs->method && strcmp (rs->method, "HEAD") != 0 && strcmp (rs->method, "DELETE") != 0)
        /* No "Expect: 100-continue": a round trip per upload for nothing.  */
        headers = curl_slist_append (headers, "Expect:");
      resp_reset_headers (rs);
      errbuf[0] = '\0';
      setup_handle (r, c, rs, headers, errbuf);
      if (rs->method && strcmp (rs->method, "HEAD") == 0)
        curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
      else if (rs->method && strcmp (rs->method, "DELETE") == 0)
        curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, "DELETE");
      else if (rs->method)
        {
          /* POST, PUT and PATCH send a body (maybe empty) with its Content-Length.  */
          if (rs->body)
            {
              rs->body->pos = 0; /* A redirect sends it again from its start.  */
              rs->body->read_errno = 0;
            }
          curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
          curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, rs->method);
          curl_easy_setopt (c, CURLOPT_READFUNCTION, on_read);
          curl_easy_setopt (c, CURLOPT_READDATA, rs->body ? rs->body : &empty_body);
          curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE,
                            (curl_off_t) (rs->body ? rs->body->len : 0));
        }
      if (rs->timeout_s > 0)
        curl_easy_setopt (c, CURLOPT_TIMEOUT, rs->timeout_s);
      curl_easy_setopt (c, CURLOPT_URL, cur);
      code = curl_easy_perform (c);
      curl_slist_free_all (headers);
      if (code != CURLE_OK)
        return code;
      if (rs->status != 301 && rs->status != 302 && rs->status != 303 && rs->status != 307
          && rs->status != 308)
        return CURLE_OK;
      if (curl_easy_getinfo (c, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || next == NULL)
        return CURLE_OK;
      free (cur);
      cur = husk_xstrdup (next);
    }
  snprintf (errbuf, CURL_ERROR_SIZE, "more than %d redirects", MAX_REDIRECTS);
  return CURLE_TOO_MANY_REDIRECTS;
}

/* -------------------------------------------------------------- requests  */

static bool
transient (CURLcode code)
{
  switch (code)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

/* The delay before try ATTEMPT+1: Retry-After when the server gave seconds, else backoff.  */
static long
retry_delay_ms (const struct husk_resp *rs, int attempt)
{
  uint64_t secs;
  if (rs->retry_after && husk_parse_u64 (rs->retry_after, 60, &secs) == 0)
    return (long) secs * 1000;
  return 250L << attempt;
}

/* A registry error body's first message ({"errors":[{"code":..,"message":..}]}).  */
static char *
registry_message (const struct husk_resp *rs)
{
  cleanup_json husk_json *doc = NULL;
  const husk_json *e;
  const char *msg;

  if (rs->errlen == 0)
    return NULL;
  doc = husk_json_parse (rs->errbody, rs->errlen, NULL);
  e = husk_json_array_at (husk_json_get (doc, "errors"), 0);
  msg = husk_json_get_string (e, "message");
  if (msg == NULL || *msg == '\0')
    return NULL;
  return husk_xstrdup (msg);
}

static const char *
status_reason (long status)
{
  switch (status)
    {
    case 400:
      return "bad request";
    case 401:
      return "authentication required";
    case 403:
      return "access denied";
    case 404:
      return "not found";
    case 416:
      return "range not satisfiable";
    case 429:
      return "too many requests";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      return "unexpected response";
    }
}

/* Whether SCHEME://HOST/v2/ gets an HTTP answer, whatever its status: the server speaks that
   scheme.  *RET_CODE: how the exchange ended.  */
static bool
speaks (struct husk_registry *r, CURL *c, const char *scheme, CURLcode *ret_code, long *ret_status)
{
  cleanup_free char *origin = husk_strdup_printf ("%s://%s", scheme, r->host);
  cleanup_free char *url = husk_strdup_printf ("%s/v2/", origin);
  struct husk_resp rs = { .fd = -1, .max = 64 * 1024, .timeout_s = PROBE_TIMEOUT_S };
  char errbuf[CURL_ERROR_SIZE];
  bool answered;

  *ret_code = husk_registry_exchange (r, c, url, origin, NULL, NULL, &rs, errbuf);
  answered = rs.status > 0;
  *ret_status = rs.status;
  husk_resp_clear (&rs);
  return answered;
}

/* The scheme to talk to R in.  A registry that may speak plain HTTP is asked once, by the
   first request that needs it, while the others wait: HTTP if /v2/ answers a plain request
   with anything but 400, else HTTPS if it answers over TLS.  The answer is kept for the client's
   life (threads downloading blobs share it; issue 10): written once under LOCK, never freed or
   replaced, and a receive error on a later request is that request's error, not a reason to
   change it.  Each probe is bounded (PROBE_TIMEOUT_S).  When neither answered (the server is
   down), nothing is kept and this try goes out over HTTPS, to fail or be retried.  A pull asks
   for its manifest before any blob, so the scheme is decided before the parallel downloads
   start.  */
static const char *
client_scheme (struct husk_registry *r, CURL *c)
{
  const char *scheme;

  pthread_mutex_lock (&r->lock);
  scheme = r->scheme;
  pthread_mutex_unlock (&r->lock);
  if (scheme)
    return scheme;

  pthread_mutex_lock (&r->probe_lock);
  pthread_mutex_lock (&r->lock);
  scheme = r->scheme; /* Decided by the thread this one waited for.  */
  pthread_mutex_unlock (&r->lock);
  if (scheme == NULL)
    {
      CURLcode code;
      long status = 0;
      /* Plain HTTP is asked first: a TLS handshake that fails costs the loading of every CA
         certificate (100 ms and more), and most registries that may downgrade are test and
         development ones on loopback that speak HTTP.  A TLS server answers an HTTP request
         with 400 (Go's and nginx's "HTTP request to an HTTPS port") or not at all: then HTTPS.
         The probe carries no credentials.  */
      if (speaks (r, c, "http", &code, &status) && status != 400)
        scheme = "http";
      else if (speaks (r, c, "https", &code, &status))
        scheme = "https";
      if (scheme)
        {
          pthread_mutex_lock (&r->lock);
          r->scheme = scheme;
          pthread_mutex_unlock (&r->lock);
        }
    }
  pthread_mutex_unlock (&r->probe_lock);
  return scheme ? scheme : "https";
}

/* The error for RS's status: "REASON (HTTP N: the registry's message)".  */
static int
status_error (const struct husk_resp *rs, struct husk_error **err)
{
  cleanup_free char *msg = registry_message (rs);
  return husk_error_set (err, 0, "%s (HTTP %ld%s%s)", status_reason (rs->status), rs->status,
                         msg ? ": " : "", msg ? msg : "");
}

/* Send RS's request to TARGET (a path under /v2/, or an absolute URL a registry gave, such as
   an upload's Location) of REPO (FROM: see husk_registry_authz) with auth, until it has an
   answer: a 401 is answered once with its challenge, and when RETRY (a request that may be
   sent again: not one step of an upload) a transient failure, a 5xx or a 429 is tried again
   with backoff (a GET of a blob into an fd resumes where it broke).  0 with RS->status set
   whatever it is; -1 when there was no answer to give.  */
static int
send_request (struct husk_registry *r, CURL *c, const char *repo, const char *from,
              const char *target, const char *accept, bool retry, struct husk_resp *rs,
              struct husk_error **err)
{
  bool auth_tried = false;
  int attempt = 0;

  for (;;)
    {
      cleanup_free char *origin = husk_strdup_printf ("%s://%s", client_scheme (r, c), r->host);
      cleanup_free char *url = NULL;
      cleanup_free char *authz = husk_registry_authz (r, repo, from);
      char errbuf[CURL_ERROR_SIZE];
      uint64_t before = rs->written;
      CURLcode code;

      if (target[0] == '/')
        url = husk_strdup_printf ("%s%s", origin, target);
      else if (strstr (target, "://"))
        url = husk_xstrdup (target);
      else
        url = husk_strdup_printf ("%s/v2/%s", origin, target);
      if (rs->fd >= 0)
        rs->range_from = rs->written;
      else
        {
          free (rs->buf);
          rs->buf = NULL;
          rs->len = 0;
        }
      code = husk_registry_exchange (r, c, url, origin, accept, authz, rs, errbuf);
      if (code != CURLE_OK)
        {
          if (rs->fd_errno == ECANCELED || (rs->body && rs->body->read_errno == ECANCELED))
            return husk_error_set (err, ECANCELED, "cancelled");
          if (rs->fd_errno)
            return husk_error_set (err, rs->fd_errno, "write");
          if (rs->body && rs->body->read_errno)
            return husk_error_set (err, rs->body->read_errno, "read");
          if (rs->too_big)
            return husk_error_set (err, 0, "larger than %zu bytes", rs->max);
          if (rs->written > before)
            attempt = 0; /* Progress: resume without counting it against the tries.  */
          if (retry && transient (code) && ++attempt < MAX_TRIES)
            {
              husk_sleep_ms (250L << attempt);
              continue;
            }
          return husk_error_set (err, 0, "%s", *errbuf ? errbuf : curl_easy_strerror (code));
        }
      if (rs->status == 401)
        {
          if (auth_tried)
            return husk_error_set (err, 0, "%s (HTTP 401)",
                                   r->user ? "credentials rejected" : "authentication required");
          auth_tried = true;
          if (husk_registry_challenge (r, c, repo, from, rs->www_auth, err) < 0)
            return -1;
          continue;
        }
      if (retry && (rs->status == 429 || rs->status >= 500) && ++attempt < MAX_TRIES)
        {
          husk_sleep_ms (retry_delay_ms (rs, attempt - 1));
          continue;
        }
      return 0;
    }
}

/* GET /v2/PATH of REPO with auth, retries and (for a blob into an fd) resumption.  */
static int
request (struct husk_registry *r, CURL *c, const char *repo, const char *path, const char *accept,
         struct husk_resp *rs, struct husk_error **err)
{
  if (send_request (r, c, repo, NULL, path, accept, true, rs, err) < 0)
    return -1;
  if (rs->status == 200 || (rs->status == 206 && rs->fd >= 0 && rs->range_from > 0))
    return 0;
  return status_error (rs, err);
}

int
husk_registry_ping (struct husk_registry *r, struct husk_error **err)
{
  CURL *c = handle_get (r);
  struct husk_resp rs = { .fd = -1, .max = 64 * 1024 };
  int rc;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  rc = request (r, c, NULL, "", NULL, &rs, err);
  if (rc < 0)
    husk_error_wrap (err, "registry \"%s\"", r->domain);
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

int
husk_registry_get_manifest (struct husk_registry *r, const char *repo, const char *ref,
                            char **ret_buf, size_t *ret_len, char **ret_media_type,
                            char **ret_digest, struct husk_error **err)
{
  CURL *c = handle_get (r);
  cleanup_free char *path = husk_strdup_printf ("%s/manifests/%s", repo, ref);
  struct husk_resp rs = { .fd = -1, .max = MANIFEST_MAX };
  int rc = -1;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  if (request (r, c, repo, path, manifest_accept, &rs, err) < 0)
    {
      husk_error_wrap (err, "manifest \"%s\"", ref);
      goto out;
    }
  if (rs.buf == NULL)
    {
      husk_error_set (err, 0, "manifest \"%s\": empty response", ref);
      goto out;
    }
  *ret_len = rs.len;
  *ret_buf = TAKE_PTR (rs.buf);
  if (rs.content_type)
    rs.content_type[strcspn (rs.content_type, "; ")] = '\0';
  *ret_media_type = TAKE_PTR (rs.content_type);
  *ret_digest = TAKE_PTR (rs.docker_digest);
  rc = 0;
out:
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

int
husk_registry_get_blob (struct husk_registry *r, const char *repo, const struct husk_descriptor *d,
                        size_t max, char **ret_buf, size_t *ret_len, struct husk_error **err)
{
  CURL *c = NULL;
  cleanup_free char *path = NULL;
  struct husk_resp rs = { .fd = -1, .max = max };
  char got[HUSK_DIGEST_LEN + 1];
  int rc = -1;

  if (d->size < 0 || (uint64_t) d->size > max)
    return husk_error_set (err, 0, "blob %s: %jd bytes is too large for a config", d->digest,
                           (intmax_t) d->size);
  c = handle_get (r);
  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  path = husk_strdup_printf ("%s/blobs/%s", repo, d->digest);
  rs.max = (size_t) d->size + 1;
  if (request (r, c, repo, path, NULL, &rs, err) < 0)
    {
      if (rs.too_big)
        {
          husk_error_free (err);
          husk_error_set (err, 0, "size mismatch (more than the %jd bytes its descriptor says)",
                          (intmax_t) d->size);
        }
      husk_error_wrap (err, "blob %s", d->digest);
      goto out;
    }
  if ((int64_t) rs.len != d->size)
    {
      husk_error_set (err, 0, "blob %s: size mismatch (%zu bytes, descriptor says %jd)", d->digest,
                      rs.len, (intmax_t) d->size);
      goto out;
    }
  husk_sha256_buf (rs.buf ? rs.buf : "", rs.len, got);
  if (strcmp (got, d->digest) != 0)
    {
      husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", d->digest, got);
      goto out;
    }
  if (rs.buf == NULL)
    rs.buf = husk_xstrdup ("");
  *ret_len = rs.len;
  *ret_buf = TAKE_PTR (rs.buf);
  rc = 0;
out:
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

int
husk_registry_stream_blob (struct husk_registry *r, const char *repo,
                           const struct husk_descriptor *d, int fd, const _Atomic bool *cancel,
                           const struct husk_blob_progress *progress, struct husk_error **err)
{
  CURL *c = handle_get (r);
  cleanup_free char *path = husk_strdup_printf ("%s/blobs/%s", repo, d->digest);
  struct husk_resp rs = { .fd = fd, .cancel = cancel, .progress = progress };
  int rc;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  rc = request (r, c, repo, path, NULL, &rs, err);
  if (rc < 0)
    husk_error_wrap (err, "blob %s", d->digest);
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

/* ------------------------------------------------------------------ push  */

#define UPLOAD_RESP_MAX (64 * 1024)

int
husk_registry_blob_exists (struct husk_registry *r, const char *repo, const char *digest,
                           struct husk_error **err)
{
  CURL *c = handle_get (r);
  cleanup_free char *path = husk_strdup_printf ("%s/blobs/%s", repo, digest);
  struct husk_resp rs = { .fd = -1, .max = UPLOAD_RESP_MAX, .method = "HEAD" };
  int rc = -1;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  if (send_request (r, c, repo, NULL, path, NULL, true, &rs, err) < 0)
    husk_error_wrap (err, "blob %s", digest);
  else if (rs.status == 200)
    rc = 1;
  else if (rs.status == 404)
    rc = 0;
  else
    {
      status_error (&rs, err);
      husk_error_wrap (err, "blob %s", digest);
    }
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

/* TARGET with "digest=DIGEST" added to its query.  */
static char *
with_digest (const char *target, const char *digest)
{
  return husk_strdup_printf ("%s%cdigest=%s", target, strchr (target, '?') ? '&' : '?', digest);
}

/* Whether a failed upload step is worth a new upload: the registry or the connection failed,
   not the request.  */
static bool
upload_retryable (const struct husk_resp *rs, const struct husk_error *e)
{
  if (e && e->errnum != 0)
    return false; /* Cancelled, or the blob could not be read: the same next time.  */
  return rs->status == 0 || rs->status == 429 || rs->status >= 500;
}

/* One try of an upload: POST (with a mount when FROM), then the data.  1 when mounted, 0
   when uploaded, negative with *ERR set; RS->status is then the last HTTP status, 0 when the
   last exchange got no answer.  */
static int
upload_once (struct husk_registry *r, CURL *c, const char *repo, const struct husk_upload *u,
             const char *from, struct husk_resp *rs, struct husk_error **err)
{
  cleanup_free char *post = NULL;
  cleanup_free char *location = NULL;
  cleanup_free char *put = NULL;
  struct husk_req_body body = {
    .buf = u->buf,
    .fd = u->fd,
    .len = u->size,
    .ctype = "application/octet-stream",
    .cancel = u->cancel,
    .progress = u->progress,
  };

  if (from)
    {
      char *d = curl_easy_escape (c, u->digest, 0);
      char *f = curl_easy_escape (c, from, 0);
      post
          = husk_strdup_printf ("%s/blobs/uploads/?mount=%s&from=%s", repo, d ? d : "", f ? f : "");
      curl_free (d);
      curl_free (f);
    }
  else
    post = husk_strdup_printf ("%s/blobs/uploads/", repo);
  husk_resp_clear (rs);
  rs->method = "POST";
  rs->body = NULL;
  if (send_request (r, c, repo, from, post, NULL, false, rs, err) < 0)
    return -1;
  if (rs->status == 201 && from)
    return 1;
  if (u->buf == NULL && u->fd < 0)
    {
      if (rs->status == 202 && rs->location)
        {
          /* Give the upload the registry began back: nothing will be sent to it.  */
          cleanup_free char *loc = TAKE_PTR (rs->location);
          husk_resp_clear (rs);
          rs->method = "DELETE";
          rs->body = NULL;
          (void) send_request (r, c, repo, NULL, loc, NULL, false, rs, NULL);
          rs->status = 202;
        }
      return husk_error_set (err, 0, "the registry did not mount it from %s",
                             from ? from : "another repository");
    }
  if (rs->status != 202)
    return status_error (rs, err);
  if (rs->location == NULL)
    return husk_error_set (err, 0, "the registry started an upload without a Location");
  location = TAKE_PTR (rs->location);

  if (u->size > HUSK_UPLOAD_MONOLITHIC_MAX)
    {
      /* A large blob streams in one PATCH, then a PUT with no data closes the upload.  */
      husk_resp_clear (rs);
      rs->method = "PATCH";
      rs->body = &body;
      if (send_request (r, c, repo, NULL, location, NULL, false, rs, err) < 0)
        return -1;
      if (rs->status != 202 && rs->status != 204)
        return status_error (rs, err);
      if (rs->location)
        {
          free (location);
          location = TAKE_PTR (rs->location);
        }
      put = with_digest (location, u->digest);
      husk_resp_clear (rs);
      rs->method = "PUT";
      rs->body = NULL;
    }
  else
    {
      put = with_digest (location, u->digest);
      husk_resp_clear (rs);
      rs->method = "PUT";
      rs->body = &body;
    }
  if (send_request (r, c, repo, NULL, put, NULL, false, rs, err) < 0)
    return -1;
  if (rs->status != 201 && rs->status != 204)
    return status_error (rs, err);
  return 0;
}

int
husk_registry_upload_blob (struct husk_registry *r, const char *repo, const struct husk_upload *u,
                           bool *ret_mounted, struct husk_error **err)
{
  CURL *c = handle_get (r);
  struct husk_resp rs = { .fd = -1, .max = UPLOAD_RESP_MAX };
  const char *from = u->mount_from;
  int rc = -1;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  for (int attempt = 0;; attempt++)
    {
      cleanup_error struct husk_error *e = NULL;
      int got = upload_once (r, c, repo, u, from, &rs, &e);

      if (got >= 0)
        {
          /* The registry says which digest it stored: it must be the one asked for.  */
          if (rs.docker_digest && strcmp (rs.docker_digest, u->digest) != 0)
            {
              husk_error_set (err, 0, "the registry stored it as %s", rs.docker_digest);
              break;
            }
          *ret_mounted = got == 1;
          rc = 0;
          break;
        }
      if (u->buf == NULL && u->fd < 0)
        {
          /* A mount alone: nothing to upload in its place.  */
          *err = TAKE_PTR (e);
          break;
        }
      if (from && rs.status != 0 && rs.status < 500 && rs.status != 429)
        {
          /* A mount the registry (or the token) refuses: upload it instead.  */
          from = NULL;
          continue;
        }
      if (attempt + 1 < MAX_TRIES && upload_retryable (&rs, e))
        {
          /* Start a new upload from its first byte: what the registry kept of the broken one
             is not trusted.  */
          husk_sleep_ms (retry_delay_ms (&rs, attempt));
          from = NULL;
          continue;
        }
      *err = TAKE_PTR (e);
      break;
    }
  if (rc < 0)
    husk_error_wrap (err, "blob %s", u->digest);
  rs.method = NULL;
  rs.body = NULL;
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

int
husk_registry_put_manifest (struct husk_registry *r, const char *repo, const char *ref,
                            const char *media_type, const char *buf, size_t len, char **ret_digest,
                            struct husk_error **err)
{
  CURL *c = handle_get (r);
  cleanup_free char *path = husk_strdup_printf ("%s/manifests/%s", repo, ref);
  struct husk_req_body body = { .buf = buf, .fd = -1, .len = len, .ctype = media_type };
  struct husk_resp rs = { .fd = -1, .max = UPLOAD_RESP_MAX, .method = "PUT", .body = &body };
  int rc = -1;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  if (send_request (r, c, repo, NULL, path, NULL, true, &rs, err) < 0)
    ;
  else if (rs.status != 201 && rs.status != 200 && rs.status != 204)
    status_error (&rs, err);
  else
    {
      if (ret_digest)
        *ret_digest = TAKE_PTR (rs.docker_digest);
      rc = 0;
    }
  if (rc < 0)
    husk_error_wrap (err, "manifest \"%s\"", ref);
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}

int
husk_registry_manifest_digest (struct husk_registry *r, const char *repo, const char *ref,
                               const char *media_type, char **ret_digest, struct husk_error **err)
{
  CURL *c = handle_get (r);
  cleanup_free char *path = husk_strdup_printf ("%s/manifests/%s", repo, ref);
  cleanup_free char *accept = husk_strdup_printf ("Accept: %s", media_type);
  struct husk_resp rs = { .fd = -1, .max = UPLOAD_RESP_MAX, .method = "HEAD" };
  int rc = -1;

  if (c == NULL)
    return husk_error_set (err, ENOMEM, "curl_easy_init");
  *ret_digest = NULL;
  if (send_request (r, c, repo, NULL, path, accept, true, &rs, err) < 0)
    ;
  else if (rs.status == 200)
    {
      *ret_digest = TAKE_PTR (rs.docker_digest);
      rc = 1;
    }
  else if (rs.status == 404)
    rc = 0;
  else
    status_error (&rs, err);
  if (rc < 0)
    husk_error_wrap (err, "manifest \"%s\"", ref);
  husk_resp_clear (&rs);
  handle_put (r, c);
  return rc;
}
