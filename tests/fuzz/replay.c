/* Replay saved inputs through husk's fuzz modes without libFuzzer, one TAP test per input, each
   in its own process so that a crash fails that test and the rest still run.

     husk-fuzz-replay                  tests/fuzz/regressions and tests/fuzz/corpus under $srcdir
     husk-fuzz-replay DIR...           the same layouts under each DIR
     husk-fuzz-replay MODE FILE...     the files, in MODE
     husk-fuzz-replay --list-modes     the modes, one a line (for tests/run)

   In a layout, a directory MODE/ holds inputs for MODE (the corpora) and a file MODE-NAME is a
   regression input for MODE.  make check runs it with no arguments.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fuzz.h"
#include "util.h"
#include "banned.h"

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int n_tests, n_failed;

static bool
is_mode (const char *name)
{
  for (size_t i = 0; husk_fuzz_mode_name (i); i++)
    if (strcmp (husk_fuzz_mode_name (i), name) == 0)
      return true;
  return false;
}

/* One input, in a child: ok unless it crashed, aborted or exited non-zero.  */
static void
replay (const char *mode, const char *path, const char *label)
{
  pid_t pid;
  int status = 0;

  fflush (stdout);
  pid = fork ();
  if (pid < 0)
    {
      perror ("fork");
      exit (99);
    }
  if (pid == 0)
    {
      cleanup_free char *buf = NULL;
      cleanup_free uint8_t *exact = NULL;
      cleanup_error struct husk_error *e = NULL;
      size_t len = 0;

      if (husk_read_file_at (AT_FDCWD, path, REPLAY_MAX_INPUT, &buf, &len, &e) < 0)
        {
          fprintf (stderr, "%s\n", e->msg);
          _exit (3);
        }
      if (husk_fuzz_select (mode) < 0)
        _exit (3);
      /* Exactly LEN bytes, as libFuzzer hands them over: under ASan, a read past the end is
         caught here too (the file's buffer has a NUL after it).  */
      exact = husk_xmalloc (len ? len : 1);
      memcpy (exact, buf, len);
      husk_fuzz_one (exact, len);
      exit (0); /* exit, not _exit: the mode's scratch directory goes.  */
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  n_tests++;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    printf ("ok %d - %s\n", n_tests, label);
  else
    {
      n_failed++;
      printf ("not ok %d - %s\n", n_tests, label);
      if (WIFSIGNALED (status))
        printf ("# killed by signal %d; replay: HUSK_FUZZ_MODE=%s husk-fuzz %s\n",
                WTERMSIG (status), mode, path);
      else
        printf ("# exit status %d; replay: HUSK_FUZZ_MODE=%s husk-fuzz %s\n", WEXITSTATUS (status),
                mode, path);
    }
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in DIR, sorted (a stable test order), without dot files.  */
static char **
list_dir (const char *dir)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;
  char **v = NULL;

  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      husk_strv_append (&v, de->d_name);
  if (v)
    qsort (v, husk_strv_len (v), sizeof (*v), cmp_names);
  return v;
}

/* A layout: MODE/ directories and MODE-NAME files.  */
static void
replay_layout (const char *top)
{
  cleanup_strv char **names = list_dir (top);

  for (size_t i = 0; names && names[i]; i++)
    {
      cleanup_free char *path = husk_strdup_printf ("%s/%s", top, names[i]);
      struct stat st;

      if (stat (path, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          cleanup_strv char **inputs = NULL;
          if (!is_mode (names[i]))
            {
              printf ("# %s: no mode \"%s\"; skipped\n", path, names[i]);
              continue;
            }
          inputs = list_dir (path);
          for (size_t k = 0; inputs && inputs[k]; k++)
            {
              cleanup_free char *file = husk_strdup_printf ("%s/%s", path, inputs[k]);
              cleanup_free char *label = husk_strdup_printf ("%s %s", names[i], file);
              replay (names[i], file, label);
            }
        }
      else
        {
          cleanup_free char *mode = husk_xstrdup (names[i]);
          cleanup_free char *label = NULL;
          mode[strcspn (mode, "-")] = '\0';
          if (!is_mode (mode))
            {
              printf ("# %s: no mode \"%s\" in its name; skipped\n", path, mode);
              continue;
            }
          label = husk_strdup_printf ("%s regression %s", mode, names[i]);
          replay (mode, path, label);
        }
    }
}

int
main (int argc, char **argv)
{
  const char *tmpdir = getenv ("TMPDIR");
  cleanup_free char *tmpl
      = husk_strdup_printf ("%s/husk-fuzz-replay.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  const char *srcdir = getenv ("srcdir");

  if (argc == 2 && strcmp (argv[1], "--list-modes") == 0)
    {
      for (size_t i = 0; husk_fuzz_mode_name (i); i++)
        printf ("%s\n", husk_fuzz_mode_name (i));
      return 0;
    }
  /* Every child's scratch directory under one of ours, gone at the end whatever a child
     that crashed left behind.  */
  if (mkdtemp (tmpl) == NULL)
    {
      perror ("mkdtemp");
      return 99;
    }
  setenv ("TMPDIR", tmpl, 1);
  if (argc > 1 && is_mode (argv[1]))
    for (int i = 2; i < argc; i++)
      replay (argv[1], argv[i], argv[i]);
  else if (argc > 1)
    for (int i = 1; i < argc; i++)
      replay_layout (argv[i]);
  else
    {
      cleanup_free char *reg
          = husk_strdup_printf ("%s/tests/fuzz/regressions", srcdir ? srcdir : ".");
      cleanup_free char *corpus
          = husk_strdup_printf ("%s/tests/fuzz/corpus", srcdir ? srcdir : ".");
      replay_layout (reg);
      replay_layout (corpus);
    }
  husk_rm_rf_at (AT_FDCWD, tmpl, NULL);
  printf ("1..%d\n", n_tests);
  return n_failed ? 1 : 0;
}
