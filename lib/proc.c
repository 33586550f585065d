/* Processes named by pid and start time: see proc.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc.h"
#include "banned.h"

uint64_t
husk_proc_start_time (pid_t pid)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;
  uint64_t v = 0;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields count from the last ')'.  */
  p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return 0;
  p += 2;
  /* P is at field 3, the state; the start time is field 22, 19 fields on.  */
  if (*p == 'Z' || *p == 'X')
    return 0; /* A zombie has finished.  */
  for (int field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p == NULL)
    return 0;
  v = strtoull (p, NULL, 10);
  return v;
}

bool
husk_proc_alive (pid_t pid, uint64_t start)
{
  return pid > 0 && start != 0 && husk_proc_start_time (pid) == start;
}

int
husk_proc_pidfd (pid_t pid, uint64_t start)
{
  int fd;

  if (pid <= 0)
    {
      errno = ESRCH;
      return -1;
    }
  fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  /* Checked after opening: the pidfd pins the process, so a match now stays true.  */
  if (!husk_proc_alive (pid, start))
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}
