/* Import from an OCI image layout directory (skopeo, umoci, buildah, docker save >= 25).  */
#ifndef HUSK_LAYOUT_H
#define HUSK_LAYOUT_H

#include <stdbool.h>
#include <stdio.h>

#include "digest.h"
#include "error.h"
#include "store.h"

struct husk_pull_result
{
  char id[HUSK_DIGEST_HEX_LEN + 1];
  char *name;                /* NULL when the image got none.  */
  unsigned layers_new;
  unsigned layers_shared;
  uint64_t squashed_owners;  /* Files left to the user: no id range to map their owners.  */
  uint64_t skipped_devices;
};

/* Split "DIR[:TAG]" (the part after "oci:").  */
int husk_layout_split (const char *spec, char **ret_dir, char **ret_tag, struct husk_error **err);

/* Import the image TAG (or the only one, when TAG is NULL) of the layout at DIR.  PROGRESS,
   when not NULL, gets a line per layer.  */
int husk_layout_pull (struct husk_store *s, const char *dir, const char *tag, bool rootless,
                      FILE *progress, struct husk_pull_result *ret, struct husk_error **err);

void husk_pull_result_clear (struct husk_pull_result *r);

#endif
