/* Unit tests for engine/: container log files (writer, reader, RFC 3339 times), the
   container state machine, the monitor's command line, and Docker's defaults for a
   container's confinement.  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "defaults.h"
#include "json.h"
#include "logfile.h"
#include "monitor-args.h"
#include "record.h"
#include "state.h"
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
      nl = memchr (p, '\n', (size_t) (buf + len - p));
      if (nl == NULL)
        {
          *ret_all_valid = false; /* Every entry ends its line.  */
          break;
        }
      *nl = '\0';
      j = husk_json_parse (p, (size_t) (nl - p), &err);
      if (j == NULL || husk_log_entry_parse (p, (size_t) (nl - p), &e[n], &err) < 0)
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
  printf ("#   got stream %d, %zu bytes: \"%.*s\"\n", e->stream, e->len, (int) e->len, e->text);
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
          printf ("#   entry %zu at byte %zu: \"%.*s\"\n", i, at, (int) e[i].len, e[i].text);
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
            && e[0].time.tv_sec == 1704164645 - 3600 && e[0].time.tv_nsec == 500000000,
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

static void
test_state (void)
{
  static const enum husk_ctr_status all[] = { HUSK_CTR_CREATED, HUSK_CTR_RUNNING, HUSK_CTR_EXITED };
  /* [from][to], in the order of all[].  */
  static const bool legal[3][3]
      = { { false, true, true }, { false, false, true }, { false, true, true } };
  struct husk_ctr c = { .id = "0123456789abcdef" };
  struct husk_error *err = NULL;
  bool table_ok = true;

  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k < 3; k++)
      if (husk_ctr_transition_ok (all[i], all[k]) != legal[i][k])
        {
          printf ("# %s -> %s\n", husk_ctr_status_name (all[i]), husk_ctr_status_name (all[k]));
          table_ok = false;
        }
  ok (table_ok, "transitions: created and exited may start, every status may end as exited, "
                "none goes back to created");

  c.status = HUSK_CTR_CREATED;
  c.exit_code = 3;
  c.error = husk_xstrdup ("old");
  c.finished_at = husk_xstrdup ("2024-01-01T00:00:00Z");
  ok (husk_ctr_set_running (&c, "2024-01-02T03:04:05.000000001Z", &err) == 0
          && c.status == HUSK_CTR_RUNNING && c.exit_code == 0 && c.error == NULL
          && c.finished_at == NULL,
      "created -> running clears the exit code, the error and finished_at");
  is_str (c.started_at, "2024-01-02T03:04:05.000000001Z", "running sets started_at");

  ok (husk_ctr_set_running (&c, NULL, &err) < 0 && c.status == HUSK_CTR_RUNNING,
      "running -> running is refused and changes nothing");
  is_str (err ? err->msg : NULL, "container 0123456789ab: cannot go from running to running",
          "the error names both states");
  husk_error_free (&err);

  ok (husk_ctr_set_exited (&c, 137, NULL, "2024-01-02T03:04:06Z", &err) == 0
          && c.status == HUSK_CTR_EXITED && c.exit_code == 137 && c.error == NULL,
      "running -> exited records the exit code");
  is_str (c.finished_at, "2024-01-02T03:04:06Z", "exited sets finished_at");
  is_str (c.started_at, "2024-01-02T03:04:05.000000001Z", "exited keeps started_at");

  ok (husk_ctr_set_exited (&c, 127, "no such file", NULL, &err) == 0 && c.exit_code == 127,
      "exited -> exited: a start that failed again");
  is_str (c.error, "no such file", "the error is kept");
  ok (c.finished_at && strcmp (c.finished_at, "2024-01-02T03:04:06Z") != 0
          && c.finished_at[strlen (c.finished_at) - 1] == 'Z',
      "without a time the current one is used");

  ok (husk_ctr_set_running (&c, NULL, &err) == 0 && c.status == HUSK_CTR_RUNNING && c.error == NULL
          && c.finished_at == NULL && c.started_at,
      "exited -> running: started again");

  /* What a monitor writes through its containers/ID descriptor reads back the same.  */
  {
    char dir[] = "/tmp/husk-state-XXXXXX";
    cleanup_free char *buf = NULL;
    struct husk_ctr back = { .id = "0123456789abcdef" };
    cleanup_close int dfd = -1;

    husk_ctr_set_exited (&c, 2, "it \"failed\"", "2024-01-02T03:04:07Z", NULL);
    ok (mkdtemp (dir) != NULL && (dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0
            && husk_ctr_save_state_at (dfd, &c, NULL) == 0
            && husk_read_file_at (dfd, "state.json", 1 << 16, &buf, NULL, NULL) == 0,
        "state.json is written through a directory descriptor");
    if (buf)
      husk_ctr_parse_state (&back, buf, strlen (buf));
    ok (back.status == HUSK_CTR_EXITED && back.exit_code == 2 && back.started_at
            && strcmp (back.started_at, c.started_at) == 0 && back.finished_at
            && strcmp (back.finished_at, "2024-01-02T03:04:07Z") == 0 && back.error
            && strcmp (back.error, "it \"failed\"") == 0,
        "and reads back the same");
    free (back.started_at);
    free (back.finished_at);
    free (back.error);
    if (dfd >= 0)
      unlinkat (dfd, "state.json", 0);
    rmdir (dir);
  }
  free (c.started_at);
  free (c.finished_at);
  free (c.error);
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Decode the NULL-terminated V; the error's message, or NULL when it decoded.  */
static char *
decode_error (const char *const *v, struct husk_monitor_args *ret)
{
  struct husk_error *err = NULL;
  char *msg = NULL;
  int n = 0;

  while (v[n])
    n++;
  if (husk_monitor_args_decode (n, (char *const *) v, ret, &err) < 0)
    {
      msg = husk_xstrdup (err ? err->msg : "(no message)");
      husk_error_free (&err);
    }
  return msg;
}

static void
test_monitor_args (void)
{
  struct arg_case
  {
    const char *key, *value, *error;
  };
  /* In the place of "--protocol 1".  */
  static const struct arg_case bad[] = {
    { "--protocol", "2", "monitor: protocol version 2, this husk speaks version 1" },
    { "--protocol", "x", "monitor: --protocol \"x\": not a number" },
    { "--pid", "12", "monitor: no protocol version (--protocol N after the store and the ID)" },
  };
  /* The first argument after the version: a key and a value, or a key alone.  */
  static const struct arg_case malformed[] = {
    { "--pid", "abc", "monitor: --pid \"abc\": not a process id" },
    { "--pid", "0", "monitor: --pid \"0\": not a process id" },
    { "--out-fd", "-2", "monitor: --out-fd \"-2\": not a descriptor" },
    { "--out-fd", "99999999999", "monitor: --out-fd \"99999999999\": not a descriptor" },
    { "--colour", "blue", "monitor: unknown argument \"--colour\"" },
    { "12", NULL, "monitor: unknown argument \"12\"" },
    { "--pid=12", NULL, "monitor: unknown argument \"--pid=12\"" },
    { "--store", "/s", "monitor: unknown argument \"--store\"" },
    { "--name", "", "monitor: --name: empty" },
    { "--client", "x:1", "monitor: --client \"x:1\": not a descriptor" },
    { "--client", "5:y", "monitor: --client \"5:y\": the flags are not a number" },
    { "--dir-fd", "4", "monitor: --dir-fd given twice" },
  };
  struct husk_monitor_args a, b;
  char **argv;
  char *msg;
  bool same;

  husk_monitor_args_init (&a);
  ok (a.dir_fd == -1 && a.out_fd == -1 && a.userns_fd == -1 && a.name == NULL && !a.auto_remove,
      "fresh arguments: no descriptors, no strings, no flags");
  a.store = "/var/lib/husk=odd name";
  a.id = ID64;
  a.name = "web";
  a.started_at = "2024-01-02T03:04:05.000000006Z";
  a.auto_remove = true;
  a.idmap = true;
  a.pid = 4242;
  a.dir_fd = 3;
  a.listen_fd = 7;
  a.out_fd = 4;
  a.err_fd = 5;
  a.userns_fd = 8;
  a.n_clients = 2;
  a.clients[0] = (struct husk_monitor_client){ .fd = 9, .hello = true, .flags = 0xffffffffu };
  a.clients[1] = (struct husk_monitor_client){ .fd = 10 };
  argv = husk_monitor_args_encode (&a);
  is_str (argv[1], HUSK_MONITOR_ARG, "the monitor's command word comes first");
  ok (strcmp (argv[2], a.store) == 0 && strcmp (argv[3], ID64) == 0,
      "then the store and the ID, for ps");
  ok (strcmp (argv[4], "--protocol") == 0 && strcmp (argv[5], "1") == 0,
      "then the protocol version");
  {
    bool named = true, has_name = false;
    for (size_t k = 6; argv[k]; k++)
      {
        bool flag = strcmp (argv[k], "--rm") == 0 || strcmp (argv[k], "--idmap") == 0;
        named = named && strncmp (argv[k], "--", 2) == 0 && (flag || argv[k + 1]);
        has_name
            = has_name || (strcmp (argv[k], "--name") == 0 && strcmp (argv[k + 1], "web") == 0);
        if (!flag && argv[k + 1])
          k++;
      }
    ok (named && has_name, "every other argument is named; the name is a word of its own");
  }
  ok (husk_monitor_args_decode ((int) husk_strv_len (argv), argv, &b, NULL) == 0,
      "the encoded arguments decode");
  same = strcmp (b.store, a.store) == 0 && strcmp (b.id, a.id) == 0 && strcmp (b.name, a.name) == 0
         && strcmp (b.started_at, a.started_at) == 0 && b.auto_remove && !b.tty && b.idmap
         && b.pid == 4242 && b.dir_fd == 3 && b.listen_fd == 7 && b.out_fd == 4 && b.err_fd == 5
         && b.in_fd == -1 && b.userns_fd == 8 && b.n_clients == 2 && b.clients[0].fd == 9
         && b.clients[0].hello && b.clients[0].flags == 0xffffffffu && b.clients[1].fd == 10
         && !b.clients[1].hello;
  ok (same, "the round trip gives the same arguments back");
  husk_strv_free (argv);

  husk_monitor_args_init (&a);
  a.store = "/s";
  a.id = ID64;
  a.tty = true;
  a.pid = 1;
  a.dir_fd = 0;
  a.listen_fd = 1;
  argv = husk_monitor_args_encode (&a);
  ok (husk_monitor_args_decode ((int) husk_strv_len (argv), argv, &b, NULL) == 0 && b.tty
          && b.name == NULL && b.started_at == NULL && !b.auto_remove && b.n_clients == 0
          && b.out_fd == -1,
      "without a name, a start time or clients the round trip holds too");
  husk_strv_free (argv);

  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      const char *v[]
          = { "husk-monitor", HUSK_MONITOR_ARG, "/s", ID64, bad[i].key, bad[i].value, NULL };
      msg = decode_error (v, &b);
      is_str (msg, bad[i].error, "\"%s %s\" first is refused", bad[i].key, bad[i].value);
      free (msg);
    }
  for (size_t i = 0; i < sizeof (malformed) / sizeof (malformed[0]); i++)
    {
      /* First, so that it is read before a good value of the same key.  */
      const char *v[16] = { "husk-monitor", HUSK_MONITOR_ARG, "/s", ID64, "--protocol", "1" };
      const char *rest[] = { "--pid", "12", "--dir-fd", "3", "--listen-fd", "4" };
      size_t n = 6;
      v[n++] = malformed[i].key;
      if (malformed[i].value)
        v[n++] = malformed[i].value;
      for (size_t k = 0; k < sizeof (rest) / sizeof (rest[0]); k++)
        v[n++] = rest[k];
      v[n] = NULL;
      msg = decode_error (v, &b);
      is_str (msg, malformed[i].error, "\"%s\" is refused", malformed[i].key);
      free (msg);
    }
  {
    const char *v[]
        = { "husk-monitor", HUSK_MONITOR_ARG, "/s", ID64,          "--protocol", "1", "--pid",
            "12",           "--dir-fd",       "3",  "--listen-fd", NULL };
    msg = decode_error (v, &b);
    is_str (msg, "monitor: --listen-fd: a value is missing", "a value cut off is named");
    free (msg);
  }
  {
    const char *v[] = { "husk-monitor", HUSK_MONITOR_ARG, "/s", ID64, "--protocol", "1", "--pid",
                        "12",           "--listen-fd",    "4",  NULL };
    msg = decode_error (v, &b);
    is_str (msg, "monitor: --dir-fd is missing", "a missing argument is named");
    free (msg);
  }
  {
    const char *v[]
        = { "husk-monitor", HUSK_MONITOR_ARG, "/s", "../../etc",   "--protocol", "1", "--pid",
            "12",           "--dir-fd",       "3",  "--listen-fd", "4",          NULL };
    msg = decode_error (v, &b);
    is_str (msg, "monitor: \"../../etc\": not a container ID", "the ID is checked");
    free (msg);
  }
  {
    const char *v[]
        = { "husk-monitor", HUSK_MONITOR_ARG, "s", ID64,          "--protocol", "1", "--pid",
            "12",           "--dir-fd",       "3", "--listen-fd", "4",          NULL };
    msg = decode_error (v, &b);
    is_str (msg, "monitor: store \"s\": not an absolute path", "the store is checked");
    free (msg);
  }
  {
    const char *v[] = { "husk-monitor", "run", "/s", ID64, "--protocol", "1", NULL };
    msg = decode_error (v, &b);
    is_str (msg, "monitor: not a monitor's command line", "another command is refused");
    free (msg);
  }
  {
    char **many = NULL;
    const char *fixed[]
        = { "husk-monitor", HUSK_MONITOR_ARG, "/s", ID64,          "--protocol", "1", "--pid",
            "12",           "--dir-fd",       "3",  "--listen-fd", "4" };
    for (size_t i = 0; i < sizeof (fixed) / sizeof (fixed[0]); i++)
      husk_strv_append (&many, fixed[i]);
    for (int i = 0; i <= HUSK_MONITOR_MAX_CLIENTS; i++)
      {
        husk_strv_append (&many, "--client");
        husk_strv_append (&many, "20:1");
      }
    msg = decode_error ((const char *const *) many, &b);
    is_str (msg, "monitor: more than 32 --client", "at most 32 clients");
    free (msg);
    husk_strv_free (many);
  }
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
  husk_container_spec_clear (&spec);

  o.cap_add = net_admin;
  o.cap_drop = chown_cap;
  o.seccomp_profile = "{}";
  o.no_new_privs = true;
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == ((husk_caps_default () | net_admin) & ~chown_cap), "--cap-add, --cap-drop");
  ok (spec.seccomp == HUSK_SECCOMP_PROFILE && strcmp (spec.seccomp_profile, "{}") == 0
          && spec.no_new_privs,
      "a profile and no-new-privileges");
  husk_container_spec_clear (&spec);

  o.cap_drop = husk_caps_all ();
  o.seccomp_unconfined = true;
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == net_admin, "--cap-add wins over --cap-drop ALL");
  ok (spec.seccomp == HUSK_SECCOMP_UNCONFINED, "seccomp=unconfined");
  husk_container_spec_clear (&spec);

  memset (&o, 0, sizeof (o));
  o.privileged = true;
  o.seccomp_profile = "{}";
  husk_defaults_apply (&spec, &o);
  ok (spec.caps == husk_caps_all () && spec.seccomp == HUSK_SECCOMP_UNCONFINED,
      "privileged: every capability, no seccomp filter even with a profile");
  ok (spec.masked_paths && spec.masked_paths[0] == NULL && spec.readonly_paths
          && spec.readonly_paths[0] == NULL,
      "privileged: no masked or read-only paths");
  husk_container_spec_clear (&spec);
  {
    struct husk_namespace ns[HUSK_NS_N_TYPES];
    const unsigned long always
        = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    size_t n;
    bool no_path = true;

    n = husk_defaults_namespaces (HUSK_NETWORK_NONE, true, ns);
    for (size_t i = 0; i < n; i++)
      no_path = no_path && ns[i].path == NULL;
    ok (n == 7 && no_path && husk_ns_flags (ns, n, true) == (always | CLONE_NEWUSER | CLONE_NEWNET),
        "namespaces, rootless: every one new, a user namespace among them");
    n = husk_defaults_namespaces (HUSK_NETWORK_NONE, false, ns);
    ok (n == 6 && husk_ns_flags (ns, n, true) == (always | CLONE_NEWNET),
        "namespaces, as root: no user namespace");
    n = husk_defaults_namespaces (HUSK_NETWORK_HOST, true, ns);
    ok (n == 6 && husk_ns_flags (ns, n, true) == (always | CLONE_NEWUSER)
            && husk_ns_find (ns, n, HUSK_NS_NET) == NULL,
        "namespaces, --network host: the caller's network namespace, not listed");
  }
}

int
main (void)
{
  test_logfile ();
  test_state ();
  test_monitor_args ();
  test_defaults ();
  return tap_done ();
}
