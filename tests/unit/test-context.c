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
#include "error.h"
#include "tap.h"
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

  /* Symbolic links are selected as links and never followed, not even on the way.  */
  ok (select_str (c, "link", NULL, &sel, &msg) == 0, "select a symlink");
  d = describe (&sel);
  is_str (d, "link||l->/etc/passwd ", "the link itself, with its target");
  free (d);
  ok (sel.entries[0].digest[0] == '\0', "no content digest for a link");
  husk_ctx_selection_clear (&sel);
  ok (select_str (c, "dirlink/x.c", NULL, &sel, &msg) != 0, "no path through a symlink");
  free (msg);
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

  {
    cleanup_free char *cmd = husk_strdup_printf ("rm -rf '%s' '%s'", ctxdir, cache);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", ctxdir);
  }
  return tap_done ();
}
