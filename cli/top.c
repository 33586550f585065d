#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "passwd.h"
#include "procs.h"
#include "record.h"
#include "util.h"
#include "banned.h"

#define NCOLS 8

/* For --help only: top takes no option of its own before CONTAINER and passes none to getopt
   after it (see husk_cmd_top).  */
static const struct husk_cli_option top_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command top_command = {
  "top",
  "CONTAINER [ps OPTIONS]",
  "Show the processes of a running container (ps options are accepted and ignored).",
  top_options,
  NULL,
  { 0, HUSK_CLI_ANY, NULL }, /* Counted by husk_cmd_top.  */
};

/* A number from the first line of /proc/FILE that starts with KEY ("" for the first).  */
static double
proc_number (const char *file, const char *key)
{
  cleanup_file FILE *f = fopen (file, "re");
  char line[256];
  size_t klen = strlen (key);

  while (f && fgets (line, sizeof (line), f))
    if (strncmp (line, key, klen) == 0)
      return strtod (line + klen, NULL);
  return 0;
}

/* ps's STIME: the time today, the day this year, else the year.  */
static void
format_stime (time_t start, time_t now, char *buf, size_t size)
{
  struct tm s, n;

  localtime_r (&start, &s);
  localtime_r (&now, &n);
  strftime (buf, size,
            s.tm_year != n.tm_year   ? "%Y"
            : s.tm_yday != n.tm_yday ? "%b%d"
                                     : "%H:%M",
            &s);
}

static void
format_cputime (uint64_t secs, char *buf, size_t size)
{
  uint64_t days = secs / 86400;

  secs %= 86400;
  if (days)
    snprintf (buf, size, "%llu-%02llu:%02llu:%02llu", (unsigned long long) days,
              (unsigned long long) (secs / 3600), (unsigned long long) (secs / 60 % 60),
              (unsigned long long) (secs % 60));
  else
    snprintf (buf, size, "%02llu:%02llu:%02llu", (unsigned long long) (secs / 3600),
              (unsigned long long) (secs / 60 % 60), (unsigned long long) (secs % 60));
}

/* The host's name for UID from /etc/passwd (husk is static: no NSS), else the number.  */
static char *
user_name (uid_t uid)
{
  char *name = NULL;

  if (husk_host_passwd (NULL, uid, &name, NULL) == 0 && name)
    return name;
  return husk_strdup_printf ("%u", (unsigned) uid);
}

enum
{
  OPT_HELP = 256,
};

int
husk_cmd_top (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const char *const titles[NCOLS]
      = { "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD" };
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  struct husk_proc *procs = NULL;
  size_t n = 0, width[NCOLS];
  char ***rows = NULL;
  long hz = sysconf (_SC_CLK_TCK);
  time_t now = time (NULL);
  double btime, uptime;

  /* Everything after CONTAINER is for ps, which husk does not run: no getopt past it.  */
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      husk_cli_print_help (&top_command);
      return 0;
    }
  if (argc < 2)
    return husk_cli_usage_error (err, "top", "expects a container");
  if (argv[1][0] == '-')
    return husk_cli_usage_error (err, "top", "unknown flag \"%s\"", argv[1]);
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[1], &ctr, err) < 0)
    return -1;
  if (ctr->status != HUSK_CTR_RUNNING || ctr->pid <= 0)
    return husk_error_set (err, 0, "container %s is not running", ctr->id);
  if (husk_procs_in_pidns (ctr->pid, &procs, &n, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          husk_error_free (err);
          return husk_error_set (err, 0, "container %s is not running", ctr->id);
        }
      return husk_error_wrap (err, "container %s", ctr->id);
    }
  if (hz <= 0)
    hz = 100;
  btime = proc_number ("/proc/stat", "btime ");
  uptime = proc_number ("/proc/uptime", "");

  rows = husk_xcalloc (n + 1, sizeof (*rows));
  rows[0] = husk_xcalloc (NCOLS, sizeof (char *));
  for (size_t c = 0; c < NCOLS; c++)
    rows[0][c] = husk_xstrdup (titles[c]);
  for (size_t i = 0; i < n; i++)
    {
      struct husk_proc *p = &procs[i];
      double started = (double) p->start_ticks / (double) hz;
      double elapsed = uptime - started;
      uint64_t pcpu = 0;
      char buf[64];

      if (elapsed > 0)
        pcpu = (uint64_t) ((double) p->cpu_ticks * 100.0 / (double) hz / elapsed);
      if (pcpu > 99)
        pcpu = 99;
      rows[i + 1] = husk_xcalloc (NCOLS, sizeof (char *));
      rows[i + 1][0] = user_name (p->euid);
      rows[i + 1][1] = husk_strdup_printf ("%d", (int) p->pid);
      rows[i + 1][2] = husk_strdup_printf ("%d", (int) p->ppid);
      rows[i + 1][3] = husk_strdup_printf ("%llu", (unsigned long long) pcpu);
      format_stime ((time_t) (btime + started), now, buf, sizeof (buf));
      rows[i + 1][4] = husk_xstrdup (buf);
      husk_proc_tty_name (p->tty_nr, buf, sizeof (buf));
      rows[i + 1][5] = husk_xstrdup (buf);
      format_cputime (p->cpu_ticks / (uint64_t) hz, buf, sizeof (buf));
      rows[i + 1][6] = husk_xstrdup (buf);
      rows[i + 1][7] = husk_xstrdup (p->cmd);
    }
  /* docker's table: columns at least 20 wide with 3 spaces of padding; CMD as it is.  */
  for (size_t c = 0; c < NCOLS; c++)
    {
      width[c] = 20;
      for (size_t i = 0; i <= n; i++)
        if (strlen (rows[i][c]) + 3 > width[c])
          width[c] = strlen (rows[i][c]) + 3;
    }
  for (size_t i = 0; i <= n; i++)
    {
      for (size_t c = 0; c + 1 < NCOLS; c++)
        printf ("%-*s", (int) width[c], rows[i][c]);
      printf ("%s\n", rows[i][NCOLS - 1]);
      for (size_t c = 0; c < NCOLS; c++)
        free (rows[i][c]);
      free (rows[i]);
    }
  free (rows);
  husk_procs_free (procs, n);
  return 0;
}
