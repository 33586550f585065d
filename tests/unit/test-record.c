/* Unit tests for engine/'s container records: config.json and state.json saved and loaded
   back (every optional field absent and present), name claims, and husk_ctr_load's lookup by
   full ID, unique prefix and name.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "defaults.h"
#include "names.h"
#include "record.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define ID_A "ab00000000000000000000000000000000000000000000000000000000000001"
#define ID_B "ab10000000000000000000000000000000000000000000000000000000000002"
#define ID_C "cd00000000000000000000000000000000000000000000000000000000000003"
#define ID_D "9900000000000000000000000000000000000000000000000000000000000004"
#define ID_E "ef00000000000000000000000000000000000000000000000000000000000005"
#define LAYER_1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define LAYER_2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static struct husk_store *store;

/* Written by husk before records were mapped by tables (commit 3c3287e's ctr-config.c and
   ctr-state.c, saving make_record (ID_A, "full", true) and make_record (ID_C, NULL, false)):
   they must load as those records, and save again to the same bytes.  */
static const char old_full_config[]
    = "{\n"
      "  \"id\": \"ab00000000000000000000000000000000000000000000000000000000000001\",\n"
      "  \"name\": \"full\",\n"
      "  \"image\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\n"
      "  \"image_name\": \"localhost/app:1\",\n"
      "  \"created\": \"2026-01-02T03:04:05Z\",\n"
      "  \"auto_remove\": true,\n"
      "  \"stop_signal\": \"SIGQUIT\",\n"
      "  \"layers\": [\n"
      "    \"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\n"
      "    \"sha256:2222222222222222222222222222222222222222222222222222222222222222\"\n"
      "  ],\n"
      "  \"args\": [\n"
      "    \"/bin/sh\",\n"
      "    \"-c\"\n"
      "  ],\n"
      "  \"env\": [\n"
      "    \"PATH=/bin\",\n"
      "    \"A=\\\"quoted\\\" \xc3\xa9\"\n"
      "  ],\n"
      "  \"cwd\": \"/work\",\n"
      "  \"hostname\": \"box\",\n"
      "  \"user\": \"1000:1000\",\n"
      "  \"mounts\": [\n"
      "    {\n"
      "      \"kind\": \"bind\",\n"
      "      \"source\": \"/srv/data\",\n"
      "      \"dest\": \"/data\",\n"
      "      \"readonly\": true\n"
      "    },\n"
      "    {\n"
      "      \"kind\": \"tmpfs\",\n"
      "      \"dest\": \"/tmp\",\n"
      "      \"options\": \"size=64m\",\n"
      "      \"readonly\": false\n"
      "    }\n"
      "  ],\n"
      "  \"readonly_rootfs\": true,\n"
      "  \"network\": \"host\",\n"
      "  \"caps\": 1099511627781,\n"
      "  \"privileged\": true,\n"
      "  \"no_new_privs\": true,\n"
      "  \"seccomp\": \"profile\",\n"
      "  \"seccomp_profile\": \"{\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\",\n"
      "  \"rlimits\": [\n"
      "    {\n"
      "      \"resource\": 7,\n"
      "      \"soft\": 1024,\n"
      "      \"hard\": -1\n"
      "    }\n"
      "  ],\n"
      "  \"init\": true,\n"
      "  \"tty\": true,\n"
      "  \"interactive\": true\n"
      "}\n";
static const char old_full_state[]
    = "{\"status\":\"exited\",\"exit_code\":137,\"started_at\":\"2026-01-02T03:04:06.000000001Z\","
      "\"finished_at\":\"2026-01-02T03:04:07.5Z\",\"error\":\"killed \\\"hard\\\"\"}";
static const char old_bare_config[]
    = "{\n"
      "  \"id\": \"cd00000000000000000000000000000000000000000000000000000000000003\",\n"
      "  \"image\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\n"
      "  \"created\": \"2026-01-01T00:00:00Z\",\n"
      "  \"auto_remove\": false,\n"
      "  \"layers\": [\n"
      "\n"
      "  ],\n"
      "  \"args\": [\n"
      "    \"/bin/sh\"\n"
      "  ],\n"
      "  \"env\": [\n"
      "\n"
      "  ],\n"
      "  \"mounts\": [\n"
      "\n"
      "  ],\n"
      "  \"readonly_rootfs\": false,\n"
      "  \"network\": \"none\",\n"
      "  \"caps\": 0,\n"
      "  \"privileged\": false,\n"
      "  \"no_new_privs\": false,\n"
      "  \"seccomp\": \"default\",\n"
      "  \"rlimits\": [\n"
      "\n"
      "  ],\n"
      "  \"init\": false,\n"
      "  \"tty\": false,\n"
      "  \"interactive\": false\n"
      "}\n";

static bool
str_eq (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static bool
strv_eq (char *const *a, char *const *b)
{
  size_t i;
  for (i = 0; a && b && a[i] && b[i]; i++)
    if (strcmp (a[i], b[i]) != 0)
      return false;
  return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

static char **
strv (const char *a, const char *b)
{
  char **v = husk_xcalloc (1, sizeof (char *));
  if (a)
    husk_strv_append (&v, a);
  if (b)
    husk_strv_append (&v, b);
  return v;
}

/* A record with every field set, or with every optional one left out.  */
static struct husk_ctr *
make_record (const char *id, const char *name, bool full)
{
  struct husk_ctr *c = husk_xcalloc (1, sizeof (*c));
  struct husk_container_spec *sp = &c->spec;

  snprintf (c->id, sizeof (c->id), "%s", id);
  c->name = name ? husk_xstrdup (name) : NULL;
  c->image = husk_xstrdup (LAYER_1);
  c->created = husk_xstrdup (full ? "2026-01-02T03:04:05Z" : "2026-01-01T00:00:00Z");
  c->layers = full ? strv (LAYER_1, LAYER_2) : strv (NULL, NULL);
  sp->args = strv ("/bin/sh", full ? "-c" : NULL);
  sp->env = full ? strv ("PATH=/bin", "A=\"quoted\" \xc3\xa9") : strv (NULL, NULL);
  husk_defaults_paths (full, &sp->masked_paths, &sp->readonly_paths);
  sp->seccomp = HUSK_SECCOMP_DEFAULT;
  if (full)
    {
      struct husk_mount *m = husk_xcalloc (2, sizeof (*m));
      struct husk_rlimit *r = husk_xcalloc (1, sizeof (*r));

      c->image_name = husk_xstrdup ("localhost/app:1");
      c->auto_remove = true;
      c->stop_signal = husk_xstrdup ("SIGQUIT");
      sp->cwd = husk_xstrdup ("/work");
      sp->hostname = husk_xstrdup ("box");
      sp->user = husk_xstrdup ("1000:1000");
      m[0].kind = HUSK_MOUNT_BIND;
      m[0].source = husk_xstrdup ("/srv/data");
      m[0].dest = husk_xstrdup ("/data");
      m[0].readonly = true;
      m[1].kind = HUSK_MOUNT_TMPFS;
      m[1].dest = husk_xstrdup ("/tmp");
      m[1].options = husk_xstrdup ("size=64m");
      sp->mounts = m;
      sp->n_mounts = 2;
      sp->readonly_rootfs = true;
      c->network = HUSK_NETWORK_HOST;
      sp->caps = (1ull << 40) | 5;
      c->privileged = true;
      sp->no_new_privs = true;
      sp->seccomp = HUSK_SECCOMP_PROFILE;
      sp->seccomp_profile = husk_xstrdup ("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
      r[0].resource = 7;
      r[0].soft = 1024;
      r[0].hard = UINT64_MAX; /* RLIM_INFINITY.  */
      sp->rlimits = r;
      sp->n_rlimits = 1;
      sp->init = sp->tty = sp->interactive = true;
      c->status = HUSK_CTR_EXITED;
      c->exit_code = 137;
      c->started_at = husk_xstrdup ("2026-01-02T03:04:06.000000001Z");
      c->finished_at = husk_xstrdup ("2026-01-02T03:04:07.5Z");
      c->error = husk_xstrdup ("killed \"hard\"");
    }
  return c;
}

static int
save (struct husk_ctr *c, bool with_state, struct husk_error **err)
{
  cleanup_free char *dir = husk_strdup_printf ("containers/%s", c->id);

  if (mkdirat (husk_store_rootfd (store), "containers", 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "mkdir containers");
  if (mkdirat (husk_store_rootfd (store), dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "mkdir %s", dir);
  if (husk_ctr_save_config (store, c, true, err) < 0)
    return -1;
  return with_state ? husk_ctr_save_state (store, c, err) : 0;
}

/* Whether B, loaded, is the record A that was saved; prints the first difference.  */
static bool
same_record (const struct husk_ctr *a, const struct husk_ctr *b)
{
  const struct husk_container_spec *x = &a->spec, *y = &b->spec;
#define SAME(cond)                                                                                 \
  do                                                                                               \
    if (!(cond))                                                                                   \
      {                                                                                            \
        printf ("#   differs: %s\n", #cond);                                                       \
        return false;                                                                              \
      }                                                                                            \
  while (0)
  SAME (strcmp (a->id, b->id) == 0);
  SAME (str_eq (a->name, b->name));
  SAME (str_eq (a->image, b->image));
  SAME (str_eq (a->image_name, b->image_name));
  SAME (str_eq (a->created, b->created));
  SAME (a->auto_remove == b->auto_remove);
  SAME (str_eq (a->stop_signal, b->stop_signal));
  SAME (strv_eq (a->layers, b->layers));
  SAME (strv_eq (x->args, y->args));
  SAME (strv_eq (x->env, y->env));
  SAME (str_eq (x->cwd, y->cwd));
  SAME (str_eq (x->hostname, y->hostname));
  SAME (str_eq (x->user, y->user));
  SAME (x->n_mounts == y->n_mounts);
  for (size_t i = 0; i < x->n_mounts; i++)
    {
      SAME (x->mounts[i].kind == y->mounts[i].kind);
      SAME (str_eq (x->mounts[i].source, y->mounts[i].source));
      SAME (str_eq (x->mounts[i].dest, y->mounts[i].dest));
      SAME (str_eq (x->mounts[i].options, y->mounts[i].options));
      SAME (x->mounts[i].readonly == y->mounts[i].readonly);
    }
  SAME (x->readonly_rootfs == y->readonly_rootfs);
  SAME (a->network == b->network);
  SAME (x->caps == y->caps);
  SAME (a->privileged == b->privileged);
  SAME (strv_eq (x->masked_paths, y->masked_paths));
  SAME (strv_eq (x->readonly_paths, y->readonly_paths));
  SAME (x->no_new_privs == y->no_new_privs);
  SAME (x->seccomp == y->seccomp);
  SAME (str_eq (x->seccomp_profile, y->seccomp_profile));
  SAME (x->n_rlimits == y->n_rlimits);
  for (size_t i = 0; i < x->n_rlimits; i++)
    {
      SAME (x->rlimits[i].resource == y->rlimits[i].resource);
      SAME (x->rlimits[i].soft == y->rlimits[i].soft);
      SAME (x->rlimits[i].hard == y->rlimits[i].hard);
    }
  SAME (x->init == y->init);
  SAME (x->tty == y->tty);
  SAME (x->interactive == y->interactive);
  SAME (a->status == b->status);
  SAME (a->exit_code == b->exit_code);
  SAME (str_eq (a->started_at, b->started_at));
  SAME (str_eq (a->finished_at, b->finished_at));
  SAME (str_eq (a->error, b->error));
#undef SAME
  return true;
}

static void
test_round_trip (void)
{
  cleanup_ctr struct husk_ctr *full = make_record (ID_A, "full", true);
  cleanup_ctr struct husk_ctr *bare = make_record (ID_C, NULL, false);
  cleanup_ctr struct husk_ctr *got = NULL;
  cleanup_ctr struct husk_ctr *got2 = NULL;
  cleanup_free char *lower = NULL;
  struct husk_error *err = NULL;

  ok (save (full, true, &err) == 0, "save a record with every field set");
  husk_error_free (&err);
  ok (husk_ctr_load (store, ID_A, &got, &err) == 0, "load it back by its full ID");
  husk_error_free (&err);
  ok (got && same_record (full, got), "every field of config.json and state.json comes back");
  lower = husk_strdup_printf ("%s/layers/%s/diff", husk_store_root (store), LAYER_2 + 7);
  ok (got && got->spec.lowerdirs && got->spec.lowerdirs[1]
          && strcmp (got->spec.lowerdirs[1], lower) == 0 && got->spec.lowerdirs[2] == NULL,
      "the layers become lower directories in this store");

  ok (save (bare, false, &err) == 0, "save a record with every optional field left out");
  husk_error_free (&err);
  ok (husk_ctr_load (store, ID_C, &got2, &err) == 0, "load it back");
  husk_error_free (&err);
  ok (got2 && same_record (bare, got2) && got2->name == NULL && got2->spec.cwd == NULL
          && got2->stop_signal == NULL && got2->spec.n_mounts == 0 && got2->started_at == NULL,
      "absent fields stay absent, and without state.json it is created");
}

/* husk_ctr_save_new (what create uses) hands back the record husk_ctr_load would read.  */
static void
test_save_new (void)
{
  cleanup_ctr struct husk_ctr *c = make_record (ID_D, "fresh", true);
  cleanup_ctr struct husk_ctr *made = NULL;
  cleanup_ctr struct husk_ctr *read = NULL;
  struct husk_error *err = NULL;

  ok (mkdirat (husk_store_rootfd (store), "containers/" ID_D, 0700) == 0,
      "make a container's directory");
  ok (husk_ctr_save_new (store, c, false, &made, &err) == 0, "save a new record");
  husk_error_free (&err);
  ok (husk_ctr_load (store, ID_D, &read, &err) == 0, "load it from its file");
  husk_error_free (&err);
  ok (made && read && same_record (made, read) && made->status == HUSK_CTR_CREATED,
      "the record handed back is the one on disk, and it is created");
  ok (made && strcmp (made->spec.seccomp_profile, c->spec.seccomp_profile) == 0
          && made->spec.lowerdirs && made->spec.lowerdirs[1] && made->spec.idmap == NULL,
      "with what loading adds: lower directories, and no id map as root");
}

static void
test_state_parse (void)
{
  struct husk_ctr c = { 0 };
#define STATE(lit) husk_ctr_parse_state (&c, lit, sizeof (lit) - 1)
  STATE ("{\"status\":\"running\",\"exit_code\":3,\"started_at\":\"t1\"}");
  ok (c.status == HUSK_CTR_RUNNING && c.exit_code == 3 && str_eq (c.started_at, "t1")
          && c.finished_at == NULL && c.error == NULL,
      "state.json: status, exit code and the times present");
  free (c.started_at);
  memset (&c, 0, sizeof (c));
  c.status = HUSK_CTR_EXITED;
  STATE ("{\"status\":\"paused\"}");
  ok (c.status == HUSK_CTR_CREATED, "state.json: an unknown status is created");
  STATE ("{\"status\":");
  ok (c.status == HUSK_CTR_CREATED && c.started_at == NULL, "state.json: torn, created");
#undef STATE
}

static void
test_names (void)
{
  struct husk_error *err = NULL;
  cleanup_strv char **seen = husk_xcalloc (1, sizeof (char *));
  char target[80];
  ssize_t n;
  bool all_ok = true;

  ok (husk_ctr_name_claim (store, "web", ID_A, &err) == 0, "claim a name");
  husk_error_free (&err);
  ok (husk_ctr_name_claim (store, "web", ID_A, &err) == 0, "claiming it again for the same ID");
  husk_error_free (&err);
  ok (husk_ctr_name_claim (store, "web", ID_B, &err) < 0 && err
          && strcmp (err->msg, "name \"web\": already in use by container ab0000000000") == 0,
      "a second container cannot claim it");
  husk_error_free (&err);
  ok (husk_ctr_name_claim (store, "-web", ID_B, &err) < 0 && err
          && strcmp (err->msg, "name \"-web\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed") == 0,
      "an invalid name is refused");
  husk_error_free (&err);
  husk_ctr_name_release (store, "web", ID_B);
  ok (husk_ctr_name_claim (store, "web", ID_B, &err) < 0,
      "releasing for another container leaves the claim");
  husk_error_free (&err);
  husk_ctr_name_release (store, "web", ID_A);
  ok (husk_ctr_name_claim (store, "web", ID_B, &err) == 0, "released, it is free again");
  husk_error_free (&err);
  husk_ctr_name_release (store, "web", ID_B);

  ok (husk_ctr_name_valid ("a") && husk_ctr_name_valid ("A1_b.c-d") && !husk_ctr_name_valid ("")
          && !husk_ctr_name_valid ("_a") && !husk_ctr_name_valid ("a/b")
          && !husk_ctr_name_valid ("a b"),
      "valid names: [a-zA-Z0-9][a-zA-Z0-9_.-]*");

  for (unsigned i = 0; i < 200 && all_ok; i++)
    {
      char id[65];
      cleanup_free char *name = NULL;
      cleanup_free char *link = NULL;

      /* IDs whose first bytes (the seed) repeat every 50, so that names collide.  */
      snprintf (id, sizeof (id), "%08x%056x", i % 50, i);
      if (husk_ctr_name_generate (store, id, &name, &err) < 0)
        {
          printf ("#   %u: %s\n", i, err->msg);
          husk_error_free (&err);
          all_ok = false;
          break;
        }
      link = husk_strdup_printf ("container-names/%s", name);
      n = readlinkat (husk_store_rootfd (store), link, target, sizeof (target) - 1);
      if (n >= 0)
        target[n] = '\0';
      if (!husk_ctr_name_valid (name) || husk_strv_contains (seen, name) || n != 64
          || strcmp (target, id) != 0)
        {
          printf ("#   %u: \"%s\" invalid, repeated or not claimed\n", i, name);
          all_ok = false;
        }
      husk_strv_append (&seen, name);
    }
  ok (all_ok, "200 generated names are valid, unique and claimed for their IDs");
  for (size_t i = 0; seen[i]; i++)
    {
      cleanup_free char *link = husk_strdup_printf ("container-names/%s", seen[i]);
      unlinkat (husk_store_rootfd (store), link, 0);
    }
}

static void
test_lookup (void)
{
  cleanup_ctr struct husk_ctr *b = make_record (ID_B, "other", false);
  struct husk_ctr *got = NULL;
  struct husk_error *err = NULL;

  /* ID_A ("full") and ID_C (no name) are saved by test_round_trip.  */
  ok (save (b, false, &err) == 0 && husk_ctr_name_claim (store, "full", ID_A, &err) == 0
          && husk_ctr_name_claim (store, "other", ID_B, &err) == 0,
      "a second container whose ID shares a prefix with the first");
  husk_error_free (&err);
#define LOADS(q, want, what)                                                                       \
  do                                                                                               \
    {                                                                                              \
      int _rc = husk_ctr_load (store, q, &got, &err);                                              \
      ok (_rc == 0 && strcmp (got->id, want) == 0, what);                                          \
      if (err)                                                                                     \
        printf ("#   %s\n", err->msg);                                                             \
      husk_error_free (&err);                                                                      \
      husk_ctr_free (got);                                                                         \
      got = NULL;                                                                                  \
    }                                                                                              \
  while (0)
#define FAILS(q, want_msg, what)                                                                   \
  do                                                                                               \
    {                                                                                              \
      int _rc = husk_ctr_load (store, q, &got, &err);                                              \
      ok (_rc < 0 && got == NULL && err != NULL, what);                                            \
      is_str (err ? err->msg : NULL, want_msg, what ": the error");                                \
      husk_error_free (&err);                                                                      \
      husk_ctr_free (got);                                                                         \
      got = NULL;                                                                                  \
    }                                                                                              \
  while (0)
  LOADS (ID_B, ID_B, "by full ID");
  LOADS ("ab0000000000000000000000000000000000000000000000000000000000000", ID_A,
         "by a 63-character prefix");
  LOADS ("ab0", ID_A, "by a unique prefix");
  LOADS ("c", ID_C, "by a one-character unique prefix");
  LOADS ("full", ID_A, "by name");
  LOADS ("other", ID_B, "by another name");
  FAILS ("ab", "container \"ab\": ambiguous, more than one ID starts with it",
         "an ambiguous prefix");
  FAILS ("ef", "no such container: ef", "a prefix of nothing");
  FAILS ("nosuch", "no such container: nosuch", "an unknown name");
  FAILS ("", "no such container: ", "the empty query");
  FAILS ("AB00", "no such container: AB00", "prefixes are lowercase hex");
#undef LOADS
#undef FAILS
}

static int
put_file (struct husk_store *s, const char *id, const char *name, const char *text,
          struct husk_error **err)
{
  cleanup_free char *dir = husk_strdup_printf ("containers/%s", id);
  cleanup_free char *path = husk_strdup_printf ("%s/%s", dir, name);

  if ((mkdirat (husk_store_rootfd (s), "containers", 0700) < 0 && errno != EEXIST)
      || (mkdirat (husk_store_rootfd (s), dir, 0700) < 0 && errno != EEXIST))
    return husk_error_set (err, errno, "mkdir %s", dir);
  return husk_write_file_atomic_at (husk_store_rootfd (s), path, text, strlen (text), 0600, err);
}

/* Records written before the spec held its masked and read-only paths load with Docker's (none
   when privileged) and are saved with them: BUF without those two members, which the writer
   puts together after "privileged".  */
static void
strip_paths (char *buf, size_t *len)
{
  char *start = strstr (buf, "  \"masked_paths\": [");
  char *ro = start ? strstr (start, "  \"readonly_paths\": [") : NULL;
  char *end = ro ? strstr (ro, "\n  ],\n") : NULL;

  if (end == NULL)
    return;
  end += strlen ("\n  ],\n");
  memmove (start, end, strlen (end) + 1);
  *len = strlen (buf);
}

static bool
file_is (struct husk_store *s, const char *id, const char *name, const char *want)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/%s", id, name);
  cleanup_free char *buf = NULL;
  size_t len;

  if (husk_read_file_at (husk_store_rootfd (s), path, 1 << 20, &buf, &len, NULL) < 0)
    return false;
  if (strcmp (name, "config.json") == 0)
    strip_paths (buf, &len);
  if (len == strlen (want) && memcmp (buf, want, len) == 0)
    return true;
  printf ("#   %s is:\n%s\n", name, buf);
  return false;
}

/* Whether C's spec lists exactly the namespaces husk always made, each new: mount, pid, uts,
   ipc, cgroup, user when husk is not root, network unless NET_HOST.  */
static bool
namespaces_are (const struct husk_ctr *c, bool net_host)
{
  const struct husk_container_spec *sp = &c->spec;
  unsigned long want = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

  if (geteuid () != 0)
    want |= CLONE_NEWUSER;
  if (!net_host)
    want |= CLONE_NEWNET;
  for (size_t i = 0; i < sp->n_namespaces; i++)
    if (sp->namespaces[i].path != NULL)
      return false;
  return sp->namespaces == c->namespaces
         && husk_ns_flags (sp->namespaces, sp->n_namespaces, true) == want
         && sp->n_namespaces == (size_t) __builtin_popcountl (want)
         && husk_ns_check (sp->namespaces, sp->n_namespaces, sp->idmap != NULL, true, NULL) == 0;
}

static void
test_old_records (void)
{
  char dir[] = "/tmp/husk-test-record-old.XXXXXX";
  cleanup_store struct husk_store *old = NULL;
  cleanup_ctr struct husk_ctr *full = make_record (ID_A, "full", true);
  cleanup_ctr struct husk_ctr *bare = make_record (ID_C, NULL, false);
  cleanup_ctr struct husk_ctr *got = NULL;
  cleanup_ctr struct husk_ctr *got2 = NULL;
  struct husk_error *err = NULL;

  if (mkdtemp (dir) == NULL || husk_store_open (dir, &old, &err) < 0)
    {
      ok (0, "a second store");
      husk_error_free (&err);
      return;
    }
  ok (put_file (old, ID_A, "config.json", old_full_config, &err) == 0
          && put_file (old, ID_A, "state.json", old_full_state, &err) == 0
          && put_file (old, ID_C, "config.json", old_bare_config, &err) == 0,
      "records written by the previous code");
  husk_error_free (&err);
  ok (husk_ctr_load (old, ID_A, &got, &err) == 0 && same_record (full, got),
      "an old record with every field loads whole");
  husk_error_free (&err);
  ok (husk_ctr_load (old, ID_C, &got2, &err) == 0 && same_record (bare, got2),
      "an old record without the optional fields loads whole");
  husk_error_free (&err);
  ok (got && husk_ctr_save_config (old, got, true, &err) == 0
          && husk_ctr_save_state (old, got, &err) == 0
          && file_is (old, ID_A, "config.json", old_full_config)
          && file_is (old, ID_A, "state.json", old_full_state),
      "saved again, its config.json (less the paths it now lists) and state.json are the "
      "same bytes");
  husk_error_free (&err);
  ok (got2 && husk_ctr_save_config (old, got2, true, &err) == 0
          && file_is (old, ID_C, "config.json", old_bare_config),
      "and so is the other's config.json");
  ok (got && got->spec.masked_paths && got->spec.masked_paths[0] == NULL && got2
          && strv_eq (got2->spec.masked_paths, bare->spec.masked_paths)
          && strv_eq (got2->spec.readonly_paths, bare->spec.readonly_paths)
          && got2->spec.seccomp == HUSK_SECCOMP_DEFAULT,
      "an old record gets Docker's masked and read-only paths, none when privileged");
  husk_error_free (&err);
  ok (got && got->network == HUSK_NETWORK_HOST && namespaces_are (got, true) && got2
          && got2->network == HUSK_NETWORK_NONE && namespaces_are (got2, false),
      "an old record's \"network\" gives the namespaces husk always made: host keeps the "
      "caller's network namespace, none makes one; a user namespace unless root");
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
}

/* What the config.json reader forgives, as the hand-written one did, and what it does not.  */
static void
test_config_parse (void)
{
  struct husk_error *err = NULL;
  struct husk_ctr *c;

#define PARSE(lit) husk_ctr_parse_config (store, c, lit, sizeof (lit) - 1, &err)
#define FRESH()                                                                                    \
  do                                                                                               \
    {                                                                                              \
      c = husk_xcalloc (1, sizeof (*c));                                                           \
      memcpy (c->id, ID_A, sizeof (c->id));                                                        \
    }                                                                                              \
  while (0)
  FRESH ();
  ok (PARSE ("{\"id\":\"" ID_C "\",\"name\":7,\"auto_remove\":\"yes\",\"network\":\"overlay\","
             "\"seccomp\":\"strict\",\"caps\":\"all\",\"mounts\":{},\"rlimits\":[1],"
             "\"unknown\":{\"x\":[]}}")
              == 0
          && strcmp (c->id, ID_A) == 0 && c->name == NULL && !c->auto_remove
          && c->network == HUSK_NETWORK_NONE && c->spec.seccomp == HUSK_SECCOMP_DEFAULT
          && c->spec.caps == 0 && c->spec.n_mounts == 0 && c->spec.n_rlimits == 1
          && c->spec.rlimits[0].resource == 0 && c->layers && c->layers[0] == NULL && c->spec.args
          && c->spec.args[0] == NULL && c->spec.env && c->spec.env[0] == NULL,
      "config.json: members of the wrong type or unknown names read as their defaults, the ID "
      "is the directory's, absent lists are empty");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"layers\":\"sha256:1\"}") < 0 && err
          && strcmp (err->msg, "\"layers\": expected an array of strings, got a string") == 0,
      "config.json: the string arrays must be arrays of strings");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"args\":[\"a\",null]}") < 0 && err
          && strcmp (err->msg, "\"args[1]\": expected a string, got null") == 0,
      "config.json: an element of one that is not a string is an error");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"mounts\":[{\"kind\":\"bind\",\"dest\":\"/a\"}]}") < 0 && err
          && strcmp (err->msg, "mounts[0]: incomplete") == 0,
      "config.json: a bind mount needs a source");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"mounts\":[\"tmpfs\"]}") < 0 && err
          && strcmp (err->msg, "mounts[0]: incomplete") == 0,
      "config.json: a mount that is not an object is incomplete");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"seccomp\":\"profile\"}") < 0 && err
          && strcmp (err->msg, "seccomp profile missing") == 0,
      "config.json: a seccomp profile needs its text");
  husk_error_free (&err);
  husk_ctr_free (c);

  FRESH ();
  ok (PARSE ("{\"layers\":[\"sha256:1\"]}") < 0 && err
          && strcmp (err->msg, "layers[0]: digest \"sha256:1\": malformed") == 0,
      "config.json: layers are digests");
  husk_error_free (&err);
  husk_ctr_free (c);
#undef PARSE
#undef FRESH
}

/* linux.resources in config.json: each limit only when set (the old-record tests prove that a
   record without limits is written as before), and back as it was saved.  */
static void
test_resources (void)
{
  cleanup_ctr struct husk_ctr *c = make_record (ID_E, "limited", false);
  cleanup_ctr struct husk_ctr *got = NULL;
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", ID_E);
  cleanup_free char *buf = NULL;
  struct husk_resources *r = &c->spec.resources;
  struct husk_error *err = NULL;

  r->memory_limit = 64 << 20;
  r->memory_swap = -1;
  r->cpu_shares = 512;
  r->cpu_quota = 50000;
  r->cpu_period = 100000;
  r->cpu_cpus = husk_xstrdup ("0-1");
  r->pids_limit = 16;
  ok (save (c, false, &err) == 0 && husk_ctr_load (store, ID_E, &got, &err) == 0,
      "resources: save and load a record with limits");
  husk_error_free (&err);
  ok (got && same_record (c, got) && got->spec.resources.memory_limit == 64 << 20
          && got->spec.resources.memory_swap == -1 && got->spec.resources.memory_reservation == 0
          && got->spec.resources.cpu_shares == 512 && got->spec.resources.cpu_quota == 50000
          && got->spec.resources.cpu_period == 100000
          && str_eq (got->spec.resources.cpu_cpus, "0-1") && got->spec.resources.pids_limit == 16,
      "resources: every limit comes back, the one not set stays unset");
  ok (husk_read_file_at (husk_store_rootfd (store), path, 1 << 20, &buf, NULL, NULL) == 0
          && strstr (buf, "\"pids_limit\": 16") && strstr (buf, "\"memory_swap\": -1")
          && !strstr (buf, "memory_reservation"),
      "resources: config.json names the limits set, and only those");
  ok (got && str_eq (got->spec.resources_cgroup, ID_E),
      "resources: the cgroup is named by the container's ID");
}

int
main (void)
{
  char dir[] = "/tmp/husk-test-record.XXXXXX";
  struct husk_error *err = NULL;

  if (mkdtemp (dir) == NULL || husk_store_open (dir, &store, &err) < 0)
    {
      printf ("Bail out! store in %s: %s\n", dir, err ? err->msg : strerror (errno));
      return 1;
    }
  test_round_trip ();
  test_save_new ();
  test_state_parse ();
  test_names ();
  test_lookup ();
  test_old_records ();
  test_config_parse ();
  test_resources ();
  husk_store_close (store);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
  return tap_done ();
}
