/* A container's log file (STORE/containers/ID/ctr.log): the writer its monitor feeds with the
   container's output, and the reader's half, one entry parsed.

   One JSON object a line, as docker's json-file driver writes them:
     {"log":"TEXT","stream":"stdout"|"stderr","time":"2006-01-02T15:04:05.999999999Z"}
   TEXT is a piece of the output of one stream, written as soon as the container wrote it.  A
   piece whose TEXT ends in "\n" ends a line of output; one without (a "partial" entry, as
   docker's json-file driver leaves a partial message without its "\n") is continued by the
   next entry of the same stream, whatever entries of the other stream come between.  A line is
   in pieces when it arrived in several reads, when it is longer than HUSK_LOG_LINE_MAX bytes
   (pieces are at most that long) or when it is still unfinished.  Reading the TEXTs of a stream
   in order gives its bytes back, except that bytes that are not UTF-8 become U+FFFD (so every
   line of the file is valid JSON whatever the container wrote); a character split between two
   reads is kept whole.  The time is when the piece was written: CLOCK_REALTIME, UTC, always 9
   fraction digits.  Files of earlier husk versions have the same form (they held back a line
   until its end, so they have fewer pieces) and read back the same.  */
#ifndef HUSK_LOGFILE_H
#define HUSK_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

#define HUSK_LOG_LINE_MAX (16 * 1024)

enum
{
  HUSK_LOG_STDOUT = 1,
  HUSK_LOG_STDERR = 2,
};

struct husk_logw;

/* Open PATH for appending (created 0600, close-on-exec).  When it ends inside a line (a writer
   died mid-write), the first line written starts with a "\n" so that it stays whole.  */
int husk_logw_open (const char *path, struct husk_logw **ret, struct husk_error **err);
/* The same with PATH relative to DIRFD (AT_FDCWD: as husk_logw_open).  */
int husk_logw_open_at (int dirfd, const char *path, struct husk_logw **ret,
                       struct husk_error **err);

/* Add LEN bytes the container wrote on STREAM (HUSK_LOG_STDOUT or HUSK_LOG_STDERR): all of them
   are written at once, as entries that each end at a "\n" or are cut at HUSK_LOG_LINE_MAX
   bytes, the last one partial when they do not end in "\n"; a single write(2) for the call.
   Only a UTF-8 character they leave unfinished (1-3 bytes) waits for the next call on STREAM.
   No fsync.  On a failed write the entries of this call are lost, not retried, and the next
   entry starts on a line of the file of its own.  */
int husk_logw_write (struct husk_logw *w, int stream, const char *buf, size_t len,
                     struct husk_error **err);

/* Write what waits of both streams (an unfinished character, stored as U+FFFD) when the
   output ends.  */
int husk_logw_flush (struct husk_logw *w, struct husk_error **err);

/* Close without flushing.  NULL is fine.  */
void husk_logw_close (struct husk_logw *w);

static inline void
husk_logw_closep (struct husk_logw **w)
{
  husk_logw_close (*w);
}
#define cleanup_logw __attribute__ ((cleanup (husk_logw_closep)))

/* One entry of a log file.  */
struct husk_log_entry
{
  int stream; /* HUSK_LOG_STDOUT or HUSK_LOG_STDERR.  */
  struct timespec time;
  char *text; /* Allocated; may hold NUL bytes.  */
  size_t len;
  bool partial; /* TEXT does not end in "\n": the stream's next entry continues its line.  */
};

/* Parse LINE (LEN bytes, without its "\n").  An entry without a known stream, a parsable time
   or a string "log" is an error.  Free RET's text with husk_log_entry_clear.  */
int husk_log_entry_parse (const char *line, size_t len, struct husk_log_entry *ret,
                          struct husk_error **err);
void husk_log_entry_clear (struct husk_log_entry *e);

/* RFC 3339 times: "2006-01-02T15:04:05Z", with an optional fraction (up to 9 digits) and "Z"
   or an offset "+07:00".  */
int husk_rfc3339_parse (const char *s, struct timespec *ret);
/* T in UTC with 9 fraction digits, as the log file stores it, into BUF of SIZE bytes (at least
   HUSK_RFC3339_NANO_SIZE for years 0-9999).  */
#define HUSK_RFC3339_NANO_SIZE 31
void husk_rfc3339_format (const struct timespec *t, char *buf, size_t size);

#endif
