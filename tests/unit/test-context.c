/* The build context (build/context.c): what COPY sources select, the content hash the build
   cache keys on, and the stat cache.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "context.h"
#include "copyin.h"
#include "error.h"
#include "ignore.h"
#include "tap.h"
#include "userns.h"
#include "util.h"

static char ctxdir[] = "/tmp/husk-test-context-XXXXXX";

static void
put (const char *rel, const char *content)
{
  cleanup_free char *p = husk_strdup_printf ("%s/%s", ctxdir, rel);
  cleanup_error struct husk_error *err = NULL;

  if (husk_write_file_replace_at (AT_FDCWD, p, content, strlen (content), 0644, &err) < 0)
    {
      printf ("Bail out! %s\n", err->msg);
      exit (1);
    }
}

static void
mkd (const char *rel)
{
  cleanup_free char *p = husk_strdup_printf ("%s/%s", ctxdir, rel);
  if (mkdir (p, 0755) < 0)
    {
      printf ("Bail out! mkdir %s: %s\n", p, strerror (errno));
      exit (1);
    }
}

/* The selection's entries as "SOURCE|REL|KIND " where KIND is f, d or l->TARGET.  */
static char *
describe (const struct husk_ctx_selection *sel)
{
  char *out = husk_xstrdup ("");

  for (size_t i = 0; i < sel->n_entries; i++)
    {
      const struct husk_ctx_entry *e = &sel->entries[i];
      char *kind = S_ISDIR (e->mode)   ? husk_xstrdup ("d")
                   : S_ISLNK (e->mode) ? husk_strdup_printf ("l->%s", e->link)
                                       : husk_xstrdup ("f");
      char *next
          = husk_strdup_printf ("%s%s|%s|%s ", out, sel->sources[e->root], e->path + e->rel, kind);
      free (kind);
      free (out);
      out = next;
    }
  return out;
}

static int
select_str (struct husk_ctx *c, const char *s1, const char *s2, struct husk_ctx_selection *sel,
            char **ret_err)
{
  char *const srcs[] = { (char *) s1, (char *) s2 };
  struct husk_error *err = NULL;
  int r = husk_ctx_select (c, srcs, s2 ? 2 : 1, sel, &err);

  *ret_err = err ? husk_xstrdup (err->msg) : NULL;
  husk_error_free (&err);
  return r;
}

/* Excludes *.md everywhere and the directory "skip"; "keep" is excluded but walked, with
   "keep/in.txt" brought back (as "keep" plus "!keep/in.txt" in a .dockerignore).  */
static enum husk_ctx_filter
test_filter (void *arg, const char *path, bool is_dir)
{
  (void) arg;
  (void) is_dir;
  if (fnmatch ("*.md", path, 0) == 0 || strcmp (path, "skip") == 0)
    return HUSK_CTX_EXCLUDE;
  if (strcmp (path, "keep") == 0)
    return HUSK_CTX_EXCLUDE_WALK;
  if (husk_str_has_prefix (path, "keep/") && strcmp (path, "keep/in.txt") != 0)
    return HUSK_CTX_EXCLUDE;
  return HUSK_CTX_INCLUDE;
}

/* SOURCES (NULL-terminated) selected with OPTS: the selection described, or the error.  */
static char *
select_opts (struct husk_ctx *c, char *const *sources, const struct husk_ctx_select_opts *opts,
             struct husk_ctx_selection *sel)
{
  struct husk_error *err = NULL;
  char *r;

  if (husk_ctx_select_opts (c, sources, husk_strv_len (sources), opts, sel, &err) < 0)
    {
      r = husk_strdup_printf ("error: %s", err->msg);
      husk_error_free (&err);
      return r;
    }
  return describe (sel);
}

static struct husk_ignore *
patterns (const char *p1, const char *p2)
{
  char *const v[] = { (char *) p1, (char *) p2, NULL };
  struct husk_ignore *ig = NULL;
  cleanup_error struct husk_error *err = NULL;

  if (husk_ignore_new (v, &ig, &err) < 0)
    {
      printf ("Bail out! %s\n", err->msg);
      exit (1);
    }
  return ig;
}

/* COPY --exclude and --parents: what a selection holds with them.  */
static void
test_select_opts (void)
{
  struct husk_ctx *c = NULL;
  struct husk_ctx_selection sel = { 0 };
  struct husk_error *err = NULL;
  struct husk_ctx_select_opts o = { 0 };
  char h1[HUSK_DIGEST_LEN + 1];
  char *d;

  ok (husk_ctx_open (ctxdir, NULL, NULL, NULL, &c, &err) == 0, "open the context again");

  /* --exclude=*.c: below the source only at its top ("x.c", not "sub/y.c"), never read.  */
  o.exclude = patterns ("*.c", NULL);
  {
    char *const v[] = { "src", NULL };
    d = select_opts (c, v, &o, &sel);
    is_str (d, "src||d src|sub|d src|sub/y.c|f ", "--exclude=*.c: the top x.c left out");
    free (d);
    ok (sel.files_read == 1, "the excluded file was not read");
    memcpy (h1, sel.hash, sizeof h1);
    husk_ctx_selection_clear (&sel);
    put ("src/x.c", "int changed;\n");
    d = select_opts (c, v, &o, &sel);
    free (d);
    is_str (sel.hash, h1, "an excluded file's change leaves the hash as it was");
    husk_ctx_selection_clear (&sel);
    put ("src/x.c", "int x;\n");
  }
  {
    /* A glob's matches that are not directories are matched too, below the glob's start.  */
    char *const v[] = { "src/*", "*.md", NULL };
    husk_ignore_free ((struct husk_ignore *) o.exclude);
    o.exclude = patterns ("*.c", "*.md");
    d = select_opts (c, v, &o, &sel);
    is_str (d, "src/sub||d ",
            "a glob's file matches excluded (and below a directory match, y.c); a glob whose "
            "matches are all excluded is no error");
    free (d);
    ok (sel.n_sources == 1, "one source left");
    husk_ctx_selection_clear (&sel);
  }
  {
    /* An exception brings a file back from an excluded directory, which is walked.  */
    char *const v[] = { "src", NULL };
    husk_ignore_free ((struct husk_ignore *) o.exclude);
    o.exclude = patterns ("sub", "!sub/y.c");
    d = select_opts (c, v, &o, &sel);
    is_str (d, "src||d src|sub/y.c|f src|x.c|f ", "an exception below an excluded directory");
    free (d);
    husk_ctx_selection_clear (&sel);
  }
  {
    /* A source named without a glob is never excluded itself.  */
    char *const v[] = { "a.txt", NULL };
    husk_ignore_free ((struct husk_ignore *) o.exclude);
    o.exclude = patterns ("a.txt", NULL);
    d = select_opts (c, v, &o, &sel);
    is_str (d, "a.txt||f ", "a named file is copied whatever --exclude says");
    free (d);
    husk_ctx_selection_clear (&sel);
  }
  husk_ignore_free ((struct husk_ignore *) o.exclude);
  o.exclude = NULL;

  /* --parents: the part after the pivot is kept (all of the path without one).  */
  o.parents = true;
  {
    char *const v[] = { "src/./sub/y.c", "./a.txt", "src/./", "/src/sub/./../*.c", NULL };
    d = select_opts (c, v, &o, &sel);
    is_str (d, "src/sub/y.c||f a.txt||f src||d src|sub|d src|sub/y.c|f src|x.c|f src/sub/y.c||f ",
            "--parents: the sources as without it");
    free (d);
    ok (sel.keep && sel.n_sources == 4, "a kept path for each source");
    if (sel.keep && sel.n_sources == 4)
      {
        is_str (sel.keep[0], "sub/y.c", "after the pivot");
        is_str (sel.keep[1], "a.txt", "without a pivot: the whole path");
        is_str (sel.keep[2], "", "the pivot itself: nothing");
        is_str (sel.keep[3], "y.c", "\"..\" after the pivot stops at it");
      }
    memcpy (h1, sel.hash, sizeof h1);
    husk_ctx_selection_clear (&sel);
  }
  {
    char *const v[] = { "src/sub/./y.c", "./a.txt", "src/./", "/src/sub/./../*.c", NULL };
    d = select_opts (c, v, &o, &sel);
    free (d);
    ok (strcmp (sel.hash, h1) != 0, "another pivot, the same files: another hash");
    husk_ctx_selection_clear (&sel);
  }
  {
    char *const v[] = { "../x/./a.txt", NULL };
    d = select_opts (c, v, &o, &sel);
    is_str (d, "error: source \"../x/./a.txt\": outside the build context",
            "a pivot above the context");
    free (d);
  }
  husk_ctx_close (c);
}

static char imgdir[] = "/tmp/husk-test-copy-XXXXXX";

static void
iput (const char *rel, const char *content)
{
  cleanup_free char *p = husk_strdup_printf ("%s/%s", imgdir, rel);
  cleanup_error struct husk_error *err = NULL;

  if (husk_write_file_replace_at (AT_FDCWD, p, content, strlen (content), 0644, &err) < 0)
    {
      printf ("Bail out! %s\n", err->msg);
      exit (1);
    }
}

static void
imkd (const char *rel, mode_t mode)
{
  cleanup_free char *p = husk_strdup_printf ("%s/%s", imgdir, rel);
  if (mkdir (p, mode) < 0 || chmod (p, mode) < 0)
    {
      printf ("Bail out! mkdir %s: %s\n", p, strerror (errno));
      exit (1);
    }
}

/* One COPY into a fresh upper directory over the lower layer imgdir/lower.  Returns 0 or -1
   with *RET_MSG set.  */
static int
do_copy (struct husk_ctx *c, const struct husk_idmap *map, const char *s1, const char *s2,
         const char *dest, const char *workdir, const char *chown, int chmod_, char **ret_msg)
{
  struct husk_ctx_selection sel = { 0 };
  char *const srcs[] = { (char *) s1, (char *) s2 };
  cleanup_free char *lower = husk_strdup_printf ("%s/lower", imgdir);
  cleanup_free char *upper = husk_strdup_printf ("%s/upper", imgdir);
  cleanup_free char *work = husk_strdup_printf ("%s/work", imgdir);
  cleanup_free char *mnt = husk_strdup_printf ("%s/mnt", imgdir);
  cleanup_free char *cmd = husk_strdup_printf ("rm -rf '%s' '%s'", upper, work);
  char *lowers[] = { lower, NULL };
  struct husk_error *err = NULL;
  int r;

  *ret_msg = NULL;
  if (system (cmd) != 0 || mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0)
    return -1;
  mkdir (mnt, 0755);
  if (husk_ctx_select (c, srcs, s2 ? 2 : 1, &sel, &err) < 0)
    {
      *ret_msg = husk_xstrdup (err->msg);
      husk_error_free (&err);
      return -1;
    }
  struct husk_build_copy req = {
    .ctx = c,
    .sel = &sel,
    .n_written = s2 ? 2 : 1,
    .lowerdirs = lowers,
    .upper = upper,
    .work = work,
    .mountpoint = mnt,
    .map = map,
    .dest = dest,
    .workdir = workdir,
    .chown = chown,
    .chmod = chmod_,
  };
  r = husk_build_copy_run (&req, &err);
  if (r < 0)
    {
      *ret_msg = husk_xstrdup (err->msg);
      husk_error_free (&err);
    }
  husk_ctx_selection_clear (&sel);
  return r;
}

/* The upper directory's entry REL: "-" when missing, else "KIND MODE UID:GID" (KIND f, d, l),
   with the owner as the container sees it (unprivileged, the test's single-id namespace maps
   0 to the caller).  */
static char *
up (const char *rel)
{
  cleanup_free char *p = husk_strdup_printf ("%s/upper/%s", imgdir, rel);
  struct stat sb;

  if (lstat (p, &sb) < 0)
    return husk_xstrdup ("-");
  if (geteuid () != 0 && sb.st_uid == getuid ())
    sb.st_uid = 0;
  if (geteuid () != 0 && sb.st_gid == getgid ())
    sb.st_gid = 0;
  return husk_strdup_printf ("%c %04o %u:%u",
                             S_ISDIR (sb.st_mode)   ? 'd'
                             : S_ISLNK (sb.st_mode) ? 'l'
                                                    : 'f',
                             (unsigned) (sb.st_mode & 07777), (unsigned) sb.st_uid,
                             (unsigned) sb.st_gid);
}

#define is_up(rel, want, ...)                                                                      \
  do                                                                                               \
    {                                                                                              \
      char *_u = up (rel);                                                                         \
      is_str (_u, want, __VA_ARGS__);                                                              \
      free (_u);                                                                                   \
    }                                                                                              \
  while (0)

static void
test_copy (void)
{
  struct husk_ctx *c = NULL;
  struct husk_error *err = NULL;
  struct husk_idmap map, *mapp = NULL;
  bool root = geteuid () == 0;
  char *msg = NULL;

  if (mkdtemp (imgdir) == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      exit (1);
    }
  if (!root)
    {
      /* Unprivileged: a user namespace with only the caller's own id, as a store without a
         subordinate range has.  */
      map = (struct husk_idmap){ .uid = getuid (), .gid = getgid (), .n_uids = 1, .n_gids = 1 };
      map.uids[0] = (struct husk_idrange){ 0, getuid (), 1 };
      map.gids[0] = (struct husk_idrange){ 0, getgid (), 1 };
      mapp = &map;
    }
  imkd ("lower", 0755);
  imkd ("lower/usr", 0755);
  imkd ("lower/usr/bin", 0755);
  imkd ("lower/etc", 0755);
  imkd ("lower/data", 0700);
  iput ("lower/etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
  iput ("lower/etc/group", "root:x:0:\ngrp:x:2000:\n");
  iput ("lower/file", "f\n");
  {
    cleanup_free char *l = husk_strdup_printf ("%s/lower/bin", imgdir);
    ok (symlink ("usr/bin", l) == 0, "lower layer: /bin -> usr/bin");
  }
  {
    cleanup_free char *a = husk_strdup_printf ("%s/a.txt", ctxdir);
    ok (chmod (a, 0644) == 0, "a.txt back to 0644");
  }
  ok (husk_ctx_open (ctxdir, NULL, NULL, NULL, &c, &err) == 0, "copy: open the context");

  /* A destination through a symlink of the image is followed, not shadowed.  */
  ok (do_copy (c, mapp, "a.txt", NULL, "/bin/", NULL, NULL, -1, &msg) == 0, "COPY a.txt /bin/");
  is_str (msg, NULL, "no error");
  is_up ("usr/bin/a.txt", "f 0644 0:0", "it lands in /usr/bin, owned by 0:0");
  is_up ("bin", "-", "the upper layer does not shadow /bin");

  /* A directory's contents, not the directory; missing destination directories made.  */
  ok (do_copy (c, mapp, "src", NULL, "app", "/w", NULL, -1, &msg) == 0,
      "COPY src app (WORKDIR /w)");
  is_up ("w/app/x.c", "f 0644 0:0", "src/x.c as /w/app/x.c");
  is_up ("w/app/sub/y.c", "f 0644 0:0", "src/sub/y.c as /w/app/sub/y.c");
  is_up ("w/app/src", "-", "not the directory itself");
  is_up ("w", "d 0755 0:0", "a missing WORKDIR made 0755");

  /* One file to a name; to an existing directory without "/": inside it.  */
  ok (do_copy (c, mapp, "a.txt", NULL, "/renamed", NULL, NULL, 0600, &msg) == 0,
      "COPY --chmod=0600 a.txt /renamed");
  is_up ("renamed", "f 0600 0:0", "a file named by the destination, mode from --chmod");
  {
    cleanup_free char *p = husk_strdup_printf ("%s/upper/renamed", imgdir);
    cleanup_free char *q = husk_strdup_printf ("%s/a.txt", ctxdir);
    struct stat a, b;
    ok (stat (p, &a) == 0 && stat (q, &b) == 0 && a.st_mtim.tv_sec == b.st_mtim.tv_sec
            && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_size == b.st_size,
        "its time and size kept");
  }
  ok (do_copy (c, mapp, "a.txt", NULL, "/etc", NULL, NULL, -1, &msg) == 0, "COPY a.txt /etc");
  is_up ("etc/a.txt", "f 0644 0:0", "into the existing directory");

  /* Docker's rule for several sources, and a file over a directory.  */
  ok (do_copy (c, mapp, "a.txt", "src.d", "/x", NULL, NULL, -1, &msg) < 0,
      "two sources, destination without \"/\"");
  is_str (msg,
          "destination \"/x\": with more than one source it must be a directory and end "
          "with \"/\"",
          "its message");
  free (msg);
  ok (do_copy (c, mapp, "a.txt", "src.d", "/x/", NULL, NULL, -1, &msg) == 0, "with \"/\"");
  is_up ("x/a.txt", "f 0644 0:0", "a.txt in /x");
  is_up ("x/z", "f 0644 0:0", "src.d's contents in /x");
  ok (do_copy (c, mapp, "src", NULL, "/", NULL, NULL, -1, &msg) == 0, "COPY src /");
  is_up ("x.c", "f 0644 0:0", "into the root");
  ok (do_copy (c, mapp, "a.txt", NULL, "/data/../usr/bin/..", NULL, NULL, -1, &msg) == 0,
      "a destination with \"..\" is a directory");
  is_up ("usr/a.txt", "f 0644 0:0", "cleaned to /usr");
  {
    cleanup_free char *d = husk_strdup_printf ("%s/links", ctxdir);
    cleanup_free char *l = husk_strdup_printf ("%s/links/l", ctxdir);
    cleanup_free char *a = husk_strdup_printf ("%s/alink", ctxdir);
    ok (mkdir (d, 0755) == 0 && symlink ("/etc/passwd", l) == 0 && symlink ("a.txt", a) == 0,
        "links/l -> /etc/passwd, alink -> a.txt");
  }
  ok (do_copy (c, mapp, "alink", NULL, "/named", NULL, NULL, -1, &msg) == 0,
      "a source that is a link");
  is_up ("named", "f 0644 0:0", "the file it leads to, under the link's name");
  ok (do_copy (c, mapp, "links", NULL, "/ldir", NULL, NULL, -1, &msg) == 0,
      "a directory holding a link");
  is_up ("ldir/l", "l 0777 0:0", "copied as a link");
  {
    cleanup_free char *p = husk_strdup_printf ("%s/upper/ldir/l", imgdir);
    char t[64] = "";
    ok (readlink (p, t, sizeof t - 1) > 0 && strcmp (t, "/etc/passwd") == 0, "its target kept");
  }
  ok (do_copy (c, mapp, "a.txt", NULL, "/usr", NULL, NULL, -1, &msg) == 0,
      "a file to an existing directory");
  free (msg);

  if (root)
    {
      ok (do_copy (c, mapp, "a.txt", NULL, "/data", NULL, "app", -1, &msg) == 0,
          "COPY --chown=app a.txt /data");
      is_up ("data/a.txt", "f 0644 1000:1000", "app's uid, and the same number as group");
      ok (do_copy (c, mapp, "src", NULL, "/new/dir/", NULL, "app:grp", -1, &msg) == 0,
          "COPY --chown=app:grp src /new/dir/");
      is_up ("new", "d 0755 1000:2000", "new destination directories get the owner");
      is_up ("new/dir/sub/y.c", "f 0644 1000:2000", "files too");
      ok (do_copy (c, mapp, "a.txt", NULL, "/", NULL, "nobody", -1, &msg) < 0,
          "--chown of a user the image does not have");
      ok (msg && strstr (msg, "--chown \"nobody\"") != NULL, "names the option: %s", msg);
      free (msg);
    }
  else
    {
      ok (do_copy (c, mapp, "a.txt", NULL, "/data", NULL, "1000", -1, &msg) < 0,
          "--chown to an id the map does not have");
      is_str (msg,
              "--chown \"1000\": 1000:1000 is not mapped in the store's user namespace (ids "
              "other than 0 need a subordinate range in /etc/subuid and /etc/subgid)",
              "a clear error");
      free (msg);
    }
  husk_ctx_close (c);
  {
    cleanup_free char *cmd = husk_strdup_printf ("rm -rf '%s'", imgdir);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", imgdir);
  }
}

int
main (void)
{
  struct husk_ctx *c = NULL;
  struct husk_ctx_selection sel = { 0 }, sel2 = { 0 };
  struct husk_error *err = NULL;
  char *msg = NULL, *d = NULL;
  char cache[256];
  char h1[HUSK_DIGEST_LEN + 1], h2[HUSK_DIGEST_LEN + 1];

  if (mkdtemp (ctxdir) == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      return 1;
    }
  put ("a.txt", "alpha\n");
  put ("b.md", "beta\n");
  mkd ("src");
  put ("src/x.c", "int x;\n");
  mkd ("src/sub");
  put ("src/sub/y.c", "int y;\n");
  mkd ("src.d");
  put ("src.d/z", "z\n");
  mkd ("skip");
  put ("skip/s.txt", "s\n");
  mkd ("keep");
  put ("keep/in.txt", "in\n");
  put ("keep/out.txt", "out\n");
  mkd ("e");
  {
    cleanup_free char *l1 = husk_strdup_printf ("%s/link", ctxdir);
    cleanup_free char *l2 = husk_strdup_printf ("%s/dirlink", ctxdir);
    ok (symlink ("/etc/passwd", l1) == 0 && symlink ("src", l2) == 0, "symlinks made");
  }
  snprintf (cache, sizeof cache, "%s/../%s.statcache", ctxdir, strrchr (ctxdir, '/') + 1);

  ok (husk_ctx_open (ctxdir, NULL, NULL, NULL, &c, &err) == 0, "open the context");

  /* A directory source brings itself and everything below it, depth first, names sorted.  */
  ok (select_str (c, "src", NULL, &sel, &msg) == 0, "select src");
  d = describe (&sel);
  is_str (d, "src||d src|sub|d src|sub/y.c|f src|x.c|f ", "src: itself, then below it in order");
  free (d);
  ok (sel.n_sources == 1 && sel.source_is_dir[0], "one source, a directory");
  husk_ctx_selection_clear (&sel);

  /* Go's filepath.Clean: "/src/../a.txt" is a.txt; a glob matches one level.  */
  ok (select_str (c, "/src/../a.txt", "./*.c", &sel, &msg) != 0, "a glob that matches nothing");
  is_str (msg, "source \"./*.c\": no file in the build context matches it", "its message");
  free (msg);
  ok (select_str (c, "/src/../a.txt", "src*/*", &sel, &msg) == 0, "cleaned path and a glob");
  d = describe (&sel);
  is_str (d, "a.txt||f src/sub||d src/sub|y.c|f src/x.c||f src.d/z||f ",
          "the glob's matches, each a source of its own");
  free (d);
  husk_ctx_selection_clear (&sel);

  ok (select_str (c, "../etc/passwd", NULL, &sel, &msg) != 0, "a source above the context");
  is_str (msg, "source \"../etc/passwd\": outside the build context", "its message");
  free (msg);
  ok (select_str (c, "src/../../x", NULL, &sel, &msg) != 0, "above the context after a name");
  free (msg);
  ok (select_str (c, "nothere", NULL, &sel, &msg) != 0, "a missing source");
  is_str (msg, "source \"nothere\": not found in the build context or excluded by .dockerignore",
          "its message");
  free (msg);

  /* A link the source names is followed, as BuildKit does, but inside the context as if it
     were "/": /etc/passwd is CONTEXT/etc/passwd, which is not there.  */
  ok (select_str (c, "link", NULL, &sel, &msg) != 0, "a link to /etc/passwd");
  is_str (msg, "source \"link\": not found in the build context or excluded by .dockerignore",
          "it does not reach the host's");
  free (msg);
  ok (select_str (c, "dirlink/x.c", NULL, &sel, &msg) == 0, "a path through a link");
  d = describe (&sel);
  is_str (d, "src/x.c||f ", "the file it leads to");
  free (d);
  is_str (sel.names[0], "dirlink/x.c", "named as written");
  ok (sel.entries[0].digest[0] != '\0', "with its content's digest");
  husk_ctx_selection_clear (&sel);
  ok (select_str (c, "dirlink", NULL, &sel, &msg) == 0, "a link to a directory");
  d = describe (&sel);
  is_str (d, "src||d src|sub|d src|sub/y.c|f src|x.c|f ", "the directory it leads to");
  free (d);
  husk_ctx_selection_clear (&sel);
  ok (select_str (c, ".", NULL, &sel, &msg) == 0, "the whole context");
  ok (sel.n_sources == 1 && strcmp (sel.sources[0], ".") == 0, "one source, \".\"");
  {
    bool through = false;
    for (size_t i = 0; i < sel.n_entries; i++)
      through |= husk_str_has_prefix (sel.entries[i].path, "dirlink/");
    ok (!through, "nothing listed below a symlink to a directory");
  }
  memcpy (h1, sel.hash, sizeof h1);
  husk_ctx_selection_clear (&sel);
  husk_ctx_close (c);
  c = NULL;

  /* The filter: excluded files are not there; an exception below an excluded directory is.  */
  ok (husk_ctx_open (ctxdir, NULL, test_filter, NULL, &c, &err) == 0, "open with a filter");
  ok (select_str (c, ".", NULL, &sel, &msg) == 0, "the whole context, filtered");
  d = describe (&sel);
  is_str (d,
          ".||d .|a.txt|f .|dirlink|l->src .|e|d .|keep/in.txt|f .|link|l->/etc/passwd "
          ".|src|d .|src/sub|d .|src/sub/y.c|f .|src/x.c|f .|src.d|d .|src.d/z|f ",
          "*.md, skip/ and keep/ but keep/in.txt left out");
  free (d);
  ok (strcmp (sel.hash, h1) != 0, "a different selection, a different hash");
  husk_ctx_selection_clear (&sel);
  ok (select_str (c, "b.md", NULL, &sel, &msg) != 0, "an excluded file cannot be a source");
  is_str (msg, "source \"b.md\": not found in the build context or excluded by .dockerignore",
          "its message");
  free (msg);
  ok (select_str (c, "keep", NULL, &sel, &msg) == 0, "an excluded directory with an exception");
  d = describe (&sel);
  is_str (d, "keep|in.txt|f ", "only the exception");
  free (d);
  husk_ctx_selection_clear (&sel);
  husk_ctx_close (c);
  c = NULL;

  /* The hash: times do not count; content, mode and names do.  The stat cache: a file read
     once is not read again while its stat is unchanged.  Files changed in the last second are
     not cached (racy), so wait that out first.  */
  usleep (1100 * 1000);
  unlink (cache);
  ok (husk_ctx_open (ctxdir, cache, NULL, NULL, &c, &err) == 0, "open with a stat cache");
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0, "select src and a.txt");
  ok (sel.files_read == 3, "cold: 3 files read (%llu)", (unsigned long long) sel.files_read);
  memcpy (h1, sel.hash, sizeof h1);
  husk_ctx_selection_clear (&sel);
  ok (husk_ctx_save (c, &err) == 0, "save the stat cache");
  husk_ctx_close (c);
  ok (husk_ctx_open (ctxdir, cache, NULL, NULL, &c, &err) == 0, "reopen");
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0, "select again");
  ok (sel.files_read == 0, "no change: nothing read (%llu)", (unsigned long long) sel.files_read);
  is_str (sel.hash, h1, "the same hash");
  husk_ctx_selection_clear (&sel);
  {
    cleanup_free char *p = husk_strdup_printf ("%s/src/x.c", ctxdir);
    struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
    ok (utimensat (AT_FDCWD, p, ts, 0) == 0, "touch src/x.c");
  }
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0, "select after the touch");
  ok (sel.files_read == 1, "touched: that one file read (%llu)",
      (unsigned long long) sel.files_read);
  is_str (sel.hash, h1, "touched but unchanged: the same hash");
  husk_ctx_selection_clear (&sel);
  put ("src/x.c", "int z;\n"); /* Same size, new content.  */
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0, "select after a change");
  memcpy (h2, sel.hash, sizeof h2);
  ok (strcmp (h1, h2) != 0, "changed content: another hash");
  husk_ctx_selection_clear (&sel);
  put ("src/x.c", "int x;\n");
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0 && strcmp (sel.hash, h1) == 0,
      "changed back: the first hash again");
  husk_ctx_selection_clear (&sel);
  {
    cleanup_free char *p = husk_strdup_printf ("%s/a.txt", ctxdir);
    ok (chmod (p, 0600) == 0, "chmod a.txt");
  }
  ok (select_str (c, "src", "a.txt", &sel, &msg) == 0 && strcmp (sel.hash, h1) != 0,
      "another mode: another hash");
  husk_ctx_selection_clear (&sel);
  ok (select_str (c, "a.txt", "src", &sel2, &msg) == 0, "the same sources in another order");
  ok (strcmp (sel2.hash, h1) != 0, "order counts (it is the order files land in)");
  husk_ctx_selection_clear (&sel2);
  husk_ctx_close (c);

  /* A damaged stat cache is ignored, not fatal.  */
  {
    cleanup_free char *g = husk_strdup_printf ("%s.garbage", ctxdir);
    cleanup_error struct husk_error *e2 = NULL;
    const char *bad = "{\"version\":\"1\",\"entries\":[{\"path\":1}]}";
    ok (husk_write_file_replace_at (AT_FDCWD, g, bad, strlen (bad), 0644, &e2) == 0,
        "a damaged stat cache written");
    ok (husk_ctx_open (ctxdir, g, NULL, NULL, &c, &err) == 0, "open with a damaged cache");
    ok (select_str (c, "a.txt", NULL, &sel, &msg) == 0 && sel.files_read == 1, "the file is read");
    husk_ctx_selection_clear (&sel);
    husk_ctx_close (c);
    unlink (g);
  }

  test_select_opts ();
  test_copy ();
  {
    cleanup_free char *cmd = husk_strdup_printf ("rm -rf '%s' '%s'", ctxdir, cache);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", ctxdir);
  }
  return tap_done ();
}
