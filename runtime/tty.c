#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "tty.h"
#include "util.h"
#include "banned.h"

static int
send_fd (int sock, int fd)
{
  char byte = 't';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof (u.buf)
  };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);

  memset (&u, 0, sizeof (u));
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof (int));
  return sendmsg (sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int
tty_child (int sock, bool console, struct husk_error **err)
{
  cleanup_close int master = -1, slave = -1;
  char name[64];
  int fd;

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return husk_error_set (err, errno, "tty: open \"/dev/ptmx\"");
  if (unlockpt (master) < 0 || ptsname_r (master, name, sizeof (name)) != 0)
    return husk_error_set (err, errno, "tty: unlock the pseudo-terminal");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return husk_error_set (err, errno, "tty: open \"%s\"", name);
  if (console)
    {
      /* By descriptors, the pty's and the file's, not by names: nothing the container could
         have placed at /dev/pts/N or /dev/console (a volume there, a symlink into /proc) is
         followed, and the terminal lands on the file checked here (CVE-2025-52565).  */
      cleanup_close int cons = -1, tree = -1;
      struct stat st;

      fd = open ("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
      if (fd < 0)
        return husk_error_set (err, errno, "tty: create \"/dev/console\"");
      close (fd);
      cons = open ("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (cons < 0 || fstat (cons, &st) < 0)
        return husk_error_set (err, errno, "tty: open \"/dev/console\"");
      if (!S_ISREG (st.st_mode))
        return husk_error_set (err, 0, "tty: \"/dev/console\": not the file husk made");
      tree = (int) open_tree (slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
      if (tree < 0
          || move_mount (tree, "", cons, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return husk_error_set (err, errno, "tty: bind \"%s\" on \"/dev/console\"", name);
    }
  /* The caller's window size, set before the command can ask for it (stty size right at the
     start saw 0 rows on a busy machine when only the relay set it, after exec): read from the
     stdin or stdout this process still shares with husk (its caller's terminal, when it has
     one), before they are replaced below.  The relay follows later changes (SIGWINCH).  */
  {
    struct winsize ws;
    if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
      ioctl (slave, TIOCSWINSZ, &ws);
  }
  if (send_fd (sock, master) < 0)
    return husk_error_set (err, errno, "tty: send the terminal to husk");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return husk_error_set (err, errno, "tty: make \"%s\" the controlling terminal", name);
  for (int i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      return husk_error_set (err, errno, "tty: dup2");
  return 0;
}

int
husk_tty_child (int sock, struct husk_error **err)
{
  return tty_child (sock, true, err);
}

int
husk_tty_child_exec (int sock, struct husk_error **err)
{
  return tty_child (sock, false, err);
}

int
husk_tty_receive (int sock, int *ret_master, struct husk_error **err)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof (u.buf)
  };
  struct cmsghdr *c;
  ssize_t n;
  int fd;

  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return husk_error_set (err, errno, "tty: receive the terminal");
  c = CMSG_FIRSTHDR (&msg);
  if (n == 0 || c == NULL || c->cmsg_type != SCM_RIGHTS)
    return husk_error_set (err, 0, "tty: the container sent no terminal");
  memcpy (&fd, CMSG_DATA (c), sizeof (int));
  *ret_master = fd;
  return 0;
}

static void
copy_winsize (int master)
{
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

int
husk_tty_relay (int master, bool interactive, struct husk_error **err)
{
  struct termios saved, raw;
  bool restore = false, in_open = interactive, out_open = true;
  struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe;
  sigset_t winch, oldmask;
  cleanup_close int sfd = -1;
  char buf[16384];
  int r = 0;

  if (isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      raw = saved;
      cfmakeraw (&raw);
      /* Output processing stays on: the container's terminal already turned \n into \r\n.  */
      if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) == 0)
        restore = true;
    }
  sigaction (SIGPIPE, &ign, &oldpipe);
  sigemptyset (&winch);
  sigaddset (&winch, SIGWINCH);
  sigprocmask (SIG_BLOCK, &winch, &oldmask);
  sfd = signalfd (-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
  copy_winsize (master);

  for (;;)
    {
      struct pollfd p[3] = { { .fd = master, .events = POLLIN },
                             { .fd = sfd, .events = POLLIN },
                             { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
      ssize_t n;

      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          r = husk_error_set (err, errno, "tty: poll");
          break;
        }
      if (p[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) > 0)
            ;
          copy_winsize (master);
        }
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = read (STDIN_FILENO, buf, sizeof (buf));
          if (n > 0)
            husk_write_all (master, buf, (size_t) n);
          else if (n == 0 || errno != EINTR)
            {
              struct termios t;
              char eof = 4;
              if (tcgetattr (master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
                eof = (char) t.c_cc[VEOF];
              husk_write_all (master, &eof, 1);
              in_open = false;
            }
        }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = read (master, buf, sizeof (buf));
          if (n > 0)
            {
              /* With the caller's output gone, keep draining so the container never blocks
                 on a full terminal.  */
              if (out_open && husk_write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
                out_open = false;
              continue;
            }
          if (n < 0 && errno == EINTR)
            continue;
          break; /* EIO: every copy of the container's side is closed.  */
        }
    }
  if (restore)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &saved);
  sigprocmask (SIG_SETMASK, &oldmask, NULL);
  sigaction (SIGPIPE, &oldpipe, NULL);
  return r;
}
