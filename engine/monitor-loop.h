/* For engine/monitor*.c only: a monitor's state and its loop (monitor.c), shared by the
   monitor that forked (monitor-start.c) and the one it re-executes into.  */
#ifndef HUSK_MONITOR_LOOP_H
#define HUSK_MONITOR_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "logfile.h"
#include "monitor-args.h"
#include "record.h"

/* What a monitor holds while its container runs: the container's directory, its log, its
   stdio and its attach clients; nothing of the image store (no descriptor, no lock).  */
struct husk_monitor
{
  const char *root; /* The store's root, opened again only to remove an --rm container.  */
  int dirfd;        /* STORE/containers/ID: state.json is written here.  */
  struct husk_ctr *ctr;
  struct husk_logw *log;
  int out, errfd, in; /* Our ends: container output (the pty master with -t), its stdin.  */
  int listen;
  struct husk_monitor_client clients[HUSK_MONITOR_MAX_CLIENTS];
  size_t n_clients;
  char *buf; /* HUSK_ATTACH_MAX_FRAME bytes.  */
};

/* M with no descriptors (-1) and nothing else set.  */
void husk_monitor_init (struct husk_monitor *m);

/* Serve FD, an accepted attach connection (dropped when there are too many).  */
void husk_monitor_client_add (struct husk_monitor *m, int fd);
/* Read one frame from client I: its hello, stdin data, a resize...  A client that fails or
   says goodbye is dropped (the last one takes its place).  */
void husk_monitor_client_input (struct husk_monitor *m, size_t i);

/* C has exited with STATUS (ERROR: why, or NULL): into its state.json, through M->dirfd.  */
void husk_monitor_record_exit (struct husk_monitor *m, int status, const char *error);

/* Pump output, serve clients and record the end of PID, the container's pid 1 (USERNS: its
   user namespace, for removing an --rm container; else -1); then exit.  */
void husk_monitor_loop (struct husk_monitor *m, pid_t pid, int userns) __attribute__ ((noreturn));

#endif
