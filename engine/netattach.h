/* The namespace side of user networks: what runs inside the user's network namespace (the
   holder's, engine/netns.h) with netlink (engine/netlink.h, libmnl).  It is the program
   husk-netns (engine/husk-netns.c), which the container's starter execs for it (engine/net.c):
   Debian ships libmnl as a shared library only, the lean husk is static, and husk-netns links
   libmnl and libc alone so that it starts in about a millisecond.  The exec'd process is
   single-threaded, which setns(2) into a user namespace needs.

   husk-netns attach holder=PID bridge=NAME gateway=IP/PREFIX addr=IP veth=NAME
                            [mtu=BYTES] [internal=1] [net=BRIDGE,SUBNET/PREFIX,0|1 ...]
     Join the holder's user namespace (unless root) and make the container's network
     namespace there; in the holder's network namespace make BRIDGE with GATEWAY on it and up
     when it is missing, and then set the nftables table "husk" to the NET list (every network
     of the store: masquerade, isolation, internal); make a veth pair VETH (in the holder, on
     BRIDGE, up) and "eth0" in the new namespace, then in there give eth0 ADDR/PREFIX, bring
     it and lo up, and (unless internal) add a default route via GATEWAY's address.  A VETH
     left from an earlier run of the same container is replaced.  Then print "ok" and stay in
     the new namespace, holding it, until stdin ends: the container joins it meanwhile by
     this process's /proc/PID/ns/net.
   husk-netns connect holder=PID pid=PID bridge=NAME gateway=IP/PREFIX addr=IP veth=NAME
                      [internal=1] [net=... ...]
     The same for one more network of a running container (PID: one of its processes, or
     the holder of its namespace): the bridge made when missing, VETH on it and the
     container's next free ethN (eth1...) with ADDR, no route.
   husk-netns disconnect holder=PID veth=NAME
     Delete VETH in the holder's namespace (the container's end goes with it); no error when
     it is missing.
   husk-netns rmbridge holder=PID bridge=NAME [net=... ...]
     Delete BRIDGE (no error when it is missing) and set the table to the NET list.

   Exit 0 on success; else 125 with one line on stderr naming the step, the interface and
   the kernel's reason (netlink.h's wording).  */
#ifndef HUSK_NETATTACH_H
#define HUSK_NETATTACH_H

/* husk-netns's main: ARGV[1] the action, then KEY=VALUE arguments.
   Returns the exit status.  */
int husk_netattach_main (int argc, char **argv);

#endif
