/* Signal names: one table for every place husk reads a signal (husk stop -s, husk kill -s,
   an image's StopSignal, a container record).  */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "signame.h"
#include "util.h"
#include "banned.h"

/* The names Linux gives the classic signals; aliases after the name husk prints.  The numbers
   come from <signal.h>, so they are right on every architecture.  */
static const struct
{
  const char *name;
  int sig;
} names[] = {
  { "HUP", SIGHUP },
  { "INT", SIGINT },
  { "QUIT", SIGQUIT },
  { "ILL", SIGILL },
  { "TRAP", SIGTRAP },
  { "ABRT", SIGABRT },
  { "BUS", SIGBUS },
  { "FPE", SIGFPE },
  { "KILL", SIGKILL },
  { "USR1", SIGUSR1 },
  { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },
  { "PIPE", SIGPIPE },
  { "ALRM", SIGALRM },
  { "TERM", SIGTERM },
#ifdef SIGSTKFLT
  { "STKFLT", SIGSTKFLT },
#endif
  { "CHLD", SIGCHLD },
  { "CONT", SIGCONT },
  { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },
  { "TTIN", SIGTTIN },
  { "TTOU", SIGTTOU },
  { "URG", SIGURG },
  { "XCPU", SIGXCPU },
  { "XFSZ", SIGXFSZ },
  { "VTALRM", SIGVTALRM },
  { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },
  { "IO", SIGIO },
  { "PWR", SIGPWR },
  { "SYS", SIGSYS },
  /* Aliases.  */
  { "IOT", SIGIOT },
  { "CLD", SIGCHLD },
  { "POLL", SIGPOLL },
};

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (NAME without "SIG", any case): the number, or -1.  */
static int
parse_realtime (const char *name)
{
  uint64_t n = 0;
  int base, sign;

  if (strncasecmp (name, "RTMIN", 5) == 0)
    base = HUSK_SIGRTMIN, sign = 1;
  else if (strncasecmp (name, "RTMAX", 5) == 0)
    base = HUSK_SIGRTMAX, sign = -1;
  else
    return -1;
  name += 5;
  if (*name != '\0')
    {
      if (*name != (sign > 0 ? '+' : '-'))
        return -1;
      if (husk_parse_u64 (name + 1, HUSK_SIGRTMAX - HUSK_SIGRTMIN, &n) < 0)
        return -1;
    }
  return base + sign * (int) n;
}

int
husk_signal_parse (const char *spec, struct husk_error **err)
{
  const char *name = spec;
  uint64_t v;
  int sig;

  if (spec == NULL || *spec == '\0')
    return husk_error_set (err, 0,
                           "signal \"\": empty (a name such as SIGTERM or SIGRTMIN+3, "
                           "or a number from 1 to 64)");
  if (husk_parse_u64 (spec, HUSK_SIGRTMAX, &v) == 0 && v >= 1)
    return (int) v;
  if (strspn (spec, "0123456789") == strlen (spec))
    return husk_error_set (err, 0, "signal \"%s\": out of range (signals are 1 to 64)", spec);
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strcasecmp (name, names[i].name) == 0)
      return names[i].sig;
  sig = parse_realtime (name);
  if (sig >= HUSK_SIGRTMIN && sig <= HUSK_SIGRTMAX)
    return sig;
  return husk_error_set (err, 0,
                         "signal \"%s\": unknown (a name such as SIGTERM or SIGRTMIN+3, or a "
                         "number from 1 to 64)",
                         spec);
}
