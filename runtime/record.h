/* Containers that outlive a command: their records in the store and their state while they run.

   STORE/containers/ID/
     config.json   what the container is: name, image, and the whole spec to start it again
     state.json    created | running | exited, exit code, start and finish times (the monitor
                   writes it; absent means created)
     ctr.log       its output, one JSON object a line:
                   {"log":"TEXT","stream":"stdout"|"stderr","time":"RFC3339Nano UTC"}
                   (TEXT ends in "\n" unless the line was cut at 16 KiB or the output ended)
     upper/ work/ rootfs/
   STORE/container-names/NAME   a symlink to ID: symlinkat is what makes names unique

   RUNDIR/ID/ (RUNDIR: $XDG_RUNTIME_DIR/husk, /run/husk for root, else /tmp/husk-run-UID)
     pid           "PID PID_START MONITOR_PID MONITOR_START": the container's pid 1 on the
                   host and its monitor, each with its start time (/proc/PID/stat field 22) so
                   a reused pid is never mistaken for them
     attach.sock   the monitor's socket for husk attach and start -a

   IDs are 64 hex characters; any unique prefix or the name selects a container.  */
#ifndef HUSK_RECORD_H
#define HUSK_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "error.h"

struct husk_store;

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
  char *image;      /* The image's ID, "sha256:HEX".  */
  char *image_name; /* As the user wrote it.  */
  char *created;    /* RFC 3339, UTC.  */
  bool auto_remove; /* --rm.  */
  char *stop_signal; /* The image's StopSignal, or NULL for SIGTERM.  */

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
  char *error;       /* Why it stopped, when husk knows better than the exit code.  */
  uint64_t pid_start, monitor_start; /* /proc/PID/stat start times.  */

  struct husk_idmap idmap; /* spec.idmap points here unless husk runs as root.  */
  char **layers;           /* Chain IDs, base first: spec.lowerdirs comes from these.  */
};

/* RUNDIR, created 0700 when missing (and checked to be the caller's own).  */
int husk_rundir (char **ret, struct husk_error **err);

/* QUERY: a full ID, a unique ID prefix, or a name.  "no such container: QUERY" otherwise.  */
int husk_ctr_load (struct husk_store *s, const char *query, struct husk_ctr **ret,
                   struct husk_error **err);
/* Every container, newest first.  */
int husk_ctr_list (struct husk_store *s, struct husk_ctr ***ret, size_t *ret_n,
                   struct husk_error **err);
void husk_ctr_free (struct husk_ctr *c);
void husk_ctr_list_free (struct husk_ctr **v, size_t n);

/* "store/containers/ID" as an absolute path, and the log file's.  */
char *husk_ctr_dir (struct husk_store *s, const struct husk_ctr *c);
char *husk_ctr_log_path (struct husk_store *s, const struct husk_ctr *c);

/* The parsers behind husk_ctr_load, for its callers' tests and the fuzzer (tests/fuzz): C's
   record from config.json's BUF (LEN bytes), paths made absolute for store S, with C->id set
   beforehand; its state from state.json (anything unreadable leaves it "created"); and
   RUNDIR/ID/pid's NUL-terminated BUF, false when it does not hold four numbers.  What they
   fill is freed with C.  */
int husk_ctr_parse_config (struct husk_store *s, struct husk_ctr *c, const char *buf, size_t len,
                           struct husk_error **err);
void husk_ctr_parse_state (struct husk_ctr *c, const char *buf, size_t len);
bool husk_ctr_parse_pidfile (struct husk_ctr *c, const char *buf);

/* Write config.json (atomically; DURABLE: with fsync) and state.json (atomically, no fsync).
   A foreground --rm container skips the fsync: it is gone when husk returns.  */
int husk_ctr_save_config (struct husk_store *s, const struct husk_ctr *c, bool durable,
                          struct husk_error **err);
int husk_ctr_save_state (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err);

/* RUNDIR/ID/pid from C's pid, monitor_pid and their start times (RUNDIR/ID created).  */
int husk_ctr_write_pidfile (const struct husk_ctr *c, struct husk_error **err);
/* Remove RUNDIR/ID and, as root, the container's device cgroup (runtime/devices.h).  */
void husk_ctr_remove_rundir (const struct husk_ctr *c);
/* "RUNDIR/ID/NAME".  */
int husk_ctr_run_path (const struct husk_ctr *c, const char *name, char **ret,
                       struct husk_error **err);

/* Removing a container: its directory (renamed out of sight first) and its name.  */
struct husk_ctr_rm
{
  struct husk_store *store;
  const char *id;
  const char *name; /* Or NULL.  */
};
/* Call as root of the container's user namespace (the upper layer holds every mapped id).  */
int husk_ctr_remove_files (struct husk_ctr_rm *job, struct husk_error **err);
/* The same from outside, through a user namespace with the caller's map; also RUNDIR/ID.  */
int husk_ctr_remove (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err);

/* Lock container ID against other commands that change whether it runs (start, restart, rm,
   and cp into a stopped one, which mounts its overlay): a descriptor to close to unlock.
   *RET (may be NULL) gets the record as it is once locked.  */
int husk_ctr_lock (struct husk_store *s, const char *id, struct husk_ctr **ret,
                   struct husk_error **err);

/* Remove what interrupted commands left in containers/ (with the caller's id map M).  */
int husk_ctr_sweep (struct husk_store *s, const struct husk_idmap *map, struct husk_error **err);

/* Claim NAME for ID: fails with "name in use" when another container has it.  */
int husk_ctr_name_claim (struct husk_store *s, const char *name, const char *id,
                         struct husk_error **err);
void husk_ctr_name_release (struct husk_store *s, const char *name, const char *id);
/* A free readable name ("brave_otter"), claimed for ID.  */
int husk_ctr_name_generate (struct husk_store *s, const char *id, char **ret,
                            struct husk_error **err);
bool husk_ctr_name_valid (const char *name);

/* Field 22 of /proc/PID/stat; 0 when PID does not exist.  */
uint64_t husk_proc_start_time (pid_t pid);
/* Whether PID is still the process that started at START.  */
bool husk_proc_alive (pid_t pid, uint64_t start);

/* A pidfd for PID if it is still the process that started at START (checked after opening,
   so a match stays true); -1 with errno ESRCH when it is gone.  */
int husk_proc_pidfd (pid_t pid, uint64_t start);

/* Now as RFC 3339 UTC with nanoseconds.  */
void husk_now_rfc3339 (char *buf, size_t size);
const char *husk_ctr_status_name (enum husk_ctr_status st);

static inline void
husk_ctr_freep (struct husk_ctr **c)
{
  husk_ctr_free (*c);
}
#define cleanup_ctr __attribute__ ((cleanup (husk_ctr_freep)))

#endif
