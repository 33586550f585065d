/* Processes named by pid and start time: see proc.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
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

static char *title_start;
static size_t title_len;

void
husk_proc_title_init (int argc, char **argv)
{
  char *end;

  if (argc < 1 || argv[0] == NULL)
    return;
  end = argv[0] + strlen (argv[0]) + 1;
  /* Only the strings that follow each other: one placed elsewhere ends the area.  */
  for (int i = 1; i < argc && argv[i] == end; i++)
    end = argv[i] + strlen (argv[i]) + 1;
  title_start = argv[0];
  title_len = (size_t) (end - argv[0]);
}

void
husk_proc_set_title (const char *title)
{
  char comm[16];

  snprintf (comm, sizeof (comm), "%s", title);
  prctl (PR_SET_NAME, comm, 0, 0, 0);
  if (title_start == NULL || title_len < 2)
    return;
  memset (title_start, 0, title_len);
  snprintf (title_start, title_len, "%s", title);
}
