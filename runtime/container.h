/* A container: what runtime/ needs to start one, and nothing about images or registries.  */
#ifndef HUSK_CONTAINER_H
#define HUSK_CONTAINER_H

#include <stdbool.h>

#include "error.h"
#include "userns.h"

struct husk_container_spec
{
  char **lowerdirs;        /* Absolute, base layer first.  */
  const char *upperdir;    /* Absolute; this container's own.  */
  const char *workdir;
  const char *rootfs;      /* Where the overlay is mounted (in the container's namespace).  */
  char **args;             /* argv; args[0] is looked up in the container's PATH.  */
  char **env;
  const char *cwd;
  const char *hostname;
  const struct husk_idmap *idmap; /* NULL: no user namespace (husk runs as root).  */
};

/* Run the container in the foreground.  *RET_STATUS is its exit status (128+N for signal N).
   Failures of husk itself come back in *ERR with the exit status Docker uses: 125 for husk,
   126 when the command cannot be executed, 127 when it is not found.  */
int husk_container_run (const struct husk_container_spec *spec, int *ret_status,
                        struct husk_error **err);

#endif
