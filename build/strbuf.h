/* A growable byte string for build/'s parsers: always NUL-terminated, may hold NUL bytes.  */
#ifndef HUSK_BUILD_STRBUF_H
#define HUSK_BUILD_STRBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct husk_strbuf
{
  char *p;
  size_t len, cap;
};

static inline void
husk_strbuf_add (struct husk_strbuf *b, const char *s, size_t n)
{
  if (n >= SIZE_MAX / 2 || b->len >= SIZE_MAX / 2)
    abort ();
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 32;
      while (cap < b->len + n + 1)
        cap *= 2;
      b->p = husk_xrealloc (b->p, cap);
      b->cap = cap;
    }
  if (n)
    memcpy (b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static inline void
husk_strbuf_addc (struct husk_strbuf *b, char c)
{
  husk_strbuf_add (b, &c, 1);
}

static inline void
husk_strbuf_adds (struct husk_strbuf *b, const char *s)
{
  husk_strbuf_add (b, s, strlen (s));
}

/* The string, owned by the caller (an empty one when nothing was added); B is reset.  */
static inline char *
husk_strbuf_take (struct husk_strbuf *b)
{
  char *p = b->p ? b->p : husk_xstrdup ("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

static inline void
husk_strbuf_reset (struct husk_strbuf *b)
{
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
}

static inline void
husk_strbuf_freep (struct husk_strbuf *b)
{
  free (b->p);
  b->p = NULL;
}

#define cleanup_strbuf __attribute__ ((cleanup (husk_strbuf_freep)))

/* A growable NULL-terminated string vector: appending costs no walk to its end.  */
struct husk_strvec
{
  char **v;
  size_t n, cap;
};

static inline void
husk_strvec_push (struct husk_strvec *s, const char *str, size_t len)
{
  if (s->n + 2 > s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 8;
      s->v = husk_xrealloc (s->v, s->cap * sizeof (char *));
    }
  s->v[s->n] = husk_xmalloc (len + 1);
  memcpy (s->v[s->n], str, len);
  s->v[s->n][len] = '\0';
  s->v[++s->n] = NULL;
}

/* The vector, owned by the caller (never NULL); S is reset.  */
static inline char **
husk_strvec_take (struct husk_strvec *s)
{
  char **v = s->v ? s->v : husk_xcalloc (1, sizeof (char *));
  s->v = NULL;
  s->n = s->cap = 0;
  return v;
}

static inline void
husk_strvec_freep (struct husk_strvec *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i]);
  free (s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

#define cleanup_strvec __attribute__ ((cleanup (husk_strvec_freep)))

#endif
