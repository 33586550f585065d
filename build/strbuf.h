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

#endif
