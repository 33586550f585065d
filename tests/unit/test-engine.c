/* Unit tests for engine/: container log files (writer, reader, RFC 3339 times) and Docker's
   defaults for a container's confinement.  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "defaults.h"
#include "json.h"
#include "logfile.h"
#include "tap.h"
#include "util.h"

/* The entries of the log file PATH, each checked to be valid JSON with the strict tree parser
   (which also rejects invalid UTF-8) and parsed by the reader.  */
#define MAX_ENTRIES 16
static size_t
read_log (const char *path, struct husk_log_entry *e, bool *ret_all_valid)
{
  cleanup_free char *buf = NULL;
  size_t len, n = 0;
  char *p, *nl;

  *ret_all_valid = true;
  if (husk_read_file_at (AT_FDCWD, path, 1 << 20, &buf, &len, NULL) < 0)
    {
      *ret_all_valid = false;
      return 0;
    }
  for (p = buf; p < buf + len && n < MAX_ENTRIES; p = nl + 1)
    {
      struct husk_error *err = NULL;
      husk_json *j;
      nl = memchr (p, '\n', (size_t)(buf + len - p));
      if (nl == NULL)
        {
          *ret_all_valid = false; /* Every entry ends its line.  */
          break;
        }
      *nl = '\0';
      j = husk_json_parse (p, (size_t)(nl - p), &err);
      if (j == NULL || husk_log_entry_parse (p, (size_t)(nl - p), &e[n], &err) < 0)
        {
          printf ("# bad line \"%s\": %s\n", p, err ? err->msg : "?");
          *ret_all_valid = false;
          husk_error_free (&err);
        }
      else
        n++;
      husk_json_free (j);
    }
  return n;
}

static void
clear_entries (struct husk_log_entry *e, size_t n)
{
  for (size_t i = 0; i < n; i++)
    husk_log_entry_clear (&e[i]);
}

static bool
entry_is (const struct husk_log_entry *e, int stream, const char *text, size_t len)
{
  if (e->stream == stream && e->len == len && memcmp (e->text, text, len) == 0)
    return true;
  printf ("#   got stream %d, %zu bytes: \"%.*s\"\n", e->stream, e->len, (int)e->len, e->text);
  return false;
}
#define ENTRY_IS(e, stream, lit) entry_is (e, stream, lit, sizeof (lit) - 1)

/* Whether the texts of STREAM's entries among the N of E, in order, are WANT (LEN bytes), and
   every entry but the last of each line is marked partial.  */
static bool
stream_is (const struct husk_log_entry *e, size_t n, int stream, const char *want, size_t len)
{
  size_t at = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (e[i].stream != stream)
        continue;
      if (at + e[i].len > len || memcmp (want + at, e[i].text, e[i].len) != 0
          || e[i].partial != (e[i].text[e[i].len - 1] != '\n'))
        {
          printf ("#   entry %zu at byte %zu: \"%.*s\"\n", i, at, (int)e[i].len, e[i].text);
          return false;
        }
      at += e[i].len;
    }
  if (at != len)
    printf ("#   %zu bytes, not %zu\n", at, len);
  return at == len;
}
#define STREAM_IS(e, n, stream, lit) stream_is (e, n, stream, lit, sizeof (lit) - 1)

static void
test_logfile (void)
{
  char dir[] = "/tmp/husk-test-log.XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *big = NULL;
  struct husk_log_entry e[MAX_ENTRIES];
  struct husk_error *err = NULL;
  struct husk_logw *w = NULL;
  struct timespec before, after, t;
  char ts[HUSK_RFC3339_NANO_SIZE];
  struct stat st;
  bool valid;
  size_t n;
  int rc;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  path = husk_strdup_printf ("%s/ctr.log", dir);

  /* Every chunk is written at once, a line split across chunks in pieces.  */
  clock_gettime (CLOCK_REALTIME, &before);
  before.tv_nsec = 0;
  ok (husk_logw_open (path, &w, &err) == 0, "open a log");
  ok (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600, "the log is created 0600");
  rc = husk_logw_write (w, HUSK_LOG_STDOUT, "hel", 3, &err);
  n = read_log (path, e, &valid);
  ok (rc == 0 && valid && n == 1 && ENTRY_IS (&e[0], HUSK_LOG_STDOUT, "hel") && e[0].partial,
      "an unfinished line is written at once, as a partial entry");
  clear_entries (e, n);
  rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "lo\nwor", 6, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "ld\n\nlast\n", 9, &err);
  clock_gettime (CLOCK_REALTIME, &after);
  n = read_log (path, e, &valid);
  ok (rc == 0 && valid && n == 6 && ENTRY_IS (&e[1], HUSK_LOG_STDOUT, "lo\n") && !e[1].partial
          && ENTRY_IS (&e[2], HUSK_LOG_STDOUT, "wor") && ENTRY_IS (&e[4], HUSK_LOG_STDOUT, "\n")
          && STREAM_IS (e, n, HUSK_LOG_STDOUT, "hello\nworld\n\nlast\n"),
      "the pieces of lines split across chunks join into them");
  ok (n == 6 && e[0].time.tv_sec >= before.tv_sec && e[5].time.tv_sec <= after.tv_sec
          && (e[0].time.tv_sec < e[1].time.tv_sec
              || (e[0].time.tv_sec == e[1].time.tv_sec && e[0].time.tv_nsec <= e[1].time.tv_nsec)),
      "entries carry the time they were written");
  clear_entries (e, n);
  husk_logw_close (TAKE_PTR (w));

  /* Reopening appends; long lines are cut at 16 KiB, never inside a character.  */
  big = husk_xmalloc (3 * HUSK_LOG_LINE_MAX);
  memset (big, 'a', 3 * HUSK_LOG_LINE_MAX);
  unlink (path);
  ok (husk_logw_open (path, &w, &err) == 0, "open again");
  rc = husk_logw_write (w, HUSK_LOG_STDOUT, big, 40000, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "\n", 1, &err);
  big[HUSK_LOG_LINE_MAX] = '\n';
  rc |= husk_logw_write (w, HUSK_LOG_STDOUT, big, HUSK_LOG_LINE_MAX + 1, &err);
  memcpy (big + HUSK_LOG_LINE_MAX - 1, "\xc3\xa9\n", 3);
  rc |= husk_logw_write (w, HUSK_LOG_STDERR, big, HUSK_LOG_LINE_MAX + 2, &err);
  n = read_log (path, e, &valid);
  ok (rc == 0 && valid && n == 7 && e[0].len == HUSK_LOG_LINE_MAX && e[1].len == HUSK_LOG_LINE_MAX
          && e[2].len == 40000 - 2 * HUSK_LOG_LINE_MAX && e[0].partial && e[2].partial
          && e[0].text[e[0].len - 1] == 'a' && ENTRY_IS (&e[3], HUSK_LOG_STDOUT, "\n"),
      "a 40000-byte chunk: two 16 KiB pieces and the rest, all partial; its \"\\n\" on its own");
  ok (n == 7 && e[4].len == HUSK_LOG_LINE_MAX + 1 && e[4].stream == HUSK_LOG_STDOUT
          && !e[4].partial,
      "a line of exactly 16 KiB stays whole with its \"\\n\"");
  ok (n == 7 && e[5].len == HUSK_LOG_LINE_MAX - 1 && e[5].stream == HUSK_LOG_STDERR
          && ENTRY_IS (&e[6], HUSK_LOG_STDERR, "\xc3\xa9\n"),
      "a cut that would split a character moves the character to the next piece");
  clear_entries (e, n);
  husk_logw_close (TAKE_PTR (w));

  /* Binary bytes: NUL and control bytes kept, invalid UTF-8 replaced by U+FFFD.  */
  unlink (path);
  ok (husk_logw_open (path, &w, &err) == 0, "open a third time");
  {
    static const char bin[]
        = "\x00\x01\xff\xfe ok \xc3\x28 \xed\xa0\x80 \"q\\ \xf0\x9f\x98\x80\t\x7f\n";
    static const char want[]
        = "\x00\x01\xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd( "
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \"q\\ \xf0\x9f\x98\x80\t\x7f\n";
    rc = husk_logw_write (w, HUSK_LOG_STDERR, bin, sizeof (bin) - 1, &err);
    rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "\xe2\x82", 2, &err);
    rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "\xac\n", 2, &err);
    n = read_log (path, e, &valid);
    ok (rc == 0 && valid && n == 2 && entry_is (&e[0], HUSK_LOG_STDERR, want, sizeof (want) - 1),
        "binary bytes give valid JSON: NUL kept, invalid sequences become U+FFFD");
    ok (n == 2 && ENTRY_IS (&e[1], HUSK_LOG_STDOUT, "\xe2\x82\xac\n"),
        "a character split across chunks stays whole");
    clear_entries (e, n);
  }
  husk_logw_close (TAKE_PTR (w));

  /* Two streams interleaved, each with its own unfinished line; flush writes them.  */
  unlink (path);
  ok (husk_logw_open (path, &w, &err) == 0, "open a fourth time");
  rc = husk_logw_write (w, HUSK_LOG_STDOUT, "o1", 2, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDERR, "e1\ne2", 5, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDOUT, "-end\no2", 7, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDERR, "-end\n", 5, &err);
  rc |= husk_logw_write (w, HUSK_LOG_STDERR, "partial \xe2\x82", 10, &err);
  n = read_log (path, e, &valid);
  ok (rc == 0 && valid && n == 7 && STREAM_IS (e, n, HUSK_LOG_STDOUT, "o1-end\no2")
          && STREAM_IS (e, n, HUSK_LOG_STDERR, "e1\ne2-end\npartial "),
      "two streams interleaved keep their lines apart, unfinished ones written at once");
  ok (n == 7 && ENTRY_IS (&e[6], HUSK_LOG_STDERR, "partial "),
      "an unfinished character at the end waits");
  clear_entries (e, n);
  ok (husk_logw_flush (w, &err) == 0, "flush");
  n = read_log (path, e, &valid);
  ok (valid && n == 8 && ENTRY_IS (&e[7], HUSK_LOG_STDERR, "\xef\xbf\xbd"),
      "flush writes the unfinished character as U+FFFD");
  clear_entries (e, n);
  ok (husk_logw_flush (w, &err) == 0 && read_log (path, e, &valid) == 8,
      "a second flush writes nothing");
  clear_entries (e, 8);
  ok (husk_logw_write (w, 3, "x\n", 2, &err) < 0 && err != NULL, "stream 3 is an error");
  husk_error_free (&err);
  husk_logw_close (TAKE_PTR (w));
  husk_logw_close (NULL);
  /* A file a dead writer left inside a line: the next line stays whole.  */
  unlink (path);
  {
    FILE *f = fopen (path, "we");
    if (f)
      {
        fputs ("{\"log\":\"cut sh", f);
        fclose (f);
      }
  }
  ok (husk_logw_open (path, &w, &err) == 0, "open a file that ends inside a line");
  rc = husk_logw_write (w, HUSK_LOG_STDOUT, "whole\n", 6, &err);
  n = read_log (path, e, &valid);
  ok (rc == 0 && !valid && n == 1 && ENTRY_IS (&e[0], HUSK_LOG_STDOUT, "whole\n"),
      "the first line after a torn one starts on a line of its own");
  clear_entries (e, n);
  husk_logw_close (TAKE_PTR (w));

  ok (husk_logw_open ("/nonexistent/ctr.log", &w, &err) < 0 && err
          && strstr (err->msg, "/nonexistent/ctr.log") != NULL,
      "an open failure names the file");
  husk_error_free (&err);

  /* The reader's half.  */
#define PARSE(lit) husk_log_entry_parse (lit, sizeof (lit) - 1, &e[0], &err)
  ok (PARSE ("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}") == 0
          && ENTRY_IS (&e[0], HUSK_LOG_STDOUT, "x") && e[0].partial,
      "an entry parses; without a final \"\\n\" it is partial");
  husk_log_entry_clear (&e[0]);
  ok (PARSE ("{\"log\":\"x\",\"stream\":\"tty\",\"time\":\"2024-01-02T03:04:05Z\"}") < 0 && err
          && strcmp (err->msg, "not a log entry") == 0,
      "an unknown stream is not an entry");
  husk_error_free (&err);
  ok (PARSE ("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"yesterday\"}") < 0 && err
          && strcmp (err->msg, "not a log entry") == 0,
      "an entry needs a time");
  husk_error_free (&err);
  ok (PARSE ("{\"log\":1,\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}") < 0,
      "an entry needs a string log");
  husk_error_free (&err);
  ok (PARSE ("{\"log\":\"x\",\"str") < 0 && err && strstr (err->msg, "invalid json") != NULL,
      "a torn line is not an entry");
  husk_error_free (&err);
  ok (husk_log_entry_parse ("[1]", 3, &e[0], &err) < 0, "an array is not an entry");
  husk_error_free (&err);
  {
    static const char l[]
        = "{\"log\":\"a\\u0000b\\n\",\"attrs\":{\"log\":\"no\"},\"stream\":\"stderr\","
          "\"time\":\"2024-01-02T03:04:05.5+01:00\"}";
    ok (husk_log_entry_parse (l, sizeof (l) - 1, &e[0], &err) == 0
            && ENTRY_IS (&e[0], HUSK_LOG_STDERR, "a\0b\n") && !e[0].partial
            && e[0].time.tv_sec == 1704164645 - 3600
            && e[0].time.tv_nsec == 500000000,
        "an entry: escaped NUL, nested members skipped, an offset and a fraction");
    husk_log_entry_clear (&e[0]);
  }
  ok (husk_rfc3339_parse ("2024-01-02T03:04:05.123456789123Z", &t) == 0 && t.tv_nsec == 123456789,
      "fraction digits past 9 are dropped");
  ok (husk_rfc3339_parse ("2024-01-02T03:04:05", &t) < 0
          && husk_rfc3339_parse ("2024-13-02T03:04:05Z", &t) < 0
          && husk_rfc3339_parse ("2024-01-02T03:04:05.Z", &t) < 0,
      "no zone, a bad month or an empty fraction are errors");
  t.tv_sec = 1704164645;
  t.tv_nsec = 5;
  husk_rfc3339_format (&t, ts, sizeof (ts));
  is_str (ts, "2024-01-02T03:04:05.000000005Z", "times are written in UTC with 9 digits");

  unlink (path);
  rmdir (dir);
}

/* What husk_defaults_apply puts in a spec: Docker's rules for capabilities, the seccomp choice
   and the masked and read-only paths, and what --privileged changes.  */
static void
test_defaults (void)
{
  const uint64_t net_admin = UINT64_C (1) << 12, chown_cap = UINT64_C (1) << 0;
  struct husk_container_spec spec;
  struct husk_security_opts o;

  memset (&spec, 0, sizeof (spec));
  memset (&o, 0, sizeof (o));
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == husk_caps_default (), "defaults: Docker's capability set");
  ok (spec.seccomp == HUSK_SECCOMP_DEFAULT, "defaults: the default seccomp program, chosen");
  ok (husk_strv_len (spec.masked_paths) == 11 && husk_strv_len (spec.readonly_paths) == 5
          && strcmp (spec.masked_paths[2], "/proc/kcore") == 0
          && strcmp (spec.readonly_paths[3], "/proc/sys") == 0,
      "defaults: Docker's masked and read-only paths");
  husk_strv_free (spec.masked_paths);
  husk_strv_free (spec.readonly_paths);

  o.cap_add = net_admin;
  o.cap_drop = chown_cap;
  o.seccomp_profile = "{}";
  o.no_new_privs = true;
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == ((husk_caps_default () | net_admin) & ~chown_cap), "--cap-add, --cap-drop");
  ok (spec.seccomp == HUSK_SECCOMP_PROFILE && strcmp (spec.seccomp_profile, "{}") == 0
          && spec.no_new_privs,
      "a profile and no-new-privileges");
  husk_strv_free (spec.masked_paths);
  husk_strv_free (spec.readonly_paths);

  o.cap_drop = husk_caps_all ();
  o.seccomp_unconfined = true;
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == net_admin, "--cap-add wins over --cap-drop ALL");
  ok (spec.seccomp == HUSK_SECCOMP_UNCONFINED, "seccomp=unconfined");
  husk_strv_free (spec.masked_paths);
  husk_strv_free (spec.readonly_paths);

  memset (&o, 0, sizeof (o));
  o.privileged = true;
  o.seccomp_profile = "{}";
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == husk_caps_all () && spec.seccomp == HUSK_SECCOMP_UNCONFINED,
      "privileged: every capability, no seccomp filter even with a profile");
  ok (spec.masked_paths && spec.masked_paths[0] == NULL && spec.readonly_paths
          && spec.readonly_paths[0] == NULL,
      "privileged: no masked or read-only paths");
  husk_strv_free (spec.masked_paths);
  husk_strv_free (spec.readonly_paths);
}

int
main (void)
{
  test_logfile ();
  test_defaults ();
  return tap_done ();
}
