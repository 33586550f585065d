/* Unit tests for lib/jsonmap: a table of every type, encoded to the exact bytes, decoded back,
   wrong types, missing required members, unknown keys, LAX tables.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "jsonmap.h"
#include "tap.h"
#include "util.h"

enum color
{
  RED,
  GREEN,
  BLUE,
};

struct inner
{
  char *host;
  int port;
};

struct item
{
  char *k;
  int64_t n;
  bool on;
};

struct doc
{
  char id[9];
  char *name;
  const char *note;
  int count;
  int64_t big;
  uint64_t huge;
  uint64_t wrapped;
  bool flag;
  enum color color;
  char **args;
  char **labels;
  struct inner inner;
  struct item *items;
  size_t n_items;
  char *deep; /* "nested": {"deep": ...}, flat in C.  */
  int quiet;  /* OMIT_EMPTY.  */
  char **none;
};

static const struct husk_jsonmap_enum colors[] = {
  { "red", RED },
  { "green", GREEN },
  { "blue", BLUE },
  { NULL, 0 },
};

static const struct husk_jsonmap_field inner_fields[] = {
  HUSK_JM_STRING ("host", struct inner, host, 0),
  HUSK_JM_INT ("port", struct inner, port, 0),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field item_fields[] = {
  HUSK_JM_STRING ("k", struct item, k, HUSK_JM_REQUIRED),
  HUSK_JM_INT64 ("n", struct item, n, 0),
  HUSK_JM_BOOL ("on", struct item, on, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field nested_fields[] = {
  HUSK_JM_STRING ("deep", struct doc, deep, 0),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field doc_fields[] = {
  HUSK_JM_CHARS ("id", struct doc, id, 0),
  HUSK_JM_STRING ("name", struct doc, name, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("note", struct doc, note, 0),
  HUSK_JM_INT ("count", struct doc, count, 0),
  HUSK_JM_INT64 ("big", struct doc, big, 0),
  HUSK_JM_UINT64 ("huge", struct doc, huge, 0),
  HUSK_JM_U64_AS_I64 ("wrapped", struct doc, wrapped, 0),
  HUSK_JM_BOOL ("flag", struct doc, flag, 0),
  HUSK_JM_ENUM ("color", struct doc, color, colors, 0),
  HUSK_JM_STRV ("args", struct doc, args, 0),
  HUSK_JM_STRMAP ("labels", struct doc, labels, 0),
  HUSK_JM_OBJECT ("inner", struct doc, inner, inner_fields, 0),
  HUSK_JM_ARRAY ("items", struct doc, items, n_items, item_fields, 0),
  HUSK_JM_NESTED ("nested", nested_fields, 0),
  HUSK_JM_INT ("quiet", struct doc, quiet, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_STRV ("none", struct doc, none, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_END,
};

/* The same members, every one LAX.  */
static const struct husk_jsonmap_field lax_item_fields[] = {
  HUSK_JM_STRING ("k", struct item, k, HUSK_JM_LAX),
  HUSK_JM_INT64 ("n", struct item, n, HUSK_JM_LAX),
  HUSK_JM_END,
};
static const struct husk_jsonmap_field lax_fields[] = {
  HUSK_JM_CHARS ("id", struct doc, id, HUSK_JM_LAX),
  HUSK_JM_STRING ("name", struct doc, name, HUSK_JM_LAX),
  HUSK_JM_INT ("count", struct doc, count, HUSK_JM_LAX),
  HUSK_JM_UINT64 ("huge", struct doc, huge, HUSK_JM_LAX),
  HUSK_JM_BOOL ("flag", struct doc, flag, HUSK_JM_LAX),
  HUSK_JM_ENUM ("color", struct doc, color, colors, HUSK_JM_LAX),
  HUSK_JM_STRV ("args", struct doc, args, HUSK_JM_LAX),
  HUSK_JM_OBJECT ("inner", struct doc, inner, inner_fields, HUSK_JM_LAX),
  HUSK_JM_ARRAY ("items", struct doc, items, n_items, lax_item_fields, HUSK_JM_LAX),
  HUSK_JM_END,
};

/* A write-only member is written and never read back.  */
static const struct husk_jsonmap_field wo_fields[] = {
  HUSK_JM_CHARS ("id", struct doc, id, HUSK_JM_WRITE_ONLY),
  HUSK_JM_STRING ("name", struct doc, name, 0),
  HUSK_JM_END,
};

static char *
encode (const struct husk_jsonmap_field *t, const struct doc *d)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  size_t len;
  const char *buf;

  husk_jsonmap_encode (g, t, d);
  buf = husk_jgen_buf (g, &len);
  return husk_strdup_printf ("%.*s", (int) len, buf);
}

static int
decode (const struct husk_jsonmap_field *t, const char *json, struct doc *d,
        struct husk_error **err)
{
  return husk_jsonmap_parse (json, strlen (json), t, d, err);
}

static void
test_round_trip (void)
{
  struct doc d = { 0 }, back = { 0 };
  struct item items[2] = { { (char *) "a", -5, true }, { (char *) "b\"", 1LL << 40, false } };
  char *args[] = { (char *) "/bin/sh", (char *) "-c", (char *) "é \\ \n", NULL };
  char *labels[] = { (char *) "x", (char *) "1", (char *) "y.z", (char *) "", NULL };
  cleanup_free char *out = NULL, *again = NULL;
  struct husk_error *err = NULL;
  static const char want[]
      = "{\"id\":\"abc\",\"name\":\"n\",\"count\":-7,\"big\":-9223372036854775808,"
        "\"huge\":18446744073709551615,\"wrapped\":-1,\"flag\":true,\"color\":\"blue\","
        "\"args\":[\"/bin/sh\",\"-c\",\"é \\\\ \\n\"],\"labels\":{\"x\":\"1\",\"y.z\":\"\"},"
        "\"inner\":{\"host\":\"h\",\"port\":80},"
        "\"items\":[{\"k\":\"a\",\"n\":-5,\"on\":true},{\"k\":\"b\\\"\",\"n\":1099511627776}],"
        "\"nested\":{\"deep\":\"down\"},\"quiet\":3,\"none\":[\"x\"]}";
  char *none[] = { (char *) "x", NULL };

  memcpy (d.id, "abc", 4);
  d.name = (char *) "n";
  d.count = -7;
  d.big = INT64_MIN;
  d.huge = UINT64_MAX;
  d.wrapped = UINT64_MAX;
  d.flag = true;
  d.color = BLUE;
  d.args = args;
  d.labels = labels;
  d.inner.host = (char *) "h";
  d.inner.port = 80;
  d.items = items;
  d.n_items = 2;
  d.deep = (char *) "down";
  d.quiet = 3;
  d.none = none;
  out = encode (doc_fields, &d);
  is_str (out, want, "every type encodes to the exact bytes, in the table's order");

  ok (decode (doc_fields, out, &back, &err) == 0, "and decodes");
  if (err)
    printf ("#   %s\n", err->msg);
  husk_error_free (&err);
  ok (strcmp (back.id, "abc") == 0 && strcmp (back.name, "n") == 0 && back.note == NULL
          && back.count == -7 && back.big == INT64_MIN && back.huge == UINT64_MAX
          && back.wrapped == UINT64_MAX && back.flag && back.color == BLUE,
      "scalars come back");
  ok (husk_strv_len (back.args) == 3 && strcmp (back.args[2], "é \\ \n") == 0
          && husk_strv_len (back.labels) == 4 && strcmp (back.labels[2], "y.z") == 0
          && strcmp (back.labels[3], "") == 0,
      "a string array and a string map come back");
  ok (strcmp (back.inner.host, "h") == 0 && back.inner.port == 80 && back.n_items == 2
          && strcmp (back.items[1].k, "b\"") == 0 && back.items[1].n == 1LL << 40
          && back.items[0].on && !back.items[1].on && strcmp (back.deep, "down") == 0,
      "a nested object, an array of objects and a nested table come back");
  again = encode (doc_fields, &back);
  is_str (again, want, "and encode to the same bytes");
  husk_jsonmap_clear (doc_fields, &back);
  ok (back.name == NULL && back.args == NULL && back.items == NULL && back.n_items == 0
          && back.inner.host == NULL && back.id[0] == '\0' && back.count == 0,
      "clear frees and zeroes every member");

  /* Nothing set: NULL strings left out, arrays and maps empty, OMIT_EMPTY members left out.  */
  memset (&d, 0, sizeof (d));
  free (out);
  out = encode (doc_fields, &d);
  is_str (out,
          "{\"id\":\"\",\"count\":0,\"big\":0,\"huge\":0,\"wrapped\":0,\"flag\":false,"
          "\"color\":\"red\",\"args\":[],\"labels\":{},\"inner\":{\"port\":0},\"items\":[],"
          "\"nested\":{}}",
          "an empty struct: NULL strings and OMIT_EMPTY members are left out");

  /* Absent and null members leave what the caller set; unknown keys are ignored.  */
  memset (&back, 0, sizeof (back));
  back.count = 42;
  back.note = husk_xstrdup ("kept");
  ok (decode (doc_fields,
              "{\"name\":\"x\",\"count\":null,\"unknown\":[1,{\"a\":2}],\"inner\":{\"extra\":1},"
              "\"nested\":{\"deep\":null,\"other\":\"y\"}}",
              &back, &err)
              == 0
          && back.count == 42 && strcmp (back.note, "kept") == 0 && back.deep == NULL
          && back.args == NULL,
      "absent or null members stay as they were; unknown keys are ignored");
  husk_error_free (&err);
  ok (decode (doc_fields, "{\"name\":\"y\",\"note\":\"new\"}", &back, &err) == 0
          && strcmp (back.name, "y") == 0 && strcmp (back.note, "new") == 0,
      "decoding again replaces (and frees) what members held");
  husk_error_free (&err);
  husk_jsonmap_clear (doc_fields, &back);

  memset (&d, 0, sizeof (d));
  memcpy (d.id, "keep", 5);
  d.name = (char *) "w";
  free (out);
  out = encode (wo_fields, &d);
  memset (&back, 0, sizeof (back));
  ok (strcmp (out, "{\"id\":\"keep\",\"name\":\"w\"}") == 0
          && decode (wo_fields, "{\"id\":\"other\",\"name\":\"w\"}", &back, &err) == 0
          && back.id[0] == '\0' && strcmp (back.name, "w") == 0,
      "a write-only member is written, never read");
  husk_error_free (&err);
  husk_jsonmap_clear (wo_fields, &back);
}

static void
test_errors (void)
{
  static const struct
  {
    const char *json, *msg;
  } cases[] = {
    { "{}", "\"name\": missing, expected a string" },
    { "{\"name\":null}", "\"name\": missing, expected a string" },
    { "{\"name\":1}", "\"name\": expected a string, got an integer" },
    { "{\"name\":\"n\",\"id\":\"123456789\"}", "\"id\": expected a string of at most 8 bytes" },
    { "{\"name\":\"n\",\"count\":\"1\"}", "\"count\": expected an integer, got a string" },
    { "{\"name\":\"n\",\"count\":2147483648}",
      "\"count\": expected an integer from -2147483648 to 2147483647, got 2147483648" },
    { "{\"name\":\"n\",\"big\":true}", "\"big\": expected an integer, got a boolean" },
    { "{\"name\":\"n\",\"huge\":-1}",
      "\"huge\": expected an integer from 0 to 18446744073709551615, got an integer" },
    { "{\"name\":\"n\",\"huge\":18446744073709551616}",
      "\"huge\": expected an integer from 0 to 18446744073709551615, got a number" },
    { "{\"name\":\"n\",\"flag\":1}", "\"flag\": expected a boolean, got an integer" },
    { "{\"name\":\"n\",\"color\":\"pink\"}",
      "\"color\": expected one of \"red\", \"green\", \"blue\", got \"pink\"" },
    { "{\"name\":\"n\",\"color\":0}", "\"color\": expected a string, got an integer" },
    { "{\"name\":\"n\",\"args\":\"a b\"}", "\"args\": expected an array of strings, got a string" },
    { "{\"name\":\"n\",\"args\":[\"a\",2]}", "\"args[1]\": expected a string, got an integer" },
    { "{\"name\":\"n\",\"labels\":[]}", "\"labels\": expected an object of strings, got an array" },
    { "{\"name\":\"n\",\"labels\":{\"a\":\"1\",\"b\":{}}}",
      "\"labels.b\": expected a string, got an object" },
    { "{\"name\":\"n\",\"inner\":[]}", "\"inner\": expected an object, got an array" },
    { "{\"name\":\"n\",\"inner\":{\"port\":\"80\"}}",
      "\"inner.port\": expected an integer, got a string" },
    { "{\"name\":\"n\",\"items\":{}}", "\"items\": expected an array of objects, got an object" },
    { "{\"name\":\"n\",\"items\":[{\"k\":\"a\"},\"b\"]}",
      "\"items[1]\": expected an object, got a string" },
    { "{\"name\":\"n\",\"items\":[{\"k\":\"a\"},{\"n\":1}]}",
      "\"items[1].k\": missing, expected a string" },
    { "{\"name\":\"n\",\"items\":[{\"k\":\"a\",\"n\":[]}]}",
      "\"items[0].n\": expected an integer, got an array" },
    { "{\"name\":\"n\",\"nested\":{\"deep\":false}}",
      "\"nested.deep\": expected a string, got a boolean" },
    { "[]", "expected an object, got an array" },
    { "\"name\"", "expected an object, got a string" },
    { "{\"name\":", "invalid json: parse error: premature EOF" },
  };

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      struct doc d = { 0 };
      struct husk_error *err = NULL;
      int rc;

      d.note = husk_xstrdup ("caller's");
      rc = decode (doc_fields, cases[i].json, &d, &err);
      ok (rc < 0 && err, "%s fails", cases[i].json);
      is_str (err ? err->msg : NULL, cases[i].msg, "%s: the error", cases[i].json);
      ok (d.name == NULL && d.note == NULL && d.items == NULL && d.args == NULL
              && d.inner.host == NULL,
          "%s: every member is cleared", cases[i].json);
      husk_error_free (&err);
      husk_jsonmap_clear (doc_fields, &d);
    }
}

static void
test_lax (void)
{
  struct doc d = { 0 };
  struct husk_error *err = NULL;

  d.count = 5;
  d.color = GREEN;
  memcpy (d.id, "old", 4);
  ok (decode (lax_fields,
              "{\"id\":\"far too long\",\"name\":7,\"count\":\"x\",\"huge\":-3,\"flag\":\"yes\","
              "\"color\":\"pink\",\"args\":[\"a\",1],\"inner\":5,"
              "\"items\":[1,{\"k\":2,\"n\":3}]}",
              &d, &err)
          == 0,
      "a LAX table takes values of the wrong type");
  if (err)
    printf ("#   %s\n", err->msg);
  husk_error_free (&err);
  ok (strcmp (d.id, "old") == 0 && d.name == NULL && d.count == 5 && d.huge == 0 && !d.flag
          && d.color == GREEN && d.args == NULL && d.inner.host == NULL,
      "as absent: the members keep what they held");
  ok (d.n_items == 2 && d.items[0].k == NULL && d.items[0].n == 0 && d.items[1].k == NULL
          && d.items[1].n == 3,
      "an element that is not an object is an empty element");
  husk_jsonmap_clear (lax_fields, &d);
}

int
main (void)
{
  test_round_trip ();
  test_errors ();
  test_lax ();
  return tap_done ();
}
