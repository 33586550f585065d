#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

int
husk_error_set (struct husk_error **err, int errnum, const char *fmt, ...)
{
  struct husk_error *e;
  char *msg;
  va_list ap;

  if (err == NULL)
    return errnum ? -errnum : -1;

  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);

  if (msg != NULL && errnum != 0)
    {
      char *full = husk_strdup_printf ("%s: %s", msg, strerror (errnum));
      free (msg);
      msg = full;
    }

  e = calloc (1, sizeof (*e));
  if (e == NULL)
    abort ();
  e->errnum = errnum;
  e->msg = msg != NULL ? msg : strdup ("out of memory");
  if (*err != NULL)
    husk_error_free (err);
  *err = e;
  return errnum ? -errnum : -1;
}

int
husk_error_wrap (struct husk_error **err, const char *fmt, ...)
{
  char *ctx, *full;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;

  va_start (ap, fmt);
  ctx = vformat (fmt, ap);
  va_end (ap);
  if (ctx != NULL)
    {
      full = husk_strdup_printf ("%s: %s", ctx, (*err)->msg);
      free (ctx);
      free ((*err)->msg);
      (*err)->msg = full;
    }
  return (*err)->errnum ? -(*err)->errnum : -1;
}

void
husk_error_free (struct husk_error **err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

int
husk_error_status (const struct husk_error *err, int default_status)
{
  if (err != NULL && err->status != 0)
    return err->status;
  return default_status;
}
