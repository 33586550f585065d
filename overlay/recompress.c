#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "cleanup.h"
#include "digest.h"
#include "layerout.h"
#include "recompress.h"
#include "tarcleanup.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

#define READ_BUF (256 * 1024)
#define OUT_BUF (256 * 1024)
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

enum husk_compression
husk_layer_compression (const char *media_type)
{
  if (media_type == NULL || husk_str_has_suffix (media_type, "gzip"))
    return HUSK_COMPRESSION_GZIP;
  if (husk_str_has_suffix (media_type, "zstd"))
    return HUSK_COMPRESSION_ZSTD;
  return HUSK_COMPRESSION_NONE;
}

static const char *
compression_name (enum husk_compression c)
{
  return c == HUSK_COMPRESSION_ZSTD ? "zstd" : c == HUSK_COMPRESSION_GZIP ? "gzip" : "none";
}

/* The compressed output: hashed and written to FD as it comes.  */
struct out
{
  int fd;
  struct husk_sha256 *hash;
  uint64_t bytes;
};

static int
out_write (struct out *o, const void *buf, size_t n)
{
  if (n == 0)
    return 0;
  husk_sha256_update (o->hash, buf, n);
  if (husk_write_all (o->fd, buf, n) < 0)
    return -errno;
  o->bytes += n;
  return 0;
}

/* One compressor, fed the tar in pieces and told when it ends.  */
struct compressor
{
  enum husk_compression kind;
  struct isal_zstream zs;
  unsigned char *level_buf;
  ZSTD_CCtx *zc;
  unsigned char *buf;
  struct out *out;
};

static int
compressor_init (struct compressor *c, enum husk_compression kind, int level, struct out *out,
                 struct husk_error **err)
{
  memset (c, 0, sizeof (*c));
  c->kind = kind;
  c->out = out;
  c->buf = husk_xmalloc (OUT_BUF);
  if (kind == HUSK_COMPRESSION_GZIP)
    {
      if (level < 0)
        level = 1;
      if (level > 3)
        level = 3;
      c->level_buf = husk_gzip_deflate_init (&c->zs, level);
      return 0;
    }
  c->zc = ZSTD_createCCtx ();
  if (c->zc == NULL)
    return husk_error_set (err, ENOMEM, "zstd");
  if (level < 0)
    level = 3;
  ZSTD_CCtx_setParameter (c->zc, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter (c->zc, ZSTD_c_checksumFlag, 1);
  return 0;
}

static void
compressor_clear (struct compressor *c)
{
  free (c->buf);
  free (c->level_buf);
  ZSTD_freeCCtx (c->zc);
}

/* Compress LEN bytes of DATA; FINAL ends the stream.  A negative errno on failure.  */
static int
compress_chunk (struct compressor *c, const void *data, size_t len, bool final)
{
  if (c->kind == HUSK_COMPRESSION_GZIP)
    {
      c->zs.next_in = (uint8_t *) (uintptr_t) data;
      c->zs.avail_in = (uint32_t) len;
      c->zs.end_of_stream = final;
      for (;;)
        {
          int r;
          c->zs.next_out = c->buf;
          c->zs.avail_out = OUT_BUF;
          if (isal_deflate (&c->zs) != COMP_OK)
            return -EINVAL;
          if ((r = out_write (c->out, c->buf, OUT_BUF - c->zs.avail_out)) < 0)
            return r;
          if (final ? c->zs.internal_state.state == ZSTATE_END
                    : c->zs.avail_in == 0 && c->zs.avail_out > 0)
            return 0;
        }
    }
  {
    ZSTD_inBuffer in = { data, len, 0 };
    for (;;)
      {
        ZSTD_outBuffer ob = { c->buf, OUT_BUF, 0 };
        size_t left = ZSTD_compressStream2 (c->zc, &ob, &in, final ? ZSTD_e_end : ZSTD_e_continue);
        int r;
        if (ZSTD_isError (left))
          return -EINVAL;
        if ((r = out_write (c->out, c->buf, ob.pos)) < 0)
          return r;
        if (final ? left == 0 : in.pos == in.size)
          return 0;
      }
  }
}

/* The cache entry's path for DIFF_ID in compression TO.  */
static char *
cache_path (const char *diff_id, enum husk_compression to)
{
  return husk_strdup_printf ("blob-cache/%s/%s", compression_name (to), husk_digest_hex (diff_id));
}

/* The cached blob for DIFF_ID in TO, when its entry is there and its blob too.  */
static bool
cache_lookup (struct husk_store *s, const char *diff_id, enum husk_compression to,
              struct husk_descriptor *ret)
{
  cleanup_free char *p = cache_path (diff_id, to);
  cleanup_free char *buf = NULL;
  char digest[HUSK_DIGEST_LEN + 1];
  uint64_t size;
  size_t len;
  char *sp;

  if (husk_read_file_at (s->rootfd, p, 256, &buf, &len, NULL) < 0)
    return false;
  buf[strcspn (buf, "\n")] = '\0';
  sp = strchr (buf, ' ');
  if (sp == NULL || (size_t) (sp - buf) != HUSK_DIGEST_LEN
      || husk_parse_u64 (sp + 1, INT64_MAX, &size) < 0)
    return false;
  memcpy (digest, buf, HUSK_DIGEST_LEN);
  digest[HUSK_DIGEST_LEN] = '\0';
  if (!husk_digest_is_sha256 (digest) || !husk_store_has_blob (s, digest))
    return false;
  ret->digest = husk_xstrdup (digest);
  ret->size = (int64_t) size;
  return true;
}

/* Read the blob SRC decompressed, hash it (it must be DIFF_ID) and feed it to C.  */
static int
transcode (struct husk_store *s, const struct husk_descriptor *src, const char *diff_id,
           struct compressor *c, struct husk_error **err)
{
  cleanup_free char *p
      = husk_strdup_printf ("%s/blobs/sha256/%s", s->root, husk_digest_hex (src->digest));
  cleanup_archive_read struct archive *a = archive_read_new ();
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  struct archive_entry *e;
  const void *block;
  size_t size;
  la_int64_t offset;
  char got[HUSK_DIGEST_LEN + 1];
  int r;

  if (a == NULL)
    return husk_error_set (err, ENOMEM, "libarchive");
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_raw (a);
  if (archive_read_open_filename (a, p, READ_BUF) != ARCHIVE_OK
      || archive_read_next_header (a, &e) != ARCHIVE_OK)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  while ((r = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK)
    {
      int w;
      husk_sha256_update (h, block, size);
      if ((w = compress_chunk (c, block, size, false)) < 0)
        return husk_error_set (err, -w, "compress");
    }
  if (r != ARCHIVE_EOF)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  if ((r = compress_chunk (c, NULL, 0, true)) < 0)
    return husk_error_set (err, -r, "compress");
  husk_sha256_final (h, got);
  if (strcmp (got, diff_id) != 0)
    return husk_error_set (err, 0, "uncompressed content is %s, its diff_id says %s", got, diff_id);
  return 0;
}

/* Link the unnamed file FD in as the blob DIGEST and record it for DIFF_ID, under the store
   lock.  */
static int
publish (struct husk_store *s, int fd, const char *digest, uint64_t size, const char *diff_id,
         enum husk_compression to, struct husk_error **err)
{
  cleanup_free char *proc = husk_strdup_printf ("/proc/self/fd/%d", fd);
  cleanup_free char *blob = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  cleanup_free char *entry = cache_path (diff_id, to);
  cleanup_free char *line = husk_strdup_printf ("%s %ju\n", digest, (uintmax_t) size);
  cleanup_free char *dir = husk_strdup_printf ("blob-cache/%s", compression_name (to));
  int rc = -1;

  if (fchmod (fd, 0644) < 0)
    return husk_error_set (err, errno, "chmod");
  if (husk_store_lock (s, err) < 0)
    return -1;
  if (linkat (AT_FDCWD, proc, s->rootfd, blob, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
    {
      husk_error_set (err, errno, "store blob %s", digest);
      goto out;
    }
  if ((mkdirat (s->rootfd, "blob-cache", 0700) < 0 && errno != EEXIST)
      || (mkdirat (s->rootfd, dir, 0700) < 0 && errno != EEXIST))
    {
      husk_error_set (err, errno, "store \"%s\": mkdir \"%s\"", s->root, dir);
      goto out;
    }
  if (husk_write_file_atomic_at (s->rootfd, entry, line, strlen (line), 0600, err) < 0)
    goto out;
  rc = 0;
out:
  husk_store_unlock (s);
  return rc;
}

int
husk_layer_recompress (struct husk_store *s, const struct husk_descriptor *src, const char *diff_id,
                       enum husk_compression to, int level, struct husk_descriptor *ret,
                       bool *ret_cached, struct husk_error **err)
{
  cleanup_free char *tmpdir = husk_strdup_printf ("%s/tmp", s->root);
  cleanup_close int fd = -1;
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  struct out out = { .hash = h };
  struct compressor c;
  char digest[HUSK_DIGEST_LEN + 1];
  int rc;

  memset (ret, 0, sizeof (*ret));
  if (to == HUSK_COMPRESSION_NONE)
    return husk_error_set (err, EINVAL, "layer %s: no compression asked for", src->digest);
  if (cache_lookup (s, diff_id, to, ret))
    {
      ret->media_type
          = husk_xstrdup (to == HUSK_COMPRESSION_ZSTD ? MT_OCI_LAYER_ZSTD : HUSK_MT_OCI_LAYER_GZIP);
      *ret_cached = true;
      return 0;
    }
  /* Unnamed until it is whole: nothing half-written ever has a name in the store.  */
  fd = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return husk_error_set (err, errno, "layer %s: temporary file in \"%s\"", src->digest, tmpdir);
  out.fd = fd;
  if (compressor_init (&c, to, level, &out, err) < 0)
    return husk_error_wrap (err, "layer %s", src->digest);
  rc = transcode (s, src, diff_id, &c, err);
  compressor_clear (&c);
  if (rc < 0)
    return husk_error_wrap (err, "layer %s", src->digest);
  husk_sha256_final (h, digest);
  if (publish (s, fd, digest, out.bytes, diff_id, to, err) < 0)
    return husk_error_wrap (err, "layer %s", src->digest);
  ret->digest = husk_xstrdup (digest);
  ret->size = (int64_t) out.bytes;
  ret->media_type
      = husk_xstrdup (to == HUSK_COMPRESSION_ZSTD ? MT_OCI_LAYER_ZSTD : HUSK_MT_OCI_LAYER_GZIP);
  *ret_cached = false;
  return 0;
}

char **
husk_blob_cache_repos (struct husk_store *s, const char *diff_id, enum husk_compression to)
{
  cleanup_free char *p = cache_path (diff_id, to);
  cleanup_free char *buf = NULL;
  char **out = husk_xcalloc (1, sizeof (char *));
  char *save = NULL;
  size_t len;

  if (husk_read_file_at (s->rootfd, p, 64 * 1024, &buf, &len, NULL) < 0)
    return out;
  for (char *line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (husk_str_has_prefix (line, "pushed ") && line[7] != '\0')
      husk_strv_append (&out, line + 7);
  return out;
}

int
husk_blob_cache_add_repo (struct husk_store *s, const char *diff_id, enum husk_compression to,
                          const char *repo, struct husk_error **err)
{
  cleanup_free char *p = cache_path (diff_id, to);
  cleanup_free char *buf = NULL;
  cleanup_free char *line = husk_strdup_printf ("pushed %s", repo);
  cleanup_free char *out = NULL;
  size_t len;
  int rc;

  if (husk_store_lock (s, err) < 0)
    return -1;
  rc = husk_read_file_at (s->rootfd, p, 64 * 1024, &buf, &len, err);
  if (rc < 0)
    {
      husk_store_unlock (s);
      return -1;
    }
  /* Once per repository, and a bounded file: the 64 most recent are kept.  */
  {
    char **lines = NULL;
    char *save = NULL;
    size_t n = 0, first_pushed = 1;
    lines = husk_xcalloc (1, sizeof (char *));
    for (char *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
      if (strcmp (l, line) != 0)
        {
          husk_strv_append (&lines, l);
          n++;
        }
    husk_strv_append (&lines, line);
    n++;
    if (n > 65)
      first_pushed = n - 64;
    out = husk_strdup_printf ("%s\n", lines[0]);
    for (size_t i = first_pushed; i < n; i++)
      {
        char *next = husk_strdup_printf ("%s%s\n", out, lines[i]);
        free (out);
        out = next;
      }
    husk_strv_free (lines);
  }
  rc = husk_write_file_atomic_at (s->rootfd, p, out, strlen (out), 0600, err);
  husk_store_unlock (s);
  return rc;
}
