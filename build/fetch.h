/* ADD's remote sources: files downloaded over HTTP and HTTPS with libcurl, hashed as they
   arrive, checked against ADD --checksum, and handed to the copy as a small context of their
   own (context.h), so that COPY's rules (copyin.h) put them in the layer.

   Docker's rules, from the Dockerfile reference (ADD, "Adding files from a URL"): a source that
   starts with http:// or https:// is downloaded; with a destination that ends in "/" the file
   is named after the last component of the URL's path, otherwise the destination is the file;
   the file gets mode 0600 (unless --chmod says otherwise) and, when the response has a
   Last-Modified header, that time as its mtime (else the epoch, as BuildKit does); it is never
   extracted, whatever it holds.  --checksum=sha256:HEX checks every downloaded file and is an
   error with any other source.  The step's cache key holds the URLs and the content of what
   was downloaded (BuildKit's rule: the file is downloaded on every build, and a cache hit
   needs the same bytes), never the Last-Modified time.  */
#ifndef HUSK_BUILD_FETCH_H
#define HUSK_BUILD_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "context.h"
#include "digest.h"
#include "error.h"

/* The largest body a download accepts: 16 GiB (a server that never stops sending).  */
#define HUSK_FETCH_MAX ((uint64_t) 16 << 30)
/* How long a connection may take to be made, and how long a transfer may stall (below one
   byte a second) before it fails: seconds.  */
#define HUSK_FETCH_CONNECT_TIMEOUT 30
#define HUSK_FETCH_STALL_TIMEOUT 60

/* Whether SRC is an HTTP or HTTPS URL (starts with "http://" or "https://", lower case),
   Docker's test for a remote source.  */
bool husk_fetch_is_url (const char *src);
/* Whether SRC is a Git source as Docker reads one: "git@...", "git://...", or an HTTP(S) URL
   whose path ends in ".git" (with an optional "#ref").  */
bool husk_fetch_is_git (const char *src);

/* The file name Docker gives a download from URL: the last component of the URL's path
   (after the query and fragment are dropped and %XX escapes decoded, trailing "/" ignored),
   "__unnamed__" when there is none, as BuildKit names it.  NULL with *ERR set when the name
   decodes to something no file can be called (a NUL byte).  */
char *husk_fetch_file_name (const char *url, struct husk_error **err);

struct husk_fetched
{
  char digest[HUSK_DIGEST_LEN + 1]; /* "sha256:HEX" of the bytes written.  */
  uint64_t size;                    /* Bytes written.  */
  int64_t mtime;                    /* Last-Modified, in seconds since the epoch; 0 if none.  */
};

/* GET URL (http or https; redirects followed up to 10 times, to http and https only) and
   write the body to FD (a regular file, empty, at offset 0).  At most MAX bytes are accepted.
   Proxies come from the environment as for curl(1); HTTPS is checked against the system's
   certificate authorities.  *RET is filled on success.
   Errors (one line, naming the URL): a redirect to another scheme, the connection (after
   HUSK_FETCH_CONNECT_TIMEOUT seconds) or a transfer that stalls, a status other than 2xx
   ("\"URL\": HTTP 404 (not found)"), a body larger than MAX, FD's write errors (errno kept).
   On failure FD holds part of the body: the caller throws it away.  */
int husk_fetch_http (const char *url, int fd, uint64_t max, struct husk_fetched *ret,
                     struct husk_error **err);

/* ---------------------------------------------------- husk build's ADD  */

struct build;
struct bld_fetch;

/* ADD's sources SRCS (NULL-terminated, expanded) and its --checksum CHECKSUM (expanded, or
   NULL).  With no URL among them (and no checksum): 0, *RET NULL, nothing done.  Otherwise
   *RET is what names the downloads in the step's key (bld_fetch_id): without CHECKSUM each URL
   is downloaded now, into a new directory under the store's tmp/, under the store lock (held
   until bld_fetch_free: tmp/ is swept by whoever takes it); with CHECKSUM the content is
   known and nothing is downloaded until bld_fetch_select, so a cache hit needs no download.
   Errors (one line): a source that mixes URLs with local files, Git and other schemes ("not
   supported yet"), a malformed checksum or one given with a local source, and the
   download's (fetch_select's).  */
int bld_fetch_sources (struct build *b, char *const *srcs, const char *checksum,
                       struct bld_fetch **ret, struct husk_error **err);
/* The downloads (made now if they were not) selected as husk_ctx_select does into *RET_SEL
   (free it with husk_ctx_selection_clear).  Errors: a checksum mismatch ("\"URL\": checksum
   mismatch: expected sha256:..., got sha256:..."), husk_fetch_http's.  */
int bld_fetch_select (struct bld_fetch *f, struct husk_ctx_selection *ret_sel,
                      struct husk_error **err);
/* The context the selection was made in: what the copy reads.  */
const struct husk_ctx *bld_fetch_ctx (const struct bld_fetch *f);
/* What names the downloads in the step's cache key: the URLs and the digests of their
   content (or the checksum they must have).  */
const char *bld_fetch_id (const struct bld_fetch *f);
/* Remove the downloads and release the store lock.  F may be NULL.  */
void bld_fetch_free (struct bld_fetch *f);

static inline void
bld_fetch_freep (struct bld_fetch **f)
{
  bld_fetch_free (*f);
}
#define cleanup_fetch __attribute__ ((cleanup (bld_fetch_freep)))

#endif
