/* The monitor's attach socket (RUNDIR/ID/attach.sock): framed messages both ways.

   Each frame: 1 byte type, 3 zero bytes, 4 bytes big-endian length, then the data.
   Client to monitor: HELLO first (4 bytes of HUSK_ATTACH_WANT_* flags), then STDIN data,
   CLOSE_STDIN, RESIZE (2 bytes rows, 2 bytes columns, big-endian).
   Monitor to client: STDOUT and STDERR data (when asked for), then EXIT (4 bytes: the exit
   status) when the container has exited; then the monitor closes the connection.  */
#ifndef HUSK_ATTACH_H
#define HUSK_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum husk_attach_type
{
  HUSK_ATTACH_STDIN = 0,
  HUSK_ATTACH_STDOUT = 1,
  HUSK_ATTACH_STDERR = 2,
  HUSK_ATTACH_RESIZE = 3,
  HUSK_ATTACH_CLOSE_STDIN = 4,
  HUSK_ATTACH_EXIT = 5,
  HUSK_ATTACH_HELLO = 6,
};

#define HUSK_ATTACH_WANT_OUTPUT 1u
#define HUSK_ATTACH_WANT_STDIN 2u

#define HUSK_ATTACH_MAX_FRAME 65536

int husk_attach_send (int fd, int type, const void *buf, size_t len);
/* Read one frame; BUF holds HUSK_ATTACH_MAX_FRAME bytes.  0 at a clean end, -1 on error.  */
int husk_attach_recv (int fd, int *ret_type, char *buf, size_t *ret_len);

struct sockaddr_un;
/* A unix socket address for PATH; one too long for sun_path goes through /proc/self/fd and
   a descriptor of its directory (*RET_DIRFD, to close after bind or connect; else -1).  */
int husk_unix_address (const char *path, struct sockaddr_un *sa, int *ret_dirfd,
                       struct husk_error **err);

/* Connect to SOCKPATH and say hello with FLAGS.  */
int husk_attach_connect (const char *sockpath, unsigned flags, int *ret_fd,
                         struct husk_error **err);

/* Relay between the caller's stdio and a connected socket until the container exits; its
   exit status lands in *RET_STATUS.  With TTY and a terminal on stdin, the terminal is raw and
   its size follows.  With SEND_STDIN, stdin is forwarded and its end passed on.  */
int husk_attach_relay (int fd, bool tty, bool send_stdin, int *ret_status, struct husk_error **err);

#endif
