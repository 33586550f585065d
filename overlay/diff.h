/* What a container changed: its overlay upper directory read against the image's layers.  */
#ifndef HUSK_DIFF_H
#define HUSK_DIFF_H

#include <stddef.h>

#include "error.h"

enum husk_change_kind
{
  HUSK_CHANGE_ADD = 'A',
  HUSK_CHANGE_MODIFY = 'C',
  HUSK_CHANGE_DELETE = 'D',
};

struct husk_change
{
  enum husk_change_kind kind;
  char *path; /* Absolute, as the container sees it: "/etc/motd".  */
};

/* The changes UPPER holds against LOWERDIRS (base first), sorted by path as docker diff
   prints them.  A 0:0 character device in UPPER deletes what the layers had; an opaque
   directory ("overlay.opaque" = "y", trusted.* or user.*) deletes everything the layers had
   below it that it does not have itself; anything else in UPPER is a change when the layers
   have it and an addition when they do not.  The layers' own whiteouts and opaque directories
   count as overlayfs counts them.  Run where every id that owns a file is mapped (the
   container's user namespace) when the directories belong to subordinate ids.  */
int husk_diff_dirs (const char *upper, char *const *lowerdirs, struct husk_change **ret,
                    size_t *ret_n, struct husk_error **err);

void husk_changes_free (struct husk_change *v, size_t n);

#endif
