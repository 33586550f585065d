/* The attach protocol: see attach.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "util.h"
#include "banned.h"

int
husk_attach_send (int fd, int type, const void *buf, size_t len)
{
  unsigned char hdr[8] = { (unsigned char) type,
                           0,
                           0,
                           0,
                           (unsigned char) (len >> 24),
                           (unsigned char) (len >> 16),
                           (unsigned char) (len >> 8),
                           (unsigned char) len };
  struct iovec iov[2] = { { hdr, sizeof (hdr) }, { (void *) buf, len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
  size_t total = sizeof (hdr) + len, done = 0;

  while (done < total)
    {
      ssize_t n = sendmsg (fd, &msg, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      done += (size_t) n;
      /* Move the iovecs on past what was sent.  */
      while (n > 0 && msg.msg_iovlen > 0)
        {
          if ((size_t) n >= msg.msg_iov[0].iov_len)
            {
              n -= (ssize_t) msg.msg_iov[0].iov_len;
              msg.msg_iov++;
              msg.msg_iovlen--;
            }
          else
            {
              msg.msg_iov[0].iov_base = (char *) msg.msg_iov[0].iov_base + n;
              msg.msg_iov[0].iov_len -= (size_t) n;
              n = 0;
            }
        }
    }
  return 0;
}

int
husk_attach_recv (int fd, int *ret_type, char *buf, size_t *ret_len)
{
  unsigned char hdr[8];
  ssize_t n = husk_read_all (fd, hdr, sizeof (hdr));
  size_t len;

  if (n == 0)
    return 0;
  if (n != (ssize_t) sizeof (hdr))
    return -1;
  len = ((size_t) hdr[4] << 24) | ((size_t) hdr[5] << 16) | ((size_t) hdr[6] << 8) | hdr[7];
  if (len > HUSK_ATTACH_MAX_FRAME)
    return -1;
  if (len && husk_read_all (fd, buf, len) != (ssize_t) len)
    return -1;
  *ret_type = hdr[0];
  *ret_len = len;
  return 1;
}

int
husk_unix_address (const char *path, struct sockaddr_un *sa, int *ret_dirfd,
                   struct husk_error **err)
{
  const char *slash = strrchr (path, '/');
  cleanup_free char *dir = NULL;
  int dfd;

  memset (sa, 0, sizeof (*sa));
  sa->sun_family = AF_UNIX;
  *ret_dirfd = -1;
  if (strlen (path) < sizeof (sa->sun_path))
    {
      memcpy (sa->sun_path, path, strlen (path) + 1);
      return 0;
    }
  /* Longer than a socket address holds: name it through a descriptor of its directory.  */
  if (slash == NULL || strlen (slash) > sizeof (sa->sun_path) - 32)
    return husk_error_set (err, 0, "socket \"%s\": path too long", path);
  dir = husk_strdup_printf ("%.*s", (int) (slash - path), path);
  dfd = open (*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return husk_error_set (err, errno, "socket \"%s\": open its directory", path);
  snprintf (sa->sun_path, sizeof (sa->sun_path), "/proc/self/fd/%d%s", dfd, slash);
  *ret_dirfd = dfd;
  return 0;
}

int
husk_attach_connect (const char *sockpath, unsigned flags, int *ret_fd, struct husk_error **err)
{
  struct sockaddr_un sa;
  cleanup_close int fd = -1, dirfd = -1;
  unsigned char hello[4] = { (unsigned char) (flags >> 24), (unsigned char) (flags >> 16),
                             (unsigned char) (flags >> 8), (unsigned char) flags };

  if (husk_unix_address (sockpath, &sa, &dirfd, err) < 0)
    return -1;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return husk_error_set (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    return husk_error_set (err, errno, "connect to the container's monitor");
  if (husk_attach_send (fd, HUSK_ATTACH_HELLO, hello, sizeof (hello)) < 0)
    return husk_error_set (err, errno, "talk to the container's monitor");
  *ret_fd = TAKE_FD (fd);
  return 0;
}

static void
send_winsize (int fd)
{
  struct winsize ws;
  unsigned char b[4];

  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
    return;
  b[0] = (unsigned char) (ws.ws_row >> 8);
  b[1] = (unsigned char) ws.ws_row;
  b[2] = (unsigned char) (ws.ws_col >> 8);
  b[3] = (unsigned char) ws.ws_col;
  husk_attach_send (fd, HUSK_ATTACH_RESIZE, b, sizeof (b));
}

int
husk_attach_relay (int fd, bool tty, bool send_stdin, int *ret_status, struct husk_error **err)
{
  struct termios saved, raw;
  bool restore = false, in_open = send_stdin;
  sigset_t winch, oldmask;
  cleanup_close int sfd = -1;
  cleanup_free char *buf = husk_xmalloc (HUSK_ATTACH_MAX_FRAME);
  int r = -1;

  if (tty && isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      raw = saved;
      cfmakeraw (&raw);
      if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) == 0)
        restore = true;
    }
  sigemptyset (&winch);
  sigaddset (&winch, SIGWINCH);
  sigprocmask (SIG_BLOCK, &winch, &oldmask);
  sfd = signalfd (-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
  if (tty)
    send_winsize (fd);

  for (;;)
    {
      struct pollfd p[3] = { { .fd = fd, .events = POLLIN },
                             { .fd = tty ? sfd : -1, .events = POLLIN },
                             { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
      int type;
      size_t len;
      ssize_t n;

      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          husk_error_set (err, errno, "attach: poll");
          break;
        }
      if (p[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) > 0)
            ;
          send_winsize (fd);
        }
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = read (STDIN_FILENO, buf, HUSK_ATTACH_MAX_FRAME);
          if (n > 0)
            husk_attach_send (fd, HUSK_ATTACH_STDIN, buf, (size_t) n);
          else if (n == 0 || errno != EINTR)
            {
              husk_attach_send (fd, HUSK_ATTACH_CLOSE_STDIN, NULL, 0);
              in_open = false;
            }
        }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          int k = husk_attach_recv (fd, &type, buf, &len);
          if (k <= 0)
            {
              husk_error_set (err, 0, "lost the connection to the container's monitor");
              break;
            }
          if (type == HUSK_ATTACH_STDOUT || type == HUSK_ATTACH_STDERR)
            {
              fflush (NULL);
              husk_write_all (type == HUSK_ATTACH_STDOUT ? STDOUT_FILENO : STDERR_FILENO, buf, len);
            }
          else if (type == HUSK_ATTACH_EXIT && len == 4)
            {
              unsigned char *b = (unsigned char *) buf;
              *ret_status = (int) (((unsigned) b[0] << 24) | ((unsigned) b[1] << 16)
                                   | ((unsigned) b[2] << 8) | b[3]);
              r = 0;
              break;
            }
        }
    }
  if (restore)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &saved);
  sigprocmask (SIG_SETMASK, &oldmask, NULL);
  return r;
}
