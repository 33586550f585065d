/* engine/netlink.h against the real kernel, in network namespaces of the test's own: a bridge, a
   veth pair whose peer is made as "eth0" inside a second namespace, addresses, a default route,
   and a UDP datagram that crosses them; then the nftables table, a masquerade rule proved by
   the source address a third namespace sees, an internal network's drop rule proved by a
   datagram that does not arrive, isolation both ways, the flush that lifts them, and the whole
   table rebuilt from a list of networks in one transaction.  A veth peer is also made in a
   namespace of a nested user namespace, as a container's is.
   Runs as root (a new network namespace) or as a user (a new user namespace mapping only that
   user, and a network namespace it owns); skipped only when both are refused.  The process
   moves between its namespaces with setns: a socket stays in the namespace it was made in.  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "netlink.h"
#include "tap.h"
#include "util.h"

static int ns1 = -1, ns2 = -1, ns3 = -1, ns4 = -1;

#define skip(...)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      tap_n++;                                                                                     \
      printf ("ok %d # SKIP ", tap_n);                                                             \
      printf (__VA_ARGS__);                                                                        \
      printf ("\n");                                                                               \
    }                                                                                              \
  while (0)

static void
write_file (const char *path, const char *s)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    husk_write_all (fd, s, strlen (s));
}

/* A network namespace of the test's own: as root a new one; as a user, a new user namespace
   mapping that user to root, and a network namespace it owns.  A reason in *RET_WHY when
   neither can be had.  */
static bool
enter_own_netns (const char **ret_why)
{
  char map[64];
  uid_t uid = geteuid ();
  gid_t gid = getegid ();

  if (uid == 0 && unshare (CLONE_NEWNET) == 0)
    return true;
  if (unshare (CLONE_NEWUSER | CLONE_NEWNET) < 0)
    {
      *ret_why = strerror (errno);
      return false;
    }
  write_file ("/proc/self/setgroups", "deny");
  snprintf (map, sizeof (map), "0 %u 1", (unsigned) uid);
  write_file ("/proc/self/uid_map", map);
  snprintf (map, sizeof (map), "0 %u 1", (unsigned) gid);
  write_file ("/proc/self/gid_map", map);
  return true;
}

/* A further network namespace, kept by its descriptor; the thread stays in ns1.  */
static int
new_netns (void)
{
  int fd;

  if (unshare (CLONE_NEWNET) < 0)
    return -1;
  fd = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (setns (ns1, CLONE_NEWNET) < 0)
    abort ();
  return fd;
}

/* A network namespace owned by a user namespace nested in ours, as a container's is: made by a
   child (which can write its own one-line maps), opened through /proc, the child then ended.
   -1 when the kernel refuses.  */
static int
nested_netns (void)
{
  int ready[2], done[2], fd = -1;
  char c = 0, path[64];
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (done, O_CLOEXEC) < 0)
    return -1;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      char ok = 1;
      close (done[1]);
      close (ready[0]);
      if (unshare (CLONE_NEWUSER | CLONE_NEWNET) < 0)
        ok = 0;
      write_file ("/proc/self/setgroups", "deny");
      write_file ("/proc/self/uid_map", "0 0 1");
      write_file ("/proc/self/gid_map", "0 0 1");
      if (write (ready[1], &ok, 1) != 1 || read (done[0], &c, 1) < 0)
        _exit (1);
      _exit (0);
    }
  close (ready[1]);
  close (done[0]);
  if (pid > 0 && read (ready[0], &c, 1) == 1 && c == 1)
    {
      snprintf (path, sizeof (path), "/proc/%d/ns/net", (int) pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
    }
  close (ready[0]);
  close (done[1]);
  if (pid > 0)
    waitpid (pid, NULL, 0);
  return fd;
}

static void
enter (int nsfd)
{
  if (setns (nsfd, CLONE_NEWNET) < 0)
    abort ();
}

/* IP (IPv4 or IPv6, by its look) and PORT as a socket address.  */
static socklen_t
sockaddr_of (const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (strchr (ip, ':'))
    {
      struct sockaddr_in6 *sa = (struct sockaddr_in6 *) ss;
      sa->sin6_family = AF_INET6;
      sa->sin6_port = htons (port);
      inet_pton (AF_INET6, ip, &sa->sin6_addr);
      return sizeof (*sa);
    }
  struct sockaddr_in *sa = (struct sockaddr_in *) ss;
  sa->sin_family = AF_INET;
  sa->sin_port = htons (port);
  inet_pton (AF_INET, ip, &sa->sin_addr);
  return sizeof (*sa);
}

/* A UDP socket in namespace NSFD bound to IP (port chosen by the kernel, in *RET_PORT).  */
static int
udp_listen (int nsfd, const char *ip, uint16_t *ret_port)
{
  struct sockaddr_storage ss;
  socklen_t len = sockaddr_of (ip, 0, &ss);
  int fd;

  enter (nsfd);
  fd = socket (ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  enter (ns1);
  if (fd < 0 || bind (fd, (struct sockaddr *) &ss, len) < 0
      || getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    return -1;
  *ret_port = ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                              : ((struct sockaddr_in *) &ss)->sin_port);
  return fd;
}

/* One datagram "hello" from a fresh socket in namespace NSFD (a new source port each time, so
   that no earlier conntrack entry decides its fate) to IP:PORT.  */
static void
udp_send (int nsfd, const char *ip, uint16_t port)
{
  struct sockaddr_storage ss;
  socklen_t len = sockaddr_of (ip, port, &ss);
  cleanup_close int fd = -1;

  enter (nsfd);
  fd = socket (ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  enter (ns1);
  if (fd >= 0)
    sendto (fd, "hello", 5, 0, (struct sockaddr *) &ss, len);
}

/* Send from SRC_NS to IP:PORT every 100 ms for up to WAIT_MS, until LISTENER receives "hello";
   its source address in RET_FROM.  */
static bool
udp_arrives (int src_ns, int listener, const char *ip, uint16_t port, int wait_ms,
             char ret_from[INET6_ADDRSTRLEN])
{
  char buf[16];

  /* Stragglers of an earlier call (sent while a neighbour was being resolved) go first.  */
  while (recv (listener, buf, sizeof (buf), MSG_DONTWAIT) >= 0)
    ;
  for (int waited = 0; waited < wait_ms; waited += 100)
    {
      struct pollfd p = { .fd = listener, .events = POLLIN };
      udp_send (src_ns, ip, port);
      if (poll (&p, 1, 100) == 1)
        {
          struct sockaddr_storage from;
          socklen_t len = sizeof (from);
          ssize_t n = recvfrom (listener, buf, sizeof (buf), 0, (struct sockaddr *) &from, &len);
          if (n == 5 && memcmp (buf, "hello", 5) == 0)
            {
              if (from.ss_family == AF_INET6)
                inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &from)->sin6_addr, ret_from,
                           INET6_ADDRSTRLEN);
              else
                inet_ntop (AF_INET, &((struct sockaddr_in *) &from)->sin_addr, ret_from,
                           INET6_ADDRSTRLEN);
              return true;
            }
        }
    }
  return false;
}

static struct in_addr
ip4 (const char *s)
{
  struct in_addr a;
  inet_pton (AF_INET, s, &a);
  return a;
}

static unsigned int
link_mtu (const char *name)
{
  struct ifreq ifr = { 0 };
  cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", name);
  if (fd < 0 || ioctl (fd, SIOCGIFMTU, &ifr) < 0)
    return 0;
  return (unsigned int) ifr.ifr_mtu;
}

/* ERR is set, with ERRNUM, and its message names WHAT.  */
static bool
fails_with (int r, struct husk_error **err, int errnum, const char *what)
{
  bool good = r < 0 && *err != NULL && (*err)->errnum == errnum && strstr ((*err)->msg, what);
  if (*err != NULL)
    printf ("# error: %s\n", (*err)->msg);
  husk_error_free (err);
  return good;
}

static bool
succeeds (int r, struct husk_error **err)
{
  if (*err != NULL)
    printf ("# error: %s\n", (*err)->msg);
  husk_error_free (err);
  return r == 0;
}

/* `nft list table ip husk` when an nft binary is there: its output in RET_OUT, else false.  */
static bool
nft_list (char *ret_out, size_t size)
{
  int pipefd[2];
  pid_t pid;
  size_t len = 0;
  ssize_t n;
  int status;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return false;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      dup2 (pipefd[1], 1);
      execlp ("nft", "nft", "list", "table", "ip", "husk", (char *) NULL);
      _exit (127);
    }
  close (pipefd[1]);
  while (len + 1 < size && (n = read (pipefd[0], ret_out + len, size - 1 - len)) > 0)
    len += (size_t) n;
  ret_out[len] = '\0';
  close (pipefd[0]);
  for (const char *line = ret_out; *line;)
    {
      const char *nl = strchrnul (line, '\n');
      printf ("# %.*s\n", (int) (nl - line), line);
      line = *nl ? nl + 1 : nl;
    }
  if (pid < 0 || waitpid (pid, &status, 0) < 0)
    return false;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

int
main (void)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_nl *nl1, *nl2, *nl3, *nf;
  struct in_addr a, gw, subnet;
  unsigned int master = 0, count = 99;
  cleanup_close int l1 = -1, l2 = -1, l3 = -1, l6 = -1;
  uint16_t p1 = 0, p2 = 0, p3 = 0, p6 = 0;
  struct in6_addr a6, gw6;
  struct husk_nft_network nets[2], many[33];
  static char many_names[33][IFNAMSIZ];
  cleanup_close int notns = -1;
  char from[INET6_ADDRSTRLEN] = "", out[8192];
  const char *why = NULL;
  bool as_user = geteuid () != 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (!enter_own_netns (&why))
    {
      printf ("1..0 # SKIP no network namespace of our own: %s\n", why);
      return 0;
    }
  printf ("# running as %s\n", as_user ? "root of a user namespace of our own" : "root");
  ns1 = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ns2 = new_netns ();
  ns3 = new_netns ();
  if (ns1 < 0 || ns2 < 0 || ns3 < 0)
    {
      printf ("Bail out! network namespaces: %s\n", strerror (errno));
      return 1;
    }
  nl1 = husk_nl_open (NETLINK_ROUTE, &err);
  enter (ns2);
  nl2 = husk_nl_open (NETLINK_ROUTE, &err);
  enter (ns3);
  nl3 = husk_nl_open (NETLINK_ROUTE, &err);
  enter (ns1);
  if (nl1 == NULL || nl2 == NULL || nl3 == NULL)
    {
      printf ("Bail out! netlink socket: %s\n", err ? err->msg : "?");
      return 1;
    }

  /* Links.  */
  ok (succeeds (husk_nl_bridge_add (nl1, "hbr0", &err), &err), "bridge hbr0 created");
  ok (husk_nl_link_index ("hbr0") > 0, "hbr0 has an index");
  ok (fails_with (husk_nl_bridge_add (nl1, "hbr0", &err), &err, EEXIST, "\"hbr0\""),
      "a second hbr0: EEXIST, named");
  ok (fails_with (husk_nl_link_up (nl1, "nosuch0", &err), &err, ENODEV, "\"nosuch0\""),
      "up on a missing link: ENODEV, named");
  ok (fails_with (husk_nl_bridge_add (nl1, "a-name-too-long0", &err), &err, EINVAL,
                  "a-name-too-long0"),
      "a name of 16 bytes: EINVAL");
  ok (succeeds (husk_nl_veth_add (nl1, "hve0", "eth0", ns2, 1400, &err), &err),
      "veth hve0 with its peer eth0 made in the second namespace");
  ok (husk_nl_link_index ("hve0") > 0 && husk_nl_link_index ("eth0") == 0,
      "hve0 is here, eth0 is not");
  enter (ns2);
  ok (husk_nl_link_index ("eth0") > 0 && link_mtu ("eth0") == 1400,
      "eth0 is in the second namespace, mtu 1400");
  enter (ns1);
  ok (succeeds (husk_nl_link_get_index (nl2, "eth0", &master, &err), &err) && master > 0
          && fails_with (husk_nl_link_get_index (nl1, "eth0", &master, &err), &err, ENODEV,
                         "\"eth0\""),
      "asked through each namespace's socket, eth0 is in the second only");
  ok (link_mtu ("hve0") == 1400, "hve0's mtu is 1400");
  ok (succeeds (husk_nl_link_set_mtu (nl1, "hve0", 1450, &err), &err) && link_mtu ("hve0") == 1450,
      "hve0's mtu set to 1450");
  ok (succeeds (husk_nl_link_set_master (nl1, "hve0", "hbr0", &err), &err), "hve0 on hbr0");
  ok (succeeds (husk_nl_link_get_master (nl1, "hve0", &master, &err), &err)
          && master == husk_nl_link_index ("hbr0"),
      "hve0's IFLA_MASTER read back is hbr0 (%u)", master);
  ok (fails_with (husk_nl_link_set_master (nl1, "hve0", "nosuch0", &err), &err, ENODEV, "nosuch0"),
      "master a missing bridge: ENODEV, named");

  /* Addresses and routes.  */
  a = ip4 ("10.99.0.1");
  ok (succeeds (husk_nl_addr_add (nl1, "hbr0", AF_INET, &a, 24, &err), &err),
      "10.99.0.1/24 on hbr0");
  ok (succeeds (husk_nl_addr_add (nl1, "hbr0", AF_INET, &a, 24, &err), &err),
      "the same address again: no error");
  ok (fails_with (husk_nl_addr_add (nl1, "hbr0", AF_INET, &a, 33, &err), &err, EINVAL, "hbr0"),
      "prefix 33: EINVAL");
  ok (succeeds (husk_nl_link_up (nl1, "hbr0", &err), &err)
          && succeeds (husk_nl_link_up (nl1, "hve0", &err), &err),
      "hbr0 and hve0 up");
  a = ip4 ("10.99.0.2");
  gw = ip4 ("10.99.0.1");
  ok (succeeds (husk_nl_addr_add (nl2, "eth0", AF_INET, &a, 24, &err), &err)
          && succeeds (husk_nl_link_up (nl2, "eth0", &err), &err),
      "10.99.0.2/24 on eth0, up, through a socket opened in the second namespace");
  ok (succeeds (husk_nl_route_add (nl2, AF_INET, NULL, 0, &gw, NULL, &err), &err),
      "default route via 10.99.0.1 in the second namespace");
  ok (fails_with (husk_nl_route_add (nl2, AF_INET, NULL, 0, &gw, NULL, &err), &err, EEXIST,
                  "default"),
      "the same route again: EEXIST");
  a = ip4 ("192.0.2.1");
  ok (fails_with (husk_nl_route_add (nl2, AF_INET, NULL, 0, &a, "eth0", &err), &err, ENETUNREACH,
                  "192.0.2.1"),
      "a gateway off every network: ENETUNREACH, named");

  l1 = udp_listen (ns1, "10.99.0.1", &p1);
  ok (l1 >= 0 && udp_arrives (ns2, l1, "10.99.0.1", p1, 5000, from)
          && strcmp (from, "10.99.0.2") == 0,
      "a datagram from the second namespace reaches 10.99.0.1 over the bridge (from %s)", from);

  /* IPv6 beside it, without duplicate address detection: the datagram goes at once.  */
  inet_pton (AF_INET6, "fd00:99::1", &a6);
  ok (succeeds (husk_nl_addr_add (nl1, "hbr0", AF_INET6, &a6, 64, &err), &err),
      "fd00:99::1/64 on hbr0");
  gw6 = a6;
  inet_pton (AF_INET6, "fd00:99::2", &a6);
  ok (succeeds (husk_nl_addr_add (nl2, "eth0", AF_INET6, &a6, 64, &err), &err),
      "fd00:99::2/64 on eth0");
  ok (succeeds (husk_nl_route_add (nl2, AF_INET6, NULL, 0, &gw6, "eth0", &err), &err),
      "IPv6 default route via fd00:99::1 dev eth0");
  l6 = udp_listen (ns1, "fd00:99::1", &p6);
  ok (l6 >= 0 && udp_arrives (ns2, l6, "fd00:99::1", p6, 5000, from)
          && strcmp (from, "fd00:99::2") == 0,
      "an IPv6 datagram from the second namespace reaches fd00:99::1 (from %s)", from);

  /* A container's namespace belongs to a user namespace of its own.  */
  ns4 = nested_netns ();
  if (ns4 < 0)
    skip ("no nested user namespace: %s", strerror (errno));
  else
    {
      struct husk_nl *nl4;
      unsigned int idx = 0;

      ok (succeeds (husk_nl_veth_add (nl1, "hve4", "eth0", ns4, 0, &err), &err),
          "veth hve4 with its peer eth0 in a namespace of a nested user namespace");
      enter (ns4);
      nl4 = husk_nl_open (NETLINK_ROUTE, &err);
      enter (ns1);
      ok (nl4 != NULL && succeeds (husk_nl_link_get_index (nl4, "eth0", &idx, &err), &err)
              && idx > 0,
          "eth0 is there");
      husk_nl_close (nl4);
      ok (succeeds (husk_nl_link_del (nl1, "hve4", &err), &err), "hve4 deleted");
    }

  /* A descriptor that is no network namespace: refused, and nothing left behind.  */
  notns = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  ok (fails_with (husk_nl_veth_add (nl1, "hve9", "eth9", notns, 0, &err), &err, EINVAL, "hve9")
          && husk_nl_link_index ("hve9") == 0,
      "a veth whose peer namespace is /dev/null: EINVAL, no hve9");

  /* A second network on the "outside": hup0 in ns1, its peer eth0 in ns3, routed by ns1.  */
  a = ip4 ("10.98.0.1");
  ok (succeeds (husk_nl_veth_add (nl1, "hup0", "eth0", ns3, 0, &err), &err)
          && succeeds (husk_nl_addr_add (nl1, "hup0", AF_INET, &a, 24, &err), &err)
          && succeeds (husk_nl_link_up (nl1, "hup0", &err), &err),
      "hup0 10.98.0.1/24 up, its peer in a third namespace");
  a = ip4 ("10.98.0.2");
  subnet = ip4 ("10.98.0.0");
  ok (succeeds (husk_nl_addr_add (nl3, "eth0", AF_INET, &a, 24, &err), &err)
          && succeeds (husk_nl_link_up (nl3, "eth0", &err), &err),
      "10.98.0.2/24 on the third namespace's eth0");
  ok (fails_with (husk_nl_route_add (nl1, AF_INET, &subnet, 24, NULL, "hup0", &err), &err, EEXIST,
                  "10.98.0.0/24"),
      "the route to 10.98.0.0/24 is the kernel's already: EEXIST, named");
  subnet = ip4 ("10.97.0.0");
  ok (succeeds (husk_nl_route_add (nl1, AF_INET, &subnet, 16, &a, "hup0", &err), &err),
      "a route to 10.97.0.0/16 via 10.98.0.2 dev hup0");
  ok (succeeds (husk_net_sysctl_set ("/proc/sys/net/ipv4/ip_forward", "1", &err), &err),
      "ip_forward on in the first namespace");
  ok (fails_with (husk_net_sysctl_set ("/proc/sys/net/ipv4/no_such_knob", "1", &err), &err, ENOENT,
                  "no_such_knob"),
      "a missing sysctl: ENOENT, named");
  l3 = udp_listen (ns3, "10.98.0.2", &p3);
  ok (l3 >= 0 && udp_arrives (ns2, l3, "10.98.0.2", p3, 5000, from)
          && strcmp (from, "10.99.0.2") == 0,
      "forwarded without nftables, the source stays 10.99.0.2 (%s)", from);

  /* The way back: the third namespace reaches the second through a route.  */
  subnet = ip4 ("10.99.0.0");
  gw = ip4 ("10.98.0.1");
  ok (succeeds (husk_nl_route_add (nl3, AF_INET, &subnet, 24, &gw, "eth0", &err), &err),
      "a route to 10.99.0.0/24 via 10.98.0.1 in the third namespace");
  l2 = udp_listen (ns2, "10.99.0.2", &p2);
  ok (l2 >= 0 && udp_arrives (ns3, l2, "10.99.0.2", p2, 5000, from)
          && strcmp (from, "10.98.0.2") == 0,
      "the third namespace reaches the second (from %s)", from);

  /* nftables.  */
  nf = husk_nl_open (NETLINK_NETFILTER, &err);
  ok (nf != NULL, "netfilter socket");
  if (nf == NULL)
    {
      printf ("Bail out! %s\n", err->msg);
      return 1;
    }
  ok (fails_with (husk_nft_setup (nl1, "husk", &err), &err, EPROTOTYPE, "husk")
          && fails_with (husk_nl_link_up (nf, "hbr0", &err), &err, EPROTOTYPE, "hbr0"),
      "a call on a socket of the other protocol: EPROTOTYPE");
  ok (succeeds (husk_nft_setup (nf, "husk", &err), &err), "table ip husk with its chains");
  ok (succeeds (husk_nft_setup (nf, "husk", &err), &err), "set up again: no error");
  subnet = ip4 ("10.99.0.0");
  ok (succeeds (husk_nft_masquerade (nf, "husk", &subnet, 24, "hbr0", &err), &err),
      "masquerade 10.99.0.0/24 not out of hbr0");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "postrouting", &count, &err), &err) && count == 1,
      "postrouting holds one rule (%u)", count);
  ok (fails_with (husk_nft_masquerade (nf, "nosuch", &subnet, 24, "hbr0", &err), &err, ENOENT,
                  "nosuch"),
      "masquerade in a missing table: ENOENT, named");
  ok (udp_arrives (ns2, l3, "10.98.0.2", p3, 5000, from) && strcmp (from, "10.98.0.1") == 0,
      "masqueraded: the third namespace sees 10.98.0.1 (%s)", from);
  ok (udp_arrives (ns2, l1, "10.99.0.1", p1, 5000, from) && strcmp (from, "10.99.0.2") == 0,
      "not masqueraded to the bridge's own address (%s)", from);
  if (nft_list (out, sizeof (out)))
    ok (strstr (out, "masquerade") && strstr (out, "10.99.0.0/24") && strstr (out, "\"hbr0\""),
        "nft list table ip husk shows the rule");
  else
    skip ("no nft binary to list the table with");

  ok (succeeds (husk_nft_internal (nf, "husk", "hbr0", &err), &err), "hbr0 internal");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err) && count == 2,
      "forward holds two rules (%u)", count);
  ok (!udp_arrives (ns2, l3, "10.98.0.2", p3, 600, from),
      "internal: nothing from hbr0 reaches the third namespace");
  ok (!udp_arrives (ns3, l2, "10.99.0.2", p2, 600, from),
      "internal: nothing from the third namespace reaches hbr0");
  ok (udp_arrives (ns2, l1, "10.99.0.1", p1, 5000, from),
      "internal: the bridge's address still is");
  if (nft_list (out, sizeof (out)))
    ok (strstr (out, "iifname \"hbr0\" oifname != \"hbr0\" drop")
            && strstr (out, "oifname \"hbr0\" iifname != \"hbr0\" drop"),
        "nft list table ip husk shows the internal rules");
  else
    skip ("no nft binary to list the table with");

  ok (succeeds (husk_nft_flush_table (nf, "husk", &err), &err), "table flushed");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err) && count == 0
          && succeeds (husk_nft_rule_count (nf, "husk", "postrouting", &count, &err), &err)
          && count == 0,
      "no rules left");
  ok (udp_arrives (ns2, l3, "10.98.0.2", p3, 5000, from) && strcmp (from, "10.99.0.2") == 0,
      "flushed: forwarded again, not masqueraded (%s)", from);

  /* Isolation, both ways.  */
  ok (succeeds (husk_nft_isolate (nf, "husk", "hbr0", "hup0", &err), &err),
      "hbr0 and hup0 isolated");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err) && count == 2,
      "forward holds two rules (%u)", count);
  ok (!udp_arrives (ns2, l3, "10.98.0.2", p3, 600, from), "isolated: hbr0 to hup0 dropped");
  ok (!udp_arrives (ns3, l2, "10.99.0.2", p2, 600, from), "isolated: hup0 to hbr0 dropped");
  ok (udp_arrives (ns2, l1, "10.99.0.1", p1, 5000, from),
      "isolated: the bridge's address still is");
  if (nft_list (out, sizeof (out)))
    ok (strstr (out, "iifname \"hbr0\" oifname \"hup0\" drop")
            && strstr (out, "iifname \"hup0\" oifname \"hbr0\" drop"),
        "nft list table ip husk shows the isolation rules");
  else
    skip ("no nft binary to list the table with");
  ok (succeeds (husk_nft_flush_table (nf, "husk", &err), &err)
          && udp_arrives (ns3, l2, "10.99.0.2", p2, 5000, from),
      "flushed: the third namespace reaches the second again");

  /* The whole table from a list of networks, in one transaction.  */
  nets[0]
      = (struct husk_nft_network){ .bridge = "hbr0", .subnet = ip4 ("10.99.0.0"), .prefixlen = 24 };
  nets[1] = (struct husk_nft_network){
    .bridge = "hup0", .subnet = ip4 ("10.98.0.0"), .prefixlen = 24, .internal = true
  };
  ok (succeeds (husk_nft_apply (nf, "husk", nets, 2, &err), &err), "applied: hbr0, hup0 internal");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "postrouting", &count, &err), &err) && count == 1
          && succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err)
          && count == 4,
      "one masquerade rule, four forward rules");
  ok (!udp_arrives (ns2, l3, "10.98.0.2", p3, 600, from)
          && !udp_arrives (ns3, l2, "10.99.0.2", p2, 600, from),
      "applied: nothing crosses either way");
  if (nft_list (out, sizeof (out)))
    ok (strstr (out, "ip saddr 10.99.0.0/24 oifname != \"hbr0\" masquerade")
            && strstr (out, "iifname \"hup0\" oifname != \"hup0\" drop")
            && strstr (out, "iifname \"hbr0\" oifname \"hup0\" drop") && !strstr (out, "10.98.0.0"),
        "nft list table ip husk shows the applied rules");
  else
    skip ("no nft binary to list the table with");
  ok (succeeds (husk_nft_apply (nf, "husk", nets, 1, &err), &err)
          && succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err)
          && count == 0,
      "applied again with hbr0 alone: no forward rules left");
  ok (udp_arrives (ns2, l3, "10.98.0.2", p3, 5000, from) && strcmp (from, "10.98.0.1") == 0,
      "hbr0 alone: out again, masqueraded (%s)", from);
  nets[1].prefixlen = 33;
  ok (fails_with (husk_nft_apply (nf, "husk", nets, 2, &err), &err, EINVAL, "hup0")
          && succeeds (husk_nft_rule_count (nf, "husk", "postrouting", &count, &err), &err)
          && count == 1,
      "a bad prefix: EINVAL, named, the table untouched");
  for (int i = 0; i < 33; i++)
    {
      snprintf (many_names[i], sizeof (many_names[i]), "hbr%d", 100 + i);
      many[i] = (struct husk_nft_network){ .bridge = many_names[i],
                                           .subnet = ip4 ("10.200.0.0"),
                                           .prefixlen = 24 };
    }
  ok (succeeds (husk_nft_apply (nf, "husk", many, 24, &err), &err)
          && succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err)
          && count == 24 * 23,
      "24 networks in one batch: %u isolation rules", count);
  ok (fails_with (husk_nft_apply (nf, "husk", many, 33, &err), &err, E2BIG, "33"),
      "33 networks: E2BIG");
  ok (succeeds (husk_nft_apply (nf, "husk", NULL, 0, &err), &err)
          && succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err)
          && count == 0,
      "no networks: the table emptied");
  ok (succeeds (husk_nft_delete_table (nf, "husk", &err), &err), "table deleted");
  ok (fails_with (husk_nft_delete_table (nf, "husk", &err), &err, ENOENT, "\"husk\""),
      "deleted again: ENOENT, named");
  ok (succeeds (husk_nft_rule_count (nf, "husk", "forward", &count, &err), &err) && count == 0,
      "a missing table counts no rules");

  /* Removal.  */
  ok (succeeds (husk_nl_link_del (nl1, "hve0", &err), &err), "hve0 deleted");
  ok (fails_with (husk_nl_link_get_master (nl2, "eth0", &master, &err), &err, ENODEV, "eth0"),
      "its peer went with it");
  ok (fails_with (husk_nl_link_del (nl1, "hve0", &err), &err, ENODEV, "\"hve0\""),
      "deleted again: ENODEV, named");
  ok (succeeds (husk_nl_link_del (nl1, "hbr0", &err), &err) && husk_nl_link_index ("hbr0") == 0,
      "hbr0 deleted");

  husk_nl_close (nf);
  husk_nl_close (nl1);
  husk_nl_close (nl2);
  husk_nl_close (nl3);
  return tap_done ();
}
