/* For unit tests that do what husk does as root of a user namespace (unpacking, writing
   layers, committing): when run by a user, become root of a new user namespace that maps only
   that user (a store without a subordinate range).  */
#ifndef HUSK_TEST_USERNS_ROOT_H
#define HUSK_TEST_USERNS_ROOT_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Returns true when the test runs as real root (nothing done), false when it made and
   entered the namespace; bails out of the TAP run when it cannot.  */
static inline bool
test_become_userns_root (void)
{
  char map[64];
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  int fd;

  if (uid == 0)
    return true;
  if (unshare (CLONE_NEWUSER) < 0)
    {
      printf ("Bail out! unshare(CLONE_NEWUSER): %s\n", strerror (errno));
      exit (1);
    }
  fd = open ("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      husk_write_all (fd, "deny", 4);
      close (fd);
    }
  snprintf (map, sizeof (map), "0 %u 1", (unsigned) uid);
  fd = open ("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
  husk_write_all (fd, map, strlen (map));
  close (fd);
  snprintf (map, sizeof (map), "0 %u 1", (unsigned) gid);
  fd = open ("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
  husk_write_all (fd, map, strlen (map));
  close (fd);
  return false;
}

#endif
