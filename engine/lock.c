/* Container locks: see lock.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "lock.h"
#include "names.h"
#include "proc.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

int
husk_ctr_lock (struct husk_store *s, const char *id, struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s", id);
  cleanup_close int fd
      = openat (husk_store_rootfd (s), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return husk_error_set (err, errno == ENOENT ? 0 : errno,
                           errno == ENOENT ? "no such container: %.12s" : "container %.12s: open",
                           id);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "container %.12s: lock", id);
  /* Removed while we waited: the lock guards nothing.  */
  if (ret && husk_ctr_load (s, id, ret, err) < 0)
    return -1;
  if (ret == NULL && !husk_ctr_exists (s, id))
    return husk_error_set (err, 0, "no such container: %.12s", id);
  return TAKE_FD (fd);
}

#define RESTART_MARK "restarting"

int
husk_ctr_restart_mark (int lock, const char *id, struct husk_error **err)
{
  char buf[64];
  int n = snprintf (buf, sizeof (buf), "%d %llu\n", (int) getpid (),
                    (unsigned long long) husk_proc_start_time (getpid ()));
  cleanup_close int fd
      = openat (lock, RESTART_MARK, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || write (fd, buf, (size_t) n) != n)
    return husk_error_set (err, errno, "container %.12s: mark for restart", id);
  return 0;
}

bool
husk_ctr_restart_take (int lock)
{
  char buf[64];
  ssize_t n = -1;
  int pid = 0;
  unsigned long long start = 0;
  cleanup_close int fd = -1;

  if (lock < 0)
    return false;
  fd = openat (lock, RESTART_MARK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof (buf) - 1);
  unlinkat (lock, RESTART_MARK, 0);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* Only a restart that still runs is waiting to start the container again.  */
  return sscanf (buf, "%d %llu", &pid, &start) == 2 && pid > 0
         && husk_proc_alive ((pid_t) pid, (uint64_t) start);
}
