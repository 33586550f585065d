#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"
#include "whiteout.h"
#include "banned.h"

int
husk_whiteout_classify (const char *name, enum husk_whiteout_kind *ret_kind,
                        const char **ret_target, struct husk_error **err)
{
  const char *target;

  if (!husk_str_has_prefix (name, HUSK_WHITEOUT_PREFIX))
    {
      *ret_kind = HUSK_WHITEOUT_NONE;
      *ret_target = NULL;
      return 0;
    }
  if (strcmp (name, HUSK_WHITEOUT_OPAQUE_NAME) == 0)
    {
      *ret_kind = HUSK_WHITEOUT_OPAQUE;
      *ret_target = NULL;
      return 0;
    }
  target = name + strlen (HUSK_WHITEOUT_PREFIX);
  /* ".wh.." would whiteout the directory itself and ".wh..." its parent.  */
  if (*target == '\0' || strcmp (target, ".") == 0 || strcmp (target, "..") == 0)
    return husk_error_set (err, 0, "whiteout \"%s\" names no file", name);
  /* Other ".wh..wh.*" names are aufs metadata (plinks, dir opaque variants) that OCI layers
     must not carry: applying them could delete what the layer itself needs.  */
  if (husk_str_has_prefix (target, HUSK_WHITEOUT_PREFIX))
    return husk_error_set (err, 0, "whiteout \"%s\": unknown aufs marker", name);
  *ret_kind = HUSK_WHITEOUT_DELETE;
  *ret_target = target;
  return 0;
}

const char *
husk_whiteout_opaque_xattr (bool rootless)
{
  return rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

int
husk_whiteout_delete (int parentfd, const char *target, struct husk_error **err)
{
  struct stat st;

  if (fstatat (parentfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      /* Only a deletion of lower content means something here; what this layer wrote under
         the name goes, a directory with everything in it.  */
      if (S_ISDIR (st.st_mode))
        {
          if (husk_rm_rf_at (parentfd, target, err) < 0)
            return husk_error_wrap (err, "whiteout \"%s\"", target);
        }
      else if (unlinkat (parentfd, target, 0) < 0)
        return husk_error_set (err, errno, "whiteout \"%s\": remove", target);
    }
  else if (errno != ENOENT)
    return husk_error_set (err, errno, "whiteout \"%s\": stat", target);
  /* A 0:0 character device is overlayfs's whiteout.  Root of a user namespace may make one
     since Linux 5.8, which is what makes rootless lower directories possible.  */
  if (mknodat (parentfd, target, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return husk_error_set (err, errno, "whiteout \"%s\": mknod", target);
  return 0;
}

int
husk_whiteout_set_opaque (int dirfd, bool rootless, struct husk_error **err)
{
  const char *xattr = husk_whiteout_opaque_xattr (rootless);

  if (fsetxattr (dirfd, xattr, "y", 1, 0) < 0)
    return husk_error_set (err, errno, "opaque directory: set \"%s\"", xattr);
  return 0;
}

bool
husk_whiteout_is_device (int parentfd, const char *name)
{
  struct stat st;

  return fstatat (parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR (st.st_mode)
         && st.st_rdev == makedev (0, 0);
}
