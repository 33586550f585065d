/* JSON objects mapped to C structs by a table: one row per member, {key, type, offset in the
   struct, flags}, and one generic encoder (to husk_jgen) and decoder (from a parsed husk_json)
   for every document husk reads and writes that way (container records now; image configs and
   OCI config.json are the next users).

   A table is an array of rows ending with a row whose key is NULL; the HUSK_JM_* macros below
   write rows and check at compile time that the member has the C type the row says.

     static const struct husk_jsonmap_field state_fields[] = {
       HUSK_JM_ENUM ("status", struct husk_ctr, status, status_names, 0),
       HUSK_JM_INT ("exit_code", struct husk_ctr, exit_code, 0),
       HUSK_JM_STRING ("error", struct husk_ctr, error, 0),
       HUSK_JM_END,
     };

   Types (the C member, the JSON value):
     STRING       char * (or const char *), owned          a string
     CHARS        char[N], inline                          a string of fewer than N bytes
     INT          int                                      an integer in int's range
     INT64        int64_t                                  an integer
     UINT64       uint64_t                                 an integer from 0 to 2^64-1
     U64_AS_I64   uint64_t                                 an integer, the int64_t of the same
                                                           bits (2^64-1 is -1: how records
                                                           store RLIM_INFINITY)
     BOOL         bool                                     true or false
     ENUM         an enum (int-sized), by NAMES            one of NAMES' strings
     STRV         char **, NULL-terminated, owned          an array of strings
     STRMAP       char **: KEY, VALUE, KEY, VALUE, ...,    an object of strings, in order
                  NULL; owned
     STRSET       char **, NULL-terminated keys, owned     an object whose keys count and whose
                                                           values are written {} and not read
                                                           (an OCI config's ExposedPorts)
     OBJECT       the struct at OFFSET, by SUB             an object (SUB's offsets count from
                                                           OFFSET: offset 0 maps a nested JSON
                                                           object onto members of the same struct)
     ARRAY        a pointer to ELEM_SIZE-byte elements     an array of objects, each by SUB
                  and a size_t count at COUNT_OFFSET

   Every member is optional unless HUSK_JM_REQUIRED: an absent key, or null, leaves the member
   as the caller set it.  Encoding omits a NULL string (there is nothing to write); with
   HUSK_JM_OMIT_EMPTY it also omits a NULL or empty array or map, zero and false.  Keys of the
   document that the table does not name are ignored.  */
#ifndef HUSK_JSONMAP_H
#define HUSK_JSONMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

enum husk_jsonmap_type
{
  HUSK_JMT_STRING,
  HUSK_JMT_CHARS,
  HUSK_JMT_INT,
  HUSK_JMT_INT64,
  HUSK_JMT_UINT64,
  HUSK_JMT_U64_AS_I64,
  HUSK_JMT_BOOL,
  HUSK_JMT_ENUM,
  HUSK_JMT_STRV,
  HUSK_JMT_STRMAP,
  HUSK_JMT_STRSET,
  HUSK_JMT_OBJECT,
  HUSK_JMT_ARRAY,
};

enum
{
  /* Decoding: absent (or null) is an error.  */
  HUSK_JM_REQUIRED = 1 << 0,
  /* Encoding: leave out a NULL or empty array or map, 0 and false, and an OBJECT whose
     members would all be left out so.  */
  HUSK_JM_OMIT_EMPTY = 1 << 1,
  /* Decoding: a value of the wrong type, out of range or (ENUM) not a known name is taken as
     absent rather than an error (so a REQUIRED member is then missing); an element of an ARRAY
     that is not an object decodes as an element with every member absent.  For documents whose
     readers always forgave that (container records written by earlier versions).  */
  HUSK_JM_LAX = 1 << 2,
  /* Encoded, never decoded (nor freed): a value the reader knows better (a record's ID is its
     directory's name).  */
  HUSK_JM_WRITE_ONLY = 1 << 3,
};

/* ENUM's names: {NULL, 0} ends the list.  Encoding a value with no name writes nothing.  */
struct husk_jsonmap_enum
{
  const char *name;
  int value;
};

struct husk_jsonmap_field
{
  const char *key;
  enum husk_jsonmap_type type;
  unsigned flags;
  size_t offset;
  size_t size;                           /* CHARS: the array's size; ARRAY: an element's.  */
  size_t count_offset;                   /* ARRAY: the size_t count.  */
  const struct husk_jsonmap_field *sub;  /* OBJECT, ARRAY.  */
  const struct husk_jsonmap_enum *names; /* ENUM.  */
};

/* Write OBJ as a JSON object of TABLE's members, in TABLE's order.  */
void husk_jsonmap_encode (husk_jgen *g, const struct husk_jsonmap_field *table, const void *obj);

/* Fill OBJ's members from the object V, replacing (and freeing) what an owned member held.
   Errors, one line naming the member by its path in the document and what it should be:
     "KEY": expected a string, got an integer
     "mounts[1].dest": missing, expected a string
     "status": expected one of "created", "running", "exited", got "paused"
     expected an object, got an array                      (V itself)
   On failure every member TABLE names is cleared (husk_jsonmap_clear).  */
int husk_jsonmap_decode (const husk_json *v, const struct husk_jsonmap_field *table, void *obj,
                         struct husk_error **err);

/* husk_json_parse, then husk_jsonmap_decode; TABLE's members are cleared when either fails.  */
int husk_jsonmap_parse (const char *buf, size_t len, const struct husk_jsonmap_field *table,
                        void *obj, struct husk_error **err);

/* Free what OBJ's members in TABLE own and zero them (WRITE_ONLY members are left alone).  */
void husk_jsonmap_clear (const struct husk_jsonmap_field *table, void *obj);

/* Rows.  S is the struct type, M a member (a nested one, "spec.args", works too).  The
   compile-time check: an array of size -1 when the member's type is wrong.  */
#define HUSK_JM_CHECK_(S, M, ok) (0 * sizeof (char[(ok) ? 1 : -1]))
#define HUSK_JM_IS_(S, M, T) __builtin_types_compatible_p (__typeof__ (((S *) 0)->M), T)
#define HUSK_JM_ROW_(k, t, S, M, ok, f, ...)                                                       \
  {                                                                                                \
    .key = (k), .type = (t), .flags = (f), .offset = offsetof (S, M) + HUSK_JM_CHECK_ (S, M, ok),  \
    __VA_ARGS__                                                                                    \
  }
#define HUSK_JM_STRING(k, S, M, f)                                                                 \
  HUSK_JM_ROW_ (k, HUSK_JMT_STRING, S, M,                                                          \
                HUSK_JM_IS_ (S, M, char *) || HUSK_JM_IS_ (S, M, const char *), f, )
#define HUSK_JM_CHARS(k, S, M, f)                                                                  \
  HUSK_JM_ROW_ (k, HUSK_JMT_CHARS, S, M, HUSK_JM_IS_ (S, M, char[sizeof (((S *) 0)->M)]), f,       \
                .size = sizeof (((S *) 0)->M))
#define HUSK_JM_INT(k, S, M, f) HUSK_JM_ROW_ (k, HUSK_JMT_INT, S, M, HUSK_JM_IS_ (S, M, int), f, )
#define HUSK_JM_INT64(k, S, M, f)                                                                  \
  HUSK_JM_ROW_ (k, HUSK_JMT_INT64, S, M, HUSK_JM_IS_ (S, M, int64_t), f, )
#define HUSK_JM_UINT64(k, S, M, f)                                                                 \
  HUSK_JM_ROW_ (k, HUSK_JMT_UINT64, S, M, HUSK_JM_IS_ (S, M, uint64_t), f, )
#define HUSK_JM_U64_AS_I64(k, S, M, f)                                                             \
  HUSK_JM_ROW_ (k, HUSK_JMT_U64_AS_I64, S, M, HUSK_JM_IS_ (S, M, uint64_t), f, )
#define HUSK_JM_BOOL(k, S, M, f)                                                                   \
  HUSK_JM_ROW_ (k, HUSK_JMT_BOOL, S, M, HUSK_JM_IS_ (S, M, bool), f, )
#define HUSK_JM_ENUM(k, S, M, n, f)                                                                \
  HUSK_JM_ROW_ (k, HUSK_JMT_ENUM, S, M, sizeof (((S *) 0)->M) == sizeof (int), f, .names = (n))
#define HUSK_JM_STRV(k, S, M, f)                                                                   \
  HUSK_JM_ROW_ (k, HUSK_JMT_STRV, S, M, HUSK_JM_IS_ (S, M, char **), f, )
#define HUSK_JM_STRMAP(k, S, M, f)                                                                 \
  HUSK_JM_ROW_ (k, HUSK_JMT_STRMAP, S, M, HUSK_JM_IS_ (S, M, char **), f, )
#define HUSK_JM_STRSET(k, S, M, f)                                                                 \
  HUSK_JM_ROW_ (k, HUSK_JMT_STRSET, S, M, HUSK_JM_IS_ (S, M, char **), f, )
#define HUSK_JM_OBJECT(k, S, M, sub_, f)                                                           \
  HUSK_JM_ROW_ (k, HUSK_JMT_OBJECT, S, M, 1, f, .sub = (sub_))
/* The nested JSON object K mapped onto members of S itself (SUB's offsets are S's).  */
#define HUSK_JM_NESTED(k, sub_, f)                                                                 \
  {                                                                                                \
    .key = (k), .type = HUSK_JMT_OBJECT, .flags = (f), .offset = 0, .sub = (sub_)                  \
  }
#define HUSK_JM_ARRAY(k, S, M, N, sub_, f)                                                         \
  HUSK_JM_ROW_ (k, HUSK_JMT_ARRAY, S, M, HUSK_JM_IS_ (S, N, size_t), f,                            \
                .size = sizeof (*((S *) 0)->M), .count_offset = offsetof (S, N), .sub = (sub_))
#define HUSK_JM_END                                                                                \
  {                                                                                                \
    .key = NULL                                                                                    \
  }

#endif
