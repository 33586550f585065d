#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "cleanup.h"
#include "json.h"
#include "util.h"
#include "banned.h"

/* husk_json is yajl's tree node; the cast stays in this file.  */
#define Y(v) ((yajl_val) (v))
#define H(v) ((const husk_json *) (v))

husk_json *
husk_json_parse (const char *buf, size_t len, struct husk_error **err)
{
  char errbuf[256];
  cleanup_free char *text = NULL;
  yajl_val v;

  if (memchr (buf, '\0', len) != NULL)
    {
      husk_error_set (err, 0, "invalid json: contains a NUL byte");
      return NULL;
    }
  /* yajl_tree_parse wants a C string, and BUF[LEN] is not ours to read (a caller may hand
     over a slice or an exactly sized buffer): a copy costs little next to the parse.  */
  text = husk_xmalloc (len + 1);
  memcpy (text, buf, len);
  text[len] = '\0';
  errbuf[0] = '\0';
  v = yajl_tree_parse (text, errbuf, sizeof (errbuf));
  if (v == NULL)
    {
      /* yajl's message spans lines; keep the first.  */
      char *nl = strchr (errbuf, '\n');
      if (nl)
        *nl = '\0';
      husk_error_set (err, 0, "invalid json: %s", errbuf[0] ? errbuf : "parse error");
      return NULL;
    }
  return (husk_json *) v;
}

void
husk_json_free (husk_json *root)
{
  if (root)
    yajl_tree_free (Y (root));
}

bool
husk_json_is_object (const husk_json *v)
{
  return v != NULL && YAJL_IS_OBJECT (Y (v));
}

bool
husk_json_is_array (const husk_json *v)
{
  return v != NULL && YAJL_IS_ARRAY (Y (v));
}

const husk_json *
husk_json_get (const husk_json *v, const char *key)
{
  if (!husk_json_is_object (v))
    return NULL;
  for (size_t i = 0; i < Y (v)->u.object.len; i++)
    if (strcmp (Y (v)->u.object.keys[i], key) == 0)
      return H (Y (v)->u.object.values[i]);
  return NULL;
}

const char *
husk_json_string (const husk_json *v)
{
  if (v == NULL || !YAJL_IS_STRING (Y (v)))
    return NULL;
  return Y (v)->u.string;
}

const char *
husk_json_get_string (const husk_json *v, const char *key)
{
  return husk_json_string (husk_json_get (v, key));
}

bool
husk_json_int64 (const husk_json *v, int64_t *ret_value)
{
  if (v == NULL || !YAJL_IS_NUMBER (Y (v)))
    return false;
  if (!YAJL_IS_INTEGER (Y (v)))
    {
      /* yajl reads the magnitude before the sign, so INT64_MIN, which the generator writes,
         comes back as a double: read its text.  */
      const char *r = Y (v)->u.number.r;
      uint64_t mag;
      if (r[0] != '-' || husk_parse_u64 (r + 1, (uint64_t) INT64_MAX + 1, &mag) < 0
          || mag != (uint64_t) INT64_MAX + 1)
        return false;
      *ret_value = INT64_MIN;
      return true;
    }
  *ret_value = YAJL_GET_INTEGER (Y (v));
  return true;
}

bool
husk_json_bool (const husk_json *v, bool *ret_value)
{
  if (v == NULL)
    return false;
  if (YAJL_IS_TRUE (Y (v)))
    *ret_value = true;
  else if (YAJL_IS_FALSE (Y (v)))
    *ret_value = false;
  else
    return false;
  return true;
}

bool
husk_json_uint64 (const husk_json *v, uint64_t *ret_value)
{
  if (v == NULL || !YAJL_IS_NUMBER (Y (v)))
    return false;
  if (YAJL_IS_INTEGER (Y (v)))
    {
      if (YAJL_GET_INTEGER (Y (v)) < 0)
        return false;
      *ret_value = (uint64_t) YAJL_GET_INTEGER (Y (v));
      return true;
    }
  /* Past INT64_MAX: digits only (no sign, fraction or exponent), at most 2^64-1.  */
  return husk_parse_u64 (Y (v)->u.number.r, UINT64_MAX, ret_value) == 0;
}

bool
husk_json_is_null (const husk_json *v)
{
  return v != NULL && YAJL_IS_NULL (Y (v));
}

const char *
husk_json_kind (const husk_json *v)
{
  yajl_val y = Y (v);

  if (y == NULL)
    return "nothing";
  switch (y->type)
    {
    case yajl_t_string:
      return "a string";
    case yajl_t_number:
      return YAJL_IS_INTEGER (y) ? "an integer" : "a number";
    case yajl_t_object:
      return "an object";
    case yajl_t_array:
      return "an array";
    case yajl_t_true:
    case yajl_t_false:
      return "a boolean";
    case yajl_t_null:
      return "null";
    case yajl_t_any:
      break;
    }
  return "an unknown value";
}

size_t
husk_json_array_len (const husk_json *v)
{
  return husk_json_is_array (v) ? Y (v)->u.array.len : 0;
}

const husk_json *
husk_json_array_at (const husk_json *v, size_t i)
{
  if (i >= husk_json_array_len (v))
    return NULL;
  return H (Y (v)->u.array.values[i]);
}

size_t
husk_json_object_len (const husk_json *v)
{
  return husk_json_is_object (v) ? Y (v)->u.object.len : 0;
}

const char *
husk_json_object_key (const husk_json *v, size_t i)
{
  if (i >= husk_json_object_len (v))
    return NULL;
  return Y (v)->u.object.keys[i];
}

const husk_json *
husk_json_object_value (const husk_json *v, size_t i)
{
  if (i >= husk_json_object_len (v))
    return NULL;
  return H (Y (v)->u.object.values[i]);
}

char **
husk_json_strv (const husk_json *v, const char *what, struct husk_error **err)
{
  char **out = husk_xcalloc (1, sizeof (char *));

  if (v == NULL || YAJL_IS_NULL (Y (v)))
    return out;
  if (!husk_json_is_array (v))
    {
      husk_strv_free (out);
      husk_error_set (err, 0, "\"%s\": not an array", what);
      return NULL;
    }
  for (size_t i = 0; i < husk_json_array_len (v); i++)
    {
      const char *s = husk_json_string (husk_json_array_at (v, i));
      if (s == NULL)
        {
          husk_strv_free (out);
          husk_error_set (err, 0, "\"%s\": element %zu is not a string", what, i);
          return NULL;
        }
      husk_strv_append (&out, s);
    }
  return out;
}

struct husk_jgen
{
  yajl_gen g;
};

husk_jgen *
husk_jgen_new (bool pretty)
{
  husk_jgen *g = husk_xcalloc (1, sizeof (*g));
  g->g = yajl_gen_alloc (NULL);
  if (g->g == NULL)
    abort ();
  yajl_gen_config (g->g, yajl_gen_beautify, pretty ? 1 : 0);
  yajl_gen_config (g->g, yajl_gen_indent_string, "  ");
  yajl_gen_config (g->g, yajl_gen_validate_utf8, 0);
  return g;
}

void
husk_jgen_free (husk_jgen *g)
{
  if (g == NULL)
    return;
  yajl_gen_free (g->g);
  free (g);
}

void
husk_jgen_map_open (husk_jgen *g)
{
  yajl_gen_map_open (g->g);
}

void
husk_jgen_map_close (husk_jgen *g)
{
  yajl_gen_map_close (g->g);
}

void
husk_jgen_array_open (husk_jgen *g)
{
  yajl_gen_array_open (g->g);
}

void
husk_jgen_array_close (husk_jgen *g)
{
  yajl_gen_array_close (g->g);
}

void
husk_jgen_string (husk_jgen *g, const char *s)
{
  yajl_gen_string (g->g, (const unsigned char *) s, strlen (s));
}

void
husk_jgen_int (husk_jgen *g, int64_t v)
{
  yajl_gen_integer (g->g, v);
}

void
husk_jgen_uint64 (husk_jgen *g, uint64_t v)
{
  char buf[24];
  int n = snprintf (buf, sizeof (buf), "%" PRIu64, v);
  yajl_gen_number (g->g, buf, (size_t) n);
}

void
husk_jgen_bool (husk_jgen *g, bool v)
{
  yajl_gen_bool (g->g, v);
}

void
husk_jgen_null (husk_jgen *g)
{
  yajl_gen_null (g->g);
}

void
husk_jgen_value (husk_jgen *g, const husk_json *v)
{
  yajl_val y = Y (v);

  if (y == NULL || YAJL_IS_NULL (y))
    yajl_gen_null (g->g);
  else if (YAJL_IS_STRING (y))
    husk_jgen_string (g, y->u.string);
  else if (YAJL_IS_INTEGER (y))
    yajl_gen_integer (g->g, YAJL_GET_INTEGER (y));
  else if (YAJL_IS_NUMBER (y))
    yajl_gen_number (g->g, y->u.number.r, strlen (y->u.number.r));
  else if (YAJL_IS_TRUE (y) || YAJL_IS_FALSE (y))
    yajl_gen_bool (g->g, YAJL_IS_TRUE (y));
  else if (YAJL_IS_ARRAY (y))
    {
      yajl_gen_array_open (g->g);
      for (size_t i = 0; i < y->u.array.len; i++)
        husk_jgen_value (g, H (y->u.array.values[i]));
      yajl_gen_array_close (g->g);
    }
  else if (YAJL_IS_OBJECT (y))
    {
      yajl_gen_map_open (g->g);
      for (size_t i = 0; i < y->u.object.len; i++)
        {
          husk_jgen_string (g, y->u.object.keys[i]);
          husk_jgen_value (g, H (y->u.object.values[i]));
        }
      yajl_gen_map_close (g->g);
    }
}

const char *
husk_jgen_buf (husk_jgen *g, size_t *ret_len)
{
  const unsigned char *buf = NULL;
  size_t len = 0;
  yajl_gen_get_buf (g->g, &buf, &len);
  if (ret_len)
    *ret_len = len;
  return (const char *) buf;
}

void
husk_jgen_string_len (husk_jgen *g, const char *s, size_t len)
{
  yajl_gen_string (g->g, (const unsigned char *) s, len);
}

void
husk_jgen_next_line (husk_jgen *g)
{
  yajl_gen_reset (g->g, "\n");
}

void
husk_jgen_clear (husk_jgen *g)
{
  yajl_gen_clear (g->g);
}

struct strings_ctx
{
  const char *const *keys;
  size_t n;
  struct husk_json_str *ret;
  size_t depth;
  ssize_t pending; /* The key just read at depth 1, or -1.  */
  bool not_object;
};

/* A value begins: at depth 0 it must be the object, at depth 1 it is the pending key's.  */
static int
strings_value (struct strings_ctx *c, bool is_map)
{
  if (c->depth == 0 && !is_map)
    {
      c->not_object = true;
      return 0;
    }
  c->pending = -1;
  return 1;
}

static int
strings_scalar (void *ctx)
{
  return strings_value (ctx, false);
}

static int
strings_number (void *ctx, const char *s, size_t len)
{
  (void) s;
  (void) len;
  return strings_value (ctx, false);
}

static int
strings_bool (void *ctx, int b)
{
  (void) b;
  return strings_value (ctx, false);
}

static int
strings_string (void *ctx, const unsigned char *s, size_t len)
{
  struct strings_ctx *c = ctx;
  ssize_t k = c->pending;

  if (!strings_value (c, false))
    return 0;
  if (c->depth == 1 && k >= 0 && c->ret[k].s == NULL)
    {
      c->ret[k].s = husk_xmalloc (len + 1);
      memcpy (c->ret[k].s, s, len);
      c->ret[k].s[len] = '\0';
      c->ret[k].len = len;
    }
  return 1;
}

static int
strings_map_key (void *ctx, const unsigned char *key, size_t len)
{
  struct strings_ctx *c = ctx;

  c->pending = -1;
  if (c->depth != 1)
    return 1;
  for (size_t i = 0; i < c->n; i++)
    if (strlen (c->keys[i]) == len && memcmp (c->keys[i], key, len) == 0)
      {
        c->pending = (ssize_t) i;
        break;
      }
  return 1;
}

static int
strings_start_map (void *ctx)
{
  struct strings_ctx *c = ctx;
  if (!strings_value (c, true))
    return 0;
  c->depth++;
  return 1;
}

static int
strings_start_array (void *ctx)
{
  struct strings_ctx *c = ctx;
  if (!strings_value (c, false))
    return 0;
  c->depth++;
  return 1;
}

static int
strings_end (void *ctx)
{
  struct strings_ctx *c = ctx;
  c->depth--;
  return 1;
}

void
husk_json_strs_clear (struct husk_json_str *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].s);
      v[i].s = NULL;
      v[i].len = 0;
    }
}

int
husk_json_parse_strings (const char *buf, size_t len, const char *const *keys, size_t n,
                         struct husk_json_str *ret, struct husk_error **err)
{
  static const yajl_callbacks cb = {
    .yajl_null = strings_scalar,
    .yajl_boolean = strings_bool,
    .yajl_number = strings_number,
    .yajl_string = strings_string,
    .yajl_start_map = strings_start_map,
    .yajl_map_key = strings_map_key,
    .yajl_end_map = strings_end,
    .yajl_start_array = strings_start_array,
    .yajl_end_array = strings_end,
  };
  struct strings_ctx c = { .keys = keys, .n = n, .ret = ret, .pending = -1 };
  yajl_handle h;
  yajl_status st;

  for (size_t i = 0; i < n; i++)
    ret[i] = (struct husk_json_str){ NULL, 0 };
  h = yajl_alloc (&cb, NULL, &c);
  if (h == NULL)
    abort ();
  st = yajl_parse (h, (const unsigned char *) buf, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse (h);
  if (st != yajl_status_ok)
    {
      if (c.not_object)
        husk_error_set (err, 0, "invalid json: not an object");
      else
        {
          unsigned char *msg = yajl_get_error (h, 0, (const unsigned char *) buf, len);
          char *nl = msg ? strchr ((char *) msg, '\n') : NULL;
          if (nl)
            *nl = '\0';
          husk_error_set (err, 0, "invalid json: %s", msg ? (char *) msg : "parse error");
          if (msg)
            yajl_free_error (h, msg);
        }
      yajl_free (h);
      husk_json_strs_clear (ret, n);
      return -1;
    }
  yajl_free (h);
  return 0;
}
