/* Pulling an image from a registry: resolve the reference to a manifest (through an index, for
   this machine's platform or the one asked for), fetch the config, and stream every new layer
   from the registry straight into the unpacker, several at once.  */
#ifndef HUSK_PULL_H
#define HUSK_PULL_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "import.h"
#include "store.h"

enum husk_pull_display
{
  HUSK_PULL_QUIET,    /* Nothing.  */
  HUSK_PULL_LINES,    /* A line per event (not a terminal).  */
  HUSK_PULL_TERMINAL, /* A display redrawn in place: per layer, bytes of total and rate.  */
};

struct husk_pull_options
{
  const char *platform; /* "OS/ARCH[/VARIANT]", or NULL for this machine.  */
  bool tls_verify;
  bool rootless;
  enum husk_pull_display display;
  FILE *out; /* Where the progress goes.  */
};

int husk_registry_pull (struct husk_store *s, const char *reference,
                        const struct husk_pull_options *o, struct husk_pull_result *ret,
                        char **ret_name, struct husk_error **err);

#endif
