/* User networks, the records and their address management (docker network, podman network):
   what a network is and which container holds which address, with no datapath.  The bridges,
   veths and the per-user network namespace that make them real are built from these records
   elsewhere.

   STORE/networks/NAME.json   one network: its name, ID, driver ("bridge"), IPv4 subnet and
                              gateway, whether it is internal, labels, creation time, the
                              bridge interface it uses (husk0, husk1, ...: unique among
                              networks) and the containers attached, each with its address
                              and aliases
   STORE/networks/.lock       flock'd (exclusively) by every change: creating, removing and
                              attaching are read-modify-write over all the records, so two
                              husk processes never pick one subnet, one bridge or one address

   Records are written atomically (a temporary name, fsync, rename): readers take no lock.  A
   record that does not parse, or whose name is not its file's, is left out of every list and
   lookup, as husk_ctr_list leaves out unreadable containers.

   The default network, "husk" (docker's "bridge", podman's "podman"), 10.88.0.0/16 with
   gateway 10.88.0.1 and bridge husk0, is written the first time any function below opens the
   network directory and finds it missing (it is then an ordinary record, with its own random
   ID), so it is always listed, always has husk0, and other networks never take its subnet.
   It cannot be removed.  */
#ifndef HUSK_NETWORKS_H
#define HUSK_NETWORKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct husk_store;

#define HUSK_NETWORK_DEFAULT "husk"
#define HUSK_NETWORK_DEFAULT_SUBNET "10.88.0.0/16"
/* Bridge interface names are at most IFNAMSIZ - 1 characters.  */
#define HUSK_NETWORK_BRIDGE_MAX 15

/* One container on a network.  */
struct husk_network_endpoint
{
  char *container_id; /* 64 hex.  */
  char *ipv4;         /* Its address, dotted ("10.89.0.2"); the prefix is the subnet's.  */
  char **aliases;     /* Other names it answers to on this network, or NULL.  */
};

struct husk_network_rec
{
  char *name;
  char *id;      /* 64 hex, random.  */
  char *driver;  /* "bridge".  */
  char *subnet;  /* "10.89.0.0/24": the network address, no host bits set.  */
  char *gateway; /* "10.89.0.1".  */
  bool internal; /* No route out (docker network create --internal).  */
  char **labels; /* KEY, VALUE, KEY, VALUE, ..., NULL; or NULL.  */
  char *created; /* RFC 3339, UTC, with nanoseconds.  */
  char *bridge;  /* "husk1".  */
  struct husk_network_endpoint *containers;
  size_t n_containers;
};

/* What husk network create asks for; NULL members take the defaults.  */
struct husk_network_opts
{
  const char *name;
  const char *driver;  /* NULL or "bridge".  */
  const char *subnet;  /* IPv4 CIDR, or NULL: the first 10.89.N.0/24 (N 0-255) overlapping no
                          other network's subnet.  */
  const char *gateway; /* NULL: the subnet's first host.  */
  bool internal;
  char *const *labels; /* KEY, VALUE, ..., NULL; or NULL.  Copied.  */
};

/* Create a network record from OPTS under the lock, and *RET (may be NULL) the record.
   Errors, one line, no errno:
     network name "NAME": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed
     network name "host": reserved (a --network mode: bridge, host, none, pasta, container)
     network "NAME": driver "X" is not supported (only bridge)
     network "NAME": already exists
     network "NAME": subnet "S": REASON   (not IPv4 CIDR, host bits set, smaller than /30)
     network "NAME": subnet "S" overlaps network "OTHER" (SUBNET)
     network "NAME": gateway "G" is not in subnet "S"    (also: not an IPv4 address, or the
                                                          network or broadcast address)
     network "NAME": no free subnet in 10.89.0.0/16
   and the store's I/O errors.  */
int husk_network_create (struct husk_store *s, const struct husk_network_opts *opts,
                         struct husk_network_rec **ret, struct husk_error **err);

/* QUERY: a name, a full ID or a unique ID prefix; "bridge" (docker's name for its default
   network) is the default network.  "no such network: QUERY" (errno ENOENT) otherwise;
   "network ID prefix \"Q\" is ambiguous".  */
int husk_network_load (struct husk_store *s, const char *query, struct husk_network_rec **ret,
                       struct husk_error **err);
/* Every network, by name.  */
int husk_network_list (struct husk_store *s, struct husk_network_rec ***ret, size_t *ret_n,
                       struct husk_error **err);

/* Remove network QUERY (as husk_network_load finds it) under the lock; *RET_NAME (may be NULL)
   its name.  Refused: "network \"NAME\": the default network cannot be removed", and unless
   FORCE, "network \"NAME\": N containers are attached (CTR12, ...)".  */
int husk_network_remove (struct husk_store *s, const char *query, bool force, char **ret_name,
                         struct husk_error **err);
/* Remove every network with no container attached, except the default, under the lock.  The
   names removed go to *RET_NAMES (NULL-terminated, allocated, may be empty).  */
int husk_network_prune (struct husk_store *s, char ***ret_names, struct husk_error **err);

/* Give container CONTAINER_ID (64 hex) an address on network QUERY under the lock, and record
   it with ALIASES (NULL-terminated, copied; may be NULL).  REQUESTED_IP: NULL for the lowest
   free host address (neither the network, the gateway nor the broadcast address, nor one
   attached), or an address that must be in the subnet, be none of those three and be free.
   *RET_IP (may be NULL): the address, dotted.  Errors: "network \"NAME\": container ID12 is
   already attached (IP)", "network \"NAME\": address \"IP\" is not in subnet \"S\"",
   "network \"NAME\": address \"IP\" is in use by container ID12" (or "is the gateway", ...),
   "network \"NAME\": no free address in S", and those of husk_network_load.  */
int husk_network_attach (struct husk_store *s, const char *query, const char *container_id,
                         const char *requested_ip, char *const *aliases, char **ret_ip,
                         struct husk_error **err);
/* Give CONTAINER_ID's address on network QUERY back, under the lock.  A container that is not
   attached is no error (0): detaching is what cleanup does, and may run twice.  */
int husk_network_detach (struct husk_store *s, const char *query, const char *container_id,
                         struct husk_error **err);

void husk_network_free (struct husk_network_rec *n);
void husk_network_list_free (struct husk_network_rec **v, size_t n);

static inline void
husk_network_freep (struct husk_network_rec **p)
{
  husk_network_free (*p);
}
#define cleanup_network __attribute__ ((cleanup (husk_network_freep)))

/* A record's JSON (STORE/networks/NAME.json's bytes, LEN of them) into *RET, for the loaders
   and the fuzzer.  Errors: the JSON's, a member missing or of the wrong type (lib/jsonmap.h's
   wording), "\"name\": \"X\" is not a valid network name".  */
int husk_network_parse (const char *buf, size_t len, struct husk_network_rec **ret,
                        struct husk_error **err);
/* N as a record's JSON, as husk writes it: allocated, NUL-terminated, *RET_LEN bytes.  */
char *husk_network_to_json (const struct husk_network_rec *n, size_t *ret_len);

/* The address arithmetic, exposed for the unit tests.  Addresses are host-order uint32_t.  */
/* "A.B.C.D/N" (N 0-32) into *RET_ADDR, *RET_PREFIX; false when it is not one.  Host bits may be
   set (the caller decides).  */
bool husk_ipv4_cidr_parse (const char *s, uint32_t *ret_addr, int *ret_prefix);
/* Dotted "A.B.C.D" into *RET; false when it is not one.  */
bool husk_ipv4_parse (const char *s, uint32_t *ret);
/* "A.B.C.D" into BUF (at least 16 bytes).  */
void husk_ipv4_format (uint32_t a, char *buf);
/* The mask of a /PREFIX (0 for /0).  */
uint32_t husk_ipv4_mask (int prefix);
/* Whether A/PA and B/PB share an address.  */
bool husk_ipv4_overlap (uint32_t a, int pa, uint32_t b, int pb);
/* The lowest host address of NET/PREFIX that is neither the network, the broadcast nor
   GATEWAY, nor any of USED (N_USED addresses), in *RET: 0, or -1 when there is none.  */
int husk_ipv4_next_free (uint32_t net, int prefix, uint32_t gateway, const uint32_t *used,
                         size_t n_used, uint32_t *ret);

#endif
