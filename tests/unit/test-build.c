/* Unit tests for build/: the Dockerfile parser, variable expansion and .dockerignore.  Where a
   test states Docker's behaviour, the comment says where it is written down: "ref" is the
   Dockerfile reference (https://docs.docker.com/reference/dockerfile/), with its section;
   "BuildKit" names the file of moby/buildkit's frontend whose behaviour was read;
   "patternmatcher" is moby/patternmatcher, "fsutil" tonistiigi/fsutil's filter.go.  */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "expand.h"
#include "fetch.h"
#include "ignore.h"
#include "tap.h"
#include "util.h"
#include "banned.h"

/* ---------------------------------------------------------------- dumping  */

static void add (char **s, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
add (char **s, const char *fmt, ...)
{
  va_list ap;
  char *piece = NULL, *joined;

  va_start (ap, fmt);
  if (vasprintf (&piece, fmt, ap) < 0)
    abort ();
  va_end (ap);
  joined = husk_strdup_printf ("%s%s", *s ? *s : "", piece);
  free (piece);
  free (*s);
  *s = joined;
}

/* S with newlines and tabs visible.  */
static char *
vis (const char *s)
{
  char *out = NULL;
  add (&out, "%s", "");
  for (; *s; s++)
    {
      if (*s == '\n')
        add (&out, "\\n");
      else if (*s == '\t')
        add (&out, "\\t");
      else
        add (&out, "%c", *s);
    }
  return out;
}

static void
dump_instr (char **out, const struct husk_df_instr *in)
{
  add (out, "%u %s", in->line, in->keyword);
  for (size_t i = 0; i < in->n_flags; i++)
    {
      if (in->flags[i].value)
        add (out, " --%s=%s", in->flags[i].name, in->flags[i].value);
      else
        add (out, " --%s", in->flags[i].name);
    }
  if (in->n_args || in->exec_form)
    {
      add (out, in->exec_form ? " exec[" : " [");
      for (size_t i = 0; i < in->n_args; i++)
        {
          cleanup_free char *v = vis (in->args[i]);
          add (out, "%s%s", i ? "|" : "", v);
        }
      add (out, "]");
    }
  for (size_t i = 0; i < in->n_kvs; i++)
    {
      if (in->kvs[i].value)
        add (out, " {%s=%s}", in->kvs[i].key, in->kvs[i].value);
      else
        add (out, " {%s}", in->kvs[i].key);
    }
  for (size_t i = 0; i < in->n_heredocs; i++)
    {
      const struct husk_df_heredoc *h = &in->heredocs[i];
      cleanup_free char *c = vis (h->content);
      add (out, " <<%s%s%s%s:\"%s\"", h->chomp ? "-" : "", h->name, h->expand ? "" : "(q)",
           h->fd ? "(fd)" : "", c);
      if (strcmp (h->raw, h->content) != 0)
        {
          cleanup_free char *r = vis (h->raw);
          add (out, " raw:\"%s\"", r);
        }
    }
  if (in->kind == HUSK_DF_HEALTHCHECK)
    {
      if (in->health.none)
        add (out, " NONE");
      else
        add (out, " i=%lld t=%lld sp=%lld si=%lld r=%d", (long long) in->health.interval,
             (long long) in->health.timeout, (long long) in->health.start_period,
             (long long) in->health.start_interval, in->health.retries);
    }
  if (in->kind == HUSK_DF_ONBUILD)
    {
      cleanup_free char *t = vis (in->trigger);
      add (out, " trigger=\"%s\"", t);
      if (in->inner)
        {
          add (out, " (");
          dump_instr (out, in->inner);
          add (out, ")");
        }
      else
        add (out, " (deferred)");
    }
}

static char *
dump (const struct husk_dockerfile *df)
{
  char *out = NULL;

  add (&out, "esc=%c", df->escape);
  if (df->syntax)
    add (&out, " syntax=%s", df->syntax);
  for (size_t i = 0; i < df->n_global_args; i++)
    {
      add (&out, "\nG ");
      dump_instr (&out, &df->global_args[i]);
    }
  for (size_t i = 0; i < df->n_stages; i++)
    {
      const struct husk_df_stage *st = &df->stages[i];
      add (&out, "\nS%zu %s", st->index, st->base);
      if (st->name)
        add (&out, " AS %s", st->name);
      if (st->platform)
        add (&out, " on %s", st->platform);
      add (&out, " @%u", st->from.line);
      for (size_t j = 0; j < st->n_instrs; j++)
        {
          add (&out, "\n");
          dump_instr (&out, &st->instrs[j]);
        }
    }
  return out;
}

/* The dump of SRC, or "error: MESSAGE".  */
static char *
parse (const char *src)
{
  cleanup_dockerfile struct husk_dockerfile *df = NULL;
  cleanup_error struct husk_error *e = NULL;

  if (husk_dockerfile_parse (src, strlen (src), "Dockerfile", &df, &e) < 0)
    return husk_strdup_printf ("error: %s", e->msg);
  return dump (df);
}

#define DF(src, expected, ...)                                                                     \
  do                                                                                               \
    {                                                                                              \
      cleanup_free char *_got = parse (src);                                                       \
      is_str (_got, expected, __VA_ARGS__);                                                        \
    }                                                                                              \
  while (0)

/* ---------------------------------------------------------------- Dockerfile  */

static void
test_basics (void)
{
  /* ref "Format": instructions are not case-sensitive; a Dockerfile must begin with FROM,
     which may be preceded by parser directives, comments and globally scoped ARGs.  */
  DF ("from alpine\nrun echo hi\n", "esc=\\\nS0 alpine @1\n2 RUN [echo hi]",
      "keywords in any case, shell form kept whole");
  DF ("# comment\n\n  FROM alpine AS Build\n\tRUN   echo  a   b  \n",
      "esc=\\\nS0 alpine AS build @3\n4 RUN [echo  a   b]",
      "leading white space, comments, stage name in lower case, inner spacing kept");
  DF ("", "error: Dockerfile:0: file with no instructions", "empty file");
  DF ("# only a comment\n\n", "error: Dockerfile:2: file with no instructions", "only comments");
  DF ("ARG A=1\n", "error: Dockerfile:1: dockerfile contains no stages to build",
      "only ARGs: BuildKit's dockerfile2llb refuses it");
  DF ("RUN x\nFROM a\n",
      "error: Dockerfile:1: RUN: no build stage in current context (the first instruction "
      "must be FROM, or ARG)",
      "an instruction before FROM");
  DF ("FROM a\nFOO bar\n", "error: Dockerfile:2: FOO: unknown instruction", "unknown instruction");
  /* BuildKit parser.go: a syntax error anywhere (here a non-string in an exec array) is found
     before an unknown instruction on an earlier line.  */
  DF ("FROM a\nFOO bar\nRUN [1]\n",
      "error: Dockerfile:3: RUN: when using JSON array syntax, arrays must be comprised of "
      "strings only",
      "parse errors come before instruction errors");
  DF ("ARG V=1\nARG W\nFROM a:${V}\nARG V\n",
      "esc=\\\nG 1 ARG {V=1}\nG 2 ARG {W}\nS0 a:${V} @3\n4 ARG {V}",
      "global ARGs kept apart, stage ARGs in the stage, nothing expanded");
  DF ("FROM a AS one\nFROM b AS two\nFROM one\n",
      "esc=\\\nS0 a AS one @1\nS1 b AS two @2\nS2 one @3", "stages and their indexes");
  DF ("FROM a AS x\nFROM b AS X\n",
      "error: Dockerfile:2: FROM: duplicate stage name \"x\" (stage 0 is also \"x\")",
      "a stage name used twice (compared in lower case)");
  DF ("FROM a AS 1x\n",
      "error: Dockerfile:1: FROM: invalid name for build stage: \"1x\", name can't start with a "
      "number or contain symbols",
      "stage names start with a letter (BuildKit parse.go: ^[a-z][a-z0-9-_.]*$)");
  DF ("FROM a b\n", "error: Dockerfile:1: FROM: FROM requires either one or three arguments",
      "FROM's argument count");
  DF ("FROM --platform=$BUILDPLATFORM golang:1 AS b\n",
      "esc=\\\nS0 golang:1 AS b on $BUILDPLATFORM @1", "FROM --platform");
}

static void
test_lines (void)
{
  /* ref "Format": a comment line inside a continuation is removed before the instruction is
     read; BuildKit parser.go also drops blank continuation lines (with a warning).  */
  DF ("FROM a\nRUN echo a \\\n# inside\n  && echo b \\\n\n    && echo c\n",
      "esc=\\\nS0 a @1\n2 RUN [echo a   && echo b     && echo c]",
      "continuations join, comment and empty lines inside are dropped, leading blanks of "
      "continued lines are kept");
  DF ("FROM a\nRUN echo a \\   \n b\n", "esc=\\\nS0 a @1\n2 RUN [echo a  b]",
      "an escape followed by blanks still continues");
  DF ("FROM a\nRUN echo a\\\\\nRUN b\n", "esc=\\\nS0 a @1\n2 RUN [echo a\\\\]\n3 RUN [b]",
      "an escaped escape character does not continue (BuildKit's continuation regex)");
  DF ("FROM a\r\nRUN x \\\r\n y\r\n", "esc=\\\nS0 a @1\n2 RUN [x  y]", "CRLF line endings");
  DF ("\xef\xbb\xbf"
      "FROM a\n",
      "esc=\\\nS0 a @1", "a byte-order mark is dropped");
  DF ("FROM a\nRUN echo # not a comment\n", "esc=\\\nS0 a @1\n2 RUN [echo # not a comment]",
      "a # after the keyword is part of the line (ref \"Format\")");
  DF ("FROM a\nRUN a \\\n", "esc=\\\nS0 a @1\n2 RUN [a]", "a continuation at end of file");
  DF ("FROM a\n   \\\nRUN b\n", "esc=\\\nS0 a @1\n2 RUN [b]",
      "a lone escape continues onto the next line, which starts the instruction");
}

static void
test_directives (void)
{
  /* ref "Parser directives" and "escape".  */
  DF ("# escape=`\nFROM a\nRUN echo a `\n  b\nCOPY C:\\x\\ d\n",
      "esc=`\nS0 a @2\n3 RUN [echo a   b]\n5 COPY [C:\\x\\|d]",
      "escape=` makes ` the continuation character and \\ ordinary");
  DF ("# syntax=docker/dockerfile:1\n# ESCAPE = `\nFROM a\n",
      "esc=` syntax=docker/dockerfile:1\nS0 a @3",
      "syntax kept, directives are not case-sensitive");
  DF ("#  escape\t=  \\  \nFROM a\n", "esc=\\\nS0 a @2", "blanks around = and the value");
  DF ("# escape=`\n# escape=\\\nFROM a\n",
      "error: Dockerfile:2: only one escape parser directive can be used", "a directive twice");
  DF ("# escape=x\nFROM a\n",
      "error: Dockerfile:1: invalid escape token 'x' does not match ` or \\", "a bad escape");
  DF ("# comment\n# escape=`\nFROM a\nRUN a `\n", "esc=\\\nS0 a @3\n4 RUN [a `]",
      "after a comment a directive is a comment");
  DF ("\n# escape=`\nFROM a\n", "esc=\\\nS0 a @3", "after an empty line too");
  DF ("# unknown=x\n# escape=`\nFROM a\n", "esc=\\\nS0 a @3",
      "an unknown directive is a comment and ends the directives");
  DF ("FROM a\n# escape=`\n", "esc=\\\nS0 a @1", "after an instruction a directive is a comment");
}

static void
test_forms (void)
{
  /* ref "Shell and exec form": exec form is a JSON array; anything else is shell form.  */
  DF ("FROM a\nCMD [\"echo\", \"a b\", \"\\u0041\"]\nENTRYPOINT [ ]\nRUN [\"x\" ]\n",
      "esc=\\\nS0 a @1\n2 CMD exec[echo|a b|A]\n3 ENTRYPOINT exec[]\n4 RUN exec[x]",
      "exec form, JSON escapes decoded, empty array");
  /* BuildKit line_parsers.go: JSON that does not parse is the shell form.  */
  DF ("FROM a\nCMD [\"a\", 'b']\nCMD ['a']\nCMD [\"a\"] x\nCMD [\"a\" /* c */]\n",
      "esc=\\\nS0 a @1\n2 CMD [[\"a\", 'b']]\n3 CMD [['a']]\n4 CMD [[\"a\"] x]\n5 CMD [[\"a\" /* "
      "c */]]",
      "not JSON: shell form (no comments, no single quotes, nothing after)");
  DF ("FROM a\nCMD [\"a\", 1]\n",
      "error: Dockerfile:2: CMD: when using JSON array syntax, arrays must be comprised of "
      "strings only",
      "a JSON array with a number is refused");
  DF ("FROM a\nCMD\nRUN\n", "esc=\\\nS0 a @1\n2 CMD\n3 RUN", "empty CMD and RUN are accepted");
  DF ("FROM a\nSHELL [\"/bin/bash\", \"-c\"]\n", "esc=\\\nS0 a @1\n2 SHELL exec[/bin/bash|-c]",
      "SHELL exec form");
  DF ("FROM a\nSHELL /bin/bash -c\n",
      "error: Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form",
      "SHELL shell form is refused");
  DF ("FROM a\nSHELL []\n", "error: Dockerfile:2: SHELL: SHELL requires at least one argument",
      "SHELL [] is refused");
  DF ("FROM a\nCOPY [\"a b\", \"/c\"]\nCOPY \"a b\" /c\nVOLUME /a /b\nVOLUME [\"/v\"]\n",
      "esc=\\\nS0 a @1\n2 COPY exec[a b|/c]\n3 COPY [\"a|b\"|/c]\n4 VOLUME [/a|/b]\n5 VOLUME "
      "exec[/v]",
      "COPY and VOLUME: JSON, or words at white space where quotes do not group");
}

static void
test_instructions (void)
{
  DF ("FROM a\nENV A=1 B=\"two words\" C=x\\ y\nENV D e f\nENV E=\n",
      "esc=\\\nS0 a @1\n2 ENV {A=1} {B=\"two words\"} {C=x\\ y}\n3 ENV {D=e f}\n4 ENV {E=}",
      "ENV key=value pairs (quotes kept for expansion), legacy ENV K V, empty value");
  DF ("FROM a\nENV A\n", "error: Dockerfile:2: ENV: ENV must have two arguments",
      "legacy ENV without a value");
  DF ("FROM a\nENV A=1 B\n",
      "error: Dockerfile:2: ENV: syntax error - can't find = in \"B\"; must be of the form "
      "name=value",
      "a word without = among pairs");
  DF ("FROM a\nENV =x\n", "error: Dockerfile:2: ENV: ENV names can not be blank", "blank name");
  DF ("FROM a\nLABEL \"com.x\"=\"a b\" v=1\nLABEL k v w\n",
      "esc=\\\nS0 a @1\n2 LABEL {\"com.x\"=\"a b\"} {v=1}\n3 LABEL {k=v w}", "LABEL");
  DF ("FROM a\nARG a=1 b \"c=x y\"\n", "esc=\\\nS0 a @1\n2 ARG {a=1} {b} {\"c=x y\"}",
      "ARG with several names, with and without defaults");
  DF ("FROM a\nARG\n", "error: Dockerfile:2: ARG: ARG requires at least one argument", "empty ARG");
  DF ("FROM a\nEXPOSE 80 443/tcp\nUSER app:app\nWORKDIR /a b\nSTOPSIGNAL SIGKILL\nMAINTAINER "
      "Me <me@x>\n",
      "esc=\\\nS0 a @1\n2 EXPOSE [80|443/tcp]\n3 USER [app:app]\n4 WORKDIR [/a b]\n5 STOPSIGNAL "
      "[SIGKILL]\n6 MAINTAINER [Me <me@x>]",
      "EXPOSE words; USER, WORKDIR, STOPSIGNAL, MAINTAINER one string");
  DF ("FROM a\nWORKDIR\n", "error: Dockerfile:2: WORKDIR: WORKDIR requires exactly one argument",
      "empty WORKDIR");
  DF ("FROM a\nVOLUME [\" \"]\n",
      "error: Dockerfile:2: VOLUME: VOLUME specified can not be an empty string", "blank VOLUME");
  DF ("FROM a\nCOPY x\n",
      "error: Dockerfile:2: COPY: COPY requires at least two arguments, but only one was "
      "provided. Destination could not be determined",
      "COPY without destination");
  DF ("FROM a\nCOPY --from=b --chown=1:2 --chmod=644 --link --parents --exclude=*.md "
      "--exclude=x a /b\n",
      "esc=\\\nS0 a @1\n2 COPY --from=b --chown=1:2 --chmod=644 --link --parents --exclude=*.md "
      "--exclude=x [a|/b]",
      "COPY flags, --exclude repeated");
  DF ("FROM a\nADD --checksum=sha256:ab --keep-git-dir=true --link=FALSE https://x/y /z\n",
      "esc=\\\nS0 a @1\n2 ADD --checksum=sha256:ab --keep-git-dir=true --link=false [https://x/"
      "y|/z]",
      "ADD flags, booleans in lower case");
  DF ("FROM a\nCOPY --from=b --from=c a /b\n",
      "error: Dockerfile:2: COPY: duplicate flag specified: --from", "a flag twice");
  DF ("FROM a\nCOPY --nope a /b\n", "error: Dockerfile:2: COPY: unknown flag: --nope",
      "an unknown flag");
  DF ("FROM a\nENV --x=1 A=1\n", "error: Dockerfile:2: ENV: unknown flag: --x",
      "every instruction checks its flags (BuildKit bflag.go)");
  DF ("FROM a\nCOPY --from a /b\n", "error: Dockerfile:2: COPY: missing a value on flag: --from",
      "a string flag without a value");
  DF ("FROM a\nCOPY --link=maybe a /b\n",
      "error: Dockerfile:2: COPY: expecting boolean value for flag --link, not: maybe",
      "a bad boolean");
  DF ("FROM a\nCOPY --chown=\"a b\" -- --x /y\n", "esc=\\\nS0 a @1\n2 COPY --chown=a b [--x|/y]",
      "quoted flag values; -- ends the flags");
  DF ("FROM a\nRUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none make\n",
      "esc=\\\nS0 a @1\n2 RUN --mount=type=cache,target=/c --mount=type=secret,id=s "
      "--network=none [make]",
      "RUN --mount (repeatable) and --network");
  DF ("FROM a\nRUN echo --mount=x\n", "esc=\\\nS0 a @1\n2 RUN [echo --mount=x]",
      "flags only before the arguments");
}

static void
test_healthcheck (void)
{
  /* ref "HEALTHCHECK"; durations as Go's time.ParseDuration reads them.  */
  DF ("FROM a\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s "
      "--start-interval=2s --retries=3 CMD curl -f http://x/ || exit 1\n",
      "esc=\\\nS0 a @1\n2 HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s "
      "--start-interval=2s --retries=3 [curl -f http://x/ || exit 1] i=90000000000 "
      "t=500000000 sp=1500000000 si=2000000000 r=3",
      "HEALTHCHECK CMD, shell form, every option");
  DF ("FROM a\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\nHEALTHCHECK none\n",
      "esc=\\\nS0 a @1\n2 HEALTHCHECK exec[/bin/check|-q] i=0 t=0 sp=0 si=0 r=0\n3 HEALTHCHECK "
      "NONE",
      "HEALTHCHECK CMD exec form; NONE in any case");
  DF ("FROM a\nHEALTHCHECK NONE x\n",
      "error: Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments", "NONE x");
  DF ("FROM a\nHEALTHCHECK CMD\n",
      "error: Dockerfile:2: HEALTHCHECK: missing command after HEALTHCHECK CMD", "CMD alone");
  DF ("FROM a\nHEALTHCHECK RUN x\n",
      "error: Dockerfile:2: HEALTHCHECK: unknown type \"RUN\" in HEALTHCHECK (try CMD)",
      "an unknown type");
  DF ("FROM a\nHEALTHCHECK --interval=10 CMD x\n",
      "error: Dockerfile:2: HEALTHCHECK: time: missing unit in duration \"10\"", "no unit");
  DF ("FROM a\nHEALTHCHECK --interval=10us CMD x\n",
      "error: Dockerfile:2: HEALTHCHECK: interval \"interval\" cannot be less than 1ms",
      "below 1ms");
  DF ("FROM a\nHEALTHCHECK --retries=x CMD x\n",
      "error: Dockerfile:2: HEALTHCHECK: --retries \"x\": not an integer", "retries not a number");
  DF ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
      "error: Dockerfile:2: HEALTHCHECK: --retries cannot be negative (-1)", "negative retries");
}

static void
test_onbuild (void)
{
  /* ref "ONBUILD": ONBUILD ONBUILD, FROM and MAINTAINER are not allowed as triggers.  */
  DF ("FROM a\nONBUILD RUN echo hi\nONBUILD copy --from=x a /b\n",
      "esc=\\\nS0 a @1\n2 ONBUILD trigger=\"RUN echo hi\" (2 RUN [echo hi])\n3 ONBUILD "
      "trigger=\"copy --from=x a /b\" (3 COPY --from=x [a|/b])",
      "ONBUILD keeps the trigger's text and parses it");
  DF ("FROM a\nONBUILD ONBUILD RUN x\n",
      "error: Dockerfile:2: ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
      "ONBUILD ONBUILD");
  DF ("FROM a\nONBUILD from b\n",
      "error: Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger", "ONBUILD FROM");
  DF ("FROM a\nONBUILD MAINTAINER me\n",
      "error: Dockerfile:2: ONBUILD: MAINTAINER isn't allowed as an ONBUILD trigger",
      "ONBUILD MAINTAINER");
  /* BuildKit parse.go: an unknown trigger is only found when it runs.  */
  DF ("FROM a\nONBUILD BOGUS x\n", "esc=\\\nS0 a @1\n2 ONBUILD trigger=\"BOGUS x\" (deferred)",
      "an unknown trigger builds");
  DF ("FROM a\nONBUILD RUN [1]\n",
      "error: Dockerfile:2: ONBUILD: when using JSON array syntax, arrays must be comprised of "
      "strings only",
      "but a trigger's syntax error is found now");
  DF ("FROM a\nONBUILD RUN <<EOF\nhi\nEOF\n",
      "esc=\\\nS0 a @1\n2 ONBUILD trigger=\"RUN <<EOF\\nhi\\nEOF\" (2 RUN [<<EOF] <<EOF:\"hi\\n\")",
      "an ONBUILD RUN with a heredoc");
}

static void
test_heredocs (void)
{
  /* ref "Here-documents".  */
  DF ("FROM a\nRUN <<EOF\necho $HOME\n  two\nEOF\nRUN b\n",
      "esc=\\\nS0 a @1\n2 RUN [<<EOF] <<EOF:\"echo $HOME\\n  two\\n\"\n6 RUN [b]",
      "RUN heredoc, content kept as written");
  DF ("FROM a\nRUN <<-EOT\n\t\techo a\n\tEOT\n",
      "esc=\\\nS0 a @1\n2 RUN [<<-EOT] <<-EOT:\"echo a\\n\" raw:\"\\t\\techo a\\n\"",
      "<<- strips leading tabs of the body and of the delimiter line");
  DF ("FROM a\nCOPY <<\"EOF\" <<'END' /dst/\n$X\nEOF\n$Y\nEND\n",
      "esc=\\\nS0 a @1\n2 COPY [<<\"EOF\"|<<'END'|/dst/] <<EOF(q):\"$X\\n\" <<END(q):\"$Y\\n\"",
      "quoted delimiters: no expansion; two heredocs on one line, read in order");
  DF ("FROM a\nCOPY <<EOF /x\nhello\nEOF\n",
      "esc=\\\nS0 a @1\n2 COPY [<<EOF|/x] <<EOF:\"hello\\n\"", "COPY <<EOF /path");
  DF ("FROM a\nRUN python3 <<EOF > /out\nprint(1)\nEOF\n",
      "esc=\\\nS0 a @1\n2 RUN [python3 <<EOF > /out] <<EOF:\"print(1)\\n\"",
      "a heredoc inside a command line");
  DF ("FROM a\nRUN 3<<EOF cat /dev/fd/3\nx\nEOF\n",
      "esc=\\\nS0 a @1\n2 RUN [3<<EOF cat /dev/fd/3] <<EOF(fd):\"x\\n\"", "a file descriptor");
  DF ("FROM a\nRUN <<EOF\nnever ends\n", "error: Dockerfile:2: RUN: unterminated heredoc",
      "unterminated heredoc");
  DF ("FROM a\nRUN [\"<<EOF\"]\nEOF\n", "error: Dockerfile:3: EOF: unknown instruction",
      "no heredoc in exec form");
  DF ("FROM a\nRUN echo '<<EOF'\n", "esc=\\\nS0 a @1\n2 RUN [echo '<<EOF']",
      "a quoted << is no heredoc");
  DF ("FROM a\nCMD <<EOF\nEOF\n", "error: Dockerfile:3: EOF: unknown instruction",
      "only RUN, COPY and ADD take heredocs");
  DF ("FROM a\nCOPY x <<EOF\nEOF\n",
      "error: Dockerfile:2: COPY: COPY cannot accept a heredoc as a destination",
      "a heredoc as destination");
  DF ("FROM a\nRUN cat << EOF\nx\nEOF\n", "esc=\\\nS0 a @1\n2 RUN [cat << EOF] <<EOF:\"x\\n\"",
      "blanks between << and the delimiter");
}

static void
test_api (void)
{
  static const char src[] = "FROM a AS Build\nCOPY --link --from=x <<EOF f /d\nhi\nEOF\nFROM b\n";
  cleanup_dockerfile struct husk_dockerfile *df = NULL;
  cleanup_error struct husk_error *e = NULL;

  if (husk_dockerfile_parse (src, sizeof (src) - 1, NULL, &df, &e) < 0)
    {
      ok (0, "parse: %s", e->msg);
      return;
    }
  {
    const struct husk_df_instr *cp = &df->stages[0].instrs[0];
    const struct husk_df_heredoc *h = husk_df_source_heredoc (cp, cp->args[0]);
    ok (h && strcmp (h->content, "hi\n") == 0 && husk_df_source_heredoc (cp, "f") == NULL,
        "a COPY source names its heredoc, a path does not");
    is_str (husk_df_flag (cp, "from"), "x", "husk_df_flag: a string flag");
    is_str (husk_df_flag (cp, "link"), "", "husk_df_flag: a bare boolean");
    ok (husk_df_flag (cp, "chown") == NULL, "husk_df_flag: a flag not given");
  }
  ok (husk_df_stage_find (df, "BUILD") == &df->stages[0]
          && husk_df_stage_find (df, "1") == &df->stages[1] && husk_df_stage_find (df, "2") == NULL
          && husk_df_stage_find (df, "b") == NULL,
      "stages by name (any case) and index; an image name is no stage");
}

/* ---------------------------------------------------------------- expansion  */

static bool
lookup (const char *name, const char **ret, void *data)
{
  static const char *const vars[]
      = { "A", "alpha", "E", "", "SP", "a  b", "P", "/usr/local/bin", "F", "file.tar.gz", NULL };
  (void) data;
  for (size_t i = 0; vars[i]; i += 2)
    if (strcmp (vars[i], name) == 0)
      {
        *ret = vars[i + 1];
        return true;
      }
  return false;
}

static char *
ex (const char *word, char esc)
{
  cleanup_error struct husk_error *e = NULL;
  cleanup_strv char **used = NULL;
  cleanup_free char *r = NULL, *u = NULL;

  if (husk_expand_word (word, esc, lookup, NULL, &r, &used, &e) < 0)
    return husk_strdup_printf ("error: %s", e->msg);
  add (&u, "%s", "");
  for (size_t i = 0; used[i]; i++)
    add (&u, "%s%s", i ? "," : "", used[i]);
  return husk_strdup_printf ("%s (%s)", r, u);
}

static char *
exw (const char *word)
{
  cleanup_error struct husk_error *e = NULL;
  cleanup_strv char **w = NULL;
  char *out = NULL;

  if (husk_expand_words (word, '\\', lookup, NULL, &w, NULL, &e) < 0)
    return husk_strdup_printf ("error: %s", e->msg);
  add (&out, "%s", "");
  for (size_t i = 0; w[i]; i++)
    add (&out, "[%s]", w[i]);
  return out;
}

#define EX(word, esc, expected, ...)                                                               \
  do                                                                                               \
    {                                                                                              \
      cleanup_free char *_got = ex (word, esc);                                                    \
      is_str (_got, expected, __VA_ARGS__);                                                        \
    }                                                                                              \
  while (0)

static void
test_expand (void)
{
  /* ref "Environment replacement": $variable and ${variable}, ${variable:-word},
     ${variable:+word}, escaping with \, and (BuildKit lex.go) the forms without ':'.  */
  EX ("$A/${A}x$Ax", '\\', "alpha/alphax (A,Ax)", "$V, ${V}, a name runs on");
  EX ("${NOPE:-def} ${E:-def} ${E-def} ${NOPE-def}", '\\', "def def  def (NOPE,E)",
      ":- on unset and empty, - on unset only");
  EX ("${A:+set} ${E:+set} ${E+set} ${NOPE+set}", '\\', "set  set  (A,E,NOPE)", ":+ and + ");
  EX ("\\$A \\${A} '$A' \"$A\" \"\\$A\" \"a\\b\"", '\\', "$A ${A} $A alpha $A a\\b (A)",
      "escapes, single quotes keep $, double quotes do not; \\ stays before other chars");
  EX ("`$A $A", '`', "$A alpha (A)", "the escape character ` ");
  EX ("${A:-${NOPE:-x}}", '\\', "alpha (NOPE,A)", "nested: the word is read first");
  EX ("$ $1 $$ ${1}", '\\', "$    (1,$)",
      "a lone $ stays; positional and special parameters "
      "are variables");
  EX ("${NOPE:?must be set}", '\\', "error: \"${NOPE:?must be set}\": NOPE: must be set",
      ":? with a message");
  EX ("${E:?}", '\\', "error: \"${E:?}\": E: is not allowed to be empty", ":? on empty");
  EX ("${NOPE?}", '\\', "error: \"${NOPE?}\": NOPE: is not allowed to be unset", "? on unset");
  EX ("${E?}ok", '\\', "ok (E)", "? on empty is fine");
  EX ("${A", '\\', "error: \"${A\": syntax error: missing '}'", "unterminated ${");
  EX ("one\n${A", '\\', "error: \"one\\n${A\": syntax error: missing '}'",
      "an error is one line even for a word of several (a heredoc's content)");
  EX ("${NOPE:?two\nlines}", '\\', "error: \"${NOPE:?two\\nlines}\": NOPE: two\\nlines",
      "a message of several lines is shown on one");
  EX ("${}", '\\', "error: \"${}\": syntax error: bad substitution", "${}");
  EX ("${A*x}", '\\', "error: \"${A*x}\": unsupported modifier (*) in substitution",
      "unknown modifier");
  EX ("'abc", '\\',
      "error: \"'abc\": unexpected end of statement while looking for matching "
      "single-quote",
      "unterminated single quote");
  EX ("\"abc", '\\',
      "error: \"\"abc\": unexpected end of statement while looking for "
      "matching double-quote",
      "unterminated double quote");
  EX ("${F%.*} ${F%%.*} ${F#*.} ${F##*.} ${P/usr/opt} ${F//./_}", '\\',
      "file.tar file tar.gz gz /opt/local/bin file_tar_gz (F,P)",
      "# ## %% %%%% / // (BuildKit lex.go)");
  EX ("${F#\\*}", '\\', "file.tar.gz (F)", "escaped * in a pattern");
  EX ("${A#************************************z}${A/l*/L}${A//?/.}${F%.*}", '\\',
      "alphaaL.....file.tar (A,F)",
      "many stars cost nothing; / replaces the longest leftmost match; // every character");
  EX ("${P//\\//_}", '\\', "_usr_local_bin (P)", "\\/ is a / in a pattern");
  EX ("${F#\\x}", '\\',
      "error: \"${F#\\x}\": invalid pattern (\\x) in substitution: invalid "
      "escape '\\x'",
      "bad escape in a pattern");

  {
    cleanup_free char *w = exw ("$SP \"x  y\" a\\ b ''c");
    is_str (w, "[a][b][x  y][a b][c]", "words: unquoted values split, quoted ones do not");
  }
  {
    cleanup_free char *w = exw ("\"\" 80");
    is_str (w, "[80]", "an empty quoted word is dropped (BuildKit lex.go getWords)");
  }
  ok (husk_expand_mode_of ("RUN") == HUSK_EXPAND_NONE
          && husk_expand_mode_of ("CMD") == HUSK_EXPAND_NONE
          && husk_expand_mode_of ("ENTRYPOINT") == HUSK_EXPAND_NONE
          && husk_expand_mode_of ("ONBUILD") == HUSK_EXPAND_NONE,
      "RUN, CMD, ENTRYPOINT, ONBUILD are not expanded by the builder (ref \"Environment "
      "replacement\")");
  ok (husk_expand_mode_of ("COPY") == HUSK_EXPAND_EACH
          && husk_expand_mode_of ("WORKDIR") == HUSK_EXPAND_EACH
          && husk_expand_mode_of ("EXPOSE") == HUSK_EXPAND_SPLIT,
      "COPY and WORKDIR are expanded, EXPOSE split");
  ok (husk_expand_flag ("COPY", "chown") && !husk_expand_flag ("COPY", "from")
          && husk_expand_flag ("RUN", "mount"),
      "--chown is expanded, --from is not (BuildKit convert.go)");
  {
    cleanup_free char *r = NULL;
    cleanup_error struct husk_error *e = NULL;
    ok (husk_expand ("$X ${Y:-w}", '\\', HUSK_EXPAND_SKIP_UNSET, NULL, NULL, &r, NULL, NULL, &e)
                == 0
            && strcmp (r, "$X ${Y:-w}") == 0,
        "SKIP_UNSET leaves unset references as written");
  }
}

/* ---------------------------------------------------------------- .dockerignore  */

static struct husk_ignore *
ign (const char *text)
{
  struct husk_ignore *ig = NULL;
  cleanup_error struct husk_error *e = NULL;
  if (husk_ignore_parse (text, strlen (text), &ig, &e) < 0)
    {
      printf ("# %s\n", e->msg);
      return NULL;
    }
  return ig;
}

/* "path:0/1 ..." for each path: 1 when excluded.  */
static char *
matches (const char *text, const char *const *paths)
{
  cleanup_ignore struct husk_ignore *ig = ign (text);
  char *out = NULL;

  if (ig == NULL)
    return husk_xstrdup ("error");
  for (size_t i = 0; paths[i]; i++)
    add (&out, "%s%s:%d", i ? " " : "", paths[i], husk_ignore_match (ig, paths[i]));
  return out;
}

#define IG(text, expected, msg, ...)                                                               \
  do                                                                                               \
    {                                                                                              \
      static const char *const _p[] = { __VA_ARGS__, NULL };                                       \
      cleanup_free char *_got = matches (text, _p);                                                \
      is_str (_got, expected, msg);                                                                \
    }                                                                                              \
  while (0)

static void
test_ignore (void)
{
  /* ref ".dockerignore file": Go's filepath.Match rules, "**" for any number of directories,
     "!" exceptions where the last matching line decides; patternmatcher for the rest.  */
  IG ("**.md\n", "README.md:1 a/b/c.md:1 a.mdx:0", "**.md anywhere", "README.md", "a/b/c.md",
      "a.mdx");
  IG ("*\n!keep\n", "a:1 keep:0 keep/x:0 d/keep:1", "everything but keep", "a", "keep", "keep/x",
      "d/keep");
  IG ("docs\n!docs/keep.md\n", "docs:1 docs/a:1 docs/keep.md:0",
      "re-include below an excluded directory", "docs", "docs/a", "docs/keep.md");
  IG ("./a/../b\n", "b:1 a/b:0 b/c:1", "patterns are cleaned", "b", "a/b", "b/c");
  IG ("build/\n", "build:1 build/x:1 buildx:0", "a trailing / is cleaned away", "build", "build/x",
      "buildx");
  IG ("/tmp\n", "tmp:1 a/tmp:0", "a leading / is dropped", "tmp", "a/tmp");
  IG ("[a-c].txt\n", "a.txt:1 c.txt:1 d.txt:0 .txt:0", "a class", "a.txt", "c.txt", "d.txt",
      ".txt");
  IG ("[^a-c]x\n[!q]\n", "ax:0 dx:1 !:1 q:1", "a negated class; [!...] is not negation in Go", "ax",
      "dx", "!", "q");
  IG ("\\*.txt\nfoo\\?\n", "*.txt:1 a.txt:0 foo?:1 fooa:0", "escaped wildcards", "*.txt", "a.txt",
      "foo?", "fooa");
  IG ("a?c\n",
      "abc:1 a/c:0 a\xc3\xa9"
      "c:1",
      "? is one character, not /, not a byte", "abc", "a/c",
      "a\xc3\xa9"
      "c");
  /* Go's filepath.Match tests, as patternmatcher's tests carry them: ? and [^a] are one
     character, not one byte.  */
  IG ("a???b\na[^a]c\n",
      "a\xe2\x98\xba"
      "b:0 a\xe2\x98\xba"
      "c:1",
      "a three-byte character is one character",
      "a\xe2\x98\xba"
      "b",
      "a\xe2\x98\xba"
      "c");
  IG ("[a-\xce\xb6]*\n", "\xce\xb1:1 A:0 b:1", "a range beyond ASCII (a to zeta)", "\xce\xb1", "A",
      "b");
  /* patternmatcher hands Go's regexp the text it builds, which reads some patterns its own
     way: \d is a digit, [[:digit:]] a digit class, and in [*] the '*' became [^/]* (a class
     of '[', '^' and '/' repeated, then ']').  */
  IG ("\\d\n[[:digit:]]x\n[*]\n", "7:1 d:0 5x:1 :x:0 *:0 ]:1 ^/]:1",
      "what Docker's regular expressions do with escapes and classes", "7", "d", "5x", ":x", "*",
      "]", "^/]");
  IG ("*/*.go\n", "a/b.go:1 b.go:0 a/b/c.go:0 a/b.go/x:1",
      "* does not cross /; a match of a parent excludes what is below", "a/b.go", "b.go",
      "a/b/c.go", "a/b.go/x");
  IG ("a/**/b\n", "a/b:1 a/x/y/b:1 a/xb:0", "** spans directories, also none", "a/b", "a/x/y/b",
      "a/xb");
  IG ("**/foo\n", "foo:1 a/foo:1 afoo:0", "**/foo matches foo at the top too", "foo", "a/foo",
      "afoo");
  IG ("  # not a comment\n# comment\n  x  \n", "# not a comment:1 x:1 comment:0",
      "# only at the start of a line; lines are trimmed", "# not a comment", "x", "comment");
  IG ("a.b+c(d)\n", "a.b+c(d):1 aXb+c(d):0", "regex characters are literal", "a.b+c(d)",
      "aXb+c(d)");
  IG ("x\n!x\nx\n", "x:1", "the last match wins", "x");
  /* fsutil's walker hands each entry what matched its directory (MatchesUsingParentResults):
     the second "a" was skipped at "a" (already excluded there), so below "a" it is tried on
     the entry alone and a/b stays in, where MatchesOrParentMatches would exclude it.  */
  IG ("a\n!a/b\na\n", "a:1 a/c:1 a/b:0 a/b/x:0",
      "an exception below a directory, then the directory again", "a", "a/c", "a/b", "a/b/x");
  {
    cleanup_ignore struct husk_ignore *ig = ign ("a\n!a/b\n");
    cleanup_free bool *top = NULL;
    cleanup_free bool *below = NULL;
    bool a = husk_ignore_match_under (ig, "a", NULL, &top);
    bool ab = husk_ignore_match_under (ig, "a/b", top, &below);
    bool abx = husk_ignore_match_under (ig, "a/b/x", below, NULL);
    ok (a && !ab && !abx, "the walk form gives the same answers step by step");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("!\n");
    ok (ig == NULL, "a lone ! is refused (patternmatcher: illegal exclusion pattern)");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("\\q\n");
    ok (ig == NULL, "an escape Go's regexp does not know is refused (Docker fails when matching)");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("[a\n");
    ok (ig == NULL, "an unterminated class is refused (filepath.Match)");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("docs\n!docs/keep.md\n");
    ok (ig && husk_ignore_must_walk (ig, "docs") && !husk_ignore_must_walk (ig, "src"),
        "an excluded directory is walked when an exception names something below it "
        "(fsutil)");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("*\n!*.go\n");
    ok (ig && husk_ignore_must_walk (ig, "anything"),
        "a wildcard exception makes every excluded directory walked (fsutil)");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("docs\n");
    ok (ig && !husk_ignore_must_walk (ig, "docs"), "no exception: no walk");
  }
  {
    cleanup_ignore struct husk_ignore *ig = ign ("\xef\xbb\xbf"
                                                 "a\r\n!b\r\n");
    bool exc = false;
    ok (ig && strcmp (husk_ignore_pattern (ig, 0, &exc), "a") == 0 && !exc
            && strcmp (husk_ignore_pattern (ig, 1, &exc), "b") == 0 && exc
            && husk_ignore_pattern (ig, 2, NULL) == NULL,
        "BOM and CR dropped, exceptions marked");
  }
}

static void
test_ignore_find (void)
{
  char dir[] = "/tmp/husk-test-build-XXXXXX";
  cleanup_free char *ctx = NULL, *df = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL;
  cleanup_error struct husk_error *e = NULL;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  ctx = husk_strdup_printf ("%s/ctx", dir);
  df = husk_strdup_printf ("%s/app.Dockerfile", dir);
  mkdir (ctx, 0700);
  ok (husk_ignore_find (ctx, df, &p1, &e) == 0 && p1 == NULL, "no ignore file");
  {
    cleanup_free char *f = husk_strdup_printf ("%s/.dockerignore", ctx);
    cleanup_free char *g = husk_strdup_printf ("%s.dockerignore", df);
    husk_write_file_atomic_at (AT_FDCWD, f, "x\n", 2, 0644, &e);
    ok (husk_ignore_find (ctx, df, &p2, &e) == 0 && p2 && strcmp (p2, f) == 0,
        "CONTEXT/.dockerignore");
    husk_write_file_atomic_at (AT_FDCWD, g, "y\n", 2, 0644, &e);
    /* ref ".dockerignore file": "Dockerfile-specific ignore files ... take precedence over
       the .dockerignore file at the root of the build context".  */
    ok (husk_ignore_find (ctx, df, &p3, &e) == 0 && p3 && strcmp (p3, g) == 0,
        "app.Dockerfile.dockerignore beside the Dockerfile wins");
    {
      cleanup_ignore struct husk_ignore *ig = NULL;
      ok (husk_ignore_load (ctx, "-", &ig, NULL, &e) == 0 && husk_ignore_match (ig, "x")
              && !husk_ignore_match (ig, "y"),
          "a Dockerfile on stdin uses the context's file");
    }
    unlink (f);
    unlink (g);
  }
  rmdir (ctx);
  rmdir (dir);
}

/* ADD's URL sources (fetch.h): which sources are URLs or Git, and the file name a download
   gets (ref, ADD "Adding files from a URL"; BuildKit's dockerfile2llb names a download
   after path.Base of the URL's decoded path, "__unnamed__" when there is none).  */
static void
test_fetch_names (void)
{
  static const struct
  {
    const char *url, *name;
  } names[] = {
    { "http://h/dir/file.tar.gz", "file.tar.gz" },
    { "https://h:8443/a/b?x=1/y#frag/z", "b" },
    { "http://h/dir/", "dir" },
    { "http://h/a%20b%5B1%5D.txt", "a b[1].txt" },
    { "http://h/a%2Fb", "b" },
    { "http://h", "__unnamed__" },
    { "http://h/", "__unnamed__" },
    { "http://h/?q", "__unnamed__" },
    { "http://h/..", "__unnamed__" },
    { "http://h/%zz", "%zz" },
  };
  struct husk_error *e = NULL;

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      cleanup_free char *got = husk_fetch_file_name (names[i].url, &e);
      is_str (got, names[i].name, "the file name of %s", names[i].url);
    }
  ok (husk_fetch_file_name ("http://h/a%00b", &e) == NULL && e != NULL,
      "a NUL byte in the name is refused");
  husk_error_free (&e);
  ok (husk_fetch_is_url ("http://h/x") && husk_fetch_is_url ("https://h/x")
          && !husk_fetch_is_url ("HTTP://h/x") && !husk_fetch_is_url ("ftp://h/x")
          && !husk_fetch_is_url ("http/x"),
      "only http:// and https:// are URLs, as Docker tests them");
  ok (husk_fetch_is_git ("git@github.com:a/b") && husk_fetch_is_git ("git://h/r")
          && husk_fetch_is_git ("https://h/r.git") && husk_fetch_is_git ("https://h/r.git#v1")
          && !husk_fetch_is_git ("https://h/r.gitx") && !husk_fetch_is_git ("r.git"),
      "Git sources are told from downloads");
}

int
main (void)
{
  test_basics ();
  test_lines ();
  test_directives ();
  test_forms ();
  test_instructions ();
  test_healthcheck ();
  test_onbuild ();
  test_heredocs ();
  test_api ();
  test_expand ();
  test_ignore ();
  test_ignore_find ();
  test_fetch_names ();
  return tap_done ();
}
