/* Pulling an image from a registry: resolve the reference to a manifest (through an index, for
   this machine's platform or the one asked for), fetch the config, and stream every new layer
   from the registry straight into the unpacker, several at once.  */
#ifndef HUSK_PULL_H
#define HUSK_PULL_H

#include <stdbool.h>

#include "error.h"
#include "import.h"
#include "progress.h"
#include "store.h"

struct husk_pull_options
{
  const char *platform; /* "OS/ARCH[/VARIANT]", or NULL for this machine.  */
  bool tls_verify;
  bool rootless;
  /* Hears PULL once the reference is parsed, the import's layer events, and LAYER_BYTES
     from the download threads; may be NULL.  */
  const struct husk_progress *progress;
};

/* Pull REFERENCE ("[DOMAIN/]PATH[:TAG][@DIGEST]") into S.  *RET: the image's ID and layer
   counts; *RET_NAME (may be NULL): the name it was given, "DOMAIN/PATH:TAG", or NULL for a
   pull by digest (with a tag beside the digest too: the image is not given the tag).  The
   image's record gets the repo digests "DOMAIN/PATH@DIGEST" of the manifest the reference
   resolved to and, when that was an index, of the platform's manifest in it.  Errors are
   wrapped "pull \"REFERENCE\": ...".  */
int husk_registry_pull (struct husk_store *s, const char *reference,
                        const struct husk_pull_options *o, struct husk_pull_result *ret,
                        char **ret_name, struct husk_error **err);

#endif
