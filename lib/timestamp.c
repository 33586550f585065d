/* Times as husk writes them: see timestamp.h.  */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "timestamp.h"
#include "banned.h"

void
husk_now_rfc3339 (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  char base[32];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (base, sizeof (base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}
