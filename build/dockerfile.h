/* The Dockerfile parser: a file's bytes in, its stages and their instructions out, with
   nothing expanded and nothing run.  It follows Docker's Dockerfile reference
   (https://docs.docker.com/reference/dockerfile/) and, where the reference is silent, what
   BuildKit's Dockerfile frontend does: parser directives (syntax, escape, check) before
   anything else, line continuations with the escape character, comment lines (also inside a
   continuation, where they are dropped), heredocs, exec (JSON) and shell forms, flags, the
   rules each instruction has for its arguments.  build/expand.h expands what the builder
   expands.  */
#ifndef HUSK_DOCKERFILE_H
#define HUSK_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum husk_df_kind
{
  HUSK_DF_ADD,
  HUSK_DF_ARG,
  HUSK_DF_CMD,
  HUSK_DF_COPY,
  HUSK_DF_ENTRYPOINT,
  HUSK_DF_ENV,
  HUSK_DF_EXPOSE,
  HUSK_DF_FROM,
  HUSK_DF_HEALTHCHECK,
  HUSK_DF_LABEL,
  HUSK_DF_MAINTAINER,
  HUSK_DF_ONBUILD,
  HUSK_DF_RUN,
  HUSK_DF_SHELL,
  HUSK_DF_STOPSIGNAL,
  HUSK_DF_USER,
  HUSK_DF_VOLUME,
  HUSK_DF_WORKDIR,
};

/* A flag as written before the arguments ("--from=build", "--link"), quotes and escapes
   removed.  VALUE is NULL for a boolean flag given bare; a boolean flag given a value has
   it in lower case ("true" or "false").  A repeatable flag (--mount, --exclude) appears
   once per use, in order.  */
struct husk_df_flag
{
  char *name; /* Without "--".  */
  char *value;
};

/* A heredoc: "<<EOF", "<<-EOF" (leading tabs removed from the content and the delimiter
   line), "<<'EOF'" or "<<\"EOF\"" (quoted: the content is not expanded), "3<<EOF".  */
struct husk_df_heredoc
{
  char *name;    /* The delimiter, quotes removed.  */
  char *content; /* The lines between, each with its "\n" as the file had it; for <<- with
                    the tabs that start a line removed.  */
  char *raw;     /* The same lines as written (no tab removed).  BuildKit runs a RUN whose
                    whole command is one heredoc as CONTENT (a script file when CONTENT
                    starts with "#!"); any other RUN with heredocs as its command line, then
                    for each heredoc "\n", RAW and NAME, given to the shell, which reads the
                    heredocs itself.  COPY and ADD write CONTENT.  */
  bool expand;   /* Unquoted delimiter: COPY/ADD expand the content (build/expand.h).  */
  bool chomp;    /* <<-  */
  unsigned fd;   /* The number before <<, 0 when none.  */
};

/* A KEY=VALUE pair of ENV, LABEL or ARG, as written (quotes and escapes still there: the
   builder expands both sides).  VALUE is NULL for an ARG without a default.  */
struct husk_df_kv
{
  char *key;
  char *value;
};

struct husk_df_instr
{
  enum husk_df_kind kind;
  const char *keyword; /* "COPY": static, upper case.  */
  unsigned line;       /* Of its first line, counted from 1.  */
  unsigned end_line;   /* Of its last line (heredoc bodies included).  */
  char *original;      /* The instruction's logical line (continuations joined).  */
  struct husk_df_flag *flags;
  size_t n_flags;
  /* The arguments.  EXEC_FORM: the JSON array's strings (RUN, CMD, ENTRYPOINT, SHELL,
     HEALTHCHECK CMD, COPY, ADD, VOLUME).  Otherwise, by instruction: RUN, CMD, ENTRYPOINT and
     HEALTHCHECK CMD one string, the command line as written (not present when the line is
     empty); COPY, ADD, VOLUME, EXPOSE and FROM the words split at white space (quotes are
     not grouping here, as in Docker); MAINTAINER, USER, WORKDIR and STOPSIGNAL one string,
     the rest of the line; ARG, ENV and LABEL have none (see KVS); ONBUILD has none (see
     INNER and TRIGGER).  Nothing is expanded (build/expand.h says what the builder expands):
     COPY's words and ENV's values still hold their quotes and escapes.  */
  bool exec_form;
  char **args; /* NULL-terminated, never NULL.  */
  size_t n_args;
  struct husk_df_kv *kvs; /* ENV, LABEL, ARG.  */
  size_t n_kvs;
  /* RUN, COPY, ADD, in the order the line names them.  An ONBUILD's are its INNER's.  */
  struct husk_df_heredoc *heredocs;
  size_t n_heredocs;
  /* HEALTHCHECK: NONE, or CMD with ARGS the test (EXEC_FORM tells CMD from CMD-SHELL), the
     durations in nanoseconds (0: not given) and the retries (0: not given).  */
  struct
  {
    bool none;
    int64_t interval, timeout, start_period, start_interval;
    int retries;
  } health;
  /* ONBUILD: the trigger as Docker keeps it in the image's config ("RUN echo hi", with any
     heredoc appended), and the trigger's instruction parsed, or NULL when Docker would only
     find out when the trigger runs (an unknown instruction, a bad flag or argument count:
     such an image still builds).  */
  char *trigger;
  struct husk_df_instr *inner;
};

struct husk_df_stage
{
  size_t index;   /* 0, 1, ...  */
  char *base;     /* FROM's image, as written (global ARGs not expanded).  */
  char *name;     /* "AS name", lower case, or NULL.  */
  char *platform; /* --platform's value as written, or NULL.  */
  struct husk_df_instr from;
  struct husk_df_instr *instrs; /* After FROM.  */
  size_t n_instrs;
};

struct husk_dockerfile
{
  char escape;                       /* '\\' or '`'.  */
  char *syntax;                      /* "# syntax=" (accepted, otherwise ignored), or NULL.  */
  char *check;                       /* "# check=", or NULL.  */
  struct husk_df_instr *global_args; /* The ARGs before the first FROM.  */
  size_t n_global_args;
  struct husk_df_stage *stages;
  size_t n_stages;
};

/* Parse the LEN bytes of BUF (need not be NUL-terminated; a NUL byte in it cuts the text of
   its line or heredoc there, where Go would keep it) as a Dockerfile named NAME
   (used in messages only).  On success *RET is the parsed file (free with
   husk_dockerfile_free).

   An error is one line "NAME:LINE: KEYWORD: reason" (or "NAME:LINE: reason" where no
   instruction is involved).  As in BuildKit, the first syntax error in the file (directives,
   long lines, exec form arrays, ENV/LABEL pairs, heredocs) is reported before the first
   error of an instruction's own checks, each in file order.  The errors: a file with no
   instructions, only
   ARGs, a bad directive (an escape other than \ and `, a directive twice), a line longer
   than 65535 bytes, an unknown instruction, an instruction before the first FROM (ARG
   apart), an unknown, repeated or malformed flag, an exec form array holding a non-string
   (a line that is not a JSON array at all is the shell form, as in Docker), a wrong
   argument count, a malformed ENV/LABEL pair, a bad stage name or one used twice, an
   unterminated heredoc, a heredoc as COPY's destination, a SHELL not in exec form, a bad
   HEALTHCHECK (type, durations, retries), ONBUILD of ONBUILD, FROM or MAINTAINER.  */
int husk_dockerfile_parse (const char *buf, size_t len, const char *name,
                           struct husk_dockerfile **ret, struct husk_error **err);

void husk_dockerfile_free (struct husk_dockerfile *df);

/* The last value of flag NAME (without "--") on IN: its value, "" for a bare boolean, NULL when
   not given.  */
const char *husk_df_flag (const struct husk_df_instr *in, const char *name);

/* The heredoc a COPY/ADD source word ARG stands for ("<<EOF", "<<-EOF"), or NULL when ARG is a
   path.  */
const struct husk_df_heredoc *husk_df_source_heredoc (const struct husk_df_instr *in,
                                                      const char *arg);

/* The stage called NAME (compared in lower case, as Docker does) or, when NAME is a decimal
   number, the stage of that index; NULL when there is none.  For COPY --from and RUN
   --mount from=, BuildKit reads a number as an index only (one past the last stage is an
   error, not an image called "5"), and any other name not found as an image.  */
const struct husk_df_stage *husk_df_stage_find (const struct husk_dockerfile *df, const char *name);

static inline void
husk_dockerfile_freep (struct husk_dockerfile **p)
{
  husk_dockerfile_free (*p);
}
#define cleanup_dockerfile __attribute__ ((cleanup (husk_dockerfile_freep)))

#endif
