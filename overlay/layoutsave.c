#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "layout.h"
#include "manifest.h"
#include "tarcleanup.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

#define SMALL_MAX (16 * 1024 * 1024)
#define COPY_BUF (256 * 1024)

/* Where the layout goes: the members of a tar, or files under a directory.  */
struct sink
{
  struct archive *a; /* NULL for a directory.  */
  int dirfd;
  const char *label; /* For errors.  */
};

static int
sink_dir (struct sink *k, const char *name, struct husk_error **err)
{
  if (k->a)
    {
      struct archive_entry *e = archive_entry_new ();
      int r;
      archive_entry_set_pathname (e, name);
      archive_entry_set_filetype (e, AE_IFDIR);
      archive_entry_set_perm (e, 0755);
      r = archive_write_header (k->a, e);
      archive_entry_free (e);
      if (r != ARCHIVE_OK)
        return husk_error_set (err, 0, "write \"%s\": %s", name, archive_error_string (k->a));
      return 0;
    }
  if (mkdirat (k->dirfd, name, 0755) < 0)
    return husk_error_set (err, errno, "mkdir \"%s/%s\"", k->label, name);
  return 0;
}

/* Start the member NAME of SIZE bytes: *RET_FD gets the new file's descriptor under a
   directory, -1 in a tar.  */
static int
sink_begin (struct sink *k, const char *name, int64_t size, int *ret_fd, struct husk_error **err)
{
  int fd;

  if (k->a)
    {
      struct archive_entry *e = archive_entry_new ();
      int r;
      archive_entry_set_pathname (e, name);
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      archive_entry_set_size (e, (la_int64_t) size);
      r = archive_write_header (k->a, e);
      archive_entry_free (e);
      if (r != ARCHIVE_OK)
        return husk_error_set (err, 0, "write \"%s\": %s", name, archive_error_string (k->a));
      *ret_fd = -1;
      return 0;
    }
  fd = openat (k->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return husk_error_set (err, errno, "create \"%s/%s\"", k->label, name);
  *ret_fd = fd;
  return 0;
}

static int
sink_write (struct sink *k, int fd, const char *name, const void *buf, size_t len,
            struct husk_error **err)
{
  if (len == 0)
    return 0;
  if (k->a)
    {
      if (archive_write_data (k->a, buf, len) != (la_ssize_t) len)
        return husk_error_set (err, archive_errno (k->a) > 0 ? archive_errno (k->a) : 0,
                               "write \"%s\": %s", name, archive_error_string (k->a));
      return 0;
    }
  if (husk_write_all (fd, buf, len) < 0)
    return husk_error_set (err, errno, "write \"%s/%s\"", k->label, name);
  return 0;
}

static int
sink_buf (struct sink *k, const char *name, const void *buf, size_t len, struct husk_error **err)
{
  cleanup_close int fd = -1;

  if (sink_begin (k, name, (int64_t) len, &fd, err) < 0
      || sink_write (k, fd, name, buf, len, err) < 0)
    return -1;
  if (fd >= 0 && fsync (fd) < 0)
    return husk_error_set (err, errno, "fsync \"%s/%s\"", k->label, name);
  return 0;
}

/* Copy the stored blob DIGEST as it is (a layer stays compressed as it was pulled), checking
   it against its digest and the SIZE its descriptor gives on the way.  */
static int sink_blob_as (struct sink *k, struct husk_store *s, const char *digest, int64_t size,
                         const char *member, struct husk_error **err);

static int
sink_blob (struct sink *k, struct husk_store *s, const char *digest, int64_t size,
           struct husk_error **err)
{
  cleanup_free char *rel = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  return sink_blob_as (k, s, digest, size, rel, err);
}

/* sink_blob, written as the member REL.  */
static int
sink_blob_as (struct sink *k, struct husk_store *s, const char *digest, int64_t size,
              const char *rel, struct husk_error **err)
{
  cleanup_free char *srcrel = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  cleanup_close int in = openat (s->rootfd, srcrel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_close int out = -1;
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  cleanup_free char *buf = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  struct stat st;
  int64_t total = 0;
  ssize_t n;

  if (in < 0)
    return husk_error_set (err, errno, "blob %s", digest);
  if (fstat (in, &st) < 0)
    return husk_error_set (err, errno, "blob %s", digest);
  if (size >= 0 && st.st_size != size)
    return husk_error_set (err, 0, "blob %s: %jd bytes stored, its descriptor says %jd", digest,
                           (intmax_t) st.st_size, (intmax_t) size);
  if (sink_begin (k, rel, (int64_t) st.st_size, &out, err) < 0)
    return -1;
  buf = husk_xmalloc (COPY_BUF);
  while (total < st.st_size && (n = read (in, buf, COPY_BUF)) > 0)
    {
      if (total + n > st.st_size)
        n = (ssize_t) (st.st_size - total);
      husk_sha256_update (h, buf, (size_t) n);
      if (sink_write (k, out, rel, buf, (size_t) n, err) < 0)
        return -1;
      total += n;
    }
  if (total != st.st_size)
    return husk_error_set (err, errno, "blob %s: short read", digest);
  husk_sha256_final (h, got);
  if (strcmp (got, digest) != 0)
    return husk_error_set (err, 0, "blob %s: stored content is %s", digest, got);
  if (out >= 0 && fsync (out) < 0)
    return husk_error_set (err, errno, "fsync \"%s/%s\"", k->label, rel);
  return 0;
}

static int
add_blob (struct sink *k, struct husk_store *s, char ***written, const char *digest, int64_t size,
          struct husk_error **err)
{
  if (husk_strv_contains (*written, digest))
    return 0;
  if (sink_blob (k, s, digest, size, err) < 0)
    return -1;
  husk_strv_append (written, digest);
  return 0;
}

static void
index_entry (husk_jgen *g, const char *media_type, const char *digest, size_t size,
             const char *name)
{
  husk_jgen_map_open (g);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, media_type);
  husk_jgen_key (g, "digest");
  husk_jgen_string (g, digest);
  husk_jgen_key (g, "size");
  husk_jgen_int (g, (int64_t) size);
  if (name)
    {
      husk_jgen_key (g, "annotations");
      husk_jgen_map_open (g);
      husk_jgen_key (g, HUSK_ANNOTATION_REF_NAME);
      husk_jgen_string (g, name);
      husk_jgen_map_close (g);
    }
  husk_jgen_map_close (g);
}

static int
write_layout (struct sink *k, struct husk_store *s, const struct husk_image *const *imgs,
              char **const *names, size_t n, struct husk_error **err)
{
  static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_strv char **written = husk_xcalloc (1, sizeof (char *));
  const char *buf;
  size_t len;

  if (sink_buf (k, "oci-layout", oci_layout, strlen (oci_layout), err) < 0
      || sink_dir (k, "blobs", err) < 0 || sink_dir (k, "blobs/sha256", err) < 0)
    return -1;
  husk_jgen_map_open (g);
  husk_jgen_key (g, "schemaVersion");
  husk_jgen_int (g, 2);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, HUSK_MT_OCI_INDEX);
  husk_jgen_key (g, "manifests");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_image *img = imgs[i];
      cleanup_free char *mbuf = NULL;
      cleanup_json husk_json *doc = NULL;
      struct husk_manifest m = { 0 };
      const char *mt;
      size_t mlen;
      int rc = -1;

      if (husk_store_read_blob (s, img->manifest, SMALL_MAX, &mbuf, &mlen, err) < 0
          || husk_manifest_parse (mbuf, mlen, &m, err) < 0
          || (doc = husk_json_parse (mbuf, mlen, err)) == NULL)
        goto next;
      /* The manifest as stored, so its digest stays the image's; an OCI manifest may leave its
         media type out (the descriptor must say it).  */
      mt = husk_json_get_string (doc, "mediaType");
      if (mt == NULL)
        mt = HUSK_MT_OCI_MANIFEST;
      if (add_blob (k, s, &written, m.config.digest, m.config.size, err) < 0)
        goto next;
      for (size_t l = 0; l < m.n_layers; l++)
        if (add_blob (k, s, &written, m.layers[l].digest, m.layers[l].size, err) < 0)
          goto next;
      if (add_blob (k, s, &written, img->manifest, (int64_t) mlen, err) < 0)
        goto next;
      if (names[i] == NULL || names[i][0] == NULL)
        index_entry (g, mt, img->manifest, mlen, NULL);
      for (size_t t = 0; names[i] && names[i][t]; t++)
        index_entry (g, mt, img->manifest, mlen, names[i][t]);
      rc = 0;
    next:
      husk_manifest_clear (&m);
      if (rc < 0)
        return husk_error_wrap (err, "image %.12s", img->id);
    }
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  return sink_buf (k, "index.json", buf, len, err);
}

int
husk_layout_save_archive (struct husk_store *s, const struct husk_image *const *imgs,
                          char **const *names, size_t n, int outfd, struct husk_error **err)
{
  cleanup_archive_write struct archive *a = archive_write_new ();
  struct sink k = { .dirfd = -1, .label = "oci-archive" };

  if (a == NULL)
    return husk_error_set (err, ENOMEM, "libarchive");
  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_fd (a, outfd) != ARCHIVE_OK)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  k.a = a;
  if (write_layout (&k, s, imgs, names, n, err) < 0)
    return -1;
  if (archive_write_close (a) != ARCHIVE_OK)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  return 0;
}

int
husk_layout_save_dir (struct husk_store *s, const struct husk_image *const *imgs,
                      char **const *names, size_t n, int dirfd, const char *label,
                      struct husk_error **err)
{
  struct sink k = { .dirfd = dirfd, .label = label };

  if (write_layout (&k, s, imgs, names, n, err) < 0)
    return -1;
  /* The files are synced as they are written; the directories that name them too.  */
  for (size_t i = 0; i < 2; i++)
    {
      static const char *const dirs[] = { "blobs/sha256", "blobs" };
      cleanup_close int fd = openat (dirfd, dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || fsync (fd) < 0)
        return husk_error_set (err, errno, "fsync \"%s/%s\"", label, dirs[i]);
    }
  if (fsync (dirfd) < 0)
    return husk_error_set (err, errno, "fsync \"%s\"", label);
  return 0;
}

/* The blob DIGEST into the layout at DIRFD unless it has it: under a temporary name, renamed
   into place once whole and verified.  */
static int
add_blob_dir (struct sink *k, struct husk_store *s, const char *digest, int64_t size,
              struct husk_error **err)
{
  cleanup_free char *rel = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  cleanup_free char *tmp = husk_strdup_printf ("%s.husk-tmp-%ld", rel, (long) getpid ());

  if (faccessat (k->dirfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  unlinkat (k->dirfd, tmp, 0);
  if (sink_blob_as (k, s, digest, size, tmp, err) < 0)
    {
      unlinkat (k->dirfd, tmp, 0);
      return -1;
    }
  if (renameat (k->dirfd, tmp, k->dirfd, rel) < 0)
    {
      unlinkat (k->dirfd, tmp, 0);
      return husk_error_set (err, errno, "rename \"%s/%s\"", k->label, rel);
    }
  return 0;
}

int
husk_layout_add_dir (struct husk_store *s, const struct husk_image *img, const char *name,
                     int dirfd, const char *label, struct husk_error **err)
{
  struct sink k = { .dirfd = dirfd, .label = label };
  cleanup_free char *ibuf = NULL;
  cleanup_free char *mbuf = NULL;
  cleanup_json husk_json *index = NULL;
  cleanup_json husk_json *doc = NULL;
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *tmp = husk_strdup_printf ("index.json.husk-tmp-%ld", (long) getpid ());
  struct husk_manifest m = { 0 };
  const husk_json *list;
  const char *mt, *buf;
  size_t ilen, mlen, len;
  int rc = -1;

  if (faccessat (dirfd, "oci-layout", F_OK, 0) < 0)
    return husk_error_set (err, errno, "\"%s\": not an OCI layout (no oci-layout)", label);
  if (husk_read_file_at (dirfd, "index.json", SMALL_MAX, &ibuf, &ilen, err) < 0
      || (index = husk_json_parse (ibuf, ilen, err)) == NULL)
    return husk_error_wrap (err, "\"%s/index.json\"", label);
  list = husk_json_get (index, "manifests");
  if (list && !husk_json_is_array (list))
    return husk_error_set (err, 0, "\"%s/index.json\": manifests is not an array", label);
  if (husk_store_read_blob (s, img->manifest, SMALL_MAX, &mbuf, &mlen, err) < 0
      || husk_manifest_parse (mbuf, mlen, &m, err) < 0
      || (doc = husk_json_parse (mbuf, mlen, err)) == NULL)
    goto out;
  mt = husk_json_get_string (doc, "mediaType");
  if (mt == NULL)
    mt = HUSK_MT_OCI_MANIFEST;
  if (mkdirat (dirfd, "blobs", 0755) < 0 && errno != EEXIST)
    {
      husk_error_set (err, errno, "mkdir \"%s/blobs\"", label);
      goto out;
    }
  if (mkdirat (dirfd, "blobs/sha256", 0755) < 0 && errno != EEXIST)
    {
      husk_error_set (err, errno, "mkdir \"%s/blobs/sha256\"", label);
      goto out;
    }
  /* The blobs first, the manifest last of them, then the index that names it: a layout is
     never left naming what it lacks.  */
  if (add_blob_dir (&k, s, m.config.digest, m.config.size, err) < 0)
    goto out;
  for (size_t i = 0; i < m.n_layers; i++)
    if (add_blob_dir (&k, s, m.layers[i].digest, m.layers[i].size, err) < 0)
      goto out;
  if (add_blob_dir (&k, s, img->manifest, (int64_t) mlen, err) < 0)
    goto out;
  husk_jgen_map_open (g);
  for (size_t i = 0; i < husk_json_object_len (index); i++)
    {
      const char *key = husk_json_object_key (index, i);
      if (strcmp (key, "manifests") == 0)
        continue;
      husk_jgen_key (g, key);
      husk_jgen_value (g, husk_json_object_value (index, i));
    }
  husk_jgen_key (g, "manifests");
  husk_jgen_array_open (g);
  /* The entries it had, but the one NAME named before (a tag names one image).  */
  for (size_t i = 0; i < husk_json_array_len (list); i++)
    {
      const husk_json *e = husk_json_array_at (list, i);
      const char *ref
          = husk_json_get_string (husk_json_get (e, "annotations"), HUSK_ANNOTATION_REF_NAME);
      if (name && ref && strcmp (ref, name) == 0)
        continue;
      husk_jgen_value (g, e);
    }
  index_entry (g, mt, img->manifest, mlen, name);
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  if (husk_write_file_atomic_at (dirfd, "index.json", buf, len, 0644, err) < 0)
    {
      husk_error_wrap (err, "\"%s\"", label);
      goto out;
    }
  rc = 0;
out:
  husk_manifest_clear (&m);
  if (rc < 0)
    husk_error_wrap (err, "image %.12s", img->id);
  return rc;
}
