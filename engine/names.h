/* Container names: STORE/container-names/NAME, a symlink to the container's ID; symlinkat
   is what makes a name unique.  */
#ifndef HUSK_NAMES_H
#define HUSK_NAMES_H

#include <stdbool.h>
#include "error.h"

struct husk_store;

/* Claim NAME for ID: fails with "name in use" when another container has it.  */
int husk_ctr_name_claim (struct husk_store *s, const char *name, const char *id,
                         struct husk_error **err);
void husk_ctr_name_release (struct husk_store *s, const char *name, const char *id);
/* A free readable name ("brave_otter"), claimed for ID.  */
int husk_ctr_name_generate (struct husk_store *s, const char *id, char **ret,
                            struct husk_error **err);
bool husk_ctr_name_valid (const char *name);

#endif
