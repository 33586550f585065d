/* husk logs: print a container's output from its log file (engine/logread.h), and follow it
   while it runs.  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "commands.h"
#include "logfile.h"
#include "logread.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* ------------------------------------------------------------------ time arguments */

/* A Go duration ("300ms", "1.5h", "1h30m", "-10m"), in nanoseconds.  */
static int
parse_duration (const char *s, int64_t *ret_ns)
{
  static const struct
  {
    const char *unit;
    double ns;
  } units[] = { { "ns", 1 },     { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
                { "h", 3600e9 }, { "m", 60e9 }, { "s", 1e9 } };
  double sign = 1, total = 0;

  if (*s == '-' || *s == '+')
    sign = *s++ == '-' ? -1 : 1;
  if (*s == '\0')
    return -1;
  while (*s != '\0')
    {
      double v = 0, scale = 1;
      bool any = false;
      size_t k;
      for (; *s >= '0' && *s <= '9'; s++, any = true)
        v = v * 10 + (*s - '0');
      if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, any = true)
          v += (*s - '0') * (scale /= 10);
      if (!any)
        return -1;
      for (k = 0; k < sizeof (units) / sizeof (units[0]); k++)
        if (husk_str_has_prefix (s, units[k].unit))
          break;
      if (k == sizeof (units) / sizeof (units[0]))
        return -1;
      total += v * units[k].ns;
      s += strlen (units[k].unit);
    }
  if (!(total < 9e18))
    return -1;
  *ret_ns = (int64_t) (sign * total);
  return 0;
}

/* "SECONDS[.FRACTION]".  */
static int
parse_unix (const char *s, struct timespec *ret)
{
  uint64_t sec = 0;
  long nsec = 0;
  const char *p = s;

  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      if (sec > (uint64_t) INT64_MAX / 10 - 10)
        return -1;
      sec = sec * 10 + (uint64_t) (*p - '0');
    }
  if (*p == '.')
    {
      int n = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, n++)
        if (n < 9)
          nsec = nsec * 10 + (*p - '0');
      if (n == 0)
        return -1;
      for (; n < 9; n++)
        nsec *= 10;
    }
  if (*p != '\0')
    return -1;
  ret->tv_sec = (time_t) sec;
  ret->tv_nsec = nsec;
  return 0;
}

/* A time without a zone is local, as docker reads it: "2006-01-02T15:04:05[.FRACTION]",
   "2006-01-02T15:04", "2006-01-02".  */
static int
parse_local (const char *s, struct timespec *ret)
{
  static const char *const formats[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };

  for (size_t i = 0; i < sizeof (formats) / sizeof (formats[0]); i++)
    {
      struct tm tm = { 0 };
      struct timespec frac = { 0 };
      const char *end = strptime (s, formats[i], &tm);
      time_t t;
      if (end == NULL)
        continue;
      if (*end == '.' && i == 0)
        {
          cleanup_free char *f = husk_strdup_printf ("0%s", end);
          if (parse_unix (f, &frac) < 0)
            continue;
        }
      else if (*end != '\0')
        continue;
      tm.tm_isdst = -1;
      t = mktime (&tm);
      if (t == (time_t) -1)
        continue;
      ret->tv_sec = t;
      ret->tv_nsec = frac.tv_nsec;
      return 0;
    }
  return -1;
}

static int
parse_time (const char *flag, const char *s, const struct timespec *now, struct timespec *ret,
            struct husk_error **err)
{
  int64_t ns;

  if (parse_duration (s, &ns) == 0)
    {
      int64_t nsec = now->tv_nsec - ns % 1000000000;
      ret->tv_sec = now->tv_sec - (time_t) (ns / 1000000000) + (time_t) (nsec / 1000000000);
      nsec %= 1000000000;
      if (nsec < 0)
        {
          nsec += 1000000000;
          ret->tv_sec--;
        }
      ret->tv_nsec = (long) nsec;
      return 0;
    }
  if (parse_unix (s, ret) == 0 || husk_rfc3339_parse (s, ret) == 0 || parse_local (s, ret) == 0)
    return 0;
  return husk_cli_usage_error (err, "logs",
                               "%s \"%s\": not a time (RFC 3339, Unix seconds or a duration "
                               "such as 10m)",
                               flag, s);
}

/* ------------------------------------------------------------------ the command */

enum
{
  OPT_SINCE = 256,
  OPT_UNTIL,
};

static const struct husk_cli_option logs_options[] = {
  { "follow", 'f', HUSK_CLI_ARG_NONE, NULL, "keep printing new output until the container exits" },
  { "tail", 'n', HUSK_CLI_ARG_REQUIRED, "N",
    "only the last N lines (\"all\", the default, for every line)" },
  { "timestamps", 't', HUSK_CLI_ARG_NONE, NULL, "put the time of each line in front of it" },
  { "since", OPT_SINCE, HUSK_CLI_ARG_REQUIRED, "TIME", "only lines from TIME on" },
  { "until", OPT_UNTIL, HUSK_CLI_ARG_REQUIRED, "TIME", "only lines before TIME" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command logs_command = {
  "logs",
  "[OPTIONS] CONTAINER",
  "Print what a container wrote to its stdout and stderr, each to husk's own.",
  logs_options,
  "TIME is an RFC 3339 time (2024-01-02T15:04:05Z, or local time without a zone),\n"
  "Unix seconds (1704207845.5) or a duration before now (10m, 1h30m).",
  { 1, 1, "expects one container" },
};

int
husk_cmd_logs (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *c = NULL;
  struct husk_logs_opts o = { 0 };
  struct timespec now;
  int ch, first;

  clock_gettime (CLOCK_REALTIME, &now);
  optind = 1;
  while ((ch = husk_cli_next_option (&logs_command, argc, argv, err)) > 0)
    switch (ch)
      {
      case 'f':
        o.follow = true;
        break;
      case 't':
        o.timestamps = true;
        break;
      case 'n':
        if (strcmp (optarg, "all") == 0)
          o.has_tail = false;
        else if (husk_parse_u64 (optarg, INT64_MAX, &o.tail) == 0)
          o.has_tail = true;
        else
          return husk_cli_usage_error (err, "logs",
                                       "--tail \"%s\": not a number of lines or \"all\"", optarg);
        break;
      case OPT_SINCE:
        if (parse_time ("--since", optarg, &now, &o.since, err) < 0)
          return -1;
        o.has_since = true;
        break;
      case OPT_UNTIL:
        if (parse_time ("--until", optarg, &now, &o.until, err) < 0)
          return -1;
        o.has_until = true;
        break;
      }
  if ((first = husk_cli_operands (&logs_command, ch, argc, err)) <= 0)
    return first;

  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  if (husk_ctr_load (store, argv[first], &c, err) < 0)
    return -1;
  if (husk_logs_print (store, c, &o, err) < 0)
    return husk_error_wrap (err, "logs %s", argv[first]);
  return 0;
}
