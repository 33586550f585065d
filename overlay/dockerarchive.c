#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dockerarchive.h"
#include "imagegc.h"
#include "cleanup.h"
#include "json.h"
#include "manifest.h"
#include "reference.h"
#include "safepath.h"
#include "util.h"
#include "tarcleanup.h"
#include "store-struct.h"
#include "banned.h"

#define SMALL_MAX (16 * 1024 * 1024)
#define COPY_BUF (256 * 1024)

/* ------------------------------------------------------------------ reading */

struct member
{
  char *name;
  char *alias; /* A symlink or hardlink: the member it stands for.  */
  int64_t size;
  unsigned char magic[4];
  size_t magic_len;
};

struct tarindex
{
  const char *path;
  struct member *m;
  size_t n;
};

static void
tarindex_clear (struct tarindex *t)
{
  for (size_t i = 0; i < t->n; i++)
    {
      free (t->m[i].name);
      free (t->m[i].alias);
    }
  free (t->m);
  t->m = NULL;
  t->n = 0;
}

/* "a/./b/../c" to "a/c"; NULL when it climbs out of the archive.  */
static char *
normalize (const char *dir, const char *name)
{
  cleanup_free char *joined
      = dir && *name != '/' ? husk_strdup_printf ("%s/%s", dir, name) : husk_xstrdup (name);
  char *out = husk_xcalloc (1, strlen (joined) + 1);
  size_t o = 0;
  char *p = joined;

  while (*p)
    {
      char *e = strchr (p, '/');
      size_t n = e ? (size_t) (e - p) : strlen (p);
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          char *s;
          if (o == 0)
            {
              free (out);
              return NULL;
            }
          out[o] = '\0';
          s = strrchr (out, '/');
          o = s ? (size_t) (s - out) : 0;
        }
      else if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (o > 0)
            out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      if (!e)
        break;
      p = e + 1;
    }
  out[o] = '\0';
  return out;
}

static struct archive *
open_reader (const char *path, struct husk_error **err)
{
  struct archive *a = archive_read_new ();

  if (a == NULL)
    {
      husk_error_set (err, ENOMEM, "libarchive");
      return NULL;
    }
  /* docker save writes a plain tar; a compressed one (docker save | gzip) is read too.  */
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  if (archive_read_open_filename (a, path, COPY_BUF) != ARCHIVE_OK)
    {
      /* libarchive's errno for content it does not know (EILSEQ) says nothing more.  */
      int e = archive_errno (a);
      husk_error_set (err, e > 0 && e != EILSEQ && e != EINVAL ? e : 0, "%s",
                      archive_error_string (a));
      archive_read_free (a);
      return NULL;
    }
  return a;
}

/* One pass over the archive: every member's name, size and kind, and the first bytes of each
   (to tell a compressed layer).  */
static int
tarindex_build (struct tarindex *t, struct husk_error **err)
{
  cleanup_archive_read struct archive *a = open_reader (t->path, err);
  struct archive_entry *e;
  int r;

  if (a == NULL)
    return -1;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      struct member mb = { 0 };
      const char *name = archive_entry_pathname (e);
      const char *link;
      cleanup_free char *dir = NULL;

      if (name == NULL)
        continue;
      mb.name = normalize (NULL, name);
      if (mb.name == NULL)
        continue;
      dir = husk_xstrdup (mb.name);
      if (strrchr (dir, '/'))
        *strrchr (dir, '/') = '\0';
      else
        {
          free (dir);
          dir = NULL;
        }
      if ((link = archive_entry_hardlink (e)) != NULL)
        mb.alias = normalize (NULL, link);
      else if (archive_entry_filetype (e) == AE_IFLNK && (link = archive_entry_symlink (e)))
        mb.alias = normalize (dir, link);
      else if (archive_entry_filetype (e) == AE_IFREG)
        {
          mb.size = archive_entry_size (e);
          if (mb.size > 0)
            {
              la_ssize_t got = archive_read_data (a, mb.magic, sizeof (mb.magic));
              mb.magic_len = got > 0 ? (size_t) got : 0;
            }
        }
      else
        {
          free (mb.name);
          continue;
        }
      t->m = husk_xrealloc (t->m, (t->n + 1) * sizeof (*t->m));
      t->m[t->n++] = mb;
    }
  if (r != ARCHIVE_EOF)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  return 0;
}

/* The regular member NAME stands for, following links (a few hops at most).  */
static const struct member *
tarindex_find (const struct tarindex *t, const char *name)
{
  cleanup_free char *want = normalize (NULL, name);

  for (int hops = 0; want && hops < 8; hops++)
    {
      const struct member *found = NULL;
      for (size_t i = 0; i < t->n; i++)
        if (strcmp (t->m[i].name, want) == 0)
          found = &t->m[i];
      if (found == NULL)
        return NULL;
      if (found->alias == NULL)
        return found;
      free (want);
      want = husk_xstrdup (found->alias);
    }
  return NULL;
}

/* Read the members NAMES (regular, as tarindex_find returned them) into BUFS in one pass.  */
static int
read_members (const struct tarindex *t, char **names, char **bufs, size_t *lens,
              struct husk_error **err)
{
  cleanup_archive_read struct archive *a = open_reader (t->path, err);
  struct archive_entry *e;
  int r;

  if (a == NULL)
    return -1;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      cleanup_free char *name
          = archive_entry_pathname (e) ? normalize (NULL, archive_entry_pathname (e)) : NULL;
      for (size_t i = 0; name && names[i]; i++)
        if (bufs[i] == NULL && strcmp (names[i], name) == 0)
          {
            int64_t size = archive_entry_size (e);
            la_ssize_t got;
            if (size < 0 || size > SMALL_MAX)
              return husk_error_set (err, 0, "\"%s\": too large", name);
            bufs[i] = husk_xmalloc ((size_t) size + 1);
            got = archive_read_data (a, bufs[i], (size_t) size);
            if (got != size)
              return husk_error_set (err, 0, "\"%s\": short read", name);
            bufs[i][size] = '\0';
            lens[i] = (size_t) size;
          }
    }
  if (r != ARCHIVE_EOF)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  for (size_t i = 0; names[i]; i++)
    if (bufs[i] == NULL)
      return husk_error_set (err, 0, "\"%s\": not in the archive", names[i]);
  return 0;
}

struct blob_source
{
  const struct tarindex *t; /* The archive's members, or NULL...  */
  int dirfd;                /* ...the layout directory the blobs are in.  */
  char **digests;           /* Layer digests as the synthesized manifest names them...  */
  char **members;           /* ...and the archive member each is in.  */
  pid_t *pids;
  size_t n_pids;
};

/* Stream one member through a pipe from a child, so that the unpacker reads it as it reads a
   registry's or a layout's blob: once, verifying as it goes.  */
static int
archive_open_blob (void *arg, const struct husk_descriptor *d, struct husk_error **err)
{
  struct blob_source *src = arg;
  const char *member = NULL;
  int fds[2];
  pid_t pid;

  for (size_t i = 0; src->digests[i]; i++)
    if (strcmp (src->digests[i], d->digest) == 0)
      member = src->members[i];
  if (member == NULL)
    return husk_error_set (err, 0, "layer %s: not in the archive", d->digest);
  if (src->t == NULL)
    {
      int fd = husk_open_in_root (src->dirfd, member, O_RDONLY | O_NOCTTY | O_CLOEXEC, 0,
                                  HUSK_RESOLVE_IN_ROOT);
      if (fd < 0)
        return husk_error_set (err, -fd, "layer %s: open \"%s\"", d->digest, member);
      return fd;
    }
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return husk_error_set (err, errno, "fork");
    }
  if (pid == 0)
    {
      struct archive *a;
      struct archive_entry *e;
      char *buf = malloc (COPY_BUF);
      int r;

      close (fds[0]);
      signal (SIGPIPE, SIG_DFL);
      a = open_reader (src->t->path, NULL);
      if (a == NULL || buf == NULL)
        _exit (1);
      while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        {
          char *name
              = archive_entry_pathname (e) ? normalize (NULL, archive_entry_pathname (e)) : NULL;
          bool match = name && strcmp (name, member) == 0;
          free (name);
          if (!match)
            continue;
          for (;;)
            {
              la_ssize_t got = archive_read_data (a, buf, COPY_BUF);
              if (got < 0)
                _exit (1);
              if (got == 0)
                _exit (0);
              if (husk_write_all (fds[1], buf, (size_t) got) < 0)
                _exit (1);
            }
        }
      _exit (1);
    }
  close (fds[1]);
  src->pids = husk_xrealloc (src->pids, (src->n_pids + 1) * sizeof (pid_t));
  src->pids[src->n_pids++] = pid;
  return fds[0];
}

static void
reap (struct blob_source *src)
{
  for (size_t i = 0; i < src->n_pids; i++)
    {
      /* The reader may have stopped early (a refused layer): the writer is not needed.  */
      kill (src->pids[i], SIGKILL);
      while (waitpid (src->pids[i], NULL, 0) < 0 && errno == EINTR)
        ;
    }
  free (src->pids);
  src->pids = NULL;
  src->n_pids = 0;
}

static const char *
media_type_of (const struct member *m)
{
  static const unsigned char gz[] = { 0x1f, 0x8b }, zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
  if (m->magic_len >= 2 && memcmp (m->magic, gz, 2) == 0)
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (m->magic_len >= 4 && memcmp (m->magic, zst, 4) == 0)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

/* The digest a member's name promises ("blobs/sha256/HEX"), or NULL.  */
static char *
digest_from_name (const char *name)
{
  cleanup_free char *d = NULL;
  if (!husk_str_has_prefix (name, "blobs/sha256/"))
    return NULL;
  d = husk_strdup_printf ("sha256:%s", name + strlen ("blobs/sha256/"));
  return husk_digest_is_sha256 (d) ? TAKE_PTR (d) : NULL;
}

static int
load_one (struct husk_store *s, const struct tarindex *t, const husk_json *item, size_t idx,
          bool rootless, const struct husk_progress *progress, struct husk_archive_loaded *out,
          struct husk_error **err)
{
  const char *config_name = husk_json_get_string (item, "Config");
  const husk_json *layers = husk_json_get (item, "Layers");
  const husk_json *tags = husk_json_get (item, "RepoTags");
  const struct member *cm;
  char *names[2] = { NULL, NULL };
  char *bufs[2] = { NULL, NULL };
  size_t lens[2] = { 0, 0 };
  struct husk_image_config cfg = { 0 };
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_strv char **digests = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **members = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **refs = husk_xcalloc (1, sizeof (char *));
  struct blob_source src = { .t = t, .dirfd = -1 };
  struct husk_import_source isrc = { .open_blob = archive_open_blob, .arg = &src };
  struct husk_import im = { 0 };
  char config_digest[HUSK_DIGEST_LEN + 1];
  const char *mbuf;
  size_t mlen;
  int rc = -1;

  if (config_name == NULL || !husk_json_is_array (layers))
    return husk_error_set (err, 0, "manifest.json[%zu]: no Config or Layers", idx);
  cm = tarindex_find (t, config_name);
  if (cm == NULL)
    return husk_error_set (err, 0, "manifest.json[%zu]: config \"%s\" is not in the archive", idx,
                           config_name);
  names[0] = cm->name;
  if (read_members (t, names, bufs, lens, err) < 0)
    goto out;
  if (husk_image_config_parse (bufs[0], lens[0], &cfg, err) < 0)
    {
      husk_error_wrap (err, "config \"%s\"", config_name);
      goto out;
    }
  if (husk_json_array_len (layers) != husk_strv_len (cfg.diff_ids))
    {
      husk_error_set (err, 0, "manifest.json[%zu] has %zu layers but its config has %zu diff_ids",
                      idx, husk_json_array_len (layers), husk_strv_len (cfg.diff_ids));
      goto out;
    }
  for (size_t i = 0; tags && i < husk_json_array_len (tags); i++)
    {
      const char *tag = husk_json_string (husk_json_array_at (tags, i));
      struct husk_reference r;
      cleanup_free char *full = NULL;
      if (tag == NULL || husk_reference_parse (tag, &r, err) < 0)
        {
          if (tag == NULL)
            husk_error_set (err, 0, "not a string");
          husk_error_wrap (err, "manifest.json[%zu]: RepoTags[%zu]", idx, i);
          goto out;
        }
      full = husk_reference_string (&r);
      husk_reference_clear (&r);
      husk_strv_append (&refs, full);
    }

  /* A manifest the importer can verify the layers against: classic layers are uncompressed,
     so their digests are their diff_ids; an OCI layout's blobs are named by their digests.  */
  husk_sha256_buf (bufs[0], lens[0], config_digest);
  husk_jgen_map_open (g);
  husk_jgen_key (g, "schemaVersion");
  husk_jgen_int (g, 2);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, "application/vnd.oci.image.manifest.v1+json");
  husk_jgen_key (g, "config");
  husk_jgen_map_open (g);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, "application/vnd.oci.image.config.v1+json");
  husk_jgen_key (g, "digest");
  husk_jgen_string (g, config_digest);
  husk_jgen_key (g, "size");
  husk_jgen_int (g, (int64_t) lens[0]);
  husk_jgen_map_close (g);
  husk_jgen_key (g, "layers");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < husk_json_array_len (layers); i++)
    {
      const char *ln = husk_json_string (husk_json_array_at (layers, i));
      const struct member *lm = ln ? tarindex_find (t, ln) : NULL;
      cleanup_free char *named = NULL;

      if (lm == NULL)
        {
          husk_error_set (err, 0, "manifest.json[%zu]: layer \"%s\" is not in the archive", idx,
                          ln ? ln : "?");
          goto out;
        }
      named = digest_from_name (lm->name);
      husk_strv_append (&digests, named ? named : cfg.diff_ids[i]);
      husk_strv_append (&members, lm->name);
      husk_jgen_map_open (g);
      husk_jgen_key (g, "mediaType");
      husk_jgen_string (g, named ? media_type_of (lm) : "application/vnd.oci.image.layer.v1.tar");
      husk_jgen_key (g, "digest");
      husk_jgen_string (g, named ? named : cfg.diff_ids[i]);
      husk_jgen_key (g, "size");
      husk_jgen_int (g, lm->size);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  mbuf = husk_jgen_buf (g, &mlen);

  src.digests = digests;
  src.members = members;
  im.manifest = mbuf;
  im.manifest_len = mlen;
  im.config = bufs[0];
  im.config_len = lens[0];
  im.names = refs[0] ? refs : NULL;
  im.rootless = rootless;
  im.progress = progress;
  rc = husk_image_commit (s, &im, &isrc, &out->res, err);
  reap (&src);
  if (rc == 0)
    out->names = TAKE_PTR (refs);
out:
  free (bufs[0]);
  husk_image_config_clear (&cfg);
  return rc;
}

/* A later image of the archive failed: the ones it added go again, as if nothing was loaded
   (names the archive gave to images already in the store are not taken back), unless a
   container was created from one meanwhile: under the images-in-use lock, as rmi does, what
   IN_USE_FN lists stays, and the GC spares its layers.  Nothing is removed when that list
   cannot be made: the next rmi or prune collects what is left.  */
static void
undo_loaded (struct husk_store *s, const struct husk_image_list *before,
             const struct husk_archive_loaded *loaded, size_t n, husk_images_in_use_fn in_use_fn)
{
  struct husk_image_list now = { 0 };
  struct husk_images_in_use in_use = { 0 };

  if (husk_store_gc_lock (s, true, NULL) < 0)
    return;
  if (husk_store_lock (s, NULL) < 0)
    {
      husk_store_gc_unlock (s);
      return;
    }
  if (in_use_fn (s, &in_use, NULL) == 0 && husk_images_load (s, &now, NULL) == 0)
    {
      for (size_t i = now.n; i-- > 0;)
        {
          bool was = false, ours = false;
          for (size_t k = 0; k < before->n; k++)
            was = was || strcmp (before->items[k].id, now.items[i].id) == 0;
          for (size_t k = 0; k < n; k++)
            ours = ours || strcmp (loaded[k].res.id, now.items[i].id) == 0;
          if (ours && !was && !husk_images_in_use_has (&in_use, now.items[i].id))
            husk_images_drop (&now, i);
        }
      if (husk_images_save (s, &now, NULL) == 0)
        husk_images_gc (s, &now, &in_use, NULL, NULL);
    }
  husk_images_clear (&now);
  husk_images_in_use_clear (&in_use);
  husk_store_unlock (s);
  husk_store_gc_unlock (s);
}

/* ------------------------------------------------------------------ OCI layouts */

/* An OCI image layout (image-spec's image-layout.md) in a tar (oci-archive: podman save
   --format oci-archive, skopeo's oci-archive:) or a directory (oci-dir, skopeo's oci:).  */
struct oci_source
{
  const struct tarindex *t; /* The tar's members, or NULL...  */
  int dirfd;                /* ...the directory.  */
};

#define OCI_MAX_INDEX_DEPTH 4

/* The file NAME of the layout, whole (at most SMALL_MAX bytes), NUL-terminated.  */
static int
oci_read (const struct oci_source *o, const char *name, char **ret_buf, size_t *ret_len,
          struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  ssize_t got;

  if (o->t)
    {
      const struct member *m = tarindex_find (o->t, name);
      char *names[2] = { NULL, NULL };
      char *bufs[2] = { NULL, NULL };
      size_t lens[2] = { 0, 0 };

      if (m == NULL)
        return husk_error_set (err, 0, "\"%s\": not in the archive", name);
      names[0] = m->name;
      if (read_members (o->t, names, bufs, lens, err) < 0)
        {
          free (bufs[0]);
          return -1;
        }
      *ret_buf = bufs[0];
      *ret_len = lens[0];
      return 0;
    }
  fd = husk_open_in_root (o->dirfd, name, O_RDONLY | O_NOCTTY | O_CLOEXEC, 0, HUSK_RESOLVE_IN_ROOT);
  if (fd < 0)
    return husk_error_set (err, -fd, "\"%s\"", name);
  if (fstat (fd, &st) < 0)
    return husk_error_set (err, errno, "\"%s\"", name);
  if (!S_ISREG (st.st_mode))
    return husk_error_set (err, 0, "\"%s\": not a regular file", name);
  if (st.st_size > SMALL_MAX)
    return husk_error_set (err, 0, "\"%s\": too large", name);
  buf = husk_xmalloc ((size_t) st.st_size + 1);
  got = husk_read_all (fd, buf, (size_t) st.st_size);
  if (got != st.st_size)
    return husk_error_set (err, got < 0 ? errno : 0, "\"%s\": short read", name);
  buf[got] = '\0';
  *ret_buf = TAKE_PTR (buf);
  *ret_len = (size_t) got;
  return 0;
}

static char *
oci_blob_name (const char *digest)
{
  return husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
}

/* The blob D (a manifest, an index, a config), verified against its size and digest.  */
static int
oci_read_blob (const struct oci_source *o, const struct husk_descriptor *d, char **ret_buf,
               size_t *ret_len, struct husk_error **err)
{
  cleanup_free char *name = oci_blob_name (d->digest);
  cleanup_free char *buf = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  size_t len;

  if (d->size < 0 || d->size > SMALL_MAX)
    return husk_error_set (err, 0, "blob %s: %jd bytes is too large for a manifest or config",
                           d->digest, (intmax_t) d->size);
  if (oci_read (o, name, &buf, &len, err) < 0)
    return husk_error_wrap (err, "blob %s", d->digest);
  if ((int64_t) len != d->size)
    return husk_error_set (err, 0, "blob %s: %zu bytes, its descriptor says %jd", d->digest, len,
                           (intmax_t) d->size);
  husk_sha256_buf (buf, len, got);
  if (strcmp (got, d->digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", d->digest, got);
  *ret_buf = TAKE_PTR (buf);
  *ret_len = len;
  return 0;
}

/* The name podman load gives an image from its ref.name annotation REF: a reference whose
   first component is a registry ("." or ":" in it, or "localhost") as it is, any other under
   localhost/, so that a bare tag ("latest", "1.0") becomes "localhost/latest:latest".  */
static int
oci_image_name (const char *ref, char **ret, struct husk_error **err)
{
  const char *slash = strchr (ref, '/');
  size_t first = slash ? (size_t) (slash - ref) : 0;
  bool registry = slash
                  && (memchr (ref, '.', first) || memchr (ref, ':', first)
                      || (first == strlen ("localhost") && strncmp (ref, "localhost", first) == 0));
  cleanup_free char *candidate
      = registry ? husk_xstrdup (ref) : husk_strdup_printf ("localhost/%s", ref);
  struct husk_reference r;

  if (husk_reference_parse (candidate, &r, err) < 0)
    return husk_error_wrap (err, "name \"%s\"", ref);
  *ret = husk_reference_string (&r);
  husk_reference_clear (&r);
  return 0;
}

/* Follow (nested) indexes from D down to this machine's manifest.  */
static int
oci_resolve (const struct oci_source *o, const struct husk_descriptor *d, int depth, char **ret_buf,
             size_t *ret_len, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  struct husk_descriptor child;
  size_t len;
  int r;

  if (oci_read_blob (o, d, &buf, &len, err) < 0)
    return -1;
  if (!husk_media_is_index (d->media_type))
    {
      if (!husk_media_is_manifest (d->media_type))
        return husk_error_set (err, 0, "manifest %s: unsupported media type \"%s\"", d->digest,
                               d->media_type ? d->media_type : "");
      *ret_buf = TAKE_PTR (buf);
      *ret_len = len;
      return 0;
    }
  if (depth >= OCI_MAX_INDEX_DEPTH)
    return husk_error_set (err, 0, "index %s: nested too deeply", d->digest);
  if (husk_index_select_platform (buf, len, &child, err) < 0)
    return husk_error_wrap (err, "index %s", d->digest);
  r = oci_resolve (o, &child, depth + 1, ret_buf, ret_len, err);
  husk_descriptor_clear (&child);
  return r;
}

/* Commit the image the index entry D names, with the names *NAMES (may be empty), which
   OUT takes on success.  */
static int
oci_load_one (struct husk_store *s, const struct oci_source *o, const struct husk_descriptor *d,
              char ***names, bool rootless, const struct husk_progress *progress,
              struct husk_archive_loaded *out, struct husk_error **err)
{
  cleanup_free char *mbuf = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_strv char **digests = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **members = husk_xcalloc (1, sizeof (char *));
  struct husk_manifest m = { 0 };
  struct blob_source src = { .t = o->t, .dirfd = o->dirfd };
  struct husk_import_source isrc = { .open_blob = archive_open_blob, .arg = &src };
  struct husk_import im = { .rootless = rootless, .progress = progress };
  size_t mlen, clen;
  int rc = -1;

  if (oci_resolve (o, d, 0, &mbuf, &mlen, err) < 0 || husk_manifest_parse (mbuf, mlen, &m, err) < 0
      || oci_read_blob (o, &m.config, &cbuf, &clen, err) < 0)
    goto out;
  for (size_t i = 0; i < m.n_layers; i++)
    {
      cleanup_free char *name = oci_blob_name (m.layers[i].digest);
      const struct member *lm = o->t ? tarindex_find (o->t, name) : NULL;

      if (o->t && lm == NULL)
        {
          husk_error_set (err, 0, "layer %s: not in the archive", m.layers[i].digest);
          goto out;
        }
      husk_strv_append (&digests, m.layers[i].digest);
      husk_strv_append (&members, lm ? lm->name : name);
    }
  src.digests = digests;
  src.members = members;
  /* The manifest and the config as they are, so that the image keeps their digests.  */
  im.manifest = mbuf;
  im.manifest_len = mlen;
  im.config = cbuf;
  im.config_len = clen;
  im.names = (*names)[0] ? *names : NULL;
  rc = husk_image_commit (s, &im, &isrc, &out->res, err);
  reap (&src);
  if (rc == 0)
    out->names = TAKE_PTR (*names);
out:
  if (rc < 0)
    husk_error_wrap (err, "image %s", d->digest);
  husk_manifest_clear (&m);
  return rc;
}

/* Every image the index lists, once each (entries naming the same manifest are one image with
   all their names), the ones loaded taken back when a later one fails.  */
static int
oci_load (struct husk_store *s, const struct oci_source *o, bool rootless,
          const struct husk_progress *progress, husk_images_in_use_fn in_use,
          struct husk_archive_loaded **ret_loaded, size_t *ret_n, struct husk_error **err)
{
  cleanup_free char *layout_buf = NULL;
  cleanup_free char *index_buf = NULL;
  cleanup_json husk_json *layout = NULL;
  cleanup_json husk_json *index = NULL;
  struct husk_descriptor *descs = NULL;
  char ***names = NULL;
  struct husk_archive_loaded *loaded = NULL;
  struct husk_image_list before = { 0 };
  const husk_json *manifests;
  const char *version;
  size_t len, n_descs = 0, n = 0;
  int rc = -1;

  if (oci_read (o, "oci-layout", &layout_buf, &len, err) < 0
      || (layout = husk_json_parse (layout_buf, len, err)) == NULL)
    return husk_error_wrap (err, "oci-layout");
  version = husk_json_get_string (layout, "imageLayoutVersion");
  if (version == NULL || !husk_str_has_prefix (version, "1."))
    return husk_error_set (err, 0, "unsupported imageLayoutVersion \"%s\"", version ? version : "");
  if (oci_read (o, "index.json", &index_buf, &len, err) < 0
      || (index = husk_json_parse (index_buf, len, err)) == NULL)
    return husk_error_wrap (err, "index.json");
  manifests = husk_json_get (index, "manifests");
  if (!husk_json_is_array (manifests) || husk_json_array_len (manifests) == 0)
    return husk_error_set (err, 0, "index.json lists no images");

  descs = husk_xcalloc (husk_json_array_len (manifests), sizeof (*descs));
  names = husk_xcalloc (husk_json_array_len (manifests), sizeof (*names));
  for (size_t i = 0; i < husk_json_array_len (manifests); i++)
    {
      const husk_json *item = husk_json_array_at (manifests, i);
      struct husk_descriptor d;
      const char *ref;
      cleanup_free char *name = NULL;
      size_t k;

      if (husk_descriptor_parse (item, &d, err) < 0)
        {
          husk_error_wrap (err, "index.json: manifests[%zu]", i);
          goto out;
        }
      /* podman load reads containerd's annotation first (buildkit writes it), then ref.name.  */
      ref = husk_json_get_string (husk_json_get (item, "annotations"), "io.containerd.image.name");
      if (ref == NULL || *ref == '\0')
        ref = d.ref_name;
      if (ref && *ref && oci_image_name (ref, &name, err) < 0)
        {
          husk_descriptor_clear (&d);
          husk_error_wrap (err, "index.json: manifests[%zu]", i);
          goto out;
        }
      for (k = 0; k < n_descs && strcmp (descs[k].digest, d.digest) != 0; k++)
        ;
      if (k == n_descs)
        {
          descs[n_descs] = d;
          names[n_descs++] = husk_xcalloc (1, sizeof (char *));
        }
      else
        husk_descriptor_clear (&d);
      if (name && !husk_strv_contains (names[k], name))
        husk_strv_append (&names[k], name);
    }

  if (husk_images_load (s, &before, err) < 0)
    goto out;
  loaded = husk_xcalloc (n_descs, sizeof (*loaded));
  for (size_t i = 0; i < n_descs; i++)
    {
      if (oci_load_one (s, o, &descs[i], &names[i], rootless, progress, &loaded[n], err) < 0)
        {
          if (n > 0)
            undo_loaded (s, &before, loaded, n, in_use);
          goto out;
        }
      n++;
    }
  *ret_loaded = TAKE_PTR (loaded);
  *ret_n = n;
  rc = 0;
out:
  if (loaded)
    husk_archive_loaded_free (loaded, n);
  for (size_t i = 0; i < n_descs; i++)
    {
      husk_descriptor_clear (&descs[i]);
      husk_strv_free (names[i]);
    }
  free (descs);
  free (names);
  husk_images_clear (&before);
  return rc;
}

int
husk_archive_load (struct husk_store *s, const char *path, const char *label, bool docker_only,
                   bool rootless, const struct husk_progress *progress,
                   husk_images_in_use_fn in_use, struct husk_archive_loaded **ret_loaded,
                   size_t *ret_n, struct husk_error **err)
{
  struct tarindex t = { .path = path };
  struct stat st;

  if (label == NULL)
    label = path;
  const struct member *mm;
  char *names[2] = { NULL, NULL };
  char *bufs[2] = { NULL, NULL };
  size_t lens[2] = { 0, 0 };
  cleanup_json husk_json *manifest = NULL;
  struct husk_archive_loaded *loaded = NULL;
  struct husk_image_list before = { 0 };
  size_t n = 0;
  int rc = -1;

  /* The format is told from the content, never the name: a directory is an OCI layout; a tar
     with manifest.json a docker-archive (Docker 25's is an OCI layout too, and docker load
     reads its manifest.json); one with index.json and oci-layout alone an oci-archive.  */
  if (!docker_only && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
    {
      cleanup_close int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct oci_source o = { .t = NULL, .dirfd = fd };

      if (fd < 0)
        return husk_error_set (err, errno, "oci layout \"%s\"", label);
      if (oci_load (s, &o, rootless, progress, in_use, ret_loaded, ret_n, err) < 0)
        return husk_error_wrap (err, "oci layout \"%s\"", label);
      return 0;
    }
  if (tarindex_build (&t, err) < 0)
    {
      /* Not a tar at all: which of the formats it was meant to be is not known.  */
      husk_error_wrap (err, "%s \"%s\"", docker_only ? "docker-archive" : "archive", label);
      goto out;
    }
  mm = tarindex_find (&t, "manifest.json");
  if (mm == NULL && !docker_only && tarindex_find (&t, "index.json")
      && tarindex_find (&t, "oci-layout"))
    {
      struct oci_source o = { .t = &t, .dirfd = -1 };

      rc = oci_load (s, &o, rootless, progress, in_use, ret_loaded, ret_n, err);
      if (rc < 0)
        husk_error_wrap (err, "oci-archive \"%s\"", label);
      goto out;
    }
  if (mm == NULL)
    {
      husk_error_set (
          err, 0, "docker-archive \"%s\": no manifest.json (not a docker save archive)%s", label,
          docker_only ? "" : ", nor index.json and oci-layout (not an OCI archive)");
      goto out;
    }
  names[0] = mm->name;
  if (read_members (&t, names, bufs, lens, err) < 0
      || (manifest = husk_json_parse (bufs[0], lens[0], err)) == NULL)
    {
      husk_error_wrap (err, "docker-archive \"%s\": manifest.json", path);
      goto out;
    }
  if (!husk_json_is_array (manifest) || husk_json_array_len (manifest) == 0)
    {
      husk_error_set (err, 0, "docker-archive \"%s\": manifest.json lists no images", path);
      goto out;
    }
  if (husk_images_load (s, &before, err) < 0)
    goto out;
  loaded = husk_xcalloc (husk_json_array_len (manifest), sizeof (*loaded));
  for (size_t i = 0; i < husk_json_array_len (manifest); i++)
    {
      if (load_one (s, &t, husk_json_array_at (manifest, i), i, rootless, progress, &loaded[n], err)
          < 0)
        {
          husk_error_wrap (err, "docker-archive \"%s\"", label);
          if (n > 0)
            undo_loaded (s, &before, loaded, n, in_use);
          goto out;
        }
      n++;
    }
  *ret_loaded = TAKE_PTR (loaded);
  *ret_n = n;
  rc = 0;
out:
  if (loaded)
    husk_archive_loaded_free (loaded, n);
  husk_images_clear (&before);
  free (bufs[0]);
  tarindex_clear (&t);
  return rc;
}

void
husk_archive_loaded_free (struct husk_archive_loaded *l, size_t n)
{
  for (size_t i = 0; l && i < n; i++)
    husk_strv_free (l[i].names);
  free (l);
}

/* ------------------------------------------------------------------ standard input */

int
husk_archive_spool (struct husk_store *s, int fd, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_close int out = -1;
  ssize_t got;

  /* Unlinked from the start: nothing to remove, and the sweep of tmp/ (which another command
     may run meanwhile, under the store's lock) cannot reach it.  */
  out = openat (s->rootfd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
    {
      cleanup_free char *name = NULL;
      char rnd[17];

      if (husk_random_hex (rnd, 16, err) < 0)
        return -1;
      name = husk_strdup_printf ("tmp/load-%s", rnd);
      out = openat (s->rootfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (out >= 0)
        unlinkat (s->rootfd, name, 0);
    }
  if (out < 0)
    return husk_error_set (err, errno, "store \"%s\": temporary file in \"tmp\"", s->root);
  buf = husk_xmalloc (COPY_BUF);
  while ((got = read (fd, buf, COPY_BUF)) != 0)
    {
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return husk_error_set (err, errno, "read standard input");
      if (husk_write_all (out, buf, (size_t) got) < 0)
        return husk_error_set (err, errno, "store \"%s\": write a temporary file", s->root);
    }
  return TAKE_FD (out);
}

/* ------------------------------------------------------------------ writing */

static int
add_member (struct archive *a, const char *name, const void *buf, size_t len,
            struct husk_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  int r;

  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t) len);
  r = archive_write_header (a, e);
  archive_entry_free (e);
  if (r != ARCHIVE_OK || (len > 0 && archive_write_data (a, buf, len) != (la_ssize_t) len))
    return husk_error_set (err, archive_errno (a) > 0 ? archive_errno (a) : 0, "write \"%s\": %s",
                           name, archive_error_string (a));
  return 0;
}

/* Decompress the stored blob DIGEST into the unlinked file TMPFD, checking it is DIFF_ID.  */
static int
uncompressed_layer (struct husk_store *s, const char *digest, const char *diff_id, int tmpfd,
                    int64_t *ret_size, struct husk_error **err)
{
  cleanup_free char *p
      = husk_strdup_printf ("%s/blobs/sha256/%s", s->root, husk_digest_hex (digest));
  cleanup_archive_read struct archive *a = archive_read_new ();
  cleanup_sha256 struct husk_sha256 *h = husk_sha256_new ();
  struct archive_entry *e;
  const void *block;
  size_t size;
  la_int64_t offset;
  int64_t total = 0;
  char got[HUSK_DIGEST_LEN + 1];
  int r;

  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_raw (a);
  if (archive_read_open_filename (a, p, COPY_BUF) != ARCHIVE_OK
      || archive_read_next_header (a, &e) != ARCHIVE_OK)
    return husk_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
  while ((r = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK)
    {
      husk_sha256_update (h, block, size);
      if (husk_write_all (tmpfd, block, size) < 0)
        return husk_error_set (err, errno, "layer %s: write", digest);
      total += (int64_t) size;
    }
  if (r != ARCHIVE_EOF)
    return husk_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
  husk_sha256_final (h, got);
  if (strcmp (got, diff_id) != 0)
    return husk_error_set (err, 0, "layer %s: uncompressed content is %s, its diff_id says %s",
                           digest, got, diff_id);
  *ret_size = total;
  return 0;
}

static int
add_layer (struct archive *a, struct husk_store *s, const char *digest, const char *diff_id,
           const char *name, struct husk_error **err)
{
  cleanup_close int fd = open (s->root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  cleanup_free unsigned char *buf = NULL;
  struct archive_entry *e;
  int64_t size = 0;
  ssize_t got;
  int r;

  if (fd < 0)
    {
      cleanup_free char *tmpdir = husk_strdup_printf ("%s/tmp", s->root);
      fd = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0)
        return husk_error_set (err, errno, "temporary file in \"%s\"", tmpdir);
    }
  if (uncompressed_layer (s, digest, diff_id, fd, &size, err) < 0)
    return -1;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return husk_error_set (err, errno, "seek");
  e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, size);
  r = archive_write_header (a, e);
  archive_entry_free (e);
  if (r != ARCHIVE_OK)
    return husk_error_set (err, 0, "write \"%s\": %s", name, archive_error_string (a));
  buf = husk_xmalloc (COPY_BUF);
  while ((got = read (fd, buf, COPY_BUF)) > 0)
    if (archive_write_data (a, buf, (size_t) got) != got)
      return husk_error_set (err, 0, "write \"%s\": %s", name, archive_error_string (a));
  if (got < 0)
    return husk_error_set (err, errno, "read");
  return 0;
}

/* Split "domain/path:tag" at its tag's colon (not a port's); NULL when it has no tag.  */
static char *
tag_colon (char *name)
{
  char *colon = strrchr (name, ':');
  return colon == NULL || strchr (colon, '/') ? NULL : colon;
}

/* Whether NAME ("domain/path:tag") is a tag of the repository REPO's first LEN bytes.  */
static bool
in_repo (const char *name, const char *repo, size_t len)
{
  return strncmp (name, repo, len) == 0 && name[len] == ':' && strchr (name + len, '/') == NULL;
}

/* The legacy "repositories" file: repository -> tag -> top layer, each repository once (a
   JSON object's keys are unique) whichever images its tags are on.  TOPS[i] is image i's top
   diff_id's hex, "" for an image without layers.  */
static void
write_repositories (husk_jgen *rj, char **const *names, char *const *tops, size_t n)
{
  husk_jgen_map_open (rj);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; *tops[i] && names[i] && names[i][k]; k++)
      {
        cleanup_free char *repo = husk_xstrdup (names[i][k]);
        char *colon = tag_colon (repo);
        size_t len;
        bool seen = false;

        if (colon == NULL)
          continue;
        len = (size_t) (colon - repo);
        /* Written already with an earlier name of the same repository?  */
        for (size_t i2 = 0; i2 <= i && !seen; i2++)
          for (size_t k2 = 0; *tops[i2] && names[i2] && names[i2][k2] && (i2 < i || k2 < k); k2++)
            if (in_repo (names[i2][k2], repo, len))
              seen = true;
        if (seen)
          continue;
        *colon = '\0';
        husk_jgen_key (rj, repo);
        husk_jgen_map_open (rj);
        for (size_t i2 = i; i2 < n; i2++)
          for (size_t k2 = 0; *tops[i2] && names[i2] && names[i2][k2]; k2++)
            if (in_repo (names[i2][k2], repo, len))
              {
                husk_jgen_key (rj, names[i2][k2] + len + 1);
                husk_jgen_string (rj, tops[i2]);
              }
        husk_jgen_map_close (rj);
      }
  husk_jgen_map_close (rj);
}

int
husk_archive_save (struct husk_store *s, const struct husk_image *const *imgs, char **const *names,
                   size_t n, int outfd, struct husk_error **err)
{
  cleanup_archive_write struct archive *a = archive_write_new ();
  cleanup_jgen husk_jgen *mj = husk_jgen_new (false);
  cleanup_jgen husk_jgen *rj = husk_jgen_new (false);
  cleanup_strv char **written = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **tops = husk_xcalloc (n + 1, sizeof (char *));
  const char *buf;
  size_t len;

  if (a == NULL)
    return husk_error_set (err, ENOMEM, "libarchive");
  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_fd (a, outfd) != ARCHIVE_OK)
    return husk_error_set (err, 0, "%s", archive_error_string (a));

  husk_jgen_array_open (mj);
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_image *img = imgs[i];
      cleanup_free char *mbuf = NULL;
      cleanup_free char *cbuf = NULL;
      cleanup_free char *config_name = NULL;
      struct husk_manifest m = { 0 };
      struct husk_image_config cfg = { 0 };
      size_t mlen, clen;
      char *top = NULL;

      if (husk_store_read_blob (s, img->manifest, SMALL_MAX, &mbuf, &mlen, err) < 0
          || husk_manifest_parse (mbuf, mlen, &m, err) < 0
          || husk_store_read_blob (s, img->config, SMALL_MAX, &cbuf, &clen, err) < 0
          || husk_image_config_parse (cbuf, clen, &cfg, err) < 0)
        {
          husk_manifest_clear (&m);
          return husk_error_wrap (err, "image %.12s", img->id);
        }
      if (husk_strv_len (cfg.diff_ids) != m.n_layers)
        {
          husk_manifest_clear (&m);
          husk_image_config_clear (&cfg);
          return husk_error_set (err, 0, "image %.12s: layers and diff_ids differ", img->id);
        }
      config_name = husk_strdup_printf ("%s.json", img->id);
      if (add_member (a, config_name, cbuf, clen, err) < 0)
        goto fail;
      husk_jgen_map_open (mj);
      husk_jgen_key (mj, "Config");
      husk_jgen_string (mj, config_name);
      husk_jgen_key (mj, "RepoTags");
      husk_jgen_array_open (mj);
      for (size_t k = 0; names[i] && names[i][k]; k++)
        husk_jgen_string (mj, names[i][k]);
      husk_jgen_array_close (mj);
      husk_jgen_key (mj, "Layers");
      husk_jgen_array_open (mj);
      for (size_t k = 0; k < m.n_layers; k++)
        {
          cleanup_free char *lname
              = husk_strdup_printf ("%s/layer.tar", husk_digest_hex (cfg.diff_ids[k]));
          bool seen = false;
          for (size_t w = 0; written[w]; w++)
            seen = seen || strcmp (written[w], lname) == 0;
          if (!seen)
            {
              if (add_layer (a, s, m.layers[k].digest, cfg.diff_ids[k], lname, err) < 0)
                {
                  husk_error_wrap (err, "image %.12s", img->id);
                  goto fail;
                }
              husk_strv_append (&written, lname);
            }
          husk_jgen_string (mj, lname);
          top = cfg.diff_ids[k];
        }
      husk_jgen_array_close (mj);
      husk_jgen_map_close (mj);

      tops[i] = husk_xstrdup (top ? husk_digest_hex (top) : "");
      husk_manifest_clear (&m);
      husk_image_config_clear (&cfg);
      continue;
    fail:
      husk_manifest_clear (&m);
      husk_image_config_clear (&cfg);
      return -1;
    }
  husk_jgen_array_close (mj);
  write_repositories (rj, names, tops, n);
  buf = husk_jgen_buf (mj, &len);
  if (add_member (a, "manifest.json", buf, len, err) < 0)
    return -1;
  buf = husk_jgen_buf (rj, &len);
  if (add_member (a, "repositories", buf, len, err) < 0)
    return -1;
  if (archive_write_close (a) != ARCHIVE_OK)
    return husk_error_set (err, 0, "%s", archive_error_string (a));
  return 0;
}
