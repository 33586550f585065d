/* Characters as Go's standard library sees them, for build/'s parsers that follow BuildKit:
   UTF-8 sequences and unicode.IsSpace.  Bytes that are not valid UTF-8 count as one
   character each (Go would read U+FFFD there; husk keeps the byte).  */
#ifndef HUSK_BUILD_UTF8_H
#define HUSK_BUILD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the character at S (N > 0 bytes left).  */
static inline size_t
husk_utf8_len (const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *) s;
  size_t need;

  if (u[0] < 0x80)
    return 1;
  if ((u[0] & 0xe0) == 0xc0 && u[0] >= 0xc2)
    need = 2;
  else if ((u[0] & 0xf0) == 0xe0)
    need = 3;
  else if ((u[0] & 0xf8) == 0xf0 && u[0] <= 0xf4)
    need = 4;
  else
    return 1;
  if (need > n)
    return 1;
  for (size_t i = 1; i < need; i++)
    if ((u[i] & 0xc0) != 0x80)
      return 1;
  return need;
}

/* Whether the character at S, of length N (from husk_utf8_len), is white space for Go's
   unicode.IsSpace.  */
static inline bool
husk_utf8_is_space (const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *) s;

  if (n == 1)
    return u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r');
  if (n == 2)
    return u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0);
  if (n == 3)
    {
      unsigned cp = ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
      return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029
             || cp == 0x202f || cp == 0x205f || cp == 0x3000;
    }
  return false;
}

/* The length of the white space character at S (N > 0 bytes left), 0 when it is not one.  */
static inline size_t
husk_utf8_space_at (const char *s, size_t n)
{
  size_t k = husk_utf8_len (s, n);
  return husk_utf8_is_space (s, k) ? k : 0;
}

#endif
