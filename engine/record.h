/* Containers that outlive a command: their records in the store and their state while they run.

   STORE/containers/ID/
     config.json   what the container is: name, image, and the whole spec to start it again
     state.json    created | running | exited, exit code, start and finish times (the monitor
                   writes it; absent means created)
     ctr.log       its output, one JSON object a line:
                   {"log":"TEXT","stream":"stdout"|"stderr","time":"RFC3339Nano UTC"}
                   (TEXT ends in "\n" unless the line was cut at 16 KiB or the output ended)
     upper/ work/ rootfs/
     hosts resolv.conf hostname   the container's /etc files (engine/net.h), mounted on the
                   empty ones of STORE/container-init/, a layer under every container's image
   STORE/container-names/NAME   a symlink to ID: symlinkat is what makes names unique

   RUNDIR/ID/ (RUNDIR: $XDG_RUNTIME_DIR/husk, /run/husk for root, else /tmp/husk-run-UID)
     pid           "PID PID_START MONITOR_PID MONITOR_START": the container's pid 1 on the
                   host and its monitor, each with its start time (/proc/PID/stat field 22) so
                   a reused pid is never mistaken for them
     attach.sock   the monitor's socket for husk attach and start -a
     pasta.pid, ports   with --network pasta: pasta's pid and the published ports as bound
                   (engine/net.h)

   IDs are 64 hex characters; any unique prefix or the name selects a container.  */
#ifndef HUSK_RECORD_H
#define HUSK_RECORD_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "defaults.h"
#include "error.h"
#include "json.h"

struct husk_store;
struct husk_images_in_use;

enum husk_ctr_status
{
  HUSK_CTR_CREATED,
  HUSK_CTR_RUNNING,
  HUSK_CTR_EXITED,
};

struct husk_ctr
{
  char id[65];
  char *name;
  char *image;       /* The image's ID, "sha256:HEX".  */
  char *image_name;  /* As the user wrote it.  */
  char *created;     /* RFC 3339, UTC.  */
  bool auto_remove;  /* --rm.  */
  bool privileged;   /* --privileged, as the user asked it (the spec holds what it meant).  */
  char *stop_signal; /* The image's StopSignal, or NULL for SIGTERM.  */
  /* --network, as the user asked it: spec.namespaces comes from it and from whether husk runs
     as root (husk_ctr_set_namespaces).  */
  enum husk_network network;
  /* --network pasta:OPTS's options (comma-separated pasta arguments), or the ID of the
     container whose network container:X shares; else NULL.  */
  char *network_value;
  /* More user networks than NETWORK_VALUE's (husk network connect), by name; or NULL.  */
  char **extra_networks;
  struct husk_port *ports; /* -p and -P, as asked (engine/net.h).  */
  size_t n_ports;
  char **dns, **dns_search, **dns_options; /* --dns, --dns-search, --dns-option, or NULL.  */
  char **extra_hosts;                      /* --add-host "HOST:IP", or NULL.  */
  char **exposed; /* "80/tcp": the image's exposed ports, --expose's and -p's, or NULL.  */

  /* Everything needed to start it; every string and array is owned by the record.  Paths
     (lowerdirs, upperdir, workdir, rootfs) are absolute for this store.  */
  struct husk_container_spec spec;

  /* State, repaired on load: a container whose monitor is gone is exited.  */
  enum husk_ctr_status status;
  pid_t pid;         /* Its pid 1 on the host, while running.  */
  pid_t monitor_pid; /* While running.  */
  int exit_code;     /* When exited.  */
  char *started_at;  /* RFC 3339 with nanoseconds, or NULL.  */
  char *finished_at;
  char *error; /* Why it stopped, when husk knows better than the exit code.  */
  uint64_t pid_start, monitor_start; /* /proc/PID/stat start times.  */

  struct husk_idmap idmap; /* spec.idmap points here unless husk runs as root.  */
  char **layers;           /* Chain IDs, base first: spec.lowerdirs comes from these.  */
  struct husk_namespace namespaces[HUSK_NS_N_TYPES]; /* spec.namespaces points here.  */
  char *ns_paths[2]; /* The joined namespaces' paths (container:X), for NAMESPACES.  */
  /* On a user network, set by husk_net_prepare for one start: the network namespace's holder
     (engine/netns.h), the container's address there, and husk-netns's attach
     arguments without the container's pid (engine/netattach.h).  */
  pid_t net_holder;
  char *net_addr;
  char **net_argv;
  /* The helper that made the container's network namespace and holds it until the container
     has joined it (0: none), the write end of its stdin (closing it lets the helper go), and
     the process it is a child of.  */
  pid_t net_maker, net_maker_parent;
  int net_hold;
};

/* Make STORE/containers and STORE/container-names (mode 0700) and STORE/container-init
   (husk_net_init_layer) where they are missing: the engine's part of opening a store (the
   store itself makes only its own directories).  */
int husk_ctr_dirs_create (struct husk_store *s, struct husk_error **err);

/* QUERY: a full ID, a unique ID prefix, or a name.  "no such container: QUERY" otherwise.  */
int husk_ctr_load (struct husk_store *s, const char *query, struct husk_ctr **ret,
                   struct husk_error **err);
/* Every container, newest first.  */
int husk_ctr_list (struct husk_store *s, struct husk_ctr ***ret, size_t *ret_n,
                   struct husk_error **err);
/* What every container record holds on to (imagegc.h): its image's ID and its layers' chain
   IDs, for removing images.  Records are read as husk_ctr_load reads them, without their
   state (nothing is repaired or written, so it may run in a user namespace); a container being
   created or removed has no record and holds nothing, which the images-in-use lock
   (husk_store_gc_lock) makes safe.  Errors: "store \"ROOT\": containers".  */
int husk_ctr_images_in_use (struct husk_store *s, struct husk_images_in_use *ret,
                            struct husk_error **err);
void husk_ctr_free (struct husk_ctr *c);
void husk_ctr_list_free (struct husk_ctr **v, size_t n);

/* "store/containers/ID" as an absolute path, and the log file's.  */
char *husk_ctr_dir (struct husk_store *s, const struct husk_ctr *c);
char *husk_ctr_log_path (struct husk_store *s, const struct husk_ctr *c);

/* Point C->spec.namespaces at C's own list, made from C->network and whether C->spec.idmap is
   set (husk_defaults_namespaces): husk_ctr_load calls it once the id map is known, the parser
   without one (as for root).  */
void husk_ctr_set_namespaces (struct husk_ctr *c);

/* The parsers behind husk_ctr_load, for its callers' tests and the fuzzer (tests/fuzz): C's
   record from config.json's BUF (LEN bytes), paths made absolute for store S, with C->id set
   beforehand; its state from state.json (anything unreadable leaves it "created"); and
   RUNDIR/ID/pid's NUL-terminated BUF, false when it does not hold four numbers.  What they
   fill is freed with C.  */
int husk_ctr_parse_config (struct husk_store *s, struct husk_ctr *c, const char *buf, size_t len,
                           struct husk_error **err);
void husk_ctr_parse_state (struct husk_ctr *c, const char *buf, size_t len);

/* Write config.json (atomically; DURABLE: with fsync) and state.json (atomically, no fsync).
   A foreground --rm container skips the fsync: it is gone when husk returns.  */
int husk_ctr_save_config (struct husk_store *s, const struct husk_ctr *c, bool durable,
                          struct husk_error **err);
/* husk_ctr_save_config for a record just made (engine/create.c), then *RET: the container as
   husk_ctr_load would read it back, parsed from the bytes written rather than read again from
   the file.  Errors: those of the write and of husk_ctr_load.  */
int husk_ctr_save_new (struct husk_store *s, const struct husk_ctr *c, bool durable,
                       struct husk_ctr **ret, struct husk_error **err);
/* Container ID's record (a full ID) as its config.json has it: no state is read or repaired
   and no id map is looked up, so it may run in a user namespace of husk's.  Errors: "container
   ID12: " and the read's or the parse's.  */
int husk_ctr_load_config (struct husk_store *s, const char *id, struct husk_ctr **ret,
                          struct husk_error **err);
/* husk_ctr_load of container ID from its config.json's bytes BUF (LEN), already in hand.  */
int husk_ctr_load_config_buf (struct husk_store *s, const char *id, const char *buf, size_t len,
                              struct husk_ctr **ret, struct husk_error **err);
int husk_ctr_save_state (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err);
/* The same into DIRFD, a descriptor of containers/ID: what a monitor holds instead of the
   store.  */
int husk_ctr_save_state_at (int dirfd, const struct husk_ctr *c, struct husk_error **err);

const char *husk_ctr_status_name (enum husk_ctr_status st);

/* For engine/'s record files only: shared pieces of reading and writing records.  */
bool husk_ctr_exists (struct husk_store *s, const char *id); /* containers/ID/config.json.  */
bool husk_ctr_is_hex (const char *s);                        /* Non-empty, [0-9a-f] only.  */
/* STORE/containers for reading, or NULL: with *ERR set, or without when it does not exist.  */
DIR *husk_ctr_open_dir (struct husk_store *s, struct husk_error **err);
/* C's state from state.json ("created" when unreadable).  */
void husk_ctr_load_state (struct husk_store *s, struct husk_ctr *c);
/* A container that state.json calls running but whose monitor is gone has exited: record
   that, and make sure nothing of it is left running.  */
void husk_ctr_repair_state (struct husk_store *s, struct husk_ctr *c);

static inline void
husk_ctr_freep (struct husk_ctr **c)
{
  husk_ctr_free (*c);
}
#define cleanup_ctr __attribute__ ((cleanup (husk_ctr_freep)))

#endif
