/* A container's resource limits: the OCI runtime spec's linux.resources (config-linux.md,
   "Control groups": memory, cpu, pids; its devices are runtime/devices.h), applied in a
   cgroup of the container's own before it runs anything of its own.

   Where the limits go:
     cgroup v1 (and the hybrid layout, whose cgroup2 at /sys/fs/cgroup/unified has no
                controllers)   husk/NAME in each v1 hierarchy a limit needs: memory, cpu,
                (root only)    cpuset, pids (Documentation/admin-guide/cgroup-v1/)
     cgroup v2 (/sys/fs/cgroup is cgroup2)   one cgroup, husk/NAME below /sys/fs/cgroup as
                root (the one the device program is attached to), below the parent of
                husk's own cgroup without root, which must then be delegated to the user
                (a systemd user service or scope): cgroup v2 lets a cgroup with processes
                of its own (husk's) give no controller to a child
                (Documentation/admin-guide/cgroup-v2.rst, "No Internal Process Constraint")
   NAME is the container's ID, the name its device cgroup has in the other hierarchies.

   A spec that asks for no limit (every field zero) costs nothing: no cgroup is made, read or
   joined, no system call is made.  One that asks for a limit that cannot be applied (cgroup
   v1 without root, a v2 cgroup that is not delegated, a controller that is missing) does not
   start: a limit is never silently dropped.  */
#ifndef HUSK_CGROUPS_H
#define HUSK_CGROUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* linux.resources, field for field.  Zero is "not set" everywhere (the kernel's default
   stays), as in runc; -1 is "unlimited" where the spec allows it.  */
struct husk_resources
{
  /* memory: bytes.  */
  int64_t memory_limit;       /* memory.limit: at least HUSK_MEMORY_MIN, or -1.  */
  int64_t memory_swap;        /* memory.swap: memory plus swap (not swap alone, OCI's
                                 definition), at least memory_limit, or -1; needs
                                 memory_limit unless -1.  */
  int64_t memory_reservation; /* memory.reservation: a soft limit, at most memory_limit,
                                 or -1.  */
  /* cpu.  */
  uint64_t cpu_shares;  /* cpu.shares: a relative weight, 2 to 262144 (the kernel's v1 range;
                           1024 is the default).  */
  int64_t cpu_quota;    /* cpu.quota: microseconds of CPU time each period, across all CPUs,
                           at least 1000, or -1; a positive quota needs cpu_period.  */
  uint64_t cpu_period;  /* cpu.period: microseconds, 1000 to 1000000.  */
  const char *cpu_cpus; /* cpu.cpus: a CPU list, "0-3,6" (numbers and ranges, commas);
                           NULL or "": not set.  A spec's own
                           (husk_container_spec_clear frees it).  */
  /* pids.  */
  int64_t pids_limit; /* pids.limit: processes and threads, at least 1, or -1.  */
};

/* The smallest memory.limit husk accepts, in bytes (6 MiB, Docker's floor for --memory): below
   that a container is killed by the OOM killer before its command is running.  */
#define HUSK_MEMORY_MIN (6 * 1024 * 1024)

/* Whether RES asks for any limit.  Reads memory only.  */
bool husk_resources_set (const struct husk_resources *res);

/* Check RES before anything starts: every value in its range (above), a swap or reservation
   against the memory limit, a quota with its period, the CPU list's syntax.  Makes no system
   call.  Errors (no errno): one line naming the field, "cpu.quota: 50000 without
   cpu.period".  */
int husk_resources_check (const struct husk_resources *res, struct husk_error **err);

/* Whether RES can be applied by this process on this machine in the cgroup NAME (one path
   component): checks NAME and RES (husk_resources_check), then the cgroup layout (v1 needs
   root; v2 needs a writable cgroup and the controllers RES uses).  Call before the
   container's processes exist.  Errors: one line giving the reason, "resource limits: cannot
   be applied without root on this machine: it has cgroup v1 ...".  */
int husk_cgroups_check (const char *name, const struct husk_resources *res,
                        struct husk_error **err);

/* Create the cgroup NAME (one path component: the container's ID) wherever RES needs one
   (see above), write RES's limits there and move PID into it.  Call before PID runs
   anything of the container's, after husk_devices_cgroup_apply when both are used (on v2
   they share the cgroup, which this reuses).  A cgroup left by an earlier run of NAME is
   replaced.  RES must have passed husk_cgroups_check.  Errors: the file and the value the
   kernel refused ("/sys/fs/cgroup/cpuset/husk/ID/cpuset.cpus: write \"7\": Invalid
   argument"); on failure, the caller ends PID and calls husk_cgroups_remove.  */
int husk_cgroups_apply (const char *name, const struct husk_resources *res, pid_t pid,
                        struct husk_error **err);

/* Move the calling process into NAME's resource cgroups (husk exec), in each hierarchy RES
   uses: a process joining the container is counted against its limits too.  Without root on
   v2 the cgroup is looked for beside the caller's own, as husk_cgroups_apply placed it.
   Errors: a cgroup that is missing ("... is missing"), or the write the kernel refused.  */
int husk_cgroups_join (const char *name, const struct husk_resources *res, struct husk_error **err);

/* Remove NAME's resource cgroups, waiting up to about a second and a half for its last
   processes to leave.  Errors are ignored: a cgroup that is not there is already
   removed.  */
void husk_cgroups_remove (const char *name);

/* What husk_cgroups_apply writes for RES in the container's cgroup, in order, on cgroup v2
   (V2) or v1: "FILE VALUE" strings ("memory.swap.max 33554432"), NULL-terminated (free with
   husk_strv_free).  RES must have passed husk_resources_check.  The v1 cpuset's memory
   nodes, copied from its parent, are left out.  For
   tests and for reading: the v2 conversions can be checked on a v1 machine.  */
char **husk_cgroups_plan (const struct husk_resources *res, bool v2);

/* The cgroup v2 cpu.weight for cgroup v1 cpu.shares SHARES (2 to 262144): the linear map of
   [2, 262144] onto [1, 10000] that runc and crun use.  */
uint64_t husk_cpu_shares_to_weight (uint64_t shares);

/* rmdir the cgroup directory PATH, waiting for processes still leaving it (EBUSY): 100 us,
   then twice as long each time, about 1.6 s in all.  Any other failure, or still busy then,
   leaves it.  For this file's cgroups and the device cgroups (devices.c).  */
void husk_cgroup_rmdir (const char *path);

#endif
