/* A container's namespaces: the OCI list, checked, opened and joined (namespaces.h).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "namespaces.h"
#include "banned.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO (0xb7, 0x3)
#endif

/* Indexed by enum husk_ns_type: the OCI name, the flag, and the name /proc/PID/ns gives.  */
static const struct
{
  const char *name;
  unsigned long flag;
  const char *proc; /* The "TYPE:[INODE]" prefix of a link in /proc/PID/ns.  */
} ns_types[HUSK_NS_N_TYPES] = {
  [HUSK_NS_PID] = { "pid", CLONE_NEWPID, "pid" },
  [HUSK_NS_NET] = { "network", CLONE_NEWNET, "net" },
  [HUSK_NS_MOUNT] = { "mount", CLONE_NEWNS, "mnt" },
  [HUSK_NS_IPC] = { "ipc", CLONE_NEWIPC, "ipc" },
  [HUSK_NS_UTS] = { "uts", CLONE_NEWUTS, "uts" },
  [HUSK_NS_USER] = { "user", CLONE_NEWUSER, "user" },
  [HUSK_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP, "cgroup" },
};

static bool
type_valid (enum husk_ns_type type)
{
  return (unsigned) type < HUSK_NS_N_TYPES;
}

const char *
husk_ns_type_name (enum husk_ns_type type)
{
  return type_valid (type) ? ns_types[type].name : "unknown";
}

int
husk_ns_type_parse (const char *name)
{
  for (int t = 0; t < HUSK_NS_N_TYPES; t++)
    if (strcmp (name, ns_types[t].name) == 0)
      return t;
  return -1;
}

unsigned long
husk_ns_clone_flag (enum husk_ns_type type)
{
  return type_valid (type) ? ns_types[type].flag : 0;
}

const struct husk_namespace *
husk_ns_find (const struct husk_namespace *ns, size_t n, enum husk_ns_type type)
{
  for (size_t i = 0; i < n; i++)
    if (ns[i].type == type)
      return &ns[i];
  return NULL;
}

bool
husk_ns_is_new (const struct husk_namespace *ns, size_t n, enum husk_ns_type type)
{
  const struct husk_namespace *e = husk_ns_find (ns, n, type);

  return e && e->path == NULL;
}

unsigned long
husk_ns_flags (const struct husk_namespace *ns, size_t n, bool new_only)
{
  unsigned long flags = 0;

  for (size_t i = 0; i < n; i++)
    if (!new_only || ns[i].path == NULL)
      flags |= husk_ns_clone_flag (ns[i].type);
  return flags;
}

int
husk_ns_check (const struct husk_namespace *ns, size_t n, bool idmap, bool want_uts,
               struct husk_error **err)
{
  const struct husk_namespace *mnt, *user;
  bool seen[HUSK_NS_N_TYPES] = { false };

  for (size_t i = 0; i < n; i++)
    {
      if (!type_valid (ns[i].type))
        return husk_error_set (err, 0, "namespaces[%zu]: unknown type %d", i, (int) ns[i].type);
      if (seen[ns[i].type])
        return husk_error_set (err, 0, "namespaces: \"%s\" is listed twice",
                               ns_types[ns[i].type].name);
      seen[ns[i].type] = true;
      if (ns[i].path && *ns[i].path == '\0')
        return husk_error_set (err, 0, "namespaces: \"%s\": empty path", ns_types[ns[i].type].name);
    }
  mnt = husk_ns_find (ns, n, HUSK_NS_MOUNT);
  if (mnt == NULL)
    return husk_error_set (err, 0,
                           "namespaces: no mount namespace: the container's root filesystem "
                           "is set up in a new one");
  if (mnt->path)
    return husk_error_set (err, 0,
                           "namespace \"%s\": joining a mount namespace is not supported: the "
                           "container's root filesystem is set up in a new one",
                           mnt->path);
  user = husk_ns_find (ns, n, HUSK_NS_USER);
  if (idmap && (user == NULL || user->path))
    return husk_error_set (err, 0,
                           "namespaces: an id map is written only to a new user namespace%s",
                           user ? ", not to a joined one" : "");
  if (!idmap && user && user->path == NULL)
    return husk_error_set (err, 0, "namespaces: a new user namespace needs an id map");
  if (want_uts && !seen[HUSK_NS_UTS])
    return husk_error_set (err, 0,
                           "namespaces: a hostname needs a uts namespace: without one it "
                           "would be the host's");
  return 0;
}

/* The type of namespace FD is, or -1 when it is none (or an unknown one).  */
static int
fd_ns_type (int fd)
{
  struct statfs sfs;
  int flag;

  if (fstatfs (fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
    return -1;
  flag = ioctl (fd, NS_GET_NSTYPE);
  if (flag >= 0)
    {
      for (int t = 0; t < HUSK_NS_N_TYPES; t++)
        if ((unsigned long) flag == ns_types[t].flag)
          return t;
      return -1;
    }
  {
    /* Before Linux 4.11: the link /proc/self/fd/N reads "net:[4026531992]".  */
    char link[64], target[64];
    ssize_t len;

    snprintf (link, sizeof (link), "/proc/self/fd/%d", fd);
    len = readlink (link, target, sizeof (target) - 1);
    if (len <= 0)
      return -1;
    target[len] = '\0';
    for (int t = 0; t < HUSK_NS_N_TYPES; t++)
      {
        size_t plen = strlen (ns_types[t].proc);
        if (strncmp (target, ns_types[t].proc, plen) == 0 && target[plen] == ':')
          return t;
      }
    return -1;
  }
}

int
husk_ns_files_open (const struct husk_namespace *ns, size_t n, struct husk_ns_files *ret,
                    struct husk_error **err)
{
  struct husk_ns_files files = HUSK_NS_FILES_INIT;

  for (size_t i = 0; i < n; i++)
    {
      int fd, type;

      if (ns[i].path == NULL || !type_valid (ns[i].type))
        continue;
      fd = open (ns[i].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int e = errno;
          husk_ns_files_close (&files);
          return husk_error_set (err, e, "namespace \"%s\"", ns[i].path);
        }
      if (files.fds[ns[i].type] >= 0)
        close (files.fds[ns[i].type]);
      files.fds[ns[i].type] = fd;
      type = fd_ns_type (fd);
      if (type != (int) ns[i].type)
        {
          husk_ns_files_close (&files);
          if (type < 0)
            return husk_error_set (err, 0, "namespace \"%s\": is not a %s namespace", ns[i].path,
                                   ns_types[ns[i].type].name);
          return husk_error_set (err, 0, "namespace \"%s\": is not a %s namespace (it is a %s one)",
                                 ns[i].path, ns_types[ns[i].type].name, ns_types[type].name);
        }
    }
  *ret = files;
  return 0;
}

void
husk_ns_files_close (struct husk_ns_files *files)
{
  for (int t = 0; t < HUSK_NS_N_TYPES; t++)
    if (files->fds[t] >= 0)
      {
        close (files->fds[t]);
        files->fds[t] = -1;
      }
}

bool
husk_ns_files_any (const struct husk_ns_files *files)
{
  for (int t = 0; t < HUSK_NS_N_TYPES; t++)
    if (files->fds[t] >= 0)
      return true;
  return false;
}

static const char *
path_of (const struct husk_namespace *ns, size_t n, int type)
{
  const struct husk_namespace *e = husk_ns_find (ns, n, (enum husk_ns_type) type);

  return e && e->path ? e->path : "?";
}

static int
join_failed (const struct husk_namespace *ns, size_t n, int type, int e, struct husk_error **err)
{
  if (e == EPERM)
    return husk_error_set (err, e,
                           "namespace \"%s\": join the %s namespace: it belongs to a user "
                           "namespace this process has no CAP_SYS_ADMIN in (a rootless "
                           "container joins the user namespace that owns it too)",
                           path_of (ns, n, type), ns_types[type].name);
  return husk_error_set (err, e, "namespace \"%s\": join the %s namespace", path_of (ns, n, type),
                         ns_types[type].name);
}

/* Whether FD is the user namespace this process is in already.  */
static bool
is_own_userns (int fd)
{
  struct stat a, b;

  return fstat (fd, &a) == 0 && stat ("/proc/self/ns/user", &b) == 0 && a.st_dev == b.st_dev
         && a.st_ino == b.st_ino;
}

int
husk_ns_join (const struct husk_namespace *ns, size_t n, const struct husk_ns_files *files,
              struct husk_error **err)
{
  int userfd = files->fds[HUSK_NS_USER];
  bool join_user = userfd >= 0 && !is_own_userns (userfd);
  bool deferred[HUSK_NS_N_TYPES] = { false };

  /* With the caller's privileges first; with a user namespace still to join, a refusal is
     tried again once it is joined.  */
  for (int t = 0; t < HUSK_NS_N_TYPES; t++)
    {
      if (t == HUSK_NS_USER || files->fds[t] < 0)
        continue;
      if (setns (files->fds[t], (int) ns_types[t].flag) == 0)
        continue;
      if (errno == EPERM && join_user)
        deferred[t] = true;
      else
        return join_failed (ns, n, t, errno, err);
    }
  if (!join_user)
    return 0;
  if (setns (userfd, CLONE_NEWUSER) < 0)
    return join_failed (ns, n, HUSK_NS_USER, errno, err);
  for (int t = 0; t < HUSK_NS_N_TYPES; t++)
    if (deferred[t] && setns (files->fds[t], (int) ns_types[t].flag) < 0)
      return join_failed (ns, n, t, errno, err);
  return 0;
}
