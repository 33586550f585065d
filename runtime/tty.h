/* -t: a pseudo-terminal from the container's own devpts instance.  The container opens it and
   sends the master to husk, which relays it to the caller's terminal in raw mode.  */
#ifndef HUSK_TTY_H
#define HUSK_TTY_H

#include <stdbool.h>

#include "error.h"

/* In the container, after setsid and with /dev/pts mounted: a new pty whose slave becomes the
   controlling terminal, stdin/stdout/stderr and /dev/console; the master goes over SOCK.  The
   pty starts with the window size of the terminal on the stdin or stdout it replaces, if any,
   so the command sees its caller's size from its first instruction.  */
int husk_tty_child (int sock, struct husk_error **err);

/* The same for a process joining a running container (husk exec): /dev/console stays the
   container's own.  */
int husk_tty_child_exec (int sock, struct husk_error **err);

/* In husk: receive the master from SOCK.  */
int husk_tty_receive (int sock, int *ret_master, struct husk_error **err);

/* Relay between the caller's stdio and MASTER until the container's side is closed.  With
   INTERACTIVE, stdin is forwarded and its end delivered as the terminal's EOF character.  */
int husk_tty_relay (int master, bool interactive, struct husk_error **err);

#endif
