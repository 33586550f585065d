/* Without -t, the caller's terminal never reaches a container.

   A process in a container that holds a descriptor of the caller's terminal can read what the
   user types, change the terminal's mode (echo off, raw) and leave it so, and, with
   CAP_SYS_ADMIN in the initial user namespace, push input into it with TIOCSTI even from
   another session (CVE-2017-5226 and its kind).  So for each of husk's stdin, stdout and
   stderr that is a terminal (stdin only with -i), the container gets a pipe instead, and husk
   copies between the pipe and the terminal, as docker and podman do.  A descriptor that is
   not a terminal (a pipe, a file, /dev/null) is passed straight through: nothing to relay,
   nothing to slow down.  -t has its own relay, between the caller's terminal and a
   pseudo-terminal of the container's own (tty.h).  */
#ifndef HUSK_RELAY_H
#define HUSK_RELAY_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* After the container's process exits, how long husk still copies its output, in
   milliseconds: a process it left behind (or a descriptor it passed on) can hold the pipes
   open forever.  The monitor waits as long (monitor.c).  */
#define HUSK_RELAY_DRAIN_MS 2000

struct husk_relay
{
  /* The container's ends, for its fds 0, 1 and 2 (all above 2, close-on-exec); -1: the
     caller's own descriptor (or /dev/null for stdin without -i).  In the shape of the STDIO
     argument of husk_container_spawn.  */
  int child[3];
  /* husk's ends: [0] writes to the container's stdin, [1] and [2] read its stdout and stderr;
     non-blocking, close-on-exec; -1: none.  */
  int mine[3];
};

#define HUSK_RELAY_INIT                                                                            \
  {                                                                                                \
    .child = { -1, -1, -1 }, .mine = { -1, -1, -1 }                                                \
  }

/* Make a pipe for each of fds 0-2 that is a terminal (fd 0 only with INTERACTIVE).  R must be
   HUSK_RELAY_INIT.  On failure (errno from pipe2 or fcntl in *ERR, status left 0 for the
   caller to choose) nothing stays open.  */
int husk_relay_open (struct husk_relay *r, bool interactive, struct husk_error **err);

/* Whether husk_relay_open made any pipe, that is whether husk_relay_run has work to do.  */
bool husk_relay_active (const struct husk_relay *r);

/* In husk, once the container's process has its copies (after fork or clone): close the
   container's ends, so that its exit is seen as the end of its output.  */
void husk_relay_close_child (struct husk_relay *r);

/* In a process about to become a container's (after fork, before exec): dup2 the ≥ 0 entries
   of STDIO onto fds 0, 1 and 2.  Failure: errno from dup2 in *ERR.  */
int husk_relay_child_stdio (const int stdio[3], struct husk_error **err);

/* Copy until PID, a child of husk's, has exited and its output pipes have reached their end,
   or HUSK_RELAY_DRAIN_MS after its exit, whichever is first.  PID is not reaped: the caller
   waits for it and so keeps its exit status.  The caller's stdin is copied only while PID
   runs; its end (or the container closing its stdin) closes the container's stdin pipe.
   Output goes to husk's fds 1 and 2 as it comes, never buffered; when they fail, output is
   still read and dropped, so the container never blocks on a full pipe.  The terminal's mode
   is never changed.  Signals sent to husk keep going to their handlers (husk_forward_*):
   poll is restarted after them.  Closes husk's ends before returning.  Fails only when poll
   does (errno in *ERR).  */
int husk_relay_run (struct husk_relay *r, pid_t pid, struct husk_error **err);

/* Close whatever of R is still open; R becomes HUSK_RELAY_INIT.  */
void husk_relay_close (struct husk_relay *r);

#endif
