/* The namespace side of user networks (netattach.h).  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <unistd.h>

#include "cleanup.h"
#include "netattach.h"
#include "netlink.h"
#include "util.h"
#include "banned.h"

#define NFT_TABLE "husk"
#define BRIDGE_MAX 15 /* IFNAMSIZ - 1.  */

/* "A.B.C.D" into *RET (host order).  Here rather than networks.h's, so that husk-netns links
   nothing of the records (yajl).  */
static bool
ipv4_parse (const char *s, uint32_t *ret)
{
  struct in_addr a;
  if (inet_pton (AF_INET, s, &a) != 1)
    return false;
  *ret = ntohl (a.s_addr);
  return true;
}

/* "A.B.C.D/N" (N 0-32) into *RET_ADDR, *RET_PREFIX.  */
static bool
ipv4_cidr_parse (const char *s, uint32_t *ret_addr, int *ret_prefix)
{
  char buf[32];
  const char *slash = strchr (s, '/');
  uint64_t prefix;

  if (slash == NULL || (size_t) (slash - s) >= sizeof (buf)
      || husk_parse_u64 (slash + 1, 32, &prefix) < 0)
    return false;
  memcpy (buf, s, (size_t) (slash - s));
  buf[slash - s] = '\0';
  *ret_prefix = (int) prefix;
  return ipv4_parse (buf, ret_addr);
}
#define MAX_NETS 32

struct args
{
  int holder, pid;
  const char *bridge, *gateway, *addr, *veth;
  unsigned int mtu;
  bool internal;
  struct husk_nft_network nets[MAX_NETS];
  char net_bridges[MAX_NETS][BRIDGE_MAX + 1];
  size_t n_nets;
};

static int
parse_args (int argc, char **argv, struct args *a, struct husk_error **err)
{
  memset (a, 0, sizeof (*a));
  for (int i = 2; i < argc; i++)
    {
      const char *arg = argv[i], *eq = strchr (arg, '=');
      const char *v = eq ? eq + 1 : "";
      size_t klen = eq ? (size_t) (eq - arg) : strlen (arg);
#define KEY(k) (klen == strlen (k) && strncmp (arg, k, klen) == 0)
      uint64_t num = 0;
      if (KEY ("holder") || KEY ("pid") || KEY ("mtu"))
        {
          if (husk_parse_u64 (v, INT32_MAX, &num) < 0 || num == 0)
            return husk_error_set (err, EINVAL, "bad number in \"%s\"", arg);
        }
      if (KEY ("holder"))
        a->holder = (int) num;
      else if (KEY ("pid"))
        a->pid = (int) num;
      else if (KEY ("bridge"))
        a->bridge = v;
      else if (KEY ("gateway"))
        a->gateway = v;
      else if (KEY ("addr"))
        a->addr = v;
      else if (KEY ("veth"))
        a->veth = v;
      else if (KEY ("mtu"))
        a->mtu = (unsigned int) num;
      else if (KEY ("internal"))
        a->internal = strcmp (v, "1") == 0;
      else if (KEY ("net"))
        {
          /* BRIDGE,SUBNET/PREFIX,INTERNAL */
          char br[64], cidr[64];
          int internal, prefix;
          uint32_t net;
          if (a->n_nets == MAX_NETS)
            return husk_error_set (err, E2BIG, "more than %d networks", MAX_NETS);
          if (sscanf (v, "%63[^,],%63[^,],%d", br, cidr, &internal) != 3 || strlen (br) > BRIDGE_MAX
              || !ipv4_cidr_parse (cidr, &net, &prefix))
            return husk_error_set (err, EINVAL, "bad network \"%s\"", v);
          snprintf (a->net_bridges[a->n_nets], sizeof (a->net_bridges[0]), "%s", br);
          a->nets[a->n_nets].bridge = a->net_bridges[a->n_nets];
          a->nets[a->n_nets].subnet.s_addr = htonl (net);
          a->nets[a->n_nets].prefixlen = (unsigned int) prefix;
          a->nets[a->n_nets].internal = internal != 0;
          a->n_nets++;
        }
      else
        return husk_error_set (err, EINVAL, "unknown argument \"%s\"", arg);
#undef KEY
    }
  if (a->holder <= 0 || (a->bridge == NULL && strcmp (argv[1], "disconnect") != 0))
    return husk_error_set (err, EINVAL, "holder= and bridge= are needed");
  return 0;
}

static int
open_ns (int pid, const char *ns, struct husk_error **err)
{
  char path[64];
  int fd;

  snprintf (path, sizeof (path), "/proc/%d/ns/%s", pid, ns);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  return fd;
}

/* Into the holder's namespaces: its user namespace first (rootless), which gives this
   process the capabilities over its network namespace.  With RET_NEW, a new network
   namespace is made in that user namespace first, *RET_NEW a descriptor of it: the
   container's, which it joins by /proc/PID/ns/net of this process.  (The container's own
   first process cannot be reached instead: until it execs it is not dumpable and its memory
   belongs to the host's user namespace, where an unprivileged caller has no CAP_SYS_PTRACE,
   so neither its /proc/PID/ns nor a pidfd of it may be joined.)  */
static int
enter_holder (int holder, int *ret_new, struct husk_error **err)
{
  cleanup_close int userfd = -1, netfd = -1;

  if (geteuid () != 0 && (userfd = open_ns (holder, "user", err)) < 0)
    return -1;
  if ((netfd = open_ns (holder, "net", err)) < 0)
    return -1;
  if (userfd >= 0 && setns (userfd, CLONE_NEWUSER) < 0)
    return husk_error_set (err, errno, "join the network namespace's user namespace");
  if (ret_new)
    {
      if (unshare (CLONE_NEWNET) < 0)
        return husk_error_set (err, errno, "make the container's network namespace");
      *ret_new = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (*ret_new < 0)
        return husk_error_set (err, errno, "open the container's network namespace");
    }
  if (setns (netfd, CLONE_NEWNET) < 0)
    return husk_error_set (err, errno, "join the user's network namespace");
  return 0;
}

static int
nft_sync (const struct args *a, struct husk_error **err)
{
  struct husk_nl *nl = husk_nl_open (NETLINK_NETFILTER, err);
  int r;

  if (nl == NULL)
    return -1;
  r = husk_nft_apply (nl, NFT_TABLE, a->nets, a->n_nets, err);
  husk_nl_close (nl);
  return r;
}

/* BRIDGE with GATEWAY, up; *RET_MADE when it was missing.  */
static int
bridge_ensure (struct husk_nl *nl, const struct args *a, bool *ret_made, struct husk_error **err)
{
  struct in_addr gw;
  uint32_t addr;
  int prefix;

  *ret_made = false;
  if (a->gateway == NULL || !ipv4_cidr_parse (a->gateway, &addr, &prefix))
    return husk_error_set (err, EINVAL, "bad gateway \"%s\"", a->gateway ? a->gateway : "");
  if (husk_nl_bridge_add (nl, a->bridge, err) < 0)
    {
      if ((*err)->errnum != EEXIST)
        return -1;
      husk_error_free (err);
      return 0;
    }
  *ret_made = true;
  gw.s_addr = htonl (addr);
  if ((a->mtu && husk_nl_link_set_mtu (nl, a->bridge, a->mtu, err) < 0)
      || husk_nl_addr_add (nl, a->bridge, AF_INET, &gw, (unsigned int) prefix, err) < 0
      || husk_nl_link_up (nl, a->bridge, err) < 0)
    return -1;
  return 0;
}

/* From the holder's network namespace (this process's now): BRIDGE made when missing, a veth
   pair VETH on it and IFNAME in CTRNET; then, in CTRNET, IFNAME's address and up, lo up, and
   with DEFAULT_ROUTE the default route via the gateway.  This process ends in CTRNET.  */
static int
plug (const struct args *a, int ctrnet, const char *ifname, bool default_route,
      struct husk_error **err)
{
  struct husk_nl *nl = NULL;
  struct in_addr gw, me;
  uint32_t gaddr, addr;
  int gprefix;
  bool made;
  int r = -1;

  if (a->addr == NULL || a->veth == NULL || a->gateway == NULL
      || !ipv4_cidr_parse (a->gateway, &gaddr, &gprefix) || !ipv4_parse (a->addr, &addr))
    return husk_error_set (err, EINVAL, "needs addr=, veth= and gateway=");
  gw.s_addr = htonl (gaddr);
  me.s_addr = htonl (addr);
  if ((nl = husk_nl_open (NETLINK_ROUTE, err)) == NULL)
    return -1;
  if (bridge_ensure (nl, a, &made, err) < 0)
    goto done;
  if (made && nft_sync (a, err) < 0)
    goto done;
  if (husk_nl_veth_add (nl, a->veth, ifname, ctrnet, a->mtu, err) < 0)
    {
      /* An earlier run's end that its dying namespace has not taken away yet.  */
      if ((*err)->errnum != EEXIST)
        goto done;
      husk_error_free (err);
      if (husk_nl_link_del (nl, a->veth, err) < 0
          || husk_nl_veth_add (nl, a->veth, ifname, ctrnet, a->mtu, err) < 0)
        goto done;
    }
  if (husk_nl_link_set_master (nl, a->veth, a->bridge, err) < 0
      || husk_nl_link_up (nl, a->veth, err) < 0)
    goto done;
  husk_nl_close (nl);
  nl = NULL;
  /* The container's end, from inside its namespace (owned by the holder's user namespace, in
     which this process now is).  */
  if (setns (ctrnet, CLONE_NEWNET) < 0)
    {
      husk_error_set (err, errno, "join the container's network namespace");
      goto done;
    }
  if ((nl = husk_nl_open (NETLINK_ROUTE, err)) == NULL)
    goto done;
  {
    /* The MAC follows from the address (02:42 and its four bytes, locally administered, as
       docker long did): a container that gets the address an earlier one had also gets its
       MAC, so the neighbour caches of the holder and of the other containers, which nothing
       tells of the change, stay right.  A random MAC left the address unreachable until
       those entries went stale, tens of seconds.  */
    uint8_t mac[6] = { 0x02, 0x42 };
    memcpy (mac + 2, &me.s_addr, 4);
    if (husk_nl_link_set_mac (nl, ifname, mac, err) < 0)
      goto done;
  }
  if (husk_nl_addr_add (nl, ifname, AF_INET, &me, (unsigned int) gprefix, err) < 0
      || husk_nl_link_up (nl, ifname, err) < 0 || husk_nl_link_up (nl, "lo", err) < 0)
    goto done;
  if (default_route && husk_nl_route_add (nl, AF_INET, NULL, 0, &gw, ifname, err) < 0)
    goto done;
  r = 0;
done:
  husk_nl_close (nl);
  return r;
}

static int
do_attach (const struct args *a, struct husk_error **err)
{
  cleanup_close int ctrnet = -1;

  if (enter_holder (a->holder, &ctrnet, err) < 0)
    return -1;
  return plug (a, ctrnet, "eth0", !a->internal, err);
}

/* Another network for the running container whose process is PID: its next free ethN.  The
   process's /proc/PID/ns/net is opened from inside the holder's user namespace, which owns it
   (the container's processes there are dumpable, or their memory is that namespace's).  */
static int
do_connect (const struct args *a, struct husk_error **err)
{
  cleanup_close int userfd = -1, holdernet = -1, ctrnet = -1;
  char ifname[16] = "";

  if (a->pid <= 0)
    return husk_error_set (err, EINVAL, "connect needs pid=");
  if ((geteuid () != 0 && (userfd = open_ns (a->holder, "user", err)) < 0)
      || (holdernet = open_ns (a->holder, "net", err)) < 0)
    return -1;
  if (userfd >= 0 && setns (userfd, CLONE_NEWUSER) < 0)
    return husk_error_set (err, errno, "join the network namespace's user namespace");
  if ((ctrnet = open_ns (a->pid, "net", err)) < 0)
    return -1;
  if (setns (ctrnet, CLONE_NEWNET) < 0)
    return husk_error_set (err, errno, "join the container's network namespace");
  for (int i = 1; i < 100 && !ifname[0]; i++)
    {
      char name[16];
      snprintf (name, sizeof (name), "eth%d", i);
      if (if_nametoindex (name) == 0)
        memcpy (ifname, name, sizeof (name));
    }
  if (!ifname[0])
    return husk_error_set (err, ENOSPC, "the container has eth1 to eth99");
  if (setns (holdernet, CLONE_NEWNET) < 0)
    return husk_error_set (err, errno, "join the user's network namespace");
  return plug (a, ctrnet, ifname, false, err);
}

/* Delete the link NAME in the holder's network namespace; a missing one is no error.  */
static int
holder_link_del (const struct args *a, const char *name, struct husk_error **err)
{
  struct husk_nl *nl;
  int r = 0;

  if (enter_holder (a->holder, NULL, err) < 0 || (nl = husk_nl_open (NETLINK_ROUTE, err)) == NULL)
    return -1;
  if (husk_nl_link_del (nl, name, err) < 0)
    {
      if ((*err)->errnum == ENODEV)
        husk_error_free (err);
      else
        r = -1;
    }
  husk_nl_close (nl);
  return r;
}

/* The holder's end VETH of a container's pair goes, and the container's end with it.  */
static int
do_disconnect (const struct args *a, struct husk_error **err)
{
  if (a->veth == NULL)
    return husk_error_set (err, EINVAL, "disconnect needs veth=");
  return holder_link_del (a, a->veth, err);
}

static int
do_rmbridge (const struct args *a, struct husk_error **err)
{
  if (holder_link_del (a, a->bridge, err) < 0)
    return -1;
  return nft_sync (a, err);
}

int
husk_netattach_main (int argc, char **argv)
{
  cleanup_error struct husk_error *err = NULL;
  struct args a;
  int r;

  if (argc < 2)
    {
      fprintf (stderr, "husk-netns: no action\n");
      return 125;
    }
  if (parse_args (argc, argv, &a, &err) < 0)
    r = -1;
  else if (strcmp (argv[1], "attach") == 0 && (r = do_attach (&a, &err)) == 0)
    {
      /* The namespace is this process's: it says so, and keeps it until the container has
         joined it (its starter closes our stdin).  */
      char c;
      if (write (1, "ok\n", 3) != 3)
        return 125;
      while (read (0, &c, 1) > 0)
        ;
      return 0;
    }
  else if (strcmp (argv[1], "connect") == 0)
    r = do_connect (&a, &err);
  else if (strcmp (argv[1], "disconnect") == 0)
    r = do_disconnect (&a, &err);
  else if (strcmp (argv[1], "rmbridge") == 0)
    r = do_rmbridge (&a, &err);
  else
    r = husk_error_set (&err, EINVAL, "unknown action \"%s\"", argv[1]);
  if (r < 0)
    {
      fprintf (stderr, "%s\n", err ? err->msg : "failed");
      return 125;
    }
  return 0;
}
