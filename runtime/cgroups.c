#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "cleanup.h"
#include "util.h"
#include "banned.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PARENT "husk" /* A container's cgroup is PARENT/ID, as its device cgroup.  */

/* ---------------------------------------------------------------- the spec  */

bool
husk_resources_set (const struct husk_resources *res)
{
  return res->memory_limit != 0 || res->memory_swap != 0 || res->memory_reservation != 0
         || res->cpu_shares != 0 || res->cpu_quota != 0 || res->cpu_period != 0
         || (res->cpu_cpus != NULL && *res->cpu_cpus != '\0') || res->pids_limit != 0;
}

/* "N" or "N-M" (N <= M), joined by commas: the kernel's cpulist format (cpuset(7), "List
   format"), without the stride form ("0-8:2") that cgroup v1 does not take.  */
static bool
cpu_list_valid (const char *s)
{
  for (;;)
    {
      unsigned long a, b;
      char *end;

      if (*s < '0' || *s > '9')
        return false;
      errno = 0;
      a = strtoul (s, &end, 10);
      if (errno != 0 || a > 65535)
        return false;
      b = a;
      s = end;
      if (*s == '-')
        {
          s++;
          if (*s < '0' || *s > '9')
            return false;
          b = strtoul (s, &end, 10);
          if (errno != 0 || b > 65535 || b < a)
            return false;
          s = end;
        }
      if (*s == '\0')
        return true;
      if (*s++ != ',')
        return false;
    }
}

int
husk_resources_check (const struct husk_resources *r, struct husk_error **err)
{
  const int64_t lim = r->memory_limit;

  if (lim < -1)
    return husk_error_set (err, 0, "memory.limit: %" PRId64 " is not a size", lim);
  if (lim > 0 && lim < HUSK_MEMORY_MIN)
    return husk_error_set (err, 0,
                           "memory.limit: %" PRId64 " bytes is below the minimum of %d "
                           "bytes (6 MiB)",
                           lim, HUSK_MEMORY_MIN);
  if (r->memory_swap < -1)
    return husk_error_set (err, 0, "memory.swap: %" PRId64 " is not a size", r->memory_swap);
  if (r->memory_swap > 0 && lim <= 0)
    return husk_error_set (err, 0,
                           "memory.swap: %" PRId64 " needs memory.limit (it is memory "
                           "plus swap)",
                           r->memory_swap);
  if (r->memory_swap > 0 && r->memory_swap < lim)
    return husk_error_set (err, 0,
                           "memory.swap: %" PRId64 " is below memory.limit %" PRId64
                           " (it is memory plus swap)",
                           r->memory_swap, lim);
  if (r->memory_reservation < -1)
    return husk_error_set (err, 0, "memory.reservation: %" PRId64 " is not a size",
                           r->memory_reservation);
  if (r->memory_reservation > 0 && lim > 0 && r->memory_reservation > lim)
    return husk_error_set (err, 0, "memory.reservation: %" PRId64 " is above memory.limit %" PRId64,
                           r->memory_reservation, lim);
  if (r->cpu_shares != 0 && (r->cpu_shares < 2 || r->cpu_shares > 262144))
    return husk_error_set (err, 0, "cpu.shares: %" PRIu64 " is not between 2 and 262144",
                           r->cpu_shares);
  if (r->cpu_period != 0 && (r->cpu_period < 1000 || r->cpu_period > 1000000))
    return husk_error_set (err, 0,
                           "cpu.period: %" PRIu64 " microseconds is not between 1000 "
                           "and 1000000",
                           r->cpu_period);
  if (r->cpu_quota < -1)
    return husk_error_set (err, 0, "cpu.quota: %" PRId64 " is not a duration", r->cpu_quota);
  if (r->cpu_quota > 0 && r->cpu_quota < 1000)
    return husk_error_set (
        err, 0, "cpu.quota: %" PRId64 " microseconds is below the minimum of 1000", r->cpu_quota);
  if (r->cpu_quota > 0 && r->cpu_period == 0)
    return husk_error_set (err, 0, "cpu.quota: %" PRId64 " without cpu.period", r->cpu_quota);
  if (r->cpu_cpus && *r->cpu_cpus && !cpu_list_valid (r->cpu_cpus))
    return husk_error_set (err, 0, "cpu.cpus: \"%.64s\" is not a CPU list (like \"0-3,6\")",
                           r->cpu_cpus);
  if (r->pids_limit < -1)
    return husk_error_set (err, 0, "pids.limit: %" PRId64 " is not a number of processes",
                           r->pids_limit);
  return 0;
}

/* runc's ConvertCPUSharesToCgroupV2Value (opencontainers/cgroups, utils.go), which crun
   documents in crun(1), "CPU controller": the v1 range [2, 262144] mapped linearly onto
   v2's [1, 10000] (cgroup-v2.rst, "cpu.weight"), so 1024, v1's default, is 39, not v2's
   default 100.  Kept as they have it: a container moved between the two runtimes gets the
   same weight.  */
uint64_t
husk_cpu_shares_to_weight (uint64_t shares)
{
  if (shares <= 2)
    return 1;
  if (shares >= 262144)
    return 10000;
  return 1 + ((shares - 2) * 9999) / 262142;
}

/* ------------------------------------------------------------ controllers  */

enum
{
  CTL_MEMORY = 1u << 0,
  CTL_CPU = 1u << 1,
  CTL_CPUSET = 1u << 2,
  CTL_PIDS = 1u << 3,
};

/* The v1 hierarchies' directories under CGROUP_ROOT are named as the v2 controllers are.  */
static const struct
{
  unsigned bit;
  const char *name;
} controllers[] = {
  { CTL_MEMORY, "memory" },
  { CTL_CPU, "cpu" },
  { CTL_CPUSET, "cpuset" },
  { CTL_PIDS, "pids" },
};
#define N_CONTROLLERS (sizeof (controllers) / sizeof (controllers[0]))

static unsigned
needed (const struct husk_resources *r)
{
  unsigned m = 0;

  if (r->memory_limit != 0 || r->memory_swap != 0 || r->memory_reservation != 0)
    m |= CTL_MEMORY;
  if (r->cpu_shares != 0 || r->cpu_quota != 0 || r->cpu_period != 0)
    m |= CTL_CPU;
  if (r->cpu_cpus && *r->cpu_cpus)
    m |= CTL_CPUSET;
  if (r->pids_limit != 0)
    m |= CTL_PIDS;
  return m;
}

/* One write of a cgroup file: the plan a spec becomes, then carried out in order.  */
struct cg_write
{
  unsigned ctl;
  const char *file;
  const char *text; /* VALUE when NULL.  */
  char value[48];
};

#define MAX_WRITES 10

static void
add (struct cg_write *w, size_t *n, unsigned ctl, const char *file, const char *text)
{
  w[*n] = (struct cg_write){ .ctl = ctl, .file = file, .text = text };
  (*n)++;
}

static void
add_num (struct cg_write *w, size_t *n, unsigned ctl, const char *file, int64_t v, bool max)
{
  add (w, n, ctl, file, NULL);
  if (v == -1 && max)
    snprintf (w[*n - 1].value, sizeof (w[*n - 1].value), "max");
  else
    snprintf (w[*n - 1].value, sizeof (w[*n - 1].value), "%" PRId64, v);
}

/* cgroup v1 (Documentation/admin-guide/cgroup-v1/memory.rst, cpusets.rst, pids.rst and
   scheduler/sched-bwc.rst).  The limit before memory plus swap, which may never be below
   it; the period before the quota that is a share of it.  cpuset.cpus and cpuset.mems are
   written by apply_v1 (a new cpuset has neither, and takes no process without both).  */
static size_t
plan_v1 (const struct husk_resources *r, struct cg_write w[MAX_WRITES])
{
  size_t n = 0;

  if (r->memory_limit != 0)
    add_num (w, &n, CTL_MEMORY, "memory.limit_in_bytes", r->memory_limit, false);
  if (r->memory_swap != 0)
    add_num (w, &n, CTL_MEMORY, "memory.memsw.limit_in_bytes", r->memory_swap, false);
  if (r->memory_reservation != 0)
    add_num (w, &n, CTL_MEMORY, "memory.soft_limit_in_bytes", r->memory_reservation, false);
  if (r->cpu_shares != 0)
    add_num (w, &n, CTL_CPU, "cpu.shares", (int64_t) r->cpu_shares, false);
  if (r->cpu_period != 0)
    add_num (w, &n, CTL_CPU, "cpu.cfs_period_us", (int64_t) r->cpu_period, false);
  if (r->cpu_quota != 0)
    add_num (w, &n, CTL_CPU, "cpu.cfs_quota_us", r->cpu_quota, false);
  if (r->pids_limit != 0)
    add_num (w, &n, CTL_PIDS, "pids.max", r->pids_limit, true);
  return n;
}

/* cgroup v2 (Documentation/admin-guide/cgroup-v2.rst, "Controllers"): "max" where v1 took
   -1.  memory.swap.max is swap alone, OCI's memory.swap memory plus swap (checked to be at
   least the limit).  A reservation of -1, v1's "no soft limit", is v2's default
   memory.low of 0, so nothing is written for it.  cpu.max is "$MAX $PERIOD"; a quota alone
   (only -1 can come without a period) sets $MAX only.  An empty cpuset.cpus is the parent's:
   only the spec's list is written.  */
static size_t
plan_v2 (const struct husk_resources *r, struct cg_write w[MAX_WRITES])
{
  size_t n = 0;

  if (r->memory_limit != 0)
    add_num (w, &n, CTL_MEMORY, "memory.max", r->memory_limit, true);
  if (r->memory_swap != 0)
    add_num (w, &n, CTL_MEMORY, "memory.swap.max",
             r->memory_swap == -1 ? -1 : r->memory_swap - r->memory_limit, true);
  if (r->memory_reservation > 0)
    add_num (w, &n, CTL_MEMORY, "memory.low", r->memory_reservation, false);
  if (r->cpu_shares != 0)
    add_num (w, &n, CTL_CPU, "cpu.weight", (int64_t) husk_cpu_shares_to_weight (r->cpu_shares),
             false);
  if (r->cpu_period != 0)
    {
      add (w, &n, CTL_CPU, "cpu.max", NULL);
      if (r->cpu_quota > 0)
        snprintf (w[n - 1].value, sizeof (w[n - 1].value), "%" PRId64 " %" PRIu64, r->cpu_quota,
                  r->cpu_period);
      else
        snprintf (w[n - 1].value, sizeof (w[n - 1].value), "max %" PRIu64, r->cpu_period);
    }
  else if (r->cpu_quota != 0)
    add_num (w, &n, CTL_CPU, "cpu.max", r->cpu_quota, true);
  if (r->cpu_cpus && *r->cpu_cpus)
    add (w, &n, CTL_CPUSET, "cpuset.cpus", r->cpu_cpus);
  if (r->pids_limit != 0)
    add_num (w, &n, CTL_PIDS, "pids.max", r->pids_limit, true);
  return n;
}

char **
husk_cgroups_plan (const struct husk_resources *res, bool v2)
{
  struct cg_write w[MAX_WRITES];
  size_t n = v2 ? plan_v2 (res, w) : plan_v1 (res, w);
  char **ret = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *line
          = husk_strdup_printf ("%s %s", w[i].file, w[i].text ? w[i].text : w[i].value);
      husk_strv_append (&ret, line);
    }
  if (!v2 && res->cpu_cpus && *res->cpu_cpus)
    {
      cleanup_free char *line = husk_strdup_printf ("cpuset.cpus %s", res->cpu_cpus);
      husk_strv_append (&ret, line);
    }
  return ret;
}

/* ------------------------------------------------------------------ files  */

static bool
is_fs (const char *path, long magic)
{
  struct statfs sf;
  return statfs (path, &sf) == 0 && (long) sf.f_type == magic;
}

/* cgroup v2 alone ("unified"): /sys/fs/cgroup itself is cgroup2.  Anything else (v1, or the
   hybrid layout, whose cgroup2 carries no controller) is handled as v1.  */
static bool
unified (void)
{
  return is_fs (CGROUP_ROOT, CGROUP2_SUPER_MAGIC);
}

static bool
name_valid (const char *name)
{
  return name && *name && strchr (name, '/') == NULL && strcmp (name, ".") != 0
         && strcmp (name, "..") != 0;
}

/* One write(2) of TEXT to DIRFD/FILE (WHERE names DIRFD in the message).  */
static int
write_cg (int dirfd, const char *file, const char *text, const char *where, struct husk_error **err)
{
  cleanup_close int fd = openat (dirfd, file, O_WRONLY | O_CLOEXEC);
  size_t len = strlen (text);

  if (fd < 0)
    return husk_error_set (err, errno, "%s/%s", where, file);
  if (write (fd, text, len) != (ssize_t) len)
    return husk_error_set (err, errno, "%s/%s: write \"%s\"", where, file, text);
  return 0;
}

/* DIRFD/FILE's first line, without its newline, in BUF.  */
static int
read_cg (int dirfd, const char *file, char *buf, size_t size, const char *where,
         struct husk_error **err)
{
  cleanup_close int fd = openat (dirfd, file, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return husk_error_set (err, errno, "%s/%s", where, file);
  n = read (fd, buf, size - 1);
  if (n < 0)
    return husk_error_set (err, errno, "read \"%s/%s\"", where, file);
  buf[n] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  return 0;
}

/* The directory under which PARENT/NAME goes on cgroup v2: the root as root; else the
   parent of the caller's own cgroup (see cgroups.h), from its "0::PATH" line.  */
static char *
v2_base (struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  char *line, *slash;

  if (geteuid () == 0)
    return husk_xstrdup (CGROUP_ROOT);
  if (husk_read_file_at (AT_FDCWD, "/proc/self/cgroup", 65536, &buf, NULL, err) < 0)
    return NULL;
  line = strstr (buf, "0::/");
  if (line == NULL || (line != buf && line[-1] != '\n'))
    {
      husk_error_set (err, 0, "/proc/self/cgroup has no cgroup v2 line");
      return NULL;
    }
  line += 3;
  line[strcspn (line, "\n")] = '\0';
  slash = strrchr (line, '/');
  *slash = '\0';
  return husk_strdup_printf (CGROUP_ROOT "%s", line);
}

/* ------------------------------------------------------------------ check  */

int
husk_cgroups_check (const char *name, const struct husk_resources *res, struct husk_error **err)
{
  unsigned want = needed (res);

  if (!name_valid (name))
    return husk_error_set (err, 0, "resource limits: invalid cgroup name \"%s\"", name ? name : "");
  if (husk_resources_check (res, err) < 0)
    return husk_error_wrap (err, "resource limits");
  if (!unified ())
    {
      if (geteuid () != 0)
        return husk_error_set (err, 0,
                               "resource limits: cannot be applied without root on this "
                               "machine: it has cgroup v1 (cgroup2 has no controllers), "
                               "whose hierarchies only root can write");
      for (size_t i = 0; i < N_CONTROLLERS; i++)
        {
          cleanup_free char *dir = NULL;
          if (!(want & controllers[i].bit))
            continue;
          dir = husk_strdup_printf (CGROUP_ROOT "/%s", controllers[i].name);
          if (!is_fs (dir, CGROUP_SUPER_MAGIC))
            return husk_error_set (err, 0,
                                   "resource limits: no cgroup v1 \"%s\" hierarchy is "
                                   "mounted at \"%s\"",
                                   controllers[i].name, dir);
        }
      if (res->memory_swap != 0
          && access (CGROUP_ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) < 0)
        return husk_error_set (err, 0,
                               "resource limits: memory.swap: the kernel does not account "
                               "swap (no memory.memsw.limit_in_bytes: boot with "
                               "swapaccount=1)");
      return 0;
    }

  {
    cleanup_free char *base = v2_base (err);
    cleanup_close int fd = -1;
    char avail[512];

    if (base == NULL)
      return husk_error_wrap (err, "resource limits");
    fd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return husk_error_set (err, errno, "resource limits: open \"%s\"", base);
    /* The directory for the container's cgroup, subtree_control to give it controllers,
       cgroup.procs to move a process from husk's cgroup into it (the common ancestor's:
       cgroup-v2.rst, "Delegation Containment").  */
    if (faccessat (fd, ".", W_OK, AT_EACCESS) < 0
        || faccessat (fd, "cgroup.subtree_control", W_OK, AT_EACCESS) < 0
        || faccessat (fd, "cgroup.procs", W_OK, AT_EACCESS) < 0)
      return husk_error_set (err, 0,
                             "resource limits: cgroup \"%s\" is not writable by uid %u: a "
                             "container run without root needs husk in a cgroup delegated "
                             "to its user (a systemd user service or \"systemd-run --user "
                             "--scope\")",
                             base, (unsigned) geteuid ());
    if (read_cg (fd, "cgroup.controllers", avail, sizeof (avail), base, err) < 0)
      return husk_error_wrap (err, "resource limits");
    for (size_t i = 0; i < N_CONTROLLERS; i++)
      {
        const char *p = avail;
        size_t len = strlen (controllers[i].name);
        bool found = false;

        if (!(want & controllers[i].bit))
          continue;
        while ((p = strstr (p, controllers[i].name)) != NULL && !found)
          {
            found = (p == avail || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
            p += len;
          }
        if (!found)
          return husk_error_set (err, 0,
                                 "resource limits: the \"%s\" controller is not available "
                                 "in \"%s\" (not enabled or not delegated there)",
                                 controllers[i].name, base);
      }
  }
  return 0;
}

/* ----------------------------------------------------------------- create  */

/* DIR/PARENT, then DIR/PARENT/NAME, new and empty (an earlier run's is removed): a directory
   descriptor.  With REUSE_BUSY, a DIR/PARENT/NAME that holds processes is kept: on v2 the
   device cgroup made it for this start a moment ago.  */
static int
make_cgroup (const char *dir, const char *name, bool reuse_busy, struct husk_error **err)
{
  cleanup_close int rootfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int parentfd = -1;
  int fd;

  if (rootfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", dir);
  if (mkdirat (rootfd, PARENT, 0755) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s/" PARENT "\"", dir);
  parentfd = openat (rootfd, PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (parentfd < 0)
    return husk_error_set (err, errno, "open \"%s/" PARENT "\"", dir);
  if (unlinkat (parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT
      && !(reuse_busy && errno == EBUSY))
    return husk_error_set (err, errno, "remove the old cgroup \"%s/" PARENT "/%s\"", dir, name);
  if (mkdirat (parentfd, name, 0755) < 0 && !(reuse_busy && errno == EEXIST))
    return husk_error_set (err, errno, "create \"%s/" PARENT "/%s\"", dir, name);
  fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s/" PARENT "/%s\"", dir, name);
  return fd;
}

/* A v1 cpuset takes no process until it has CPUs and memory nodes, and a new one has
   neither (cgroup.clone_children aside): husk/ gets the root's, NAME the spec's CPUs and
   husk/'s nodes.  The CPUs must be among husk/'s, which are the root's when husk/ is new.  */
static int
setup_cpuset_v1 (const char *dir, int cgfd, const char *where, const char *cpus,
                 struct husk_error **err)
{
  cleanup_free char *parent = husk_strdup_printf ("%s/" PARENT, dir);
  cleanup_close int rootfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int parentfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  char mems[256];

  if (rootfd < 0 || parentfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", rootfd < 0 ? dir : parent);
  for (size_t i = 0; i < 2; i++)
    {
      char buf[256];
      if (read_cg (parentfd, files[i], buf, sizeof (buf), parent, err) < 0)
        return -1;
      if (*buf)
        continue;
      if (read_cg (rootfd, files[i], buf, sizeof (buf), dir, err) < 0
          || write_cg (parentfd, files[i], buf, parent, err) < 0)
        return -1;
    }
  if (read_cg (parentfd, "cpuset.mems", mems, sizeof (mems), parent, err) < 0
      || write_cg (cgfd, "cpuset.mems", mems, where, err) < 0)
    return -1;
  return write_cg (cgfd, "cpuset.cpus", cpus, where, err);
}

static int
apply_v1 (const char *name, const struct husk_resources *res, const char *pidbuf,
          struct husk_error **err)
{
  struct cg_write w[MAX_WRITES];
  size_t n = plan_v1 (res, w);
  unsigned want = needed (res);

  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      cleanup_free char *dir = NULL, *where = NULL;
      cleanup_close int fd = -1;

      if (!(want & controllers[i].bit))
        continue;
      dir = husk_strdup_printf (CGROUP_ROOT "/%s", controllers[i].name);
      where = husk_strdup_printf ("%s/" PARENT "/%s", dir, name);
      fd = make_cgroup (dir, name, false, err);
      if (fd < 0)
        return -1;
      if (controllers[i].bit == CTL_CPUSET
          && setup_cpuset_v1 (dir, fd, where, res->cpu_cpus, err) < 0)
        return -1;
      for (size_t k = 0; k < n; k++)
        if (w[k].ctl == controllers[i].bit
            && write_cg (fd, w[k].file, w[k].text ? w[k].text : w[k].value, where, err) < 0)
          return -1;
      if (write_cg (fd, "cgroup.procs", pidbuf, where, err) < 0)
        return -1;
    }
  return 0;
}

/* The controllers WANT, as "+memory +pids", into DIRFD's cgroup.subtree_control: each level
   hands its children only what it has itself (cgroup-v2.rst, "Enabling and Disabling").  */
static int
enable_v2 (int dirfd, const char *where, unsigned want, struct husk_error **err)
{
  char buf[64] = "";
  size_t len = 0;

  for (size_t i = 0; i < N_CONTROLLERS; i++)
    if (want & controllers[i].bit)
      len += (size_t) snprintf (buf + len, sizeof (buf) - len, "%s+%s", len ? " " : "",
                                controllers[i].name);
  return write_cg (dirfd, "cgroup.subtree_control", buf, where, err);
}

static int
apply_v2 (const char *name, const struct husk_resources *res, const char *pidbuf,
          struct husk_error **err)
{
  struct cg_write w[MAX_WRITES];
  size_t n = plan_v2 (res, w);
  unsigned want = needed (res);
  cleanup_free char *base = v2_base (err);
  cleanup_free char *parent = NULL, *where = NULL;
  cleanup_close int basefd = -1, parentfd = -1, fd = -1;

  if (base == NULL)
    return -1;
  parent = husk_strdup_printf ("%s/" PARENT, base);
  where = husk_strdup_printf ("%s/%s", parent, name);
  basefd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (basefd < 0)
    return husk_error_set (err, errno, "open \"%s\"", base);
  if (enable_v2 (basefd, base, want, err) < 0)
    return -1;
  fd = make_cgroup (base, name, true, err);
  if (fd < 0)
    return -1;
  parentfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (parentfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", parent);
  if (enable_v2 (parentfd, parent, want, err) < 0)
    return -1;
  for (size_t k = 0; k < n; k++)
    if (write_cg (fd, w[k].file, w[k].text ? w[k].text : w[k].value, where, err) < 0)
      return -1;
  return write_cg (fd, "cgroup.procs", pidbuf, where, err);
}

int
husk_cgroups_apply (const char *name, const struct husk_resources *res, pid_t pid,
                    struct husk_error **err)
{
  char pidbuf[32];

  if (!name_valid (name))
    return husk_error_set (err, 0, "resource limits: invalid cgroup name \"%s\"", name ? name : "");
  snprintf (pidbuf, sizeof (pidbuf), "%d", (int) pid);
  if ((unified () ? apply_v2 (name, res, pidbuf, err) : apply_v1 (name, res, pidbuf, err)) < 0)
    return husk_error_wrap (err, "resource limits");
  return 0;
}

/* ------------------------------------------------------------ join, remove  */

int
husk_cgroups_join (const char *name, const struct husk_resources *res, struct husk_error **err)
{
  char pidbuf[32];
  unsigned want = needed (res);

  if (!name_valid (name))
    return husk_error_set (err, 0, "resource limits: invalid cgroup name \"%s\"", name ? name : "");
  snprintf (pidbuf, sizeof (pidbuf), "%d", (int) getpid ());
  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      cleanup_free char *base = NULL, *where = NULL;
      cleanup_close int fd = -1;
      bool v2 = unified ();

      if (!(want & controllers[i].bit))
        continue;
      base = v2 ? v2_base (err) : husk_strdup_printf (CGROUP_ROOT "/%s", controllers[i].name);
      if (base == NULL)
        return husk_error_wrap (err, "resource limits");
      where = husk_strdup_printf ("%s/" PARENT "/%s", base, name);
      fd = open (where, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0)
        return husk_error_set (err, errno == ENOENT ? 0 : errno,
                               "resource limits: the container's cgroup \"%s\"%s", where,
                               errno == ENOENT ? " is missing" : "");
      if (write_cg (fd, "cgroup.procs", pidbuf, where, err) < 0)
        return husk_error_wrap (err, "resource limits");
      if (v2)
        break; /* One cgroup holds every controller.  */
    }
  return 0;
}

void
husk_cgroup_rmdir (const char *path)
{
  /* The last process usually leaves within a fraction of a millisecond of its exit: wait
     100 us, then twice as long each time, about 1.6 s in all.  */
  long wait_ns = 100 * 1000;

  for (int i = 0; i < 15; i++)
    {
      struct timespec ts = { wait_ns / 1000000000L, wait_ns % 1000000000L };
      if (rmdir (path) == 0 || errno != EBUSY)
        return;
      nanosleep (&ts, NULL);
      wait_ns *= 2;
    }
}

void
husk_cgroups_remove (const char *name)
{
  if (!name_valid (name))
    return;
  if (unified ())
    {
      cleanup_error struct husk_error *e = NULL;
      cleanup_free char *base = v2_base (&e), *path = NULL;
      if (base == NULL)
        return;
      path = husk_strdup_printf ("%s/" PARENT "/%s", base, name);
      husk_cgroup_rmdir (path);
      return;
    }
  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      cleanup_free char *path
          = husk_strdup_printf (CGROUP_ROOT "/%s/" PARENT "/%s", controllers[i].name, name);
      husk_cgroup_rmdir (path);
    }
}
