/* The Dockerfile parser (dockerfile.h).  Two passes, as BuildKit's frontend has them: the
   first reads lines into nodes (directives, continuations, comments, flags split off, each
   instruction's line parser, heredoc bodies) and reports the first syntax error; the second
   checks each node as its instruction requires (flags, argument counts, HEALTHCHECK's
   values, ONBUILD's trigger) and groups them into stages.  The behaviour is read from the
   Dockerfile reference and BuildKit's frontend/dockerfile/parser and instructions packages;
   the code is husk's.  */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "expand.h"
#include "json.h"
#include "strbuf.h"
#include "utf8.h"
#include "util.h"
#include "banned.h"

/* bufio.Scanner's limit, which BuildKit reads the file with.  */
#define MAX_LINE 65535

enum line_parser
{
  LP_IGNORE,       /* Unknown instruction: refused in the second pass.  */
  LP_JSON_OR_LIST, /* ADD, COPY, VOLUME.  */
  LP_WORDS,        /* ARG: quote-aware words.  */
  LP_JSON_OR_STR,  /* CMD, ENTRYPOINT, RUN, SHELL.  */
  LP_NAME_VAL,     /* ENV, LABEL.  */
  LP_SPLIT,        /* EXPOSE, FROM.  */
  LP_HEALTH,       /* HEALTHCHECK.  */
  LP_STRING,       /* MAINTAINER, STOPSIGNAL, USER, WORKDIR.  */
  LP_SUB,          /* ONBUILD.  */
};

enum flag_type
{
  FT_BOOL,
  FT_STRING,
  FT_STRINGS, /* Repeatable.  */
};

struct flag_spec
{
  const char *name;
  enum flag_type type;
};

static const struct flag_spec add_flags[] = {
  { "chown", FT_STRING },    { "chmod", FT_STRING },
  { "link", FT_BOOL },       { "keep-git-dir", FT_BOOL },
  { "checksum", FT_STRING }, { "unpack", FT_BOOL },
  { "exclude", FT_STRINGS }, { NULL, 0 },
};
static const struct flag_spec copy_flags[] = {
  { "chown", FT_STRING },
  { "from", FT_STRING },
  { "chmod", FT_STRING },
  { "link", FT_BOOL },
  { "exclude", FT_STRINGS },
  { "parents", FT_BOOL },
  { NULL, 0 },
};
static const struct flag_spec from_flags[] = { { "platform", FT_STRING }, { NULL, 0 } };
static const struct flag_spec run_flags[] = {
  { "mount", FT_STRINGS },
  { "network", FT_STRING },
  { "security", FT_STRING },
  { "device", FT_STRINGS },
  { NULL, 0 },
};
static const struct flag_spec health_flags[] = {
  { "interval", FT_STRING },       { "timeout", FT_STRING }, { "start-period", FT_STRING },
  { "start-interval", FT_STRING }, { "retries", FT_STRING }, { NULL, 0 },
};
static const struct flag_spec no_flags[] = { { NULL, 0 } };

static const struct instr_spec
{
  const char *name; /* Lower case.  */
  const char *keyword;
  enum husk_df_kind kind;
  enum line_parser lp;
  const struct flag_spec *flags;
} instrs[] = {
  { "add", "ADD", HUSK_DF_ADD, LP_JSON_OR_LIST, add_flags },
  { "arg", "ARG", HUSK_DF_ARG, LP_WORDS, no_flags },
  { "cmd", "CMD", HUSK_DF_CMD, LP_JSON_OR_STR, no_flags },
  { "copy", "COPY", HUSK_DF_COPY, LP_JSON_OR_LIST, copy_flags },
  { "entrypoint", "ENTRYPOINT", HUSK_DF_ENTRYPOINT, LP_JSON_OR_STR, no_flags },
  { "env", "ENV", HUSK_DF_ENV, LP_NAME_VAL, no_flags },
  { "expose", "EXPOSE", HUSK_DF_EXPOSE, LP_SPLIT, no_flags },
  { "from", "FROM", HUSK_DF_FROM, LP_SPLIT, from_flags },
  { "healthcheck", "HEALTHCHECK", HUSK_DF_HEALTHCHECK, LP_HEALTH, health_flags },
  { "label", "LABEL", HUSK_DF_LABEL, LP_NAME_VAL, no_flags },
  { "maintainer", "MAINTAINER", HUSK_DF_MAINTAINER, LP_STRING, no_flags },
  { "onbuild", "ONBUILD", HUSK_DF_ONBUILD, LP_SUB, no_flags },
  { "run", "RUN", HUSK_DF_RUN, LP_JSON_OR_STR, run_flags },
  { "shell", "SHELL", HUSK_DF_SHELL, LP_JSON_OR_STR, no_flags },
  { "stopsignal", "STOPSIGNAL", HUSK_DF_STOPSIGNAL, LP_STRING, no_flags },
  { "user", "USER", HUSK_DF_USER, LP_STRING, no_flags },
  { "volume", "VOLUME", HUSK_DF_VOLUME, LP_JSON_OR_LIST, no_flags },
  { "workdir", "WORKDIR", HUSK_DF_WORKDIR, LP_STRING, no_flags },
};

static const struct instr_spec *
spec_of (const char *cmd)
{
  for (size_t i = 0; i < sizeof (instrs) / sizeof (*instrs); i++)
    if (strcasecmp (instrs[i].name, cmd) == 0)
      return &instrs[i];
  return NULL;
}

/* A line as the first pass leaves it.  */
struct node
{
  char *cmd; /* As written.  */
  const struct instr_spec *spec;
  char **flags; /* "--name=value" words, quotes removed.  */
  char *original;
  unsigned start, end;
  bool json;
  char **args;
  struct husk_df_kv *kvs;
  size_t n_kvs;
  bool legacy; /* ENV K V, LABEL K V.  */
  char *health_type;
  struct node *child; /* ONBUILD's trigger.  */
  struct husk_df_heredoc *heredocs;
  size_t n_heredocs;
};

static void
kvs_free (struct husk_df_kv *kvs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kvs[i].key);
      free (kvs[i].value);
    }
  free (kvs);
}

static void
heredocs_free (struct husk_df_heredoc *h, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (h[i].name);
      free (h[i].content);
      free (h[i].raw);
    }
  free (h);
}

static void
node_free (struct node *n)
{
  if (n == NULL)
    return;
  free (n->cmd);
  husk_strv_free (n->flags);
  free (n->original);
  husk_strv_free (n->args);
  kvs_free (n->kvs, n->n_kvs);
  free (n->health_type);
  node_free (n->child);
  heredocs_free (n->heredocs, n->n_heredocs);
  free (n);
}

/* ---------------------------------------------------------------- small string helpers  */

static size_t
space_at (const char *s, size_t n)
{
  return n ? husk_utf8_space_at (s, n) : 0;
}

/* S without leading and trailing white space (unicode.IsSpace), as a new string.  */
static char *
trim_space (const char *s, size_t n)
{
  size_t a = 0, b = n;

  while (a < b)
    {
      size_t k = space_at (s + a, b - a);
      if (k == 0)
        break;
      a += k;
    }
  /* Trailing: walk characters from A, remembering where the last non-space ended.  */
  size_t end = a;
  for (size_t i = a; i < b;)
    {
      size_t k = husk_utf8_len (s + i, b - i);
      i += k;
      if (!husk_utf8_is_space (s + i - k, k))
        end = i;
    }
  return strndup (s + a, end - a);
}

/* BuildKit's reWhitespace: [\t\v\f\r ].  */
static bool
is_ws_split (char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* REST split at runs of [\t\v\f\r ], at most MAX pieces (0: no limit).  REST is trimmed by
   the caller, so no piece is empty except where REST itself is.  */
static char **
split_ws (const char *rest, size_t max)
{
  struct husk_strvec v = { 0 };
  const char *p = rest;

  for (;;)
    {
      size_t len = 0;
      if (max && v.n == max - 1)
        len = strlen (p);
      else
        while (p[len] && !is_ws_split (p[len]))
          len++;
      husk_strvec_push (&v, p, len);
      p += len;
      if (*p == '\0')
        break;
      while (is_ws_split (*p))
        p++;
    }
  return husk_strvec_take (&v);
}

/* ---------------------------------------------------------------- the first pass  */

struct parser
{
  const char *name;
  const char *buf;
  size_t len, pos;
  unsigned line; /* Lines read so far.  */
  char esc;
  bool directives_done;
  bool seen_syntax, seen_escape, seen_check;
  char *syntax, *check;
  char *errmsg;
  unsigned errline;
  char *errkw;
};

static int perr (struct parser *p, unsigned line, const char *kw, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
perr (struct parser *p, unsigned line, const char *kw, const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;

  if (p->errmsg)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    abort ();
  va_end (ap);
  /* One line, whatever the input held.  */
  for (char *c = m; *c; c++)
    if (*c == '\n' || *c == '\r')
      *c = ' ';
  p->errmsg = m;
  p->errline = line;
  p->errkw = kw ? husk_xstrdup (kw) : NULL;
  return -1;
}

/* The next physical line with its line ending: *RET_LINE, *RET_LEN.  false at the end.  */
static bool
next_line (struct parser *p, const char **ret_line, size_t *ret_len)
{
  const char *nl;
  size_t len;

  if (p->pos >= p->len)
    return false;
  nl = memchr (p->buf + p->pos, '\n', p->len - p->pos);
  len = nl ? (size_t) (nl - (p->buf + p->pos)) + 1 : p->len - p->pos;
  *ret_line = p->buf + p->pos;
  *ret_len = len;
  p->pos += len;
  return true;
}

static size_t
trim_newline_len (const char *s, size_t n)
{
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  return n;
}

static size_t
leading_space (const char *s, size_t n)
{
  size_t a = 0;
  while (a < n)
    {
      size_t k = space_at (s + a, n - a);
      if (k == 0)
        break;
      a += k;
    }
  return a;
}

static bool
is_comment (const char *s, size_t n)
{
  size_t a = leading_space (s, n);
  return a < n && s[a] == '#';
}

static bool
go_regex_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* A parser directive on line S (newline and leading white space gone): sets the escape
   character, records syntax and check, or ends the directives.  */
static int
directive (struct parser *p, const char *s, size_t n)
{
  size_t i, k0, k1, v0, v1;
  cleanup_free char *key = NULL, *value = NULL;

  if (p->directives_done)
    return 0;
  if (n == 0 || s[0] != '#')
    {
      p->directives_done = true;
      return 0;
    }
  i = 1 + leading_space (s + 1, n - 1);
  /* ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$  */
  k0 = i;
  if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
    goto done;
  while (i < n
         && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
             || (s[i] >= '0' && s[i] <= '9')))
    i++;
  k1 = i;
  while (i < n && go_regex_space (s[i]))
    i++;
  if (i >= n || s[i] != '=')
    goto done;
  i++;
  if (i >= n || memchr (s + i, '\n', n - i))
    goto done;
  /* The value: trimmed of \s, but at least one character (the last one) when it is all
     white space, as the lazy (.+?) leaves it.  */
  v0 = i;
  v1 = n;
  while (v0 < n - 1 && go_regex_space (s[v0]))
    v0++;
  while (v1 > v0 + 1 && go_regex_space (s[v1 - 1]))
    v1--;
  key = strndup (s + k0, k1 - k0);
  for (char *c = key; *c; c++)
    *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  value = strndup (s + v0, v1 - v0);
  {
    bool *seen;
    if (strcmp (key, "syntax") == 0)
      seen = &p->seen_syntax;
    else if (strcmp (key, "escape") == 0)
      seen = &p->seen_escape;
    else if (strcmp (key, "check") == 0)
      seen = &p->seen_check;
    else
      goto done;
    if (*seen)
      return perr (p, p->line + 1, NULL, "only one %s parser directive can be used", key);
    *seen = true;
  }
  if (strcmp (key, "escape") == 0)
    {
      if (strcmp (value, "`") != 0 && strcmp (value, "\\") != 0)
        return perr (p, p->line + 1, NULL, "invalid escape token '%s' does not match ` or \\",
                     value);
      p->esc = value[0];
    }
  else if (strcmp (key, "syntax") == 0)
    p->syntax = TAKE_PTR (value);
  else
    p->check = TAKE_PTR (value);
  return 0;
done:
  p->directives_done = true;
  return 0;
}

/* A line ending in the escape character (not itself escaped) and optional blanks continues
   on the next: *LEN is cut before it and true is returned.  */
static bool
continues (const struct parser *p, const char *s, size_t *len)
{
  size_t n = *len;

  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0 || s[n - 1] != p->esc)
    return false;
  if (n >= 2 && s[n - 2] == p->esc)
    return false;
  *len = n - 1;
  return true;
}

/* BuildKit's parseWords: words at white space, quotes and escapes kept, but quoted white
   space does not split.  */
static char **
parse_words (const char *rest, char esc)
{
  struct husk_strvec words = { 0 };
  cleanup_strbuf struct husk_strbuf w = { 0 };
  size_t n = strlen (rest), pos = 0;
  enum
  {
    IN_SPACES,
    IN_WORD,
    IN_QUOTE
  } phase
      = IN_SPACES;
  char quote = 0;
  bool blank_ok = false;

  for (;;)
    {
      size_t k = pos < n ? husk_utf8_len (rest + pos, n - pos) : 0;
      const char *ch = rest + pos;

      if (phase == IN_SPACES)
        {
          if (pos >= n)
            break;
          if (husk_utf8_is_space (ch, k))
            {
              pos += k;
              continue;
            }
          phase = IN_WORD;
        }
      if (pos >= n)
        {
          if (blank_ok || w.len > 0)
            husk_strvec_push (&words, w.p ? w.p : "", w.len);
          break;
        }
      if (phase == IN_WORD)
        {
          if (husk_utf8_is_space (ch, k))
            {
              phase = IN_SPACES;
              if (blank_ok || w.len > 0)
                husk_strvec_push (&words, w.p ? w.p : "", w.len);
              husk_strbuf_reset (&w);
              blank_ok = false;
              pos += k;
              continue;
            }
          if (*ch == '\'' || *ch == '"')
            {
              quote = *ch;
              blank_ok = true;
              phase = IN_QUOTE;
            }
          if (*ch == esc)
            {
              if (pos + 1 == n)
                {
                  pos++;
                  continue;
                }
              husk_strbuf_addc (&w, esc);
              pos++;
              ch = rest + pos;
              k = husk_utf8_len (ch, n - pos);
            }
          husk_strbuf_add (&w, ch, k);
          pos += k;
          continue;
        }
      /* IN_QUOTE */
      if (*ch == quote)
        phase = IN_WORD;
      if (*ch == esc && quote != '\'')
        {
          if (pos + 1 == n)
            {
              phase = IN_WORD;
              pos++;
              continue;
            }
          husk_strbuf_addc (&w, esc);
          pos++;
          ch = rest + pos;
          k = husk_utf8_len (ch, n - pos);
        }
      husk_strbuf_add (&w, ch, k);
      pos += k;
    }
  return husk_strvec_take (&words);
}

/* BuildKit's extractBuilderFlags: the leading "--" words of LINE, quotes and escapes removed;
 *RET_REST is what follows them.  A lone "--" ends the flags.  */
static char **
extract_flags (const char *line, char esc, const char **ret_rest)
{
  struct husk_strvec words = { 0 };
  cleanup_strbuf struct husk_strbuf w = { 0 };
  size_t n = strlen (line), pos = 0;
  enum
  {
    IN_SPACES,
    IN_WORD,
    IN_QUOTE
  } phase
      = IN_SPACES;
  char quote = 0;
  bool blank_ok = false;

  *ret_rest = line + n;
  for (;; pos++)
    {
      char ch = pos < n ? line[pos] : '\0';

      if (phase == IN_SPACES)
        {
          if (pos >= n)
            break;
          /* Byte by byte, as BuildKit does: 0x85 and 0xa0 count as spaces there.  */
          if (go_regex_space (ch) || ch == '\v' || ch == (char) 0x85 || ch == (char) 0xa0)
            continue;
          if (ch != '-' || pos + 1 == n || line[pos + 1] != '-')
            {
              *ret_rest = line + pos;
              break;
            }
          phase = IN_WORD;
        }
      if (pos >= n)
        {
          if ((w.len != 2 || memcmp (w.p, "--", 2) != 0) && (blank_ok || w.len > 0))
            husk_strvec_push (&words, w.p ? w.p : "", w.len);
          break;
        }
      if (phase == IN_WORD)
        {
          if (go_regex_space (ch) || ch == '\v' || ch == (char) 0x85 || ch == (char) 0xa0)
            {
              phase = IN_SPACES;
              if (w.len == 2 && memcmp (w.p, "--", 2) == 0)
                {
                  *ret_rest = line + pos;
                  break;
                }
              if (blank_ok || w.len > 0)
                husk_strvec_push (&words, w.p ? w.p : "", w.len);
              husk_strbuf_reset (&w);
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = ch;
              blank_ok = true;
              phase = IN_QUOTE;
              continue;
            }
          if (ch == esc)
            {
              if (pos + 1 == n)
                continue;
              ch = line[++pos];
            }
          husk_strbuf_addc (&w, ch);
          continue;
        }
      if (ch == quote)
        {
          phase = IN_WORD;
          continue;
        }
      if (ch == esc)
        {
          if (pos + 1 == n)
            {
              phase = IN_WORD;
              continue;
            }
          ch = line[++pos];
        }
      husk_strbuf_addc (&w, ch);
    }
  return husk_strvec_take (&words);
}

/* Go's encoding/json has no comments; yajl's tree parser allows them.  A '/' outside a
   string is never valid JSON, so such text is not JSON here either.  */
static bool
has_slash_outside_strings (const char *s)
{
  bool in_str = false;
  for (; *s; s++)
    {
      if (in_str)
        {
          if (*s == '\\' && s[1])
            s++;
          else if (*s == '"')
            in_str = false;
        }
      else if (*s == '"')
        in_str = true;
      else if (*s == '/')
        return true;
    }
  return false;
}

enum json_result
{
  JSON_NO,
  JSON_OK,
  JSON_NOT_STRINGS,
};

/* REST as an exec form: a JSON array of strings.  */
static enum json_result
parse_json_array (const char *rest, char ***ret)
{
  cleanup_error struct husk_error *e = NULL;
  cleanup_json husk_json *j = NULL;
  struct husk_strvec v = { 0 };
  size_t skip = leading_space (rest, strlen (rest));

  rest += skip;
  if (rest[0] != '[' || has_slash_outside_strings (rest))
    return JSON_NO;
  j = husk_json_parse (rest, strlen (rest), &e);
  if (j == NULL || !husk_json_is_array (j))
    return JSON_NO;
  for (size_t i = 0; i < husk_json_array_len (j); i++)
    {
      const char *s = husk_json_string (husk_json_array_at (j, i));
      if (s == NULL)
        {
          husk_strvec_freep (&v);
          return JSON_NOT_STRINGS;
        }
      husk_strvec_push (&v, s, strlen (s));
    }
  *ret = husk_strvec_take (&v);
  return JSON_OK;
}

static const char not_strings[]
    = "when using JSON array syntax, arrays must be comprised of strings only";

static struct node *parse_node (struct parser *p, const char *line, unsigned start);

/* The instruction's own line parser on REST (trimmed).  */
static int
parse_rest (struct parser *p, struct node *nd, const char *rest)
{
  enum line_parser lp = nd->spec ? nd->spec->lp : LP_IGNORE;
  const char *kw = nd->spec ? nd->spec->keyword : nd->cmd;

  switch (lp)
    {
    case LP_IGNORE:
      return 0;
    case LP_JSON_OR_LIST:
    case LP_JSON_OR_STR:
      {
        enum json_result r;
        if (lp == LP_JSON_OR_STR && rest[0] == '\0')
          return 0;
        r = parse_json_array (rest, &nd->args);
        if (r == JSON_NOT_STRINGS)
          return perr (p, nd->start, kw, "%s", not_strings);
        if (r == JSON_OK)
          {
            nd->json = true;
            return 0;
          }
        if (rest[0] == '\0')
          return 0;
        if (lp == LP_JSON_OR_LIST)
          nd->args = split_ws (rest, 0);
        else
          {
            nd->args = husk_xcalloc (1, sizeof (char *));
            husk_strv_append (&nd->args, rest);
          }
        return 0;
      }
    case LP_WORDS:
      nd->args = parse_words (rest, p->esc);
      return 0;
    case LP_SPLIT:
      if (rest[0] != '\0')
        nd->args = split_ws (rest, 0);
      return 0;
    case LP_STRING:
      if (rest[0] != '\0')
        {
          nd->args = husk_xcalloc (1, sizeof (char *));
          husk_strv_append (&nd->args, rest);
        }
      return 0;
    case LP_NAME_VAL:
      {
        cleanup_strv char **words = parse_words (rest, p->esc);
        size_t n = husk_strv_len (words);

        if (n == 0)
          return 0;
        if (strchr (words[0], '=') == NULL)
          {
            cleanup_strv char **parts = split_ws (rest, 2);
            if (husk_strv_len (parts) < 2)
              return perr (p, nd->start, kw, "%s must have two arguments", kw);
            nd->kvs = husk_xcalloc (1, sizeof (*nd->kvs));
            nd->kvs[0].key = husk_xstrdup (parts[0]);
            nd->kvs[0].value = husk_xstrdup (parts[1]);
            nd->n_kvs = 1;
            nd->legacy = true;
            return 0;
          }
        nd->kvs = husk_xcalloc (n, sizeof (*nd->kvs));
        for (size_t i = 0; i < n; i++)
          {
            char *eq = strchr (words[i], '=');
            if (eq == NULL)
              return perr (p, nd->start, kw,
                           "syntax error - can't find = in \"%s\"; must be of the form "
                           "name=value",
                           words[i]);
            nd->kvs[i].key = strndup (words[i], (size_t) (eq - words[i]));
            nd->kvs[i].value = husk_xstrdup (eq + 1);
            nd->n_kvs++;
          }
        return 0;
      }
    case LP_HEALTH:
      {
        /* The type is the first word, cut at a byte that is white space (read as Latin-1, as
           BuildKit does); the rest is CMD's command.  */
        size_t sep = 0, next;
        while (rest[sep]
               && !(go_regex_space (rest[sep]) || rest[sep] == '\v' || rest[sep] == (char) 0x85
                    || rest[sep] == (char) 0xa0))
          sep++;
        next = sep;
        while (rest[next]
               && (go_regex_space (rest[next]) || rest[next] == '\v' || rest[next] == (char) 0x85
                   || rest[next] == (char) 0xa0))
          next++;
        if (sep == 0)
          return 0;
        nd->health_type = strndup (rest, sep);
        rest += next;
        if (rest[0] == '\0')
          return 0;
        switch (parse_json_array (rest, &nd->args))
          {
          case JSON_NOT_STRINGS:
            return perr (p, nd->start, kw, "%s", not_strings);
          case JSON_OK:
            nd->json = true;
            return 0;
          default:
            nd->args = husk_xcalloc (1, sizeof (char *));
            husk_strv_append (&nd->args, rest);
            return 0;
          }
      }
    case LP_SUB:
      if (rest[0] == '\0')
        return 0;
      nd->child = parse_node (p, rest, nd->start);
      if (nd->child == NULL)
        {
          /* The error is the ONBUILD line's.  */
          free (p->errkw);
          p->errkw = husk_xstrdup ("ONBUILD");
          return -1;
        }
      return 0;
    }
  return 0;
}

/* One logical LINE (continuations joined) into a node: the keyword, the flags, the rest.  */
static struct node *
parse_node (struct parser *p, const char *line, unsigned start)
{
  struct node *nd = husk_xcalloc (1, sizeof (*nd));
  cleanup_free char *trimmed = trim_space (line, strlen (line));
  cleanup_free char *rest = NULL;
  const char *after = "";
  size_t cmdlen = 0;

  nd->start = start;
  nd->original = husk_xstrdup (line);
  while (trimmed[cmdlen] && !is_ws_split (trimmed[cmdlen]))
    cmdlen++;
  nd->cmd = strndup (trimmed, cmdlen);
  nd->spec = spec_of (nd->cmd);
  if (trimmed[cmdlen])
    {
      const char *r = trimmed + cmdlen;
      while (is_ws_split (*r))
        r++;
      nd->flags = extract_flags (r, p->esc, &after);
    }
  else
    nd->flags = husk_xcalloc (1, sizeof (char *));
  rest = trim_space (after, strlen (after));
  if (parse_rest (p, nd, rest) < 0)
    {
      node_free (nd);
      return NULL;
    }
  return nd;
}

/* ^(\d*)<<(-?)\s*([^<]*)$ on a word of the line, then the name's quotes: BuildKit's
   heredoc detection.  Returns 1 with *RET filled, 0 when WORD is no heredoc.  */
static int
heredoc_of_word (const char *word, struct husk_df_heredoc *ret, struct husk_error **err)
{
  const char *s = word, *digits = word, *rest;
  cleanup_strv char **words = NULL, **raw = NULL;
  unsigned long fd = 0;
  bool chomp = false;
  size_t qn = 0, qr = 0;

  while (*s >= '0' && *s <= '9')
    s++;
  if (s[0] != '<' || s[1] != '<')
    return 0;
  for (const char *d = digits; d < s; d++)
    {
      fd = fd * 10 + (unsigned long) (*d - '0');
      if (fd > 0xffffffffUL)
        {
          /* ParseUint's overflow: BuildKit ignores the error and keeps 0.  */
          fd = 0;
          break;
        }
    }
  s += 2;
  if (*s == '-')
    {
      chomp = true;
      s++;
    }
  while (go_regex_space (*s))
    s++;
  rest = s;
  if (strchr (rest, '<') || rest[0] == '\0')
    return 0;
  if (husk_expand (rest, '\\', HUSK_EXPAND_SKIP_UNSET, NULL, NULL, NULL, &words, NULL, err) < 0)
    return -1;
  if (husk_strv_len (words) != 1)
    return 0;
  if (husk_expand (rest, '\\', HUSK_EXPAND_SKIP_UNSET | HUSK_EXPAND_RAW_QUOTES, NULL, NULL, NULL,
                   &raw, NULL, err)
      < 0)
    return -1;
  if (husk_strv_len (raw) != 1)
    return husk_error_set (err, 0, "internal lexing of heredoc produced inconsistent results: %s",
                           rest);
  for (const char *c = words[0]; *c; c++)
    qn += *c == '\'' || *c == '"';
  for (const char *c = raw[0]; *c; c++)
    qr += *c == '\'' || *c == '"';
  *ret = (struct husk_df_heredoc){
    .name = husk_xstrdup (words[0]),
    .expand = qn == qr,
    .chomp = chomp,
    .fd = (unsigned) fd,
  };
  return 1;
}

static bool
can_contain_heredoc (const struct node *nd)
{
  if (nd->spec && nd->spec->kind == HUSK_DF_ONBUILD && nd->child)
    nd = nd->child;
  if (nd->spec == NULL || nd->json)
    return false;
  return nd->spec->kind == HUSK_DF_RUN || nd->spec->kind == HUSK_DF_COPY
         || nd->spec->kind == HUSK_DF_ADD;
}

/* Remove the tabs that start each line: <<- (the reference: "leading tabs are stripped").  */
static char *
chomp_tabs (const char *s)
{
  cleanup_strbuf struct husk_strbuf b = { 0 };
  bool bol = true;

  for (; *s; s++)
    {
      if (bol && *s == '\t')
        continue;
      bol = *s == '\n';
      husk_strbuf_addc (&b, *s);
    }
  return husk_strbuf_take (&b);
}

/* The heredocs named on LINE, their bodies read from the following lines.  */
static int
read_heredocs (struct parser *p, struct node *nd, const char *line)
{
  cleanup_strv char **words = NULL;
  cleanup_error struct husk_error *ignored = NULL;
  const char *kw = nd->spec->keyword;

  if (!can_contain_heredoc (nd) || strstr (line, "<<") == NULL)
    return 0;
  /* Lexing errors here leave no words, as in BuildKit.  */
  if (husk_expand (line, '\\',
                   HUSK_EXPAND_RAW_QUOTES | HUSK_EXPAND_RAW_ESCAPES | HUSK_EXPAND_SKIP_UNSET, NULL,
                   NULL, NULL, &words, NULL, &ignored)
      < 0)
    return 0;
  for (size_t i = 0; words[i]; i++)
    {
      cleanup_error struct husk_error *e = NULL;
      struct husk_df_heredoc h;
      cleanup_strbuf struct husk_strbuf content = { 0 };
      const char *l;
      size_t len;
      bool terminated = false;
      int r = heredoc_of_word (words[i], &h, &e);

      if (r < 0)
        return perr (p, nd->start, kw, "%s", e->msg);
      if (r == 0)
        continue;
      while (next_line (p, &l, &len))
        {
          size_t n = trim_newline_len (l, len);
          const char *t = l;
          p->line++;
          if (len > MAX_LINE + 1 || (len == n && len > MAX_LINE))
            {
              free (h.name);
              return perr (p, p->line, NULL, "dockerfile line greater than max allowed size of %d",
                           MAX_LINE);
            }
          if (h.chomp)
            while (n > 0 && *t == '\t')
              {
                t++;
                n--;
              }
          if (n == strlen (h.name) && memcmp (t, h.name, n) == 0)
            {
              terminated = true;
              break;
            }
          husk_strbuf_add (&content, l, len);
        }
      if (!terminated)
        {
          free (h.name);
          return perr (p, nd->start, kw, "unterminated heredoc");
        }
      /* A NUL byte in a heredoc ends it here: contents are C strings.  */
      h.content = h.chomp ? chomp_tabs (content.p ? content.p : "")
                          : husk_xstrdup (content.p ? content.p : "");
      nd->heredocs = husk_xrealloc (nd->heredocs, (nd->n_heredocs + 1) * sizeof (*nd->heredocs));
      nd->heredocs[nd->n_heredocs++] = h;
      nd->heredocs[nd->n_heredocs - 1].raw = husk_xstrdup (content.p ? content.p : "");
    }
  return 0;
}

/* The first pass: every node of the file.  */
static int
read_nodes (struct parser *p, struct node ***ret, size_t *ret_n)
{
  struct node **v = NULL;
  size_t n = 0;
  const char *l;
  size_t len;

  while (next_line (p, &l, &len))
    {
      cleanup_strbuf struct husk_strbuf buf = { 0 };
      const char *s = l;
      size_t sl;
      unsigned start;
      bool cont;
      struct node *nd;

      if (p->line == 0 && len >= 3 && memcmp (l, "\xef\xbb\xbf", 3) == 0)
        {
          s += 3;
          len -= 3;
        }
      if (len > MAX_LINE + 1 || (len > MAX_LINE && s[len - 1] != '\n'))
        {
          perr (p, p->line + 1, NULL, "dockerfile line greater than max allowed size of %d",
                MAX_LINE);
          goto fail;
        }
      sl = trim_newline_len (s, len);
      {
        size_t a = leading_space (s, sl);
        s += a;
        sl -= a;
      }
      if (directive (p, s, sl) < 0)
        goto fail;
      if (sl > 0 && s[0] == '#')
        sl = 0;
      p->line++;
      start = p->line;
      cont = continues (p, s, &sl);
      if (!cont && sl == 0)
        continue;
      husk_strbuf_add (&buf, s, sl);
      while (cont && next_line (p, &l, &len))
        {
          size_t cl = trim_newline_len (l, len);
          if (len > MAX_LINE + 1 || (len > MAX_LINE && l[len - 1] != '\n'))
            {
              perr (p, p->line + 1, NULL, "dockerfile line greater than max allowed size of %d",
                    MAX_LINE);
              goto fail;
            }
          p->line++;
          if (is_comment (l, len))
            continue;
          if (leading_space (l, cl) == cl)
            continue;
          cont = continues (p, l, &cl);
          husk_strbuf_add (&buf, l, cl);
        }
      /* The file's bytes may hold NUL: the line is a C string from here on, cut there.  */
      nd = parse_node (p, buf.p ? buf.p : "", start);
      if (nd == NULL)
        goto fail;
      v = husk_xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = nd;
      if (nd->spec && read_heredocs (p, nd, buf.p ? buf.p : "") < 0)
        goto fail;
      nd->end = p->line;
    }
  *ret = v;
  *ret_n = n;
  return 0;
fail:
  for (size_t i = 0; i < n; i++)
    node_free (v[i]);
  free (v);
  return -1;
}

/* ---------------------------------------------------------------- the second pass  */

/* Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "-1s"; nanoseconds in *RET.  */
static int
parse_go_duration (const char *orig, int64_t *ret)
{
  static const struct
  {
    const char *unit;
    uint64_t ns;
  } units[] = {
    { "ns", 1ULL },           { "us", 1000ULL },
    { "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign.  */
    { "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu.  */
    { "ms", 1000000ULL },     { "s", 1000000000ULL },
    { "m", 60000000000ULL },  { "h", 3600000000000ULL },
  };
  const char *s = orig;
  bool neg = false;
  uint64_t d = 0;

  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    {
      *ret = 0;
      return 0;
    }
  if (*s == '\0')
    return -1;
  while (*s)
    {
      uint64_t v = 0, scale = 1, f = 0, unit = 0;
      bool pre = false, post = false;
      size_t ul = 0;

      if (!(*s == '.' || (*s >= '0' && *s <= '9')))
        return -1;
      while (*s >= '0' && *s <= '9')
        {
          if (v > (UINT64_MAX - 9) / 10)
            return -1;
          v = v * 10 + (uint64_t) (*s++ - '0');
          pre = true;
        }
      if (*s == '.')
        {
          s++;
          while (*s >= '0' && *s <= '9')
            {
              post = true;
              if (scale < 1000000000000000000ULL)
                {
                  f = f * 10 + (uint64_t) (*s - '0');
                  scale *= 10;
                }
              s++;
            }
        }
      if (!pre && !post)
        return -1;
      /* The unit: every character up to the next digit or '.', looked up whole.  */
      while (s[ul] && s[ul] != '.' && !(s[ul] >= '0' && s[ul] <= '9'))
        ul++;
      if (ul == 0)
        return -2;
      for (size_t i = 0; i < sizeof (units) / sizeof (*units); i++)
        if (strlen (units[i].unit) == ul && strncmp (s, units[i].unit, ul) == 0)
          unit = units[i].ns;
      if (unit == 0)
        return -3;
      s += ul;
      if (v > (uint64_t) INT64_MAX / unit)
        return -1;
      v *= unit;
      if (f)
        v += (uint64_t) ((long double) f * (long double) unit / (long double) scale);
      d += v;
      if (d > (uint64_t) INT64_MAX + (neg ? 1 : 0))
        return -1;
    }
  *ret = neg ? (int64_t) (0 - d) : (int64_t) d;
  return 0;
}

struct builder
{
  struct parser *p;
  struct husk_dockerfile *df;
};

static void
instr_clear (struct husk_df_instr *in)
{
  for (size_t i = 0; i < in->n_flags; i++)
    {
      free (in->flags[i].name);
      free (in->flags[i].value);
    }
  free (in->flags);
  free (in->original);
  husk_strv_free (in->args);
  kvs_free (in->kvs, in->n_kvs);
  heredocs_free (in->heredocs, in->n_heredocs);
  free (in->trigger);
  if (in->inner)
    {
      instr_clear (in->inner);
      free (in->inner);
    }
  memset (in, 0, sizeof (*in));
}

/* BuildKit's BFlags.Parse for the flags SPEC allows.  */
static int
check_flags (struct node *nd, const struct flag_spec *spec, struct husk_df_instr *in,
             char **ret_msg)
{
  bool used[16] = { false };

  for (size_t i = 0; nd->flags[i]; i++)
    {
      const char *a = nd->flags[i], *eq;
      cleanup_free char *name = NULL;
      const struct flag_spec *f = NULL;
      size_t k;
      char *value = NULL;

      if (strcmp (a, "--") == 0)
        return 0;
      if (strncmp (a, "--", 2) != 0)
        {
          *ret_msg = husk_strdup_printf ("arg should start with -- : %s", a);
          return -1;
        }
      eq = strchr (a, '=');
      name = eq ? strndup (a + 2, (size_t) (eq - a - 2)) : husk_xstrdup (a + 2);
      for (k = 0; spec[k].name; k++)
        if (strcmp (spec[k].name, name) == 0)
          {
            f = &spec[k];
            break;
          }
      if (f == NULL)
        {
          *ret_msg = husk_strdup_printf ("unknown flag: --%s", name);
          return -1;
        }
      if (used[k] && f->type != FT_STRINGS)
        {
          *ret_msg = husk_strdup_printf ("duplicate flag specified: --%s", name);
          return -1;
        }
      used[k] = true;
      switch (f->type)
        {
        case FT_BOOL:
          if (eq && eq[1] == '\0')
            {
              *ret_msg = husk_strdup_printf ("missing a value on flag: --%s", name);
              return -1;
            }
          if (eq == NULL || strcasecmp (eq + 1, "true") == 0)
            value = eq ? husk_xstrdup ("true") : NULL;
          else if (strcasecmp (eq + 1, "false") == 0)
            value = husk_xstrdup ("false");
          else
            {
              *ret_msg = husk_strdup_printf ("expecting boolean value for flag --%s, not: %s", name,
                                             eq + 1);
              return -1;
            }
          break;
        default:
          if (eq == NULL)
            {
              *ret_msg = husk_strdup_printf ("missing a value on flag: --%s", name);
              return -1;
            }
          value = husk_xstrdup (eq + 1);
        }
      in->flags = husk_xrealloc (in->flags, (in->n_flags + 1) * sizeof (*in->flags));
      in->flags[in->n_flags++] = (struct husk_df_flag){ husk_xstrdup (f->name), value };
    }
  return 0;
}

static bool
valid_stage_name (const char *s)
{
  if (!(s[0] >= 'a' && s[0] <= 'z'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr ("-_.", *s)))
      return false;
  return true;
}

static char *
lower (const char *s)
{
  char *r = husk_xstrdup (s);
  for (char *c = r; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char) (*c + 32);
  return r;
}

/* ONBUILD's text for the image's config: the line without "ONBUILD" and the blanks after it,
   then each heredoc's body and delimiter.  */
static char *
trigger_text (const struct node *nd)
{
  cleanup_strbuf struct husk_strbuf b = { 0 };
  const char *s = nd->original;

  while (*s && go_regex_space (*s))
    s++;
  s += strlen ("onbuild");
  while (*s && go_regex_space (*s))
    s++;
  husk_strbuf_adds (&b, s);
  for (size_t i = 0; i < nd->n_heredocs; i++)
    {
      husk_strbuf_addc (&b, '\n');
      husk_strbuf_adds (&b, nd->heredocs[i].raw);
      husk_strbuf_adds (&b, nd->heredocs[i].name);
    }
  return husk_strbuf_take (&b);
}

static const struct husk_df_heredoc *
heredoc_named (const struct husk_df_heredoc *h, size_t n, const char *arg)
{
  struct husk_df_heredoc w;
  cleanup_error struct husk_error *e = NULL;
  const struct husk_df_heredoc *found = NULL;

  if (heredoc_of_word (arg, &w, &e) != 1)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp (h[i].name, w.name) == 0)
      found = &h[i];
  free (w.name);
  return found;
}

/* Node ND as an instruction in *IN, with the checks its instruction has.  *RET_MSG: why not. */
static int
make_instr (struct node *nd, struct husk_df_instr *in, char **ret_msg)
{
  const struct instr_spec *sp = nd->spec;
  size_t nargs = husk_strv_len (nd->args);

  memset (in, 0, sizeof (*in));
  if (sp == NULL)
    {
      *ret_msg = husk_xstrdup ("unknown instruction");
      return -1;
    }
  in->kind = sp->kind;
  in->keyword = sp->keyword;
  in->line = nd->start;
  in->end_line = nd->end;
  in->original = husk_xstrdup (nd->original);
  in->exec_form = nd->json;

  /* HEALTHCHECK NONE reads no flags in Docker; every other instruction checks its own.  */
  if (!(sp->kind == HUSK_DF_HEALTHCHECK && nd->health_type
        && strcasecmp (nd->health_type, "NONE") == 0))
    if (check_flags (nd, sp->flags, in, ret_msg) < 0)
      return -1;

  switch (sp->kind)
    {
    case HUSK_DF_ENV:
    case HUSK_DF_LABEL:
      if (nd->n_kvs == 0)
        goto at_least_one;
      for (size_t i = 0; i < nd->n_kvs; i++)
        if (nd->kvs[i].key[0] == '\0')
          {
            *ret_msg = husk_strdup_printf ("%s names can not be blank", sp->keyword);
            return -1;
          }
      in->kvs = TAKE_PTR (nd->kvs);
      in->n_kvs = nd->n_kvs;
      nd->n_kvs = 0;
      in->args = husk_xcalloc (1, sizeof (char *));
      return 0;
    case HUSK_DF_ARG:
      if (nargs == 0)
        goto at_least_one;
      in->kvs = husk_xcalloc (nargs, sizeof (*in->kvs));
      for (size_t i = 0; i < nargs; i++)
        {
          char *eq = strchr (nd->args[i], '=');
          if (eq == nd->args[i])
            {
              *ret_msg = husk_xstrdup ("ARG names can not be blank");
              return -1;
            }
          in->kvs[i].key = eq ? strndup (nd->args[i], (size_t) (eq - nd->args[i]))
                              : husk_xstrdup (nd->args[i]);
          in->kvs[i].value = eq ? husk_xstrdup (eq + 1) : NULL;
          in->n_kvs++;
        }
      in->args = husk_xcalloc (1, sizeof (char *));
      return 0;
    case HUSK_DF_MAINTAINER:
    case HUSK_DF_WORKDIR:
    case HUSK_DF_USER:
    case HUSK_DF_STOPSIGNAL:
      if (nargs != 1)
        {
          *ret_msg = husk_strdup_printf ("%s requires exactly one argument", sp->keyword);
          return -1;
        }
      break;
    case HUSK_DF_ADD:
    case HUSK_DF_COPY:
      if (nargs < 2)
        {
          *ret_msg = husk_strdup_printf ("%s requires at least two arguments, but only one was "
                                         "provided. Destination could not be determined",
                                         sp->keyword);
          return -1;
        }
      {
        struct husk_df_heredoc h;
        cleanup_error struct husk_error *e = NULL;
        if (heredoc_of_word (nd->args[nargs - 1], &h, &e) == 1)
          {
            free (h.name);
            *ret_msg
                = husk_strdup_printf ("%s cannot accept a heredoc as a destination", sp->keyword);
            return -1;
          }
      }
      break;
    case HUSK_DF_EXPOSE:
      if (nargs == 0)
        goto at_least_one;
      break;
    case HUSK_DF_VOLUME:
      if (nargs == 0)
        goto at_least_one;
      for (size_t i = 0; i < nargs; i++)
        {
          cleanup_free char *t = trim_space (nd->args[i], strlen (nd->args[i]));
          if (t[0] == '\0')
            {
              *ret_msg = husk_xstrdup ("VOLUME specified can not be an empty string");
              return -1;
            }
        }
      break;
    case HUSK_DF_SHELL:
      if (nargs == 0)
        goto at_least_one;
      if (!nd->json)
        {
          *ret_msg = husk_xstrdup ("SHELL requires the arguments to be in JSON form");
          return -1;
        }
      break;
    case HUSK_DF_FROM:
      if (nargs == 3 && strcasecmp (nd->args[1], "as") == 0)
        {
          cleanup_free char *name = lower (nd->args[2]);
          if (!valid_stage_name (name))
            {
              *ret_msg = husk_strdup_printf ("invalid name for build stage: \"%s\", name can't "
                                             "start with a number or contain symbols",
                                             nd->args[2]);
              return -1;
            }
        }
      else if (nargs != 1)
        {
          *ret_msg = husk_xstrdup ("FROM requires either one or three arguments");
          return -1;
        }
      break;
    case HUSK_DF_HEALTHCHECK:
      if (nd->health_type == NULL)
        goto at_least_one;
      if (strcasecmp (nd->health_type, "NONE") == 0)
        {
          if (nargs != 0)
            {
              *ret_msg = husk_xstrdup ("HEALTHCHECK NONE takes no arguments");
              return -1;
            }
          in->health.none = true;
          break;
        }
      if (strcasecmp (nd->health_type, "CMD") != 0)
        {
          *ret_msg = husk_strdup_printf ("unknown type \"%s\" in HEALTHCHECK (try CMD)",
                                         nd->health_type);
          return -1;
        }
      if (nargs == 0)
        {
          *ret_msg = husk_xstrdup ("missing command after HEALTHCHECK CMD");
          return -1;
        }
      {
        static const char *const durations[]
            = { "interval", "timeout", "start-period", "start-interval" };
        int64_t *dst[] = { &in->health.interval, &in->health.timeout, &in->health.start_period,
                           &in->health.start_interval };
        const char *rv;

        for (size_t i = 0; i < 4; i++)
          {
            const char *v = husk_df_flag (in, durations[i]);
            int64_t d = 0;
            int r;

            if (v == NULL || v[0] == '\0')
              continue;
            r = parse_go_duration (v, &d);
            if (r == -2)
              {
                *ret_msg = husk_strdup_printf ("time: missing unit in duration \"%s\"", v);
                return -1;
              }
            if (r == -3)
              {
                *ret_msg = husk_strdup_printf ("time: unknown unit in duration \"%s\"", v);
                return -1;
              }
            if (r < 0)
              {
                *ret_msg = husk_strdup_printf ("time: invalid duration \"%s\"", v);
                return -1;
              }
            if (d != 0 && d < 1000000)
              {
                *ret_msg
                    = husk_strdup_printf ("interval \"%s\" cannot be less than 1ms", durations[i]);
                return -1;
              }
            *dst[i] = d;
          }
        rv = husk_df_flag (in, "retries");
        if (rv && rv[0])
          {
            char *end;
            long long r;
            errno = 0;
            r = strtoll (rv, &end, 10);
            if (errno || *end || end == rv || r > INT32_MAX || r < INT32_MIN
                || (rv[0] != '-' && rv[0] != '+' && !(rv[0] >= '0' && rv[0] <= '9')))
              {
                *ret_msg = husk_strdup_printf ("--retries \"%s\": %s", rv,
                                               errno == ERANGE || (r > INT32_MAX || r < INT32_MIN)
                                                   ? "out of range"
                                                   : "not an integer");
                return -1;
              }
            if (r < 0)
              {
                *ret_msg = husk_strdup_printf ("--retries cannot be negative (%lld)", r);
                return -1;
              }
            in->health.retries = (int) r;
          }
      }
      break;
    case HUSK_DF_ONBUILD:
      if (nd->child == NULL)
        goto at_least_one;
      {
        cleanup_free char *up = husk_xstrdup (nd->child->cmd);
        for (char *c = up; *c; c++)
          if (*c >= 'a' && *c <= 'z')
            *c = (char) (*c - 32);
        if (strcmp (up, "ONBUILD") == 0)
          {
            *ret_msg = husk_xstrdup ("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
            return -1;
          }
        if (strcmp (up, "MAINTAINER") == 0 || strcmp (up, "FROM") == 0)
          {
            *ret_msg = husk_strdup_printf ("%s isn't allowed as an ONBUILD trigger", up);
            return -1;
          }
      }
      in->trigger = trigger_text (nd);
      in->args = husk_xcalloc (1, sizeof (char *));
      {
        /* The trigger's heredocs belong to it.  */
        struct husk_df_instr *inner = husk_xcalloc (1, sizeof (*inner));
        cleanup_free char *ignored = NULL;
        nd->child->start = nd->start;
        nd->child->end = nd->end;
        nd->child->heredocs = TAKE_PTR (nd->heredocs);
        nd->child->n_heredocs = nd->n_heredocs;
        nd->n_heredocs = 0;
        if (make_instr (nd->child, inner, &ignored) < 0)
          {
            instr_clear (inner);
            free (inner);
          }
        else
          in->inner = inner;
        /* Keep them reachable from the ONBUILD too.  */
        in->heredocs = NULL;
      }
      return 0;
    case HUSK_DF_RUN:
    case HUSK_DF_CMD:
    case HUSK_DF_ENTRYPOINT:
      break;
    }
  in->args = nd->args ? TAKE_PTR (nd->args) : husk_xcalloc (1, sizeof (char *));
  in->n_args = nargs;
  in->heredocs = TAKE_PTR (nd->heredocs);
  in->n_heredocs = nd->n_heredocs;
  nd->n_heredocs = 0;
  return 0;
at_least_one:
  *ret_msg = husk_strdup_printf ("%s requires at least one argument", sp->keyword);
  return -1;
}

void
husk_dockerfile_free (struct husk_dockerfile *df)
{
  if (df == NULL)
    return;
  free (df->syntax);
  free (df->check);
  for (size_t i = 0; i < df->n_global_args; i++)
    instr_clear (&df->global_args[i]);
  free (df->global_args);
  for (size_t i = 0; i < df->n_stages; i++)
    {
      struct husk_df_stage *st = &df->stages[i];
      free (st->base);
      free (st->name);
      free (st->platform);
      instr_clear (&st->from);
      for (size_t j = 0; j < st->n_instrs; j++)
        instr_clear (&st->instrs[j]);
      free (st->instrs);
    }
  free (df->stages);
  free (df);
}

int
husk_dockerfile_parse (const char *buf, size_t len, const char *name, struct husk_dockerfile **ret,
                       struct husk_error **err)
{
  struct parser p = { .name = name, .buf = buf, .len = len, .esc = '\\' };
  struct husk_dockerfile *df = husk_xcalloc (1, sizeof (*df));
  struct node **nodes = NULL;
  size_t n = 0;
  int r = -1;

  if (name == NULL)
    name = "Dockerfile";
  if (read_nodes (&p, &nodes, &n) < 0)
    goto out;
  df->escape = p.esc;
  df->syntax = TAKE_PTR (p.syntax);
  df->check = TAKE_PTR (p.check);
  if (n == 0)
    {
      perr (&p, p.line, NULL, "file with no instructions");
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    {
      struct husk_df_instr in;
      cleanup_free char *msg = NULL;
      const char *kw = nodes[i]->spec ? nodes[i]->spec->keyword : NULL;
      cleanup_free char *upcmd = lower (nodes[i]->cmd);

      for (char *c = upcmd; *c; c++)
        if (*c >= 'a' && *c <= 'z')
          *c = (char) (*c - 32);
      if (make_instr (nodes[i], &in, &msg) < 0)
        {
          instr_clear (&in);
          perr (&p, nodes[i]->start, kw ? kw : upcmd, "%s", msg);
          goto out;
        }
      if (in.kind == HUSK_DF_ARG && df->n_stages == 0)
        {
          df->global_args = husk_xrealloc (df->global_args, (df->n_global_args + 1) * sizeof (in));
          df->global_args[df->n_global_args++] = in;
          continue;
        }
      if (in.kind == HUSK_DF_FROM)
        {
          struct husk_df_stage st = { .index = df->n_stages };
          const char *plat = husk_df_flag (&in, "platform");

          st.base = husk_xstrdup (in.args[0]);
          st.name = in.n_args == 3 ? lower (in.args[2]) : NULL;
          st.platform = plat ? husk_xstrdup (plat) : NULL;
          st.from = in;
          for (size_t j = 0; st.name && j < df->n_stages; j++)
            if (df->stages[j].name && strcmp (df->stages[j].name, st.name) == 0)
              {
                perr (&p, in.line, "FROM", "duplicate stage name \"%s\" (stage %zu is also \"%s\")",
                      st.name, j, st.name);
                free (st.base);
                free (st.name);
                free (st.platform);
                instr_clear (&st.from);
                goto out;
              }
          df->stages = husk_xrealloc (df->stages, (df->n_stages + 1) * sizeof (st));
          df->stages[df->n_stages++] = st;
          continue;
        }
      if (df->n_stages == 0)
        {
          perr (&p, in.line, in.keyword,
                "no build stage in current context (the first "
                "instruction must be FROM, or ARG)");
          instr_clear (&in);
          goto out;
        }
      {
        struct husk_df_stage *st = &df->stages[df->n_stages - 1];
        st->instrs = husk_xrealloc (st->instrs, (st->n_instrs + 1) * sizeof (in));
        st->instrs[st->n_instrs++] = in;
      }
    }
  if (df->n_stages == 0)
    {
      perr (&p, nodes[n - 1]->start, NULL, "dockerfile contains no stages to build");
      goto out;
    }
  *ret = TAKE_PTR (df);
  r = 0;
out:
  if (r < 0)
    {
      if (p.errkw)
        husk_error_set (err, 0, "%s:%u: %s: %s", name, p.errline, p.errkw, p.errmsg);
      else
        husk_error_set (err, 0, "%s:%u: %s", name, p.errline, p.errmsg);
    }
  for (size_t i = 0; i < n; i++)
    node_free (nodes[i]);
  free (nodes);
  free (p.errmsg);
  free (p.errkw);
  free (p.syntax);
  free (p.check);
  husk_dockerfile_free (df);
  return r;
}

const char *
husk_df_flag (const struct husk_df_instr *in, const char *name)
{
  const char *v = NULL;

  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, name) == 0)
      v = in->flags[i].value ? in->flags[i].value : "";
  return v;
}

const struct husk_df_heredoc *
husk_df_source_heredoc (const struct husk_df_instr *in, const char *arg)
{
  return heredoc_named (in->heredocs, in->n_heredocs, arg);
}

const struct husk_df_stage *
husk_df_stage_find (const struct husk_dockerfile *df, const char *name)
{
  cleanup_free char *l = lower (name);
  uint64_t idx;

  for (size_t i = 0; i < df->n_stages; i++)
    if (df->stages[i].name && strcmp (df->stages[i].name, l) == 0)
      return &df->stages[i];
  if (husk_parse_u64 (name, SIZE_MAX, &idx) == 0 && idx < df->n_stages)
    return &df->stages[idx];
  return NULL;
}
