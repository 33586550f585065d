#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "copy.h"
#include "enter.h"
#include "lock.h"
#include "proc.h"
#include "record.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

#define MAX_FOLLOW 40

enum dst_kind
{
  DST_MISSING,
  DST_FILE,
  DST_DIR,
};

/* One side of the copy as the user wrote it.  */
struct cp_side
{
  const char *arg;  /* "CONTAINER:PATH" or "PATH", for messages.  */
  const char *path; /* The path part.  */
  bool in_container;
  bool trailing_slash; /* "dir/": must be a directory.  */
  bool contents;       /* "dir/." (or "/", "."): what the directory holds, not itself.  */
  char *base;          /* The last component: the name a copy into a directory takes.  */

  /* Resolved: NAME in the directory PARENT ("." when the path names PARENT itself).  */
  int parent;
  char *name;
};

struct cp_job
{
  struct cp_side src, dst;
  bool follow;
  bool archive; /* -a */
  bool to_container;
  bool stream; /* The host side is "-": a tar stream on stdin or stdout.  */
};

static void
side_clear (struct cp_side *s)
{
  free (s->base);
  free (s->name);
  if (s->parent >= 0)
    close (s->parent);
}

static void
side_parse (struct cp_side *s, const char *arg, const char *path, bool in_container)
{
  size_t len = strlen (path);
  cleanup_free char *copy = husk_xstrdup (path);
  char *slash;

  s->arg = arg;
  s->path = path;
  s->in_container = in_container;
  s->parent = -1;
  s->trailing_slash = len > 1 && path[len - 1] == '/';
  s->contents = strcmp (path, ".") == 0 || husk_str_has_suffix (path, "/.");
  for (;;)
    {
      len = strlen (copy);
      if (len > 1 && copy[len - 1] == '/')
        copy[len - 1] = '\0';
      else if (len > 2 && strcmp (copy + len - 2, "/.") == 0)
        copy[len - 2] = '\0';
      else
        break;
    }
  slash = strrchr (copy, '/');
  s->base = husk_xstrdup (slash ? slash + 1 : copy);
  if (*s->base == '\0' || strcmp (s->base, ".") == 0 || strcmp (s->base, "..") == 0)
    s->contents = true;
}

/* The directory DIR: inside ROOTFD when ROOTFD >= 0 (symlinks resolved as the container
   would, never leaving it), else on the host.  */
static int
open_dir (int rootfd, const char *dir)
{
  int fd;

  if (rootfd >= 0)
    return husk_open_in_root (rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY, 0,
                              HUSK_RESOLVE_IN_ROOT);
  fd = open (*dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/* S->path as a directory and a name in it; a symlink at the end is followed when FOLLOW.  */
static int
side_resolve (struct cp_side *s, int rootfd, bool follow, struct husk_error **err)
{
  cleanup_free char *cur = husk_xstrdup (s->path);

  for (int i = 0; i <= MAX_FOLLOW; i++)
    {
      cleanup_free char *dir = NULL;
      char *slash, *base;
      size_t len;
      struct stat st;
      int fd;

      while ((len = strlen (cur)) > 1 && cur[len - 1] == '/')
        cur[len - 1] = '\0';
      slash = strrchr (cur, '/');
      base = slash ? slash + 1 : cur;
      if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
        {
          fd = open_dir (rootfd, cur);
          if (fd < 0)
            return husk_error_set (err, -fd, "\"%s\"", s->arg);
          s->parent = fd;
          s->name = husk_xstrdup (".");
          return 0;
        }
      dir = slash ? husk_strdup_printf ("%.*s", (int) (slash == cur ? 1 : slash - cur), cur)
                  : husk_xstrdup ("");
      fd = open_dir (rootfd, dir);
      if (fd < 0)
        return husk_error_set (err, -fd, "\"%s\"", s->arg);
      if (follow && fstatat (fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        {
          char target[4096];
          ssize_t n = readlinkat (fd, base, target, sizeof (target) - 1);
          close (fd);
          if (n < 0)
            return husk_error_set (err, errno, "\"%s\": readlink", s->arg);
          target[n] = '\0';
          {
            char *next = target[0] == '/' || *dir == '\0'
                             ? husk_xstrdup (target)
                             : husk_strdup_printf ("%s/%s", dir, target);
            free (cur);
            cur = next;
          }
          continue;
        }
      s->parent = fd;
      s->name = husk_xstrdup (base);
      return 0;
    }
  return husk_error_set (err, ELOOP, "\"%s\"", s->arg);
}

static int
dst_classify (struct cp_side *d, enum dst_kind *ret, struct husk_error **err)
{
  struct stat st;

  if (fstatat (d->parent, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != ENOENT)
        return husk_error_set (err, errno, "\"%s\"", d->arg);
      *ret = DST_MISSING;
      return 0;
    }
  /* On the host a link at DEST may have been planted by a container that can write there (a
     volume): following it would write wherever it points.  */
  if (S_ISLNK (st.st_mode) && !d->in_container)
    return husk_error_set (err, 0, "\"%s\": a symbolic link, which cp does not follow on the host",
                           d->arg);
  if (S_ISLNK (st.st_mode))
    return husk_error_set (err, ELOOP, "\"%s\"", d->arg);
  *ret = S_ISDIR (st.st_mode) ? DST_DIR : DST_FILE;
  return 0;
}

/* Docker's rules, with both sides resolved.  */
static int
copy_resolved (struct cp_job *job, struct husk_error **err)
{
  struct cp_side *s = &job->src, *d = &job->dst;
  /* Into a container: its root's, set-id bits kept (they grant nothing on the host).  Out of
     one: the caller's, without set-id bits, unless -a.  */
  struct husk_copy_opts o = { .chown_root = job->to_container && !job->archive,
                              .keep_owner = job->archive,
                              .keep_setid = job->to_container || job->archive };
  enum dst_kind kind;
  struct stat st;
  bool dir;

  if (fstatat (s->parent, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_set (err, errno, "\"%s\"", s->arg);
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    return husk_error_set (err, 0, "\"%s\": a device node is not copied", s->arg);
  dir = S_ISDIR (st.st_mode);
  if ((s->trailing_slash || s->contents) && !dir)
    return husk_error_set (err, ENOTDIR, "\"%s\"", s->arg);
  if (dst_classify (d, &kind, err) < 0)
    return -1;

  switch (kind)
    {
    case DST_MISSING:
      if (!dir && d->trailing_slash)
        return husk_error_set (err, 0, "\"%s\": no such directory", d->arg);
      if (husk_copy_entry (s->parent, s->name, d->parent, d->name, &o, err) < 0)
        return husk_error_wrap (err, "copy to \"%s\"", d->arg);
      return 0;
    case DST_FILE:
      if (dir)
        return husk_error_set (err, 0, "\"%s\": cannot copy a directory to a file", d->arg);
      if (d->trailing_slash)
        return husk_error_set (err, ENOTDIR, "\"%s\"", d->arg);
      if (husk_copy_entry (s->parent, s->name, d->parent, d->name, &o, err) < 0)
        return husk_error_wrap (err, "copy to \"%s\"", d->arg);
      return 0;
    case DST_DIR:
      {
        cleanup_close int dfd
            = openat (d->parent, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
          return husk_error_set (err, errno, "\"%s\"", d->arg);
        if (dir && s->contents)
          {
            cleanup_close int sfd
                = openat (s->parent, s->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sfd < 0)
              return husk_error_set (err, errno, "\"%s\"", s->arg);
            if (husk_copy_contents (sfd, dfd, &o, err) < 0)
              return husk_error_wrap (err, "copy to \"%s\"", d->arg);
            return 0;
          }
        if (husk_copy_entry (s->parent, s->name, dfd, s->base, &o, err) < 0)
          return husk_error_wrap (err, "copy to \"%s\"", d->arg);
        return 0;
      }
    }
  return 0;
}

/* "-": the source as a tar stream on stdout, or the stream on stdin into the destination,
   which must be a directory.  */
static int
copy_stream (struct cp_job *job, struct husk_error **err)
{
  struct cp_side *s = &job->src, *d = &job->dst;
  enum dst_kind kind;
  struct stat st;

  if (!job->to_container)
    {
      if (fstatat (s->parent, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_set (err, errno, "\"%s\"", s->arg);
      if ((s->trailing_slash || s->contents) && !S_ISDIR (st.st_mode))
        return husk_error_set (err, ENOTDIR, "\"%s\"", s->arg);
      if ((S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)) && !job->archive)
        return husk_error_set (err, 0, "\"%s\": a device node is not copied (without -a)", s->arg);
      if (husk_copy_to_tar (s->parent, s->name, s->contents ? "" : s->base, job->archive,
                            STDOUT_FILENO, err)
          < 0)
        return husk_error_wrap (err, "copy \"%s\" to a tar stream", s->arg);
      return 0;
    }
  if (dst_classify (d, &kind, err) < 0)
    return -1;
  if (kind != DST_DIR)
    return husk_error_set (err, 0, "\"%s\": %s (a tar stream goes into a directory)", d->arg,
                           kind == DST_MISSING ? "no such directory" : "not a directory");
  {
    cleanup_close int dfd
        = openat (d->parent, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
      return husk_error_set (err, errno, "\"%s\"", d->arg);
    if (husk_copy_from_tar (STDIN_FILENO, dfd, false, err) < 0)
      return husk_error_wrap (err, "extract a tar stream to \"%s\"", d->arg);
  }
  return 0;
}

/* In the child that sees the container's "/" as ROOTFD.  */
static int
copy_in_root (int rootfd, void *arg, struct husk_error **err)
{
  struct cp_job *job = arg;

  if (job->to_container)
    {
      if (side_resolve (&job->dst, rootfd, true, err) < 0)
        return -1;
    }
  else if (side_resolve (&job->src, rootfd,
                         job->follow || job->src.trailing_slash || job->src.contents, err)
           < 0)
    return -1;
  if (job->stream)
    return copy_stream (job, err);
  return copy_resolved (job, err);
}

/* Docker's split: "NAME:PATH" names a container unless it starts like a local path.  */
static bool
split_arg (const char *arg, char **ret_ctr, const char **ret_path)
{
  const char *colon = strchr (arg, ':');

  if (arg[0] == '/' || arg[0] == '.' || colon == NULL || colon == arg)
    {
      *ret_path = arg;
      return false;
    }
  *ret_ctr = husk_strdup_printf ("%.*s", (int) (colon - arg), arg);
  *ret_path = colon + 1;
  return true;
}

/* Run the copy in CTR's filesystem, whatever it does meanwhile.  A running container is
   joined through a pidfd taken while the record names its process; one that exits before the
   join (the pidfd is dead, or setns finds the process gone) is waited for until its monitor
   records the exit, then copied into as a stopped container, under its lock so no start
   mounts the overlay as well.  *CTR may be replaced by a fresher record.  */
static int
copy_into (struct husk_store *store, struct husk_ctr **ctr, struct cp_job *job,
           struct husk_error **err)
{
  char id[sizeof ((*ctr)->id)];
  unsigned wait_us = 1000;
  uint64_t waited_us = 0;

  memcpy (id, (*ctr)->id, sizeof (id));
  for (;;)
    {
      cleanup_error struct husk_error *e = NULL;

      if ((*ctr)->status == HUSK_CTR_RUNNING)
        {
          cleanup_close int pidfd = husk_proc_pidfd ((*ctr)->pid, (*ctr)->pid_start);
          if (pidfd >= 0)
            {
              if (husk_rootfs_run (&(*ctr)->spec, pidfd, copy_in_root, job, &e) == 0)
                return 0;
              if (e->errnum != ESRCH)
                {
                  *err = TAKE_PTR (e);
                  return -1;
                }
              husk_error_free (&e);
            }
          /* It has exited; its monitor is about to say so.  */
          if (waited_us > 10 * 1000 * 1000)
            return husk_error_set (err, 0,
                                   "container %.12s: exited, but its record still "
                                   "says running",
                                   id);
          usleep (wait_us);
          waited_us += wait_us;
          wait_us = wait_us < 100000 ? wait_us * 2 : wait_us;
          husk_ctr_free (*ctr);
          *ctr = NULL;
          if (husk_ctr_load (store, id, ctr, err) < 0)
            return -1;
          continue;
        }
      {
        /* A stopped container's overlay is mounted for the copy: no start may mount it as
           well.  Under the lock the record is read again: it may have started since.  */
        cleanup_close int lock = -1;
        husk_ctr_free (*ctr);
        *ctr = NULL;
        lock = husk_ctr_lock (store, id, ctr, err);
        if (lock < 0)
          return -1;
        if ((*ctr)->status != HUSK_CTR_RUNNING)
          return husk_rootfs_run (&(*ctr)->spec, -1, copy_in_root, job, err);
      }
    }
}

enum
{
  OPT_HELP = 256,
};

static const struct husk_cli_option cp_options[] = {
  { "archive", 'a', HUSK_CLI_ARG_NONE, NULL,
    "keep owners, and on a copy out setuid and setgid bits (and\n"
    "device nodes in a tar stream)" },
  { "follow-link", 'L', HUSK_CLI_ARG_NONE, NULL, "follow a symbolic link at SRC" },
  { "help", OPT_HELP, HUSK_CLI_ARG_NONE, NULL, "show this help" },
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command cp_command = {
  "cp",
  "[OPTIONS] CONTAINER:SRC DEST|-\n       husk cp [OPTIONS] SRC|- CONTAINER:DEST",
  "Copy files and directories between a container and the host (\"-\": a tar stream\n"
  "on standard output or input).",
  cp_options,
  NULL,
  { 2, 2, "expects a source and a destination" },
};

int
husk_cmd_cp (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_free char *src_ctr = NULL, *dst_ctr = NULL;
  const char *src_path, *dst_path;
  struct cp_job job;
  bool src_in, dst_in;
  int c, first, r = -1;

  memset (&job, 0, sizeof (job));
  job.src.parent = job.dst.parent = -1;
  optind = 1;
  while ((c = husk_cli_next_option (&cp_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'a':
        job.archive = true;
        break;
      case 'L':
        job.follow = true;
        break;
      }
  if ((first = husk_cli_operands (&cp_command, c, argc, err)) <= 0)
    return first;
  src_in = split_arg (argv[first], &src_ctr, &src_path);
  dst_in = split_arg (argv[first + 1], &dst_ctr, &dst_path);
  if (src_in && dst_in)
    return husk_cli_usage_error (err, "cp", "copying between containers is not supported");
  if (!src_in && !dst_in)
    return husk_cli_usage_error (err, "cp", "one of the paths must be CONTAINER:PATH");
  job.stream = strcmp (src_in ? dst_path : src_path, "-") == 0;
  if (*src_path == '\0' || *dst_path == '\0')
    return husk_cli_usage_error (err, "cp", "empty path");
  job.to_container = dst_in;
  side_parse (&job.src, argv[first], src_path, src_in);
  side_parse (&job.dst, argv[first + 1], dst_path, dst_in);

  if (husk_cli_open_store (g, &store, err) < 0
      || husk_ctr_load (store, src_in ? src_ctr : dst_ctr, &ctr, err) < 0)
    goto out;
  /* The host side, resolved here: the child may no longer see the host's files by name.  */
  if (job.stream)
    ;
  else if (job.to_container)
    {
      if (side_resolve (&job.src, -1, job.follow || job.src.trailing_slash || job.src.contents, err)
          < 0)
        goto out;
    }
  /* A link at the host DEST is not followed (dst_classify refuses it).  */
  else if (side_resolve (&job.dst, -1, false, err) < 0)
    goto out;
  if (copy_into (store, &ctr, &job, err) < 0)
    goto out;
  r = 0;
out:
  side_clear (&job.src);
  side_clear (&job.dst);
  return r;
}
