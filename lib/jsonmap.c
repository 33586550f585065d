/* JSON objects mapped to C structs by tables (jsonmap.h).  */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jsonmap.h"
#include "util.h"
#include "banned.h"

/* Members are reached through BASE + offset; pointers are copied in and out with memcpy, since
   the member may be a char * or a const char *, a struct husk_mount * or a void *.  */
static void *
get_ptr (const char *p)
{
  void *v;
  memcpy (&v, p, sizeof (v));
  return v;
}

static void
set_ptr (char *p, const void *v)
{
  memcpy (p, &v, sizeof (v));
}

static int
get_int (const char *p)
{
  int v;
  memcpy (&v, p, sizeof (v));
  return v;
}

static void
set_int (char *p, int v)
{
  memcpy (p, &v, sizeof (v));
}

/* ------------------------------------------------------------------ encode  */

static void encode_table (husk_jgen *g, const struct husk_jsonmap_field *t, const char *base);

/* Whether every member T names at BASE would be left out by OMIT_EMPTY: what an OBJECT row
   with that flag leaves out whole.  */
static bool
table_is_empty (const struct husk_jsonmap_field *t, const char *base)
{
  for (; t->key; t++)
    {
      const char *p = base + t->offset;
      uint64_t u = 0;
      bool b = false;
      char **v;
      size_t n;

      if (t->flags & HUSK_JM_WRITE_ONLY)
        continue;
      switch (t->type)
        {
        case HUSK_JMT_STRING:
          if (get_ptr (p) != NULL)
            return false;
          break;
        case HUSK_JMT_CHARS:
          if (*p != '\0')
            return false;
          break;
        case HUSK_JMT_INT:
        case HUSK_JMT_ENUM:
          if (get_int (p) != 0)
            return false;
          break;
        case HUSK_JMT_INT64:
        case HUSK_JMT_UINT64:
        case HUSK_JMT_U64_AS_I64:
          memcpy (&u, p, sizeof (u));
          if (u != 0)
            return false;
          break;
        case HUSK_JMT_BOOL:
          memcpy (&b, p, sizeof (b));
          if (b)
            return false;
          break;
        case HUSK_JMT_STRV:
        case HUSK_JMT_STRMAP:
        case HUSK_JMT_STRSET:
          v = get_ptr (p);
          if (v != NULL && v[0] != NULL)
            return false;
          break;
        case HUSK_JMT_OBJECT:
          if (!table_is_empty (t->sub, p))
            return false;
          break;
        case HUSK_JMT_ARRAY:
          memcpy (&n, base + t->count_offset, sizeof (n));
          if (n != 0)
            return false;
          break;
        }
    }
  return true;
}

static void
encode_field (husk_jgen *g, const struct husk_jsonmap_field *f, const char *base)
{
  const char *p = base + f->offset;
  bool omit_empty = (f->flags & HUSK_JM_OMIT_EMPTY) != 0;

  switch (f->type)
    {
    case HUSK_JMT_STRING:
      {
        const char *s = get_ptr (p);
        if (s == NULL)
          return;
        husk_jgen_key (g, f->key);
        husk_jgen_string (g, s);
        return;
      }
    case HUSK_JMT_CHARS:
      if (omit_empty && *p == '\0')
        return;
      husk_jgen_key (g, f->key);
      husk_jgen_string_len (g, p, strnlen (p, f->size));
      return;
    case HUSK_JMT_INT:
      if (omit_empty && get_int (p) == 0)
        return;
      husk_jgen_key (g, f->key);
      husk_jgen_int (g, get_int (p));
      return;
    case HUSK_JMT_INT64:
    case HUSK_JMT_UINT64:
    case HUSK_JMT_U64_AS_I64:
      {
        uint64_t u;
        memcpy (&u, p, sizeof (u));
        if (omit_empty && u == 0)
          return;
        husk_jgen_key (g, f->key);
        if (f->type == HUSK_JMT_UINT64)
          husk_jgen_uint64 (g, u);
        else
          husk_jgen_int (g, (int64_t) u);
        return;
      }
    case HUSK_JMT_BOOL:
      {
        bool b;
        memcpy (&b, p, sizeof (b));
        if (omit_empty && !b)
          return;
        husk_jgen_key (g, f->key);
        husk_jgen_bool (g, b);
        return;
      }
    case HUSK_JMT_ENUM:
      {
        int v = get_int (p);
        if (omit_empty && v == 0)
          return;
        for (const struct husk_jsonmap_enum *e = f->names; e->name; e++)
          if (e->value == v)
            {
              husk_jgen_key (g, f->key);
              husk_jgen_string (g, e->name);
              return;
            }
        return;
      }
    case HUSK_JMT_STRSET:
      {
        char **v = get_ptr (p);
        if (omit_empty && (v == NULL || v[0] == NULL))
          return;
        husk_jgen_key (g, f->key);
        husk_jgen_map_open (g);
        for (size_t i = 0; v && v[i]; i++)
          {
            husk_jgen_string (g, v[i]);
            husk_jgen_map_open (g);
            husk_jgen_map_close (g);
          }
        husk_jgen_map_close (g);
        return;
      }
    case HUSK_JMT_STRV:
    case HUSK_JMT_STRMAP:
      {
        char **v = get_ptr (p);
        bool map = f->type == HUSK_JMT_STRMAP;
        if (omit_empty && (v == NULL || v[0] == NULL))
          return;
        husk_jgen_key (g, f->key);
        if (map)
          husk_jgen_map_open (g);
        else
          husk_jgen_array_open (g);
        for (size_t i = 0; v && v[i] && (!map || v[i + 1]); i += map ? 2 : 1)
          {
            husk_jgen_string (g, v[i]);
            if (map)
              husk_jgen_string (g, v[i + 1]);
          }
        if (map)
          husk_jgen_map_close (g);
        else
          husk_jgen_array_close (g);
        return;
      }
    case HUSK_JMT_OBJECT:
      if (omit_empty && table_is_empty (f->sub, p))
        return;
      husk_jgen_key (g, f->key);
      encode_table (g, f->sub, p);
      return;
    case HUSK_JMT_ARRAY:
      {
        const char *elems = get_ptr (p);
        size_t n;
        memcpy (&n, base + f->count_offset, sizeof (n));
        if (omit_empty && n == 0)
          return;
        husk_jgen_key (g, f->key);
        husk_jgen_array_open (g);
        for (size_t i = 0; elems && i < n; i++)
          encode_table (g, f->sub, elems + i * f->size);
        husk_jgen_array_close (g);
        return;
      }
    }
}

static void
encode_table (husk_jgen *g, const struct husk_jsonmap_field *t, const char *base)
{
  husk_jgen_map_open (g);
  for (; t->key; t++)
    encode_field (g, t, base);
  husk_jgen_map_close (g);
}

void
husk_jsonmap_encode (husk_jgen *g, const struct husk_jsonmap_field *table, const void *obj)
{
  encode_table (g, table, obj);
}

/* ------------------------------------------------------------------ clear  */

static void clear_table (const struct husk_jsonmap_field *t, char *base);

static void
clear_field (const struct husk_jsonmap_field *f, char *base)
{
  char *p = base + f->offset;

  switch (f->type)
    {
    case HUSK_JMT_STRING:
      free (get_ptr (p));
      set_ptr (p, NULL);
      return;
    case HUSK_JMT_CHARS:
      memset (p, 0, f->size);
      return;
    case HUSK_JMT_INT:
    case HUSK_JMT_ENUM:
      set_int (p, 0);
      return;
    case HUSK_JMT_INT64:
    case HUSK_JMT_UINT64:
    case HUSK_JMT_U64_AS_I64:
      memset (p, 0, sizeof (uint64_t));
      return;
    case HUSK_JMT_BOOL:
      memset (p, 0, sizeof (bool));
      return;
    case HUSK_JMT_STRV:
    case HUSK_JMT_STRMAP:
    case HUSK_JMT_STRSET:
      husk_strv_free (get_ptr (p));
      set_ptr (p, NULL);
      return;
    case HUSK_JMT_OBJECT:
      clear_table (f->sub, p);
      return;
    case HUSK_JMT_ARRAY:
      {
        char *elems = get_ptr (p);
        size_t n, zero = 0;
        memcpy (&n, base + f->count_offset, sizeof (n));
        for (size_t i = 0; elems && i < n; i++)
          clear_table (f->sub, elems + i * f->size);
        free (elems);
        set_ptr (p, NULL);
        memcpy (base + f->count_offset, &zero, sizeof (zero));
        return;
      }
    }
}

static void
clear_table (const struct husk_jsonmap_field *t, char *base)
{
  for (; t->key; t++)
    if (!(t->flags & HUSK_JM_WRITE_ONLY))
      clear_field (t, base);
}

void
husk_jsonmap_clear (const struct husk_jsonmap_field *table, void *obj)
{
  clear_table (table, obj);
}

/* ------------------------------------------------------------------ decode  */

static const char *
expected (const struct husk_jsonmap_field *f)
{
  switch (f->type)
    {
    case HUSK_JMT_STRING:
    case HUSK_JMT_CHARS:
    case HUSK_JMT_ENUM:
      return "a string";
    case HUSK_JMT_INT:
    case HUSK_JMT_INT64:
    case HUSK_JMT_U64_AS_I64:
      return "an integer";
    case HUSK_JMT_UINT64:
      return "an integer from 0 to 18446744073709551615";
    case HUSK_JMT_BOOL:
      return "a boolean";
    case HUSK_JMT_STRV:
      return "an array of strings";
    case HUSK_JMT_STRMAP:
      return "an object of strings";
    case HUSK_JMT_STRSET:
      return "an object";
    case HUSK_JMT_OBJECT:
      return "an object";
    case HUSK_JMT_ARRAY:
      return "an array of objects";
    }
  return "?";
}

static int
missing (const struct husk_jsonmap_field *f, const char *path, struct husk_error **err)
{
  if (f->flags & HUSK_JM_REQUIRED)
    return husk_error_set (err, 0, "\"%s%s\": missing, expected %s", path, f->key, expected (f));
  return 0;
}

/* V is not what F holds: an error, or with HUSK_JM_LAX as if absent (the member stays as it
   was, unless it is required).  */
static int
wrong_type (const struct husk_jsonmap_field *f, const husk_json *v, const char *path,
            struct husk_error **err)
{
  if (f->flags & HUSK_JM_LAX)
    return missing (f, path, err);
  return husk_error_set (err, 0, "\"%s%s\": expected %s, got %s", path, f->key, expected (f),
                         husk_json_kind (v));
}

static int decode_table (const husk_json *v, const struct husk_jsonmap_field *t, char *base,
                         const char *path, struct husk_error **err);

static int
decode_enum (const struct husk_jsonmap_field *f, const husk_json *v, char *p, const char *path,
             struct husk_error **err)
{
  const char *s = husk_json_string (v);
  cleanup_free char *names = NULL;

  if (s == NULL)
    return wrong_type (f, v, path, err);
  for (const struct husk_jsonmap_enum *e = f->names; e->name; e++)
    if (strcmp (e->name, s) == 0)
      {
        set_int (p, e->value);
        return 0;
      }
  if (f->flags & HUSK_JM_LAX)
    return missing (f, path, err);
  names = husk_xstrdup ("");
  for (const struct husk_jsonmap_enum *e = f->names; e->name; e++)
    {
      char *t = husk_strdup_printf ("%s%s\"%s\"", names, e == f->names ? "" : ", ", e->name);
      free (names);
      names = t;
    }
  return husk_error_set (err, 0, "\"%s%s\": expected one of %s, got \"%s\"", path, f->key, names,
                         s);
}

/* STRV, STRMAP and STRSET: a new vector, or NULL with the error (or with neither, under
   LAX).  */
static int
decode_strings (const struct husk_jsonmap_field *f, const husk_json *v, char *p, const char *path,
                struct husk_error **err)
{
  bool map = f->type == HUSK_JMT_STRMAP;
  bool set = f->type == HUSK_JMT_STRSET;
  size_t n = map || set ? husk_json_object_len (v) : husk_json_array_len (v);
  cleanup_strv char **out = NULL;

  if (map || set ? !husk_json_is_object (v) : !husk_json_is_array (v))
    return wrong_type (f, v, path, err);
  out = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      if (set)
        {
          /* The values carry nothing (the OCI image spec: "an empty object").  */
          husk_strv_append (&out, husk_json_object_key (v, i));
          continue;
        }
      const husk_json *e = map ? husk_json_object_value (v, i) : husk_json_array_at (v, i);
      const char *s = husk_json_string (e);
      if (s == NULL)
        {
          if (f->flags & HUSK_JM_LAX)
            return missing (f, path, err);
          if (map)
            return husk_error_set (err, 0, "\"%s%s.%s\": expected a string, got %s", path, f->key,
                                   husk_json_object_key (v, i), husk_json_kind (e));
          return husk_error_set (err, 0, "\"%s%s[%zu]\": expected a string, got %s", path, f->key,
                                 i, husk_json_kind (e));
        }
      if (map)
        husk_strv_append (&out, husk_json_object_key (v, i));
      husk_strv_append (&out, s);
    }
  husk_strv_free (get_ptr (p));
  set_ptr (p, TAKE_PTR (out));
  return 0;
}

static int
decode_array (const struct husk_jsonmap_field *f, const husk_json *v, char *base, const char *path,
              struct husk_error **err)
{
  char *p = base + f->offset;
  size_t n = husk_json_array_len (v);
  char *elems;

  if (!husk_json_is_array (v))
    return wrong_type (f, v, path, err);
  if (n > SIZE_MAX / (f->size ? f->size : 1))
    return husk_error_set (err, 0, "\"%s%s\": too many elements", path, f->key);
  elems = n ? husk_xcalloc (n, f->size) : NULL;
  for (size_t i = 0; i < n; i++)
    {
      const husk_json *e = husk_json_array_at (v, i);
      cleanup_free char *sub = husk_strdup_printf ("%s%s[%zu]", path, f->key, i);
      cleanup_free char *subpath = NULL;

      /* Under LAX, the members of an element that is not an object are all absent.  */
      if (!husk_json_is_object (e) && !(f->flags & HUSK_JM_LAX))
        husk_error_set (err, 0, "\"%s\": expected an object, got %s", sub, husk_json_kind (e));
      else
        {
          subpath = husk_strdup_printf ("%s.", sub);
          if (decode_table (e, f->sub, elems + i * f->size, subpath, err) == 0)
            continue;
        }
      for (size_t k = 0; k <= i; k++)
        clear_table (f->sub, elems + k * f->size);
      free (elems);
      return -1;
    }
  clear_field (f, base);
  set_ptr (p, elems);
  memcpy (base + f->count_offset, &n, sizeof (n));
  return 0;
}

static int
decode_field (const struct husk_jsonmap_field *f, const husk_json *v, char *base, const char *path,
              struct husk_error **err)
{
  char *p = base + f->offset;
  int64_t i;
  uint64_t u;
  bool b;

  if (f->flags & HUSK_JM_WRITE_ONLY)
    return 0;
  if (v == NULL || husk_json_is_null (v))
    return missing (f, path, err);
  switch (f->type)
    {
    case HUSK_JMT_STRING:
      {
        const char *s = husk_json_string (v);
        if (s == NULL)
          return wrong_type (f, v, path, err);
        free (get_ptr (p));
        set_ptr (p, husk_xstrdup (s));
        return 0;
      }
    case HUSK_JMT_CHARS:
      {
        const char *s = husk_json_string (v);
        if (s == NULL)
          return wrong_type (f, v, path, err);
        if (strlen (s) >= f->size)
          {
            if (f->flags & HUSK_JM_LAX)
              return missing (f, path, err);
            return husk_error_set (err, 0, "\"%s%s\": expected a string of at most %zu bytes", path,
                                   f->key, f->size - 1);
          }
        memset (p, 0, f->size);
        memcpy (p, s, strlen (s));
        return 0;
      }
    case HUSK_JMT_INT:
      if (!husk_json_int64 (v, &i))
        return wrong_type (f, v, path, err);
      if (i < INT_MIN || i > INT_MAX)
        {
          if (f->flags & HUSK_JM_LAX)
            return missing (f, path, err);
          return husk_error_set (err, 0, "\"%s%s\": expected an integer from %d to %d, got %jd",
                                 path, f->key, INT_MIN, INT_MAX, (intmax_t) i);
        }
      set_int (p, (int) i);
      return 0;
    case HUSK_JMT_INT64:
    case HUSK_JMT_U64_AS_I64:
      if (!husk_json_int64 (v, &i))
        return wrong_type (f, v, path, err);
      memcpy (p, &i, sizeof (i));
      return 0;
    case HUSK_JMT_UINT64:
      if (!husk_json_uint64 (v, &u))
        return wrong_type (f, v, path, err);
      memcpy (p, &u, sizeof (u));
      return 0;
    case HUSK_JMT_BOOL:
      if (!husk_json_bool (v, &b))
        return wrong_type (f, v, path, err);
      memcpy (p, &b, sizeof (b));
      return 0;
    case HUSK_JMT_ENUM:
      return decode_enum (f, v, p, path, err);
    case HUSK_JMT_STRV:
    case HUSK_JMT_STRMAP:
    case HUSK_JMT_STRSET:
      return decode_strings (f, v, p, path, err);
    case HUSK_JMT_OBJECT:
      {
        cleanup_free char *subpath = NULL;
        if (!husk_json_is_object (v))
          return wrong_type (f, v, path, err);
        subpath = husk_strdup_printf ("%s%s.", path, f->key);
        return decode_table (v, f->sub, p, subpath, err);
      }
    case HUSK_JMT_ARRAY:
      return decode_array (f, v, base, path, err);
    }
  return 0;
}

static int
decode_table (const husk_json *v, const struct husk_jsonmap_field *t, char *base, const char *path,
              struct husk_error **err)
{
  for (; t->key; t++)
    if (decode_field (t, husk_json_get (v, t->key), base, path, err) < 0)
      return -1;
  return 0;
}

int
husk_jsonmap_decode (const husk_json *v, const struct husk_jsonmap_field *table, void *obj,
                     struct husk_error **err)
{
  if (!husk_json_is_object (v))
    husk_error_set (err, 0, "expected an object, got %s", husk_json_kind (v));
  if (!husk_json_is_object (v) || decode_table (v, table, obj, "", err) < 0)
    {
      clear_table (table, obj);
      return -1;
    }
  return 0;
}

int
husk_jsonmap_parse (const char *buf, size_t len, const struct husk_jsonmap_field *table, void *obj,
                    struct husk_error **err)
{
  cleanup_json husk_json *v = husk_json_parse (buf, len, err);

  if (v == NULL)
    {
      clear_table (table, obj);
      return -1;
    }
  return husk_jsonmap_decode (v, table, obj, err);
}
