/* Why a step missed the cache (husk build --cache-explain; build-internal.h).

   A step's key is a hash chain: it says that something changed, never what.  So every layer
   step that runs leaves a probe at its place in the Dockerfile (the context, the Dockerfile,
   the stage, the step's number among the stage's RUN, COPY and ADD steps), overwritten by the
   next build that runs it there: the key, the stage's start, the key of the layer step before,
   the metadata steps' texts in between, its own text and, for a RUN, the build arguments it
   sees (their values hashed), for a COPY or ADD the files it selected with a short hash of
   each (at most PROBE_FILES of them).  A step that misses is compared with its probe, from
   the stage's start to the step itself, and the first difference is the reason.

   Nothing here runs on a cache hit without --cache-explain: a rebuild with nothing changed
   reads and writes no probe.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build-internal.h"
#include "cleanup.h"
#include "json.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define EXPLAIN_DIR "build-cache/explain"
#define PROBE_FILES 4096            /* Files a probe lists, at most.  */
#define PROBE_MAX (4 * 1024 * 1024) /* Bytes of a probe read back, at most.  */
#define SHORT_HASH 16               /* Hex digits of a file's or a value's hash kept.  */
#define SHOWN_MAX 80                /* Characters of an instruction shown.  */
#define FILES_SHOWN 3               /* Files named before "(+N more)".  */

/* What the last build that ran a step left at its place.  */
struct probe
{
  husk_json *root;
  const char *key, *base, *base_desc, *prev, *text, *shown, *why, *run;
  const husk_json *between, *env, *paths, *hashes;
  bool truncated;
};

static void
probe_clear (struct probe *p)
{
  husk_json_free (p->root);
  memset (p, 0, sizeof *p);
}

/* The first SHORT_HASH hex digits of the hash of S, into OUT.  */
static void
short_hash (const char *s, char out[SHORT_HASH + 1])
{
  char d[HUSK_DIGEST_LEN + 1];

  bld_build_key ("", s, d);
  memcpy (out, husk_digest_hex (d), SHORT_HASH);
  out[SHORT_HASH] = '\0';
}

/* build-cache/explain/HEX.json of the step at hand.  */
static char *
probe_path (struct stage_exec *x)
{
  struct build *b = x->b;
  char d[HUSK_DIGEST_LEN + 1];
  cleanup_free char *stage = NULL, *text = NULL;

  if (b->explain_where == NULL)
    {
      cleanup_free char *ctx = realpath (b->o->context, NULL);
      cleanup_free char *df = NULL;
      cleanup_free char *where = NULL;
      if (b->o->dockerfile == NULL)
        df = husk_xstrdup ("Dockerfile");
      else if (strcmp (b->o->dockerfile, "-") == 0
               || (df = realpath (b->o->dockerfile, NULL)) == NULL)
        df = husk_xstrdup (b->o->dockerfile);
      where = husk_strdup_printf ("%zu:%s%zu:%s", strlen (ctx ? ctx : b->o->context),
                                  ctx ? ctx : b->o->context, strlen (df), df);
      bld_build_key ("husk build explain v1", where, d);
      b->explain_where = husk_xstrdup (husk_digest_hex (d));
    }
  stage = x->st->name ? husk_strdup_printf ("name %s", x->st->name)
                      : husk_strdup_printf ("number %zu", x->st->index);
  text = husk_strdup_printf ("%s step %u", stage, x->ex.ordinal);
  bld_build_key (b->explain_where, text, d);
  return husk_strdup_printf ("%s/%s.json", EXPLAIN_DIR, husk_digest_hex (d));
}

static bool
probe_load (struct stage_exec *x, struct probe *ret)
{
  cleanup_free char *path = probe_path (x);
  cleanup_free char *buf = NULL;
  cleanup_error struct husk_error *e = NULL;
  struct probe p = { 0 };
  size_t len;

  if (husk_read_file_at (husk_store_rootfd (x->b->s), path, PROBE_MAX, &buf, &len, &e) < 0
      || (p.root = husk_json_parse (buf, len, &e)) == NULL)
    return false;
  p.key = husk_json_get_string (p.root, "key");
  p.base = husk_json_get_string (p.root, "base");
  p.base_desc = husk_json_get_string (p.root, "base_desc");
  p.prev = husk_json_get_string (p.root, "prev");
  p.text = husk_json_get_string (p.root, "text");
  p.shown = husk_json_get_string (p.root, "shown");
  p.why = husk_json_get_string (p.root, "why");
  p.run = husk_json_get_string (p.root, "run");
  p.between = husk_json_get (p.root, "between");
  p.env = husk_json_get (p.root, "env");
  p.paths = husk_json_get (p.root, "paths");
  p.hashes = husk_json_get (p.root, "hashes");
  husk_json_bool (husk_json_get (p.root, "truncated"), &p.truncated);
  if (p.key == NULL || p.base == NULL || p.prev == NULL || p.text == NULL || p.shown == NULL
      || !husk_json_is_array (p.between)
      || husk_json_array_len (p.paths) != husk_json_array_len (p.hashes))
    {
      probe_clear (&p);
      return false;
    }
  *ret = p;
  return true;
}

/* *S with its first NEEDLE replaced by WITH.  */
static void
replace_once (char **s, const char *needle, const char *with)
{
  char *at = *needle ? strstr (*s, needle) : NULL;
  char *t;

  if (at == NULL)
    return;
  t = husk_strdup_printf ("%.*s%s%s", (int) (at - *s), *s, with, at + strlen (needle));
  free (*s);
  *s = t;
}

/* The step's key text without what is compared on its own: the hash of a COPY's sources, the
   values of a RUN's build arguments.  */
static char *
masked_text (const struct bld_explain *e)
{
  char *t = husk_xstrdup (e->text ? e->text : "");

  if (e->sel && e->sel->hash[0])
    replace_once (&t, e->sel->hash, "<sources>");
  if (e->env)
    {
      cleanup_free char *json = bld_json_strv (e->env);
      cleanup_free char *needle = husk_strdup_printf (" env=%s ", json);
      replace_once (&t, needle, " env=<args> ");
    }
  return t;
}

/* "NAME=HASH" for "NAME=VALUE": a value is compared, never kept.  */
static char *
hashed_assignment (const char *kv)
{
  size_t k = strcspn (kv, "=");
  char h[SHORT_HASH + 1];

  if (kv[k] == '\0')
    return husk_xstrdup (kv);
  short_hash (kv + k + 1, h);
  return husk_strdup_printf ("%.*s=#%s", (int) k, kv, h);
}

/* A file's short hash: what the context's hash takes of it (context.h).  */
static void
entry_hash (const struct husk_ctx_entry *en, char out[SHORT_HASH + 1])
{
  cleanup_free char *s
      = husk_strdup_printf ("%o %u %u %s %s", (unsigned) en->mode, (unsigned) en->uid,
                            (unsigned) en->gid, en->link ? en->link : "", en->digest);
  short_hash (s, out);
}

static void
jgen_kv (husk_jgen *g, const char *k, const char *v)
{
  husk_jgen_string (g, k);
  husk_jgen_string (g, v);
}

static void
probe_write (struct stage_exec *x, const char *key, const char *created_by)
{
  const struct bld_explain *e = &x->ex;
  int rootfd = husk_store_rootfd (x->b->s);
  cleanup_free char *path = probe_path (x);
  cleanup_free char *text = masked_text (e);
  cleanup_error struct husk_error *err = NULL;
  husk_jgen *g;
  const char *buf;
  size_t len;

  if ((mkdirat (rootfd, "build-cache", 0700) < 0 && errno != EEXIST)
      || (mkdirat (rootfd, EXPLAIN_DIR, 0700) < 0 && errno != EEXIST))
    return; /* A probe is never worth failing a build for.  */
  g = husk_jgen_new (false);
  husk_jgen_map_open (g);
  jgen_kv (g, "key", key);
  jgen_kv (g, "base", e->base);
  jgen_kv (g, "base_desc", e->base_desc ? e->base_desc : "");
  jgen_kv (g, "prev", e->prev);
  husk_jgen_string (g, "between");
  husk_jgen_array_open (g);
  for (size_t i = 0; e->between && e->between[i]; i++)
    husk_jgen_string (g, e->between[i]);
  husk_jgen_array_close (g);
  jgen_kv (g, "text", text);
  jgen_kv (g, "shown", created_by);
  if (e->env)
    {
      husk_jgen_string (g, "env");
      husk_jgen_array_open (g);
      for (size_t i = 0; e->env[i]; i++)
        {
          cleanup_free char *a = hashed_assignment (e->env[i]);
          husk_jgen_string (g, a);
        }
      husk_jgen_array_close (g);
    }
  if (e->sel && e->sel->hash[0])
    {
      size_t n = e->sel->n_entries < PROBE_FILES ? e->sel->n_entries : PROBE_FILES;
      husk_jgen_string (g, "paths");
      husk_jgen_array_open (g);
      for (size_t i = 0; i < n; i++)
        husk_jgen_string (g, e->sel->entries[i].path);
      husk_jgen_array_close (g);
      husk_jgen_string (g, "hashes");
      husk_jgen_array_open (g);
      for (size_t i = 0; i < n; i++)
        {
          char h[SHORT_HASH + 1];
          entry_hash (&e->sel->entries[i], h);
          husk_jgen_string (g, h);
        }
      husk_jgen_array_close (g);
      husk_jgen_string (g, "truncated");
      husk_jgen_bool (g, n < e->sel->n_entries);
    }
  if (e->why && x->b->nonce[0])
    {
      jgen_kv (g, "why", e->why);
      jgen_kv (g, "run", x->b->nonce);
    }
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  husk_write_file_replace_at (rootfd, path, buf, len, 0600, &err);
  husk_jgen_free (g);
}

/* ---------------------------------------------------------------- the reasons  */

/* S cut to SHOWN_MAX characters, in double quotes.  */
static char *
quoted (const char *s)
{
  size_t n = strlen (s);

  if (n <= SHOWN_MAX)
    return husk_strdup_printf ("\"%s\"", s);
  return husk_strdup_printf ("\"%.*s...\"", SHOWN_MAX, s);
}

static char *
was_now (const char *what, const char *was, const char *now)
{
  cleanup_free char *a = quoted (was), *b = quoted (now);
  return husk_strdup_printf ("%s: was %s, now %s", what, a, b);
}

/* The value of NAME among WORDS ("NAME=VALUE" or "NAME"): "" for a NAME without "=", NULL when
   NAME is not there.  */
static const char *
word_value (char *const *words, const char *name)
{
  size_t k = strlen (name);

  for (size_t i = 0; words && words[i]; i++)
    if (strncmp (words[i], name, k) == 0 && (words[i][k] == '=' || words[i][k] == '\0'))
      return words[i] + k + (words[i][k] == '=');
  return NULL;
}

/* *NAMES += the names of the assignments in A and B whose values differ (or that only one
   has), each once.  */
static void
changed_names (char *const *a, char *const *b, char **names)
{
  for (int pass = 0; pass < 2; pass++)
    {
      char *const *from = pass ? b : a, *const *other = pass ? a : b;
      for (size_t i = 0; from && from[i]; i++)
        {
          size_t k = strcspn (from[i], "=");
          cleanup_free char *name = husk_strdup_printf ("%.*s", (int) k, from[i]);
          const char *v = word_value (other, name);
          const char *mine = word_value (from, name);
          if (v != NULL && strcmp (v, mine) == 0)
            continue;
          if (pass == 1 && word_value (a, name) != NULL)
            continue; /* Named in the first pass.  */
          bld_append (names, "%s%s", *names ? ", " : "", name);
        }
    }
}

static char **
json_words (const husk_json *v)
{
  char **out = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; i < husk_json_array_len (v); i++)
    {
      const char *s = husk_json_string (husk_json_array_at (v, i));
      if (s)
        husk_strv_append (&out, s);
    }
  return out;
}

static char **
split_words (const char *s)
{
  char **out = husk_xcalloc (1, sizeof (char *));

  while (*s)
    {
      size_t k = strcspn (s, " ");
      if (k > 0)
        {
          cleanup_free char *w = husk_strdup_printf ("%.*s", (int) k, s);
          husk_strv_append (&out, w);
        }
      s += k + (s[k] == ' ');
    }
  return out;
}

static char *
args_changed (char *const *a, char *const *b)
{
  cleanup_free char *names = NULL;

  changed_names (a, b, &names);
  if (names == NULL)
    return NULL;
  return husk_strdup_printf ("the build %s %s changed", strchr (names, ',') ? "args" : "arg",
                             names);
}

/* Why the metadata steps before the step differ from the probe's, or NULL when they do not.  */
static char *
why_between (const struct bld_explain *e, const struct probe *p)
{
  size_t n = husk_strv_len (e->between), m = husk_json_array_len (p->between);

  for (size_t i = 0; i < n || i < m; i++)
    {
      const char *now = i < n ? e->between[i] : NULL;
      const char *was = i < m ? husk_json_string (husk_json_array_at (p->between, i)) : NULL;
      if (now && was && strcmp (now, was) == 0)
        continue;
      if (now && was && husk_str_has_prefix (now, "ARG ") && husk_str_has_prefix (was, "ARG "))
        {
          cleanup_strv char **a = split_words (was + 4), **b = split_words (now + 4);
          char *r = args_changed (a, b);
          if (r)
            return r;
        }
      if (now && was)
        return was_now ("an instruction before it changed", was, now);
      if (now)
        {
          cleanup_free char *q = quoted (now);
          return husk_strdup_printf ("an instruction before it is new: %s", q);
        }
      if (was)
        {
          cleanup_free char *q = quoted (was);
          return husk_strdup_printf ("an instruction before it is gone: %s", q);
        }
      return husk_xstrdup ("an instruction before it changed");
    }
  return NULL;
}

static int
cmp_pair (const void *a, const void *b)
{
  return strcmp (((char *const *) a)[0], ((char *const *) b)[0]);
}

/* Why a COPY's sources differ from the probe's: the files added, removed or changed.  */
static char *
why_files (const struct bld_explain *e, const struct probe *p)
{
  size_t n = e->sel->n_entries < PROBE_FILES ? e->sel->n_entries : PROBE_FILES;
  size_t m = husk_json_array_len (p->paths), i = 0, j = 0, count = 0;
  cleanup_free char **now = husk_xcalloc (2 * n + 1, sizeof (char *));
  cleanup_free const char **was = husk_xcalloc (2 * m + 1, sizeof (char *));
  cleanup_strv char **hashes = husk_xcalloc (n + 1, sizeof (char *));
  cleanup_free char *names = NULL;

  for (size_t k = 0; k < n; k++)
    {
      char h[SHORT_HASH + 1];
      entry_hash (&e->sel->entries[k], h);
      hashes[k] = husk_xstrdup (h);
      now[2 * k] = e->sel->entries[k].path;
      now[2 * k + 1] = hashes[k];
    }
  for (size_t k = 0; k < m; k++)
    {
      was[2 * k] = husk_json_string (husk_json_array_at (p->paths, k));
      was[2 * k + 1] = husk_json_string (husk_json_array_at (p->hashes, k));
      if (was[2 * k] == NULL || was[2 * k + 1] == NULL)
        return NULL;
    }
  qsort (now, n, 2 * sizeof (char *), cmp_pair);
  qsort (was, m, 2 * sizeof (char *), cmp_pair);
  while (i < n || j < m)
    {
      int c = i == n ? 1 : j == m ? -1 : strcmp (now[2 * i], was[2 * j]);
      const char *name = c < 0 ? now[2 * i] : was[2 * j];
      bool differs = c != 0 || strcmp (now[2 * i + 1], was[2 * j + 1]) != 0;
      /* A list cut at PROBE_FILES (the first in the selection's order) may leave out any name:
         only a file both lists have, with another hash, is known to have changed.  */
      bool unknown = c != 0 && (p->truncated || n < e->sel->n_entries);
      if (differs && !unknown)
        {
          if (count < FILES_SHOWN)
            bld_append (&names, "%s%s%s", names ? ", " : "", name,
                        c < 0   ? " (new)"
                        : c > 0 ? " (gone)"
                                : "");
          count++;
        }
      i += c <= 0;
      j += c >= 0;
    }
  if (count == 0 && (p->truncated || n < e->sel->n_entries))
    return husk_strdup_printf ("source files changed (more than %d files: not listed)",
                               PROBE_FILES);
  if (count == 0)
    return NULL;
  if (count > FILES_SHOWN)
    return husk_strdup_printf ("source files changed: %s (+%zu more)", names, count - FILES_SHOWN);
  return husk_strdup_printf ("source files changed: %s", names);
}

static char *
why_of (struct stage_exec *x, const char *key, const char *created_by, const struct probe *p)
{
  const struct bld_explain *e = &x->ex;
  cleanup_free char *text = NULL;
  char *r;

  if (strcmp (p->key, key) == 0)
    return husk_xstrdup (
        "the same step was built before, but its cache entry or its layer is gone");
  if (e->prev[0] == '\0' && p->prev[0] == '\0' && strcmp (e->base, p->base) != 0)
    {
      const char *was = p->base_desc ? p->base_desc : "";
      const char *now = e->base_desc ? e->base_desc : "";
      if (husk_str_has_prefix (now, "stage ") && strcmp (was, now) == 0)
        return husk_strdup_printf ("the %s it starts from changed", now);
      if (strcmp (was, now) != 0 && *was && *now)
        return husk_strdup_printf ("the base image changed: was %s, now %s", was, now);
      return husk_xstrdup ("the base image changed");
    }
  if (strcmp (e->prev, p->prev) != 0)
    {
      if (e->prev[0] == '\0' || p->prev[0] == '\0')
        return husk_xstrdup ("the steps before it changed");
      return husk_xstrdup (e->last_missed ? "the step before missed"
                                          : "the step before changed (another cached result)");
    }
  if ((r = why_between (e, p)) != NULL)
    return r;
  if (strcmp (p->shown, created_by) != 0)
    return was_now ("the instruction changed", p->shown, created_by);
  text = masked_text (e);
  if (strcmp (p->text, text) != 0)
    {
      if (strstr (text, " from=stage ") || strstr (text, " from=image "))
        return husk_xstrdup ("the stage or image it copies from changed");
      return was_now ("the instruction changed", p->text, text);
    }
  if (e->env)
    {
      cleanup_strv char **now = husk_xcalloc (1, sizeof (char *));
      cleanup_strv char **was = json_words (p->env);
      for (size_t i = 0; e->env[i]; i++)
        {
          cleanup_free char *a = hashed_assignment (e->env[i]);
          husk_strv_append (&now, a);
        }
      if ((r = args_changed (was, now)) != NULL)
        return r;
    }
  if (e->sel && e->sel->hash[0] && (r = why_files (e, p)) != NULL)
    return r;
  if (e->sel && e->sel->hash[0])
    return husk_xstrdup ("the selected sources changed");
  return husk_xstrdup ("what it depends on changed");
}

/* The why line (the build that re-executed at this step does not print it again: bld_say
   counts it among the lines the first one printed).  */
static void
say_why (struct stage_exec *x, const char *why)
{
  bld_say (x->b, "--> Cache miss: %s", why);
}

/* ---------------------------------------------------------------- the build's side  */

/* Before the first stage: this build's nonce, which the children that build stages in
   parallel inherit (the parent then finds the reasons they recorded).  */
void
bld_explain_begin (struct build *b)
{
  struct timespec ts;

  if (!b->o->cache_explain)
    return;
  clock_gettime (CLOCK_REALTIME, &ts);
  snprintf (b->nonce, sizeof b->nonce, "%lld.%09ld.%ld", (long long) ts.tv_sec, (long) ts.tv_nsec,
            (long) getpid ());
}

void
bld_explain_stage_start (struct stage_exec *x, const char *base_desc)
{
  struct bld_explain *e = &x->ex;

  memcpy (e->base, x->r->key, sizeof e->base);
  free (e->base_desc);
  e->base_desc = husk_xstrdup (base_desc);
  e->prev[0] = '\0';
  husk_strv_free (e->between);
  e->between = husk_xcalloc (1, sizeof (char *));
}

void
bld_explain_meta (struct stage_exec *x, const char *text)
{
  if (x->ex.between)
    husk_strv_append (&x->ex.between, text);
}

void
bld_explain_miss (struct stage_exec *x, const char *key, const char *created_by)
{
  struct probe p = { 0 };

  if (!x->b->o->cache_explain)
    return;
  free (x->ex.why);
  if (x->b->o->no_cache && !x->r->prebuilt)
    x->ex.why = husk_xstrdup ("the cache is not used (--no-cache)");
  else if (!probe_load (x, &p))
    x->ex.why = husk_xstrdup ("no earlier build of this step");
  else
    x->ex.why = why_of (x, key, created_by, &p);
  probe_clear (&p);
  say_why (x, x->ex.why);
}

void
bld_explain_prebuilt (struct stage_exec *x, const char *key)
{
  struct probe p = { 0 };

  if (!x->b->o->cache_explain || !probe_load (x, &p))
    return;
  /* A child built the stage (prebuild_parallel): the reason is the one it found, when it
     ran the step in this build.  */
  if (strcmp (p.key, key) == 0 && p.why && p.run && strcmp (p.run, x->b->nonce) == 0)
    say_why (x, p.why);
  probe_clear (&p);
}

void
bld_explain_step_end (struct stage_exec *x, const char *key, const char *created_by, bool ran)
{
  struct bld_explain *e = &x->ex;

  if (e->between)
    {
      bool write = ran;
      if (!ran && x->b->o->cache_explain && !x->r->prebuilt)
        {
          /* Keep the probe the last build's: a cached step's, with --cache-explain.  */
          struct probe p = { 0 };
          write = !probe_load (x, &p) || strcmp (p.key, key) != 0;
          probe_clear (&p);
        }
      if (write)
        probe_write (x, key, created_by);
      memcpy (e->prev, x->r->key, sizeof e->prev);
      husk_strv_free (e->between);
      e->between = husk_xcalloc (1, sizeof (char *));
      e->ordinal++;
    }
  e->last_missed = ran;
  free (e->why);
  e->why = NULL;
  e->text = NULL;
  e->env = NULL;
  e->sel = NULL;
}

void
bld_explain_clear (struct bld_explain *e)
{
  free (e->base_desc);
  husk_strv_free (e->between);
  free (e->why);
  memset (e, 0, sizeof *e);
}
