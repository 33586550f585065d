/* The host's /etc/passwd, read directly: husk is linked statically, and a static C library
   cannot load the NSS modules getpwuid needs without being the very version they were built
   for.  A user known only to NSS (LDAP, SSSD) is not found here: husk then matches its
   /etc/subuid and /etc/subgid entries by uid alone, and needs HOME set.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "passwd.h"
#include "util.h"
#include "banned.h"

int
husk_host_passwd (const char *file, uid_t uid, char **ret_name, char **ret_home)
{
  cleanup_file FILE *f = fopen (file ? file : "/etc/passwd", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;

  if (f == NULL)
    return -1;
  while (getline (&line, &cap, f) > 0)
    {
      /* name:password:uid:gid:gecos:home:shell  */
      char *field[7] = { line };
      size_t n = 1;
      uint64_t u;

      line[strcspn (line, "\n")] = '\0';
      for (char *p = line; *p && n < 7; p++)
        if (*p == ':')
          {
            *p = '\0';
            field[n++] = p + 1;
          }
      if (n < 6 || field[0][0] == '\0' || husk_parse_u64 (field[2], UINT32_MAX - 1, &u) < 0
          || (uid_t) u != uid)
        continue;
      if (ret_name)
        *ret_name = husk_xstrdup (field[0]);
      if (ret_home)
        *ret_home = field[5][0] ? husk_xstrdup (field[5]) : NULL;
      return 0;
    }
  return -1;
}
