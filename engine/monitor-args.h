/* The command line a detached container's monitor re-executes husk with: a protocol version
   and named arguments, so that a husk that speaks another version refuses it in one line
   instead of reading the wrong number as a descriptor.

     husk-monitor __monitor STORE ID --protocol 1 [--name NAME] [--started-at TIME]
         [--rm] [--tty] [--idmap] --pid PID --dir-fd FD --listen-fd FD [--out-fd FD]
         [--err-fd FD] [--in-fd FD] [--userns-fd FD] [--client FD[:FLAGS]]...

   STORE (the store's absolute root) and ID (the container's, 64 hex digits) come first, in
   every version, and the name is a word of its own: ps and pgrep -f show which container a
   monitor serves.  --protocol follows and is checked before anything else is read.  Every
   other argument comes at most once (--client up to HUSK_MONITOR_MAX_CLIENTS times), in any
   order; each but the flags --rm, --tty and --idmap is followed by its value.  Descriptors
   are decimal, -1 for none; they are the monitor's own, kept open across the exec.  Only
   this binary writes it (engine/monitor-start.c) and reads it back (main() hands argv to
   husk_monitor_exec_main when argv[1] is HUSK_MONITOR_ARG).  */
#ifndef HUSK_MONITOR_ARGS_H
#define HUSK_MONITOR_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define HUSK_MONITOR_ARG "__monitor"
#define HUSK_MONITOR_PROTOCOL 1
#define HUSK_MONITOR_MAX_CLIENTS 32

/* An attach client the monitor was serving when it re-executed itself.  */
struct husk_monitor_client
{
  int fd;
  bool hello;     /* Its hello was read: FLAGS holds its HUSK_ATTACH_WANT_* flags.  */
  unsigned flags; /* "--client FD:FLAGS"; "--client FD" while the hello is unread.  */
};

struct husk_monitor_args
{
  const char *store;      /* STORE: the store's root, opened again only to remove an --rm
                             container.  */
  const char *id;         /* ID: the container's, 64 lowercase hex digits.  */
  const char *name;       /* --name: its name, or NULL.  */
  const char *started_at; /* --started-at: RFC 3339, kept in state.json; or NULL.  */
  bool auto_remove;       /* --rm.  */
  bool tty;               /* --tty: OUT is a pty master (and IN, when not -1).  */
  bool idmap;             /* --idmap: it has an id map, so USERNS is entered for --rm.  */
  pid_t pid;              /* --pid: the container's pid 1, the monitor's child.  */
  int dir_fd;             /* --dir-fd: STORE/containers/ID.  */
  int listen_fd;          /* --listen-fd: RUNDIR/ID/attach.sock, listening.  */
  int out_fd, err_fd;     /* --out-fd, --err-fd: the container's output, or -1.  */
  int in_fd;              /* --in-fd: its stdin, or -1.  */
  int userns_fd;          /* --userns-fd: its user namespace, or -1.  */
  size_t n_clients;
  struct husk_monitor_client clients[HUSK_MONITOR_MAX_CLIENTS];
};

/* A fresh *ARGS with nothing set: NULL strings, false flags, every descriptor -1.  */
void husk_monitor_args_init (struct husk_monitor_args *args);

/* ARGS as a NULL-terminated argv ("husk-monitor", HUSK_MONITOR_ARG, STORE, ID,
   "--protocol", "1", ...) to free with husk_strv_free; NULL strings and false flags are left
   out.  */
char **husk_monitor_args_encode (const struct husk_monitor_args *args);

/* ARGV (ARGC strings, as main gets them) back into *RET, whose strings then point into ARGV.
   -1 with *ERR on any mismatch, one line naming the argument: "monitor: protocol version 2,
   this husk speaks version 1", "monitor: unknown argument \"--x\"", "monitor: --pid \"x\":
   not a process id", "monitor: --dir-fd is missing", ...  */
int husk_monitor_args_decode (int argc, char *const *argv, struct husk_monitor_args *ret,
                              struct husk_error **err);

#endif
