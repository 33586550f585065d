/* husk: the port forwarder of a container on a user network (docker run -p with --network
   NAME).  The container's address lives in network namespaces the host cannot reach (a bridge
   inside the user's network namespace, engine/netns.h), so a process of husk's listens on the
   host's ports in the caller's network namespace and, for each TCP connection and each UDP
   client, connects to the container's address from inside a namespace that reaches it (the
   container's own, or the one that holds the bridges): what docker's userland proxy and
   podman's rootlessport do, in one single-threaded epoll loop.

   TCP: each accepted connection gets its own connection to CTR_ADDR:CTR_PORT (the container
   sees a peer of its own network, not the client's address); bytes are copied both ways with
   splice(2) through a pipe each way (by reads and writes when the user is out of descriptors
   or of pipe pages), a busy connection yielding to the others after each 1 MiB; an end of
   file is passed on as a half-close (shutdown SHUT_WR) and the pair is closed once both
   directions have ended, or at once on an error; a refused connection is passed to the client
   as a reset.  UDP: each client address gets its own connected socket to the container's
   port; the container's replies go back to that client from the listening socket (from the
   address the client sent to, for a listener on every address); a flow without a datagram
   either way for 60 seconds is dropped, and at most 4096 flows are kept (the least recently
   used goes first).

   The forwarder is a child of the caller and lives until it gets SIGTERM, SIGINT or SIGHUP,
   or until the thread that started it ends (PR_SET_PDEATHSIG: a caller killed with SIGKILL
   too).  It runs in a session of its own, so a terminal's Ctrl-C, meant for the container,
   does not end it.  The caller stops it with SIGTERM and reaps it with waitpid.  */
#ifndef HUSK_PORTFWD_H
#define HUSK_PORTFWD_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "net.h"

/* Start a forwarder for the N published PORTS (struct husk_port, net.h; PROTO "tcp" or "udp")
   of a container whose address is CTR_ADDR (IPv4 dotted, or IPv6), reached from the network
   namespace open on NETNS_FD (/proc/PID/ns/net or a bind mount of it: the container's, or
   the holder's).  USERNS_FD is the user namespace that owns it, joined first (setns
   CLONE_NEWUSER: the caller must own it or hold CAP_SYS_ADMIN over it), or -1 as root or when
   the caller is already in it.  The caller keeps its descriptors.

   Every host port must be concrete: HOST_PORT 1-65535, picked by the caller (HOST_PORT_END is
   ignored).  HOST_IP NULL means every address: both 0.0.0.0 and [::] (IPV6_V6ONLY) are bound,
   the second skipped when the host has no IPv6 (EAFNOSUPPORT, EADDRNOTAVAIL).  Every listener
   is bound in the caller's network namespace before the fork, so a busy port is this call's
   error; the descriptors are the forwarder's alone afterwards (the caller's copies are
   closed).  The forwarder closes every other descriptor it inherited (its stdio goes to
   /dev/null), joins the namespaces, and only then does this call return.

   On success *RET_PID is the forwarder's pid, a child of the caller's.  Errors (-1, or -errno,
   *ERR set, nothing left running): a port with no host port or an unknown protocol, an address
   that does not parse (EINVAL); the socket, bind or listen of a listener: "port 8080/tcp:
   0.0.0.0:8080: Address already in use", "port 80/tcp: ...: a host port below 1024 needs
   root, or a lower net.ipv4.ip_unprivileged_port_start" (EACCES); the pipe or fork; a failure
   of the forwarder before it serves (its setns: "port forwarder: join the network namespace:
   Operation not permitted"), after which it has been reaped.  */
int husk_portfwd_start (const struct husk_port *ports, size_t n, const char *ctr_addr, int netns_fd,
                        int userns_fd, pid_t *ret_pid, struct husk_error **err);

#endif
