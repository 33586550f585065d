/* One fuzz entry point for every parser of input that comes from outside husk: a mode per
   parser, chosen by $HUSK_FUZZ_MODE (libFuzzer) or by the replayer (tests/fuzz/replay.c).

   Besides crashes and sanitizer reports, some modes check a property the parser promises:
   the unpacker and the whiteout code write nothing outside their root, a reference prints
   to a string that parses to itself, a removed auth entry is gone from a file that still
   parses, a saved container record loads as the same record, a log entry's time prints back
   to the same instant, what the JSON mapping decodes encodes and decodes to the same bytes, a
   Dockerfile or .dockerignore error is one line, a path is excluded step by step as at once, a
   manifest list's file renders to a file that parses and renders to the same bytes, a
   network's record writes to JSON that parses and writes to the same bytes.
   A broken property aborts.

   Adding a mode: a function taking (data, size), a row in MODES, seeds in
   tests/fuzz/corpus/NAME/ (docs/fuzzing.md).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "auth.h"
#include "caps.h"
#include "cleanup.h"
#include "commit.h"
#include "configedit.h"
#include "dockerfile.h"
#include "error.h"
#include "expand.h"
#include "fuzz.h"
#include "ignore.h"
#include "image.h"
#include "imageconfig.h"
#include "json.h"
#include "jsonmap.h"
#include "logfile.h"
#include "manifest.h"
#include "manifestlist.h"
#include "networks.h"
#include "record.h"
#include "reference.h"
#include "registry.h"
#include "rundir.h"
#include "seccomp-filter.h"
#include "store.h"
#include "unpack.h"
#include "util.h"
#include "whiteout.h"
#include "banned.h"

#define SENTINEL_TEXT "sentinel: nothing may write here\n"

/* Abort with a message: libFuzzer saves the input as crash-*, the replayer's test fails.  */
#define FUZZ_ASSERT(cond, ...)                                                                     \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "husk-fuzz: %s:%d: property broken: %s: ", __FILE__, __LINE__, #cond);  \
          fprintf (stderr, __VA_ARGS__);                                                           \
          fputc ('\n', stderr);                                                                    \
          abort ();                                                                                \
        }                                                                                          \
    }                                                                                              \
  while (0)

/* The scratch directory of the modes that need files: SCRATCH/{root,outside/sentinel}.  */
static char *scratch;
static int scratchfd = -1;
static struct husk_store *store;

/* Input as a NUL-terminated string (parsers of headers and names take C strings).  */
static char *
dup_input (const uint8_t *data, size_t size)
{
  char *s = husk_xmalloc (size + 1);
  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

/* -------------------------------------------------------------- scratch  */

static int
prepare_scratch (void)
{
  const char *tmp = getenv ("TMPDIR");
  char *tmpl;
  cleanup_close int outfd = -1, fd = -1;

  if (scratch)
    return 0;
  if (tmp == NULL || *tmp == '\0')
    tmp = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  tmpl = husk_strdup_printf ("%s/husk-fuzz.XXXXXX", tmp);
  if (mkdtemp (tmpl) == NULL)
    {
      fprintf (stderr, "husk-fuzz: mkdtemp \"%s\": %s\n", tmpl, strerror (errno));
      free (tmpl);
      return -1;
    }
  scratch = tmpl;
  scratchfd = open (scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (scratchfd < 0 || mkdirat (scratchfd, "outside", 0755) < 0)
    return -1;
  outfd = openat (scratchfd, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (outfd < 0)
    return -1;
  fd = openat (outfd, "sentinel", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || husk_write_all (fd, SENTINEL_TEXT, strlen (SENTINEL_TEXT)) < 0)
    return -1;
  return 0;
}

static void
remove_scratch (void)
{
  if (scratchfd >= 0)
    {
      husk_store_close (store);
      store = NULL;
      husk_rm_rf_at (AT_FDCWD, scratch, NULL);
      close (scratchfd);
      scratchfd = -1;
    }
}

/* A fresh, empty SCRATCH/root.  */
static int
fresh_root (void)
{
  cleanup_error struct husk_error *e = NULL;

  if (husk_rm_rf_at (scratchfd, "root", &e) < 0)
    {
      fprintf (stderr, "husk-fuzz: cannot clean \"%s/root\": %s\n", scratch, e->msg);
      exit (2);
    }
  if (mkdirat (scratchfd, "root", 0755) < 0)
    {
      fprintf (stderr, "husk-fuzz: mkdir \"%s/root\": %s\n", scratch, strerror (errno));
      exit (2);
    }
  return openat (scratchfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* Exactly the names WANT (NULL-terminated) in the directory NAME of DIRFD.  */
static bool
dir_holds_only (int dirfd, const char *name, const char *const *want)
{
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_dir DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  size_t n = 0, n_want = 0;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return false;
    }
  while (want[n_want])
    n_want++;
  while ((de = readdir (d)) != NULL)
    {
      bool known = false;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      for (size_t i = 0; i < n_want; i++)
        known = known || strcmp (de->d_name, want[i]) == 0;
      if (!known)
        {
          fprintf (stderr, "husk-fuzz: unexpected \"%s\" in \"%s/%s\"\n", de->d_name, scratch,
                   name);
          return false;
        }
      n++;
    }
  return n == n_want;
}

/* Nothing outside SCRATCH/root changed: SCRATCH holds root, outside and store, outside holds
   the sentinel, unchanged, with no other link to it.  */
static void
assert_outside_untouched (void)
{
  static const char *const top[] = { "root", "outside", "store", NULL };
  static const char *const out[] = { "sentinel", NULL };
  char buf[128];
  struct stat st;
  cleanup_close int fd = -1;
  ssize_t n;

  FUZZ_ASSERT (dir_holds_only (AT_FDCWD, scratch, top), "the scratch directory changed");
  FUZZ_ASSERT (dir_holds_only (scratchfd, "outside", out), "outside/ changed");
  FUZZ_ASSERT (fstatat (scratchfd, "root", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode),
               "the root is no longer a directory");
  fd = openat (scratchfd, "outside/sentinel", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  FUZZ_ASSERT (fd >= 0 && fstat (fd, &st) == 0, "the sentinel is gone");
  FUZZ_ASSERT (S_ISREG (st.st_mode) && st.st_nlink == 1 && (st.st_mode & 07777) == 0644,
               "the sentinel's inode changed (mode %o, %ju links)", (unsigned) st.st_mode,
               (uintmax_t) st.st_nlink);
  n = read (fd, buf, sizeof (buf));
  FUZZ_ASSERT (n == (ssize_t) strlen (SENTINEL_TEXT)
                   && memcmp (buf, SENTINEL_TEXT, (size_t) n) == 0,
               "the sentinel's content changed");
}

/* ---------------------------------------------------------------- modes  */

/* Image references (husk pull REF, husk run IMAGE), and the other names a user types.  */
static int
fuzz_reference (const uint8_t *data, size_t size)
{
  cleanup_free char *s = dup_input (data, size);
  cleanup_free char *os = NULL, *arch = NULL, *variant = NULL;
  cleanup_error struct husk_error *e = NULL, *e2 = NULL, *e3 = NULL;
  struct husk_reference r = { 0 }, again = { 0 };

  husk_reference_valid_tag (s);
  if (husk_platform_parse (s, &os, &arch, &variant, &e3) < 0)
    husk_error_free (&e3);
  if (husk_reference_parse (s, &r, &e) == 0)
    {
      cleanup_free char *str = husk_reference_string (&r);
      cleanup_free char *repo = husk_reference_repository (&r);
      cleanup_free char *str2 = NULL;

      FUZZ_ASSERT (husk_reference_parse (str, &again, &e2) == 0,
                   "\"%s\" prints as \"%s\", which does not parse: %s", s, str, e2->msg);
      FUZZ_ASSERT (husk_str_has_prefix (str, repo), "\"%s\" is not in repository \"%s\"", str,
                   repo);
      str2 = husk_reference_string (&again);
      FUZZ_ASSERT (strcmp (str, str2) == 0, "\"%s\" prints as \"%s\", then as \"%s\"", s, str,
                   str2);
      husk_reference_clear (&again);
      husk_reference_clear (&r);
    }
  return 0;
}

/* Manifests and indexes, from a registry, an OCI layout or a docker-archive.  */
static int
fuzz_manifest (const uint8_t *data, size_t size)
{
  const char *buf = (const char *) data;
  struct husk_manifest m = { 0 };
  struct husk_descriptor d = { 0 };
  cleanup_error struct husk_error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
  cleanup_json husk_json *j = NULL;

  if (husk_manifest_parse (buf, size, &m, &e1) == 0)
    husk_manifest_clear (&m);
  if (husk_index_select_platform (buf, size, &d, &e2) == 0)
    husk_descriptor_clear (&d);
  if (husk_index_select (buf, size, "linux", "arm", "v7", &d, &e3) == 0)
    husk_descriptor_clear (&d);
  /* A descriptor on its own, as index.json's entries and the registry's headers give them.  */
  j = husk_json_parse (buf, size, NULL);
  if (j && husk_descriptor_parse (j, &d, &e4) == 0)
    husk_descriptor_clear (&d);
  return 0;
}

/* Image configs: what a container start reads; the whole document a build rewrites, which
   must write back to bytes that read as the same document; and a child's config as husk
   commit makes it (every -c instruction applied, a layer added), which parses again with the
   changes in it.  */
static int
fuzz_config (const uint8_t *data, size_t size)
{
  static char *const changes[] = {
    "ENV FUZZ=1", "LABEL fuzz=yes", "CMD [\"true\"]", "ENTRYPOINT /bin/fuzz", "WORKDIR sub",
    "USER 7",     "EXPOSE 80",      "VOLUME /v",      "STOPSIGNAL 9",         NULL,
  };
  struct husk_image_config c = { 0 };
  struct husk_oci_config doc, doc2;
  struct husk_config_edit ed = { 0 }, again = { 0 };
  cleanup_error struct husk_error *e = NULL, *e2 = NULL, *e3 = NULL;
  cleanup_free char *out = NULL;
  size_t len;

  if (husk_image_config_parse ((const char *) data, size, &c, &e) == 0)
    husk_image_config_clear (&c);
  husk_error_free (&e);
  if (husk_oci_config_parse ((const char *) data, size, &doc, &e) == 0)
    {
      size_t len1, len2;
      cleanup_free char *first = husk_oci_config_write (&doc, &len1);
      cleanup_free char *second = NULL;
      int r = husk_oci_config_parse (first, len1, &doc2, &e);
      FUZZ_ASSERT (r == 0, "written config does not parse: %s: %s", e ? e->msg : "", first);
      second = husk_oci_config_write (&doc2, &len2);
      FUZZ_ASSERT (len1 == len2 && memcmp (first, second, len1) == 0,
                   "config changed on a second write: %s vs %s", first, second);
      husk_oci_config_clear (&doc2);
      husk_oci_config_clear (&doc);
    }
  if (husk_config_edit_init (&ed, (const char *) data, size, &e2) < 0)
    return 0;
  FUZZ_ASSERT (husk_commit_apply_changes (&ed, changes, &e3) == 0, "-c failed: %s", e3->msg);
  ed.diff_id
      = husk_xstrdup ("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  ed.created = husk_xstrdup ("2026-01-01T00:00:00Z");
  out = husk_config_edit_render (&ed, &len);
  husk_config_edit_clear (&ed);
  FUZZ_ASSERT (husk_config_edit_init (&again, out, len, &e3) == 0,
               "the changed config does not parse again: %s: %s", e3 ? e3->msg : "", out);
  FUZZ_ASSERT (husk_strv_contains (again.env, "FUZZ=1") && again.user
                   && strcmp (again.user, "7") == 0 && husk_strv_len (again.cmd) == 1,
               "the changes are not in the changed config: %s", out);
  husk_config_edit_clear (&again);
  return 0;
}

/* A registry's WWW-Authenticate header.  */
static int
fuzz_challenge (const uint8_t *data, size_t size)
{
  cleanup_free char *s = dup_input (data, size);
  struct husk_challenge ch = { 0 };

  if (husk_challenge_parse (s, &ch) == 0)
    husk_challenge_clear (&ch);
  return 0;
}

/* auth.json and Docker's config.json: look up, then remove an entry (which rewrites the file)
   and check that the rewritten file parses and no longer has it.  */
static int
fuzz_auth (const uint8_t *data, size_t size)
{
  static const char *const registries[] = { "docker.io", "localhost:5000", "" };
  cleanup_free char *path = husk_strdup_printf ("%s/root/auth.json", scratch);
  cleanup_free char *docker = husk_strdup_printf ("%s/root/config.json", scratch);
  cleanup_free char *dockerdir = husk_strdup_printf ("%s/root", scratch);
  cleanup_error struct husk_error *e = NULL;
  int r;

  close (fresh_root ());
  if (husk_write_file_replace_at (AT_FDCWD, path, data, size, 0600, &e) < 0
      || husk_write_file_replace_at (AT_FDCWD, docker, data, size, 0600, &e) < 0)
    {
      fprintf (stderr, "husk-fuzz: %s\n", e->msg);
      exit (2);
    }
  setenv ("REGISTRY_AUTH_FILE", path, 1);
  setenv ("DOCKER_CONFIG", dockerdir, 1);
  for (size_t i = 0; i < sizeof (registries) / sizeof (*registries); i++)
    {
      cleanup_free char *user = NULL, *pass = NULL;
      cleanup_error struct husk_error *le = NULL;
      husk_auth_lookup (registries[i], &user, &pass, &le);
    }
  unlink (docker);
  r = husk_auth_remove ("docker.io", &e);
  if (r > 0)
    {
      cleanup_free char *user = NULL, *pass = NULL;
      cleanup_error struct husk_error *le = NULL;
      r = husk_auth_lookup ("docker.io", &user, &pass, &le);
      FUZZ_ASSERT (r == 0, "docker.io still found (%d) after its removal: %s", r,
                   le ? le->msg : "");
    }
  return 0;
}

/* A layer tar, through the real unpacker, into SCRATCH/root: nothing may land outside it.  */
static int
fuzz_tar (const uint8_t *data, size_t size)
{
  cleanup_close int rootfd = fresh_root ();
  cleanup_close int memfd = memfd_create ("husk-fuzz-layer", MFD_CLOEXEC);
  cleanup_error struct husk_error *e = NULL;
  struct husk_unpack_stats stats = { 0 };

  if (rootfd < 0 || memfd < 0 || husk_write_all (memfd, data, size) < 0
      || lseek (memfd, 0, SEEK_SET) != 0)
    {
      fprintf (stderr, "husk-fuzz: tar: set up: %s\n", strerror (errno));
      exit (2);
    }
  husk_unpack_fd (memfd, rootfd, geteuid () != 0, &stats, &e);
  assert_outside_untouched ();
  return 0;
}

/* Whiteout names, each applied as the unpacker applies the last component of an entry, in a
   root that holds a file, a directory and symlinks out of it.  */
static int
fuzz_whiteout (const uint8_t *data, size_t size)
{
  cleanup_free char *s = dup_input (data, size);
  cleanup_close int rootfd = fresh_root ();
  cleanup_close int fd = -1;
  char *p = s;
  int n = 0;

  if (rootfd < 0 || mkdirat (rootfd, "dir", 0755) < 0 || mkdirat (rootfd, "dir/sub", 0755) < 0
      || (fd = openat (rootfd, "file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0
      || symlinkat ("../outside/sentinel", rootfd, "link") < 0
      || symlinkat ("../outside", rootfd, "dirlink") < 0 || symlinkat ("/", rootfd, "rootlink") < 0)
    {
      fprintf (stderr, "husk-fuzz: whiteout: set up: %s\n", strerror (errno));
      exit (2);
    }
  /* Names end at a newline or a NUL, as many as a layer might have in one directory.  */
  while (p <= s + size && n++ < 64)
    {
      size_t len = strcspn (p, "\n");
      char *name = p;
      enum husk_whiteout_kind kind;
      const char *target;
      cleanup_error struct husk_error *e = NULL;

      p[len] = '\0';
      p += len + 1;
      /* The unpacker hands over a last component: never a "/" in it, never empty.  */
      if (*name == '\0' || strchr (name, '/') != NULL
          || husk_whiteout_classify (name, &kind, &target, &e) < 0)
        continue;
      if (kind == HUSK_WHITEOUT_OPAQUE)
        husk_whiteout_set_opaque (rootfd, geteuid () != 0, &e);
      else if (kind == HUSK_WHITEOUT_DELETE && husk_whiteout_delete (rootfd, target, &e) == 0)
        FUZZ_ASSERT (husk_whiteout_is_device (rootfd, target),
                     "\"%s\" applied, but \"%s\" is no whiteout", name, target);
    }
  assert_outside_untouched ();
  return 0;
}

/* Docker-style seccomp profiles (--security-opt seccomp=FILE), for the default capabilities
   and for all of them (includes and excludes by caps differ).  */
static int
fuzz_seccomp (const uint8_t *data, size_t size)
{
  cleanup_free char *s = dup_input (data, size);
  const uint64_t caps[] = { husk_caps_default (), husk_caps_all () };

  for (size_t i = 0; i < 2; i++)
    {
      struct husk_seccomp_prog prog = { 0 };
      cleanup_error struct husk_error *e = NULL;
      if (husk_seccomp_build_profile (s, size, caps[i], &prog, &e) == 0)
        husk_seccomp_prog_clear (&prog);
    }
  return 0;
}

static bool
str_eq (const char *a, const char *b)
{
  return a == b || (a && b && strcmp (a, b) == 0);
}

static bool
strv_eq (char *const *a, char *const *b)
{
  size_t n = husk_strv_len (a);

  if (n != husk_strv_len (b))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!str_eq (a[i], b[i]))
      return false;
  return true;
}

/* What husk_ctr_save_config writes must load as the same container: else a restart would
   run a different one.  */
static void
assert_record_round_trip (const struct husk_ctr *c)
{
  cleanup_free char *dir = husk_strdup_printf ("containers/%s", c->id);
  cleanup_free char *path = husk_strdup_printf ("%s/config.json", dir);
  cleanup_free char *buf = NULL;
  cleanup_ctr struct husk_ctr *d = husk_xcalloc (1, sizeof (*d));
  cleanup_error struct husk_error *e = NULL;
  const struct husk_container_spec *a = &c->spec, *b = &d->spec;
  size_t len;

  memcpy (d->id, c->id, sizeof (d->id));
  if (mkdirat (husk_store_rootfd (store), dir, 0700) < 0 && errno != EEXIST)
    {
      fprintf (stderr, "husk-fuzz: record: mkdir: %s\n", strerror (errno));
      exit (2);
    }
  FUZZ_ASSERT (husk_ctr_save_config (store, c, false, &e) == 0, "save: %s", e->msg);
  FUZZ_ASSERT (husk_read_file_at (husk_store_rootfd (store), path, 1 << 24, &buf, &len, &e) == 0,
               "read back: %s", e->msg);
  FUZZ_ASSERT (husk_ctr_parse_config (store, d, buf, len, &e) == 0,
               "the saved record does not load: %s", e->msg);
  FUZZ_ASSERT (str_eq (c->name, d->name) && str_eq (c->image, d->image)
                   && str_eq (c->image_name, d->image_name) && str_eq (c->created, d->created)
                   && str_eq (c->stop_signal, d->stop_signal) && c->auto_remove == d->auto_remove
                   && c->privileged == d->privileged && strv_eq (c->layers, d->layers),
               "the record's identity changed");
  FUZZ_ASSERT (strv_eq (a->args, b->args) && strv_eq (a->env, b->env) && str_eq (a->cwd, b->cwd)
                   && str_eq (a->hostname, b->hostname) && str_eq (a->user, b->user)
                   && a->readonly_rootfs == b->readonly_rootfs && c->network == d->network
                   && a->n_namespaces == b->n_namespaces
                   && husk_ns_flags (a->namespaces, a->n_namespaces, false)
                          == husk_ns_flags (b->namespaces, b->n_namespaces, false)
                   && a->caps == b->caps && strv_eq (a->masked_paths, b->masked_paths)
                   && strv_eq (a->readonly_paths, b->readonly_paths)
                   && a->no_new_privs == b->no_new_privs && a->seccomp == b->seccomp
                   && str_eq (a->seccomp_profile, b->seccomp_profile) && a->init == b->init
                   && a->tty == b->tty && a->interactive == b->interactive,
               "the spec changed");
  FUZZ_ASSERT (a->n_mounts == b->n_mounts && a->n_rlimits == b->n_rlimits, "counts changed");
  for (size_t i = 0; i < a->n_mounts; i++)
    FUZZ_ASSERT (a->mounts[i].kind == b->mounts[i].kind
                     && str_eq (a->mounts[i].source, b->mounts[i].source)
                     && str_eq (a->mounts[i].dest, b->mounts[i].dest)
                     && str_eq (a->mounts[i].options, b->mounts[i].options)
                     && a->mounts[i].readonly == b->mounts[i].readonly,
                 "mounts[%zu] changed", i);
  for (size_t i = 0; i < a->n_rlimits; i++)
    FUZZ_ASSERT (a->rlimits[i].resource == b->rlimits[i].resource
                     && a->rlimits[i].soft == b->rlimits[i].soft
                     && a->rlimits[i].hard == b->rlimits[i].hard,
                 "rlimits[%zu] changed", i);
}

/* A container's record: config.json, then state.json, then the pid file, split at NUL bytes
   (neither JSON document holds one).  A record that loads is saved and loaded again.  */
static int
fuzz_record (const uint8_t *data, size_t size)
{
  cleanup_free char *s = dup_input (data, size);
  cleanup_ctr struct husk_ctr *c = husk_xcalloc (1, sizeof (*c));
  cleanup_error struct husk_error *e = NULL;
  const char *config = s, *state = "", *pid = "";
  size_t config_len = strlen (s), state_len = 0;

  memcpy (c->id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 65);
  if (config_len < size)
    {
      state = s + config_len + 1;
      state_len = strlen (state);
      if ((size_t) (state - s) + state_len < size)
        pid = state + state_len + 1;
    }
  if (husk_ctr_parse_config (store, c, config, config_len, &e) == 0)
    assert_record_round_trip (c);
  husk_ctr_parse_state (c, state, state_len);
  husk_ctr_parse_pidfile (c, pid);
  husk_ctr_status_name (c->status);
  return 0;
}

/* The monitor's attach frames, as either end reads them off the socket.  */
static int
fuzz_frames (const uint8_t *data, size_t size)
{
  static char buf[HUSK_ATTACH_MAX_FRAME];
  cleanup_close int fd = memfd_create ("husk-fuzz-frames", MFD_CLOEXEC);
  int type;
  size_t len;

  if (fd < 0 || husk_write_all (fd, data, size) < 0 || lseek (fd, 0, SEEK_SET) != 0)
    {
      fprintf (stderr, "husk-fuzz: frames: set up: %s\n", strerror (errno));
      exit (2);
    }
  while (husk_attach_recv (fd, &type, buf, &len) > 0)
    FUZZ_ASSERT (len <= HUSK_ATTACH_MAX_FRAME && type >= 0 && type <= 255,
                 "frame of type %d, %zu bytes", type, len);
  return 0;
}

/* A container's log file (husk logs), line by line; a parsed time prints back to itself.  */
static int
fuzz_log (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data, *end = p + size;
  cleanup_free char *first = NULL;
  struct timespec t;

  /* The first line is also tried as a --since / --until time.  */
  {
    const char *nl = memchr (p, '\n', size);
    first = dup_input (data, nl ? (size_t) (nl - p) : size);
    husk_rfc3339_parse (first, &t);
  }
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
      struct husk_log_entry entry = { 0 };
      cleanup_error struct husk_error *e = NULL;

      if (husk_log_entry_parse (p, len, &entry, &e) == 0)
        {
          char buf[HUSK_RFC3339_NANO_SIZE];
          struct timespec back;

          FUZZ_ASSERT (entry.stream == HUSK_LOG_STDOUT || entry.stream == HUSK_LOG_STDERR,
                       "stream %d", entry.stream);
          husk_rfc3339_format (&entry.time, buf, sizeof (buf));
          FUZZ_ASSERT (husk_rfc3339_parse (buf, &back) == 0 && back.tv_sec == entry.time.tv_sec
                           && back.tv_nsec == entry.time.tv_nsec,
                       "the time prints as \"%s\", which is not the same instant", buf);
          husk_log_entry_clear (&entry);
        }
      p += len + 1;
    }
  return 0;
}

/* lib/jsonmap's decoder, with a table of every type and the same table LAX: what decodes
   encodes, and that encoding decodes and encodes to the same bytes.  */
struct fz_item
{
  char *k;
  int64_t n;
  uint64_t u;
};

struct fz_doc
{
  char id[13];
  char *s;
  int i;
  int64_t i64;
  uint64_t u64, wrap;
  bool b;
  int e;
  char **v, **map, **set;
  struct fz_item one, opt;
  struct fz_item *items;
  size_t n_items;
  char *deep;
};

static const struct husk_jsonmap_enum fz_names[] = {
  { "created", 0 },
  { "running", 1 },
  { "exited", 2 },
  { NULL, 0 },
};

/* K is required in an array's elements only: an object that is absent is written with its
   members, and an absent K would then be missing.  */
#define FZ_ITEM_FIELDS(flags, req)                                                                 \
  {                                                                                                \
    HUSK_JM_STRING ("k", struct fz_item, k, (flags) | (req)),                                      \
        HUSK_JM_INT64 ("n", struct fz_item, n, flags),                                             \
        HUSK_JM_UINT64 ("u", struct fz_item, u, (flags) | HUSK_JM_OMIT_EMPTY), HUSK_JM_END,        \
  }
#define FZ_NESTED_FIELDS(flags)                                                                    \
  {                                                                                                \
    HUSK_JM_STRING ("deep", struct fz_doc, deep, flags), HUSK_JM_END,                              \
  }
static const struct husk_jsonmap_field fz_one_fields[] = FZ_ITEM_FIELDS (0, 0);
static const struct husk_jsonmap_field fz_one_lax[] = FZ_ITEM_FIELDS (HUSK_JM_LAX, 0);
static const struct husk_jsonmap_field fz_item_fields[] = FZ_ITEM_FIELDS (0, HUSK_JM_REQUIRED);
static const struct husk_jsonmap_field fz_item_lax[]
    = FZ_ITEM_FIELDS (HUSK_JM_LAX, HUSK_JM_REQUIRED);
static const struct husk_jsonmap_field fz_nested_fields[] = FZ_NESTED_FIELDS (0);
static const struct husk_jsonmap_field fz_nested_lax[] = FZ_NESTED_FIELDS (HUSK_JM_LAX);
#define FZ_DOC_FIELDS(flags, one_t, item, nested)                                                  \
  {                                                                                                \
    HUSK_JM_CHARS ("id", struct fz_doc, id, flags), HUSK_JM_STRING ("s", struct fz_doc, s, flags), \
        HUSK_JM_INT ("i", struct fz_doc, i, flags),                                                \
        HUSK_JM_INT64 ("i64", struct fz_doc, i64, (flags) | HUSK_JM_OMIT_EMPTY),                   \
        HUSK_JM_UINT64 ("u64", struct fz_doc, u64, flags),                                         \
        HUSK_JM_U64_AS_I64 ("wrap", struct fz_doc, wrap, flags),                                   \
        HUSK_JM_BOOL ("b", struct fz_doc, b, flags),                                               \
        HUSK_JM_ENUM ("e", struct fz_doc, e, fz_names, flags),                                     \
        HUSK_JM_STRV ("v", struct fz_doc, v, flags),                                               \
        HUSK_JM_STRMAP ("map", struct fz_doc, map, (flags) | HUSK_JM_OMIT_EMPTY),                  \
        HUSK_JM_STRSET ("set", struct fz_doc, set, flags),                                         \
        HUSK_JM_OBJECT ("one", struct fz_doc, one, one_t, flags),                                  \
        HUSK_JM_OBJECT ("opt", struct fz_doc, opt, one_t, (flags) | HUSK_JM_OMIT_EMPTY),           \
        HUSK_JM_ARRAY ("items", struct fz_doc, items, n_items, item, flags),                       \
        HUSK_JM_NESTED ("nested", nested, flags), HUSK_JM_END,                                     \
  }
static const struct husk_jsonmap_field fz_doc_fields[]
    = FZ_DOC_FIELDS (0, fz_one_fields, fz_item_fields, fz_nested_fields);
static const struct husk_jsonmap_field fz_doc_lax[]
    = FZ_DOC_FIELDS (HUSK_JM_LAX, fz_one_lax, fz_item_lax, fz_nested_lax);

static char *
fz_encode (const struct husk_jsonmap_field *t, const struct fz_doc *d, size_t *ret_len)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  const char *buf;
  char *out;

  husk_jsonmap_encode (g, t, d);
  buf = husk_jgen_buf (g, ret_len);
  out = husk_xmalloc (*ret_len + 1);
  memcpy (out, buf, *ret_len);
  out[*ret_len] = '\0';
  return out;
}

static void
fz_jsonmap_round_trip (const struct husk_jsonmap_field *t, const uint8_t *data, size_t size)
{
  struct fz_doc d = { 0 }, again = { 0 };
  cleanup_error struct husk_error *e = NULL;
  cleanup_free char *first = NULL, *second = NULL;
  size_t len1, len2;

  if (husk_jsonmap_parse ((const char *) data, size, t, &d, &e) < 0)
    {
      FUZZ_ASSERT (e != NULL && strchr (e->msg, '\n') == NULL && d.s == NULL && d.v == NULL
                       && d.items == NULL,
                   "a failed decode leaves an error of one line and nothing owned");
      return;
    }
  first = fz_encode (t, &d, &len1);
  FUZZ_ASSERT (husk_jsonmap_parse (first, len1, t, &again, &e) == 0, "\"%s\" does not decode: %s",
               first, e->msg);
  second = fz_encode (t, &again, &len2);
  FUZZ_ASSERT (len1 == len2 && memcmp (first, second, len1) == 0,
               "\"%s\" decodes and encodes as \"%s\"", first, second);
  husk_jsonmap_clear (t, &d);
  husk_jsonmap_clear (t, &again);
}

static int
fuzz_jsonmap (const uint8_t *data, size_t size)
{
  fz_jsonmap_round_trip (fz_doc_fields, data, size);
  fz_jsonmap_round_trip (fz_doc_lax, data, size);
  return 0;
}

/* ---------------------------------------------------------------- dockerfile  */

static bool
fz_lookup (const char *name, const char **ret, void *data)
{
  (void) data;
  if (strcmp (name, "A") == 0 || strcmp (name, "1") == 0)
    *ret = "a  b";
  else if (strcmp (name, "E") == 0)
    *ret = "";
  else
    return false;
  return true;
}

/* Expand WORD both ways; an error is one line.  */
static void
fz_expand (const char *word, char esc, unsigned flags)
{
  cleanup_error struct husk_error *e = NULL;
  cleanup_free char *one = NULL;
  cleanup_strv char **words = NULL, **used = NULL;

  if (husk_expand (word, esc, flags, fz_lookup, NULL, &one, &words, &used, &e) < 0)
    FUZZ_ASSERT (e && strchr (e->msg, '\n') == NULL, "an expansion error spans lines: %s", e->msg);
  else
    FUZZ_ASSERT (one && words && used, "expansion left an output unset");
}

static void
fz_instr (const struct husk_df_instr *in, char esc)
{
  FUZZ_ASSERT (in->keyword && in->line >= 1 && in->line <= in->end_line && in->args
                   && husk_strv_len (in->args) == in->n_args,
               "instruction %s at %u..%u", in->keyword ? in->keyword : "?", in->line, in->end_line);
  husk_df_flag (in, "from");
  if (husk_expand_mode_of (in->keyword) != HUSK_EXPAND_NONE)
    {
      for (size_t i = 0; i < in->n_args; i++)
        fz_expand (in->args[i], esc, 0);
      for (size_t i = 0; i < in->n_kvs; i++)
        {
          fz_expand (in->kvs[i].key, esc, 0);
          if (in->kvs[i].value)
            fz_expand (in->kvs[i].value, esc, 0);
        }
    }
  for (size_t i = 0; i < in->n_flags; i++)
    if (in->flags[i].value && husk_expand_flag (in->keyword, in->flags[i].name))
      fz_expand (in->flags[i].value, esc, 0);
  for (size_t i = 0; i < in->n_heredocs; i++)
    {
      FUZZ_ASSERT (in->heredocs[i].name && in->heredocs[i].content, "a heredoc without text");
      if (in->heredocs[i].expand)
        fz_expand (in->heredocs[i].content, '\\', HUSK_EXPAND_NO_QUOTES);
    }
  if (in->kind == HUSK_DF_COPY || in->kind == HUSK_DF_ADD)
    for (size_t i = 0; i < in->n_args; i++)
      husk_df_source_heredoc (in, in->args[i]);
  if (in->kind == HUSK_DF_ONBUILD)
    {
      FUZZ_ASSERT (in->trigger != NULL, "ONBUILD without its trigger");
      if (in->inner)
        fz_instr (in->inner, esc);
    }
}

static int
fuzz_dockerfile (const uint8_t *data, size_t size)
{
  cleanup_dockerfile struct husk_dockerfile *df = NULL;
  cleanup_error struct husk_error *e = NULL;

  if (husk_dockerfile_parse ((const char *) data, size, "Dockerfile", &df, &e) < 0)
    {
      FUZZ_ASSERT (e && strchr (e->msg, '\n') == NULL
                       && strncmp (e->msg, "Dockerfile:", strlen ("Dockerfile:")) == 0,
                   "a parse error is not one line naming the file: %s", e ? e->msg : "(none)");
      return 0;
    }
  FUZZ_ASSERT (df->n_stages > 0 && (df->escape == '\\' || df->escape == '`'),
               "a parsed file has no stage or a bad escape");
  for (size_t i = 0; i < df->n_global_args; i++)
    fz_instr (&df->global_args[i], df->escape);
  for (size_t i = 0; i < df->n_stages; i++)
    {
      const struct husk_df_stage *st = &df->stages[i];
      FUZZ_ASSERT (st->index == i && st->base, "stage %zu", i);
      FUZZ_ASSERT (husk_df_stage_find (df, st->name ? st->name : st->base) != NULL || !st->name,
                   "stage \"%s\" is not found by its name", st->name);
      fz_instr (&st->from, df->escape);
      fz_expand (st->base, df->escape, 0);
      for (size_t j = 0; j < st->n_instrs; j++)
        fz_instr (&st->instrs[j], df->escape);
    }
  return 0;
}

/* A .dockerignore, then a few paths and the patterns themselves as paths.  */
static int
fuzz_dockerignore (const uint8_t *data, size_t size)
{
  static const char *const paths[] = {
    "a",         "a/b",   "a/b/c.md", "README.md", "keep", "x/keep", "node_modules/p/index.js",
    ".git/HEAD", "a b/c", NULL
  };
  cleanup_ignore struct husk_ignore *ig = NULL;
  cleanup_error struct husk_error *e = NULL;
  const char *pat;
  bool exc;

  if (husk_ignore_parse ((const char *) data, size, &ig, &e) < 0)
    {
      FUZZ_ASSERT (e && strchr (e->msg, '\n') == NULL, "an ignore error spans lines: %s",
                   e ? e->msg : "(none)");
      return 0;
    }
  FUZZ_ASSERT (!husk_ignore_match (ig, "") && !husk_ignore_match (ig, "."),
               "the context root is excluded");
  for (size_t i = 0; paths[i]; i++)
    {
      bool m = husk_ignore_match (ig, paths[i]), step = false;
      cleanup_free bool *info = NULL;
      cleanup_free char *prefix = husk_xstrdup (paths[i]);

      if (m)
        husk_ignore_must_walk (ig, paths[i]);
      /* The walk form, one directory at a time, says the same.  */
      for (char *c = prefix;; c++)
        if (*c == '/' || *c == '\0')
          {
            char saved = *c;
            bool *next = NULL;
            *c = '\0';
            step = husk_ignore_match_under (ig, prefix, info, &next);
            free (info);
            info = next;
            *c = saved;
            if (saved == '\0')
              break;
          }
      FUZZ_ASSERT (step == m, "\"%s\": %d step by step, %d at once", paths[i], step, m);
    }
  for (size_t i = 0; (pat = husk_ignore_pattern (ig, i, &exc)) != NULL; i++)
    {
      FUZZ_ASSERT (pat[0] != '\0', "an empty pattern was kept");
      if (husk_ignore_match (ig, pat))
        husk_ignore_must_walk (ig, pat);
    }
  return 0;
}

/* A manifest list's file (overlay/manifestlist.h), as another husk wrote it: a list that parses
   renders (its index made again from its entries) to a file that parses and renders to the
   same bytes, with the same index; its entries are found by their digests.  */
static int
fuzz_mlist (const uint8_t *data, size_t size)
{
  static const char name[] = "localhost/list:latest";
  struct husk_manifest_list l = { 0 }, again = { 0 };
  cleanup_free char *f1 = NULL;
  cleanup_free char *f2 = NULL;
  size_t n1, n2;

  if (husk_manifest_list_parse ((const char *) data, size, name, &l, NULL) < 0)
    return 0;
  for (size_t i = 0; i < l.n_entries; i++)
    FUZZ_ASSERT (husk_manifest_list_find (&l, l.entries[i].digest) >= 0, "entry %zu not found", i);
  if (husk_manifest_list_render (&l, &f1, &n1, NULL) == 0)
    {
      FUZZ_ASSERT (husk_manifest_list_parse (f1, n1, name, &again, NULL) == 0,
                   "a rendered list does not parse: %s", f1);
      FUZZ_ASSERT (husk_manifest_list_render (&again, &f2, &n2, NULL) == 0,
                   "a rendered list does not render again");
      FUZZ_ASSERT (n1 == n2 && memcmp (f1, f2, n1) == 0, "rendered twice: %s, then %s", f1, f2);
      FUZZ_ASSERT (l.index_len == again.index_len
                       && memcmp (l.index, again.index, l.index_len) == 0,
                   "the index changed");
      husk_manifest_list_clear (&again);
    }
  husk_manifest_list_clear (&l);
  return 0;
}

/* A network's record (engine/networks.h), as another husk wrote it: a record that parses
   writes JSON that parses and writes to the same bytes; its addresses go through the IPv4
   arithmetic the address management uses.  */
static int
fuzz_network (const uint8_t *data, size_t size)
{
  cleanup_network struct husk_network_rec *n = NULL;
  cleanup_network struct husk_network_rec *again = NULL;
  cleanup_error struct husk_error *e = NULL;
  cleanup_free char *j1 = NULL;
  cleanup_free char *j2 = NULL;
  size_t n1, n2;
  uint32_t net, gw, addr;
  int prefix;

  if (husk_network_parse ((const char *) data, size, &n, NULL) < 0)
    return 0;
  j1 = husk_network_to_json (n, &n1);
  FUZZ_ASSERT (husk_network_parse (j1, n1, &again, &e) == 0, "a written record does not parse: %s",
               e->msg);
  j2 = husk_network_to_json (again, &n2);
  FUZZ_ASSERT (n1 == n2 && memcmp (j1, j2, n1) == 0, "written twice: %s, then %s", j1, j2);
  if (husk_ipv4_cidr_parse (n->subnet, &net, &prefix) && husk_ipv4_parse (n->gateway, &gw)
      && prefix >= 24)
    {
      uint32_t *used = husk_xcalloc (n->n_containers + 1, sizeof (*used));
      for (size_t i = 0; i < n->n_containers; i++)
        husk_ipv4_parse (n->containers[i].ipv4, &used[i]);
      net &= husk_ipv4_mask (prefix);
      if (husk_ipv4_next_free (net, prefix, gw, used, n->n_containers, &addr) == 0)
        {
          FUZZ_ASSERT ((addr & husk_ipv4_mask (prefix)) == net && addr != net && addr != gw
                           && addr != (net | ~husk_ipv4_mask (prefix)),
                       "next free address %08x outside %08x/%d or reserved", addr, net, prefix);
          for (size_t i = 0; i < n->n_containers; i++)
            FUZZ_ASSERT (used[i] != addr, "next free address %08x is in use", addr);
        }
      free (used);
    }
  return 0;
}

/* ---------------------------------------------------------------- table  */

struct mode
{
  const char *name;
  int (*fn) (const uint8_t *data, size_t size);
  bool scratch; /* Needs SCRATCH (and the store in it).  */
};

static const struct mode modes[] = {
  { "reference", fuzz_reference, false },
  { "manifest", fuzz_manifest, false },
  { "config", fuzz_config, false },
  { "challenge", fuzz_challenge, false },
  { "auth", fuzz_auth, true },
  { "tar", fuzz_tar, true },
  { "whiteout", fuzz_whiteout, true },
  { "seccomp", fuzz_seccomp, false },
  { "record", fuzz_record, true },
  { "frames", fuzz_frames, false },
  { "log", fuzz_log, false },
  { "jsonmap", fuzz_jsonmap, false },
  { "dockerfile", fuzz_dockerfile, false },
  { "dockerignore", fuzz_dockerignore, false },
  { "mlist", fuzz_mlist, false },
  { "network", fuzz_network, false },
};

static const struct mode *mode;

const char *
husk_fuzz_mode_name (size_t i)
{
  return i < sizeof (modes) / sizeof (*modes) ? modes[i].name : NULL;
}

int
husk_fuzz_select (const char *name)
{
  mode = NULL;
  for (size_t i = 0; name && i < sizeof (modes) / sizeof (*modes); i++)
    if (strcmp (modes[i].name, name) == 0)
      mode = &modes[i];
  if (mode == NULL)
    {
      fprintf (stderr, "husk-fuzz: %s \"%s\"; the modes are:", name ? "unknown mode" : "no mode",
               name ? name : "");
      for (size_t i = 0; i < sizeof (modes) / sizeof (*modes); i++)
        fprintf (stderr, " %s", modes[i].name);
      fputc ('\n', stderr);
      return -1;
    }
  if (mode->scratch && scratch == NULL)
    {
      cleanup_error struct husk_error *e = NULL;
      cleanup_free char *storedir = NULL;

      if (prepare_scratch () < 0)
        {
          fprintf (stderr, "husk-fuzz: cannot prepare a scratch directory: %s\n", strerror (errno));
          return -1;
        }
      atexit (remove_scratch);
      storedir = husk_strdup_printf ("%s/store", scratch);
      /* SCRATCH/store, beside the root: only record's parser uses it (its root path).  */
      if (husk_store_open (storedir, &store, &e) < 0 || husk_ctr_dirs_create (store, &e) < 0)
        {
          fprintf (stderr, "husk-fuzz: store: %s\n", e->msg);
          return -1;
        }
    }
  return 0;
}

int
husk_fuzz_one (const uint8_t *data, size_t size)
{
  return mode->fn (data, size);
}

/* libFuzzer's two hooks.  */
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  if (husk_fuzz_select (getenv ("HUSK_FUZZ_MODE")) < 0)
    exit (2);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  return husk_fuzz_one (data, size);
}
