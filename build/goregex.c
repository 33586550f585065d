/* Go (RE2) regular expressions as POSIX EREs (goregex.h).  Characters are code points: a
   class becomes a set of code point ranges, written as an ASCII bracket expression and, for
   the rest, the UTF-8 byte sequences of each range (split the way RE2 compiles UTF-8 ranges
   into byte ranges).  */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "goregex.h"
#include "strbuf.h"
#include "utf8.h"
#include "util.h"
#include "banned.h"

#define MAX_RUNE 0x10ffffu

struct range
{
  uint32_t lo, hi;
};

struct cset
{
  struct range *r;
  size_t n;
};

struct conv
{
  const char *s;
  size_t len, pos;
  struct husk_strbuf out;
  char *msg;
};

static int fail (struct conv *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
fail (struct conv *c, const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;

  if (c->msg)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    abort ();
  va_end (ap);
  c->msg = m;
  return -1;
}

static void
cset_add (struct cset *s, uint32_t lo, uint32_t hi)
{
  s->r = husk_xrealloc (s->r, (s->n + 1) * sizeof (*s->r));
  s->r[s->n++] = (struct range){ lo, hi };
}

static int
range_cmp (const void *a, const void *b)
{
  const struct range *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, merged, surrogates removed (no UTF-8 text holds them).  */
static void
cset_normalize (struct cset *s)
{
  struct cset t = { 0 };

  qsort (s->r, s->n, sizeof (*s->r), range_cmp);
  for (size_t i = 0; i < s->n; i++)
    {
      struct range r = s->r[i];
      if (t.n && r.lo <= t.r[t.n - 1].hi + 1)
        {
          if (r.hi > t.r[t.n - 1].hi)
            t.r[t.n - 1].hi = r.hi;
        }
      else
        cset_add (&t, r.lo, r.hi);
    }
  free (s->r);
  *s = t;
  t = (struct cset){ 0 };
  for (size_t i = 0; i < s->n; i++)
    {
      struct range r = s->r[i];
      if (r.hi < 0xd800 || r.lo > 0xdfff)
        cset_add (&t, r.lo, r.hi);
      else
        {
          if (r.lo < 0xd800)
            cset_add (&t, r.lo, 0xd7ff);
          if (r.hi > 0xdfff)
            cset_add (&t, 0xe000, r.hi);
        }
    }
  free (s->r);
  *s = t;
}

static void
cset_negate (struct cset *s)
{
  struct cset t = { 0 };
  uint32_t next = 0;

  cset_normalize (s);
  for (size_t i = 0; i < s->n; i++)
    {
      if (s->r[i].lo > next)
        cset_add (&t, next, s->r[i].lo - 1);
      next = s->r[i].hi + 1;
    }
  if (next <= MAX_RUNE)
    cset_add (&t, next, MAX_RUNE);
  free (s->r);
  *s = t;
}

static void
cset_add_set (struct cset *s, const struct cset *o)
{
  for (size_t i = 0; i < o->n; i++)
    cset_add (s, o->r[i].lo, o->r[i].hi);
}

static size_t
encode (uint32_t cp, unsigned char *b)
{
  if (cp < 0x80)
    {
      b[0] = (unsigned char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      b[0] = (unsigned char) (0xc0 | (cp >> 6));
      b[1] = (unsigned char) (0x80 | (cp & 0x3f));
      return 2;
    }
  if (cp < 0x10000)
    {
      b[0] = (unsigned char) (0xe0 | (cp >> 12));
      b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
      b[2] = (unsigned char) (0x80 | (cp & 0x3f));
      return 3;
    }
  b[0] = (unsigned char) (0xf0 | (cp >> 18));
  b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
  b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
  b[3] = (unsigned char) (0x80 | (cp & 0x3f));
  return 4;
}

/* The byte sequences of the code points LO..HI (all above ASCII) as alternatives.  */
static void
utf8_range (struct husk_strbuf *out, uint32_t lo, uint32_t hi, bool *first)
{
  static const uint32_t top[] = { 0x7f, 0x7ff, 0xffff };
  unsigned char a[4], b[4];
  size_t n;

  if (lo > hi)
    return;
  for (size_t k = 0; k < 3; k++)
    if (lo <= top[k] && hi > top[k])
      {
        utf8_range (out, lo, top[k], first);
        utf8_range (out, top[k] + 1, hi, first);
        return;
      }
  n = encode (lo, a);
  for (size_t i = 1; i < n; i++)
    {
      uint32_t m = (1u << (6 * i)) - 1;
      if ((lo & ~m) != (hi & ~m))
        {
          if ((lo & m) != 0)
            {
              utf8_range (out, lo, lo | m, first);
              utf8_range (out, (lo | m) + 1, hi, first);
              return;
            }
          if ((hi & m) != m)
            {
              utf8_range (out, lo, (hi & ~m) - 1, first);
              utf8_range (out, hi & ~m, hi, first);
              return;
            }
        }
    }
  encode (hi, b);
  if (!*first)
    husk_strbuf_addc (out, '|');
  *first = false;
  for (size_t j = 0; j < n; j++)
    {
      husk_strbuf_addc (out, '[');
      husk_strbuf_addc (out, (char) a[j]);
      if (a[j] != b[j])
        {
          husk_strbuf_addc (out, '-');
          husk_strbuf_addc (out, (char) b[j]);
        }
      husk_strbuf_addc (out, ']');
    }
}

/* The ASCII members SET[1..127] inside an ERE bracket expression, ordered so that none is
   read as an operator.  */
static void
bracket_members (struct husk_strbuf *out, const bool *set)
{
  if (set[']'])
    husk_strbuf_addc (out, ']');
  for (unsigned c = 1; c < 128; c++)
    if (set[c] && c != ']' && c != '[' && c != '^' && c != '-')
      husk_strbuf_addc (out, (char) c);
  if (set['['])
    husk_strbuf_addc (out, '[');
  if (set['^'])
    husk_strbuf_addc (out, '^');
  if (set['-'])
    husk_strbuf_addc (out, '-');
}

/* S as one ERE atom.  */
static void
cset_emit (struct husk_strbuf *out, struct cset *s)
{
  bool ascii[128] = { false }, any_ascii = false, first = true;
  size_t members = 0;

  cset_normalize (s);
  for (size_t i = 0; i < s->n; i++)
    for (uint32_t c = s->r[i].lo ? s->r[i].lo : 1; c <= s->r[i].hi && c < 128; c++)
      {
        ascii[c] = true;
        any_ascii = true;
        members++;
      }
  husk_strbuf_addc (out, '(');
  if (any_ascii)
    {
      first = false;
      if (members == 1 && ascii['^'])
        husk_strbuf_adds (out, "\\^");
      else
        {
          husk_strbuf_addc (out, '[');
          bracket_members (out, ascii);
          husk_strbuf_addc (out, ']');
        }
    }
  for (size_t i = 0; i < s->n; i++)
    if (s->r[i].hi >= 0x80)
      utf8_range (out, s->r[i].lo < 0x80 ? 0x80 : s->r[i].lo, s->r[i].hi, &first);
  if (first)
    husk_strbuf_adds (out, "[^\x01-\xff]"); /* Empty: nothing in a C string matches.  */
  husk_strbuf_addc (out, ')');
}

/* One literal byte sequence (a character) as one ERE atom.  */
static void
emit_literal (struct husk_strbuf *out, const char *c, size_t len)
{
  if (len == 1)
    {
      if (c[0] == '^')
        husk_strbuf_adds (out, "\\^");
      else if (c[0] == ']')
        husk_strbuf_adds (out, "[]]");
      else if (strchr ("\\.[()*+?{}|$", c[0]))
        {
          husk_strbuf_addc (out, '[');
          husk_strbuf_addc (out, c[0]);
          husk_strbuf_addc (out, ']');
        }
      else
        husk_strbuf_addc (out, c[0]);
      return;
    }
  husk_strbuf_addc (out, '(');
  husk_strbuf_add (out, c, len);
  husk_strbuf_addc (out, ')');
}

static void
emit_rune (struct husk_strbuf *out, uint32_t cp)
{
  unsigned char b[4];
  size_t n = encode (cp, b);
  emit_literal (out, (const char *) b, n);
}

/* The code point at C->pos (advanced); an invalid byte is returned as itself + 0x110000 so
   that the caller can write it back as a byte.  */
static uint32_t
next_rune (struct conv *c)
{
  const unsigned char *u = (const unsigned char *) c->s + c->pos;
  size_t k = husk_utf8_len (c->s + c->pos, c->len - c->pos);
  uint32_t cp;

  c->pos += k;
  if (k == 1)
    return u[0] < 0x80 ? u[0] : 0x110000u + u[0];
  if (k == 2)
    cp = ((u[0] & 0x1fu) << 6) | (u[1] & 0x3fu);
  else if (k == 3)
    cp = ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
  else
    cp = ((u[0] & 0x07u) << 18) | ((u[1] & 0x3fu) << 12) | ((u[2] & 0x3fu) << 6) | (u[3] & 0x3fu);
  return cp;
}

static void
perl_class (char name, struct cset *s)
{
  struct cset t = { 0 };

  switch (name | 0x20)
    {
    case 'd':
      cset_add (&t, '0', '9');
      break;
    case 's':
      cset_add (&t, '\t', '\n');
      cset_add (&t, '\f', '\r');
      cset_add (&t, ' ', ' ');
      break;
    default: /* w */
      cset_add (&t, '0', '9');
      cset_add (&t, 'A', 'Z');
      cset_add (&t, 'a', 'z');
      cset_add (&t, '_', '_');
    }
  if (name >= 'A' && name <= 'Z')
    cset_negate (&t);
  cset_add_set (s, &t);
  free (t.r);
}

static bool
posix_class (const char *name, size_t len, struct cset *s)
{
  static const struct
  {
    const char *name;
    const char *ranges; /* Pairs of bytes.  */
  } classes[] = {
    { "alnum", "09AZaz" },
    { "alpha", "AZaz" },
    { "ascii", "\x01\x7f" },
    { "blank", "\t\t  " },
    { "cntrl", "\x01\x1f\x7f\x7f" },
    { "digit", "09" },
    { "graph", "!~" },
    { "lower", "az" },
    { "print", " ~" },
    { "punct", "!/:@[`{~" },
    { "space", "\t\r  " },
    { "upper", "AZ" },
    { "word", "09AZaz__" },
    { "xdigit", "09AFaf" },
  };
  bool neg = len > 0 && name[0] == '^';

  if (neg)
    {
      name++;
      len--;
    }
  for (size_t i = 0; i < sizeof (classes) / sizeof (*classes); i++)
    if (strlen (classes[i].name) == len && memcmp (classes[i].name, name, len) == 0)
      {
        struct cset t = { 0 };
        for (const char *r = classes[i].ranges; r[0]; r += 2)
          cset_add (&t, (unsigned char) r[0], (unsigned char) r[1]);
        if (neg)
          cset_negate (&t);
        cset_add_set (s, &t);
        free (t.r);
        return true;
      }
  return false;
}

/* After a backslash: a character (*RET_CP), or a class added to SET (returns 1), or an
   assertion written to the output (returns 2, outside classes only).  */
static int
escape (struct conv *c, bool in_class, uint32_t *ret_cp, struct cset *set)
{
  char e;

  if (c->pos >= c->len)
    return fail (c, "trailing backslash at end of expression");
  e = c->s[c->pos];
  if ((unsigned char) e < 0x80
      && !((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')))
    {
      c->pos++;
      *ret_cp = (unsigned char) e;
      return 0;
    }
  c->pos++;
  switch (e)
    {
    case 'a':
      *ret_cp = 7;
      return 0;
    case 'f':
      *ret_cp = 12;
      return 0;
    case 't':
      *ret_cp = 9;
      return 0;
    case 'n':
      *ret_cp = 10;
      return 0;
    case 'r':
      *ret_cp = 13;
      return 0;
    case 'v':
      *ret_cp = 11;
      return 0;
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
      perl_class (e, set);
      return 1;
    case 'A':
    case 'z':
      if (in_class)
        break;
      husk_strbuf_addc (&c->out, e == 'A' ? '^' : '$');
      return 2;
    case 'x':
      {
        uint32_t v = 0;
        size_t digits = 0;
        bool brace = c->pos < c->len && c->s[c->pos] == '{';
        if (brace)
          c->pos++;
        while (c->pos < c->len && (brace || digits < 2))
          {
            char h = c->s[c->pos];
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (brace && h == '}')
              break;
            if (d < 0 || v > MAX_RUNE)
              return fail (c, "invalid escape sequence: \\x");
            v = v * 16 + (uint32_t) d;
            digits++;
            c->pos++;
          }
        if (brace)
          {
            if (c->pos >= c->len || digits == 0)
              return fail (c, "invalid escape sequence: \\x");
            c->pos++;
          }
        else if (digits != 2)
          return fail (c, "invalid escape sequence: \\x");
        if (v > MAX_RUNE)
          return fail (c, "invalid escape sequence: \\x");
        *ret_cp = v;
        return 0;
      }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      {
        /* A single non-zero digit is a backreference, which Go does not have.  */
        uint32_t v = (uint32_t) (e - '0');
        size_t digits = 1;
        if (e != '0' && !(c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '7'))
          break;
        while (digits < 3 && c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '7')
          {
            v = v * 8 + (uint32_t) (c->s[c->pos++] - '0');
            digits++;
          }
        *ret_cp = v;
        return 0;
      }
    case 'b':
    case 'B':
    case 'p':
    case 'P':
    case 'C':
      return fail (c, "\\%c has no POSIX form here", e);
    default:
      break;
    }
  return fail (c, "invalid escape sequence: \\%c", e);
}

/* After '['.  */
static int
parse_class (struct conv *c)
{
  struct cset s = { 0 };
  bool neg = false, first = true;
  int r = -1;

  if (c->pos < c->len && c->s[c->pos] == '^')
    {
      neg = true;
      c->pos++;
    }
  for (;;)
    {
      uint32_t lo, hi;
      int k;

      if (c->pos >= c->len)
        {
          fail (c, "missing closing ]");
          goto out;
        }
      if (c->s[c->pos] == ']' && !first)
        {
          c->pos++;
          break;
        }
      first = false;
      if (c->s[c->pos] == '[' && c->pos + 1 < c->len && c->s[c->pos + 1] == ':')
        {
          const char *end = strstr (c->s + c->pos + 2, ":]");
          if (end)
            {
              const char *name = c->s + c->pos + 2;
              if (!posix_class (name, (size_t) (end - name), &s))
                {
                  fail (c, "invalid character class range");
                  goto out;
                }
              c->pos = (size_t) (end - c->s) + 2;
              continue;
            }
        }
      if (c->s[c->pos] == '\\')
        {
          c->pos++;
          k = escape (c, true, &lo, &s);
          if (k < 0)
            goto out;
          if (k == 1)
            {
              if (c->pos + 1 < c->len && c->s[c->pos] == '-' && c->s[c->pos + 1] != ']')
                {
                  fail (c, "invalid character class range");
                  goto out;
                }
              continue;
            }
        }
      else
        lo = next_rune (c);
      hi = lo;
      if (c->pos + 1 < c->len && c->s[c->pos] == '-' && c->s[c->pos + 1] != ']')
        {
          c->pos++;
          if (c->s[c->pos] == '\\')
            {
              struct cset dummy = { 0 };
              c->pos++;
              k = escape (c, true, &hi, &dummy);
              free (dummy.r);
              if (k != 0)
                {
                  fail (c, "invalid character class range");
                  goto out;
                }
            }
          else
            hi = next_rune (c);
          if (hi < lo)
            {
              fail (c, "invalid character class range");
              goto out;
            }
        }
      if (lo >= 0x110000u || hi >= 0x110000u)
        {
          /* A byte that is not UTF-8: Go would have read U+FFFD.  */
          lo = hi = 0xfffd;
        }
      cset_add (&s, lo, hi);
    }
  if (neg)
    cset_negate (&s);
  cset_emit (&c->out, &s);
  r = 0;
out:
  free (s.r);
  return r;
}

static int
parse_seq (struct conv *c, unsigned depth)
{
  for (;;)
    {
      size_t atom_start = c->out.len;
      bool quantifiable = true;
      char ch;

      if (c->pos >= c->len)
        return depth ? fail (c, "missing closing )") : 0;
      ch = c->s[c->pos];
      if (ch == ')')
        {
          if (depth == 0)
            return fail (c, "unexpected )");
          return 0;
        }
      switch (ch)
        {
        case '|':
          return fail (c, "alternation has no POSIX form here");
        case '*':
        case '+':
        case '?':
          return fail (c, "missing argument to repetition operator: %c", ch);
        case '(':
          c->pos++;
          if (c->pos < c->len && c->s[c->pos] == '?')
            return fail (c, "flags and named groups have no POSIX form here");
          husk_strbuf_addc (&c->out, '(');
          if (parse_seq (c, depth + 1) < 0)
            return -1;
          c->pos++; /* ')' */
          husk_strbuf_addc (&c->out, ')');
          break;
        case '[':
          c->pos++;
          if (parse_class (c) < 0)
            return -1;
          break;
        case '.':
          {
            struct cset s = { 0 };
            c->pos++;
            cset_add (&s, '\n', '\n');
            cset_negate (&s);
            cset_emit (&c->out, &s);
            free (s.r);
            break;
          }
        case '^':
        case '$':
          c->pos++;
          husk_strbuf_addc (&c->out, ch);
          quantifiable = false;
          break;
        case '\\':
          {
            struct cset s = { 0 };
            uint32_t cp = 0;
            int k;

            c->pos++;
            if (c->pos < c->len && c->s[c->pos] == 'Q')
              {
                /* \Q...\E: literal text.  */
                const char *end = strstr (c->s + c->pos + 1, "\\E");
                size_t stop = end ? (size_t) (end - c->s) : c->len;
                c->pos++;
                while (c->pos < stop)
                  {
                    size_t n = husk_utf8_len (c->s + c->pos, stop - c->pos);
                    emit_literal (&c->out, c->s + c->pos, n);
                    c->pos += n;
                  }
                if (end)
                  c->pos += 2;
                quantifiable = false; /* A quantifier would apply to the last character.  */
                break;
              }
            k = escape (c, false, &cp, &s);
            if (k < 0)
              {
                free (s.r);
                return -1;
              }
            if (k == 1)
              cset_emit (&c->out, &s);
            else if (k == 2)
              quantifiable = false;
            else
              emit_rune (&c->out, cp);
            free (s.r);
            break;
          }
        default:
          {
            size_t n = husk_utf8_len (c->s + c->pos, c->len - c->pos);
            emit_literal (&c->out, c->s + c->pos, n);
            c->pos += n;
          }
        }
      /* A repetition, and Go's lazy form of it (same matches).  */
      if (c->pos < c->len && strchr ("*+?", c->s[c->pos]) && c->s[c->pos])
        {
          if (!quantifiable)
            {
              if (c->out.len == atom_start)
                return fail (c, "missing argument to repetition operator");
              /* \Q...\E followed by a repetition: only the last character repeats.  */
              return fail (c, "repetition after \\Q...\\E has no POSIX form here");
            }
          husk_strbuf_addc (&c->out, c->s[c->pos++]);
          if (c->pos < c->len && c->s[c->pos] == '?')
            c->pos++;
          if (c->pos < c->len && strchr ("*+?", c->s[c->pos]) && c->s[c->pos])
            return fail (c, "invalid nested repetition operator");
        }
    }
}

char *
husk_goregex_to_ere (const char *re, char **ret_msg)
{
  struct conv c = { .s = re, .len = strlen (re) };

  if (parse_seq (&c, 0) < 0)
    {
      husk_strbuf_freep (&c.out);
      *ret_msg = c.msg ? c.msg : husk_xstrdup ("cannot translate");
      return NULL;
    }
  return husk_strbuf_take (&c.out);
}
