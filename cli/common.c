#include "config.h"

#include <fcntl.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "common.h"
#include "selfexe.h"
#include "signame.h"
#include "unpack.h"
#include "userns.h"
#include "record.h"
#include "util.h"
#include "banned.h"

int
husk_cli_open_store (struct husk_global *g, struct husk_store **ret, struct husk_error **err)
{
  cleanup_free char *def = NULL;
  const char *root = g->root;
  struct husk_store *s;

  if (root == NULL)
    {
      def = husk_store_default_root ();
      if (def == NULL)
        return husk_error_set (err, 0, "no store: HOME is not set (use --root)");
      root = def;
    }
  if (husk_store_open (root, &s, err) < 0)
    return -1;
  if (husk_ctr_dirs_create (s, err) < 0)
    {
      husk_store_close (s);
      return -1;
    }
  *ret = s;
  return 0;
}

int
husk_cli_idmap (struct husk_idmap *buf, const struct husk_idmap **ret, struct husk_error **err)
{
  if (geteuid () == 0)
    {
      *ret = NULL;
      return 0;
    }
  if (husk_idmap_for_user (geteuid (), getegid (), NULL, NULL, buf, err) < 0)
    return -1;
  *ret = buf;
  return 0;
}

/* husk-full sits next to husk in the build tree, and in $(pkglibexecdir) once installed.  It
   is found from /proc/self/exe, never from PATH or the environment, which a caller (or a
   container that shares a writable directory with it) could point elsewhere.  */
int
husk_cli_exec_full (struct husk_global *g, struct husk_error **err)
{
  cleanup_free char *self = husk_self_exe_path ();
  cleanup_free char *beside = NULL;
  const char *full;
  char *slash;

  if (self == NULL)
    return husk_error_set (err, errno, "find husk's own binary (/proc/self/exe)");
  slash = strrchr (self, '/');
  if (slash == NULL)
    return husk_error_set (err, 0, "find husk's own binary (/proc/self/exe)");
  *slash = '\0';
  beside = husk_strdup_printf ("%s/husk-full", self);
  full = access (beside, X_OK) == 0 ? beside : HUSK_PKGLIBEXECDIR "/husk-full";
  /* husk-full's main takes the caller's umask for its own caller_umask.  */
  umask (g->caller_umask);
  execv (full, g->argv);
  umask (0022);
  return husk_error_set (err, errno, "run \"%s\"", full);
}

int
husk_cli_usage_error (struct husk_error **err, const char *command, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (command)
    husk_error_set (err, 0, "%s: %s (see \"husk %s --help\")", command, msg ? msg : "usage error",
                    command);
  else
    husk_error_set (err, 0, "%s (see \"husk --help\")", msg ? msg : "usage error");
  (*err)->status = HUSK_EXIT_USAGE;
  return -1;
}

/* "3 days ago", as docker images shows it.  */
void
husk_cli_format_age (const char *created, char *buf, size_t size)
{
  husk_cli_format_since (created, true, buf, size);
}

void
husk_cli_format_since (const char *created, bool ago, char *buf, size_t size)
{
  struct tm tm;
  time_t t, now = time (NULL);
  double d;
  static const struct
  {
    double secs;
    const char *unit;
  } units[] = {
    { 365.25 * 86400, "year" }, { 30 * 86400, "month" }, { 7 * 86400, "week" }, { 86400, "day" },
    { 3600, "hour" },           { 60, "minute" },        { 1, "second" }
  };

  memset (&tm, 0, sizeof (tm));
  if (created == NULL || strptime (created, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
    {
      snprintf (buf, size, "N/A");
      return;
    }
  t = timegm (&tm);
  d = difftime (now, t);
  if (d < 1)
    {
      snprintf (buf, size, "Less than a second%s", ago ? " ago" : "");
      return;
    }
  for (size_t i = 0; i < sizeof (units) / sizeof (units[0]); i++)
    if (d >= units[i].secs)
      {
        long n = (long) (d / units[i].secs);
        snprintf (buf, size, "%ld %s%s%s", n, units[i].unit, n == 1 ? "" : "s", ago ? " ago" : "");
        return;
      }
}

void
husk_cli_format_size (int64_t size, char *buf, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double) size;
  size_t u = 0;

  while (v >= 1000 && u + 1 < sizeof (units) / sizeof (units[0]))
    {
      v /= 1000;
      u++;
    }
  if (u == 0)
    snprintf (buf, len, "%jdB", (intmax_t) size);
  else
    snprintf (buf, len, "%.3g%s", v, units[u]);
}

/* Run FN on each container named in ARGV[FIRST..]: one failure is the error; with several
   containers each failure is printed and the rest go on, as docker does.  */
int
husk_cli_each_container (struct husk_global *g, const char *cmd, int argc, char **argv, int first,
                         int (*fn) (struct husk_store *s, struct husk_ctr *c, const char *arg,
                                    void *data, struct husk_error **err),
                         void *data, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  int failed = 0;

  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  for (int i = first; i < argc; i++)
    {
      cleanup_ctr struct husk_ctr *ctr = NULL;
      cleanup_error struct husk_error *e = NULL;

      if (husk_ctr_load (store, argv[i], &ctr, &e) < 0 || fn (store, ctr, argv[i], data, &e) < 0)
        {
          if (argc - first == 1)
            {
              *err = TAKE_PTR (e);
              return -1;
            }
          fprintf (stderr, "husk: %s\n", e->msg);
          failed++;
        }
    }
  if (failed)
    return husk_error_set (err, 0, "%s: %d of %d containers failed", cmd, failed, argc - first);
  return 0;
}

/* -e and --env-file, as run and exec read them.  */

int
husk_cli_env_add_arg (char ***env, const char *command, const char *arg, const char *what,
                      struct husk_error **err)
{
  const char *eq = strchr (arg, '=');
  if (arg[0] == '\0' || arg[0] == '=')
    return husk_cli_usage_error (err, command, "%s \"%s\": no variable name", what, arg);
  if (eq == NULL)
    {
      const char *v = getenv (arg);
      if (v)
        {
          cleanup_free char *kv = husk_strdup_printf ("%s=%s", arg, v);
          husk_env_set (env, kv);
        }
      return 0;
    }
  husk_env_set (env, arg);
  return 0;
}

int
husk_cli_env_add_file (char ***env, const char *command, const char *path, struct husk_error **err)
{
  cleanup_file FILE *f = fopen (path, "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  if (f == NULL)
    return husk_error_set (err, errno, "env file \"%s\"", path);
  while ((n = getline (&line, &cap, f)) > 0)
    {
      char *p = line;
      line[strcspn (line, "\r\n")] = '\0';
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        continue;
      if (husk_cli_env_add_arg (env, command, p, "env file", err) < 0)
        return husk_error_wrap (err, "env file \"%s\"", path);
    }
  if (ferror (f))
    return husk_error_set (err, errno, "env file \"%s\"", path);
  return 0;
}

int
husk_cli_stop_signal (const struct husk_ctr *c)
{
  cleanup_error struct husk_error *e = NULL;
  int sig;

  if (c->stop_signal == NULL || *c->stop_signal == '\0')
    return SIGTERM;
  sig = husk_signal_parse (c->stop_signal, &e);
  if (sig > 0)
    return sig;
  fprintf (stderr, "husk: warning: container %.12s: stop %s: sending SIGTERM\n", c->id, e->msg);
  return SIGTERM;
}

/* " (uid 3000000, gid 10-20)": the ids of UN, for a message.  */
static char *
unmapped_ids_text (const struct husk_unmapped_ids *un)
{
  char uids[32] = "", gids[32] = "";

  if (un->uids > 0 && un->uid_min == un->uid_max)
    snprintf (uids, sizeof (uids), "uid %" PRIu32, un->uid_min);
  else if (un->uids > 0)
    snprintf (uids, sizeof (uids), "uid %" PRIu32 "-%" PRIu32, un->uid_min, un->uid_max);
  if (un->gids > 0 && un->gid_min == un->gid_max)
    snprintf (gids, sizeof (gids), "gid %" PRIu32, un->gid_min);
  else if (un->gids > 0)
    snprintf (gids, sizeof (gids), "gid %" PRIu32 "-%" PRIu32, un->gid_min, un->gid_max);
  return husk_strdup_printf ("%s%s%s", uids, *uids && *gids ? ", " : "", gids);
}

/* The highest container id of ranges R[0..N): they start at 0 (the user) and follow on.  */
static uint64_t
mapped_top (const struct husk_idrange *r, size_t n)
{
  uint64_t top = 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].size > 0 && (uint64_t) r[i].container + r[i].size - 1 > top)
      top = (uint64_t) r[i].container + r[i].size - 1;
  return top;
}

void
husk_cli_warn_unmapped (const char *image, const struct husk_unmapped_ids *un,
                        const struct husk_idmap *map)
{
  cleanup_free char *ids = NULL;
  bool one = un->files == 1;

  if (un->files == 0)
    return;
  ids = unmapped_ids_text (un);
  if (map == NULL || (map->n_uids <= 1 && map->n_gids <= 1))
    fprintf (stderr,
             "husk: warning: image \"%s\": %ju %s owned by other users (%s) %s to you: there is "
             "no /etc/subuid range to map them\n",
             image, (uintmax_t) un->files, one ? "file" : "files", ids, one ? "belongs" : "belong");
  else
    fprintf (stderr,
             "husk: warning: image \"%s\": %ju %s owned by other users (%s) %s to you: the ids "
             "are outside those your /etc/subuid and /etc/subgid ranges map (uid 0-%ju, gid "
             "0-%ju)\n",
             image, (uintmax_t) un->files, one ? "file" : "files", ids, one ? "belongs" : "belong",
             (uintmax_t) mapped_top (map->uids, map->n_uids),
             (uintmax_t) mapped_top (map->gids, map->n_gids));
}

int
husk_cli_image_format (const char *s, enum husk_image_format *ret)
{
  if (strcmp (s, "oci") == 0)
    *ret = HUSK_IMAGE_FORMAT_OCI;
  else if (strcmp (s, "docker") == 0)
    *ret = HUSK_IMAGE_FORMAT_DOCKER;
  else
    return -1;
  return 0;
}

int
husk_cli_tls_verify (const char *command, const char *arg, bool *ret, struct husk_error **err)
{
  if (arg == NULL || strcmp (arg, "true") == 0)
    *ret = true;
  else if (strcmp (arg, "false") == 0)
    *ret = false;
  else
    return husk_cli_usage_error (err, command, "--tls-verify takes true or false, not \"%s\"", arg);
  return 0;
}

int
husk_cli_output_open (struct husk_global *g, const char *output, char **ret_tmp, char **ret_final,
                      struct husk_error **err)
{
  struct stat st;
  char *final;
  char *tmp;
  int fd;

  *ret_tmp = NULL;
  *ret_final = NULL;
  if (stat (output, &st) == 0 && !S_ISREG (st.st_mode))
    {
      if (S_ISDIR (st.st_mode))
        return husk_error_set (err, EISDIR, "open \"%s\"", output);
      fd = open (output, O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0)
        return husk_error_set (err, errno, "open \"%s\"", output);
      return fd;
    }
  /* Through a symlink, the file it names is replaced, not the link.  */
  final = realpath (output, NULL);
  if (final == NULL)
    final = husk_xstrdup (output);
  tmp = husk_strdup_printf ("%s.husk-tmp-%ld", final, (long) getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644 & ~g->caller_umask);
  if (fd < 0)
    {
      husk_error_set (err, errno, "create \"%s\"", tmp);
      free (tmp);
      free (final);
      return -1;
    }
  *ret_tmp = tmp;
  *ret_final = final;
  return fd;
}

int
husk_cli_output_commit (int fd, const char *tmp, const char *final, struct husk_error **err)
{
  if (tmp == NULL)
    return 0;
  if (fsync (fd) < 0 || rename (tmp, final) < 0)
    {
      int e = errno;
      unlink (tmp);
      return husk_error_set (err, e, "\"%s\"", final);
    }
  return 0;
}

void
husk_cli_output_abort (const char *tmp)
{
  if (tmp)
    unlink (tmp);
}
