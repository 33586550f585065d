/* Capabilities (libcap): Docker's default set, names, and the sets of the container process.  */
#ifndef HUSK_CAPS_H
#define HUSK_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
   SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.  */
uint64_t husk_caps_default (void);
/* Every capability the running kernel knows.  */
uint64_t husk_caps_all (void);

/* "NET_ADMIN", "cap_net_admin" or "ALL" (case-insensitive) to a mask.  */
int husk_caps_parse (const char *name, uint64_t *ret_mask, struct husk_error **err);

/* In the child, while still root of its namespace: drop every capability outside CAPS from the
   bounding set.  */
int husk_caps_bound (uint64_t caps, struct husk_error **err);

/* After the final setresuid: root gets CAPS effective and permitted; a non-root user keeps none
   (the kernel cleared them), as in Docker.  Inheritable and ambient are always empty.  */
int husk_caps_set (uint64_t caps, bool root, struct husk_error **err);

#endif
