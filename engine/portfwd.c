/* The port forwarder of a container on a user network (portfwd.h).  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "portfwd.h"
#include "util.h"
#include "proc.h"
#include "banned.h"

/* A UDP flow with no datagram either way for this long is dropped, its socket closed: UDP
   has no end, so idleness is the only sign that a client is done.  */
#define UDP_IDLE_MS (60 * 1000)
/* At most this many UDP flows (a socket each); a new client beyond it takes the place of the
   least recently used.  */
#define UDP_MAX_FLOWS 4096
#define UDP_BUCKETS 1024
/* What one read of a TCP connection takes, and the least a pipe must hold to be spliced
   through (the kernel's default size: a user past fs.pipe-user-pages-soft gets pipes of two
   pages, which splice 8 KiB at a time).  */
#define TCP_CHUNK (64 * 1024)
/* Reads one connection may do before the others get their turn (it goes on the loop's list
   of connections to carry on with: with edge-triggered events, no new event would come).  */
#define TCP_BUDGET 16
/* 1: never splice (the unit test builds the read and write path this way too).  */
#ifndef PORTFWD_NO_SPLICE
#define PORTFWD_NO_SPLICE 0
#endif

enum kind
{
  K_TCP_LISTEN,
  K_UDP_LISTEN,
  K_TCP,
  K_UDP_FLOW,
  K_SIGNAL,
};

/* The head of everything epoll's data points at.  An object closed while events for it may
   still be in the batch being handled is marked dead and freed after the batch.  */
struct obj
{
  int kind;
  bool dead;
  struct obj *next_dead;
};

struct listener
{
  struct obj hdr;
  int fd;
  int family;
  uint16_t ctr_port;
  bool wildcard; /* Bound to every address: UDP replies go out from the client's destination.  */
};

/* One direction of a TCP connection.  Spliced: PIPE holds LEN bytes on their way, and is
   only refilled once empty (so a splice's EAGAIN is always the socket's, never the pipe's).
   Else (PIPE[0] -1): BUF holds, from OFF, the LEN bytes the destination could not take yet
   (up to TCP_CHUNK; allocated the first time).  Then the end of its source, and whether that
   end was passed on.  */
struct tcp_dir
{
  int pipe[2];
  char *buf;
  size_t off, len;
  bool eof;  /* The source has ended.  */
  bool shut; /* ... and the destination has been told (SHUT_WR).  */
};

/* A TCP connection: FD[0] the client's, accepted on the host side, FD[1] the one to the
   container.  Direction D copies FD[D] to FD[!D].  epoll's data for FD[1] is the pointer with
   its low bit set.  */
struct tcp_conn
{
  struct obj hdr;
  int fd[2];
  struct tcp_dir dir[2];
  bool connected;
  bool again; /* On the list of connections to carry on with.  */
  struct tcp_conn *next_again;
};

/* A UDP client of a listener: its address, the container-side socket connected to the
   container's port, and the address the client sent to (for replies from a wildcard
   listener).  */
struct udp_flow
{
  struct obj hdr;
  int fd;
  struct listener *l;
  struct sockaddr_storage client;
  socklen_t client_len;
  union
  {
    struct in_pktinfo v4;
    struct in6_pktinfo v6;
  } local;
  bool has_local;
  uint64_t last; /* Monotonic milliseconds of its last datagram.  */
  struct udp_flow *hnext, *hprev;
  struct udp_flow *older, *newer; /* The flows by last use: OLDEST first.  */
};

/* The forwarder's state: it is a process of its own, so these are its globals.  */
static int epfd = -1, reserve_fd = -1;
static struct sockaddr_storage ctr;
static socklen_t ctr_len;
static struct obj *graveyard;
static struct udp_flow *buckets[UDP_BUCKETS];
static struct udp_flow *oldest, *newest;
static size_t n_flows;
static unsigned char udp_buf[65536];
static char tcp_buf[TCP_CHUNK];
static struct tcp_conn *again;

static uint64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
bury (struct obj *o)
{
  o->dead = true;
  o->next_dead = graveyard;
  graveyard = o;
}

static void
set_port (struct sockaddr_storage *ss, uint16_t port)
{
  if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *) ss)->sin6_port = htons (port);
  else
    ((struct sockaddr_in *) ss)->sin_port = htons (port);
}

/* TCP */

/* Close C; RESET_CLIENT: with a reset, so a client whose container refused sees it.  */
static void
tcp_close (struct tcp_conn *c, bool reset_client)
{
  if (reset_client)
    {
      struct linger lg = { .l_onoff = 1, .l_linger = 0 };
      setsockopt (c->fd[0], SOL_SOCKET, SO_LINGER, &lg, sizeof (lg));
    }
  for (int d = 0; d < 2; d++)
    {
      if (c->fd[d] >= 0)
        close (c->fd[d]);
      for (int e = 0; e < 2; e++)
        if (c->dir[d].pipe[e] >= 0)
          close (c->dir[d].pipe[e]);
      free (c->dir[d].buf);
    }
  bury (&c->hdr);
}

/* Copy what direction D has until a socket would block, or the budget is spent (*BUDGET
   reads); pass an end on as SHUT_WR once everything before it is out.  -1 when the
   connection failed.  */
static int
tcp_pump (struct tcp_conn *c, int d, int *budget)
{
  struct tcp_dir *t = &c->dir[d];
  int src = c->fd[d], dst = c->fd[!d];

  for (;;)
    {
      ssize_t r, w;
      if (t->len > 0)
        {
          if (t->pipe[0] >= 0)
            w = splice (t->pipe[0], NULL, dst, NULL, t->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          else
            w = send (dst, t->buf + t->off, t->len, MSG_NOSIGNAL);
          if (w < 0)
            {
              if (errno == EINTR)
                continue;
              return errno == EAGAIN ? 0 : -1;
            }
          t->off += (size_t) w;
          t->len -= (size_t) w;
          continue;
        }
      if (t->eof)
        {
          if (!t->shut)
            {
              shutdown (dst, SHUT_WR);
              t->shut = true;
            }
          return 0;
        }
      if (*budget <= 0)
        return 0;
      (*budget)--;
      if (t->pipe[0] >= 0)
        {
          r = splice (src, NULL, t->pipe[1], NULL, TCP_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (r < 0)
            {
              if (errno == EINTR)
                continue;
              return errno == EAGAIN ? 0 : -1;
            }
          t->eof = r == 0;
          t->off = 0;
          t->len = (size_t) r;
          continue;
        }
      r = recv (src, tcp_buf, sizeof (tcp_buf), 0);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return errno == EAGAIN ? 0 : -1;
        }
      if (r == 0)
        {
          t->eof = true;
          continue;
        }
      w = send (dst, tcp_buf, (size_t) r, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
      if (w < r)
        {
          /* The destination is full: the rest waits here, and the source is read again once
             it is out (the destination's EPOLLOUT).  */
          w = w < 0 ? 0 : w;
          if (t->buf == NULL && (t->buf = malloc (TCP_CHUNK)) == NULL)
            return -1;
          memcpy (t->buf, tcp_buf + w, (size_t) (r - w));
          t->off = 0;
          t->len = (size_t) (r - w);
        }
    }
}

static void
tcp_event (struct tcp_conn *c, int side)
{
  int budget = TCP_BUDGET;

  if (!c->connected)
    {
      int soerr = 0;
      socklen_t len = sizeof (soerr);
      /* Until the container's side is connected, the client's events wait: what it sent
         stays in its socket and is read once the connection is there.  */
      if (side == 0)
        return;
      if (getsockopt (c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
      if (soerr == EINPROGRESS || soerr == EALREADY)
        return;
      if (soerr != 0)
        {
          tcp_close (c, true);
          return;
        }
      c->connected = true;
    }
  if (tcp_pump (c, 0, &budget) < 0 || tcp_pump (c, 1, &budget) < 0)
    {
      tcp_close (c, false);
      return;
    }
  if (c->dir[0].shut && c->dir[1].shut)
    tcp_close (c, false);
  else if (budget <= 0 && !c->again)
    {
      c->again = true;
      c->next_again = again;
      again = c;
    }
}

static int
epoll_add (int fd, uint32_t events, void *ptr)
{
  struct epoll_event ev = { .events = events, .data.ptr = ptr };
  return epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Connect a new client CFD to the container's port of L.  */
static void
tcp_start (struct listener *l, int cfd)
{
  struct sockaddr_storage to = ctr;
  struct tcp_conn *c = calloc (1, sizeof (*c));
  int one = 1, r;
  const uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

  if (c == NULL)
    {
      close (cfd);
      return;
    }
  c->hdr.kind = K_TCP;
  c->fd[0] = cfd;
  c->dir[0].pipe[0] = c->dir[0].pipe[1] = c->dir[1].pipe[0] = c->dir[1].pipe[1] = -1;
  c->fd[1] = socket (ctr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd[1] < 0)
    {
      tcp_close (c, true);
      return;
    }
  /* Spliced through a pipe each way when pipes of the full size can be had: the forwarder
     then spends about a fifth less CPU than with reads and writes, over a veth pair as
     within one namespace.  Else, out of descriptors or of pipe pages, reads and writes.  */
  for (int d = 0; d < 2 && !PORTFWD_NO_SPLICE; d++)
    if (pipe2 (c->dir[d].pipe, O_NONBLOCK | O_CLOEXEC) == 0
        && fcntl (c->dir[d].pipe[0], F_GETPIPE_SZ) < TCP_CHUNK)
      {
        close (c->dir[d].pipe[0]);
        close (c->dir[d].pipe[1]);
        c->dir[d].pipe[0] = c->dir[d].pipe[1] = -1;
      }
  /* A relay adds no delay of its own: small writes go out as they come, as the two ends
     wrote them.  */
  setsockopt (c->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  setsockopt (c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  set_port (&to, l->ctr_port);
  r = connect (c->fd[1], (struct sockaddr *) &to, ctr_len);
  if (r < 0 && errno != EINPROGRESS)
    {
      tcp_close (c, true);
      return;
    }
  c->connected = r == 0;
  if (epoll_add (c->fd[0], ev, c) < 0 || epoll_add (c->fd[1], ev, (char *) c + 1) < 0)
    {
      tcp_close (c, true);
      return;
    }
  if (c->connected)
    tcp_event (c, 1);
}

static void
tcp_accept (struct listener *l)
{
  for (;;)
    {
      int cfd = accept4 (l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (cfd >= 0)
        {
          tcp_start (l, cfd);
          continue;
        }
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd >= 0)
        {
          /* Out of descriptors: the spare one makes room to take the connection off the
             queue and close it, rather than leave it there to wake the loop forever.  */
          close (reserve_fd);
          cfd = accept4 (l->fd, NULL, NULL, SOCK_CLOEXEC);
          if (cfd >= 0)
            close (cfd);
          reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
          if (cfd >= 0)
            continue;
        }
      return;
    }
}

/* UDP */

static size_t
flow_hash (const struct listener *l, const struct sockaddr_storage *a)
{
  uint64_t h = 1469598103934665603ULL ^ (uint64_t) (uintptr_t) l;
  const unsigned char *p;
  size_t len;

  if (a->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) a;
      p = (const unsigned char *) &s->sin6_addr;
      len = sizeof (s->sin6_addr);
      h = (h ^ s->sin6_port) * 1099511628211ULL;
    }
  else
    {
      const struct sockaddr_in *s = (const struct sockaddr_in *) a;
      p = (const unsigned char *) &s->sin_addr;
      len = sizeof (s->sin_addr);
      h = (h ^ s->sin_port) * 1099511628211ULL;
    }
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  return (size_t) (h % UDP_BUCKETS);
}

static bool
same_addr (const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
  if (a->ss_family != b->ss_family)
    return false;
  if (a->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
      return x->sin6_port == y->sin6_port
             && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof (x->sin6_addr)) == 0
             && x->sin6_scope_id == y->sin6_scope_id;
    }
  const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static void
flow_unlink_lru (struct udp_flow *f)
{
  if (f->older)
    f->older->newer = f->newer;
  else
    oldest = f->newer;
  if (f->newer)
    f->newer->older = f->older;
  else
    newest = f->older;
  f->older = f->newer = NULL;
}

static void
flow_touch (struct udp_flow *f, uint64_t now)
{
  f->last = now;
  if (newest == f)
    return;
  flow_unlink_lru (f);
  f->older = newest;
  if (newest)
    newest->newer = f;
  else
    oldest = f;
  newest = f;
}

static void
flow_drop (struct udp_flow *f)
{
  flow_unlink_lru (f);
  if (f->hprev)
    f->hprev->hnext = f->hnext;
  else
    buckets[flow_hash (f->l, &f->client)] = f->hnext;
  if (f->hnext)
    f->hnext->hprev = f->hprev;
  close (f->fd);
  n_flows--;
  bury (&f->hdr);
}

static struct udp_flow *
flow_new (struct listener *l, const struct sockaddr_storage *from, socklen_t from_len)
{
  struct sockaddr_storage to = ctr;
  struct udp_flow *f;
  size_t h;

  if (n_flows >= UDP_MAX_FLOWS && oldest)
    flow_drop (oldest);
  f = calloc (1, sizeof (*f));
  if (f == NULL)
    return NULL;
  f->hdr.kind = K_UDP_FLOW;
  f->l = l;
  memcpy (&f->client, from, from_len);
  f->client_len = from_len;
  set_port (&to, l->ctr_port);
  f->fd = socket (ctr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (f->fd < 0 || connect (f->fd, (struct sockaddr *) &to, ctr_len) < 0
      || epoll_add (f->fd, EPOLLIN, f) < 0)
    {
      if (f->fd >= 0)
        close (f->fd);
      free (f);
      return NULL;
    }
  h = flow_hash (l, from);
  f->hnext = buckets[h];
  if (f->hnext)
    f->hnext->hprev = f;
  buckets[h] = f;
  n_flows++;
  return f;
}

static struct udp_flow *
flow_find (const struct listener *l, const struct sockaddr_storage *from)
{
  for (struct udp_flow *f = buckets[flow_hash (l, from)]; f; f = f->hnext)
    if (f->l == l && same_addr (&f->client, from))
      return f;
  return NULL;
}

/* Datagrams from clients, each to the client's flow (made on its first).  */
static void
udp_listener_read (struct listener *l)
{
  for (;;)
    {
      struct sockaddr_storage from;
      struct iovec iov = { .iov_base = udp_buf, .iov_len = sizeof (udp_buf) };
      union
      {
        char buf[CMSG_SPACE (sizeof (struct in6_pktinfo))];
        struct cmsghdr align;
      } cbuf;
      struct msghdr m = { .msg_name = &from,
                          .msg_namelen = sizeof (from),
                          .msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = cbuf.buf,
                          .msg_controllen = sizeof (cbuf.buf) };
      struct udp_flow *f;
      ssize_t n = recvmsg (l->fd, &m, 0);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      f = flow_find (l, &from);
      if (f == NULL)
        f = flow_new (l, &from, m.msg_namelen);
      if (f == NULL)
        continue;
      for (struct cmsghdr *cm = CMSG_FIRSTHDR (&m); cm; cm = CMSG_NXTHDR (&m, cm))
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO)
          {
            memcpy (&f->local.v4, CMSG_DATA (cm), sizeof (f->local.v4));
            f->has_local = true;
          }
        else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO)
          {
            memcpy (&f->local.v6, CMSG_DATA (cm), sizeof (f->local.v6));
            f->has_local = true;
          }
      /* A refusal the container's side reported (an ICMP error) fails this send once; the
         datagram is lost, as it would be on the wire.  */
      while (send (f->fd, udp_buf, (size_t) n, 0) < 0 && errno == EINTR)
        ;
      flow_touch (f, now_ms ());
    }
}

/* The container's replies to F's client, from the listener (and the address the client
   sent to).  */
static void
udp_flow_read (struct udp_flow *f)
{
  for (;;)
    {
      union
      {
        char buf[CMSG_SPACE (sizeof (struct in6_pktinfo))];
        struct cmsghdr align;
      } cbuf;
      struct iovec iov = { .iov_base = udp_buf };
      struct msghdr m = {
        .msg_name = &f->client, .msg_namelen = f->client_len, .msg_iov = &iov, .msg_iovlen = 1
      };
      ssize_t n = recv (f->fd, udp_buf, sizeof (udp_buf), 0);

      if (n < 0)
        {
          if (errno == EINTR || errno == ECONNREFUSED)
            continue;
          return;
        }
      iov.iov_len = (size_t) n;
      if (f->l->wildcard && f->has_local)
        {
          struct cmsghdr *cm;
          memset (&cbuf, 0, sizeof (cbuf));
          m.msg_control = cbuf.buf;
          cm = (struct cmsghdr *) cbuf.buf;
          if (f->l->family == AF_INET6)
            {
              struct in6_pktinfo pi = { .ipi6_addr = f->local.v6.ipi6_addr };
              /* A link-local address means something only on its own link.  */
              if (IN6_IS_ADDR_LINKLOCAL (&pi.ipi6_addr))
                pi.ipi6_ifindex = f->local.v6.ipi6_ifindex;
              cm->cmsg_level = IPPROTO_IPV6;
              cm->cmsg_type = IPV6_PKTINFO;
              cm->cmsg_len = CMSG_LEN (sizeof (pi));
              memcpy (CMSG_DATA (cm), &pi, sizeof (pi));
              m.msg_controllen = CMSG_SPACE (sizeof (pi));
            }
          else
            {
              /* The kernel's own choice of local address for the datagram that came in:
                 its destination, or the interface's address when that was a broadcast.  */
              struct in_pktinfo pi = { .ipi_spec_dst = f->local.v4.ipi_spec_dst };
              cm->cmsg_level = IPPROTO_IP;
              cm->cmsg_type = IP_PKTINFO;
              cm->cmsg_len = CMSG_LEN (sizeof (pi));
              memcpy (CMSG_DATA (cm), &pi, sizeof (pi));
              m.msg_controllen = CMSG_SPACE (sizeof (pi));
            }
        }
      while (sendmsg (f->l->fd, &m, 0) < 0 && errno == EINTR)
        ;
      flow_touch (f, now_ms ());
    }
}

/* The process */

/* Report failure ERRNUM and MSG to the caller, and end.  */
static void __attribute__ ((noreturn)) child_fail (int report, int errnum, const char *msg)
{
  char buf[256];
  int len = snprintf (buf, sizeof (buf), "1%d %s", errnum, msg);
  if (len > 0
      && write (report, buf, (size_t) len < sizeof (buf) ? (size_t) len : sizeof (buf) - 1) < 0)
    _exit (1);
  _exit (1);
}

static void __attribute__ ((noreturn))
forwarder (struct listener *ls, size_t nls, int *keep, int netns_fd, int userns_fd, int report,
           pid_t parent)
{
  struct epoll_event events[64];
  struct obj sig = { .kind = K_SIGNAL };
  struct rlimit rl;
  sigset_t mask;
  int sigfd, null;
  size_t nkeep = 0;

  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (1);
  /* Its own session: a terminal's Ctrl-C or hang-up is for the container and husk, and the
     forwarder ends with its parent instead.  */
  setsid ();
  husk_proc_set_title ("husk-portfwd");

  /* A caller without stdio may have had a listener or the pipe given descriptor 0, 1 or 2:
     moved above them first, since those become /dev/null.  */
  for (size_t i = 0; i < nls; i++)
    if (ls[i].fd < 3)
      ls[i].fd = fcntl (ls[i].fd, F_DUPFD_CLOEXEC, 3);
  if (report < 3)
    report = fcntl (report, F_DUPFD_CLOEXEC, 3);
  if (netns_fd >= 0 && netns_fd < 3)
    netns_fd = fcntl (netns_fd, F_DUPFD_CLOEXEC, 3);
  if (userns_fd >= 0 && userns_fd < 3)
    userns_fd = fcntl (userns_fd, F_DUPFD_CLOEXEC, 3);
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
    child_fail (report, errno, "port forwarder: /dev/null");
  for (size_t i = 0; i < nls; i++)
    keep[nkeep++] = ls[i].fd;
  keep[nkeep++] = report;
  keep[nkeep++] = netns_fd;
  keep[nkeep++] = userns_fd;
  husk_close_fds_except (keep, nkeep);

  if (userns_fd >= 0 && setns (userns_fd, CLONE_NEWUSER) < 0)
    child_fail (report, errno, "port forwarder: join the user namespace");
  if (setns (netns_fd, CLONE_NEWNET) < 0)
    child_fail (report, errno, "port forwarder: join the network namespace");
  close (netns_fd);
  if (userns_fd >= 0)
    close (userns_fd);
  /* Joining a user namespace changes the credentials, and the kernel drops a parent-death
     signal on such a change unless the new ones are a subset of the old: set it again.  */
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (1);

  /* Six descriptors a TCP connection (two sockets, two pipes), one a UDP flow: as many as
     the hard limit allows.  */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  sigfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (epfd < 0 || sigfd < 0 || epoll_add (sigfd, EPOLLIN, &sig) < 0)
    child_fail (report, errno, "port forwarder: epoll");
  for (size_t i = 0; i < nls; i++)
    if (epoll_add (ls[i].fd, EPOLLIN, &ls[i]) < 0)
      child_fail (report, errno, "port forwarder: epoll");
  if (write (report, "0", 1) != 1)
    _exit (1);
  close (report);

  for (;;)
    {
      int timeout = -1, n;
      if (again)
        timeout = 0;
      else if (oldest)
        {
          uint64_t now = now_ms (), due = oldest->last + UDP_IDLE_MS;
          timeout = due > now ? (int) (due - now) : 0;
        }
      n = epoll_wait (epfd, events, (int) (sizeof (events) / sizeof (events[0])), timeout);
      if (n < 0 && errno != EINTR)
        _exit (1);
      for (int i = 0; i < n; i++)
        {
          uintptr_t p = (uintptr_t) events[i].data.ptr;
          struct obj *o = (struct obj *) (p & ~(uintptr_t) 1);
          if (o->dead)
            continue;
          switch (o->kind)
            {
            case K_SIGNAL:
              _exit (0);
            case K_TCP_LISTEN:
              tcp_accept ((struct listener *) o);
              break;
            case K_UDP_LISTEN:
              udp_listener_read ((struct listener *) o);
              break;
            case K_TCP:
              tcp_event ((struct tcp_conn *) o, (int) (p & 1));
              break;
            case K_UDP_FLOW:
              udp_flow_read ((struct udp_flow *) o);
              break;
            }
        }
      /* The connections that spent their budget carry on (those closed since are skipped).  */
      for (struct tcp_conn *c = TAKE_PTR (again), *next; c; c = next)
        {
          next = c->next_again;
          c->again = false;
          if (!c->hdr.dead)
            tcp_event (c, 1);
        }
      {
        uint64_t now = now_ms ();
        while (oldest && oldest->last + UDP_IDLE_MS <= now)
          flow_drop (oldest);
      }
      while (graveyard)
        {
          struct obj *o = graveyard;
          graveyard = o->next_dead;
          free (o);
        }
    }
}

/* The caller's side */

/* "0.0.0.0:8080", "[::1]:8080" for errors.  */
static void
format_addr (const char *ip, int family, int port, char *buf, size_t size)
{
  const char *shown = ip ? ip : family == AF_INET6 ? "::" : "0.0.0.0";
  if (family == AF_INET6)
    snprintf (buf, size, "[%s]:%d", shown, port);
  else
    snprintf (buf, size, "%s:%d", shown, port);
}

/* Bind P's listener of FAMILY on IP (NULL: every address) into *L.  1 when IP is NULL, FAMILY
   is AF_INET6 and the host has no IPv6: nothing to bind.  */
static int
open_listener (const struct husk_port *p, int family, const char *ip, bool udp, struct listener *l,
               struct husk_error **err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  cleanup_close int fd = -1;
  int one = 1;
  char where[INET6_ADDRSTRLEN + 16];

  format_addr (ip, family, p->host_port, where, sizeof (where));
  memset (&ss, 0, sizeof (ss));
  ss.ss_family = (sa_family_t) family;
  if (family == AF_INET6)
    {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
      if (ip && inet_pton (AF_INET6, ip, &a->sin6_addr) != 1)
        return husk_error_set (err, EINVAL, "port %d/%s: host address \"%s\"", p->host_port,
                               p->proto, ip);
      len = sizeof (*a);
    }
  else
    {
      struct sockaddr_in *a = (struct sockaddr_in *) &ss;
      if (ip && inet_pton (AF_INET, ip, &a->sin_addr) != 1)
        return husk_error_set (err, EINVAL, "port %d/%s: host address \"%s\"", p->host_port,
                               p->proto, ip);
      len = sizeof (*a);
    }
  set_port (&ss, (uint16_t) p->host_port);

  fd = socket (family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      if (ip == NULL && family == AF_INET6 && errno == EAFNOSUPPORT)
        return 1;
      return husk_error_set (err, errno, "port %d/%s: %s: socket", p->host_port, p->proto, where);
    }
  if (family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof (one));
  /* TCP: a port whose last connections are in TIME_WAIT can be listened on again at once (a
     restarted container).  Not UDP, where the option would share a port in use.  */
  if (!udp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  if (udp && ip == NULL)
    {
      if (family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof (one));
      else
        setsockopt (fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof (one));
    }
  if (bind (fd, (struct sockaddr *) &ss, len) < 0)
    {
      int e = errno;
      if (ip == NULL && family == AF_INET6 && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT))
        return 1;
      if (e == EACCES && p->host_port < 1024)
        return husk_error_set (err, e,
                               "port %d/%s: %s: a host port below 1024 needs root, or a lower "
                               "net.ipv4.ip_unprivileged_port_start",
                               p->host_port, p->proto, where);
      return husk_error_set (err, e, "port %d/%s: %s", p->host_port, p->proto, where);
    }
  if (!udp && listen (fd, SOMAXCONN) < 0)
    return husk_error_set (err, errno, "port %d/%s: %s: listen", p->host_port, p->proto, where);
  l->hdr.kind = udp ? K_UDP_LISTEN : K_TCP_LISTEN;
  l->fd = TAKE_FD (fd);
  l->family = family;
  l->ctr_port = (uint16_t) p->ctr_port;
  l->wildcard = ip == NULL;
  return 0;
}

static void
close_listeners (struct listener *ls, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (ls[i].fd >= 0)
      close (ls[i].fd);
}

int
husk_portfwd_start (const struct husk_port *ports, size_t n, const char *ctr_addr, int netns_fd,
                    int userns_fd, pid_t *ret_pid, struct husk_error **err)
{
  cleanup_free struct listener *ls = NULL;
  cleanup_free int *keep = NULL;
  struct sockaddr_storage addr;
  size_t nls = 0;
  int report[2], status;
  char buf[256];
  size_t got = 0;
  sigset_t stop, saved;
  pid_t pid, self;

  memset (&addr, 0, sizeof (addr));
  if (ctr_addr && strchr (ctr_addr, ':'))
    {
      addr.ss_family = AF_INET6;
      if (inet_pton (AF_INET6, ctr_addr, &((struct sockaddr_in6 *) &addr)->sin6_addr) != 1)
        return husk_error_set (err, EINVAL, "port forwarder: container address \"%s\"", ctr_addr);
    }
  else
    {
      addr.ss_family = AF_INET;
      if (ctr_addr == NULL
          || inet_pton (AF_INET, ctr_addr, &((struct sockaddr_in *) &addr)->sin_addr) != 1)
        return husk_error_set (err, EINVAL, "port forwarder: container address \"%s\"",
                               ctr_addr ? ctr_addr : "");
    }
  if (netns_fd < 0)
    return husk_error_set (err, EBADF, "port forwarder: no network namespace");

  ls = husk_xcalloc (n ? 2 * n : 1, sizeof (*ls));
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_port *p = &ports[i];
      bool udp = p->proto && strcmp (p->proto, "udp") == 0;
      int r;
      if (!udp && (p->proto == NULL || strcmp (p->proto, "tcp") != 0))
        {
          close_listeners (ls, nls);
          return husk_error_set (err, EINVAL, "port %d/%s: unknown protocol", p->host_port,
                                 p->proto ? p->proto : "");
        }
      if (p->host_port < 1 || p->host_port > 65535 || p->ctr_port < 1 || p->ctr_port > 65535)
        {
          close_listeners (ls, nls);
          return husk_error_set (err, EINVAL, "port %d/%s: no host port, or out of range",
                                 p->host_port, p->proto);
        }
      if (p->host_ip)
        r = open_listener (p, strchr (p->host_ip, ':') ? AF_INET6 : AF_INET, p->host_ip, udp,
                           &ls[nls], err);
      else
        {
          r = open_listener (p, AF_INET, NULL, udp, &ls[nls], err);
          if (r == 0)
            nls++;
          if (r >= 0)
            r = open_listener (p, AF_INET6, NULL, udp, &ls[nls], err);
        }
      if (r < 0)
        {
          close_listeners (ls, nls);
          return -1;
        }
      if (r == 0)
        nls++;
    }

  keep = husk_xcalloc (nls + 3, sizeof (*keep));
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      close_listeners (ls, nls);
      return husk_error_set (err, errno, "port forwarder: pipe");
    }
  self = getpid ();
  /* The signals that end the forwarder stay blocked from the fork on, so that none reaches
     a handler of the caller's in the child before the forwarder reads them from its
     signalfd.  */
  sigemptyset (&stop);
  sigaddset (&stop, SIGTERM);
  sigaddset (&stop, SIGINT);
  sigaddset (&stop, SIGHUP);
  sigprocmask (SIG_BLOCK, &stop, &saved);
  pid = fork ();
  if (pid != 0)
    sigprocmask (SIG_SETMASK, &saved, NULL);
  if (pid < 0)
    {
      int e = errno;
      close_listeners (ls, nls);
      close (report[0]);
      close (report[1]);
      return husk_error_set (err, e, "port forwarder: fork");
    }
  if (pid == 0)
    {
      close (report[0]);
      ctr = addr;
      ctr_len
          = addr.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
      forwarder (ls, nls, keep, netns_fd, userns_fd, report[1], self);
    }
  close (report[1]);
  close_listeners (ls, nls);

  /* "0" once it serves; else "1ERRNO MESSAGE"; nothing when it died first.  Read to the end
     of the pipe, which the forwarder closes right after: it then holds nothing of the
     start's.  */
  for (;;)
    {
      ssize_t r = read (report[0], buf + got, sizeof (buf) - 1 - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t) r;
      if (got == sizeof (buf) - 1)
        break;
    }
  close (report[0]);
  buf[got] = '\0';
  if (got > 0 && buf[0] == '0')
    {
      *ret_pid = pid;
      return 0;
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (got > 1 && buf[0] == '1')
    {
      char *end = NULL;
      long e = strtol (buf + 1, &end, 10);
      if (end && *end == ' ')
        return husk_error_set (err, (int) e, "%s", end + 1);
    }
  return husk_error_set (err, 0, "port forwarder: ended before it was ready");
}
