/* Variable expansion in a Dockerfile: a lexer that behaves as BuildKit's shell lexer does
   (frontend/dockerfile/shell), read for its behaviour and written again here.  One pass
   builds both the word as one string and the list of words a shell would split it into.  */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "expand.h"
#include "strbuf.h"
#include "utf8.h"
#include "util.h"
#include "banned.h"

struct words
{
  struct husk_strbuf buf;
  struct husk_strvec v;
  bool in_word;
};

struct lexer
{
  const char *s;
  size_t len, pos;
  char esc;
  unsigned flags;
  bool raw_escapes;
  husk_expand_lookup lookup;
  void *data;
  char **used;
  char *errmsg; /* The reason, without the word.  */
};

static void
words_push (struct words *w)
{
  husk_strvec_push (&w->v, w->buf.p ? w->buf.p : "", w->buf.len);
  husk_strbuf_reset (&w->buf);
  w->in_word = false;
}

static void
words_add_raw (struct words *w, const char *s, size_t n)
{
  husk_strbuf_add (&w->buf, s, n);
  w->in_word = true;
}

/* A character that splits words when it is white space.  An in-word space after an empty
   quoted string ("") splits nothing: the shell lexer's rule, which drops empty words.  */
static void
words_add_char (struct words *w, const char *s, size_t n)
{
  bool space = husk_utf8_is_space (s, n);

  if (space && w->in_word)
    {
      if (w->buf.len != 0)
        words_push (w);
    }
  else if (!space)
    words_add_raw (w, s, n);
}

static void
words_add_string (struct words *w, const char *s, size_t n)
{
  for (size_t i = 0; i < n;)
    {
      size_t k = husk_utf8_len (s + i, n - i);
      words_add_char (w, s + i, k);
      i += k;
    }
}

static void
words_finish (struct words *w)
{
  if (w->buf.len > 0)
    words_push (w);
}

static void
words_clear (struct words *w)
{
  husk_strbuf_freep (&w->buf);
  husk_strvec_freep (&w->v);
}

static int fail (struct lexer *lx, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
fail (struct lexer *lx, const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;

  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    abort ();
  va_end (ap);
  free (lx->errmsg);
  lx->errmsg = m;
  return -1;
}

static bool
at_end (const struct lexer *lx)
{
  return lx->pos >= lx->len;
}

static bool
get_var (struct lexer *lx, const char *name, const char **ret)
{
  const char *v = NULL;

  if (!husk_strv_contains (lx->used, name))
    husk_strv_append (&lx->used, name);
  if (lx->lookup == NULL || !lx->lookup (name, &v, lx->data) || v == NULL)
    return false;
  *ret = v;
  return true;
}

static bool
is_special_param (char c)
{
  return strchr ("@*#?-$!0", c) != NULL && c != '\0';
}

static bool
is_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A name after $: digits only when it starts with one, or one special parameter, or letters,
   digits and _ (ASCII).  */
static char *
process_name (struct lexer *lx)
{
  size_t start = lx->pos;

  if (!at_end (lx) && lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9')
    {
      while (!at_end (lx) && lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9')
        lx->pos++;
    }
  else if (!at_end (lx) && is_special_param (lx->s[lx->pos]))
    lx->pos++;
  else
    while (!at_end (lx) && is_name_char (lx->s[lx->pos]))
      lx->pos++;
  return strndup (lx->s + start, lx->pos - start);
}

/* ---------------------------------------------------------------- patterns  */

/* A ${X#pattern} pattern, one token a character: '*' any run of characters but a newline,
   '?' one character but a newline, anything else (after \*, \?, \\ and the dropped
   backslash of \} and \/) itself.  Matching runs the pattern as an automaton over the
   value's characters, so a pattern of many stars costs no more than one.  */
enum
{
  PAT_LIT,
  PAT_ANY,
  PAT_STAR,
};

struct tok
{
  unsigned char kind, len;
  char b[4];
};

struct pat
{
  struct tok *t;
  size_t n;
};

/* A value as characters: character I is OFF[I] .. OFF[I + 1].  */
struct runes
{
  const char *s;
  size_t *off;
  size_t n;
};

static void
pat_clear (struct pat *p)
{
  free (p->t);
}

static int
pat_compile (struct lexer *lx, const char *src, struct pat *ret)
{
  size_t n = strlen (src);
  struct pat p = { husk_xcalloc (n + 1, sizeof (struct tok)), 0 };

  for (size_t i = 0; i < n;)
    {
      struct tok t = { PAT_LIT, 0, { 0 } };
      size_t k;

      if (src[i] == '*' || src[i] == '?')
        {
          t.kind = src[i] == '*' ? PAT_STAR : PAT_ANY;
          p.t[p.n++] = t;
          i++;
          continue;
        }
      if (src[i] == '\\')
        {
          if (i + 1 < n && (src[i + 1] == '}' || src[i + 1] == '/'))
            {
              i++;
              continue;
            }
          if (i + 1 >= n || (src[i + 1] != '*' && src[i + 1] != '?' && src[i + 1] != '\\'))
            {
              pat_clear (&p);
              return fail (lx, "invalid pattern (%s) in substitution: invalid escape '\\%s'", src,
                           i + 1 < n ? (char[]){ src[i + 1], '\0' } : "");
            }
          i++;
        }
      k = husk_utf8_len (src + i, n - i);
      t.len = (unsigned char) k;
      memcpy (t.b, src + i, k);
      p.t[p.n++] = t;
      i += k;
    }
  *ret = p;
  return 0;
}

static void
runes_init (struct runes *r, const char *s)
{
  size_t n = strlen (s);

  r->s = s;
  r->off = husk_xcalloc (n + 2, sizeof (size_t));
  r->n = 0;
  for (size_t i = 0; i < n;)
    {
      r->off[r->n++] = i;
      i += husk_utf8_len (s + i, n - i);
    }
  r->off[r->n] = n;
}

static bool
tok_takes (const struct tok *t, const struct runes *r, size_t i)
{
  const char *c = r->s + r->off[i];
  size_t len = r->off[i + 1] - r->off[i];

  if (t->kind != PAT_LIT)
    return !(len == 1 && c[0] == '\n');
  return len == t->len && memcmp (c, t->b, len) == 0;
}

#define NONE SIZE_MAX

/* A star may match nothing: carry each state's start over the stars after it.  */
static void
closure (const struct pat *p, size_t *st)
{
  for (size_t k = 0; k < p->n; k++)
    if (st[k] != NONE && p->t[k].kind == PAT_STAR && st[k] < st[k + 1])
      st[k + 1] = st[k];
}

/* Run P over R's characters from FROM, with a new attempt at every character while
   UNANCHORED (else only at FROM).  Each state keeps the earliest start that reaches it.
   MATCH (may be NULL) is told of every (start, end) that ends at the final state; with
   UNANCHORED the run stops once no attempt can start earlier than a match found.  */
static void
pat_run (const struct pat *p, const struct runes *r, size_t from, bool unanchored,
         void (*match) (size_t start, size_t end, void *data), void *data, size_t *ret_best)
{
  cleanup_free size_t *cur = husk_xmalloc ((p->n + 1) * sizeof (size_t));
  cleanup_free size_t *next = husk_xmalloc ((p->n + 1) * sizeof (size_t));
  size_t best = NONE;

  for (size_t k = 0; k <= p->n; k++)
    cur[k] = NONE;
  for (size_t i = from;; i++)
    {
      bool alive = false;

      if (best == NONE && (unanchored || i == from) && cur[0] > i)
        cur[0] = i;
      closure (p, cur);
      if (cur[p->n] != NONE && cur[p->n] <= best)
        {
          best = cur[p->n];
          if (match)
            match (best, i, data);
        }
      if (i >= r->n)
        break;
      for (size_t k = 0; k <= p->n; k++)
        next[k] = NONE;
      for (size_t k = 0; k < p->n; k++)
        {
          if (cur[k] == NONE || (best != NONE && cur[k] > best))
            continue;
          if (!tok_takes (&p->t[k], r, i))
            continue;
          size_t to = p->t[k].kind == PAT_STAR ? k : k + 1;
          if (cur[k] < next[to])
            next[to] = cur[k];
          alive = true;
        }
      memcpy (cur, next, (p->n + 1) * sizeof (size_t));
      if (!alive && (best != NONE || !unanchored))
        break;
    }
  if (ret_best)
    *ret_best = best;
}

struct ends
{
  size_t first, last, start_of_last;
};

static void
note_end (size_t start, size_t end, void *data)
{
  struct ends *e = data;
  if (e->first == NONE)
    e->first = end;
  e->last = end;
  e->start_of_last = start;
}

/* ${X#p} ${X##p} ${X%p} ${X%%p}: the shortest (or, GREEDY, longest) prefix or suffix of VALUE
   that P matches is removed.  A suffix is found as a prefix of the reversed value (by
   characters) with the reversed pattern, as BuildKit does.  */
static char *
pat_trim (const struct pat *p, const char *value, bool suffix, bool greedy)
{
  struct ends e = { NONE, NONE, NONE };
  struct runes r;
  char *out;

  if (!suffix)
    {
      runes_init (&r, value);
      pat_run (p, &r, 0, false, note_end, &e, NULL);
      out = e.first == NONE ? husk_xstrdup (value)
                            : husk_xstrdup (value + r.off[greedy ? e.last : e.first]);
      free (r.off);
      return out;
    }
  {
    size_t n = strlen (value);
    cleanup_free char *rev = husk_xmalloc (n + 1);
    struct pat rp = { husk_xcalloc (p->n + 1, sizeof (struct tok)), p->n };
    struct runes fwd;
    size_t cut;

    runes_init (&fwd, value);
    for (size_t i = 0, w = 0; i < fwd.n; i++)
      {
        size_t j = fwd.n - 1 - i, len = fwd.off[j + 1] - fwd.off[j];
        memcpy (rev + w, value + fwd.off[j], len);
        w += len;
      }
    rev[n] = '\0';
    for (size_t k = 0; k < p->n; k++)
      rp.t[k] = p->t[p->n - 1 - k];
    runes_init (&r, rev);
    pat_run (&rp, &r, 0, false, note_end, &e, NULL);
    /* E counts characters from the end.  */
    cut = e.first == NONE ? fwd.n : fwd.n - (greedy ? e.last : e.first);
    out = strndup (value, fwd.off[cut]);
    free (r.off);
    free (fwd.off);
    pat_clear (&rp);
    return out;
  }
}

/* The leftmost match of P in R at or after character FROM, the longest there: its bounds in
   characters.  */
static bool
pat_find (const struct pat *p, const struct runes *r, size_t from, size_t *ret_a, size_t *ret_b)
{
  struct ends e = { NONE, NONE, NONE };
  size_t best;

  pat_run (p, r, from, true, note_end, &e, &best);
  if (best == NONE)
    return false;
  *ret_a = best;
  *ret_b = e.last;
  return true;
}

/* ${X/p/r} and ${X//p/r}, with Go's rules for successive matches (an empty match right after
   a match is not replaced; the search always moves on by at least one character).  */
static char *
pat_replace (const struct pat *p, const char *value, const char *repl, bool all)
{
  cleanup_strbuf struct husk_strbuf out = { 0 };
  struct runes r;
  size_t search = 0, last_end = 0, a, b;

  runes_init (&r, value);
  if (!all)
    {
      if (!pat_find (p, &r, 0, &a, &b))
        husk_strbuf_adds (&out, value);
      else
        {
          husk_strbuf_add (&out, value, r.off[a]);
          husk_strbuf_adds (&out, repl);
          husk_strbuf_adds (&out, value + r.off[b]);
        }
      free (r.off);
      return husk_strbuf_take (&out);
    }
  while (search <= r.n && pat_find (p, &r, search, &a, &b))
    {
      husk_strbuf_add (&out, value + r.off[last_end], r.off[a] - r.off[last_end]);
      if (b > last_end || a == 0)
        husk_strbuf_adds (&out, repl);
      last_end = b;
      if (search + 1 > b)
        search++;
      else
        search = b;
    }
  husk_strbuf_adds (&out, value + r.off[last_end]);
  free (r.off);
  return husk_strbuf_take (&out);
}

/* ---------------------------------------------------------------- the lexer  */

static int process_stop_on (struct lexer *lx, char stop, bool raw_escapes,
                            struct husk_strbuf *result, struct words *words);

/* The text of ${NAME...} after its operator, up to the closing STOP.  */
static int
sub_word (struct lexer *lx, char stop, bool raw_escapes, char **ret)
{
  cleanup_strbuf struct husk_strbuf w = { 0 };
  struct words unused = { 0 };
  int r = process_stop_on (lx, stop, raw_escapes, &w, &unused);

  words_clear (&unused);
  if (r < 0)
    {
      if (at_end (lx))
        return fail (lx, stop == '/' ? "syntax error: missing '/' in ${}"
                                     : "syntax error: missing '}'");
      return -1;
    }
  *ret = husk_strbuf_take (&w);
  return 0;
}

/* At '$'.  *RET: the value to insert.  */
static int
process_dollar (struct lexer *lx, char **ret)
{
  cleanup_free char *name = NULL, *word = NULL;
  const char *value = "";
  bool set, null_is_unset = false;
  char op, op2 = '\0';

  lx->pos++;
  if (at_end (lx) || lx->s[lx->pos] != '{')
    {
      name = process_name (lx);
      if (name[0] == '\0')
        {
          *ret = husk_xstrdup ("$");
          return 0;
        }
      set = get_var (lx, name, &value);
      if (!set && (lx->flags & HUSK_EXPAND_SKIP_UNSET))
        *ret = husk_strdup_printf ("$%s", name);
      else
        *ret = husk_xstrdup (set ? value : "");
      return 0;
    }
  lx->pos++;
  if (at_end (lx))
    return fail (lx, "syntax error: missing '}'");
  if (lx->s[lx->pos] == '{' || lx->s[lx->pos] == '}' || lx->s[lx->pos] == ':')
    return fail (lx, "syntax error: bad substitution");
  name = process_name (lx);
  if (at_end (lx))
    return fail (lx, "syntax error: missing '}'");
  op = lx->s[lx->pos++];
  switch (op)
    {
    case '}':
      set = get_var (lx, name, &value);
      if (!set && (lx->flags & HUSK_EXPAND_SKIP_UNSET))
        *ret = husk_strdup_printf ("${%s}", name);
      else
        *ret = husk_xstrdup (set ? value : "");
      return 0;
    case ':':
      null_is_unset = true;
      if (at_end (lx))
        return fail (lx, "syntax error: missing '}'");
      op2 = lx->s[lx->pos++];
      if (op2 == '#' || op2 == '%' || !strchr ("+-?", op2))
        {
          /* Docker reads the rest first and then refuses the modifier.  */
          if (op2 != '#' && op2 != '%' && sub_word (lx, '}', false, &word) < 0)
            return -1;
          return fail (lx, "unsupported modifier (:%c) in substitution", op2);
        }
      break;
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
      break;
    case '/':
      {
        cleanup_free char *pattern = NULL, *repl = NULL;
        struct pat p;
        bool all = !at_end (lx) && lx->s[lx->pos] == '/';

        if (all)
          lx->pos++;
        if (sub_word (lx, '/', true, &pattern) < 0 || sub_word (lx, '}', true, &repl) < 0)
          return -1;
        set = get_var (lx, name, &value);
        if (!set && (lx->flags & HUSK_EXPAND_SKIP_UNSET))
          {
            *ret = husk_strdup_printf ("${%s/%s/%s}", name, pattern, repl);
            return 0;
          }
        if (pat_compile (lx, pattern, &p) < 0)
          return -1;
        *ret = pat_replace (&p, set ? value : "", repl, all);
        pat_clear (&p);
        return 0;
      }
    default:
      return fail (lx, "unsupported modifier (%c) in substitution", op);
    }

  {
    char m = null_is_unset ? op2 : op;
    bool raw = m == '#' || m == '%';

    if (sub_word (lx, '}', raw, &word) < 0)
      return -1;
    set = get_var (lx, name, &value);
    if (!set && (lx->flags & HUSK_EXPAND_SKIP_UNSET))
      {
        *ret = husk_strdup_printf ("${%s%s%c%s}", name, null_is_unset ? ":" : "", m, word);
        return 0;
      }
    switch (m)
      {
      case '-':
        *ret = husk_xstrdup (!set || (null_is_unset && value[0] == '\0') ? word : value);
        return 0;
      case '+':
        *ret = husk_xstrdup (!set || (null_is_unset && value[0] == '\0') ? "" : word);
        return 0;
      case '?':
        if (!set)
          return fail (lx, "%s: %s", name, word[0] ? word : "is not allowed to be unset");
        if (null_is_unset && value[0] == '\0')
          return fail (lx, "%s: %s", name, word[0] ? word : "is not allowed to be empty");
        *ret = husk_xstrdup (value);
        return 0;
      default: /* '#' or '%' */
        {
          struct pat p;
          bool greedy = word[0] == m;

          if (pat_compile (lx, word + (greedy ? 1 : 0), &p) < 0)
            return -1;
          *ret = pat_trim (&p, set ? value : "", m == '%', greedy);
          pat_clear (&p);
          return 0;
        }
      }
  }
}

/* At a single quote: everything up to the next one, as it is.  */
static int
process_single_quote (struct lexer *lx, struct husk_strbuf *out)
{
  bool raw = lx->flags & HUSK_EXPAND_RAW_QUOTES;

  lx->pos++;
  if (raw)
    husk_strbuf_addc (out, '\'');
  for (;;)
    {
      if (at_end (lx))
        return fail (lx, "unexpected end of statement while looking for matching single-quote");
      char c = lx->s[lx->pos++];
      if (c == '\'')
        {
          if (raw)
            husk_strbuf_addc (out, '\'');
          return 0;
        }
      husk_strbuf_addc (out, c);
    }
}

/* At a double quote: up to the next unescaped one, expanding $ and honouring the escape
   character before ", $ and itself (elsewhere it stays).  */
static int
process_double_quote (struct lexer *lx, struct husk_strbuf *out)
{
  bool raw = lx->flags & HUSK_EXPAND_RAW_QUOTES;

  lx->pos++;
  if (raw)
    husk_strbuf_addc (out, '"');
  for (;;)
    {
      if (at_end (lx))
        return fail (lx, "unexpected end of statement while looking for matching double-quote");
      char c = lx->s[lx->pos];
      if (c == '"')
        {
          lx->pos++;
          if (raw)
            husk_strbuf_addc (out, '"');
          return 0;
        }
      if (c == '$')
        {
          cleanup_free char *v = NULL;
          if (process_dollar (lx, &v) < 0)
            return -1;
          husk_strbuf_adds (out, v);
          continue;
        }
      lx->pos++;
      if (c == lx->esc)
        {
          if (lx->raw_escapes)
            husk_strbuf_addc (out, c);
          if (at_end (lx))
            continue;
          char n = lx->s[lx->pos];
          if (n == '"' || n == '$' || n == lx->esc)
            {
              lx->pos++;
              c = n;
            }
        }
      husk_strbuf_addc (out, c);
    }
}

static int
process_stop_on (struct lexer *lx, char stop, bool raw_escapes, struct husk_strbuf *result,
                 struct words *words)
{
  bool saved = lx->raw_escapes;
  int r = -1;

  lx->raw_escapes = raw_escapes;
  while (!at_end (lx))
    {
      char c = lx->s[lx->pos];

      if (stop && c == stop)
        {
          lx->pos++;
          words_finish (words);
          r = 0;
          goto out;
        }
      if (c == '$')
        {
          cleanup_free char *v = NULL;
          if (process_dollar (lx, &v) < 0)
            goto out;
          husk_strbuf_adds (result, v);
          words_add_string (words, v, strlen (v));
        }
      else if (c == '<')
        {
          /* "<<" and the blanks after it stay together, so that "<< EOF" is one word for
             the heredoc finder.  */
          size_t start = lx->pos++;
          if (!at_end (lx) && lx->s[lx->pos] == '<')
            {
              lx->pos++;
              while (!at_end (lx) && strchr ("\t\r ", lx->s[lx->pos]) && lx->s[lx->pos])
                lx->pos++;
            }
          husk_strbuf_add (result, lx->s + start, lx->pos - start);
          words_add_raw (words, lx->s + start, lx->pos - start);
        }
      else if ((c == '\'' || c == '"') && !(lx->flags & HUSK_EXPAND_NO_QUOTES))
        {
          cleanup_strbuf struct husk_strbuf q = { 0 };
          if ((c == '\'' ? process_single_quote (lx, &q) : process_double_quote (lx, &q)) < 0)
            goto out;
          husk_strbuf_add (result, q.p ? q.p : "", q.len);
          words_add_raw (words, q.p ? q.p : "", q.len);
        }
      else if (c == lx->esc)
        {
          lx->pos++;
          if (lx->raw_escapes)
            {
              words_add_raw (words, &c, 1);
              husk_strbuf_addc (result, c);
            }
          if (at_end (lx))
            break;
          size_t k = husk_utf8_len (lx->s + lx->pos, lx->len - lx->pos);
          words_add_raw (words, lx->s + lx->pos, k);
          husk_strbuf_add (result, lx->s + lx->pos, k);
          lx->pos += k;
        }
      else
        {
          size_t k = husk_utf8_len (lx->s + lx->pos, lx->len - lx->pos);
          words_add_char (words, lx->s + lx->pos, k);
          husk_strbuf_add (result, lx->s + lx->pos, k);
          lx->pos += k;
        }
    }
  if (stop)
    {
      fail (lx, "unexpected end of statement while looking for matching %c", stop);
      goto out;
    }
  words_finish (words);
  r = 0;
out:
  lx->raw_escapes = saved;
  return r;
}

/* WORD for a message: one line (control characters as \n, \t, \xNN), at most 200 bytes of it.  */
static char *
quote_word (const char *word)
{
  cleanup_strbuf struct husk_strbuf b = { 0 };
  size_t i;

  for (i = 0; word[i] && i < 200; i++)
    {
      unsigned char c = (unsigned char) word[i];
      if (c == '\n')
        husk_strbuf_adds (&b, "\\n");
      else if (c == '\t')
        husk_strbuf_adds (&b, "\\t");
      else if (c < 0x20 || c == 0x7f)
        {
          char hex[8];
          snprintf (hex, sizeof (hex), "\\x%02x", c);
          husk_strbuf_adds (&b, hex);
        }
      else
        husk_strbuf_addc (&b, (char) c);
    }
  if (word[i])
    husk_strbuf_adds (&b, "...");
  return husk_strbuf_take (&b);
}

int
husk_expand (const char *word, char escape, unsigned flags, husk_expand_lookup lookup, void *data,
             char **ret_word, char ***ret_words, char ***ret_used, struct husk_error **err)
{
  struct lexer lx = {
    .s = word,
    .len = strlen (word),
    .esc = escape,
    .flags = flags,
    .raw_escapes = flags & HUSK_EXPAND_RAW_ESCAPES,
    .lookup = lookup,
    .data = data,
  };
  cleanup_strbuf struct husk_strbuf result = { 0 };
  struct words words = { 0 };

  if (process_stop_on (&lx, '\0', lx.raw_escapes, &result, &words) < 0)
    {
      cleanup_free char *shown = quote_word (word);
      cleanup_free char *why = quote_word (lx.errmsg ? lx.errmsg : "cannot expand");
      husk_error_set (err, 0, "\"%s\": %s", shown, why);
      free (lx.errmsg);
      words_clear (&words);
      husk_strv_free (lx.used);
      return -1;
    }
  if (ret_word)
    *ret_word = husk_strbuf_take (&result);
  if (ret_words)
    {
      *ret_words = husk_strvec_take (&words.v);
    }
  if (ret_used)
    {
      *ret_used = lx.used ? lx.used : husk_xcalloc (1, sizeof (char *));
      lx.used = NULL;
    }
  words_clear (&words);
  husk_strv_free (lx.used);
  return 0;
}

int
husk_expand_word (const char *word, char escape, husk_expand_lookup lookup, void *data,
                  char **ret_word, char ***ret_used, struct husk_error **err)
{
  return husk_expand (word, escape, 0, lookup, data, ret_word, NULL, ret_used, err);
}

int
husk_expand_words (const char *word, char escape, husk_expand_lookup lookup, void *data,
                   char ***ret_words, char ***ret_used, struct husk_error **err)
{
  return husk_expand (word, escape, 0, lookup, data, NULL, ret_words, ret_used, err);
}

static const struct
{
  const char *keyword;
  enum husk_expand_mode mode;
} modes[] = {
  { "ADD", HUSK_EXPAND_EACH },        { "ARG", HUSK_EXPAND_EACH },
  { "COPY", HUSK_EXPAND_EACH },       { "ENV", HUSK_EXPAND_EACH },
  { "EXPOSE", HUSK_EXPAND_SPLIT },    { "FROM", HUSK_EXPAND_EACH },
  { "LABEL", HUSK_EXPAND_EACH },      { "STOPSIGNAL", HUSK_EXPAND_EACH },
  { "USER", HUSK_EXPAND_EACH },       { "VOLUME", HUSK_EXPAND_EACH },
  { "WORKDIR", HUSK_EXPAND_EACH },    { "RUN", HUSK_EXPAND_NONE },
  { "CMD", HUSK_EXPAND_NONE },        { "ENTRYPOINT", HUSK_EXPAND_NONE },
  { "SHELL", HUSK_EXPAND_NONE },      { "HEALTHCHECK", HUSK_EXPAND_NONE },
  { "MAINTAINER", HUSK_EXPAND_NONE }, { "ONBUILD", HUSK_EXPAND_NONE },
};

enum husk_expand_mode
husk_expand_mode_of (const char *keyword)
{
  for (size_t i = 0; i < sizeof (modes) / sizeof (*modes); i++)
    if (strcmp (modes[i].keyword, keyword) == 0)
      return modes[i].mode;
  return HUSK_EXPAND_NONE;
}

bool
husk_expand_flag (const char *keyword, const char *flag)
{
  static const char *const expanded[] = {
    "COPY",  "chown", "COPY",     "chmod", "ADD",   "chown", "ADD",
    "chmod", "ADD",   "checksum", "RUN",   "mount", "FROM",  "platform",
  };
  for (size_t i = 0; i < sizeof (expanded) / sizeof (*expanded); i += 2)
    if (strcmp (expanded[i], keyword) == 0 && strcmp (expanded[i + 1], flag) == 0)
      return true;
  return false;
}
