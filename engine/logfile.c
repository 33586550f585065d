/* The container log file: see logfile.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "logfile.h"
#include "util.h"
#include "banned.h"

/* What waits of one stream: the start of a UTF-8 character its last write cut short.  */
struct pending
{
  char buf[4];
  size_t len;
};

struct husk_logw
{
  int fd;
  bool torn; /* A write failed: the file may end inside a line.  */
  husk_jgen *gen;
  struct pending part[2];
  /* A waiting character joined to what follows it: HUSK_LOG_LINE_MAX + 1 bytes, allocated
     at first use (an idle monitor holds no buffer).  */
  char *piece;
  char *scratch; /* For text with invalid UTF-8.  */
  size_t scratch_size;
  char time[64]; /* The current call's timestamp, "" until needed.  */
};

int
husk_logw_open (const char *path, struct husk_logw **ret, struct husk_error **err)
{
  return husk_logw_open_at (AT_FDCWD, path, ret, err);
}

int
husk_logw_open_at (int dirfd, const char *path, struct husk_logw **ret, struct husk_error **err)
{
  struct husk_logw *w;
  struct stat st;
  char last;
  /* Readable too, for the check of its last byte.  */
  int fd = openat (dirfd, path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);

  if (fd < 0)
    return husk_error_set (err, errno, "open log \"%s\"", path);
  w = husk_xcalloc (1, sizeof (*w));
  w->fd = fd;
  w->gen = husk_jgen_new (false);
  /* A writer that died inside a line (a full disk, a killed monitor) left the file without its
     last "\n": the next line must not be glued to that piece.  */
  if (fstat (fd, &st) == 0 && st.st_size > 0 && pread (fd, &last, 1, st.st_size - 1) == 1
      && last != '\n')
    w->torn = true;
  *ret = w;
  return 0;
}

void
husk_logw_close (struct husk_logw *w)
{
  if (w == NULL)
    return;
  close (w->fd);
  husk_jgen_free (w->gen);
  free (w->piece);
  free (w->scratch);
  free (w);
}

/* The UTF-8 sequence at S (N > 0 bytes): its length when valid; 0 when it is a valid start cut
   short by the end of the buffer; -K when invalid, K the bytes to replace with one U+FFFD (the
   maximal subpart, as Unicode recommends).  Overlong forms, surrogates and code points past
   U+10FFFF are invalid.  */
static int
utf8_seq (const unsigned char *s, size_t n)
{
  unsigned char b = s[0], lo = 0x80, hi = 0xbf;
  size_t need;

  if (b < 0x80)
    return 1;
  if (b >= 0xc2 && b <= 0xdf)
    need = 2;
  else if (b >= 0xe0 && b <= 0xef)
    {
      need = 3;
      if (b == 0xe0)
        lo = 0xa0;
      else if (b == 0xed)
        hi = 0x9f;
    }
  else if (b >= 0xf0 && b <= 0xf4)
    {
      need = 4;
      if (b == 0xf0)
        lo = 0x90;
      else if (b == 0xf4)
        hi = 0x8f;
    }
  else
    return -1;
  for (size_t i = 1; i < need; i++)
    {
      if (i >= n)
        return 0;
      if (s[i] < lo || s[i] > hi)
        return -(int) i;
      lo = 0x80;
      hi = 0xbf;
    }
  return (int) need;
}

/* How many bytes at the end of S (N bytes) are the valid start of a sequence cut short: they
   wait for the stream's next piece instead of splitting a character.  */
static size_t
utf8_cut_tail (const unsigned char *s, size_t n)
{
  for (size_t k = 1; k <= 3 && k <= n; k++)
    {
      unsigned char b = s[n - k];
      if (b < 0x80)
        return 0;
      if (b >= 0xc0)
        return utf8_seq (s + n - k, k) == 0 ? k : 0;
    }
  return 0;
}

/* TEXT as valid UTF-8: TEXT itself when it is, else a copy in the scratch buffer with every
   invalid sequence replaced by U+FFFD.  */
static const char *
utf8_sanitize (struct husk_logw *w, const char *text, size_t len, size_t *ret_len)
{
  const unsigned char *s = (const unsigned char *) text;
  size_t i = 0, o;

  while (i < len)
    {
      int r;
      if (s[i] < 0x80)
        {
          i++;
          continue;
        }
      r = utf8_seq (s + i, len - i);
      if (r <= 0)
        break;
      i += (size_t) r;
    }
  *ret_len = len;
  if (i == len)
    return text;

  /* Each invalid byte becomes at most 3.  */
  if (w->scratch_size < len * 3)
    {
      w->scratch_size = len * 3;
      free (w->scratch);
      w->scratch = husk_xmalloc (w->scratch_size);
    }
  memcpy (w->scratch, text, i);
  o = i;
  while (i < len)
    {
      int r = utf8_seq (s + i, len - i);
      if (r > 0)
        {
          memcpy (w->scratch + o, s + i, (size_t) r);
          o += (size_t) r;
          i += (size_t) r;
          continue;
        }
      /* An invalid sequence, or one the end of the text cut short.  */
      i += r < 0 ? (size_t) -r : len - i;
      memcpy (w->scratch + o, "\xef\xbf\xbd", 3);
      o += 3;
    }
  *ret_len = o;
  return w->scratch;
}

void
husk_rfc3339_format (const struct timespec *t, char *buf, size_t size)
{
  struct tm tm;
  time_t sec = t->tv_sec;

  if (size == 0)
    return;
  buf[0] = '\0';
  if (gmtime_r (&sec, &tm) == NULL)
    return;
  if (snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long) t->tv_nsec)
      >= (int) size)
    buf[0] = '\0';
}

static void
emit (struct husk_logw *w, int stream, const char *text, size_t len)
{
  const char *clean;
  size_t clean_len;

  if (w->time[0] == '\0')
    {
      struct timespec now;
      clock_gettime (CLOCK_REALTIME, &now);
      husk_rfc3339_format (&now, w->time, sizeof (w->time));
    }
  clean = utf8_sanitize (w, text, len, &clean_len);
  husk_jgen_map_open (w->gen);
  husk_jgen_key (w->gen, "log");
  husk_jgen_string_len (w->gen, clean, clean_len);
  husk_jgen_key (w->gen, "stream");
  husk_jgen_string (w->gen, stream == HUSK_LOG_STDERR ? "stderr" : "stdout");
  husk_jgen_key (w->gen, "time");
  husk_jgen_string (w->gen, w->time);
  husk_jgen_map_close (w->gen);
  husk_jgen_next_line (w->gen);
}

/* Write out what the generator holds, in one write(2) unless the kernel takes less.  */
static int
commit (struct husk_logw *w, struct husk_error **err)
{
  size_t len;
  const char *buf = husk_jgen_buf (w->gen, &len);
  int rc = 0;

  w->time[0] = '\0';
  if (len > 0)
    {
      if (husk_write_all (w->fd, buf, len) < 0)
        {
          w->torn = true;
          rc = husk_error_set (err, errno, "write log");
        }
      else
        w->torn = false;
    }
  husk_jgen_clear (w->gen);
  return rc;
}

/* Lines after a failed write start on a line of their own: an empty line (which readers skip)
   ends whatever the failed write left.  */
static void
begin (struct husk_logw *w)
{
  if (w->torn)
    husk_jgen_next_line (w->gen);
}

int
husk_logw_write (struct husk_logw *w, int stream, const char *buf, size_t len,
                 struct husk_error **err)
{
  struct pending *p;

  if (stream != HUSK_LOG_STDOUT && stream != HUSK_LOG_STDERR)
    return husk_error_set (err, EINVAL, "write log: stream %d", stream);
  p = &w->part[stream - 1];
  begin (w);
  while (len > 0)
    {
      /* A piece is at most HUSK_LOG_LINE_MAX bytes, or one more when that is its "\n".  */
      size_t room = HUSK_LOG_LINE_MAX - p->len;
      size_t seg = len < room + 1 ? len : room + 1;
      const char *nl = memchr (buf, '\n', seg);
      const char *text = buf;
      size_t n, keep = 0;

      if (nl != NULL)
        seg = (size_t) (nl - buf) + 1;
      else if (seg > room)
        seg = room;
      n = seg;
      if (p->len > 0)
        {
          if (w->piece == NULL)
            w->piece = husk_xmalloc (HUSK_LOG_LINE_MAX + 1);
          memcpy (w->piece, p->buf, p->len);
          memcpy (w->piece + p->len, buf, seg);
          text = w->piece;
          n += p->len;
          p->len = 0;
        }
      if (nl == NULL)
        keep = utf8_cut_tail ((const unsigned char *) text, n);
      if (n > keep)
        emit (w, stream, text, n - keep);
      /* TEXT may be the piece buffer: P's bytes are not in it any more.  */
      memmove (p->buf, text + n - keep, keep);
      p->len = keep;
      buf += seg;
      len -= seg;
    }
  return commit (w, err);
}

int
husk_logw_flush (struct husk_logw *w, struct husk_error **err)
{
  begin (w);
  for (int i = 0; i < 2; i++)
    if (w->part[i].len > 0)
      {
        emit (w, i + 1, w->part[i].buf, w->part[i].len);
        w->part[i].len = 0;
      }
  return commit (w, err);
}

static bool
digits (const char **s, int n, int *ret)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    {
      if ((*s)[i] < '0' || (*s)[i] > '9')
        return false;
      v = v * 10 + ((*s)[i] - '0');
    }
  *s += n;
  *ret = v;
  return true;
}

int
husk_rfc3339_parse (const char *s, struct timespec *ret)
{
  struct tm tm = { 0 };
  int year, mon, day, hour, min, sec, oh = 0, om = 0;
  long nsec = 0;
  time_t t;

  if (!digits (&s, 4, &year) || *s++ != '-' || !digits (&s, 2, &mon) || *s++ != '-'
      || !digits (&s, 2, &day) || (*s != 'T' && *s != 't' && *s != ' '))
    return -1;
  s++;
  if (!digits (&s, 2, &hour) || *s++ != ':' || !digits (&s, 2, &min) || *s++ != ':'
      || !digits (&s, 2, &sec))
    return -1;
  if (*s == '.')
    {
      int n = 0;
      s++;
      if (*s < '0' || *s > '9')
        return -1;
      for (; *s >= '0' && *s <= '9'; s++, n++)
        if (n < 9)
          nsec = nsec * 10 + (*s - '0');
      for (; n < 9; n++)
        nsec *= 10;
    }
  if (*s == 'Z' || *s == 'z')
    s++;
  else if (*s == '+' || *s == '-')
    {
      int sign = *s++ == '-' ? -1 : 1;
      if (!digits (&s, 2, &oh) || *s++ != ':' || !digits (&s, 2, &om) || oh > 23 || om > 59)
        return -1;
      oh *= sign;
      om *= sign;
    }
  else
    return -1;
  if (*s != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return -1;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  t = timegm (&tm);
  t -= (time_t) oh * 3600 + (time_t) om * 60;
  /* An offset can carry 0000-01-01 or 9999-12-31 out of the years RFC 3339 writes (found by
     the log fuzzer: such a time could not be printed back).  */
  if (t < -62135596800LL || t > 253402300799LL)
    return -1;
  ret->tv_sec = t;
  ret->tv_nsec = nsec;
  return 0;
}

void
husk_log_entry_clear (struct husk_log_entry *e)
{
  free (e->text);
  e->text = NULL;
  e->len = 0;
}

int
husk_log_entry_parse (const char *line, size_t len, struct husk_log_entry *ret,
                      struct husk_error **err)
{
  static const char *const keys[] = { "log", "stream", "time" };
  struct husk_json_str v[3];
  struct husk_log_entry e = { 0 };

  if (husk_json_parse_strings (line, len, keys, 3, v, err) < 0)
    return -1;
  if (v[1].s != NULL && strcmp (v[1].s, "stdout") == 0)
    e.stream = HUSK_LOG_STDOUT;
  else if (v[1].s != NULL && strcmp (v[1].s, "stderr") == 0)
    e.stream = HUSK_LOG_STDERR;
  if (v[0].s == NULL || e.stream == 0 || v[2].s == NULL || husk_rfc3339_parse (v[2].s, &e.time) < 0)
    {
      husk_json_strs_clear (v, 3);
      return husk_error_set (err, 0, "not a log entry");
    }
  e.text = TAKE_PTR (v[0].s);
  e.len = v[0].len;
  e.partial = e.len == 0 || e.text[e.len - 1] != '\n';
  husk_json_strs_clear (v, 3);
  *ret = e;
  return 0;
}
