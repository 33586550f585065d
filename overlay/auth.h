/* Registry credentials: husk's own auth.json ($REGISTRY_AUTH_FILE, or
   $XDG_RUNTIME_DIR/containers/auth.json, as podman keeps it) and Docker's config.json (read only).
 */
#ifndef HUSK_AUTH_H
#define HUSK_AUTH_H

#include "error.h"

/* The file husk login writes.  */
char *husk_auth_file_path (void);

/* Credentials for REGISTRY (a reference's domain, "docker.io", "localhost:5000"): 1 with
 *RET_USER and *RET_PASS set, 0 when none are stored, -1 on a broken file.  */
int husk_auth_lookup (const char *registry, char **ret_user, char **ret_pass,
                      struct husk_error **err);

/* Store credentials for REGISTRY in husk's file (created with mode 0600).  */
int husk_auth_store (const char *registry, const char *user, const char *pass,
                     struct husk_error **err);

/* Remove REGISTRY's entry (or every entry, REGISTRY NULL): 1 when something was removed, 0
   when there was nothing to remove.  */
int husk_auth_remove (const char *registry, struct husk_error **err);

/* The registry a login argument or an auths key names: a scheme and a path are dropped, and
   "index.docker.io" is "docker.io" ("https://index.docker.io/v1/" -> "docker.io").  */
char *husk_auth_registry_name (const char *key);

/* base64 of "USER:PASS".  */
char *husk_auth_basic_token (const char *user, const char *pass);

#endif
