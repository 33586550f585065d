/* husk: the error convention.
   Library functions return a negative value (or NULL) on failure and fill *ERR with an errno and
   an allocated message; callers add context as the error climbs; only main prints.  */
#ifndef HUSK_ERROR_H
#define HUSK_ERROR_H

#include <stdarg.h>

struct husk_error
{
  int errnum; /* 0 when the failure has no errno behind it.  */
  int status; /* Exit status the command should end with, 0 for the command's default.  */
  char *msg;
};

/* Set *ERR (which must be NULL) from a format; ERRNUM, when non-zero, is appended as strerror.
   Always returns -1, or -ERRNUM when ERRNUM is set, so "return husk_error_set (...)" reads well. */
int husk_error_set (struct husk_error **err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefix the message of *ERR with context: "context: old message".  Returns -1 or -errnum.  */
int husk_error_wrap (struct husk_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void husk_error_free (struct husk_error **err);

/* Exit status carried by *ERR (its status, or DEFAULT_STATUS).  */
int husk_error_status (const struct husk_error *err, int default_status);

#endif
