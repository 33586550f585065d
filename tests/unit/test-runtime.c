/* Unit tests for runtime/: USER resolution, capability names, seccomp filters, log files.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "diff.h"
#include "json.h"
#include "logfile.h"
#include "record.h"
#include "relay.h"
#include "seccomp-filter.h"
#include "tap.h"
#include "user.h"
#include "util.h"

static char etc[] = "/tmp/husk-test-etc.XXXXXX";

static void
write_file (const char *name, const char *text)
{
  char path[256];
  FILE *f;
  snprintf (path, sizeof (path), "%s/etc/%s", etc, name);
  f = fopen (path, "we");
  if (f)
    {
      fputs (text, f);
      fclose (f);
    }
}

static void
test_user (void)
{
  struct husk_user u;
  struct husk_error *err = NULL;
  int root;

  if (mkdtemp (etc) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  {
    char path[256];
    snprintf (path, sizeof (path), "%s/etc", etc);
    mkdir (path, 0755);
  }
  root = open (etc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  write_file ("passwd", "root:x:0:0:root:/root:/bin/sh\n"
                        "# a comment line is skipped\n"
                        "broken line\n"
                        "app:x:1000:1000:app:/home/app:/bin/sh\n"
                        "nohome:x:1001:50:::/bin/sh\n");
  write_file ("group", "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:63:other,app\n"
                       "video:x:44:\n");

  ok (husk_user_resolve (NULL, root, &u, &err) == 0 && u.uid == 0 && u.gid == 0
          && strcmp (u.home, "/root") == 0,
      "no user is root, home /root");
  ok (husk_user_resolve ("app", root, &u, &err) == 0 && u.uid == 1000 && u.gid == 1000
          && u.n_groups == 2 && u.groups[0] == 50 && u.groups[1] == 63
          && strcmp (u.home, "/home/app") == 0,
      "a name: ids, home and supplementary groups from passwd and group");
  ok (husk_user_resolve ("1000", root, &u, &err) == 0 && u.uid == 1000 && u.n_groups == 2,
      "a number with a passwd entry gets its groups");
  ok (husk_user_resolve ("4242", root, &u, &err) == 0 && u.uid == 4242 && u.gid == 0
          && u.n_groups == 0 && strcmp (u.home, "/") == 0,
      "a number without an entry: gid 0, home /");
  ok (husk_user_resolve ("app:video", root, &u, &err) == 0 && u.gid == 44,
      "name:group by name");
  ok (husk_user_resolve ("4242:77", root, &u, &err) == 0 && u.uid == 4242 && u.gid == 77,
      "uid:gid numbers");
  ok (husk_user_resolve ("nohome", root, &u, &err) == 0 && u.gid == 50
          && strcmp (u.home, "/") == 0,
      "an empty home field becomes /");

  ok (husk_user_resolve ("ghost", root, &u, &err) < 0 && err
          && strstr (err->msg, "user \"ghost\": no such user") != NULL,
      "an unknown name is an error naming it");
  husk_error_free (&err);
  ok (husk_user_resolve ("app:ghosts", root, &u, &err) < 0 && err
          && strstr (err->msg, "no such group") != NULL,
      "an unknown group is an error");
  husk_error_free (&err);
  ok (husk_user_resolve ("4294967295", root, &u, &err) < 0, "the invalid id -1 is not a number");
  husk_error_free (&err);

  {
    /* Hostile images: a FIFO must not block the reader, and a symlink out of the root stays
       inside it.  */
    char path[256], host[256];
    snprintf (path, sizeof (path), "%s/etc/group", etc);
    unlink (path);
    mkfifo (path, 0644);
    ok (husk_user_resolve ("app", root, &u, &err) < 0 && err
            && strstr (err->msg, "not a regular file") != NULL,
        "a FIFO as /etc/group is refused without blocking");
    husk_error_free (&err);
    unlink (path);
    snprintf (path, sizeof (path), "%s/etc/passwd", etc);
    snprintf (host, sizeof (host), "%s.passwd", etc);
    rename (path, host);
    symlink ("../../../../../../../../../../..", path);
    ok (husk_user_resolve ("root", root, &u, &err) < 0 && err
            && strstr (err->msg, "no such user") == NULL,
        "a symlink from /etc/passwd up and out stays in the root");
    husk_error_free (&err);
    unlink (path);
    symlink (host, path);
    ok (husk_user_resolve ("app", root, &u, &err) < 0 && err
            && strstr (err->msg, "no such user") != NULL,
        "an absolute symlink to a host file is resolved inside the root");
    husk_error_free (&err);
    unlink (path);
    unlink (host);
  }

  {
    char path[256];
    snprintf (path, sizeof (path), "%s/etc", etc);
    rmdir (path);
    rmdir (etc);
  }
  ok (husk_user_resolve ("0:0", root, &u, &err) == 0 && u.uid == 0,
      "numbers work without /etc/passwd");
  ok (husk_user_resolve ("app", root, &u, &err) < 0, "names do not");
  husk_error_free (&err);
  close (root);
}

static void
test_caps (void)
{
  struct husk_error *err = NULL;
  uint64_t m = 0;

  ok (husk_caps_default () == UINT64_C (0xa80425fb), "the default set is Docker's");
  ok (husk_caps_parse ("NET_ADMIN", &m, &err) == 0 && m == (UINT64_C (1) << CAP_NET_ADMIN),
      "NET_ADMIN");
  ok (husk_caps_parse ("cap_sys_admin", &m, &err) == 0 && m == (UINT64_C (1) << CAP_SYS_ADMIN),
      "cap_sys_admin, lowercase with prefix");
  ok (husk_caps_parse ("all", &m, &err) == 0 && m == husk_caps_all (), "ALL in any case");
  ok ((husk_caps_all () & husk_caps_default ()) == husk_caps_default (), "ALL covers the default");
  ok (husk_caps_parse ("NOPE", &m, &err) < 0 && strstr (err->msg, "\"NOPE\"") != NULL,
      "an unknown name is an error naming it");
  husk_error_free (&err);
  ok (husk_caps_parse ("", &m, &err) < 0, "the empty name is an error");
  husk_error_free (&err);
}

static void
test_seccomp (void)
{
  struct husk_error *err = NULL;
  struct husk_seccomp_prog p = { 0 }, q = { 0 };
  static const char good[]
      = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\","
        "\"no_such_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"name\":\"personality\","
        "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
        "[\"CAP_SYS_ADMIN\"]}}]}";

  ok (husk_seccomp_build_default (husk_caps_default (), &p, &err) == 0 && p.len > 100,
      "the default filter compiles");
  ok (husk_seccomp_build_default (husk_caps_all (), &q, &err) == 0 && q.len != p.len,
      "CAP_SYS_ADMIN changes the filter");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);
  ok (p.filter == NULL && p.len == 0, "clear empties it");

  /* The program seccomp-gen compiled into husk at build time is what libseccomp compiles now
     for the default capabilities, and what a default run loads.  */
  ok (husk_seccomp_embedded_caps == husk_caps_default (),
      "the embedded program is for the default capabilities");
  ok (husk_seccomp_compile_default (husk_caps_default (), &p, &err) == 0
          && p.len == husk_seccomp_embedded_len
          && memcmp (p.filter, husk_seccomp_embedded, p.len * sizeof (struct sock_filter)) == 0,
      "the embedded default program equals libseccomp's at run time (%zu instructions)",
      husk_seccomp_embedded_len);
  husk_seccomp_prog_clear (&p);
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN), &p,
                                  &err)
              == 0
          && husk_seccomp_compile_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN),
                                           &q, &err)
                 == 0
          && p.len == q.len && memcmp (p.filter, q.filter, p.len * sizeof (struct sock_filter)) == 0,
      "a capability the profile ignores (CAP_NET_ADMIN) gets the same program");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_SYS_PTRACE), &p,
                                  &err)
              == 0
          && husk_seccomp_compile_default (husk_caps_default () | (UINT64_C (1) << CAP_SYS_PTRACE),
                                           &q, &err)
                 == 0
          && p.len == q.len && p.len != husk_seccomp_embedded_len
          && memcmp (p.filter, q.filter, p.len * sizeof (struct sock_filter)) == 0,
      "CAP_SYS_PTRACE, which the profile looks at, gets a program compiled at run time");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);

  ok (husk_seccomp_build_profile (good, strlen (good), husk_caps_default (), &p, &err) == 0
          && p.len > 0,
      "a profile with names, name, args, includes and an unknown syscall compiles");
  husk_seccomp_prog_clear (&p);

#define BAD(json, what, needle)                                                                    \
  do                                                                                               \
    {                                                                                              \
      ok (husk_seccomp_build_profile (json, strlen (json), 0, &p, &err) < 0 && err                 \
              && strstr (err->msg, needle) != NULL,                                                \
          what);                                                                                   \
      if (err)                                                                                     \
        printf ("# %s\n", err->msg);                                                               \
      husk_error_free (&err);                                                                      \
      husk_seccomp_prog_clear (&p);                                                                \
    }                                                                                              \
  while (0)
  BAD ("[1,2]", "not an object", "seccomp profile");
  BAD ("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "an unknown default action", "SCMP_ACT_NOPE");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}",
       "a rule without an action", "syscalls[0]");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":9,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
       "an argument index past 5", "args[0]");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_ODD\"}]}]}",
       "an unknown operator", "args[0]");
  BAD ("{\"defaultAction\":", "truncated JSON", "seccomp profile");
}

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

/* A file, directory, whiteout or opaque directory at PATH below the diff tree.  */
static char difftree[] = "/tmp/husk-test-diff.XXXXXX";

static void
mk (char type, const char *path)
{
  char full[512];
  int fd;

  snprintf (full, sizeof (full), "%s/%s", difftree, path);
  switch (type)
    {
    case 'f':
      fd = open (full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0)
        close (fd);
      break;
    case 'd':
      mkdir (full, 0755);
      break;
    case 'w':
      /* Since Linux 5.8 anyone may make a 0:0 character device: overlayfs's whiteout.  */
      if (mknod (full, S_IFCHR | 0000, makedev (0, 0)) < 0)
        printf ("# mknod %s: %s\n", full, strerror (errno));
      break;
    case 'o':
    case 'O':
      mkdir (full, 0755);
      if (setxattr (full, type == 'O' && geteuid () == 0 ? "trusted.overlay.opaque"
                                                        : "user.overlay.opaque", "y", 1, 0) < 0)
        printf ("# setxattr %s: %s\n", full, strerror (errno));
      break;
    }
}

static void
test_diff (void)
{
  static const char *const tree[] = {
    /* The base layer.  */
    "dl1", "dl1/etc", "fl1/etc/motd", "fl1/etc/passwd", "fl1/gone", "dl1/dir", "fl1/dir/a",
    "fl1/dir/b", "dl1/dir/sub", "fl1/dir/sub/x", "fl1/wh2", "fl1/keep", "dl1/l1opq",
    "fl1/l1opq/hidden", "dl1/l2dir",
    /* The layer above: a whiteout and an opaque directory of its own.  */
    "dl2", "dl2/etc", "fl2/etc/motd", "wl2/wh2", "dl2/l2dir", "fl2/l2dir/y", "Ol2/l1opq",
    "fl2/l1opq/n",
    /* The container's upper directory.  */
    "dup", "dup/etc", "fup/etc/motd", "wup/gone", "fup/new", "dup/newdir", "fup/newdir/f",
    "oup/dir", "fup/dir/a", "dup/dir/sub", "fup/dir/sub/z", "fup/wh2", "dup/l1opq",
    "fup/l1opq/hidden", "dup/l2dir", "wup/l2dir/ghost",
  };
  static const char *const expected[] = {
    "C /dir", "C /dir/a", "D /dir/b", "C /dir/sub", "D /dir/sub/x", "A /dir/sub/z", "C /etc",
    "C /etc/motd", "D /gone", "C /l1opq", "A /l1opq/hidden", "C /l2dir", "A /new", "A /newdir",
    "A /newdir/f", "A /wh2",
  };
  cleanup_error struct husk_error *err = NULL;
  struct husk_change *v = NULL;
  size_t n = 0;
  char l1[512], l2[512], up[512];
  char *lowers[] = { l1, l2, NULL };
  char got[2048] = "", want[2048] = "";
  char xattr_probe[512];

  if (mkdtemp (difftree) == NULL)
    {
      ok (0, "diff: mkdtemp: %s", strerror (errno));
      return;
    }
  snprintf (xattr_probe, sizeof (xattr_probe), "%s", difftree);
  if (setxattr (xattr_probe, "user.husk-probe", "y", 1, 0) < 0)
    {
      printf ("ok %d - # SKIP diff: no user xattrs on /tmp (%s)\n", ++tap_n, strerror (errno));
      rmdir (difftree);
      return;
    }
  for (size_t i = 0; i < sizeof (tree) / sizeof (tree[0]); i++)
    mk (tree[i][0], tree[i] + 1);
  snprintf (l1, sizeof (l1), "%s/l1", difftree);
  snprintf (l2, sizeof (l2), "%s/l2", difftree);
  snprintf (up, sizeof (up), "%s/up", difftree);

  ok (husk_diff_dirs (up, lowers, &v, &n, &err) == 0, "diff: a tree with whiteouts and opaque "
                                                      "directories%s%s",
      err ? ": " : "", err ? err->msg : "");
  for (size_t i = 0; i < n; i++)
    snprintf (got + strlen (got), sizeof (got) - strlen (got), "%c %s\n", v[i].kind, v[i].path);
  for (size_t i = 0; i < sizeof (expected) / sizeof (expected[0]); i++)
    snprintf (want + strlen (want), sizeof (want) - strlen (want), "%s\n", expected[i]);
  is_str (got, want, "diff: A, C and D, sorted by path");
  husk_changes_free (v, n);

  /* No layers: everything in upper is new, whiteouts are nothing.  */
  {
    char *none[] = { NULL };
    char sub[512];
    v = NULL;
    n = 0;
    snprintf (sub, sizeof (sub), "%s/up/newdir", difftree);
    ok (husk_diff_dirs (sub, none, &v, &n, &err) == 0 && n == 1 && v[0].kind == HUSK_CHANGE_ADD
            && strcmp (v[0].path, "/f") == 0,
        "diff: no layers");
    husk_changes_free (v, n);
  }

  /* A missing layer is an error that names it.  */
  {
    char missing[600];
    char *bad[] = { missing, NULL };
    snprintf (missing, sizeof (missing), "%s/nope", difftree);
    v = NULL;
    n = 0;
    ok (husk_diff_dirs (up, bad, &v, &n, &err) < 0 && err && strstr (err->msg, "nope"),
        "diff: a missing layer fails");
  }

  {
    cleanup_error struct husk_error *e = NULL;
    int dfd = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    husk_rm_rf_at (dfd, difftree + strlen ("/tmp/"), &e);
    close (dfd);
  }
}

/* In a child (fds 0-2 are the test's to change there): 0 when the relay behaved.  MODE 0: no
   terminal on stdio, nothing to relay.  MODE 1: a pseudo-terminal on fds 0-2, a "container"
   writing to both pipes; its output reaches the terminal apart, its status stays its own, the
   terminal's modes are untouched.  MODE 2: the "container" exits at once but leaves a process
   holding its stdout: the relay gives up after HUSK_RELAY_DRAIN_MS.  */
static int
relay_case (int mode, int master, const char *slave_name)
{
  struct husk_relay r = HUSK_RELAY_INIT;
  struct husk_error *err = NULL;
  struct termios before, after;
  struct stat st;
  struct timespec t0, t1;
  int fd, status;
  pid_t pid;

  fd = mode == 0 ? open ("/dev/null", O_RDWR) : open (slave_name, O_RDWR);
  if (fd < 0 || dup2 (fd, 0) < 0 || dup2 (fd, 1) < 0 || dup2 (fd, 2) < 0)
    return 10;
  if (mode != 0)
    close (master);
  if (husk_relay_open (&r, false, &err) < 0)
    return 11;
  if (mode == 0)
    return husk_relay_active (&r) || r.child[0] != -1 || r.child[1] != -1 ? 12 : 0;
  /* Without -i, stdin is not relayed; stdout and stderr are pipes above stdio.  */
  if (r.child[0] != -1 || r.mine[0] != -1 || r.child[1] < 3 || r.child[2] < 3
      || fstat (r.child[1], &st) < 0 || !S_ISFIFO (st.st_mode))
    return 13;
  tcgetattr (0, &before);
  pid = fork ();
  if (pid == 0)
    {
      husk_relay_child_stdio (r.child, &err);
      if (isatty (1) || isatty (2))
        _exit (20);
      if (mode == 2 && fork () == 0)
        {
          sleep (HUSK_RELAY_DRAIN_MS / 1000 + 4);
          _exit (0);
        }
      if (mode == 1)
        {
          (void)!write (1, "to-out\n", 7);
          (void)!write (2, "to-err\n", 7);
        }
      _exit (5);
    }
  husk_relay_close_child (&r);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (husk_relay_run (&r, pid, &err) < 0)
    return 14;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 5)
    return 15;
  tcgetattr (0, &after);
  if (before.c_lflag != after.c_lflag)
    return 16;
  if (mode == 2
      && (t1.tv_sec - t0.tv_sec < HUSK_RELAY_DRAIN_MS / 1000 - 1
          || t1.tv_sec - t0.tv_sec > HUSK_RELAY_DRAIN_MS / 1000 + 3))
    return 17;
  return 0;
}

static int
relay_run_case (int mode, char *out, size_t size)
{
  int master, status;
  size_t len = 0;
  pid_t pid;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0)
    return -1;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    _exit (relay_case (mode, master, ptsname (master)));
  if (waitpid (pid, &status, 0) != pid)
    return -1;
  /* The child and its children are gone: read what reached the terminal, without waiting
     (in mode 0 the slave was never opened, and a read would block).  */
  fcntl (master, F_SETFL, O_NONBLOCK);
  for (;;)
    {
      ssize_t n;
      if (len + 1 >= size)
        break;
      n = read (master, out + len, size - 1 - len);
      if (n <= 0)
        break;
      len += (size_t)n;
    }
  out[len] = '\0';
  close (master);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 100 + WTERMSIG (status);
}

static void
test_relay (void)
{
  char out[4096];
  int r;

  r = relay_run_case (0, out, sizeof (out));
  ok (r == 0, "relay: no terminal on stdio, no pipes (got %d)", r);
  r = relay_run_case (1, out, sizeof (out));
  ok (r == 0, "relay: a terminal on stdio becomes pipes, the status and modes stay (got %d)", r);
  ok (strstr (out, "to-out") && strstr (out, "to-err"),
      "relay: stdout and stderr reach the terminal");
  r = relay_run_case (2, out, sizeof (out));
  ok (r == 0, "relay: a process left holding stdout does not hold the relay (got %d)", r);
}

/* husk_proc_alive: a process that has exited is gone even while it is a zombie nobody has
   reaped yet (a monitor re-parented to a pid 1 that reaps slowly); a pid whose start time
   differs is another process.  */
static void
test_proc_alive (void)
{
  int p[2];
  pid_t pid;
  uint64_t start;
  char path[64], buf[512];
  bool zombie = false;

  if (pipe (p) < 0)
    {
      ok (false, "pipe: %s", strerror (errno));
      return;
    }
  pid = fork ();
  if (pid == 0)
    {
      char c;
      close (p[1]);
      (void) !read (p[0], &c, 1);
      _exit (0);
    }
  close (p[0]);
  start = husk_proc_start_time (pid);
  ok (start != 0 && husk_proc_alive (pid, start), "a running child is alive");
  ok (!husk_proc_alive (pid, start + 1), "another start time is another process");
  close (p[1]); /* The child exits; it stays a zombie until waited for.  */
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  for (int i = 0; i < 2000 && !zombie; i++)
    {
      FILE *f = fopen (path, "re");
      char *rp;
      if (f && fgets (buf, sizeof (buf), f) && (rp = strrchr (buf, ')')) && rp[1] == ' '
          && rp[2] == 'Z')
        zombie = true;
      if (f)
        fclose (f);
      if (!zombie)
        usleep (1000);
    }
  ok (zombie, "the child became a zombie");
  ok (!husk_proc_alive (pid, start), "a zombie is not alive");
  ok (husk_proc_pidfd (pid, start) < 0 && errno == ESRCH, "no pidfd is handed out for a zombie");
  waitpid (pid, NULL, 0);
  ok (!husk_proc_alive (pid, start), "a reaped child is not alive");
}

int
main (void)
{
  test_user ();
  test_caps ();
  test_seccomp ();
  test_logfile ();
  test_diff ();
  test_relay ();
  test_proc_alive ();
  return tap_done ();
}
