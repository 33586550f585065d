/* Scope-bound cleanup for every resource kind; hand ownership out with TAKE_PTR / TAKE_FD.  */
#ifndef HUSK_CLEANUP_H
#define HUSK_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

static inline void
husk_freep (void *p)
{
  free (*(void **) p);
}

static inline void
husk_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
husk_closedirp (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
}

static inline void
husk_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
}

/* A child that is still owned when its scope ends is killed and reaped.  */
static inline void
husk_killpidp (pid_t *pid)
{
  if (*pid > 0)
    {
      int saved = errno;
      kill (*pid, SIGKILL);
      while (waitpid (*pid, NULL, 0) < 0 && errno == EINTR)
        ;
      errno = saved;
    }
}

static inline void
husk_errorp (struct husk_error **e)
{
  husk_error_free (e);
}

static inline void
husk_strvfreep (char ***v)
{
  if (*v != NULL)
    {
      for (char **p = *v; *p != NULL; p++)
        free (*p);
      free (*v);
    }
}

#define cleanup_free __attribute__ ((cleanup (husk_freep)))
#define cleanup_close __attribute__ ((cleanup (husk_closep)))
#define cleanup_dir __attribute__ ((cleanup (husk_closedirp)))
#define cleanup_file __attribute__ ((cleanup (husk_fclosep)))
#define cleanup_pid __attribute__ ((cleanup (husk_killpidp)))
#define cleanup_error __attribute__ ((cleanup (husk_errorp)))
#define cleanup_strv __attribute__ ((cleanup (husk_strvfreep)))

#define TAKE_PTR(p)                                                                                \
  ({                                                                                               \
    __typeof__ (p) _tp = (p);                                                                      \
    (p) = NULL;                                                                                    \
    _tp;                                                                                           \
  })

#define TAKE_FD(fd)                                                                                \
  ({                                                                                               \
    int _tfd = (fd);                                                                               \
    (fd) = -1;                                                                                     \
    _tfd;                                                                                          \
  })

#define TAKE_PID(p)                                                                                \
  ({                                                                                               \
    pid_t _tp = (p);                                                                               \
    (p) = 0;                                                                                       \
    _tp;                                                                                           \
  })

#endif
