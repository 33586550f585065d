/* A container: what runtime/ needs to start one, and nothing about images or registries.  */
#ifndef HUSK_CONTAINER_H
#define HUSK_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>

#include "cgroups.h"
#include "devices.h"
#include "forward.h"
#include "error.h"
#include "user.h"
#include "userns.h"

enum husk_mount_kind
{
  HUSK_MOUNT_BIND,  /* source: an absolute host path.  */
  HUSK_MOUNT_TMPFS, /* options: tmpfs options ("size=64m,mode=1777"), or NULL.  */
};

struct husk_mount
{
  enum husk_mount_kind kind;
  const char *source;
  const char *dest; /* Absolute, inside the container.  */
  const char *options;
  bool readonly;
};

struct husk_rlimit
{
  int resource; /* RLIMIT_*.  */
  uint64_t soft, hard;
};

enum husk_network
{
  HUSK_NETWORK_NONE, /* A new network namespace with only lo, up.  */
  HUSK_NETWORK_HOST, /* The caller's network namespace.  */
};

/* Which seccomp filter the container's processes load: the caller's explicit choice (the zero
   value loads none; husk's engine picks for a container, engine/defaults.h).  */
enum husk_seccomp_mode
{
  HUSK_SECCOMP_UNCONFINED, /* No filter.  */
  HUSK_SECCOMP_DEFAULT,    /* The program built into husk with the effect of Docker's default
                              profile for the spec's capabilities (runtime/seccomp-filter.h).  */
  HUSK_SECCOMP_PROFILE,    /* seccomp_profile: the text of a Docker-style JSON profile.  */
};

/* The umask of every container process (its first and each husk exec) and of the container's
   setup (mountpoints, the working directory), whatever husk's caller had: the OCI runtime
   spec's process.user.umask, which husk's engine never sets, defaults to this in runc and
   crun, and docker and podman give it.  */
#define HUSK_PROCESS_UMASK 0022

/* What runtime/ starts a container from: the OCI runtime spec's config, every choice explicit
   (runtime/ adds no policy of its own).  A spec owns the strings and arrays it points to, which
   husk_container_spec_clear frees, except five references by design: IDMAP (its owner's id
   map), DEVICES (a table such as husk_devices_default), DEVICE_CGROUP and RESOURCES_CGROUP
   (its owner's ID) and the AFTER_* callback.  */
struct husk_container_spec
{
  char **lowerdirs;     /* Absolute, base layer first.  */
  const char *upperdir; /* Absolute; this container's own.  */
  const char *workdir;
  const char *rootfs; /* Where the overlay is mounted (in the container's namespace).  */
  char **args;        /* argv; args[0] is looked up in the container's PATH.  */
  char **env;         /* HOME is added from the user's passwd entry when missing.  */
  const char *cwd;    /* Created when missing.  */
  const char *hostname;
  const struct husk_idmap *idmap; /* NULL: no user namespace (husk runs as root).  */

  const char *user; /* "USER[:GROUP]", names or numbers; NULL or "" for root.  */
  const struct husk_mount *mounts;
  size_t n_mounts;
  bool readonly_rootfs;
  /* The OCI runtime spec's linux.maskedPaths and linux.readonlyPaths: absolute paths in the
     container, NULL-terminated (NULL: none), applied after /proc, /sys and /dev are in place
     and before the mounts.  A masked file is covered by /dev/null, a masked directory by an
     empty read-only tmpfs; a read-only path is bound onto itself read-only.  A path that does
     not exist is skipped.  Exactly these: runtime/ adds no list of its own.  */
  char **masked_paths;
  char **readonly_paths;
  enum husk_network network;
  uint64_t caps; /* Capability set (bit N = capability N).  */
  bool no_new_privs;
  enum husk_seccomp_mode seccomp;
  const char *seccomp_profile;
  const struct husk_rlimit *rlimits;
  size_t n_rlimits;
  bool init;        /* husk's own init as pid 1.  */
  bool tty;         /* A pseudo-terminal for stdio.  */
  bool interactive; /* Keep stdin; else /dev/null.  */

  /* Without IDMAP (husk runs as root): the container's device cgroup, named DEVICE_CGROUP
     (its ID), allowing only DEVICES (runtime/devices.h); its processes are placed in it
     before they run anything of the container's.  NULL: none.  Ignored with IDMAP: no node
     in a user namespace's mounts can be opened.  */
  const char *device_cgroup;
  const struct husk_device_rule *devices;
  size_t n_devices;

  /* The OCI runtime spec's linux.resources (config-linux.md, "Control groups"; its devices
     are the rules above): memory, cpu and pids limits (runtime/cgroups.h gives their units
     and ranges), checked before anything starts and applied in the container's cgroup,
     named RESOURCES_CGROUP (its ID), before its processes run anything of the container's.
     All zero: no limit, and no cgroup is made, read or joined for them.  A limit that
     cannot be applied (cgroup v1 without root, a v2 cgroup not delegated) fails the start.  */
  const char *resources_cgroup;
  struct husk_resources resources;

  /* Run after the container exits, as root of its user namespace (no new id map to write):
     for --rm.  Its failure lands in *after_err, never changes the exit status.  */
  int (*after_fn) (void *arg, struct husk_error **err);
  void *after_arg;
  struct husk_error **after_err;
};

/* Free what SPEC owns (see struct husk_container_spec) and zero it.  NULL is a no-op.  */
void husk_container_spec_clear (struct husk_container_spec *spec);
/* A copy of N mounts (strings copied too), for a spec to own.  Never NULL.  */
struct husk_mount *husk_mounts_dup (const struct husk_mount *mounts, size_t n);

struct husk_container_proc
{
  pid_t pid;  /* The container's pid 1, a child of the caller.  */
  int master; /* With -t: the pty's master; else -1.  */
  int userns; /* Its user namespace, kept for AFTER_FN; else -1.  */
};

/* Start the container and return once its command has been executed.  STDIO (or NULL) gives
   descriptors for its stdin, stdout and stderr; -1 keeps the caller's (stdin becomes
   /dev/null without -i).  The caller waits for PROC->pid and closes the descriptors.
   Failures come back in *ERR with the exit status Docker uses: 125 for husk, 126 when the
   command cannot be executed, 127 when it is not found.  */
int husk_container_spawn (const struct husk_container_spec *spec, const int stdio[3],
                          struct husk_container_proc *ret, struct husk_error **err);

/* After the container exited: SPEC->after_fn in its user namespace (USERNS).  */
int husk_container_after (const struct husk_container_spec *spec, int userns,
                          struct husk_error **err);

/* Run the container in the foreground, forwarding signals; STARTED (if not NULL) is called
   once it runs.  Its stdio is the caller's, except that a terminal among them is relayed:
   through a pipe without SPEC->tty (relay.h), from the container's own pty with it (tty.h).
   *RET_STATUS is its exit status (128+N for signal N).  AFTER_FN runs only when the
   container ran (the return is 0).  */
int husk_container_run (const struct husk_container_spec *spec,
                        int (*started) (void *arg, pid_t pid), void *started_arg, int *ret_status,
                        struct husk_error **err);

/* A waitpid status as an exit status: 128+N for signal N.  */
int husk_wait_status (int status);

/* For a process in a container's namespaces (its first, or one husk exec joins) after fork.  */
struct husk_seccomp_prog;

/* Become root of the user namespace just entered, without the host's supplementary groups.  */
int husk_container_become_root (struct husk_error **err);

/* A container process's tail, in three steps that every way of starting one takes in this
   order: read what it needs from the container's files (prepare), drop to the container's
   privileges (drop), then resolve its working directory and exec (husk_chdir_in_root,
   husk_process_exec).  A process joining a running container prepares in husk, outside the
   container, and drops before it touches any file of the container: a container process that
   can ptrace it then only ever sees the container's own privileges.  */
struct husk_process_prep
{
  struct husk_user user; /* SPEC->user resolved in the container's /etc.  */
  char **env;            /* SPEC->env, with HOME from passwd when it has none.  */
};

/* Resolve SPEC->user with the container's /etc/passwd and /etc/group below ROOTFD (an O_PATH
   descriptor of the container's "/", see husk_user_resolve) and build the environment.
   Errors: those of husk_user_resolve.  Free with husk_process_prep_clear.  */
int husk_process_prepare (const struct husk_container_spec *spec, int rootfd,
                          struct husk_process_prep *ret, struct husk_error **err);
void husk_process_prep_clear (struct husk_process_prep *prep);

/* Take the container's privileges: SPEC's rlimits, the bounding set, USER's groups, gid and
   uid, SPEC's capabilities (none for a user other than root), no_new_privs, and SECCOMP (NULL:
   none; loaded before the user switch without no_new_privs, last with it).  The process must
   be root of its user namespace.  Reads no file.  */
int husk_process_drop_privileges (const struct husk_container_spec *spec,
                                  const struct husk_user *user,
                                  const struct husk_seccomp_prog *seccomp, struct husk_error **err);

/* chdir to CWD (absolute; NULL or "" is "/") as the container sees it: resolved below the
   process's root with symlinks kept inside it and magic links (/proc/self/fd/N and the like)
   refused, created with mode 0755 when missing and CREATE, then checked with getcwd to be
   below the root (CVE-2024-21626, runc GHSA-xr7r-f8xq-vfvv).  Errors: the path leads out of
   the root (no errno), or its errno (ENOENT, ENOTDIR, EACCES).  */
int husk_chdir_in_root (const char *cwd, bool create, struct husk_error **err);

/* Set ENV, mark every descriptor above stdio close-on-exec and exec SPEC->args (looked up in
   ENV's PATH).  Never returns: a failure is reported on REPORT (husk_child_report) with 127
   when the command is not found, 126 when it cannot be executed, and the process _exits with
   that status.  FAIL_STATUS is kept for failures before exec.  */
void husk_process_exec (const struct husk_container_spec *spec, char **env, int report,
                        int fail_status) __attribute__ ((noreturn));

#endif
