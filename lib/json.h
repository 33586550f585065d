/* The one JSON module: everything else sees these types, never the JSON library's.  */
#ifndef HUSK_JSON_H
#define HUSK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct husk_json husk_json;

/* Parse BUF (LEN bytes; a NUL inside is an error).  */
husk_json *husk_json_parse (const char *buf, size_t len, struct husk_error **err);
void husk_json_free (husk_json *root);

bool husk_json_is_object (const husk_json *v);
bool husk_json_is_array (const husk_json *v);

/* Member KEY of object V, or NULL when V is not an object or has no such member.  */
const husk_json *husk_json_get (const husk_json *v, const char *key);
/* String value of V, or NULL when V is not a string.  */
const char *husk_json_string (const husk_json *v);
/* Shorthand: the string member KEY of V, or NULL.  */
const char *husk_json_get_string (const husk_json *v, const char *key);
/* Integer value of V; false when V is not an integer.  */
bool husk_json_int64 (const husk_json *v, int64_t *ret_value);
/* true/false; false when V is not a boolean (RET untouched).  */
bool husk_json_bool (const husk_json *v, bool *ret_value);
/* An integer from 0 to 2^64-1 (JSON has no limit; yajl parses past INT64_MAX as a double, whose
   text is read here); false otherwise (RET untouched).  */
bool husk_json_uint64 (const husk_json *v, uint64_t *ret_value);
bool husk_json_is_null (const husk_json *v);
/* What V is, for messages: "a string", "an integer", "a number", "a boolean", "null",
   "an object", "an array" ("nothing" for NULL).  */
const char *husk_json_kind (const husk_json *v);

size_t husk_json_array_len (const husk_json *v);
const husk_json *husk_json_array_at (const husk_json *v, size_t i);
size_t husk_json_object_len (const husk_json *v);
const char *husk_json_object_key (const husk_json *v, size_t i);
const husk_json *husk_json_object_value (const husk_json *v, size_t i);

/* A NULL-terminated copy of an array of strings; NULL (with *ERR set) when V holds a non-string.
   A missing or null V gives an empty vector.  */
char **husk_json_strv (const husk_json *v, const char *what, struct husk_error **err);

/* Generator.  */
typedef struct husk_jgen husk_jgen;
husk_jgen *husk_jgen_new (bool pretty);
void husk_jgen_free (husk_jgen *g);
void husk_jgen_map_open (husk_jgen *g);
void husk_jgen_map_close (husk_jgen *g);
void husk_jgen_array_open (husk_jgen *g);
void husk_jgen_array_close (husk_jgen *g);
void husk_jgen_string (husk_jgen *g, const char *s);
void husk_jgen_int (husk_jgen *g, int64_t v);
void husk_jgen_uint64 (husk_jgen *g, uint64_t v);
void husk_jgen_bool (husk_jgen *g, bool v);
void husk_jgen_null (husk_jgen *g);
/* Copy a parsed value into the output as it is.  */
void husk_jgen_value (husk_jgen *g, const husk_json *v);
/* The output so far; valid until the generator is freed.  */
const char *husk_jgen_buf (husk_jgen *g, size_t *ret_len);
/* S of LEN bytes, which may hold NUL bytes (written as \u0000).  The generator copies bytes
   as they are: the caller makes sure S is valid UTF-8.  */
void husk_jgen_string_len (husk_jgen *g, const char *s, size_t len);
/* After a complete value: write "\n" and start the next value (JSON lines).  */
void husk_jgen_next_line (husk_jgen *g);
/* Empty the output buffer (the generator's state is unchanged).  */
void husk_jgen_clear (husk_jgen *g);

/* The string members KEYS[0..N) of the object in BUF (LEN bytes), with their lengths, so that
   strings holding NUL bytes come out whole.  RET[i] is set for each key found with a string
   value (an allocated, NUL-terminated copy) and left {NULL, 0} otherwise; other members and
   nested values are skipped.  Invalid JSON or a value that is not an object is an error; on
   error RET is cleared.  Free with husk_json_strs_clear.  */
struct husk_json_str
{
  char *s;
  size_t len;
};
int husk_json_parse_strings (const char *buf, size_t len, const char *const *keys, size_t n,
                             struct husk_json_str *ret, struct husk_error **err);
void husk_json_strs_clear (struct husk_json_str *v, size_t n);

static inline void
husk_jgen_key (husk_jgen *g, const char *k)
{
  husk_jgen_string (g, k);
}

static inline void
husk_json_freep (husk_json **p)
{
  husk_json_free (*p);
}
static inline void
husk_jgen_freep (husk_jgen **p)
{
  husk_jgen_free (*p);
}
#define cleanup_json __attribute__ ((cleanup (husk_json_freep)))
#define cleanup_jgen __attribute__ ((cleanup (husk_jgen_freep)))

#endif
