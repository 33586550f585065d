/* A container's network, the engine's side: which network namespace it gets (docker run's
   --network), the files a container expects in /etc (hosts, resolv.conf, hostname), its
   published ports (-p, -P) and pasta, the user-mode network that joins a container's own
   namespace to the host's (passt's pasta, as podman 5 uses it).  The container core
   (runtime/) only makes or joins a network namespace and brings its lo up; everything here
   happens around it: the files before it starts, pasta once its namespaces exist
   (husk_net_attach, through the spec's created_fn) and the teardown once it is gone
   (husk_net_detach).

   RUNDIR/ID/ holds what a running container's network has: pasta.pid (pasta's pid, which
   pasta writes itself; husk_net_detach signals it only while it is a pasta) and ports (one "PROTO
   CTRPORT HOSTIP HOSTPORT" line per published port, with the host ports that were picked for -P).
 */
#ifndef HUSK_NET_H
#define HUSK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct husk_store;
struct husk_ctr;

/* One published port (docker run -p): HOST_IP:HOST_PORT on the host to CTR_PORT in the
   container, TCP or UDP.  */
struct husk_port
{
  char *host_ip;     /* An IPv4 or IPv6 address, or NULL: every address of the host.  */
  int host_port;     /* 1-65535, or 0: a free port picked when the container starts.  */
  int ctr_port;      /* 1-65535.  */
  int host_port_end; /* A host range for one container port (-p 8000-8010:80): its last port,
                        HOST_PORT its first; the first free one is taken at start.  Else 0.  */
  char *proto;       /* "tcp" or "udp".  */
  bool all;          /* Published by -P (docker keeps these out of HostConfig.PortBindings).  */
};

/* -p's argument, "[IP:][HOSTPORT:]CTRPORT[/tcp|/udp]", with ranges ("8000-8002:80-82", or a
   host range for one container port); IPv6 addresses in brackets ("[::1]:8080:80").  The
   mappings are appended to *PORTS (*N of them; free with husk_ports_free).  Without HOSTPORT
   the host port is 0 (picked at start).  WHAT names the option in errors ("publish",
   "expose", "port").  Errors, with no errno: "WHAT \"ARG\": REASON" (not a port, a range of a
   different length, a bad address, an unknown protocol).  */
int husk_ports_parse (const char *what, const char *arg, struct husk_port **ports, size_t *n,
                      struct husk_error **err);

/* Check PORTS (N) as -p gave them: a mapping given twice is dropped (*N shrinks), one host
   port (of one protocol and address) for two container ports is an error: "publish: host
   port 8080/tcp: given for both 80 and 81".  */
int husk_ports_dedup (struct husk_port *ports, size_t *n, struct husk_error **err);
void husk_ports_free (struct husk_port *ports, size_t n);

/* "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp" for P, as docker ps shows a port (with HOST_PORT
   as given: the one picked at start is in the run directory's list); a port on every address
   is listed for both families, as pasta binds both.  Allocated.  */
char *husk_port_format (const struct husk_port *p);

/* --add-host's "HOST:IP" (IP may be IPv6, unbracketed, or "host-gateway"), --dns's address:
   true when valid.  */
bool husk_net_add_host_valid (const char *arg);
bool husk_net_ip_valid (const char *ip);

/* What --network names: none, host, pasta (with its options), container:NAME|ID.  *RET_MODE
   is an enum husk_network (defaults.h); *RET_VALUE (allocated, or NULL) the options of
   "pasta:OPTS" (comma-separated pasta arguments, as podman takes them) or the container of
   "container:NAME".  Errors, no errno: "network \"ARG\": not supported (...)".  */
int husk_net_mode_parse (const char *arg, int *ret_mode, char **ret_value, struct husk_error **err);

/* The network's name as docker inspect's HostConfig.NetworkMode shows it: "none", "host",
   "pasta", "container:ID".  Allocated.  */
char *husk_net_mode_name (const struct husk_ctr *c);

/* Write C's /etc files into STORE/containers/ID/: hosts (localhost, the IPv6 names, the
   container's address and hostname, host.containers.internal and host.docker.internal where
   the host is reachable, C's extra hosts, and with --network host the host's own /etc/hosts
   first), resolv.conf (C's --dns, --dns-search and --dns-option, else the host's
   /etc/resolv.conf with loopback nameservers replaced by ones that work from inside: pasta's
   DNS forwarder, or dropped without a network) and hostname.  Files are written atomically
   (a temporary name, then rename), mode 0644.  Errors: the reads and writes, naming the
   file.  */
int husk_net_write_etc (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err);

/* STORE/container-init: a layer of three empty files, etc/hosts, etc/resolv.conf and
   etc/hostname, put under every container's image layers (its lowest lower directory) when it
   starts: the /etc files are mounted on them, so an image without them gets no mountpoint made
   in the container's upper directory, and husk diff and husk commit see nothing of them (docker
   keeps them in a layer of its own too).  The image's own /etc and files are above it and win.
   Made when missing (husk_ctr_dirs_create makes it with the store's other engine directories),
   owned by the store's owner.  Returns its absolute path (allocated), or NULL with *ERR set
   ("store: create \"container-init/etc\"", with the errno).  */
char *husk_net_init_layer (struct husk_store *s, struct husk_error **err);

/* Before C starts, in the process that will spawn it: add the bind mounts of its /etc
   files to its spec (unless the user mounts something at that path), join the namespaces of
   the container its network is shared with (container:X must be running: "network
   container \"X\": is not running"), and with pasta set the spec's created_fn to
   husk_net_attach; on a user network, bring the store's network namespace up
   (engine/netns.h), make the container's network namespace on the network's bridge through
   husk-netns (held until the container joins it) and set created_fn to
   husk_net_bridge_attach.  Call once per start, on a record loaded for it.  Errors, with status
   125: those of the load of the other container, and its state.  */
int husk_net_prepare (struct husk_store *s, struct husk_ctr *c, struct husk_error **err);

/* The spec's created_fn for pasta (ARG: the struct husk_ctr): with the container's process
   PID waiting in its new namespaces, pick the free host ports, check that every published
   host port is free ("port 8080/tcp: 0.0.0.0:8080: Address already in use", before anything
   else runs), write RUNDIR/ID/ports, and run pasta on the container's user and network
   namespaces; returns once pasta has configured the namespace (its address, routes and DNS
   forwarder) and gone to the background, its pid in RUNDIR/ID/pasta.pid; a watcher process
   (husk's own, a child of the caller) then stops pasta when the caller dies or pasta's
   container ends.  Errors: pasta
   missing ("pasta: not found: install passt"), /dev/net/tun not usable (its mode, and the
   fix), pasta's own error line, the port checks.  */
int husk_net_attach (void *arg, pid_t pid, struct husk_error **err);

/* The spec's created_fn on a user network (ARG: the struct husk_ctr husk_net_prepare filled):
   by the time the container's first process PID exists it has joined the network namespace
   husk-netns attach made for it in husk_net_prepare (engine/netattach.h: eth0 on the
   network's bridge, its address and route), so that helper is let go
   (husk_net_bridge_release); then, with published ports, the host ports are picked and
   checked and a forwarder started (engine/portfwd.h), its pid in RUNDIR/ID/portfwd.pid.
   Errors: "network \"NAME\": " and the forwarder's ("port 8080/tcp: 0.0.0.0:8080: Address
   already in use").  */
int husk_net_bridge_attach (void *arg, pid_t pid, struct husk_error **err);

/* Let the helper holding C's new network namespace go (once the container has joined it, or
   when it will not start); reaped when the caller is its parent.  Nothing when there is
   none.  */
void husk_net_bridge_release (struct husk_ctr *c);

/* husk network connect: container QUERY (on a user network) joins network NETWORK too, at IP
   (NULL: the next free address) with ALIASES (NULL-terminated, or NULL), under the
   container's lock: its address recorded, the network added to its record, and, when it
   runs, a veth pair from the network's bridge to its next free ethN (no route) made at once;
   every /etc/hosts of the network rewritten.  Errors: "container \"X\": its network is none:
   only a container on a user network can join another", "container \"X\" is already on
   network \"N\"", those of husk_network_attach (the address) and of husk-netns;
   nothing is left changed on failure.  */
int husk_net_connect (struct husk_store *s, const char *query, const char *network, const char *ip,
                      char *const *aliases, struct husk_error **err);

/* husk network disconnect: container QUERY leaves NETWORK, one it joined with connect: its
   ethN goes at once when it runs, its address is given back, its record and the network's
   /etc/hosts follow.  Errors: "container \"X\" is not on network \"N\"",
   "container \"X\": network \"N\" is its first network, which it keeps (its default
   route)", husk-netns's.  */
int husk_net_disconnect (struct husk_store *s, const char *query, const char *network,
                         struct husk_error **err);

/* After network BRIDGE's record is gone: delete its bridge in the user's network namespace
   when that is up, and set the nftables rules to the networks left.  Errors: husk-netns's
   line.  */
int husk_net_bridge_remove (struct husk_store *s, const char *bridge, struct husk_error **err);

/* Container ID is gone: give its addresses on every user network back and rewrite the
   /etc/hosts of the containers left there.  Best effort.  */
void husk_net_forget (struct husk_store *s, const char *id);

/* Rewrite /etc/hosts (and the other /etc files) of every container on NETWORK but EXCEPT_ID
   (NULL for none), in place, after a container came or went.  Best effort: returns 0.  */
int husk_net_hosts_refresh (struct husk_store *s, const char *network, const char *except_id);

/* Run pasta with ARGV (argv[0] "pasta"; NSFD, unless -1, as its descriptor 3) and wait until
   it has configured its namespace and gone to the background, as pasta does before it
   serves: *RET_PID is the background pasta's pid, which it writes to PIDFILE (the --pid
   given in ARGV).  pasta is no child of the caller's.  Errors: "pasta: not found (install
   passt)" (errnum ENOENT), "pasta failed: LINE" with the first line pasta printed that says
   something, the fork.  */
int husk_pasta_start (char **argv, int nsfd, const char *pidfile, pid_t *ret_pid,
                      struct husk_error **err);

/* Whether this user can open /dev/net/tun, which pasta needs; else one line naming the device,
   its mode and the fix (Debian ships it 0666).  */
int husk_net_tun_check (struct husk_error **err);

/* Run pasta with ARGV (NSFD, unless -1, its descriptor 3) through a watcher process, a child of
   the caller's, that stops pasta when the caller dies (PR_SET_PDEATHSIG: SIGKILL too) or it
   gets SIGTERM, and ends when pasta does; returns once pasta has configured its namespace,
   its pid in PIDFILE (pasta's --pid) and the watcher's in *RET_WATCHER (may be NULL).  pasta
   itself cannot be tied to its starter: the kernel drops a parent-death signal when a process
   gives up privileges, as pasta does.  Errors: those of husk_pasta_start, and "pasta's watcher
   ended".  */
int husk_pasta_start_watched (char **argv, int nsfd, const char *pidfile, pid_t *ret_watcher,
                              struct husk_error **err);

/* After C is gone (or its monitor is): stop its pasta, if RUNDIR/ID/pasta.pid names a
   process that is still that pasta (its start time).  Never fails.  */
void husk_net_detach (const struct husk_ctr *c);

/* The published ports of running container C as picked at its start (RUNDIR/ID/ports):
   *RET, *RET_N (free with husk_ports_free); none (0) when it is not running or publishes
   nothing.  */
void husk_net_ports_running (const struct husk_ctr *c, struct husk_port **ret, size_t *ret_n);

#endif
