/* .dockerignore (ignore.h): patterns read as Docker reads them, each turned into a POSIX
   extended regular expression with the meaning Docker's Go expression has, or into the
   exact, prefix or suffix comparison Docker uses instead of one.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "goregex.h"
#include "ignore.h"
#include "strbuf.h"
#include "utf8.h"
#include "util.h"
#include "banned.h"

#define MAX_LINE 65535
#define MAX_FILE (16 * 1024 * 1024)

enum match_type
{
  MATCH_EXACT,
  MATCH_PREFIX, /* "dir" then "**": a prefix.  */
  MATCH_SUFFIX, /* "**x": a suffix.  */
  MATCH_REGEX,
};

struct pattern
{
  char *text; /* Cleaned, without '!'.  */
  bool exception;
  enum match_type type;
  regex_t re;
};

struct husk_ignore
{
  struct pattern *v;
  size_t n;
  bool has_exceptions;
  bool prefix_exceptions_only; /* No exception pattern has a wildcard.  */
};

/* Regular expressions are compiled and run in the C locale: bytes, whatever the caller's
   locale is (the expressions spell out UTF-8 themselves).  */
static locale_t c_loc;

static void
c_locale_init (void)
{
  c_loc = newlocale (LC_ALL_MASK, "C", (locale_t) 0);
  if (c_loc == (locale_t) 0)
    abort ();
}

static locale_t
c_locale (void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, c_locale_init);
  return c_loc;
}

/* Go's filepath.Clean (lexical: "a/./b/../c//" is "a/c", "" is ".").  */
static char *
go_clean (const char *path)
{
  size_t n = strlen (path), r = 0, w = 0, dotdot = 0;
  bool rooted;
  char *out;

  if (n == 0)
    return husk_xstrdup (".");
  out = husk_xmalloc (n + 4);
  rooted = path[0] == '/';
  if (rooted)
    {
      out[w++] = '/';
      r = dotdot = 1;
    }
  while (r < n)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            {
              w--;
              while (w > dotdot && out[w] != '/')
                w--;
            }
          else if (!rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
          for (; r < n && path[r] != '/'; r++)
            out[w++] = path[r];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* strings.TrimSpace (unicode.IsSpace).  */
static char *
trim_space (const char *s, size_t n)
{
  size_t a = 0, end;

  while (a < n)
    {
      size_t k = husk_utf8_space_at (s + a, n - a);
      if (k == 0)
        break;
      a += k;
    }
  end = a;
  for (size_t i = a; i < n;)
    {
      size_t k = husk_utf8_len (s + i, n - i);
      i += k;
      if (!husk_utf8_is_space (s + i - k, k))
        end = i;
    }
  return strndup (s + a, end - a);
}

/* ---------------------------------------------------------------- patterns  */

/* One class member as Go's filepath.Match reads it (getEsc): a character or an escaped one,
   not '-' or ']' unescaped, and something after it.  The bytes used, 0 when it is bad.  */
static size_t
match_class_char (const char *s, size_t n)
{
  size_t i = 0, k;

  if (n == 0 || s[0] == '-' || s[0] == ']')
    return 0;
  if (s[0] == '\\')
    {
      i = 1;
      if (i >= n)
        return 0;
    }
  k = husk_utf8_len (s + i, n - i);
  if (k == 1 && (unsigned char) s[i] >= 0x80)
    return 0;
  if (i + k >= n)
    return 0;
  return i + k;
}

/* Whether Go's filepath.Match accepts pattern S (it checks the whole pattern): every '\' has
   a character after it, every class is closed and not empty, ranges have both ends.  */
static bool
match_syntax_ok (const char *s)
{
  size_t n = strlen (s), i = 0;

  while (i < n)
    {
      if (s[i] == '\\')
        {
          if (i + 1 >= n)
            return false;
          i += 1 + husk_utf8_len (s + i + 1, n - i - 1);
        }
      else if (s[i] == '[')
        {
          size_t nrange = 0, k;
          i++;
          if (i < n && s[i] == '^')
            i++;
          for (;;)
            {
              if (i < n && s[i] == ']' && nrange > 0)
                {
                  i++;
                  break;
                }
              if ((k = match_class_char (s + i, n - i)) == 0)
                return false;
              i += k;
              if (s[i] == '-')
                {
                  if ((k = match_class_char (s + i + 1, n - i - 1)) == 0)
                    return false;
                  i += 1 + k;
                }
              nrange++;
            }
        }
      else
        i += husk_utf8_len (s + i, n - i);
    }
  return true;
}

/* Check P as Go's filepath.Match does, then build the Go expression patternmatcher builds
   for it (or see that it needs none: an exact, prefix or suffix comparison) and turn it into
   a POSIX one.  *RET_MSG: why not.  */
static int
compile (struct pattern *p, char **ret_msg)
{
  cleanup_strbuf struct husk_strbuf re = { 0 };
  cleanup_free char *ere = NULL;
  const char *s = p->text;
  size_t n = strlen (s);
  enum match_type type = MATCH_EXACT;
  int r;

  if (!match_syntax_ok (s))
    {
      *ret_msg = husk_xstrdup ("syntax error in pattern");
      return -1;
    }
  husk_strbuf_addc (&re, '^');
  for (size_t i = 0, k = 0; i < n; k++)
    {
      char c = s[i];
      size_t len = husk_utf8_len (s + i, n - i);

      i += len;
      if (c == '*')
        {
          if (i < n && s[i] == '*')
            {
              i++;
              if (i < n && s[i] == '/')
                i++;
              if (i >= n)
                {
                  if (type == MATCH_EXACT)
                    type = MATCH_PREFIX;
                  else
                    {
                      husk_strbuf_adds (&re, ".*");
                      type = MATCH_REGEX;
                    }
                }
              else
                {
                  husk_strbuf_adds (&re, "(.*/)?");
                  type = MATCH_REGEX;
                }
              if (k == 0)
                type = MATCH_SUFFIX;
            }
          else
            {
              husk_strbuf_adds (&re, "[^/]*");
              type = MATCH_REGEX;
            }
        }
      else if (c == '?')
        {
          husk_strbuf_adds (&re, "[^/]");
          type = MATCH_REGEX;
        }
      else if (len == 1 && strchr (".+()|{}$", c))
        {
          husk_strbuf_addc (&re, '\\');
          husk_strbuf_addc (&re, c);
        }
      else if (c == '\\')
        {
          if (i < n)
            {
              size_t l2 = husk_utf8_len (s + i, n - i);
              husk_strbuf_addc (&re, '\\');
              husk_strbuf_add (&re, s + i, l2);
              i += l2;
              type = MATCH_REGEX;
            }
          else
            husk_strbuf_addc (&re, '\\');
        }
      else if (c == '[' || c == ']')
        {
          husk_strbuf_addc (&re, c);
          type = MATCH_REGEX;
        }
      else
        husk_strbuf_add (&re, s + i - len, len);
    }
  p->type = type;
  if (type != MATCH_REGEX)
    return 0;
  husk_strbuf_addc (&re, '$');
  /* Go would refuse it only when a path is matched: here the pattern is refused at once.  */
  ere = husk_goregex_to_ere (re.p, ret_msg);
  if (ere == NULL)
    return -1;
  {
    locale_t old = uselocale (c_locale ());
    r = regcomp (&p->re, ere, REG_EXTENDED | REG_NOSUB);
    uselocale (old);
  }
  if (r != 0)
    {
      char buf[128];
      regerror (r, &p->re, buf, sizeof (buf));
      *ret_msg = husk_strdup_printf ("cannot compile: %s", buf);
      return -1;
    }
  return 0;
}

static bool
pattern_match (const struct pattern *p, const char *path, size_t len)
{
  size_t tl = strlen (p->text);

  switch (p->type)
    {
    case MATCH_EXACT:
      return len == tl && memcmp (path, p->text, len) == 0;
    case MATCH_PREFIX:
      return len >= tl - 2 && memcmp (path, p->text, tl - 2) == 0;
    case MATCH_SUFFIX:
      {
        const char *suf = p->text + 2;
        size_t sl = tl - 2;
        if (len >= sl && memcmp (path + len - sl, suf, sl) == 0)
          return true;
        /* "**" "/foo" matches "foo" too.  */
        return sl > 0 && suf[0] == '/' && len == sl - 1 && memcmp (path, suf + 1, len) == 0;
      }
    case MATCH_REGEX:
      {
        cleanup_free char *z = strndup (path, len);
        locale_t old = uselocale (c_locale ());
        int r = regexec (&p->re, z, 0, NULL, 0);
        uselocale (old);
        return r == 0;
      }
    }
  return false;
}

void
husk_ignore_free (struct husk_ignore *ig)
{
  if (ig == NULL)
    return;
  for (size_t i = 0; i < ig->n; i++)
    {
      if (ig->v[i].type == MATCH_REGEX)
        regfree (&ig->v[i].re);
      free (ig->v[i].text);
    }
  free (ig->v);
  free (ig);
}

/* Whether an exception pattern, its trailing slash-star-star or slash-star aside, has a wildcard:
   the walker then enters every excluded directory.  */
static bool
has_wildcard (const char *text)
{
  size_t n = strlen (text);
  if (n >= 3 && strcmp (text + n - 3, "/**") == 0)
    n -= 3;
  else if (n >= 2 && strcmp (text + n - 2, "/*") == 0)
    n -= 2;
  for (size_t i = 0; i < n; i++)
    if (strchr ("*[]?^\\", text[i]))
      return true;
  return false;
}

int
husk_ignore_new (char *const *patterns, struct husk_ignore **ret, struct husk_error **err)
{
  struct husk_ignore *ig = husk_xcalloc (1, sizeof (*ig));

  ig->prefix_exceptions_only = true;
  for (size_t i = 0; patterns && patterns[i]; i++)
    {
      cleanup_free char *t = trim_space (patterns[i], strlen (patterns[i]));
      cleanup_free char *c = NULL, *msg = NULL;
      struct pattern p = { 0 };

      if (t[0] == '\0')
        continue;
      c = go_clean (t);
      if (c[0] == '!')
        {
          if (c[1] == '\0')
            {
              husk_ignore_free (ig);
              return husk_error_set (err, 0, "illegal exclusion pattern: \"!\"");
            }
          p.exception = true;
        }
      p.text = husk_xstrdup (c + (p.exception ? 1 : 0));
      if (compile (&p, &msg) < 0)
        {
          for (char *q = t; *q; q++)
            if ((unsigned char) *q < 0x20)
              *q = '?';
          husk_error_set (err, 0, "pattern \"%s\": %s", t, msg);
          free (p.text);
          husk_ignore_free (ig);
          return -1;
        }
      if (p.exception)
        {
          ig->has_exceptions = true;
          if (has_wildcard (p.text))
            ig->prefix_exceptions_only = false;
        }
      ig->v = husk_xrealloc (ig->v, (ig->n + 1) * sizeof (*ig->v));
      ig->v[ig->n++] = p;
    }
  *ret = ig;
  return 0;
}

int
husk_ignore_parse (const char *buf, size_t len, struct husk_ignore **ret, struct husk_error **err)
{
  cleanup_strv char **patterns = husk_xcalloc (1, sizeof (char *));
  size_t pos = 0;
  unsigned line = 0;

  while (pos < len)
    {
      const char *l = buf + pos, *nl = memchr (l, '\n', len - pos);
      size_t ll = nl ? (size_t) (nl - l) : len - pos;
      cleanup_free char *t = NULL;
      bool invert;

      pos += ll + (nl ? 1 : 0);
      if (ll > MAX_LINE)
        return husk_error_set (err, 0, "line %u: longer than %d bytes", line + 1, MAX_LINE);
      if (ll > 0 && l[ll - 1] == '\r')
        ll--;
      if (line++ == 0 && ll >= 3 && memcmp (l, "\xef\xbb\xbf", 3) == 0)
        {
          l += 3;
          ll -= 3;
        }
      if (ll > 0 && l[0] == '#')
        continue;
      if (memchr (l, '\0', ll))
        ll = strnlen (l, ll);
      t = trim_space (l, ll);
      if (t[0] == '\0')
        continue;
      invert = t[0] == '!';
      {
        cleanup_free char *body = invert ? trim_space (t + 1, strlen (t + 1)) : husk_xstrdup (t);
        cleanup_free char *out = NULL;

        if (body[0] != '\0')
          {
            cleanup_free char *c = go_clean (body);
            const char *s = c;
            if (strlen (s) > 1 && s[0] == '/')
              s++;
            out = husk_strdup_printf ("%s%s", invert ? "!" : "", s);
          }
        else
          out = husk_xstrdup (invert ? "!" : "");
        husk_strv_append (&patterns, out);
      }
    }
  return husk_ignore_new (patterns, ret, err);
}

const char *
husk_ignore_pattern (const struct husk_ignore *ig, size_t i, bool *ret_exception)
{
  if (i >= ig->n)
    return NULL;
  if (ret_exception)
    *ret_exception = ig->v[i].exception;
  return ig->v[i].text;
}

/* patternmatcher's MatchesUsingParentResults on the first LEN bytes of PATH: PARENT (NULL:
   none, then the directories above are matched too, as MatchesOrParentMatches does) holds
   which patterns matched the parent directory; INFO gets which ones match here.  A pattern
   skipped because it could not change the result is recorded as not matching, which is
   what the walker hands down to the entries below.  */
static bool
match_step (const struct husk_ignore *ig, const char *path, size_t len, const bool *parent,
            bool *info)
{
  bool matched = false;
  const char *slash = memrchr (path, '/', len);

  for (size_t i = 0; i < ig->n; i++)
    {
      const struct pattern *p = &ig->v[i];
      bool m = parent ? parent[i] : false;

      if (!m)
        {
          if (p->exception != matched)
            {
              info[i] = false;
              continue;
            }
          m = pattern_match (p, path, len);
          for (const char *c = path; !m && !parent && slash && c && c <= slash;
               c = memchr (c + 1, '/', (size_t) (slash - c)))
            {
              if (c == path)
                continue;
              m = pattern_match (p, path, (size_t) (c - path));
              if (c == slash)
                break;
            }
        }
      info[i] = m;
      if (m)
        matched = !p->exception;
    }
  return matched;
}

bool
husk_ignore_match_under (const struct husk_ignore *ig, const char *path, const bool *parent,
                         bool **ret_info)
{
  bool *info = husk_xcalloc (ig->n + 1, sizeof (bool));
  bool matched = false;

  if (path[0] != '\0' && strcmp (path, ".") != 0)
    matched = match_step (ig, path, strlen (path), parent, info);
  if (ret_info)
    *ret_info = info;
  else
    free (info);
  return matched;
}

bool
husk_ignore_match (const struct husk_ignore *ig, const char *path)
{
  size_t len = strlen (path);
  cleanup_free bool *parent = NULL;
  cleanup_free bool *info = NULL;
  bool matched = false;

  if (len == 0 || strcmp (path, ".") == 0)
    return false;
  parent = husk_xcalloc (ig->n + 1, sizeof (bool));
  info = husk_xcalloc (ig->n + 1, sizeof (bool));
  /* Each directory from the top, then PATH, each with its parent's results, as Docker's
     context walker matches them.  */
  for (size_t end = 0, depth = 0; end <= len; end++)
    {
      if (end < len && path[end] != '/')
        continue;
      if (end == 0)
        continue;
      matched = match_step (ig, path, end, depth ? parent : NULL, info);
      depth++;
      {
        bool *t = parent;
        parent = info;
        info = t;
      }
    }
  return matched;
}

bool
husk_ignore_must_walk (const struct husk_ignore *ig, const char *dir)
{
  cleanup_free char *dirslash = husk_strdup_printf ("%s/", dir);

  if (!ig->has_exceptions)
    return false;
  if (!ig->prefix_exceptions_only)
    return true;
  for (size_t i = 0; i < ig->n; i++)
    {
      cleanup_free char *t = NULL;
      size_t n;

      if (!ig->v[i].exception)
        continue;
      t = husk_xstrdup (ig->v[i].text);
      n = strlen (t);
      if (n >= 3 && strcmp (t + n - 3, "/**") == 0)
        t[n - 3] = '\0';
      else if (n >= 2 && strcmp (t + n - 2, "/*") == 0)
        t[n - 2] = '\0';
      {
        cleanup_free char *ts = husk_strdup_printf ("%s/", t);
        if (husk_str_has_prefix (ts, dirslash))
          return true;
      }
    }
  return false;
}

static int
exists (const char *path, bool *ret, struct husk_error **err)
{
  struct stat st;

  if (stat (path, &st) == 0)
    {
      *ret = true;
      return 0;
    }
  if (errno == ENOENT || errno == ENOTDIR)
    {
      *ret = false;
      return 0;
    }
  return husk_error_set (err, errno, "stat \"%s\"", path);
}

int
husk_ignore_find (const char *context, const char *dockerfile, char **ret_path,
                  struct husk_error **err)
{
  bool found = false;

  if (dockerfile && strcmp (dockerfile, "-") != 0)
    {
      cleanup_free char *p = husk_strdup_printf ("%s.dockerignore", dockerfile);
      if (exists (p, &found, err) < 0)
        return -1;
      if (found)
        {
          *ret_path = TAKE_PTR (p);
          return 0;
        }
    }
  {
    cleanup_free char *p = husk_strdup_printf ("%s/.dockerignore", context);
    if (exists (p, &found, err) < 0)
      return -1;
    *ret_path = found ? TAKE_PTR (p) : NULL;
  }
  return 0;
}

int
husk_ignore_load (const char *context, const char *dockerfile, struct husk_ignore **ret,
                  char **ret_path, struct husk_error **err)
{
  cleanup_free char *path = NULL, *buf = NULL;
  size_t len = 0;

  if (husk_ignore_find (context, dockerfile, &path, err) < 0)
    return -1;
  if (path == NULL)
    {
      if (husk_ignore_new (NULL, ret, err) < 0)
        return -1;
      if (ret_path)
        *ret_path = NULL;
      return 0;
    }
  if (husk_read_file_at (AT_FDCWD, path, MAX_FILE, &buf, &len, err) < 0
      || husk_ignore_parse (buf, len, ret, err) < 0)
    return husk_error_wrap (err, "\"%s\"", path);
  if (ret_path)
    *ret_path = TAKE_PTR (path);
  return 0;
}
