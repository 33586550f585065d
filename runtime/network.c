#include "config.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "network.h"
#include "banned.h"

int
husk_network_lo_up (struct husk_error **err)
{
  char buf[8192];
  struct mnl_socket *nl;
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifm;
  unsigned seq = (unsigned) time (NULL), portid;
  ssize_t n;
  int r;

  nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == NULL)
    return husk_error_set (err, errno, "network: netlink socket");
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      r = errno;
      mnl_socket_close (nl);
      return husk_error_set (err, r, "network: bind netlink socket");
    }
  portid = mnl_socket_get_portid (nl);

  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  ifm = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifm));
  memset (ifm, 0, sizeof (*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = 0;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, "lo");

  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    {
      r = errno;
      mnl_socket_close (nl);
      return husk_error_set (err, r, "network: send to netlink");
    }
  n = mnl_socket_recvfrom (nl, buf, sizeof (buf));
  r = n < 0 ? -1 : mnl_cb_run (buf, (size_t) n, seq, portid, NULL, NULL);
  if (r < 0)
    {
      r = errno;
      mnl_socket_close (nl);
      return husk_error_set (err, r, "network: bring \"lo\" up");
    }
  mnl_socket_close (nl);
  return 0;
}
