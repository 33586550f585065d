/* .dockerignore: which files of a build context the build never reads, with Docker's exact
   rules (the Dockerfile reference, ".dockerignore file"; moby/patternmatcher and its
   ignorefile reader; BuildKit's context walker, tonistiigi/fsutil): one pattern a line,
   lines trimmed, '#' lines ignored, each pattern cleaned as Go's filepath.Clean does and its
   leading '/' dropped; '*' any run of characters but '/', '?' one character but '/',
   '[...]' a class, '\' escapes, '**' any number of directories (also none); a pattern that
   matches a directory excludes everything below it; '!' makes an exception; the last
   pattern that matches a path decides.  Docker matches with Go regular expressions it builds
   from the patterns (which read a few patterns unlike filepath.Match would: \d is a digit,
   [[:alpha:]] a class); husk builds the same text and turns it into a POSIX one
   (build/goregex.h) for regcomp.  */
#ifndef HUSK_IGNORE_H
#define HUSK_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct husk_ignore;

/* Read a .dockerignore's LEN bytes (BUF need not be NUL-terminated).  *RET (free with
   husk_ignore_free) matches nothing when the file has no patterns.  Errors (-1, one line):
   a line longer than 65535 bytes, a lone "!" ("illegal exclusion pattern"), a pattern Go's
   filepath.Match refuses (an unterminated or empty [...], a trailing '\'), one whose Go
   expression Go would refuse (an unknown escape such as \q; Docker fails only once a path
   is matched against it) or that has no POSIX form (\b, \p{...}).  */
int husk_ignore_parse (const char *buf, size_t len, struct husk_ignore **ret,
                       struct husk_error **err);

/* The same from patterns already read (as --exclude gives them; "!p" is an exception).  */
int husk_ignore_new (char *const *patterns, struct husk_ignore **ret, struct husk_error **err);

void husk_ignore_free (struct husk_ignore *ig);

/* The patterns as cleaned, in order; *RET_EXCEPTION for a "!" one.  NULL past the end.  */
const char *husk_ignore_pattern (const struct husk_ignore *ig, size_t i, bool *ret_exception);

/* Whether PATH is excluded.  PATH is relative to the context root, '/'-separated, clean (no
   leading '/' or "./", no "..", no trailing '/'): "src/main.c".  Docker's context walker
   (fsutil) matches each entry with patternmatcher's MatchesUsingParentResults, given what
   matched its parent directory: a pattern that matched the directory matches everything
   below it, and one skipped there (an inclusion once something already excluded the
   directory, an exception while nothing did) is tried again on the entry alone.  This
   function follows the same chain from the top directory down to PATH.  The context root
   itself ("", ".") is never excluded.  */
bool husk_ignore_match (const struct husk_ignore *ig, const char *path);

/* The same for a walk, one step at a time: PARENT is the *RET_INFO of PATH's directory (NULL
   for an entry at the top of the context); *RET_INFO (may be NULL; free with free) is what
   to pass for the entries of PATH when it is a directory.  */
bool husk_ignore_match_under (const struct husk_ignore *ig, const char *path, const bool *parent,
                              bool **ret_info);

/* For a directory DIR that husk_ignore_match excluded: whether the walk must still enter it,
   because an exception could re-include something below it.  Docker's walker rule: yes when
   some exception pattern (its trailing slash-star-star or slash-star aside) has a wildcard or
   escape
   (* ? [ ] ^ \), or starts with "DIR/"; no when there is no exception at all.  A directory
   entered this way is itself part of the context only when something below it is.  */
bool husk_ignore_must_walk (const struct husk_ignore *ig, const char *dir);

/* The ignore file of a build: DOCKERFILE.dockerignore beside the Dockerfile (DOCKERFILE is
   the Dockerfile's path as given, "ctx/Dockerfile" or "/src/app.Dockerfile"; NULL or "-"
   for a Dockerfile on stdin) if it exists, else CONTEXT/.dockerignore if it exists.  *RET_PATH
   is the path found (allocated) or NULL when there is none.  Errors: a stat failure other
   than ENOENT and ENOTDIR.  */
int husk_ignore_find (const char *context, const char *dockerfile, char **ret_path,
                      struct husk_error **err);

/* husk_ignore_find, then the file read (at most 16 MiB) and parsed; with no file, *RET matches
   nothing and *RET_PATH (may be NULL) is NULL.  Errors name the file.  */
int husk_ignore_load (const char *context, const char *dockerfile, struct husk_ignore **ret,
                      char **ret_path, struct husk_error **err);

static inline void
husk_ignore_freep (struct husk_ignore **p)
{
  husk_ignore_free (*p);
}
#define cleanup_ignore __attribute__ ((cleanup (husk_ignore_freep)))

#endif
