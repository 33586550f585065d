/* The device cgroup of a container run by root: which device nodes its processes may open or
   create, enforced by the kernel whatever node the container reaches.

   Rootless containers need none of this: every filesystem mounted in a user namespace other
   than the initial one is SB_I_NODEV, and CAP_MKNOD there does not cover char and block
   nodes.  See docs/security.md, "Device nodes".

   Mechanism (the kernel's two interfaces):
     cgroup v1   a "devices" hierarchy: devices.deny "a", then one devices.allow line a rule
                 (Documentation/admin-guide/cgroup-v1/devices.rst)
     cgroup v2   a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup with
                 BPF_CGROUP_DEVICE (Documentation/admin-guide/cgroup-v2.rst, "Device
                 controller"), built here instruction by instruction
   Both are used where both are mounted (the hybrid layout); the kernel checks each.

   Policy is data: a list of rules, everything else denied.  husk_devices_default is the list
   husk gives every container (see devices.c for what is in it and why).  */
#ifndef HUSK_DEVICES_H
#define HUSK_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Access bits, the values of the kernel's BPF_DEVCG_ACC_*.  */
#define HUSK_DEV_MKNOD 1u
#define HUSK_DEV_READ 2u
#define HUSK_DEV_WRITE 4u

/* HUSK_DEV_ANY as major or minor: every number.  */
#define HUSK_DEV_ANY (-1)

/* An allowed (type, major, minor, access).  TYPE is 'c' (char), 'b' (block) or 'a' (both);
   MAJOR and MINOR are numbers or HUSK_DEV_ANY; ACCESS is a set of HUSK_DEV_* bits.  An access
   is allowed when one rule matches the node and holds every bit asked for.  */
struct husk_device_rule
{
  char type;
  int32_t major, minor;
  unsigned access;
};

/* The rules husk gives every container: the devices bound into its /dev and its own ptys.  */
extern const struct husk_device_rule husk_devices_default[];
extern const size_t husk_devices_n_default;

/* RULE as a cgroup v1 line, "c 1:3 rw", in BUF (at least 32 bytes).  */
void husk_device_rule_format (const struct husk_device_rule *rule, char *buf, size_t size);

/* Create the cgroup NAME (one path component: the container's ID) under husk/ in every device
   hierarchy mounted at /sys/fs/cgroup (v1 "devices", v2 at /sys/fs/cgroup or
   /sys/fs/cgroup/unified), allow only RULES there, and move PID into it.  Call before PID
   runs anything of the container's.  A cgroup left by an earlier run of NAME is replaced.
   Fails when no hierarchy could enforce the rules: none is mounted, the v1 hierarchy refused
   a rule, or (with no v1 hierarchy) the kernel refused the v2 program.  On failure nothing
   is left behind but what husk_devices_cgroup_remove removes.  */
int husk_devices_cgroup_apply (const char *name, const struct husk_device_rule *rules,
                               size_t n_rules, pid_t pid, struct husk_error **err);

/* Move the calling process into NAME's cgroups (husk exec): every hierarchy where NAME
   exists.  Fails when it exists in none: the container has no device cgroup.  */
int husk_devices_cgroup_join (const char *name, struct husk_error **err);

/* Remove NAME's cgroups, waiting up to about a second for its last processes to leave.
   Errors are ignored: a cgroup that is not there is already removed.  */
void husk_devices_cgroup_remove (const char *name);

/* The cgroup v2 program for RULES, loaded: a BPF program descriptor, or -1 with *ERR (the
   verifier's log, when it has one).  */
int husk_devices_bpf_load (const struct husk_device_rule *rules, size_t n_rules,
                           struct husk_error **err);

/* Attach PROGFD (husk_devices_bpf_load) to the cgroup2 directory CGFD, as one of possibly
   several programs (BPF_F_ALLOW_MULTI).  It stays attached while the cgroup exists.  */
int husk_devices_bpf_attach (int cgfd, int progfd, struct husk_error **err);

#endif
