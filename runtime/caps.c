#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"
#include "banned.h"

#define BIT(c) (UINT64_C (1) << (c))

uint64_t
husk_caps_default (void)
{
  return BIT (CAP_CHOWN) | BIT (CAP_DAC_OVERRIDE) | BIT (CAP_FSETID) | BIT (CAP_FOWNER)
         | BIT (CAP_MKNOD) | BIT (CAP_NET_RAW) | BIT (CAP_SETGID) | BIT (CAP_SETUID)
         | BIT (CAP_SETFCAP) | BIT (CAP_SETPCAP) | BIT (CAP_NET_BIND_SERVICE) | BIT (CAP_SYS_CHROOT)
         | BIT (CAP_KILL) | BIT (CAP_AUDIT_WRITE);
}

static unsigned
last_cap (void)
{
  static unsigned last;
  if (last == 0)
    {
      int n = cap_max_bits ();
      last = n > 0 && n <= 64 ? (unsigned) n - 1 : CAP_LAST_CAP;
    }
  return last;
}

uint64_t
husk_caps_all (void)
{
  unsigned last = last_cap ();
  return last >= 63 ? UINT64_MAX : BIT (last + 1) - 1;
}

int
husk_caps_parse (const char *name, uint64_t *ret_mask, struct husk_error **err)
{
  char lower[64];
  size_t i = 0;
  cap_value_t v;

  if (strcasecmp (name, "ALL") == 0)
    {
      *ret_mask = husk_caps_all ();
      return 0;
    }
  if (strncasecmp (name, "cap_", 4) != 0)
    i = (size_t) snprintf (lower, sizeof (lower), "cap_");
  for (const char *p = name; *p && i < sizeof (lower) - 1; p++)
    lower[i++] = (char) tolower ((unsigned char) *p);
  lower[i] = '\0';
  if (*name == '\0' || strlen (name) > 40 || cap_from_name (lower, &v) < 0 || v < 0
      || (unsigned) v > last_cap ())
    return husk_error_set (err, 0, "capability \"%s\": unknown", name);
  *ret_mask = BIT (v);
  return 0;
}

int
husk_caps_bound (uint64_t caps, struct husk_error **err)
{
  for (unsigned c = 0; c <= last_cap (); c++)
    if (!(caps & BIT (c)) && cap_drop_bound ((cap_value_t) c) < 0 && errno != EINVAL)
      return husk_error_set (err, errno, "drop capability %u from the bounding set", c);
  return 0;
}

int
husk_caps_set (uint64_t caps, bool root, struct husk_error **err)
{
  cap_t c = cap_init (); /* All clear.  */
  cap_t cur = cap_get_proc ();
  int r = 0;

  if (c == NULL || cur == NULL)
    {
      if (c)
        cap_free (c);
      if (cur)
        cap_free (cur);
      return husk_error_set (err, errno, "capabilities");
    }
  if (root)
    for (unsigned v = 0; v <= last_cap (); v++)
      if (caps & BIT (v))
        {
          cap_value_t cv = (cap_value_t) v;
          cap_flag_value_t have = CAP_CLEAR;
          /* ALL means all that husk itself holds (a confined root may lack some).  */
          if (cap_get_flag (cur, cv, CAP_PERMITTED, &have) < 0 || have != CAP_SET)
            continue;
          if (cap_set_flag (c, CAP_EFFECTIVE, 1, &cv, CAP_SET) < 0
              || cap_set_flag (c, CAP_PERMITTED, 1, &cv, CAP_SET) < 0)
            r = -1;
        }
  if (r == 0 && cap_set_proc (c) < 0)
    r = -1;
  cap_free (c);
  cap_free (cur);
  if (r < 0)
    return husk_error_set (err, errno, "set capabilities");
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return husk_error_set (err, errno, "clear ambient capabilities");
  return 0;
}
