/* OCI layer whiteouts, and how overlayfs wants them in a lower directory.

   In a layer tar, ".wh.NAME" deletes NAME from the layers below and ".wh..wh..opq" makes its
   directory opaque (nothing below shows through).  Neither is ever written as a file: in the
   layer directory a deletion becomes a 0:0 character device named NAME, and an opaque
   directory gets the "overlay.opaque" xattr, in the user.* namespace for mounts with
   userxattr (rootless) and in trusted.* for real root.  */
#ifndef HUSK_WHITEOUT_H
#define HUSK_WHITEOUT_H

#include <stdbool.h>

#include "error.h"

#define HUSK_WHITEOUT_PREFIX ".wh."
#define HUSK_WHITEOUT_OPAQUE_NAME ".wh..wh..opq"

enum husk_whiteout_kind
{
  HUSK_WHITEOUT_NONE,   /* An ordinary name.  */
  HUSK_WHITEOUT_DELETE, /* ".wh.NAME".  */
  HUSK_WHITEOUT_OPAQUE, /* ".wh..wh..opq".  */
};

/* What the last path component NAME is.  For a deletion, *RET_TARGET points into NAME at the
   name deleted.  Returns -1 with *ERR set for a marker that names nothing usable
   (".wh.", ".wh..", ".wh...").  */
int husk_whiteout_classify (const char *name, enum husk_whiteout_kind *ret_kind,
                            const char **ret_target, struct husk_error **err);

/* The xattr overlayfs reads for opaque directories on mounts of this kind.  */
const char *husk_whiteout_opaque_xattr (bool rootless);

/* Make TARGET in PARENTFD a whiteout, replacing whatever an earlier entry of the same layer
   put there.  */
int husk_whiteout_delete (int parentfd, const char *target, struct husk_error **err);

/* Mark the directory DIRFD opaque.  */
int husk_whiteout_set_opaque (int dirfd, bool rootless, struct husk_error **err);

/* Whether the entry at NAME in PARENTFD is an overlayfs whiteout (a 0:0 character device).  */
bool husk_whiteout_is_device (int parentfd, const char *name);

#endif
