/* Reading a container's log file for husk logs: the entries of both streams back into lines,
   filtered by time, --tail found by reading backwards, and following the file while the
   container runs.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "logfile.h"
#include "logread.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* A line longer than this is no entry the writer made (16 KiB of text, 6 bytes a byte at
   worst when escaped): it is skipped.  */
#define LINE_MAX_BYTES (1 << 20)
#define READ_CHUNK (64 * 1024)
/* When the file is quiet, how often to look at the container's state anyway (ms): the monitor's
   pidfd and the directory's events normally say it first.  */
#define QUIET_RECHECK_MS 2000
#define NO_INOTIFY_MS 250

static int
ts_cmp (const struct timespec *a, const struct timespec *b)
{
  if (a->tv_sec != b->tv_sec)
    return a->tv_sec < b->tv_sec ? -1 : 1;
  if (a->tv_nsec != b->tv_nsec)
    return a->tv_nsec < b->tv_nsec ? -1 : 1;
  return 0;
}

/* ------------------------------------------------------------------ output */

/* Output goes to husk's stdout or stderr by stream, buffered; switching streams flushes, so the
   two keep their order where they meet (a terminal).  */
struct out
{
  int fd;
  size_t len;
  char buf[READ_CHUNK];
};

static int
out_flush (struct out *o, struct husk_error **err)
{
  if (o->len > 0 && husk_write_all (o->fd, o->buf, o->len) < 0)
    return husk_error_set (err, errno, "write to %s", o->fd == 1 ? "stdout" : "stderr");
  o->len = 0;
  return 0;
}

static int
out_put (struct out *o, int fd, const char *s, size_t len, struct husk_error **err)
{
  if (fd != o->fd && out_flush (o, err) < 0)
    return -1;
  o->fd = fd;
  if (o->len + len > sizeof (o->buf) && out_flush (o, err) < 0)
    return -1;
  if (len > sizeof (o->buf))
    {
      if (husk_write_all (fd, s, len) < 0)
        return husk_error_set (err, errno, "write to %s", fd == 1 ? "stdout" : "stderr");
      return 0;
    }
  memcpy (o->buf + o->len, s, len);
  o->len += len;
  return 0;
}

/* ------------------------------------------------------------------ reading */

struct reader
{
  int fd;
  char *buf;
  size_t len, cap;
  off_t off;     /* The file offset of BUF's first byte.  */
  bool skipping; /* Inside a line too long to be an entry.  */
  /* Per stream (index stream - 1): entries before this offset belong to lines --tail left
     out; whether its last entry left a line unfinished; whether that line is printed.  */
  off_t skip_before[2];
  bool in_line[2];
  bool show[2];
  const struct husk_logs_opts *opts;
  struct out *out;
};

/* One line of the file, at offset OFF: printed when it is an entry that passes the filters,
   skipped when it is not an entry at all (a torn write, a foreign line).  The filters and -t
   apply to lines of output, not to the entries that hold their pieces: a line is printed as a
   whole or not at all, by the time of its first piece, and that time is put before it.  */
static int
handle_line (struct reader *r, const char *line, size_t len, off_t off, struct husk_error **err)
{
  struct husk_log_entry e;
  struct husk_error *perr = NULL;
  int fd, i, rc = 0;

  if (len == 0)
    return 0;
  if (husk_log_entry_parse (line, len, &e, &perr) < 0)
    {
      husk_error_free (&perr);
      return 0;
    }
  i = e.stream - 1;
  if (off < r->skip_before[i])
    goto out;
  fd = e.stream == HUSK_LOG_STDERR ? 2 : 1;
  if (!r->in_line[i])
    {
      r->show[i] = !((r->opts->has_since && ts_cmp (&e.time, &r->opts->since) < 0)
                     || (r->opts->has_until && ts_cmp (&e.time, &r->opts->until) >= 0));
      if (r->show[i] && r->opts->timestamps)
        {
          char ts[HUSK_RFC3339_NANO_SIZE + 1];
          size_t n;
          husk_rfc3339_format (&e.time, ts, sizeof (ts) - 1);
          n = strlen (ts);
          ts[n++] = ' ';
          rc = out_put (r->out, fd, ts, n, err);
        }
    }
  r->in_line[i] = e.partial;
  if (rc == 0 && r->show[i])
    rc = out_put (r->out, fd, e.text, e.len, err);
out:
  husk_log_entry_clear (&e);
  return rc;
}

/* Print every complete line of the file from its current offset to its end; an unfinished last
   line of the file stays in the buffer until the rest of it arrives.  */
static int
drain (struct reader *r, struct husk_error **err)
{
  for (;;)
    {
      ssize_t n;
      size_t start = 0;
      char *nl;

      if (r->len == r->cap)
        {
          if (r->cap >= LINE_MAX_BYTES)
            {
              r->skipping = true;
              r->off += (off_t) r->len;
              r->len = 0;
            }
          else
            {
              r->cap = r->cap ? r->cap * 2 : READ_CHUNK;
              r->buf = husk_xrealloc (r->buf, r->cap);
            }
        }
      n = read (r->fd, r->buf + r->len, r->cap - r->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "read log");
      if (n == 0)
        break;
      r->len += (size_t) n;
      while ((nl = memchr (r->buf + start, '\n', r->len - start)) != NULL)
        {
          size_t end = (size_t) (nl - r->buf);
          if (r->skipping)
            r->skipping = false;
          else if (handle_line (r, r->buf + start, end - start, r->off + (off_t) start, err) < 0)
            return -1;
          start = end + 1;
        }
      memmove (r->buf, r->buf + start, r->len - start);
      r->len -= start;
      r->off += (off_t) start;
    }
  return out_flush (r->out, err);
}

/* Where --tail N starts, found by reading the file backwards, an entry at a time.  The last N
   lines of output are those whose last pieces are the last N that end a line (an unfinished
   last line of a stream counts as one); their earlier pieces may lie further back, past entries
   of the other stream's older lines.  */
struct tail
{
  uint64_t want, lines;
  enum
  {
    TAIL_UNSEEN, /* No entry of the stream yet.  */
    TAIL_OPEN,   /* Inside a line that is printed: looking for its first piece.  */
    TAIL_DONE,   /* Its older lines are not printed.  */
  } state[2];
  off_t start;          /* The first entry printed.  */
  off_t skip_before[2]; /* See struct reader.  */
};

static bool
tail_done (const struct tail *t)
{
  for (int i = 0; i < 2; i++)
    if (t->state[i] == TAIL_OPEN || (t->state[i] == TAIL_UNSEEN && t->lines < t->want))
      return false;
  return true;
}

/* The file's line at OFF (LEN bytes, END the offset just past its "\n").  */
static void
tail_line (struct tail *t, const char *line, size_t len, off_t off, off_t end)
{
  struct husk_log_entry e;
  struct husk_error *perr = NULL;
  int i;

  if (len == 0)
    return;
  if (husk_log_entry_parse (line, len, &e, &perr) < 0)
    {
      husk_error_free (&perr);
      return;
    }
  i = e.stream - 1;
  if (t->state[i] == TAIL_OPEN && e.partial)
    t->start = off; /* An earlier piece of the line.  */
  else if (t->state[i] != TAIL_DONE)
    {
      /* The last piece of a line.  */
      if (t->lines == t->want)
        {
          t->state[i] = TAIL_DONE;
          t->skip_before[i] = end;
        }
      else
        {
          t->lines++;
          t->state[i] = TAIL_OPEN;
          t->start = off;
        }
    }
  husk_log_entry_clear (&e);
}

/* LEN bytes (at most LINE_MAX_BYTES) at OFF into *BUF, allocated at first use.  */
static int
read_at (int fd, char **buf, size_t len, off_t off, struct husk_error **err)
{
  ssize_t got;

  if (*buf == NULL)
    *buf = husk_xmalloc (LINE_MAX_BYTES);
  do
    got = pread (fd, *buf, len, off);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    return husk_error_set (err, errno, "read log");
  if ((size_t) got != len)
    return husk_error_set (err, 0, "read log: the file shrank");
  return 0;
}

/* Find where the last N lines of output start (see struct tail), reading the file from the
   end in blocks; the reader starts at *RET_START and leaves out, per stream, the entries
   before RET_SKIP_BEFORE.  */
static int
tail_offset (int fd, uint64_t n, off_t *ret_start, off_t ret_skip_before[2],
             struct husk_error **err)
{
  cleanup_free char *blk = husk_xmalloc (READ_CHUNK);
  cleanup_free char *lbuf = NULL;
  struct tail t = { .want = n };
  struct stat st;
  off_t pos, line_end = -1; /* The "\n" of the line being looked for, once there is one.  */

  if (fstat (fd, &st) < 0)
    return husk_error_set (err, errno, "stat log");
  pos = st.st_size;
  t.start = 0;
  /* Even --tail 0 looks for the last "\n": the reader starts after it.  */
  while (pos > 0 && (line_end < 0 || !tail_done (&t)))
    {
      size_t k = pos < READ_CHUNK ? (size_t) pos : READ_CHUNK;
      ssize_t got;
      pos -= (off_t) k;
      do
        got = pread (fd, blk, k, pos);
      while (got < 0 && errno == EINTR);
      if (got < 0)
        return husk_error_set (err, errno, "read log");
      if ((size_t) got != k)
        return husk_error_set (err, 0, "read log: the file shrank");
      for (size_t i = k; i-- > 0 && (line_end < 0 || !tail_done (&t));)
        {
          off_t nl = pos + (off_t) i, from = nl + 1;
          size_t len;
          if (blk[i] != '\n')
            continue;
          if (line_end < 0)
            {
              /* What follows the file's last "\n" is no entry yet.  */
              line_end = nl;
              t.start = from;
              continue;
            }
          len = (size_t) (line_end - from);
          if (len > LINE_MAX_BYTES)
            ; /* Not an entry the writer made.  */
          else if (line_end < pos + (off_t) k)
            tail_line (&t, blk + i + 1, len, from, line_end + 1);
          else
            {
              /* The line goes on past this block.  */
              if (read_at (fd, &lbuf, len, from, err) < 0)
                return -1;
              tail_line (&t, lbuf, len, from, line_end + 1);
            }
          line_end = nl;
        }
    }
  if (pos == 0 && line_end > 0 && !tail_done (&t))
    {
      /* The file's first line.  */
      size_t len = (size_t) line_end;
      if (len <= LINE_MAX_BYTES)
        {
          if (read_at (fd, &lbuf, len, 0, err) < 0)
            return -1;
          tail_line (&t, lbuf, len, 0, line_end + 1);
        }
    }
  *ret_start = t.start;
  ret_skip_before[0] = t.skip_before[0];
  ret_skip_before[1] = t.skip_before[1];
  return 0;
}

/* ------------------------------------------------------------------ following */

struct follow
{
  struct husk_store *store;
  const char *query;
  char *dir;
  char *log_path;
  int ino;     /* inotify */
  int pidfd;   /* The monitor, or -1.  */
  int file_wd; /* The log's watch, or -1.  */
};

/* Whether the container still runs; a container that is gone has stopped.  */
static int
still_running (struct follow *f, pid_t *ret_monitor, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;
  struct husk_error *lerr = NULL;

  if (husk_ctr_load (f->store, f->query, &c, &lerr) < 0)
    {
      if (lerr && lerr->errnum != 0 && lerr->errnum != ENOENT)
        {
          *err = lerr;
          return -1;
        }
      husk_error_free (&lerr);
      return 0;
    }
  if (ret_monitor)
    *ret_monitor = c->monitor_pid;
  return c->status == HUSK_CTR_RUNNING;
}

static int
open_log (const char *path, int *ret, struct husk_error **err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "open log \"%s\"", path);
  *ret = fd;
  return 0;
}

static int
watch_log (struct follow *f, struct husk_error **err)
{
  if (f->ino < 0)
    return 0;
  f->file_wd = inotify_add_watch (f->ino, f->log_path, IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF);
  if (f->file_wd < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "watch log \"%s\"", f->log_path);
  return 0;
}

/* Follow until the container stops; R's fd may be -1 until the monitor creates the file.  */
static int
follow (struct follow *f, struct reader *r, struct husk_error **err)
{
  const struct husk_logs_opts *o = r->opts;
  pid_t monitor = 0;
  int running;

  f->ino = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (f->ino < 0 && errno != EMFILE && errno != ENOSYS)
    return husk_error_set (err, errno, "inotify");
  /* Out of inotify instances (fs.inotify.max_user_instances): look at the file every
     NO_INOTIFY_MS instead.  The directory: state.json replaced when the container stops,
     ctr.log created.  */
  if (f->ino >= 0
      && inotify_add_watch (f->ino, f->dir,
                            IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE | IN_DELETE_SELF)
             < 0)
    return husk_error_set (err, errno, "watch \"%s\"", f->dir);
  if (watch_log (f, err) < 0)
    return -1;

  /* Watches first, then the state: a stop between the two is not missed.  */
  running = still_running (f, &monitor, err);
  if (running < 0)
    return -1;
  if (running && monitor > 0)
    {
      f->pidfd = (int) syscall (SYS_pidfd_open, monitor, 0);
      /* Without pidfds (before Linux 5.3), the quiet re-checks do.  */
      if (f->pidfd >= 0)
        {
          pid_t again = 0;
          running = still_running (f, &again, err);
          if (running < 0)
            return -1;
          if (again != monitor)
            {
              close (f->pidfd);
              f->pidfd = -1;
            }
        }
    }

  while (running)
    {
      struct pollfd p[2] = { { f->ino, POLLIN, 0 }, { f->pidfd, POLLIN, 0 } };
      int timeout = f->ino >= 0 ? QUIET_RECHECK_MS : NO_INOTIFY_MS, n;
      bool recheck = false;

      if (r->fd < 0)
        {
          if (open_log (f->log_path, &r->fd, err) < 0)
            return -1;
          if (r->fd >= 0 && f->file_wd < 0 && watch_log (f, err) < 0)
            return -1;
        }
      if (r->fd >= 0 && drain (r, err) < 0)
        return -1;

      if (o->has_until)
        {
          struct timespec now;
          int64_t left;
          clock_gettime (CLOCK_REALTIME, &now);
          left = ((int64_t) o->until.tv_sec - now.tv_sec) * 1000
                 + (o->until.tv_nsec - now.tv_nsec) / 1000000;
          if (left <= 0)
            return 0;
          if (left < timeout)
            timeout = (int) left + 1;
        }

      n = poll (p, 2, timeout); /* A descriptor of -1 is not polled.  */
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "poll");
      if (n == 0)
        recheck = true;
      if (f->pidfd >= 0 && (p[1].revents & POLLIN))
        {
          running = 0; /* The monitor exits after the container and after its last write.  */
          break;
        }
      if (p[0].revents & POLLIN)
        {
          char ev[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
          ssize_t len;
          while ((len = read (f->ino, ev, sizeof (ev))) > 0)
            for (char *q = ev; q < ev + len;)
              {
                const struct inotify_event *e = (const struct inotify_event *) q;
                if (e->wd != f->file_wd || (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)))
                  recheck = true;
                q += sizeof (*e) + e->len;
              }
          if (len < 0 && errno != EAGAIN && errno != EINTR)
            return husk_error_set (err, errno, "read inotify events");
        }
      if (recheck)
        {
          running = still_running (f, NULL, err);
          if (running < 0)
            return -1;
        }
    }

  /* The container stopped: what the monitor wrote last is in the file now.  */
  if (r->fd < 0 && open_log (f->log_path, &r->fd, err) < 0)
    return -1;
  return r->fd >= 0 ? drain (r, err) : 0;
}

int
husk_logs_print (struct husk_store *store, const struct husk_ctr *c, const struct husk_logs_opts *o,
                 struct husk_error **err)
{
  cleanup_free char *log_path = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *rbuf = NULL;
  cleanup_close int fd = -1;
  cleanup_close int ino = -1;
  cleanup_close int pidfd = -1;
  cleanup_free struct out *out = husk_xcalloc (1, sizeof (struct out));
  struct reader r = { 0 };
  int rc;

  log_path = husk_ctr_log_path (store, c);
  dir = husk_ctr_dir (store, c);
  if (open_log (log_path, &fd, err) < 0)
    return -1;
  if (fd >= 0 && o->has_tail)
    {
      off_t start = 0;
      if (tail_offset (fd, o->tail, &start, r.skip_before, err) < 0
          || lseek (fd, start, SEEK_SET) < 0)
        {
          if (*err == NULL)
            husk_error_set (err, errno, "seek log");
          return -1;
        }
      r.off = start;
    }

  r.opts = o;
  r.out = out;
  out->fd = 1;
  r.fd = fd;
  if (o->follow && c->status == HUSK_CTR_RUNNING)
    {
      struct follow f = { .store = store,
                          .query = c->id,
                          .dir = dir,
                          .log_path = log_path,
                          .ino = -1,
                          .pidfd = -1,
                          .file_wd = -1 };
      rc = follow (&f, &r, err);
      ino = f.ino;
      pidfd = f.pidfd;
    }
  else
    rc = r.fd >= 0 ? drain (&r, err) : 0;
  /* The reader may have opened the file while following.  */
  fd = r.fd;
  rbuf = r.buf;
  if (rc < 0)
    {
      out_flush (out, NULL);
      return -1;
    }
  return 0;
}
