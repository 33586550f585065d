/* The OCI runtime spec's POSIX-platform hooks (config.md "POSIX-platform Hooks") and the state
   each hook reads on its stdin (runtime.md "State").

   Who runs what, and where (runtime.md "Lifecycle", steps 3 to 13):

     phase            run by                          namespaces; path resolved in
     prestart         husk_container_spawn, in husk   husk's (the runtime's); husk's
     createRuntime    husk_container_spawn, in husk   husk's; husk's
     createContainer  the container's first process   the container's; husk's mount tree
     startContainer   the container's first process   the container's; the container's "/"
     poststart        husk_container_run, or the      husk's; husk's
                      caller of husk_container_spawn
                      (husk_hooks_poststart)
     poststop         husk_container_run, or the      husk's; husk's
                      caller (husk_hooks_poststop)

   prestart (deprecated by the spec, still given by podman and the nvidia toolkit) runs as the
   spec says, like createRuntime and just before it: once the container's namespaces exist and
   its id maps and device cgroup are in place, before its first process goes on to mount
   anything; the state's pid is then known.  createContainer runs in the container's
   namespaces once its overlay is mounted on SPEC->rootfs, before pivot_root: husk attaches
   /proc, /dev and the volumes after pivot_root (mounts.h), so the overlay is what the
   container's mount namespace holds of it then.  startContainer runs after pivot_root, the
   working directory and the read-only root, just before the container's privileges are
   dropped and its program is executed (as root of its user namespace, with every
   capability, no seccomp filter yet).

   A failure of a prestart, createRuntime, createContainer or startContainer hook fails
   husk_container_spawn (status 125) and the container is gone (killed, reaped) when it
   returns; the hooks after it in that phase do not run.  A failure of a poststart or poststop
   hook is a warning (husk_hooks.warn) and the next hook runs.

   husk's engine gives no hooks (SPEC->hooks is NULL); the OCI runtime's entry point fills
   them from config.json's "hooks" (husk_hooks_fields).  */
#ifndef HUSK_HOOKS_H
#define HUSK_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "jsonmap.h"

/* The version of the OCI runtime spec whose state the hooks are given ("ociVersion").  */
#define HUSK_OCI_VERSION "1.2.0"

/* One hook (config.md "POSIX-platform Hooks"), in the shape of config.json's.  */
struct husk_hook
{
  char *path;  /* Absolute; executed as it is, never looked up in PATH.  */
  char **args; /* argv, NULL-terminated, args[0] included; NULL or empty: { path }.  */
  char **env;  /* "NAME=VALUE", NULL-terminated; NULL: an empty environment.  */
  int timeout; /* Seconds, greater than 0; 0: none.  When it passes, the hook (its process
                  group) is killed with SIGKILL and counts as failed.  */
};

enum husk_hook_phase
{
  HUSK_HOOK_PRESTART,
  HUSK_HOOK_CREATE_RUNTIME,
  HUSK_HOOK_CREATE_CONTAINER,
  HUSK_HOOK_START_CONTAINER,
  HUSK_HOOK_POSTSTART,
  HUSK_HOOK_POSTSTOP,
  HUSK_N_HOOK_PHASES
};

struct husk_hooks
{
  /* The hooks of each phase, run in this order.  */
  struct husk_hook *list[HUSK_N_HOOK_PHASES];
  size_t n[HUSK_N_HOOK_PHASES];
  /* Called with the one-line message of each poststart or poststop hook that failed (NULL:
     the failure goes unreported).  */
  void (*warn) (void *arg, const char *msg);
  void *warn_arg;
};

/* config.json's "hooks" object onto struct husk_hooks ("prestart", "createRuntime",
   "createContainer", "startContainer", "poststart", "poststop": arrays of {"path", "args",
   "env", "timeout"}; "path" required), for husk_jsonmap_decode, encode and clear.  */
extern const struct husk_jsonmap_field husk_hooks_fields[];

/* The phase's name as config.json spells it: "createRuntime".  */
const char *husk_hook_phase_name (enum husk_hook_phase phase);

/* runtime.md "State" statuses.  */
enum husk_oci_status
{
  HUSK_OCI_CREATING,
  HUSK_OCI_CREATED,
  HUSK_OCI_RUNNING,
  HUSK_OCI_STOPPED,
};

/* The state a container's hooks read (runtime.md "State").  */
struct husk_oci_state
{
  const char *oci_version; /* NULL: HUSK_OCI_VERSION.  */
  const char *id;
  enum husk_oci_status status;
  int pid;            /* In the runtime's (husk's) pid namespace; 0: left out.  */
  const char *bundle; /* Absolute path of the bundle.  */
  char **annotations; /* KEY, VALUE, KEY, VALUE, ..., NULL; NULL or empty: left out.  */
};

/* STATE as one line of JSON (no newline), allocated, its length in *RET_LEN:
   {"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b",
    "annotations":{"k":"v"}}.  id, status and bundle are always written ("" for a NULL id or
   bundle: the spec requires them).  */
char *husk_oci_state_json (const struct husk_oci_state *state, size_t *ret_len);

/* Run HOOK with STATE (LEN bytes) on its stdin through a pipe, its stdout and stderr on
   OUT_FD, in a process group of its own; wait for it (at most HOOK->timeout seconds, then the
   group is killed and reaped).  PHASE names it in errors.  Returns 0 when it exited with 0.
   Errors, one line naming the phase and the path:
     createRuntime hook "/usr/bin/h": exited with status 3
     createRuntime hook "/usr/bin/h": killed by signal 9
     createRuntime hook "/usr/bin/h": timed out after 2 s, killed
     createRuntime hook "/usr/bin/h": exec: No such file or directory
     createRuntime hook "h": not an absolute path
     createRuntime hook "/usr/bin/h": timeout -1: must be greater than 0
   A state larger than a pipe can hold (the system's pipe-max-size) is an error too: it is
   written whole before the hook starts, so that a hook that never reads cannot block husk.  */
int husk_hook_run (const struct husk_hook *hook, enum husk_hook_phase phase, const char *state,
                   size_t len, int out_fd, struct husk_error **err);

/* Every hook of PHASE in HOOKS (NULL: none), in order, each with STATE (LEN bytes).  For
   prestart, createRuntime, createContainer and startContainer the first failure stops the
   phase and is returned; for poststart and poststop each failure goes to HOOKS->warn and the
   phase goes on (the return is then always 0).  */
int husk_hooks_run (const struct husk_hooks *hooks, enum husk_hook_phase phase, const char *state,
                    size_t len, int out_fd, struct husk_error **err);

struct husk_container_spec;

/* Every hook of PHASE in SPEC->hooks, with the state of SPEC (its id, bundle and
   annotations), the status the phase implies (creating up to createContainer, created for
   startContainer, running for poststart, stopped for poststop) and PID (0: none; the
   container's pid 1 as husk's pid namespace numbers it).  As husk_hooks_run; OUT_FD as in
   husk_hook_run.  Nothing is done (0) when the phase has no hooks.  */
int husk_container_hooks (const struct husk_container_spec *spec, enum husk_hook_phase phase,
                          pid_t pid, int out_fd, struct husk_error **err);

/* Whether SPEC has hooks for PHASE.  */
bool husk_container_has_hooks (const struct husk_container_spec *spec, enum husk_hook_phase phase);

/* For the caller of husk_container_spawn (husk_container_run does both itself): poststart
   once the spawn returned (PID its pid 1), poststop once the container is gone and removed.
   Failures only go to SPEC->hooks->warn; output to husk's stderr.  */
void husk_hooks_poststart (const struct husk_container_spec *spec, pid_t pid);
void husk_hooks_poststop (const struct husk_container_spec *spec);

/* The calling process's pid as the mounted /proc numbers it (readlink "/proc/self"): the
   container's first process, before pivot_root, learns its pid in husk's pid namespace
   this way.  getpid () when /proc cannot say.  */
pid_t husk_hooks_proc_self_pid (void);

#endif
