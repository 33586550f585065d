/* husk exec: a new process in a running container, in every namespace its spec lists (those
   made for it and those it joined by path, all its first process's own) and under the same
   confinement as its first process (capabilities, seccomp, no_new_privs, limits).  */
#ifndef HUSK_EXEC_H
#define HUSK_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "container.h"

struct husk_exec_opts
{
  char **args;      /* argv; args[0] is looked up in the environment's PATH.  */
  char **env;       /* The whole environment; NULL: the container's.  */
  const char *user; /* "USER[:GROUP]"; NULL: the container's.  */
  const char *cwd;  /* Must exist in the container; NULL: the container's.  */
  bool caps_given;  /* CAPS is the command's capability set (bit N = capability N); else it
                       gets the container's.  The container's seccomp filter stays.  */
  uint64_t caps;
  bool tty;         /* A pseudo-terminal from the container's devpts.  */
  bool interactive; /* Keep stdin; else /dev/null.  */
  bool detach;      /* Return once the command runs; its stdio is /dev/null.  */
};

/* The running container to join: its first process, named by pid and start time (so a
   reused pid is never joined), and the spec it was started with (confinement, id map,
   namespaces).  */
struct husk_exec_target
{
  const char *id; /* For messages: "container ID[:12] is not running".  */
  const struct husk_container_spec *spec;
  pid_t pid;
  uint64_t pid_start; /* Field 22 of /proc/PID/stat.  */
};

/* Run OPTS->args in the container CTR names, which must still run (else "container ID is
   not running").  *RET_STATUS is the command's exit status (128+N for signal N; 0 with
   OPTS->detach).  Its stdio is the caller's, except that without OPTS->tty a terminal among
   them is relayed through a pipe (relay.h).  Failures come back in *ERR with status 126 when
   the process could not be set up or executed, and 127 when the command is not found.  */
int husk_exec (const struct husk_exec_target *ctr, const struct husk_exec_opts *opts,
               int *ret_status, struct husk_error **err);

#endif
