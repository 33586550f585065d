/* Links, addresses, routes and nftables rules through netlink: see netlink.h.  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "netlink.h"
#include "util.h"
#include "banned.h"

/* A request here is a few hundred bytes (libmnl's MNL_SOCKET_BUFFER_SIZE is a sysconf call, not
   a constant); a read takes the 32 KiB a kernel dump fills at most at a time.  */
#define NL_MSG_SIZE 4096
#define NL_BUF_SIZE 32768

struct husk_nl
{
  struct mnl_socket *sock;
  unsigned int portid;
  unsigned int seq;
  int protocol;
  char ext[160]; /* The kernel's message (extended ack) for the last refusal, or "".  */
};

struct husk_nl *
husk_nl_open (int protocol, struct husk_error **err)
{
  struct husk_nl *nl;
  struct mnl_socket *sock = mnl_socket_open2 (protocol, SOCK_CLOEXEC);

  if (sock == NULL)
    {
      husk_error_set (err, errno, "netlink socket (protocol %d)", protocol);
      return NULL;
    }
  if (mnl_socket_bind (sock, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int e = errno;
      mnl_socket_close (sock);
      husk_error_set (err, e, "netlink socket (protocol %d): bind", protocol);
      return NULL;
    }
  /* The kernel's own words for a refusal ("Invalid MTU"), and errors that do not echo the
     whole request back; both best effort (4.12 and later).  */
  {
    int one = 1;
    setsockopt (mnl_socket_get_fd (sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof (one));
    setsockopt (mnl_socket_get_fd (sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof (one));
  }
  nl = calloc (1, sizeof (*nl));
  if (nl == NULL)
    {
      mnl_socket_close (sock);
      husk_error_set (err, ENOMEM, "netlink socket");
      return NULL;
    }
  nl->sock = sock;
  nl->portid = mnl_socket_get_portid (sock);
  nl->protocol = protocol;
  /* Start from something other than 0: a sequence number of 0 disables libmnl's check.  */
  nl->seq = 1;
  return nl;
}

void
husk_nl_close (struct husk_nl *nl)
{
  if (nl == NULL)
    return;
  mnl_socket_close (nl->sock);
  free (nl);
}

unsigned int
husk_nl_link_index (const char *name)
{
  return if_nametoindex (name);
}

/* The error code of the NLMSG_ERROR message NLH (0 for an acknowledgement), with the kernel's
   message, when it gave one, copied to NL->ext.  */
static int
nl_error_of (struct husk_nl *nl, const struct nlmsghdr *nlh)
{
  const struct nlmsgerr *e = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *attr;
  size_t hlen = sizeof (*e);

  if (nlh->nlmsg_len < mnl_nlmsg_size (sizeof (*e)))
    return -EPROTO;
  if (e->error == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
    return e->error;
  /* The attributes follow the request echoed back, whole unless capped (netlink(7)).  */
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
    {
      if (e->msg.nlmsg_len < sizeof (struct nlmsghdr) || e->msg.nlmsg_len > nlh->nlmsg_len)
        return e->error;
      hlen += e->msg.nlmsg_len - sizeof (struct nlmsghdr);
    }
  if (mnl_nlmsg_size (hlen) > nlh->nlmsg_len)
    return e->error;
  mnl_attr_for_each (attr, nlh, hlen)
  {
    if (mnl_attr_get_type (attr) == NLMSGERR_ATTR_MSG
        && mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) >= 0)
      snprintf (nl->ext, sizeof (nl->ext), "%s", mnl_attr_get_str (attr));
  }
  return e->error;
}

/* One exchange: libmnl hands the same pointer to the callbacks of data and of control
   messages, so this carries the caller's callback beside what the error callback keeps.  */
struct talk
{
  struct husk_nl *nl;
  int error;
  mnl_cb_t cb;
  void *data;
};

static int
talk_data_cb (const struct nlmsghdr *nlh, void *data)
{
  struct talk *t = data;
  return t->cb ? t->cb (nlh, t->data) : MNL_CB_OK;
}

static int
talk_error_cb (const struct nlmsghdr *nlh, void *data)
{
  struct talk *t = data;

  t->error = nl_error_of (t->nl, nlh);
  return t->error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

static int
talk_done_cb (const struct nlmsghdr *nlh, void *data)
{
  (void) nlh;
  (void) data;
  return MNL_CB_STOP;
}

static int
talk_overrun_cb (const struct nlmsghdr *nlh, void *data)
{
  struct talk *t = data;
  (void) nlh;
  t->error = -EIO;
  return MNL_CB_ERROR;
}

/* Read and drop what an earlier, failed exchange left on the socket (the rest of a dump), so
   that it is not taken for this one's answer.  */
static void
nl_drain (struct husk_nl *nl, char *buf)
{
  while (recv (mnl_socket_get_fd (nl->sock), buf, NL_BUF_SIZE, MSG_DONTWAIT) > 0)
    ;
}

/* Send the one request NLH (its sequence number set here) and read replies until its
   acknowledgement, the end of a dump or an error; CB (may be NULL) sees each data message.
   0, or -errno (the kernel's for a refusal).  */
static int
nl_talk (struct husk_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  cleanup_free char *buf = malloc (NL_BUF_SIZE);
  unsigned int seq = ++nl->seq;
  mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
    [NLMSG_ERROR] = talk_error_cb,
    [NLMSG_DONE] = talk_done_cb,
    [NLMSG_OVERRUN] = talk_overrun_cb,
  };
  struct talk t = { .nl = nl, .cb = cb, .data = data };
  int ret;

  nl->ext[0] = '\0';
  /* rtnetlink's message types are below 256, nfnetlink's carry the subsystem above.  */
  if (nl->protocol != ((nlh->nlmsg_type >> 8) ? NETLINK_NETFILTER : NETLINK_ROUTE))
    return -EPROTOTYPE;
  if (buf == NULL)
    return -ENOMEM;
  nl_drain (nl, buf);
  nlh->nlmsg_seq = seq;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  do
    {
      ssize_t n = mnl_socket_recvfrom (nl->sock, buf, NL_BUF_SIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            {
              ret = MNL_CB_OK;
              continue;
            }
          return -errno;
        }
      t.error = 0;
      ret = mnl_cb_run2 (buf, (size_t) n, seq, nl->portid, talk_data_cb, &t, ctl, NLMSG_MIN_TYPE);
    }
  while (ret > MNL_CB_STOP);
  if (ret < 0)
    return t.error < 0 ? t.error : errno > 0 ? -errno : -EPROTO;
  return 0;
}

/* husk_error_set, with the kernel's message for the refusal (NL->ext) before the errno's:
   "create veth \"v0\" (peer \"eth0\"): kernel: Invalid MTU: Invalid argument".  */
static int __attribute__ ((format (printf, 4, 5)))
nl_fail (struct husk_nl *nl, struct husk_error **err, int errnum, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&what, fmt, ap) < 0)
    what = NULL;
  va_end (ap);
  if (nl->ext[0] != '\0')
    {
      husk_error_set (err, errnum, "%s: kernel: %s", what ? what : fmt, nl->ext);
      nl->ext[0] = '\0';
    }
  else
    husk_error_set (err, errnum, "%s", what ? what : fmt);
  return errnum ? -errnum : -1;
}

static bool
ifname_ok (const char *name)
{
  size_t len = name ? strlen (name) : 0;
  return len > 0 && len < IFNAMSIZ;
}

#define CHECK_IFNAME(name, what)                                                                   \
  do                                                                                               \
    {                                                                                              \
      if (!ifname_ok (name))                                                                       \
        return husk_error_set (err, EINVAL, "%s \"%s\": not an interface name (1-%d bytes)", what, \
                               name ? name : "", IFNAMSIZ - 1);                                    \
    }                                                                                              \
  while (0)

/* An RTM_*LINK request header in BUF with its struct ifinfomsg (index 0: the kernel finds the
   link by IFLA_IFNAME).  */
static struct nlmsghdr *
link_msg (char *buf, uint16_t type, uint16_t flags, struct ifinfomsg **ret_ifi)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;

  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifi));
  ifi->ifi_family = AF_UNSPEC;
  if (ret_ifi)
    *ret_ifi = ifi;
  return nlh;
}

struct link_info
{
  unsigned int index;
  unsigned int master;
};

static int
link_attr_cb (const struct nlattr *attr, void *data)
{
  struct link_info *li = data;

  if (mnl_attr_get_type (attr) == IFLA_MASTER && mnl_attr_validate (attr, MNL_TYPE_U32) >= 0)
    li->master = mnl_attr_get_u32 (attr);
  return MNL_CB_OK;
}

static int
link_cb (const struct nlmsghdr *nlh, void *data)
{
  struct link_info *li = data;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);

  if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH (sizeof (*ifi)))
    return MNL_CB_OK;
  li->index = (unsigned int) ifi->ifi_index;
  return mnl_attr_parse (nlh, sizeof (*ifi), link_attr_cb, li);
}

/* NAME's index and master in the socket's namespace (RTM_GETLINK by name).  */
static int
link_get (struct husk_nl *nl, const char *name, struct link_info *li)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh = link_msg (buf, RTM_GETLINK, 0, NULL);
  int r;

  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32 (nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  memset (li, 0, sizeof (*li));
  r = nl_talk (nl, nlh, link_cb, li);
  if (r == 0 && li->index == 0)
    r = -ENODEV;
  return r;
}

int
husk_nl_bridge_add (struct husk_nl *nl, const char *name, struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  struct nlattr *linkinfo;
  int r;

  CHECK_IFNAME (name, "create bridge");
  nlh = link_msg (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end (nlh, linkinfo);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "create bridge \"%s\"", name);
  return 0;
}

int
husk_nl_veth_add (struct husk_nl *nl, const char *name, const char *peer_name, int peer_netns_fd,
                  unsigned int mtu, struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  struct nlattr *linkinfo, *infodata, *peer;
  struct ifinfomsg *peer_ifi;
  int r;

  CHECK_IFNAME (name, "create veth");
  CHECK_IFNAME (peer_name, "create veth peer");
  nlh = link_msg (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  if (mtu > 0)
    mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "veth");
  infodata = mnl_attr_nest_start (nlh, IFLA_INFO_DATA);
  /* VETH_INFO_PEER holds a whole link request of its own: a struct ifinfomsg, then the peer's
     attributes (linux/veth.h; drivers/net/veth.c parses it so).  */
  peer = mnl_attr_nest_start (nlh, VETH_INFO_PEER);
  peer_ifi = mnl_nlmsg_get_payload_tail (nlh);
  nlh->nlmsg_len += MNL_ALIGN (sizeof (*peer_ifi));
  memset (peer_ifi, 0, sizeof (*peer_ifi));
  peer_ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, peer_name);
  if (mtu > 0)
    mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  if (peer_netns_fd >= 0)
    mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  mnl_attr_nest_end (nlh, peer);
  mnl_attr_nest_end (nlh, infodata);
  mnl_attr_nest_end (nlh, linkinfo);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "create veth \"%s\" (peer \"%s\")", name, peer_name);
  return 0;
}

int
husk_nl_link_up (struct husk_nl *nl, const char *name, struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct ifinfomsg *ifi;
  struct nlmsghdr *nlh;
  int r;

  CHECK_IFNAME (name, "set link up");
  nlh = link_msg (buf, RTM_NEWLINK, 0, &ifi);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "set link \"%s\" up", name);
  return 0;
}

int
husk_nl_link_del (struct husk_nl *nl, const char *name, struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  int r;

  CHECK_IFNAME (name, "delete link");
  nlh = link_msg (buf, RTM_DELLINK, 0, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "delete link \"%s\"", name);
  return 0;
}

int
husk_nl_link_set_master (struct husk_nl *nl, const char *name, const char *bridge,
                         struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  struct link_info master = { 0 };
  int r;

  CHECK_IFNAME (name, "set master of link");
  if (bridge != NULL)
    {
      CHECK_IFNAME (bridge, "set master to bridge");
      r = link_get (nl, bridge, &master);
      if (r < 0)
        return nl_fail (nl, err, -r, "set master of link \"%s\": bridge \"%s\"", name, bridge);
    }
  nlh = link_msg (buf, RTM_NEWLINK, 0, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32 (nlh, IFLA_MASTER, master.index);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "set master of link \"%s\" to \"%s\"", name,
                    bridge ? bridge : "(none)");
  return 0;
}

int
husk_nl_link_get_master (struct husk_nl *nl, const char *name, unsigned int *ret_index,
                         struct husk_error **err)
{
  struct link_info li;
  int r;

  CHECK_IFNAME (name, "get link");
  r = link_get (nl, name, &li);
  if (r < 0)
    return nl_fail (nl, err, -r, "get link \"%s\"", name);
  *ret_index = li.master;
  return 0;
}

int
husk_nl_link_get_index (struct husk_nl *nl, const char *name, unsigned int *ret_index,
                        struct husk_error **err)
{
  struct link_info li;
  int r;

  CHECK_IFNAME (name, "get link");
  r = link_get (nl, name, &li);
  if (r < 0)
    return nl_fail (nl, err, -r, "get link \"%s\"", name);
  *ret_index = li.index;
  return 0;
}

int
husk_nl_link_set_mtu (struct husk_nl *nl, const char *name, unsigned int mtu,
                      struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  int r;

  CHECK_IFNAME (name, "set mtu of link");
  nlh = link_msg (buf, RTM_NEWLINK, 0, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "set mtu of link \"%s\" to %u", name, mtu);
  return 0;
}

int
husk_nl_link_set_mac (struct husk_nl *nl, const char *name, const uint8_t mac[6],
                      struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct nlmsghdr *nlh;
  int r;

  CHECK_IFNAME (name, "set the address of link");
  nlh = link_msg (buf, RTM_NEWLINK, 0, NULL);
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  mnl_attr_put (nlh, IFLA_ADDRESS, 6, mac);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "set the address of link \"%s\" to %02x:%02x:%02x:%02x:%02x:%02x",
                    name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return 0;
}

static int
family_addr_len (int family, size_t *ret_len, unsigned int *ret_maxprefix)
{
  if (family == AF_INET)
    {
      *ret_len = 4;
      *ret_maxprefix = 32;
      return 0;
    }
  if (family == AF_INET6)
    {
      *ret_len = 16;
      *ret_maxprefix = 128;
      return 0;
    }
  return -EAFNOSUPPORT;
}

static const char *
addr_str (int family, const void *addr, char *buf, size_t size)
{
  if (addr == NULL || inet_ntop (family, addr, buf, (socklen_t) size) == NULL)
    return "?";
  return buf;
}

int
husk_nl_addr_add (struct husk_nl *nl, const char *name, int family, const void *addr,
                  unsigned int prefixlen, struct husk_error **err)
{
  char buf[NL_MSG_SIZE], a[INET6_ADDRSTRLEN];
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;
  struct link_info li;
  unsigned int maxprefix;
  size_t alen;
  int r;

  CHECK_IFNAME (name, "add address to");
  r = family_addr_len (family, &alen, &maxprefix);
  if (r == 0 && (addr == NULL || prefixlen > maxprefix))
    r = -EINVAL;
  if (r < 0)
    return nl_fail (nl, err, -r, "add address %s/%u to \"%s\"",
                    addr_str (family, addr, a, sizeof (a)), prefixlen, name);
  addr_str (family, addr, a, sizeof (a));
  r = link_get (nl, name, &li);
  if (r < 0)
    return nl_fail (nl, err, -r, "add address %s/%u to \"%s\"", a, prefixlen, name);
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifa));
  ifa->ifa_family = (uint8_t) family;
  ifa->ifa_prefixlen = (uint8_t) prefixlen;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = li.index;
  /* IFA_LOCAL is the interface's own address; IFA_ADDRESS, on a link that is not
     point-to-point, the same (rtnetlink(7); what ip(8) sends).  */
  mnl_attr_put (nlh, IFA_LOCAL, alen, addr);
  mnl_attr_put (nlh, IFA_ADDRESS, alen, addr);
  /* Addresses husk gives out are its own to give: no duplicate address detection, whose
     second or so of a tentative address would fail the first bind or send.  */
  if (family == AF_INET6)
    mnl_attr_put_u32 (nlh, IFA_FLAGS, IFA_F_NODAD);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "add address %s/%u to \"%s\"", a, prefixlen, name);
  return 0;
}

int
husk_nl_route_add (struct husk_nl *nl, int family, const void *dst, unsigned int prefixlen,
                   const void *gateway, const char *oif_name, struct husk_error **err)
{
  char buf[NL_MSG_SIZE], d[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8];
  char o[IFNAMSIZ + 12];
  struct nlmsghdr *nlh;
  struct rtmsg *rtm;
  struct link_info li = { 0 };
  unsigned int maxprefix;
  size_t alen;
  int r;

  if (dst == NULL)
    {
      prefixlen = 0;
      snprintf (d, sizeof (d), "default");
    }
  else
    {
      char a[INET6_ADDRSTRLEN];
      snprintf (d, sizeof (d), "%s/%u", addr_str (family, dst, a, sizeof (a)), prefixlen);
    }
  g[0] = o[0] = '\0';
  if (gateway != NULL)
    {
      char a[INET6_ADDRSTRLEN];
      snprintf (g, sizeof (g), " via %s", addr_str (family, gateway, a, sizeof (a)));
    }
  if (oif_name != NULL)
    snprintf (o, sizeof (o), " dev \"%.*s\"", IFNAMSIZ, oif_name);
  r = family_addr_len (family, &alen, &maxprefix);
  if (r == 0 && (prefixlen > maxprefix || (gateway == NULL && oif_name == NULL)))
    r = -EINVAL;
  if (r == 0 && oif_name != NULL)
    r = ifname_ok (oif_name) ? link_get (nl, oif_name, &li) : -EINVAL;
  if (r < 0)
    return nl_fail (nl, err, -r, "add route %s%s%s", d, g, o);
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  rtm = mnl_nlmsg_put_extra_header (nlh, sizeof (*rtm));
  rtm->rtm_family = (uint8_t) family;
  rtm->rtm_dst_len = (uint8_t) prefixlen;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  /* A route without a next hop reaches hosts on the link itself.  */
  rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (dst != NULL)
    mnl_attr_put (nlh, RTA_DST, alen, dst);
  if (gateway != NULL)
    mnl_attr_put (nlh, RTA_GATEWAY, alen, gateway);
  if (oif_name != NULL)
    mnl_attr_put_u32 (nlh, RTA_OIF, li.index);
  r = nl_talk (nl, nlh, NULL, NULL);
  if (r < 0)
    return nl_fail (nl, err, -r, "add route %s%s%s", d, g, o);
  return 0;
}

/* nftables.  */

#define NFT_TABLE_FAMILY NFPROTO_IPV4
#define NFT_NAME_MAX 255

/* A message of the batches here is at most this long: two names of NFT_NAME_MAX bytes and a
   rule's six expressions.  */
#define NFT_MSG_MAX 2048

struct nft_batch
{
  struct mnl_nlmsg_batch *b;
  struct husk_nl *nl;
  /* The last nf_tables message, the only one sent with NLM_F_ACK: an acknowledgement for each
     would overflow the socket's receive buffer on a batch of a few hundred rules (ENOBUFS),
     and a refusal is reported whether asked for or not.  */
  struct nlmsghdr *last;
  char buf[]; /* Room for the messages, and one more that may spill past the limit.  */
};

static void
nft_batch_freep (struct nft_batch **p)
{
  if (*p != NULL && (*p)->b != NULL)
    mnl_nlmsg_batch_stop ((*p)->b);
  free (*p);
}
#define cleanup_batch __attribute__ ((cleanup (nft_batch_freep)))

static struct nlmsghdr *nft_put (struct nft_batch *batch, uint16_t type, uint16_t flags,
                                 uint8_t family, uint16_t res_id);

/* A batch for N_MSGS messages on NL, begun (NFNL_MSG_BATCH_BEGIN); NULL when out of memory.  */
static struct nft_batch *
nft_batch_new (struct husk_nl *nl, size_t n_msgs)
{
  size_t limit = (n_msgs + 2) * NFT_MSG_MAX;
  struct nft_batch *batch = calloc (1, sizeof (*batch) + limit + NFT_MSG_MAX);

  if (batch == NULL)
    return NULL;
  batch->nl = nl;
  batch->b = mnl_nlmsg_batch_start (batch->buf, limit);
  if (batch->b == NULL)
    {
      free (batch);
      return NULL;
    }
  nft_put (batch, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  mnl_nlmsg_batch_next (batch->b);
  return batch;
}

static struct nlmsghdr *
nft_put (struct nft_batch *batch, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (mnl_nlmsg_batch_current (batch->b));
  struct nfgenmsg *nfg;

  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = ++batch->nl->seq;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof (*nfg));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons (res_id);
  return nlh;
}

/* An nf_tables message in the batch: TYPE one of NFT_MSG_*, FLAGS beside NLM_F_REQUEST.  The
   caller adds attributes and calls nft_batch_next.  */
static struct nlmsghdr *
nft_msg (struct nft_batch *batch, int type, uint16_t flags)
{
  batch->last = nft_put (batch, (uint16_t) ((NFNL_SUBSYS_NFTABLES << 8) | type), flags,
                         NFT_TABLE_FAMILY, 0);
  return batch->last;
}

static int
nft_batch_next (struct nft_batch *batch)
{
  /* false when the next message might not fit: the batches here are a few hundred bytes.  */
  return mnl_nlmsg_batch_next (batch->b) ? 0 : -ENOBUFS;
}

/* Close the batch, send it, read every reply.  The kernel runs a batch inside the sendmsg that
   hands it over, so its errors and the last message's acknowledgement are queued on the socket
   when the send returns: they are read without waiting, and a missing acknowledgement is an
   error.  0, or the -errno of the first message refused (EMSGSIZE for a batch larger than the
   socket's send buffer, about 200 KiB).  */
static int
nft_batch_send (struct nft_batch *batch)
{
  cleanup_free char *buf = malloc (NL_BUF_SIZE);
  int fd = mnl_socket_get_fd (batch->nl->sock);
  unsigned int acks = 0;
  int first_error = 0;

  batch->nl->ext[0] = '\0';
  if (batch->nl->protocol != NETLINK_NETFILTER)
    return -EPROTOTYPE;
  if (buf == NULL)
    return -ENOMEM;
  nl_drain (batch->nl, buf);
  if (batch->last != NULL)
    batch->last->nlmsg_flags |= NLM_F_ACK;
  nft_put (batch, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  mnl_nlmsg_batch_next (batch->b);
  if (mnl_socket_sendto (batch->nl->sock, mnl_nlmsg_batch_head (batch->b),
                         mnl_nlmsg_batch_size (batch->b))
      < 0)
    return -errno;
  for (;;)
    {
      ssize_t n = recv (fd, buf, NL_BUF_SIZE, MSG_DONTWAIT);
      int len;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        return -errno;
      len = (int) n;
      for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok (nlh, len);
           nlh = mnl_nlmsg_next (nlh, &len))
        {
          int error;

          if (nlh->nlmsg_type != NLMSG_ERROR)
            continue;
          /* The first refusal's message is the one kept: the later ones may be its echo.  */
          error = first_error == 0 ? nl_error_of (batch->nl, nlh) : -1;
          if (error == 0)
            acks++;
          else if (first_error == 0)
            first_error = error;
        }
    }
  if (first_error != 0)
    return first_error < 0 ? first_error : -first_error;
  if (batch->last != NULL && acks == 0)
    return -EPROTO;
  return 0;
}

static int
nft_name_check (const char *name)
{
  size_t len = name ? strlen (name) : 0;
  return len > 0 && len <= NFT_NAME_MAX ? 0 : -EINVAL;
}

static void
nft_chain (struct nlmsghdr *nlh, const char *table, const char *chain, const char *type,
           uint32_t hook, int32_t priority)
{
  struct nlattr *h;

  mnl_attr_put_strz (nlh, NFTA_CHAIN_TABLE, table);
  mnl_attr_put_strz (nlh, NFTA_CHAIN_NAME, chain);
  h = mnl_attr_nest_start (nlh, NFTA_CHAIN_HOOK);
  mnl_attr_put_u32 (nlh, NFTA_HOOK_HOOKNUM, htonl (hook));
  mnl_attr_put_u32 (nlh, NFTA_HOOK_PRIORITY, htonl ((uint32_t) priority));
  mnl_attr_nest_end (nlh, h);
  mnl_attr_put_strz (nlh, NFTA_CHAIN_TYPE, type);
  mnl_attr_put_u32 (nlh, NFTA_CHAIN_POLICY, htonl (NF_ACCEPT));
}

/* The table and its two base chains, created or kept.  */
static int
put_setup (struct nft_batch *batch, const char *table)
{
  struct nlmsghdr *nlh = nft_msg (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  int r;

  mnl_attr_put_strz (nlh, NFTA_TABLE_NAME, table);
  r = nft_batch_next (batch);
  if (r == 0)
    {
      nlh = nft_msg (batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
      nft_chain (nlh, table, "postrouting", "nat", NF_INET_POST_ROUTING, 100);
      r = nft_batch_next (batch);
    }
  if (r == 0)
    {
      nlh = nft_msg (batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
      nft_chain (nlh, table, "forward", "filter", NF_INET_FORWARD, 0);
      r = nft_batch_next (batch);
    }
  return r;
}

/* Every rule of TABLE deleted (NFT_MSG_DELRULE naming no chain), or TABLE itself
   (NFT_MSG_DELTABLE), as TYPE says.  */
static int
put_table_op (struct nft_batch *batch, const char *table, int type)
{
  struct nlmsghdr *nlh = nft_msg (batch, type, 0);
  mnl_attr_put_strz (nlh, type == NFT_MSG_DELTABLE ? NFTA_TABLE_NAME : NFTA_RULE_TABLE, table);
  return nft_batch_next (batch);
}

int
husk_nft_setup (struct husk_nl *nl, const char *table, struct husk_error **err)
{
  cleanup_batch struct nft_batch *batch = nft_batch_new (nl, 3);
  int r = nft_name_check (table);

  if (r == 0 && batch == NULL)
    r = -ENOMEM;
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\"", table ? table : "");
  r = put_setup (batch, table);
  if (r == 0)
    r = nft_batch_send (batch);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": create with its chains", table);
  return 0;
}

/* Rule expressions: each an element of NFTA_RULE_EXPRESSIONS, a name and its data.  */

static struct nlattr *
expr_begin (struct nlmsghdr *nlh, const char *name, struct nlattr **ret_elem)
{
  *ret_elem = mnl_attr_nest_start (nlh, NFTA_LIST_ELEM);
  mnl_attr_put_strz (nlh, NFTA_EXPR_NAME, name);
  return mnl_attr_nest_start (nlh, NFTA_EXPR_DATA);
}

static void
expr_end (struct nlmsghdr *nlh, struct nlattr *elem, struct nlattr *data)
{
  mnl_attr_nest_end (nlh, data);
  mnl_attr_nest_end (nlh, elem);
}

static void
put_data_value (struct nlmsghdr *nlh, uint16_t type, const void *value, size_t len)
{
  struct nlattr *d = mnl_attr_nest_start (nlh, type);
  mnl_attr_put (nlh, NFTA_DATA_VALUE, len, value);
  mnl_attr_nest_end (nlh, d);
}

/* Load LEN bytes at OFFSET of the network header into register 1.  */
static void
expr_payload (struct nlmsghdr *nlh, uint32_t offset, uint32_t len)
{
  struct nlattr *elem, *data = expr_begin (nlh, "payload", &elem);
  mnl_attr_put_u32 (nlh, NFTA_PAYLOAD_DREG, htonl (NFT_REG_1));
  mnl_attr_put_u32 (nlh, NFTA_PAYLOAD_BASE, htonl (NFT_PAYLOAD_NETWORK_HEADER));
  mnl_attr_put_u32 (nlh, NFTA_PAYLOAD_OFFSET, htonl (offset));
  mnl_attr_put_u32 (nlh, NFTA_PAYLOAD_LEN, htonl (len));
  expr_end (nlh, elem, data);
}

/* Register 1 = (register 1 & MASK) ^ 0, over LEN bytes.  */
static void
expr_mask (struct nlmsghdr *nlh, const void *mask, uint32_t len)
{
  static const uint8_t zero[16];
  struct nlattr *elem, *data = expr_begin (nlh, "bitwise", &elem);
  mnl_attr_put_u32 (nlh, NFTA_BITWISE_SREG, htonl (NFT_REG_1));
  mnl_attr_put_u32 (nlh, NFTA_BITWISE_DREG, htonl (NFT_REG_1));
  mnl_attr_put_u32 (nlh, NFTA_BITWISE_LEN, htonl (len));
  put_data_value (nlh, NFTA_BITWISE_MASK, mask, len);
  put_data_value (nlh, NFTA_BITWISE_XOR, zero, len);
  expr_end (nlh, elem, data);
}

/* Register 1 = the packet's input or output interface name (KEY NFT_META_IIFNAME or
   NFT_META_OIFNAME).  */
static void
expr_meta (struct nlmsghdr *nlh, uint32_t key)
{
  struct nlattr *elem, *data = expr_begin (nlh, "meta", &elem);
  mnl_attr_put_u32 (nlh, NFTA_META_KEY, htonl (key));
  mnl_attr_put_u32 (nlh, NFTA_META_DREG, htonl (NFT_REG_1));
  expr_end (nlh, elem, data);
}

/* Compare register 1 with VALUE (OP NFT_CMP_EQ or NFT_CMP_NEQ); the rule stops when false.  */
static void
expr_cmp (struct nlmsghdr *nlh, uint32_t op, const void *value, size_t len)
{
  struct nlattr *elem, *data = expr_begin (nlh, "cmp", &elem);
  mnl_attr_put_u32 (nlh, NFTA_CMP_SREG, htonl (NFT_REG_1));
  mnl_attr_put_u32 (nlh, NFTA_CMP_OP, htonl (op));
  put_data_value (nlh, NFTA_CMP_DATA, value, len);
  expr_end (nlh, elem, data);
}

/* An interface name compared whole: the IFNAMSIZ bytes of the name padded with zeros, as the
   kernel keeps it (nft matches "eth0" so, and "eth*" on a shorter length).  */
static void
expr_ifname (struct nlmsghdr *nlh, uint32_t key, uint32_t op, const char *name)
{
  char padded[IFNAMSIZ] = { 0 };

  memcpy (padded, name, strlen (name));
  expr_meta (nlh, key);
  expr_cmp (nlh, op, padded, sizeof (padded));
}

static void
expr_simple (struct nlmsghdr *nlh, const char *name)
{
  struct nlattr *elem = mnl_attr_nest_start (nlh, NFTA_LIST_ELEM);
  mnl_attr_put_strz (nlh, NFTA_EXPR_NAME, name);
  mnl_attr_nest_end (nlh, elem);
}

static void
expr_verdict (struct nlmsghdr *nlh, int32_t code)
{
  struct nlattr *elem, *data = expr_begin (nlh, "immediate", &elem), *d, *v;
  mnl_attr_put_u32 (nlh, NFTA_IMMEDIATE_DREG, htonl (NFT_REG_VERDICT));
  d = mnl_attr_nest_start (nlh, NFTA_IMMEDIATE_DATA);
  v = mnl_attr_nest_start (nlh, NFTA_DATA_VERDICT);
  mnl_attr_put_u32 (nlh, NFTA_VERDICT_CODE, htonl ((uint32_t) code));
  mnl_attr_nest_end (nlh, v);
  mnl_attr_nest_end (nlh, d);
  expr_end (nlh, elem, data);
}

/* A NEWRULE appended to TABLE's CHAIN; the caller puts the expressions, then rule_end.  */
static struct nlmsghdr *
rule_begin (struct nft_batch *batch, const char *table, const char *chain,
            struct nlattr **ret_exprs)
{
  struct nlmsghdr *nlh = nft_msg (batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
  mnl_attr_put_strz (nlh, NFTA_RULE_TABLE, table);
  mnl_attr_put_strz (nlh, NFTA_RULE_CHAIN, chain);
  *ret_exprs = mnl_attr_nest_start (nlh, NFTA_RULE_EXPRESSIONS);
  return nlh;
}

static int
rule_end (struct nft_batch *batch, struct nlmsghdr *nlh, struct nlattr *exprs)
{
  mnl_attr_nest_end (nlh, exprs);
  return nft_batch_next (batch);
}

/* ip saddr SUBNET/PREFIXLEN oifname != "BRIDGE" masquerade.  */
static int
put_masquerade (struct nft_batch *batch, const char *table, const void *subnet,
                unsigned int prefixlen, const char *bridge)
{
  uint32_t mask = prefixlen == 0 ? 0 : htonl (~(uint32_t) 0 << (32 - prefixlen));
  struct nlattr *exprs;
  struct nlmsghdr *nlh;
  uint32_t net;

  memcpy (&net, subnet, sizeof (net));
  net &= mask;
  nlh = rule_begin (batch, table, "postrouting", &exprs);
  if (prefixlen > 0)
    {
      /* ip saddr: 4 bytes at offset 12 of the IPv4 header.  */
      expr_payload (nlh, 12, 4);
      if (prefixlen < 32)
        expr_mask (nlh, &mask, 4);
      expr_cmp (nlh, NFT_CMP_EQ, &net, 4);
    }
  expr_ifname (nlh, NFT_META_OIFNAME, NFT_CMP_NEQ, bridge);
  expr_simple (nlh, "masq");
  return rule_end (batch, nlh, exprs);
}

/* iifname "IN" oifname (!=, when NOT_OUT) "OUT" drop.  */
static int
put_drop (struct nft_batch *batch, const char *table, const char *in, const char *out, bool not_out)
{
  struct nlattr *exprs;
  struct nlmsghdr *nlh = rule_begin (batch, table, "forward", &exprs);

  expr_ifname (nlh, NFT_META_IIFNAME, NFT_CMP_EQ, in);
  expr_ifname (nlh, NFT_META_OIFNAME, not_out ? NFT_CMP_NEQ : NFT_CMP_EQ, out);
  expr_verdict (nlh, NF_DROP);
  return rule_end (batch, nlh, exprs);
}

static int
put_isolate (struct nft_batch *batch, const char *table, const char *a, const char *b)
{
  int r = put_drop (batch, table, a, b, false);
  return r < 0 ? r : put_drop (batch, table, b, a, false);
}

/* iifname "BRIDGE" oifname != "BRIDGE" drop, and the way in: that one matches its input
   interface against everything but BRIDGE, so it is written with the comparisons swapped.  */
static int
put_internal (struct nft_batch *batch, const char *table, const char *bridge)
{
  struct nlattr *exprs;
  struct nlmsghdr *nlh;
  int r = put_drop (batch, table, bridge, bridge, true);

  if (r < 0)
    return r;
  nlh = rule_begin (batch, table, "forward", &exprs);
  expr_ifname (nlh, NFT_META_OIFNAME, NFT_CMP_EQ, bridge);
  expr_ifname (nlh, NFT_META_IIFNAME, NFT_CMP_NEQ, bridge);
  expr_verdict (nlh, NF_DROP);
  return rule_end (batch, nlh, exprs);
}

int
husk_nft_masquerade (struct husk_nl *nl, const char *table, const void *subnet,
                     unsigned int prefixlen, const char *bridge, struct husk_error **err)
{
  cleanup_batch struct nft_batch *batch = nft_batch_new (nl, 1);
  char s[INET_ADDRSTRLEN];
  int r = nft_name_check (table);

  addr_str (AF_INET, subnet, s, sizeof (s));
  if (r == 0 && (subnet == NULL || prefixlen > 32 || !ifname_ok (bridge)))
    r = -EINVAL;
  if (r == 0 && batch == NULL)
    r = -ENOMEM;
  if (r == 0)
    r = put_masquerade (batch, table, subnet, prefixlen, bridge);
  if (r == 0)
    r = nft_batch_send (batch);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": masquerade %s/%u not out of \"%s\"",
                    table ? table : "", s, prefixlen, bridge ? bridge : "");
  return 0;
}

int
husk_nft_isolate (struct husk_nl *nl, const char *table, const char *bridge_a, const char *bridge_b,
                  struct husk_error **err)
{
  cleanup_batch struct nft_batch *batch = nft_batch_new (nl, 2);
  int r = nft_name_check (table);

  if (r == 0 && (!ifname_ok (bridge_a) || !ifname_ok (bridge_b)))
    r = -EINVAL;
  if (r == 0 && batch == NULL)
    r = -ENOMEM;
  if (r == 0)
    r = put_isolate (batch, table, bridge_a, bridge_b);
  if (r == 0)
    r = nft_batch_send (batch);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": isolate \"%s\" from \"%s\"", table ? table : "",
                    bridge_a ? bridge_a : "", bridge_b ? bridge_b : "");
  return 0;
}

int
husk_nft_internal (struct husk_nl *nl, const char *table, const char *bridge,
                   struct husk_error **err)
{
  cleanup_batch struct nft_batch *batch = nft_batch_new (nl, 2);
  int r = nft_name_check (table);

  if (r == 0 && !ifname_ok (bridge))
    r = -EINVAL;
  if (r == 0 && batch == NULL)
    r = -ENOMEM;
  if (r == 0)
    r = put_internal (batch, table, bridge);
  if (r == 0)
    r = nft_batch_send (batch);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": keep \"%s\" internal", table ? table : "",
                    bridge ? bridge : "");
  return 0;
}

int
husk_nft_apply (struct husk_nl *nl, const char *table, const struct husk_nft_network *nets,
                size_t n_nets, struct husk_error **err)
{
  cleanup_batch struct nft_batch *batch = NULL;
  size_t n_msgs;
  int r = nft_name_check (table);

  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\"", table ? table : "");
  /* Beyond about 25 networks the batch outgrows the socket's send buffer anyway (EMSGSIZE):
     the bound keeps the buffer allocated for it small.  */
  if (n_nets > 32)
    return nl_fail (nl, err, E2BIG, "nft table \"%s\": %zu networks (at most 32)", table, n_nets);
  for (size_t i = 0; i < n_nets; i++)
    if (!ifname_ok (nets[i].bridge) || nets[i].prefixlen > 32)
      return nl_fail (nl, err, EINVAL, "nft table \"%s\": network on bridge \"%s\"", table,
                      nets[i].bridge ? nets[i].bridge : "");
  /* The table and chains, the flush, two rules a network at most, two a pair.  */
  n_msgs = 4 + 2 * n_nets + n_nets * (n_nets ? n_nets - 1 : 0);
  batch = nft_batch_new (nl, n_msgs);
  if (batch == NULL)
    return nl_fail (nl, err, ENOMEM, "nft table \"%s\"", table);
  r = put_setup (batch, table);
  if (r == 0)
    r = put_table_op (batch, table, NFT_MSG_DELRULE);
  for (size_t i = 0; i < n_nets && r == 0; i++)
    {
      if (nets[i].internal)
        r = put_internal (batch, table, nets[i].bridge);
      else
        r = put_masquerade (batch, table, &nets[i].subnet, nets[i].prefixlen, nets[i].bridge);
      for (size_t j = i + 1; j < n_nets && r == 0; j++)
        r = put_isolate (batch, table, nets[i].bridge, nets[j].bridge);
    }
  if (r == 0)
    r = nft_batch_send (batch);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": apply the rules of %zu networks", table,
                    n_nets);
  return 0;
}

/* A batch of one message on TABLE: see put_table_op.  */
static int
nft_table_op (struct husk_nl *nl, const char *table, int type)
{
  cleanup_batch struct nft_batch *batch = nft_batch_new (nl, 1);
  int r = nft_name_check (table);

  if (r == 0 && batch == NULL)
    r = -ENOMEM;
  if (r == 0)
    r = put_table_op (batch, table, type);
  if (r == 0)
    r = nft_batch_send (batch);
  return r;
}

int
husk_nft_flush_table (struct husk_nl *nl, const char *table, struct husk_error **err)
{
  int r = nft_table_op (nl, table, NFT_MSG_DELRULE);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": flush", table ? table : "");
  return 0;
}

int
husk_nft_delete_table (struct husk_nl *nl, const char *table, struct husk_error **err)
{
  int r = nft_table_op (nl, table, NFT_MSG_DELTABLE);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\": delete", table ? table : "");
  return 0;
}

struct rule_count
{
  const char *table, *chain;
  unsigned int n;
  bool table_ok, chain_ok;
};

static int
rule_attr_cb (const struct nlattr *attr, void *data)
{
  struct rule_count *rc = data;
  uint16_t type = mnl_attr_get_type (attr);

  if ((type == NFTA_RULE_TABLE || type == NFTA_RULE_CHAIN)
      && mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) >= 0)
    {
      const char *s = mnl_attr_get_str (attr);
      if (type == NFTA_RULE_TABLE)
        rc->table_ok = strcmp (s, rc->table) == 0;
      else
        rc->chain_ok = strcmp (s, rc->chain) == 0;
    }
  return MNL_CB_OK;
}

static int
rule_cb (const struct nlmsghdr *nlh, void *data)
{
  struct rule_count *rc = data;

  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE)
    return MNL_CB_OK;
  rc->table_ok = rc->chain_ok = false;
  if (mnl_attr_parse (nlh, sizeof (struct nfgenmsg), rule_attr_cb, rc) < 0)
    return MNL_CB_ERROR;
  /* The kernel filters the dump by table and chain; counting checks it again.  */
  if (rc->table_ok && rc->chain_ok)
    rc->n++;
  return MNL_CB_OK;
}

int
husk_nft_rule_count (struct husk_nl *nl, const char *table, const char *chain,
                     unsigned int *ret_count, struct husk_error **err)
{
  char buf[NL_MSG_SIZE];
  struct rule_count rc = { .table = table, .chain = chain };
  struct nlmsghdr *nlh;
  struct nfgenmsg *nfg;
  int r = nft_name_check (table);

  if (r == 0)
    r = nft_name_check (chain);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\" chain \"%s\": list rules", table ? table : "",
                    chain ? chain : "");
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof (*nfg));
  nfg->nfgen_family = NFT_TABLE_FAMILY;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_strz (nlh, NFTA_RULE_TABLE, table);
  mnl_attr_put_strz (nlh, NFTA_RULE_CHAIN, chain);
  r = nl_talk (nl, nlh, rule_cb, &rc);
  if (r < 0)
    return nl_fail (nl, err, -r, "nft table \"%s\" chain \"%s\": list rules", table, chain);
  *ret_count = rc.n;
  return 0;
}

int
husk_net_sysctl_set (const char *path, const char *value, struct husk_error **err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    return husk_error_set (err, errno, "sysctl \"%s\": open", path);
  if (husk_write_all (fd, value, strlen (value)) < 0)
    return husk_error_set (err, errno, "sysctl \"%s\": write \"%s\"", path, value);
  return 0;
}
