/* The build context: the files a COPY or ADD selects from it, their content hashes for the
   build cache (with a stat cache, so a rebuild with nothing changed is one lstat walk and no
   read), and which files .dockerignore keeps out (through a filter the caller gives, see
   ignore.h).

   What is hashed follows issue 11's cache rule and BuildKit's content-based cache (not the
   classic builder's mtime-sensitive one): for every selected entry its path, type, mode,
   owner, link target and content; never its times.  A file touched but not changed gets the
   same hash.  */
#ifndef HUSK_BUILD_CONTEXT_H
#define HUSK_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "digest.h"
#include "error.h"

/* What the filter says about a context path.  */
enum husk_ctx_filter
{
  HUSK_CTX_INCLUDE,      /* In the context.  */
  HUSK_CTX_EXCLUDE,      /* Not in the context, nor anything below it.  */
  HUSK_CTX_EXCLUDE_WALK, /* A directory not in the context itself, but an exception may bring
                            back something below it: walk it.  */
};

/* PATH is relative to the context, cleaned, without a leading "/" ("a/b.txt").  Called once for
   every entry a selection meets, parents before children.  */
typedef enum husk_ctx_filter (*husk_ctx_filter_fn) (void *arg, const char *path, bool is_dir);

struct husk_ctx_entry
{
  char *path;  /* Relative to the context: "src/a.c"; "." for the context itself.  */
  size_t root; /* Index of the source (the matched path) this entry is under.  */
  size_t rel;  /* Offset in PATH of the part below that source ("" for the source itself).  */
  mode_t mode; /* st_mode: type and permission bits.  */
  uid_t uid;
  gid_t gid;
  uint64_t size;                    /* Regular files: bytes.  */
  char *link;                       /* Symbolic links: the target, as written; NULL otherwise.  */
  char digest[HUSK_DIGEST_LEN + 1]; /* Regular files: "sha256:HEX" of the content; "" else.  */
  /* As lstat saw the entry when it was selected.  A copy checks the file it opens is still
     that one (the stat cache's rule) instead of hashing it again.  */
  uint64_t ino;
  struct timespec mtime, ctime;
};

/* What a list of sources selected, in the order the sources were given (a glob's matches in
   byte order of their names); each source's entries are the source itself, then what is below
   it, depth first, each directory's names in byte order.  */
struct husk_ctx_selection
{
  char **sources; /* The matched paths, relative to the context ("." for the context), with a
                     symbolic link a source names resolved (inside the context).  */
  char **names;   /* The same as the source named them, before a link was resolved: what a
                     copied file is called at its destination.  */
  bool *source_is_dir;
  size_t n_sources;
  struct husk_ctx_entry *entries;
  size_t n_entries;
  /* --parents: for each source, what of its path is kept under the destination: the path as
     the source named it, below the pivot ("x/./y/a.txt" keeps "y/a.txt", "x/a.txt" all of
     it; "" for the pivot itself).  NULL without --parents.  */
  char **keep;
  char hash[HUSK_DIGEST_LEN + 1]; /* Over everything above: the cache key's part.  */
  uint64_t files_read;            /* Files hashed by reading them (stat cache misses).  */
  uint64_t bytes_read;
};

struct husk_ctx;
struct husk_ignore;

/* COPY and ADD's flags that change what a selection holds.  */
struct husk_ctx_select_opts
{
  /* --exclude (the Dockerfile reference, "COPY --exclude"), or NULL: patterns with
     .dockerignore's syntax and rules (ignore.h: "**", "!" exceptions, the last match decides),
     matched against an entry's path below the source it is under ("a/b.txt" below the source
     "src"), as BuildKit's copy matches them.  A glob's match that is not a directory is
     matched too, by its path below the directory the glob starts in ("home.txt" for "hom*",
     "a/x.txt" for "src/?/x.txt"): the reference's "COPY --exclude=*.txt hom* /mydir/".  A
     source named without a glob is never excluded itself.  What is excluded is not read, not
     hashed, and not copied; a directory excluded is not walked unless an exception ("!")
     could bring something below it back.  */
  const struct husk_ignore *exclude;
  /* --parents: each source may have the pivot "/./" ("x/./y/a.txt"): what comes before it is
     only where the path starts; what comes after it (all of the path without one) is kept
     under the destination: the selection's KEEP.  */
  bool parents;
};

/* Open the context directory DIR (a directory; symbolic links in DIR itself are followed, none
   below it ever is).  STATCACHE: the file the stat cache is kept in (read now when it exists,
   written by husk_ctx_save), or NULL for none.  FILTER (may be NULL: everything is in the
   context) is consulted for every path.  Errors: DIR cannot be opened or is not a directory.
   A stat cache that cannot be read or parsed is ignored (every file is read again).  */
int husk_ctx_open (const char *dir, const char *statcache, husk_ctx_filter_fn filter,
                   void *filter_arg, struct husk_ctx **ret, struct husk_error **err);

/* husk_ctx_open on the directory DIRFD (duplicated: the caller keeps its own), with no filter
   and no stat cache: another stage's or image's root for COPY --from.  WHERE names it in the
   message for a source that is not there ("stage \"build\"").  */
int husk_ctx_open_fd (int dirfd, const char *where, struct husk_ctx **ret, struct husk_error **err);

/* Select what the COPY/ADD sources SOURCES (N of them, after variable expansion, as written:
   "src/", "*.txt", "a/b?/c") name: each is cleaned like Go's filepath.Clean and taken relative
   to the context ("/x" and "x" are the same, ".." above the context is refused); a source
   with glob characters (*, ?, [) matches paths component by component as Go's filepath.Match
   (and fnmatch(3) without flags) does, the others name one path.  A matched directory brings
   everything below it that the filter keeps.  A symbolic link the source names (on its way, or
   last, as BuildKit follows them) is resolved inside the context, as if the context were "/":
   it can never lead out of it; symbolic links below a source directory are copied as links,
   never followed.
   Errors (one line, naming the source): "..." leaves the context; the source does not exist
   or the filter excludes it ("not found in the build context or excluded by .dockerignore");
   a glob that matches nothing; a file that cannot be read.  *RET is filled only on
   success; free it with husk_ctx_selection_clear.  */
int husk_ctx_select (struct husk_ctx *c, char *const *sources, size_t n,
                     struct husk_ctx_selection *ret, struct husk_error **err);

/* husk_ctx_select with OPTS (may be NULL: husk_ctx_select).  With OPTS->exclude, a glob
   whose every match is excluded is no error: it matched.  With OPTS->parents, a source's
   pivot is found in the source as written (before it is cleaned), and the part before the
   pivot must stay inside the context like the rest.  */
int husk_ctx_select_opts (struct husk_ctx *c, char *const *sources, size_t n,
                          const struct husk_ctx_select_opts *opts, struct husk_ctx_selection *ret,
                          struct husk_error **err);

void husk_ctx_selection_clear (struct husk_ctx_selection *sel);

/* The context's directory, for reading the selected files (openat with O_NOFOLLOW, relative
   paths from the entries).  */
int husk_ctx_dirfd (const struct husk_ctx *c);

/* Write the stat cache back (atomically: a temporary file renamed over it) when it changed;
   entries of files that were not seen by this build are kept.  No-op without a stat cache
   file.  */
int husk_ctx_save (struct husk_ctx *c, struct husk_error **err);

void husk_ctx_close (struct husk_ctx *c);

#endif
