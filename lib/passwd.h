#ifndef HUSK_PASSWD_H
#define HUSK_PASSWD_H

#include <sys/types.h>

/* The name and home directory of UID in FILE (NULL: /etc/passwd), each allocated (the home
   NULL when empty); either pointer may be NULL.  Returns 0, or -1 when UID is not listed or
   the file cannot be read (they are then untouched).  */
int husk_host_passwd (const char *file, uid_t uid, char **ret_name, char **ret_home);

#endif
