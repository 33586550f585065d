/* husk: links, addresses, routes and nftables rules through netlink (libmnl).

   The layer user networks are built on: a bridge per network, a veth pair per container whose
   peer is made directly inside the container's network namespace, addresses and routes, and
   an nf_tables table that masquerades a network's traffic and keeps networks apart.

   Every call works in the network namespace the socket was opened in (husk_nl_open binds it to
   the namespace of the calling thread at that moment; a later setns does not move it).  Every
   request asks for an acknowledgement (an nftables batch: its last message) and reads it before
   the call returns, so a kernel refusal comes back as that call's error.  Functions returning
   int return 0 on success and a negative value (-errno when there is one) on failure with *ERR
   set to one line naming the interface or object, its errnum the kernel's errno (EEXIST,
   ENODEV, EPERM, ...).  When the kernel explains a refusal (extended ack), its words are in the
   message: "add route default via 192.0.2.1 dev \"eth0\": kernel: Nexthop has invalid gateway:
   Network is unreachable".  Interface names are at most IFNAMSIZ - 1 (15) bytes; longer ones
   fail with EINVAL.  A husk_nft_* call on a NETLINK_ROUTE socket, or a husk_nl_* one on a
   NETLINK_NETFILTER socket, fails with EPROTOTYPE.  A struct husk_nl is for one thread at a
   time.

   References: rtnetlink(7), netlink(7), linux/if_link.h, linux/veth.h, linux/if_addr.h,
   linux/rtnetlink.h; nf_tables over nfnetlink: linux/netfilter/nf_tables.h and
   linux/netfilter/nfnetlink.h (a batch between NFNL_MSG_BATCH_BEGIN and NFNL_MSG_BATCH_END is
   applied by the kernel as one transaction).  */
#ifndef HUSK_NETLINK_H
#define HUSK_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct husk_nl;

/* A netlink socket of PROTOCOL (NETLINK_ROUTE for the husk_nl_* calls, NETLINK_NETFILTER for
   the husk_nft_* calls), close-on-exec, bound in the calling thread's network namespace, with
   its own sequence numbers.  NULL with *ERR on failure (socket or bind errno).  */
struct husk_nl *husk_nl_open (int protocol, struct husk_error **err);

/* Close the socket and free NL; NULL is allowed.  */
void husk_nl_close (struct husk_nl *nl);

/* The interface index of NAME in the calling thread's network namespace (if_nametoindex),
   0 when there is no such interface (errno ENODEV).  */
unsigned int husk_nl_link_index (const char *name);

/* The interface index of NAME in the socket's network namespace (RTM_GETLINK by name) goes in
   RET_INDEX.  ENODEV when there is no such link: the way to ask whether a link exists.  */
int husk_nl_link_get_index (struct husk_nl *nl, const char *name, unsigned int *ret_index,
                            struct husk_error **err);

/* Create a Linux bridge NAME (down, no address), as `ip link add NAME type bridge`.  An
   existing interface of that name fails with errnum EEXIST, which the caller may treat as
   "already there".  */
int husk_nl_bridge_add (struct husk_nl *nl, const char *name, struct husk_error **err);

/* Create a veth pair: NAME in the socket's namespace, PEER_NAME created directly in the network
   namespace open on PEER_NETNS_FD (a descriptor of /proc/PID/ns/net or of a bind mount of it;
   -1 puts the peer beside NAME), so the container's end can be called "eth0" without clashing
   with anything of the host side.  MTU in bytes for both ends, 0 for the kernel's default
   (1500).  Both ends are left down.  Errors: EEXIST when NAME (or PEER_NAME in its namespace)
   exists, EINVAL for a bad descriptor or MTU, EPERM without CAP_NET_ADMIN over the peer's
   namespace.  */
int husk_nl_veth_add (struct husk_nl *nl, const char *name, const char *peer_name,
                      int peer_netns_fd, unsigned int mtu, struct husk_error **err);

/* Bring NAME up (IFF_UP), as `ip link set NAME up`.  ENODEV when there is no such link.  */
int husk_nl_link_up (struct husk_nl *nl, const char *name, struct husk_error **err);

/* Delete the link NAME (a veth's peer goes with it), as `ip link del NAME`.  ENODEV when there
   is no such link.  */
int husk_nl_link_del (struct husk_nl *nl, const char *name, struct husk_error **err);

/* Enslave NAME to the bridge BRIDGE (IFLA_MASTER), as `ip link set NAME master BRIDGE`;
   BRIDGE NULL releases NAME from its master.  ENODEV when either is missing.  */
int husk_nl_link_set_master (struct husk_nl *nl, const char *name, const char *bridge,
                             struct husk_error **err);

/* The interface index of NAME's master (IFLA_MASTER, read back with RTM_GETLINK) goes in
   RET_INDEX: 0 when NAME has none.  ENODEV when there is no such link.  */
int husk_nl_link_get_master (struct husk_nl *nl, const char *name, unsigned int *ret_index,
                             struct husk_error **err);

/* Set NAME's MTU in bytes (IFLA_MTU).  EINVAL when the device refuses the value.  */
int husk_nl_link_set_mtu (struct husk_nl *nl, const char *name, unsigned int mtu,
                          struct husk_error **err);

/* Set NAME's link-layer (Ethernet) address to MAC, 6 bytes (IFLA_ADDRESS), as `ip link set
   NAME address MAC`; best before it is up.  EINVAL for an address the device refuses
   (multicast), ENODEV when there is no such link.  */
int husk_nl_link_set_mac (struct husk_nl *nl, const char *name, const uint8_t mac[6],
                          struct husk_error **err);

/* Add the address ADDR/PREFIXLEN to NAME, as `ip addr replace`: adding one NAME already has is
   not an error.  FAMILY is AF_INET (ADDR a struct in_addr, PREFIXLEN 0-32) or AF_INET6 (ADDR a
   struct in6_addr, PREFIXLEN 0-128, without duplicate address detection: IFA_F_NODAD); both in
   network byte order.  The subnet's route on NAME appears when NAME is up (the kernel's prefix
   route).  EAFNOSUPPORT for another family,
   EINVAL for a prefix too long, ENODEV when there is no such link.  */
int husk_nl_addr_add (struct husk_nl *nl, const char *name, int family, const void *addr,
                      unsigned int prefixlen, struct husk_error **err);

/* Add a route to DST/PREFIXLEN in the main table, as `ip route add`: DST NULL (PREFIXLEN
   ignored) for the default route.  GATEWAY (NULL for none: a route on the link) is the next
   hop; OIF_NAME (NULL for none) the interface to leave by; at least one of the two.  FAMILY,
   DST and GATEWAY as for husk_nl_addr_add.  EEXIST when the same route exists, ENETUNREACH
   when the gateway is not on a connected network, ENODEV for a missing OIF_NAME.  */
int husk_nl_route_add (struct husk_nl *nl, int family, const void *dst, unsigned int prefixlen,
                       const void *gateway, const char *oif_name, struct husk_error **err);

/* nftables, on a NETLINK_NETFILTER socket.  The table is of family "ip" (IPv4); names are at
   most 255 bytes.  Each call is one batch, applied whole or not at all.  */

/* Make (or keep: existing ones are left as they are) the table TABLE with two base chains:
   "postrouting" (type nat, hook postrouting, priority 100) for the masquerade rules and
   "forward" (type filter, hook forward, priority 0, policy accept) for the isolation rules.
   As `nft add table ip TABLE; nft add chain ip TABLE postrouting { type nat hook postrouting
   priority 100; }; nft add chain ip TABLE forward { type filter hook forward priority 0;
   policy accept; }`.  EPERM without CAP_NET_ADMIN.  */
int husk_nft_setup (struct husk_nl *nl, const char *table, struct husk_error **err);

/* Append to TABLE's postrouting chain: masquerade IPv4 traffic from SUBNET/PREFIXLEN (SUBNET a
   struct in_addr in network byte order, host bits ignored, PREFIXLEN 0-32) that leaves by any
   interface other than BRIDGE: `ip saddr SUBNET/PREFIXLEN oifname != "BRIDGE" masquerade`.
   ENOENT when the table or chain does not exist (husk_nft_setup first).  */
int husk_nft_masquerade (struct husk_nl *nl, const char *table, const void *subnet,
                         unsigned int prefixlen, const char *bridge, struct husk_error **err);

/* Append to TABLE's forward chain two rules dropping traffic forwarded between the bridges
   BRIDGE_A and BRIDGE_B, both ways: `iifname "A" oifname "B" drop` and the reverse.  */
int husk_nft_isolate (struct husk_nl *nl, const char *table, const char *bridge_a,
                      const char *bridge_b, struct husk_error **err);

/* Append to TABLE's forward chain two rules making BRIDGE's network internal: drop traffic
   forwarded from BRIDGE to any other interface and from any other interface to BRIDGE
   (`iifname "BRIDGE" oifname != "BRIDGE" drop; oifname "BRIDGE" iifname != "BRIDGE" drop`).  */
int husk_nft_internal (struct husk_nl *nl, const char *table, const char *bridge,
                       struct husk_error **err);

/* A network's part in the table, for husk_nft_apply.  */
struct husk_nft_network
{
  const char *bridge;     /* Its bridge's name.  */
  struct in_addr subnet;  /* Its IPv4 subnet, network byte order (host bits ignored).  */
  unsigned int prefixlen; /* 0-32.  */
  bool internal;          /* No way out or in (husk_nft_internal), else masqueraded.  */
};

/* Make TABLE hold exactly the rules of the N_NETS networks NETS, in one batch, so that no
   packet ever sees the table half made: the table and its chains made or kept (as
   husk_nft_setup), every rule deleted, then for each network its masquerade rule
   (husk_nft_masquerade, SUBNET not out of BRIDGE) or, when internal, its two drop rules
   (husk_nft_internal), and for each pair of networks the two isolation rules
   (husk_nft_isolate).  The call to make after a network comes or goes; N_NETS 0 empties the
   table.  The rules grow with the square of N_NETS and the batch must fit the socket's send
   buffer (about 200 KiB): 24 networks (552 isolation rules) do, 28 fail with EMSGSIZE.
   EINVAL for a bad name or prefix, E2BIG beyond 32 networks; nothing changes on failure.  */
int husk_nft_apply (struct husk_nl *nl, const char *table, const struct husk_nft_network *nets,
                    size_t n_nets, struct husk_error **err);

/* Delete every rule of TABLE, keeping the table and its chains (`nft flush table ip TABLE`).
   ENOENT when there is no such table.  A flush followed by new rules in separate calls leaves
   a moment with no rules at all: husk_nft_apply does both in one transaction.  */
int husk_nft_flush_table (struct husk_nl *nl, const char *table, struct husk_error **err);

/* Delete TABLE with its chains and rules (`nft delete table ip TABLE`).  ENOENT when there is no
   such table.  */
int husk_nft_delete_table (struct husk_nl *nl, const char *table, struct husk_error **err);

/* The number of rules in TABLE's chain CHAIN goes in RET_COUNT (an NFT_MSG_GETRULE dump
   filtered by both).  A missing table or chain counts 0: the kernel's dump does not tell them
   apart from empty ones.  EINVAL for an empty name.  */
int husk_nft_rule_count (struct husk_nl *nl, const char *table, const char *chain,
                         unsigned int *ret_count, struct husk_error **err);

/* Write VALUE (e.g. "1") to the sysctl file PATH (e.g. "/proc/sys/net/ipv4/ip_forward"; the
   net.* ones are those of the network namespace of the calling thread at the time of the
   open).  Errors: the open's or write's errno.  */
int husk_net_sysctl_set (const char *path, const char *value, struct husk_error **err);

#endif
