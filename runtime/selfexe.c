#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "selfexe.h"
#include "util.h"
#include "banned.h"

/* Newer than the C library's headers on Debian 12; the kernel ignores nothing it does not
   know: an unknown flag is EINVAL, which is handled.  */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define SEALS_REQUIRED (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static char *sealed_from;

void
husk_self_exe_init (void)
{
  const char *p = getenv (HUSK_SELF_EXE_ENV);

  if (p && *p == '/')
    sealed_from = husk_xstrdup (p);
  unsetenv (HUSK_SELF_EXE_ENV);
}

char *
husk_self_exe_path (void)
{
  char buf[PATH_MAX];
  ssize_t n;

  if (sealed_from)
    return husk_xstrdup (sealed_from);
  n = readlink ("/proc/self/exe", buf, sizeof (buf) - 1);
  if (n <= 0 || (size_t) n >= sizeof (buf) - 1)
    {
      if (n >= 0)
        errno = ENAMETOOLONG;
      return NULL;
    }
  buf[n] = '\0';
  return husk_xstrdup (buf);
}

/* Whether FD is a memfd with every seal that keeps it from changing.  */
static bool
is_sealed (int fd)
{
  int seals = fcntl (fd, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS_REQUIRED) == SEALS_REQUIRED;
}

int
husk_self_exe_seal (char **argv, struct husk_error **err)
{
  cleanup_close int self = -1, mfd = -1;
  cleanup_free char *path = NULL;
  struct stat st;
  off_t off = 0;

  self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return husk_error_set (err, errno, "open husk's own binary (/proc/self/exe)");
  if (is_sealed (self))
    return 0;
  if (fstat (self, &st) < 0)
    return husk_error_set (err, errno, "stat husk's own binary");

  mfd = (int) syscall (SYS_memfd_create, "husk", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) /* Before Linux 6.3, which added MFD_EXEC.  */
    mfd = (int) syscall (SYS_memfd_create, "husk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return husk_error_set (err, errno, "copy husk's own binary: memfd_create");
  while (off < st.st_size)
    {
      ssize_t n = sendfile (mfd, self, NULL, (size_t) (st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return husk_error_set (err, n < 0 ? errno : EIO, "copy husk's own binary");
      off += n;
    }
  /* F_SEAL_EXEC (6.3) keeps the mode from changing; older kernels refuse the unknown seal.  */
  if (fcntl (mfd, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC) < 0
      && fcntl (mfd, F_ADD_SEALS, SEALS_REQUIRED) < 0)
    return husk_error_set (err, errno, "seal the copy of husk's own binary");

  path = husk_self_exe_path ();
  if (path)
    setenv (HUSK_SELF_EXE_ENV, path, 1);
  syscall (SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  unsetenv (HUSK_SELF_EXE_ENV);
  return husk_error_set (err, errno, "run the sealed copy of husk's own binary");
}
