/* Variable expansion in a Dockerfile, as Docker's builder does it (BuildKit's shell lexer,
   frontend/dockerfile/shell; the Dockerfile reference, "Environment replacement"): $NAME,
   ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word}, ${NAME:?msg},
   ${NAME?msg}, ${NAME#pat}, ${NAME##pat}, ${NAME%pat}, ${NAME%%pat}, ${NAME/pat/repl},
   ${NAME//pat/repl}; the escape character (the Dockerfile's, \ or `) escapes the next
   character; single quotes keep everything literal, double quotes keep all but $ and the
   escape character (which there escapes only ", $ and itself); quotes are removed.  A name
   is ASCII letters, digits and '_' (Go also takes other Unicode letters), or digits, or one
   of @ * # ? - $ ! 0.  Patterns have '*' and '?' (not crossing a newline); a replacement is
   inserted as it is (Go's regexp would read "$1" in it as a group).

   The builder expands only some instructions, and only some of their parts:
   husk_expand_mode says which.  RUN, CMD and ENTRYPOINT are never expanded by the builder
   (the shell does it when the container runs).  */
#ifndef HUSK_EXPAND_H
#define HUSK_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The value of variable NAME: true with *RET_VALUE set (not NULL) when it is set, false when
   it is not.  NAME is a name as written ("PATH", "1", "@").  */
typedef bool (*husk_expand_lookup) (const char *name, const char **ret_value, void *data);

enum
{
  /* Keep quotes in the result (they still group and suppress expansion).  */
  HUSK_EXPAND_RAW_QUOTES = 1 << 0,
  /* Keep the escape character in the result.  */
  HUSK_EXPAND_RAW_ESCAPES = 1 << 1,
  /* Leave a reference to an unset variable as written ("$X", "${X:-w}").  */
  HUSK_EXPAND_SKIP_UNSET = 1 << 2,
  /* Quotes are ordinary characters: how a COPY/ADD heredoc's content is expanded (with the
     escape character \ whatever the Dockerfile's is).  */
  HUSK_EXPAND_NO_QUOTES = 1 << 3,
};

/* Expand WORD (a NUL-terminated string).  ESCAPE is the Dockerfile's escape character ('\\'
   or '`'); FLAGS are HUSK_EXPAND_*; LOOKUP (may be NULL: nothing is set) gives the values.

   RET_WORD (may be NULL) gets the expanded word as one string (ProcessWord: what ENV, LABEL,
   WORKDIR, USER, COPY's paths... get).  RET_WORDS (may be NULL) gets it split into words
   the way a shell splits after expansion (ProcessWords: EXPOSE): whitespace outside quotes
   and in expanded values separates words, empty words are dropped.  RET_USED (may be NULL)
   gets every variable name looked up, in order of first use, each once, whether or not it
   was set: what a build step's cache key depends on.

   Errors (-1, *ERR one line naming WORD): an unterminated quote or ${, "bad substitution"
   (${}, ${:x}, ${{x}), an unsupported modifier (${X*y}, ${X:#y}), a bad pattern escape in
   ${X#pat} (only \*, \?, \\, \} and \/ are allowed there), and ${X?msg} / ${X:?msg} with X
   unset (or empty for :?), whose message is MSG or Docker's default.  The outputs are left
   untouched on failure.  */
int husk_expand (const char *word, char escape, unsigned flags, husk_expand_lookup lookup,
                 void *data, char **ret_word, char ***ret_words, char ***ret_used,
                 struct husk_error **err);

/* Shorthands for husk_expand with no flags.  */
int husk_expand_word (const char *word, char escape, husk_expand_lookup lookup, void *data,
                      char **ret_word, char ***ret_used, struct husk_error **err);
int husk_expand_words (const char *word, char escape, husk_expand_lookup lookup, void *data,
                       char ***ret_words, char ***ret_used, struct husk_error **err);

/* What the builder expands in an instruction, by its upper-case keyword ("COPY").  */
enum husk_expand_mode
{
  /* Nothing: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER, ONBUILD (its trigger is
     expanded when it runs, in the build that uses the image).  */
  HUSK_EXPAND_NONE,
  /* Each argument alone, as one word (husk_expand_word): ENV and LABEL (keys and values,
     every pair with the variables as they were before the instruction: "ENV a=1 b=$a" gives
     b the old a), ARG (defaults only, not names, one after another so that a default sees
     the ARGs before it on the line; a --build-arg value replaces the default unexpanded),
     COPY and ADD (every source and the destination; a heredoc's content when its delimiter
     was not quoted, with HUSK_EXPAND_NO_QUOTES and escape \; --chown, --chmod and ADD's
     --checksum, not --exclude), WORKDIR, USER, VOLUME (each path), STOPSIGNAL; FROM (the
     image and --platform, with the global ARGs only).  RUN's --mount values are expanded
     too.  */
  HUSK_EXPAND_EACH,
  /* Each argument expanded and split into words (husk_expand_words): EXPOSE.  */
  HUSK_EXPAND_SPLIT,
};

/* The mode of KEYWORD (upper case); HUSK_EXPAND_NONE for an unknown one.  The reference's
   list: ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ONBUILD (the latter
   only when its trigger runs); ARG as BuildKit does.  */
enum husk_expand_mode husk_expand_mode_of (const char *keyword);

/* Whether flag FLAG (without "--") of KEYWORD is expanded: COPY/ADD --chown and --chmod, ADD
   --checksum, RUN --mount, FROM --platform.  COPY --from is not (Docker refuses a --from
   that would change by expansion).  */
bool husk_expand_flag (const char *keyword, const char *flag);

#endif
