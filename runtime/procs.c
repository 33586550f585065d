#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "procs.h"
#include "util.h"
#include "banned.h"

void
husk_procs_free (struct husk_proc *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i].cmd);
  free (v);
}

void
husk_proc_tty_name (unsigned tty_nr, char *buf, size_t size)
{
  unsigned major = (tty_nr >> 8) & 0xfff;
  unsigned minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

  if (tty_nr == 0)
    snprintf (buf, size, "?");
  else if (major >= 136 && major <= 143)
    snprintf (buf, size, "pts/%u", minor + (major - 136) * 256);
  else if (major == 4 && minor < 64)
    snprintf (buf, size, "tty%u", minor);
  else if (major == 4)
    snprintf (buf, size, "ttyS%u", minor - 64);
  else
    snprintf (buf, size, "?");
}

/* /proc/PID/stat after the command name, which may hold spaces and parentheses.  */
static int
read_stat (int procfd, const char *pid, struct husk_proc *p, char **ret_comm)
{
  cleanup_free char *path = husk_strdup_printf ("%s/stat", pid);
  cleanup_free char *buf = NULL;
  cleanup_error struct husk_error *e = NULL;
  unsigned long long f[20];
  char *open_paren, *close_paren, *q;
  size_t len;
  int ppid, tty;

  if (husk_read_file_at (procfd, path, 4096, &buf, &len, &e) < 0)
    return -1;
  open_paren = strchr (buf, '(');
  close_paren = strrchr (buf, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
    return -1;
  /* Fields 3 to 22: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     utime stime cutime cstime priority nice num_threads itrealvalue starttime.  */
  q = close_paren + 1;
  if (sscanf (q,
              " %*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
              &ppid, &tty, &f[0], &f[1], &f[2])
      != 5)
    return -1;
  p->ppid = ppid;
  p->tty_nr = (unsigned) tty;
  p->cpu_ticks = f[0] + f[1];
  p->start_ticks = f[2];
  *ret_comm = husk_strdup_printf ("%.*s", (int) (close_paren - open_paren - 1), open_paren + 1);
  return 0;
}

static int
read_euid (int procfd, const char *pid, uid_t *ret)
{
  cleanup_free char *path = husk_strdup_printf ("%s/status", pid);
  cleanup_free char *buf = NULL;
  cleanup_error struct husk_error *e = NULL;
  unsigned ruid, euid;
  size_t len;
  char *line;

  if (husk_read_file_at (procfd, path, 64 * 1024, &buf, &len, &e) < 0)
    return -1;
  line = strstr (buf, "\nUid:");
  if (line == NULL || sscanf (line + 5, "%u %u", &ruid, &euid) != 2)
    return -1;
  *ret = euid;
  return 0;
}

static char *
read_cmdline (int procfd, const char *pid, const char *comm)
{
  cleanup_free char *path = husk_strdup_printf ("%s/cmdline", pid);
  cleanup_error struct husk_error *e = NULL;
  char *buf = NULL;
  size_t len;

  if (husk_read_file_at (procfd, path, 256 * 1024, &buf, &len, &e) < 0 || len == 0)
    {
      free (buf);
      return husk_strdup_printf ("[%s]", comm);
    }
  while (len > 0 && buf[len - 1] == '\0')
    len--;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[len] = '\0';
  return buf;
}

static int
cmp_proc (const void *a, const void *b)
{
  const struct husk_proc *x = a, *y = b;
  return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int
husk_procs_in_pidns (pid_t pid, struct husk_proc **ret, size_t *ret_n, struct husk_error **err)
{
  cleanup_close int procfd = open ("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct husk_proc *v = NULL;
  size_t n = 0;
  struct dirent *de;
  struct stat ns;
  char path[64];
  int fd;

  if (procfd < 0)
    return husk_error_set (err, errno, "open /proc");
  snprintf (path, sizeof (path), "%d/ns/pid", (int) pid);
  if (fstatat (procfd, path, &ns, 0) < 0)
    return husk_error_set (err, errno, "process %d: pid namespace", (int) pid);
  fd = openat (procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return husk_error_set (err, e, "read /proc");
    }
  while ((de = readdir (d)) != NULL)
    {
      struct husk_proc p = { 0 };
      cleanup_free char *comm = NULL;
      struct stat st;
      uint64_t num;

      if (!isdigit ((unsigned char) de->d_name[0])
          || husk_parse_u64 (de->d_name, INT32_MAX, &num) < 0)
        continue;
      snprintf (path, sizeof (path), "%d/ns/pid", (int) num);
      /* Processes that have gone, or that are not ours to look at, are not in it.  */
      if (fstatat (procfd, path, &st, 0) < 0 || st.st_dev != ns.st_dev || st.st_ino != ns.st_ino)
        continue;
      p.pid = (pid_t) num;
      if (read_stat (procfd, de->d_name, &p, &comm) < 0
          || read_euid (procfd, de->d_name, &p.euid) < 0)
        continue;
      p.cmd = read_cmdline (procfd, de->d_name, comm);
      v = husk_xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = p;
    }
  if (n > 1)
    qsort (v, n, sizeof (*v), cmp_proc);
  *ret = v;
  *ret_n = n;
  return 0;
}
