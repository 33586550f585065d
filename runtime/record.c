/* Container records (STORE/containers/ID) and run state (RUNDIR/ID): see record.h.  */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (4u << 20)

void
husk_now_rfc3339 (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  char base[32];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (base, sizeof (base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}

const char *
husk_ctr_status_name (enum husk_ctr_status st)
{
  switch (st)
    {
    case HUSK_CTR_CREATED:
      return "created";
    case HUSK_CTR_RUNNING:
      return "running";
    case HUSK_CTR_EXITED:
      return "exited";
    }
  return "unknown";
}

uint64_t
husk_proc_start_time (pid_t pid)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;
  uint64_t v = 0;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields count from the last ')'.  */
  p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return 0;
  p += 2;
  /* P is at field 3, the state; the start time is field 22, 19 fields on.  */
  if (*p == 'Z' || *p == 'X')
    return 0; /* A zombie has finished.  */
  for (int field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p == NULL)
    return 0;
  v = strtoull (p, NULL, 10);
  return v;
}

bool
husk_proc_alive (pid_t pid, uint64_t start)
{
  return pid > 0 && start != 0 && husk_proc_start_time (pid) == start;
}

int
husk_proc_pidfd (pid_t pid, uint64_t start)
{
  int fd;

  if (pid <= 0)
    {
      errno = ESRCH;
      return -1;
    }
  fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  /* Checked after opening: the pidfd pins the process, so a match now stays true.  */
  if (!husk_proc_alive (pid, start))
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

int
husk_rundir (char **ret, struct husk_error **err)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  cleanup_free char *dir = NULL;
  struct stat st;

  if (geteuid () == 0)
    dir = husk_xstrdup ("/run/husk");
  else if (xdg && xdg[0] == '/' && access (xdg, W_OK | X_OK) == 0)
    dir = husk_strdup_printf ("%s/husk", xdg);
  else
    dir = husk_strdup_printf ("/tmp/husk-run-%u", (unsigned) geteuid ());
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "runtime directory \"%s\"", dir);
  /* Under /tmp another user could have made it first: it must be ours, and private.  */
  if (lstat (dir, &st) < 0)
    return husk_error_set (err, errno, "runtime directory \"%s\"", dir);
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    return husk_error_set (err, 0,
                           "runtime directory \"%s\": not a private directory of this user", dir);
  *ret = TAKE_PTR (dir);
  return 0;
}

int
husk_ctr_run_path (const struct husk_ctr *c, const char *name, char **ret,
                   struct husk_error **err)
{
  cleanup_free char *dir = NULL;

  if (husk_rundir (&dir, err) < 0)
    return -1;
  *ret = name ? husk_strdup_printf ("%s/%s/%s", dir, c->id, name)
              : husk_strdup_printf ("%s/%s", dir, c->id);
  return 0;
}

char *
husk_ctr_dir (struct husk_store *s, const struct husk_ctr *c)
{
  return husk_strdup_printf ("%s/containers/%s", s->root, c->id);
}

char *
husk_ctr_log_path (struct husk_store *s, const struct husk_ctr *c)
{
  return husk_strdup_printf ("%s/containers/%s/ctr.log", s->root, c->id);
}

/* ------------------------------------------------------------------ names  */

bool
husk_ctr_name_valid (const char *s)
{
  if (!isalnum ((unsigned char) s[0]) || strlen (s) > 128)
    return false;
  for (const char *p = s; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return true;
}

static int
names_dir (struct husk_store *s, struct husk_error **err)
{
  int fd;

  if (mkdirat (s->rootfd, "container-names", 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "store \"%s\": create \"container-names\"", s->root);
  fd = openat (s->rootfd, "container-names", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return husk_error_set (err, errno, "store \"%s\": open \"container-names\"", s->root);
  return fd;
}

static bool
container_exists (struct husk_store *s, const char *id)
{
  cleanup_free char *p = husk_strdup_printf ("containers/%s/config.json", id);
  return faccessat (s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
husk_ctr_name_claim (struct husk_store *s, const char *name, const char *id,
                     struct husk_error **err)
{
  cleanup_close int dfd = -1;
  char target[80];
  ssize_t n;

  if (!husk_ctr_name_valid (name))
    return husk_error_set (err, 0, "name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                           name);
  dfd = names_dir (s, err);
  if (dfd < 0)
    return -1;
  for (int attempt = 0; attempt < 3; attempt++)
    {
      if (symlinkat (id, dfd, name) == 0)
        return 0;
      if (errno != EEXIST)
        return husk_error_set (err, errno, "name \"%s\": claim it", name);
      n = readlinkat (dfd, name, target, sizeof (target) - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      if (strcmp (target, id) == 0)
        return 0;
      /* A name left by a container that no longer exists (a crash in rm) is free again.  A
         container being created writes its record right after claiming: give it that time by
         only freeing names whose claim is older than a minute.  */
      if (!container_exists (s, target))
        {
          struct stat st;
          if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
              && time (NULL) - st.st_mtime > 60)
            {
              unlinkat (dfd, name, 0);
              continue;
            }
        }
      return husk_error_set (err, 0, "name \"%s\": already in use by container %.12s", name,
                             target);
    }
  return husk_error_set (err, 0, "name \"%s\": could not claim it", name);
}

void
husk_ctr_name_release (struct husk_store *s, const char *name, const char *id)
{
  cleanup_close int dfd = -1;
  char target[80];
  ssize_t n;

  if (name == NULL)
    return;
  dfd = openat (s->rootfd, "container-names", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0)
    return;
  n = readlinkat (dfd, name, target, sizeof (target) - 1);
  if (n < 0)
    return;
  target[n] = '\0';
  if (strcmp (target, id) == 0)
    unlinkat (dfd, name, 0);
}

static const char *const name_left[] = {
  "amber",   "bold",    "brisk",   "calm",    "clever",  "cosmic",  "crisp",  "daring",
  "dusty",   "eager",   "fancy",   "fuzzy",   "gentle",  "glad",    "golden", "happy",
  "hidden",  "humble",  "icy",     "jolly",   "keen",    "kind",    "lively", "lucky",
  "mellow",  "merry",   "misty",   "modest",  "nimble",  "noble",   "odd",    "plucky",
  "polite",  "proud",   "quick",   "quiet",   "rapid",   "rosy",    "rustic", "shy",
  "silent",  "sleepy",  "snowy",   "steady",  "sunny",   "swift",   "tidy",   "vivid",
  "wandering", "witty", "young",   "zesty",
};

static const char *const name_right[] = {
  "badger",  "beetle",  "bison",   "crane",   "cricket", "dolphin", "eagle",  "falcon",
  "ferret",  "finch",   "gecko",   "gopher",  "heron",   "ibis",    "jackal", "koala",
  "lark",    "lemur",   "lynx",    "magpie",  "marten",  "mole",    "moose",  "newt",
  "ocelot",  "orca",    "otter",   "owl",     "panda",   "pelican", "puffin", "quail",
  "rabbit",  "raven",   "robin",   "salmon",  "seal",    "shrew",   "sparrow", "stoat",
  "swan",    "tapir",   "tern",    "toad",    "trout",   "turtle",  "viper",  "walrus",
  "weasel",  "wombat",  "wren",    "yak",
};

int
husk_ctr_name_generate (struct husk_store *s, const char *id, char **ret,
                        struct husk_error **err)
{
  const size_t nl = sizeof (name_left) / sizeof (name_left[0]);
  const size_t nr = sizeof (name_right) / sizeof (name_right[0]);
  /* The ID is random: its hex digits pick the words, and later attempts move on.  */
  uint64_t seed;

  memcpy (&seed, id, sizeof (seed));
  for (unsigned attempt = 0; attempt < 64; attempt++)
    {
      cleanup_free char *name = NULL;
      cleanup_error struct husk_error *e = NULL;
      uint64_t x = seed + attempt * 0x9E3779B97F4A7C15ull;

      x ^= x >> 31;
      x *= 0xBF58476D1CE4E5B9ull;
      x ^= x >> 29;
      if (attempt < 16)
        name = husk_strdup_printf ("%s_%s", name_left[x % nl], name_right[(x / nl) % nr]);
      else
        name = husk_strdup_printf ("%s_%s%u", name_left[x % nl], name_right[(x / nl) % nr],
                                   (unsigned) (x >> 40) % 1000);
      if (husk_ctr_name_claim (s, name, id, &e) == 0)
        {
          *ret = TAKE_PTR (name);
          return 0;
        }
      if (e->errnum != 0)
        {
          *err = TAKE_PTR (e);
          return -1;
        }
    }
  return husk_error_set (err, 0, "container %.12s: no free name found", id);
}

/* ------------------------------------------------------------ config.json  */

static const char *
mount_kind_name (enum husk_mount_kind k)
{
  return k == HUSK_MOUNT_TMPFS ? "tmpfs" : "bind";
}

static void
gen_opt_string (husk_jgen *g, const char *key, const char *v)
{
  if (v == NULL)
    return;
  husk_jgen_key (g, key);
  husk_jgen_string (g, v);
}

static void
gen_strv (husk_jgen *g, const char *key, char *const *v)
{
  husk_jgen_key (g, key);
  husk_jgen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
}

static void
gen_bool (husk_jgen *g, const char *key, bool v)
{
  husk_jgen_key (g, key);
  husk_jgen_bool (g, v);
}

int
husk_ctr_save_config (struct husk_store *s, const struct husk_ctr *c, bool durable,
                      struct husk_error **err)
{
  const struct husk_container_spec *sp = &c->spec;
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", c->id);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  gen_opt_string (g, "id", c->id);
  gen_opt_string (g, "name", c->name);
  gen_opt_string (g, "image", c->image);
  gen_opt_string (g, "image_name", c->image_name);
  gen_opt_string (g, "created", c->created);
  gen_bool (g, "auto_remove", c->auto_remove);
  gen_opt_string (g, "stop_signal", c->stop_signal);
  gen_strv (g, "layers", c->layers);
  gen_strv (g, "args", sp->args);
  gen_strv (g, "env", sp->env);
  gen_opt_string (g, "cwd", sp->cwd);
  gen_opt_string (g, "hostname", sp->hostname);
  gen_opt_string (g, "user", sp->user);
  husk_jgen_key (g, "mounts");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < sp->n_mounts; i++)
    {
      const struct husk_mount *m = &sp->mounts[i];
      husk_jgen_map_open (g);
      gen_opt_string (g, "kind", mount_kind_name (m->kind));
      gen_opt_string (g, "source", m->source);
      gen_opt_string (g, "dest", m->dest);
      gen_opt_string (g, "options", m->options);
      gen_bool (g, "readonly", m->readonly);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  gen_bool (g, "readonly_rootfs", sp->readonly_rootfs);
  gen_opt_string (g, "network", sp->network == HUSK_NETWORK_HOST ? "host" : "none");
  husk_jgen_key (g, "caps");
  husk_jgen_int (g, (int64_t) sp->caps);
  gen_bool (g, "privileged", sp->privileged);
  gen_bool (g, "no_new_privs", sp->no_new_privs);
  gen_opt_string (g, "seccomp",
                  sp->seccomp == HUSK_SECCOMP_UNCONFINED ? "unconfined"
                  : sp->seccomp == HUSK_SECCOMP_PROFILE  ? "profile"
                                                         : "default");
  gen_opt_string (g, "seccomp_profile", sp->seccomp_profile);
  husk_jgen_key (g, "rlimits");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < sp->n_rlimits; i++)
    {
      husk_jgen_map_open (g);
      husk_jgen_key (g, "resource");
      husk_jgen_int (g, sp->rlimits[i].resource);
      /* RLIM_INFINITY round-trips as -1.  */
      husk_jgen_key (g, "soft");
      husk_jgen_int (g, (int64_t) sp->rlimits[i].soft);
      husk_jgen_key (g, "hard");
      husk_jgen_int (g, (int64_t) sp->rlimits[i].hard);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  gen_bool (g, "init", sp->init);
  gen_bool (g, "tty", sp->tty);
  gen_bool (g, "interactive", sp->interactive);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  if (!durable)
    return husk_write_file_replace_at (s->rootfd, path, buf, len, 0600, err);
  return husk_write_file_atomic_at (s->rootfd, path, buf, len, 0600, err);
}

static char *
dup_string (const husk_json *j, const char *key)
{
  const char *v = husk_json_get_string (j, key);
  return v ? husk_xstrdup (v) : NULL;
}

static bool
get_bool (const husk_json *j, const char *key)
{
  bool v = false;
  husk_json_bool (husk_json_get (j, key), &v);
  return v;
}

int
husk_ctr_parse_config (struct husk_store *s, struct husk_ctr *c, const char *buf, size_t len,
                       struct husk_error **err)
{
  struct husk_container_spec *sp = &c->spec;
  cleanup_json husk_json *j = husk_json_parse (buf, len, err);
  const husk_json *a;
  const char *v;
  int64_t n;

  if (j == NULL)
    return -1;
  c->name = dup_string (j, "name");
  c->image = dup_string (j, "image");
  c->image_name = dup_string (j, "image_name");
  c->created = dup_string (j, "created");
  c->auto_remove = get_bool (j, "auto_remove");
  c->stop_signal = dup_string (j, "stop_signal");
  if ((c->layers = husk_json_strv (husk_json_get (j, "layers"), "layers", err)) == NULL
      || (sp->args = husk_json_strv (husk_json_get (j, "args"), "args", err)) == NULL
      || (sp->env = husk_json_strv (husk_json_get (j, "env"), "env", err)) == NULL)
    return -1;
  sp->cwd = dup_string (j, "cwd");
  sp->hostname = dup_string (j, "hostname");
  sp->user = dup_string (j, "user");
  a = husk_json_get (j, "mounts");
  sp->n_mounts = husk_json_array_len (a);
  if (sp->n_mounts)
    {
      struct husk_mount *m = husk_xcalloc (sp->n_mounts, sizeof (*m));
      for (size_t i = 0; i < sp->n_mounts; i++)
        {
          const husk_json *e = husk_json_array_at (a, i);
          v = husk_json_get_string (e, "kind");
          m[i].kind = v && strcmp (v, "tmpfs") == 0 ? HUSK_MOUNT_TMPFS : HUSK_MOUNT_BIND;
          m[i].source = dup_string (e, "source");
          m[i].dest = dup_string (e, "dest");
          m[i].options = dup_string (e, "options");
          m[i].readonly = get_bool (e, "readonly");
          if (m[i].dest == NULL || (m[i].kind == HUSK_MOUNT_BIND && m[i].source == NULL))
            {
              sp->mounts = m;
              return husk_error_set (err, 0, "mounts[%zu]: incomplete", i);
            }
        }
      sp->mounts = m;
    }
  sp->readonly_rootfs = get_bool (j, "readonly_rootfs");
  v = husk_json_get_string (j, "network");
  sp->network = v && strcmp (v, "host") == 0 ? HUSK_NETWORK_HOST : HUSK_NETWORK_NONE;
  if (husk_json_int64 (husk_json_get (j, "caps"), &n))
    sp->caps = (uint64_t) n;
  sp->privileged = get_bool (j, "privileged");
  sp->no_new_privs = get_bool (j, "no_new_privs");
  v = husk_json_get_string (j, "seccomp");
  sp->seccomp = v && strcmp (v, "unconfined") == 0 ? HUSK_SECCOMP_UNCONFINED
                : v && strcmp (v, "profile") == 0  ? HUSK_SECCOMP_PROFILE
                                                   : HUSK_SECCOMP_DEFAULT;
  sp->seccomp_profile = dup_string (j, "seccomp_profile");
  if (sp->seccomp == HUSK_SECCOMP_PROFILE && sp->seccomp_profile == NULL)
    return husk_error_set (err, 0, "seccomp profile missing");
  a = husk_json_get (j, "rlimits");
  sp->n_rlimits = husk_json_array_len (a);
  if (sp->n_rlimits)
    {
      struct husk_rlimit *r = husk_xcalloc (sp->n_rlimits, sizeof (*r));
      for (size_t i = 0; i < sp->n_rlimits; i++)
        {
          const husk_json *e = husk_json_array_at (a, i);
          int64_t x;
          if (husk_json_int64 (husk_json_get (e, "resource"), &x))
            r[i].resource = (int) x;
          if (husk_json_int64 (husk_json_get (e, "soft"), &x))
            r[i].soft = (uint64_t) x;
          if (husk_json_int64 (husk_json_get (e, "hard"), &x))
            r[i].hard = (uint64_t) x;
        }
      sp->rlimits = r;
    }
  sp->init = get_bool (j, "init");
  sp->tty = get_bool (j, "tty");
  sp->interactive = get_bool (j, "interactive");
  /* Every container gets the default device rules (there is no --device yet); the cgroup
     is used only when husk runs as root.  */
  sp->device_cgroup = c->id;
  sp->devices = husk_devices_default;
  sp->n_devices = husk_devices_n_default;

  /* Paths follow the store, wherever it is now.  */
  for (size_t i = 0; c->layers[i]; i++)
    {
      cleanup_free char *abs = NULL;
      if (husk_digest_check (c->layers[i], err) < 0)
        return husk_error_wrap (err, "layers[%zu]", i);
      abs = husk_strdup_printf ("%s/layers/%s/diff", s->root, husk_digest_hex (c->layers[i]));
      husk_strv_append (&sp->lowerdirs, abs);
    }
  sp->upperdir = husk_strdup_printf ("%s/containers/%s/upper", s->root, c->id);
  sp->workdir = husk_strdup_printf ("%s/containers/%s/work", s->root, c->id);
  sp->rootfs = husk_strdup_printf ("%s/containers/%s/rootfs", s->root, c->id);
  return 0;
}

/* ------------------------------------------------------------- state.json  */

int
husk_ctr_save_state (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  gen_opt_string (g, "status", husk_ctr_status_name (c->status));
  husk_jgen_key (g, "exit_code");
  husk_jgen_int (g, c->exit_code);
  gen_opt_string (g, "started_at", c->started_at);
  gen_opt_string (g, "finished_at", c->finished_at);
  gen_opt_string (g, "error", c->error);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  return husk_write_file_replace_at (s->rootfd, path, buf, len, 0600, err);
}

void
husk_ctr_parse_state (struct husk_ctr *c, const char *buf, size_t len)
{
  cleanup_json husk_json *j = NULL;
  const char *st;
  int64_t n;

  c->status = HUSK_CTR_CREATED;
  j = husk_json_parse (buf, len, NULL);
  if (j == NULL)
    return;
  st = husk_json_get_string (j, "status");
  if (st && strcmp (st, "running") == 0)
    c->status = HUSK_CTR_RUNNING;
  else if (st && strcmp (st, "exited") == 0)
    c->status = HUSK_CTR_EXITED;
  if (husk_json_int64 (husk_json_get (j, "exit_code"), &n))
    c->exit_code = (int) n;
  c->started_at = dup_string (j, "started_at");
  c->finished_at = dup_string (j, "finished_at");
  c->error = dup_string (j, "error");
}

static void
load_state (struct husk_store *s, struct husk_ctr *c)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);
  cleanup_free char *buf = NULL;

  c->status = HUSK_CTR_CREATED;
  if (husk_read_file_at (s->rootfd, path, 1 << 20, &buf, NULL, NULL) < 0)
    return;
  husk_ctr_parse_state (c, buf, strlen (buf));
}

/* RUNDIR/ID/pid: "PID PID_START MONITOR_PID MONITOR_START".  */
int
husk_ctr_write_pidfile (const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int dfd = -1;
  char buf[128];
  int len;

  if (husk_ctr_run_path (c, NULL, &dir, err) < 0)
    return -1;
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s\"", dir);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", dir);
  len = snprintf (buf, sizeof (buf), "%d %" PRIu64 " %d %" PRIu64 "\n", (int) c->pid,
                  c->pid_start, (int) c->monitor_pid, c->monitor_start);
  return husk_write_file_replace_at (dfd, "pid", buf, (size_t) len, 0600, err);
}

void
husk_ctr_remove_rundir (const struct husk_ctr *c)
{
  cleanup_free char *dir = NULL;
  cleanup_error struct husk_error *e = NULL;

  if (husk_rundir (&dir, &e) < 0)
    return;
  {
    cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
      husk_rm_rf_at (dfd, c->id, NULL);
  }
  /* The container has exited (or its monitor is gone and repair_state killed it): its device
     cgroup goes with its run directory.  Rootless there is none to remove.  */
  if (geteuid () == 0)
    husk_devices_cgroup_remove (c->id);
}

bool
husk_ctr_parse_pidfile (struct husk_ctr *c, const char *buf)
{
  int pid, mpid;
  uint64_t ps, ms;

  if (sscanf (buf, "%d %" SCNu64 " %d %" SCNu64, &pid, &ps, &mpid, &ms) != 4)
    return false;
  c->pid = pid;
  c->pid_start = ps;
  c->monitor_pid = mpid;
  c->monitor_start = ms;
  return true;
}

static bool
read_pidfile (struct husk_ctr *c)
{
  cleanup_free char *path = NULL, *buf = NULL;

  if (husk_ctr_run_path (c, "pid", &path, NULL) < 0
      || husk_read_file_at (AT_FDCWD, path, 256, &buf, NULL, NULL) < 0)
    return false;
  return husk_ctr_parse_pidfile (c, buf);
}

/* A container that state.json calls running but whose monitor is gone (killed, crashed,
   rebooted) has exited: record that, and make sure nothing of it is left running.  */
static void
repair_state (struct husk_store *s, struct husk_ctr *c)
{
  char now[64];
  bool have_pids = read_pidfile (c);

  if (have_pids && husk_proc_alive (c->monitor_pid, c->monitor_start))
    return;
  /* A monitor writes the pid file before it calls the container running: without one the
     start never finished.  */
  if (have_pids && husk_proc_alive (c->pid, c->pid_start))
    kill (c->pid, SIGKILL);
  /* Reread: the monitor may have just recorded the exit itself.  */
  {
    struct husk_ctr fresh = { 0 };
    memcpy (fresh.id, c->id, sizeof (c->id));
    load_state (s, &fresh);
    if (fresh.status != HUSK_CTR_RUNNING)
      {
        c->status = fresh.status;
        c->exit_code = fresh.exit_code;
        free (c->finished_at);
        c->finished_at = TAKE_PTR (fresh.finished_at);
        free (fresh.started_at);
        free (fresh.error);
        c->pid = c->monitor_pid = 0;
        return;
      }
    free (fresh.started_at);
    free (fresh.finished_at);
    free (fresh.error);
  }
  husk_now_rfc3339 (now, sizeof (now));
  c->status = HUSK_CTR_EXITED;
  c->exit_code = 255;
  free (c->finished_at);
  c->finished_at = husk_xstrdup (now);
  free (c->error);
  c->error = husk_xstrdup ("its monitor is gone (killed, crashed or the machine restarted)");
  c->pid = c->monitor_pid = 0;
  husk_ctr_save_state (s, c, NULL);
  husk_ctr_remove_rundir (c);
}

static bool is_hex (const char *s);

int
husk_ctr_lock (struct husk_store *s, const char *id, struct husk_ctr **ret,
               struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s", id);
  cleanup_close int fd = openat (s->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return husk_error_set (err, errno == ENOENT ? 0 : errno, errno == ENOENT
                               ? "no such container: %.12s" : "container %.12s: open", id);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "container %.12s: lock", id);
  /* Removed while we waited: the lock guards nothing.  */
  if (ret && husk_ctr_load (s, id, ret, err) < 0)
    return -1;
  if (ret == NULL && !container_exists (s, id))
    return husk_error_set (err, 0, "no such container: %.12s", id);
  return TAKE_FD (fd);
}

/* ---------------------------------------------------------------- remove  */

int
husk_ctr_remove_files (struct husk_ctr_rm *job, struct husk_error **err)
{
  struct husk_store *s = job->store;
  cleanup_free char *from = husk_strdup_printf ("containers/%s", job->id);
  cleanup_free char *to = husk_strdup_printf ("containers/.rm-%s", job->id);

  unsigned wait_us = 1000;

  /* Out of every listing at once; a crash leaves only a directory no command reads.  */
  if (renameat (s->rootfd, from, s->rootfd, to) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "container %.12s: remove", job->id);
  /* The container is gone for every command from here: its name is free at once, whatever
     becomes of the files.  */
  husk_ctr_name_release (s, job->name, job->id);
  /* A copy that joined the container before it exited may still be writing into its upper
     directory (ENOTEMPTY): try again for most of a second; what is left after that
     is swept by container prune.  */
  for (int tries = 0;; tries++)
    {
      cleanup_error struct husk_error *e = NULL;
      if (husk_rm_rf_at (s->rootfd, to, &e) == 0)
        return 0;
      if (tries == 10 || (e->errnum != ENOTEMPTY && e->errnum != EBUSY))
        {
          *err = TAKE_PTR (e);
          return husk_error_wrap (err, "container %.12s: remove", job->id);
        }
      usleep (wait_us);
      wait_us = wait_us < 256000 ? wait_us * 2 : wait_us;
    }
}

/* STORE/containers for reading, or NULL: with *ERR set, or without when it does not exist.  */
static DIR *
open_containers (struct husk_store *s, struct husk_error **err)
{
  int fd = openat (s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;

  if (fd < 0)
    {
      if (errno != ENOENT)
        husk_error_set (err, errno, "store \"%s\": containers", s->root);
      return NULL;
    }
  d = fdopendir (fd);
  if (d == NULL)
    {
      husk_error_set (err, errno, "store \"%s\": containers", s->root);
      close (fd);
    }
  return d;
}

/* Leftovers of interrupted commands: a removal cut short (".rm-ID"), or a creation killed
   before its record was written (no config.json, older than a minute).  */
static int
sweep_in_userns (void *arg, struct husk_error **err)
{
  struct husk_store *s = arg;
  cleanup_dir DIR *d = open_containers (s, err);
  struct dirent *de;

  if (d == NULL)
    return *err ? -1 : 0;
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *cfg = NULL;
      struct stat st;

      if (strncmp (de->d_name, ".rm-", 4) == 0)
        {
          husk_rm_rf_at (dirfd (d), de->d_name, NULL);
          continue;
        }
      if (strlen (de->d_name) != 64 || !is_hex (de->d_name))
        continue;
      cfg = husk_strdup_printf ("%s/config.json", de->d_name);
      if (faccessat (dirfd (d), cfg, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && time (NULL) - st.st_mtime > 60)
        husk_rm_rf_at (dirfd (d), de->d_name, NULL);
    }
  return 0;
}

int
husk_ctr_sweep (struct husk_store *s, const struct husk_idmap *map, struct husk_error **err)
{
  return husk_userns_run (map, sweep_in_userns, s, err);
}

static int
remove_in_userns (void *arg, struct husk_error **err)
{
  return husk_ctr_remove_files (arg, err);
}

int
husk_ctr_remove (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  struct husk_ctr_rm job = { .store = s, .id = c->id, .name = c->name };

  husk_ctr_remove_rundir (c);
  return husk_userns_run (c->spec.idmap, remove_in_userns, &job, err);
}

/* ------------------------------------------------------------------ load  */

static int
load_id (struct husk_store *s, const char *id, struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", id);
  cleanup_free char *buf = NULL;
  cleanup_ctr struct husk_ctr *c = husk_xcalloc (1, sizeof (*c));
  size_t len;

  snprintf (c->id, sizeof (c->id), "%s", id);
  if (husk_read_file_at (s->rootfd, path, CONFIG_MAX, &buf, &len, err) < 0
      || husk_ctr_parse_config (s, c, buf, len, err) < 0)
    return husk_error_wrap (err, "container %.12s", id);
  if (geteuid () != 0)
    {
      /* The caller's map, read once per process: ps of a thousand containers reads
         /etc/subuid once, not a thousand times.  */
      static struct husk_idmap map;
      static bool have_map;
      if (!have_map && husk_idmap_for_user (geteuid (), getegid (), NULL, NULL, &map, err) < 0)
        return -1;
      have_map = true;
      c->idmap = map;
      c->spec.idmap = &c->idmap;
    }
  load_state (s, c);
  if (c->status == HUSK_CTR_RUNNING)
    repair_state (s, c);
  *ret = TAKE_PTR (c);
  return 0;
}

static bool
is_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isdigit ((unsigned char) *s) && !(*s >= 'a' && *s <= 'f'))
      return false;
  return true;
}

int
husk_ctr_load (struct husk_store *s, const char *query, struct husk_ctr **ret,
               struct husk_error **err)
{
  cleanup_free char *match = NULL;
  size_t qlen = strlen (query);

  if (qlen == 64 && is_hex (query) && container_exists (s, query))
    return load_id (s, query, ret, err);
  if (husk_ctr_name_valid (query))
    {
      cleanup_close int dfd = openat (s->rootfd, "container-names",
                                      O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      char target[80];
      ssize_t n = dfd >= 0 ? readlinkat (dfd, query, target, sizeof (target) - 1) : -1;
      if (n == 64)
        {
          target[n] = '\0';
          if (is_hex (target) && container_exists (s, target))
            return load_id (s, target, ret, err);
        }
    }
  if (is_hex (query) && qlen < 64)
    {
      cleanup_error struct husk_error *e = NULL;
      cleanup_dir DIR *d = open_containers (s, &e);
      struct dirent *de;

      while (d && (de = readdir (d)) != NULL)
        {
          if (strncmp (de->d_name, query, qlen) != 0 || strlen (de->d_name) != 64)
            continue;
          if (match)
            return husk_error_set (err, 0, "container \"%s\": ambiguous, more than one ID "
                                           "starts with it", query);
          match = husk_xstrdup (de->d_name);
        }
      if (match && container_exists (s, match))
        return load_id (s, match, ret, err);
    }
  return husk_error_set (err, 0, "no such container: %s", query);
}

static int
cmp_created (const void *a, const void *b)
{
  const struct husk_ctr *x = *(struct husk_ctr *const *) a;
  const struct husk_ctr *y = *(struct husk_ctr *const *) b;
  const char *cx = x->created ? x->created : "", *cy = y->created ? y->created : "";
  return strcmp (cy, cx);
}

int
husk_ctr_list (struct husk_store *s, struct husk_ctr ***ret, size_t *ret_n,
               struct husk_error **err)
{
  cleanup_dir DIR *d = open_containers (s, err);
  struct husk_ctr **v = NULL;
  size_t n = 0;
  struct dirent *de;

  *ret = NULL;
  *ret_n = 0;
  if (d == NULL)
    return *err ? -1 : 0;
  while ((de = readdir (d)) != NULL)
    {
      struct husk_ctr *c = NULL;
      cleanup_error struct husk_error *e = NULL;

      if (strlen (de->d_name) != 64 || !is_hex (de->d_name))
        continue;
      /* One being created or removed right now has no record: not a container (yet).  */
      if (load_id (s, de->d_name, &c, &e) < 0)
        continue;
      v = husk_xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = c;
    }
  if (n)
    qsort (v, n, sizeof (*v), cmp_created);
  *ret = v;
  *ret_n = n;
  return 0;
}

void
husk_ctr_free (struct husk_ctr *c)
{
  struct husk_container_spec *sp;

  if (c == NULL)
    return;
  sp = &c->spec;
  free (c->name);
  free (c->image);
  free (c->image_name);
  free (c->created);
  free (c->stop_signal);
  free (c->started_at);
  free (c->finished_at);
  free (c->error);
  husk_strv_free (c->layers);
  husk_strv_free (sp->lowerdirs);
  free ((char *) sp->upperdir);
  free ((char *) sp->workdir);
  free ((char *) sp->rootfs);
  husk_strv_free (sp->args);
  husk_strv_free (sp->env);
  free ((char *) sp->cwd);
  free ((char *) sp->hostname);
  free ((char *) sp->user);
  for (size_t i = 0; i < sp->n_mounts; i++)
    {
      free ((char *) sp->mounts[i].source);
      free ((char *) sp->mounts[i].dest);
      free ((char *) sp->mounts[i].options);
    }
  free ((void *) sp->mounts);
  free ((char *) sp->seccomp_profile);
  free ((void *) sp->rlimits);
  free (c);
}

void
husk_ctr_list_free (struct husk_ctr **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    husk_ctr_free (v[i]);
  free (v);
}
