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
#include "hooks.h"
#include "namespaces.h"
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
   husk_container_spec_clear frees, except these references, by design: IDMAP (its owner's id
   map), NAMESPACES (its owner's list; the paths in it too), DEVICES (a table such as
   husk_devices_default), DEVICE_CGROUP and RESOURCES_CGROUP (its owner's ID) and the AFTER_*
   and CREATED_* callbacks.  */
struct husk_container_spec
{
  char **lowerdirs;     /* Absolute, base layer first.  */
  const char *upperdir; /* Absolute; this container's own.  */
  const char *workdir;
  const char *rootfs; /* Where the overlay is mounted (in the container's namespace).  */
  char **args;        /* argv; args[0] is looked up in the container's PATH.  */
  char **env;         /* HOME is added from the user's passwd entry when missing.  */
  const char *cwd;    /* Created when missing.  */
  /* NULL or "": not set; anything else needs a "uts" namespace (husk_ns_check).  */
  const char *hostname;
  /* The id map written to the new user namespace (a "user" entry without a path); NULL with
     none or a joined one (husk_ns_check).  */
  const struct husk_idmap *idmap;

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
  /* The OCI runtime spec's linux.namespaces (namespaces.h): exactly these are made or joined
     (by path, before any is made, in the order husk_ns_join gives), the others stay the
     caller's; runtime/ adds none of its own.  A new network namespace gets lo up; with one
     (new or joined) /sys is a new sysfs, else the caller's, read-only.  A pid namespace
     joined by path holds the container's first process, which is then not its pid 1.  */
  const struct husk_namespace *namespaces;
  size_t n_namespaces;
  uint64_t caps; /* Capability set (bit N = capability N).  */
  bool no_new_privs;
  enum husk_seccomp_mode seccomp;
  const char *seccomp_profile;
  const struct husk_rlimit *rlimits;
  size_t n_rlimits;
  bool init;        /* husk's own init as pid 1.  */
  bool tty;         /* A pseudo-terminal for stdio.  */
  bool interactive; /* Keep stdin; else /dev/null.  */
  /* husk_container_run only: SIGINT, SIGTERM and SIGHUP sent to husk kill the container
     (SIGKILL to its first process, which ends its pid namespace) instead of going on to it,
     and the run fails (forward.h's kill mode); a build's RUN step, which a Ctrl-C cancels.
     False: every signal husk_forward_* passes on goes to the container (husk run).  */
  bool kill_on_interrupt;

  /* The start gate: the OCI runtime spec's create and start as two steps (runtime.md,
     "Lifecycle" steps 2 and 4, "Operations": create, start).  NULL: none, the program runs
     as soon as it is set up.  Otherwise the absolute host path of a FIFO the caller made
     (mkfifo, writable and readable by the caller; no one else may hold it open): the
     container's first process opens it before pivot_root, does all its set-up (namespaces,
     id map, mounts, pivot_root, masked paths, privileges dropped, seccomp loaded, working
     directory, the command looked up in PATH) and then waits there, before exec, until
     husk_container_start_gate opens the gate, from any process of the caller's user.  It
     waits under its seccomp filter, which must therefore allow write, read and close.  */
  const char *start_fifo;

  /* Without a user namespace (husk runs as root): the container's device cgroup, named
     DEVICE_CGROUP (its ID), allowing only DEVICES (runtime/devices.h); its processes are
     placed in it before they run anything of the container's.  NULL: none.  Ignored with a
     user namespace: no node in a user namespace's mounts can be opened.  */
  const char *device_cgroup;
  const struct husk_device_rule *devices;
  size_t n_devices;

  /* The OCI runtime spec's hooks (runtime/hooks.h says which runs where, and what a failure
     does) and what their state (runtime.md "State") names besides its status and pid: ID, the
     container's ID; BUNDLE, the absolute path of its bundle; ANNOTATIONS, KEY, VALUE, ...,
     NULL.  NULL hooks: none (husk's engine gives none); the three are only read for the
     state.  Owned like the rest: husk_container_spec_clear frees HOOKS (allocated, its lists
     as husk_hooks_fields decodes them) and the three.  */
  struct husk_hooks *hooks;
  const char *id;
  const char *bundle;
  char **annotations;

  /* The OCI runtime spec's linux.resources (config-linux.md, "Control groups"; its devices
     are the rules above): memory, cpu and pids limits (runtime/cgroups.h gives their units
     and ranges), checked before anything starts and applied in the container's cgroup,
     named RESOURCES_CGROUP (its ID), before its processes run anything of the container's.
     All zero: no limit, and no cgroup is made, read or joined for them.  A limit that
     cannot be applied (cgroup v1 without root, a v2 cgroup not delegated) fails the start.  */
  const char *resources_cgroup;
  struct husk_resources resources;

  /* Called in husk's own namespaces once the container's first process exists in its new
     namespaces, with its id map written, right after the createRuntime hooks and before it
     mounts anything or runs anything of the container's (PID: its pid on the host): what the
     engine attaches to its network namespace from outside (pasta).  NULL: nothing.  Its
     failure (-1 with *err set) kills the process and fails the start with status 125.  */
  int (*created_fn) (void *arg, pid_t pid, struct husk_error **err);
  void *created_arg;

  /* Run after the container exits, as root of the user namespace made for it with IDMAP (no
     new id map to write), else in the caller's: for --rm.  Its failure lands in *after_err,
     never changes the exit status.  */
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

/* Whether the container runs in a user namespace (a "user" entry, new or joined): it is then
   made root there, and its overlay mounted with userxattr.  */
bool husk_container_in_userns (const struct husk_container_spec *spec);

/* Start the container and return once its command has been executed.  STDIO (or NULL) gives
   descriptors for its stdin, stdout and stderr; -1 keeps the caller's (stdin becomes
   /dev/null without -i).  SPEC's prestart, createRuntime, createContainer and startContainer
   hooks run on the way (hooks.h); the caller runs the poststart and poststop hooks
   (husk_hooks_poststart, husk_hooks_poststop).  The caller waits for PROC->pid and closes
   the descriptors.
   Failures come back in *ERR with the exit status Docker uses: 125 for husk, 126 when the
   command cannot be executed, 127 when it is not found.  SPEC->namespaces is checked first
   (husk_ns_check), then every path in it is opened and its type checked (husk_ns_files_open:
   "namespace \"PATH\": is not a network namespace", or the open's errno); with a path to
   join, a child of husk joins them (husk_ns_join: "namespace \"PATH\": join ...", EPERM said
   in one line) and clones the container's process, still husk's own child, with the new
   namespaces.
   With SPEC->start_fifo, it returns 0 once the container's process is set up and waiting at
   the gate (the OCI runtime spec's create): every failure of the set-up, a FIFO that cannot
   be opened and a command not found in PATH (127) come back here as -1, as create's errors.
   What fails after the gate opens (exec refused, 126) is only the process's exit status.
   The process is the caller's child and is killed when the caller ends (PR_SET_PDEATHSIG,
   which the kernel drops when the process changes user): a caller that creates now and
   starts later must stay for the container's life, as husk's monitor does.  */
int husk_container_spawn (const struct husk_container_spec *spec, const int stdio[3],
                          struct husk_container_proc *ret, struct husk_error **err);

/* Open the start gate FIFO (a container's SPEC->start_fifo, an absolute host path): its
   process, waiting there since husk_container_spawn returned, goes on to exec its command
   (the OCI runtime spec's start, runtime.md "Operations": start).  Any process of the user
   that made the FIFO may call it, the container's parent or not.  It returns once the
   process was told to go, not once its command runs; the gate opens once, and FIFO is
   removed on success.  Errors, in *ERR's errnum and one line naming the gate:
   ENOENT   no gate at FIFO: none was made there, or the container was already started;
   EALREADY another start claimed the same gate first;
   ESRCH    the container is gone: its process ended before the gate opened (FIFO is left
            for the caller to remove, unless the process ended during this very call);
   EINVAL   FIFO is not a FIFO;
   any other errno of open, unlink or write.  */
int husk_container_start_gate (const char *fifo, struct husk_error **err);

/* After the container exited: SPEC->after_fn in its user namespace (USERNS).  */
int husk_container_after (const struct husk_container_spec *spec, int userns,
                          struct husk_error **err);

/* Run the container in the foreground, forwarding signals; STARTED (if not NULL) is called
   once it runs.  Its stdio is the caller's, except that a terminal among them is relayed:
   through a pipe without SPEC->tty (relay.h), from the container's own pty with it (tty.h).
   *RET_STATUS is its exit status (128+N for signal N).  AFTER_FN runs only when the
   container ran (the return is 0).  SPEC's poststart hooks run once it started (before
   STARTED), its poststop hooks once it is gone, after AFTER_FN, and also when the spawn
   failed (runtime.md "Lifecycle": a failed create hook goes on to the teardown and
   poststop); their failures are warnings (hooks.h).  With SPEC->kill_on_interrupt, a SIGINT,
   SIGTERM or SIGHUP to husk kills the container instead, AFTER_FN does not run, and the return
   is -1 with "interrupted by SIGINT" (the signal's name).  */
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
