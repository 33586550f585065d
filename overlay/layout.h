/* Import from an OCI image layout directory (skopeo, umoci, buildah, docker save >= 25).  */
#ifndef HUSK_LAYOUT_H
#define HUSK_LAYOUT_H

#include <stdbool.h>

#include "error.h"
#include "import.h"
#include "progress.h"
#include "store.h"

/* Split "DIR[:TAG]" (the part after "oci:").  */
int husk_layout_split (const char *spec, char **ret_dir, char **ret_tag, struct husk_error **err);

/* Import the image TAG (or the only one, when TAG is NULL) of the layout at DIR.  *RET_NAME
   gets the name the image was given, or NULL.  PROGRESS (may be NULL) hears the layer events
   (progress.h).  */
int husk_layout_pull (struct husk_store *s, const char *dir, const char *tag, bool rootless,
                      const struct husk_progress *progress, struct husk_pull_result *ret,
                      char **ret_name, struct husk_error **err);

#endif
