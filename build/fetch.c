/* ADD's remote sources: the download (libcurl) and what a build step makes of it (fetch.h).  */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-internal.h"
#include "cleanup.h"
#include "fetch.h"
#include "store.h"
#include "unpack.h"
#include "util.h"
#include "banned.h"

#define MAX_REDIRECTS 10

bool
husk_fetch_is_url (const char *src)
{
  return husk_str_has_prefix (src, "http://") || husk_str_has_prefix (src, "https://");
}

bool
husk_fetch_is_git (const char *src)
{
  size_t n;

  if (husk_str_has_prefix (src, "git@") || husk_str_has_prefix (src, "git://"))
    return true;
  if (!husk_fetch_is_url (src))
    return false;
  n = strcspn (src, "#?");
  return n >= 4 && memcmp (src + n - 4, ".git", 4) == 0;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
husk_fetch_file_name (const char *url, struct husk_error **err)
{
  const char *p = strstr (url, "://");
  cleanup_free char *path = NULL;
  char *base;
  size_t n, k = 0;

  p = p ? p + 3 : url;
  p += strcspn (p, "/?#"); /* Past the host.  */
  n = *p == '/' ? strcspn (p, "?#") : 0;
  /* Decoded before the last component is taken, as Go's url.Parse and path.Base do.  */
  path = husk_xmalloc (n + 1);
  for (size_t i = 0; i < n; i++)
    {
      int hi, lo;
      if (p[i] == '%' && i + 2 < n && (hi = hex_value (p[i + 1])) >= 0
          && (lo = hex_value (p[i + 2])) >= 0)
        {
          if (hi == 0 && lo == 0)
            {
              husk_error_set (err, 0, "\"%s\": the file name in its path holds a NUL byte", url);
              return NULL;
            }
          path[k++] = (char) (hi << 4 | lo);
          i += 2;
        }
      else
        path[k++] = p[i];
    }
  path[k] = '\0';
  while (k > 0 && path[k - 1] == '/')
    path[--k] = '\0';
  base = strrchr (path, '/');
  base = base ? base + 1 : path;
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    return husk_xstrdup ("__unnamed__");
  return husk_xstrdup (base);
}

/* ------------------------------------------------------------ the download  */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void
curl_init_once (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

struct sink
{
  CURL *c;
  int fd;
  uint64_t max, written;
  struct husk_sha256 *h;
  int write_errno;
  bool too_big;
};

static size_t
on_body (char *data, size_t size, size_t nmemb, void *arg)
{
  struct sink *s = arg;
  size_t n = size * nmemb;
  long status = 0;

  /* An error page is not the file: only a 2xx body is written (the status is checked after
     the transfer).  */
  curl_easy_getinfo (s->c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300)
    return n;
  if (n > s->max - s->written)
    {
      s->too_big = true;
      return 0;
    }
  if (husk_write_all (s->fd, data, n) < 0)
    {
      s->write_errno = errno;
      return 0;
    }
  husk_sha256_update (s->h, data, n);
  s->written += n;
  return n;
}

static const char *
status_reason (long status)
{
  switch (status)
    {
    case 400:
      return " (bad request)";
    case 401:
      return " (authentication required)";
    case 403:
      return " (forbidden)";
    case 404:
      return " (not found)";
    case 410:
      return " (gone)";
    case 429:
      return " (too many requests)";
    case 500:
      return " (internal server error)";
    case 502:
      return " (bad gateway)";
    case 503:
      return " (service unavailable)";
    case 504:
      return " (gateway timeout)";
    default:
      return "";
    }
}

int
husk_fetch_http (const char *url, int fd, uint64_t max, struct husk_fetched *ret,
                 struct husk_error **err)
{
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  char errbuf[CURL_ERROR_SIZE] = "";
  struct sink s = { .fd = fd, .max = max, .h = h };
  curl_off_t filetime = -1;
  long status = 0;
  CURLcode code;
  CURL *c;

  if (!husk_fetch_is_url (url))
    return husk_error_set (err, 0, "\"%s\": not an http or https URL", url);
  pthread_once (&curl_once, curl_init_once);
  c = curl_easy_init ();
  if (c == NULL)
    return husk_error_set (err, ENOMEM, "\"%s\": curl_easy_init", url);
  s.c = c;
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s);
  /* A redirect may lead to http or https only: never file://, or anything else curl knows.  */
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, (long) MAX_REDIRECTS);
  curl_easy_setopt (c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "husk/" PACKAGE_VERSION);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, (long) HUSK_FETCH_CONNECT_TIMEOUT);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, (long) HUSK_FETCH_STALL_TIMEOUT);
  /* A Content-Length above the bound fails before the body; a body without one is counted.  */
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE,
                    (curl_off_t) (max > INT64_MAX ? INT64_MAX : (int64_t) max));
  curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
  code = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo (c, CURLINFO_FILETIME_T, &filetime);
  if (code == CURLE_UNSUPPORTED_PROTOCOL)
    {
      char *where = NULL;
      cleanup_free char *to = NULL;
      curl_easy_getinfo (c, CURLINFO_REDIRECT_URL, &where);
      if (where == NULL)
        curl_easy_getinfo (c, CURLINFO_EFFECTIVE_URL, &where);
      to = husk_xstrdup (where ? where : "?");
      curl_easy_cleanup (c);
      return husk_error_set (
          err, 0, "\"%s\": redirected to \"%s\": only http and https are followed", url, to);
    }
  curl_easy_cleanup (c);
  if (s.write_errno)
    return husk_error_set (err, s.write_errno, "\"%s\": write the download", url);
  if (s.too_big || code == CURLE_FILESIZE_EXCEEDED)
    return husk_error_set (err, 0, "\"%s\": larger than %ju bytes, the most ADD downloads", url,
                           (uintmax_t) max);
  if (code == CURLE_TOO_MANY_REDIRECTS)
    return husk_error_set (err, 0, "\"%s\": more than %d redirects", url, MAX_REDIRECTS);
  if (code != CURLE_OK)
    return husk_error_set (err, 0, "\"%s\": %s", url,
                           errbuf[0] ? errbuf : curl_easy_strerror (code));
  if (status < 200 || status >= 300)
    return husk_error_set (err, 0, "\"%s\": HTTP status %ld%s", url, status,
                           status_reason (status));
  husk_sha256_final (h, ret->digest);
  ret->size = s.written;
  ret->mtime = filetime > 0 ? (int64_t) filetime : 0;
  return 0;
}

/* -------------------------------------------------------- husk build's ADD  */

struct bld_fetch
{
  struct build *b;
  char **urls;
  char *checksum; /* --checksum, or NULL.  */
  bool locked, fetched;
  char *tmp;      /* The downloads' directory, relative to the store's root.  */
  char **sources; /* "I/NAME" for each URL, as husk_ctx_select reads them.  */
  char **digests; /* What each download held.  */
  struct husk_ctx *ctx;
  char *id;
};

void
bld_fetch_free (struct bld_fetch *f)
{
  if (f == NULL)
    return;
  if (f->ctx)
    husk_ctx_close (f->ctx);
  if (f->tmp)
    husk_layer_discard (f->b->s, f->tmp);
  if (f->locked)
    husk_store_unlock (f->b->s);
  husk_strv_free (f->urls);
  husk_strv_free (f->sources);
  husk_strv_free (f->digests);
  free (f->checksum);
  free (f->tmp);
  free (f->id);
  free (f);
}

const struct husk_ctx *
bld_fetch_ctx (const struct bld_fetch *f)
{
  return f->ctx;
}

const char *
bld_fetch_id (const struct bld_fetch *f)
{
  return f->id;
}

/* NAME as a source the selection takes literally: a name with glob characters has them (and
   backslashes) escaped, as Go's filepath.Match and fnmatch(3) read "\\".  */
static char *
literal_source (size_t i, const char *name)
{
  cleanup_free char *esc = NULL;
  size_t k = 0;

  if (strpbrk (name, "*?[") == NULL)
    return husk_strdup_printf ("%zu/%s", i, name);
  esc = husk_xmalloc (2 * strlen (name) + 1);
  for (const char *p = name; *p; p++)
    {
      if (strchr ("*?[\\", *p))
        esc[k++] = '\\';
      esc[k++] = *p;
    }
  esc[k] = '\0';
  return husk_strdup_printf ("%zu/%s", i, esc);
}

/* Download SRC (the I-th source) into DIRFD/I/NAME, checked against CHECKSUM (or NULL).  */
static int
fetch_one (int dirfd, size_t i, const char *src, const char *checksum, char **ret_source,
           char ret_digest[HUSK_DIGEST_LEN + 1], struct husk_error **err)
{
  cleanup_free char *name = husk_fetch_file_name (src, err);
  cleanup_free char *sub = husk_strdup_printf ("%zu", i);
  cleanup_close int subfd = -1, fd = -1;
  struct husk_fetched got = { 0 };
  struct timespec ts[2];

  if (name == NULL)
    return -1;
  if (mkdirat (dirfd, sub, 0700) < 0)
    return husk_error_set (err, errno, "\"%s\": make its directory", src);
  subfd = openat (dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (subfd < 0)
    return husk_error_set (err, errno, "\"%s\": open its directory", src);
  fd = openat (subfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return husk_error_set (err, errno, "\"%s\": create \"%s\"", src, name);
  /* Docker's mode for a download, whatever the umask.  */
  if (fchmod (fd, 0600) < 0)
    return husk_error_set (err, errno, "\"%s\": chmod", src);
  if (husk_fetch_http (src, fd, HUSK_FETCH_MAX, &got, err) < 0)
    return -1;
  if (checksum && strcmp (got.digest, checksum) != 0)
    return husk_error_set (err, 0, "\"%s\": checksum mismatch: expected %s, got %s", src, checksum,
                           got.digest);
  ts[0].tv_sec = ts[1].tv_sec = (time_t) got.mtime;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  if (futimens (fd, ts) < 0)
    return husk_error_set (err, errno, "\"%s\": set its time", src);
  *ret_source = literal_source (i, name);
  memcpy (ret_digest, got.digest, HUSK_DIGEST_LEN + 1);
  return 0;
}

/* Every URL of F downloaded into a new directory under tmp/, under the store lock.  */
static int
download_all (struct bld_fetch *f, struct husk_error **err)
{
  struct build *b = f->b;
  cleanup_close int dirfd = -1;

  /* tmp/ is only worked in under the store lock (taking it sweeps tmp/): held until the step
     is done with the downloads.  */
  if (husk_store_lock (b->s, err) < 0)
    return -1;
  f->locked = true;
  if (husk_store_mkdtemp (b->s, "build-add-", &f->tmp, err) < 0)
    return -1;
  dirfd
      = openat (husk_store_rootfd (b->s), f->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return husk_error_set (err, errno, "open the downloads' directory");
  f->sources = husk_xcalloc (1, sizeof (char *));
  f->digests = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; f->urls[i]; i++)
    {
      cleanup_free char *source = NULL;
      char digest[HUSK_DIGEST_LEN + 1];
      if (fetch_one (dirfd, i, f->urls[i], f->checksum, &source, digest, err) < 0)
        return -1;
      husk_strv_append (&f->sources, source);
      husk_strv_append (&f->digests, digest);
    }
  if (husk_ctx_open_fd (dirfd, "the downloads", &f->ctx, err) < 0)
    return -1;
  f->fetched = true;
  return 0;
}

int
bld_fetch_sources (struct build *b, char *const *srcs, const char *checksum, struct bld_fetch **ret,
                   struct husk_error **err)
{
  cleanup_fetch struct bld_fetch *f = NULL;
  cleanup_strv char **content = husk_xcalloc (1, sizeof (char *));
  size_t n = husk_strv_len (srcs), n_url = 0;
  const char *local = NULL;

  for (size_t i = 0; i < n; i++)
    {
      if (husk_fetch_is_git (srcs[i]))
        return husk_error_set (err, 0, "\"%s\": Git sources: not supported yet", srcs[i]);
      if (husk_fetch_is_url (srcs[i]))
        n_url++;
      else if (strstr (srcs[i], "://"))
        return husk_error_set (err, 0, "\"%s\": only http and https URLs can be downloaded",
                               srcs[i]);
      else if (local == NULL)
        local = srcs[i];
    }
  if (checksum && husk_digest_check (checksum, err) < 0)
    return husk_error_wrap (err, "--checksum");
  if (checksum && local)
    return husk_error_set (err, 0,
                           "--checksum: \"%s\" is not an http or https URL, the only "
                           "sources --checksum can check",
                           local);
  if (n_url == 0)
    {
      *ret = NULL;
      return 0;
    }
  if (local)
    return husk_error_set (err, 0, "\"%s\": URLs and local sources in one ADD: not supported yet",
                           local);

  f = husk_xcalloc (1, sizeof *f);
  f->b = b;
  f->urls = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *name = husk_fetch_file_name (srcs[i], err);
      if (name == NULL)
        return -1;
      husk_strv_append (&f->urls, srcs[i]);
    }
  f->checksum = checksum ? husk_xstrdup (checksum) : NULL;
  /* With a checksum the content is known before the download: a cache hit needs none, as
     with BuildKit.  */
  if (checksum)
    for (size_t i = 0; i < n; i++)
      husk_strv_append (&content, checksum);
  else if (download_all (f, err) < 0)
    return -1;
  {
    cleanup_free char *urls = bld_json_strv (srcs);
    cleanup_free char *digests = bld_json_strv (checksum ? content : f->digests);
    f->id = husk_strdup_printf ("urls %s content %s", urls, digests);
  }
  *ret = TAKE_PTR (f);
  return 0;
}

int
bld_fetch_select (struct bld_fetch *f, struct husk_ctx_selection *ret_sel, struct husk_error **err)
{
  if (!f->fetched && download_all (f, err) < 0)
    return -1;
  return husk_ctx_select (f->ctx, f->sources, husk_strv_len (f->sources), ret_sel, err);
}
