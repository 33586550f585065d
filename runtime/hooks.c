#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "forward.h"
#include "hooks.h"
#include "json.h"
#include "jsonmap.h"
#include "util.h"
#include "banned.h"

static const struct husk_jsonmap_field hook_fields[] = {
  HUSK_JM_STRING ("path", struct husk_hook, path, HUSK_JM_REQUIRED),
  HUSK_JM_STRV ("args", struct husk_hook, args, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_STRV ("env", struct husk_hook, env, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_INT ("timeout", struct husk_hook, timeout, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_END,
};

#define HOOKS_ROW(key, phase)                                                                      \
  HUSK_JM_ARRAY (key, struct husk_hooks, list[phase], n[phase], hook_fields, HUSK_JM_OMIT_EMPTY)

const struct husk_jsonmap_field husk_hooks_fields[] = {
  HOOKS_ROW ("prestart", HUSK_HOOK_PRESTART),
  HOOKS_ROW ("createRuntime", HUSK_HOOK_CREATE_RUNTIME),
  HOOKS_ROW ("createContainer", HUSK_HOOK_CREATE_CONTAINER),
  HOOKS_ROW ("startContainer", HUSK_HOOK_START_CONTAINER),
  HOOKS_ROW ("poststart", HUSK_HOOK_POSTSTART),
  HOOKS_ROW ("poststop", HUSK_HOOK_POSTSTOP),
  HUSK_JM_END,
};

static const char *const phase_names[HUSK_N_HOOK_PHASES] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *
husk_hook_phase_name (enum husk_hook_phase phase)
{
  return (unsigned) phase < HUSK_N_HOOK_PHASES ? phase_names[phase] : "unknown";
}

static const struct husk_jsonmap_enum status_names[] = {
  { "creating", HUSK_OCI_CREATING },
  { "created", HUSK_OCI_CREATED },
  { "running", HUSK_OCI_RUNNING },
  { "stopped", HUSK_OCI_STOPPED },
  { NULL, 0 },
};

static const struct husk_jsonmap_field state_fields[] = {
  HUSK_JM_STRING ("ociVersion", struct husk_oci_state, oci_version, 0),
  HUSK_JM_STRING ("id", struct husk_oci_state, id, 0),
  HUSK_JM_ENUM ("status", struct husk_oci_state, status, status_names, 0),
  HUSK_JM_INT ("pid", struct husk_oci_state, pid, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_STRING ("bundle", struct husk_oci_state, bundle, 0),
  HUSK_JM_STRMAP ("annotations", struct husk_oci_state, annotations, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_END,
};

char *
husk_oci_state_json (const struct husk_oci_state *state, size_t *ret_len)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  struct husk_oci_state s = *state;
  const char *buf;
  size_t len;
  char *out;

  if (s.oci_version == NULL)
    s.oci_version = HUSK_OCI_VERSION;
  if (s.id == NULL)
    s.id = "";
  if (s.bundle == NULL)
    s.bundle = "";
  husk_jsonmap_encode (g, state_fields, &s);
  buf = husk_jgen_buf (g, &len);
  out = husk_xmalloc (len + 1);
  memcpy (out, buf, len);
  out[len] = '\0';
  *ret_len = len;
  return out;
}

/* The hook's process, between fork and exec: STATE_FD becomes stdin, OUT_FD stdout and
   stderr; nothing else of husk's stays open.  An exec failure's errno goes to REPORT.  */
static void __attribute__ ((noreturn))
hook_child (const struct husk_hook *hook, int state_fd, int out_fd, int report)
{
  static char *const no_env[] = { NULL };
  char *default_args[] = { hook->path, NULL };
  char *const *args = hook->args && hook->args[0] ? hook->args : default_args;
  sigset_t none;
  int e;

  /* Its own group, so that a timeout kills what it started too.  */
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  husk_forward_child_reset ();
  signal (SIGPIPE, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (dup2 (state_fd, STDIN_FILENO) < 0 || dup2 (out_fd, STDOUT_FILENO) < 0
      || (out_fd != STDERR_FILENO && dup2 (out_fd, STDERR_FILENO) < 0))
    {
      e = errno;
      (void) !write (report, &e, sizeof (e));
      _exit (127);
    }
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < 1024; fd++)
      fcntl (fd, F_SETFD, FD_CLOEXEC);
  execve (hook->path, args, hook->env ? hook->env : no_env);
  e = errno;
  (void) !write (report, &e, sizeof (e));
  _exit (127);
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for PID until DEADLINE_MS (CLOCK_MONOTONIC; -1: none).  1 with *STATUS when it ended,
   0 when the deadline passed first, -1 on error.  */
static int
wait_until (pid_t pid, int64_t deadline_ms, int *status)
{
  cleanup_close int pidfd = -1;

  if (deadline_ms >= 0)
    pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  for (;;)
    {
      pid_t r = waitpid (pid, status, deadline_ms < 0 ? 0 : WNOHANG);
      int64_t left;
      if (r == pid)
        return 1;
      if (r < 0 && errno != EINTR)
        return -1;
      if (r < 0)
        continue;
      left = deadline_ms - now_ms ();
      if (left <= 0)
        return 0;
      if (pidfd >= 0)
        {
          struct pollfd p = { .fd = pidfd, .events = POLLIN };
          if (poll (&p, 1, left > INT_MAX ? INT_MAX : (int) left) < 0 && errno != EINTR)
            return -1;
        }
      else
        {
          /* No pidfd (a kernel before 5.3): look again in 10 ms.  */
          struct timespec ts = { 0, 10 * 1000 * 1000 };
          nanosleep (&ts, NULL);
        }
    }
}

int
husk_hook_run (const struct husk_hook *hook, enum husk_hook_phase phase, const char *state,
               size_t len, int out_fd, struct husk_error **err)
{
  const char *what = husk_hook_phase_name (phase);
  const char *path = hook->path ? hook->path : "";
  cleanup_close int in_r = -1, in_w = -1, rep_r = -1, rep_w = -1;
  int fds[2], status = 0, r, e = 0;
  int64_t deadline = -1;
  pid_t pid;

  if (path[0] != '/')
    return husk_error_set (err, 0, "%s hook \"%s\": not an absolute path", what, path);
  if (hook->timeout < 0)
    return husk_error_set (err, 0, "%s hook \"%s\": timeout %d: must be greater than 0", what, path,
                           hook->timeout);

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "%s hook \"%s\": pipe", what, path);
  in_r = fds[0];
  in_w = fds[1];
  /* The state goes in whole before the hook starts: a hook that never reads stdin then cannot
     block husk, and there is no write to a pipe whose reader is gone.  */
  if (len > 65536 && len <= INT_MAX)
    fcntl (in_w, F_SETPIPE_SZ, (int) len);
  if (fcntl (in_w, F_SETFL, O_NONBLOCK) < 0 || husk_write_all (in_w, state, len) < 0)
    return husk_error_set (err, errno == EAGAIN ? 0 : errno,
                           "%s hook \"%s\": write the state (%zu bytes)%s", what, path, len,
                           errno == EAGAIN ? ": larger than a pipe holds" : "");
  close (TAKE_FD (in_w));
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "%s hook \"%s\": pipe", what, path);
  rep_r = fds[0];
  rep_w = fds[1];

  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    return husk_error_set (err, errno, "%s hook \"%s\": fork", what, path);
  if (pid == 0)
    hook_child (hook, in_r, out_fd, rep_w);
  /* Also here, so that a kill of the group cannot come before the child made it.  */
  setpgid (pid, pid);
  close (TAKE_FD (in_r));
  close (TAKE_FD (rep_w));
  if (hook->timeout > 0)
    deadline = now_ms () + (int64_t) hook->timeout * 1000;

  r = wait_until (pid, deadline, &status);
  if (r <= 0)
    {
      int we = errno;
      kill (-pid, SIGKILL);
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      if (r < 0)
        return husk_error_set (err, we, "%s hook \"%s\": wait", what, path);
      return husk_error_set (err, 0, "%s hook \"%s\": timed out after %d s, killed", what, path,
                             hook->timeout);
    }
  if (husk_read_all (rep_r, &e, sizeof (e)) == (ssize_t) sizeof (e) && e != 0)
    return husk_error_set (err, e, "%s hook \"%s\": exec", what, path);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status))
    return husk_error_set (err, 0, "%s hook \"%s\": exited with status %d", what, path,
                           WEXITSTATUS (status));
  return husk_error_set (err, 0, "%s hook \"%s\": killed by signal %d", what, path,
                         WTERMSIG (status));
}

static bool
phase_fails (enum husk_hook_phase phase)
{
  return phase != HUSK_HOOK_POSTSTART && phase != HUSK_HOOK_POSTSTOP;
}

int
husk_hooks_run (const struct husk_hooks *hooks, enum husk_hook_phase phase, const char *state,
                size_t len, int out_fd, struct husk_error **err)
{
  if (hooks == NULL)
    return 0;
  for (size_t i = 0; i < hooks->n[phase]; i++)
    {
      cleanup_error struct husk_error *e = NULL;
      if (husk_hook_run (&hooks->list[phase][i], phase, state, len, out_fd, &e) == 0)
        continue;
      if (phase_fails (phase))
        {
          *err = TAKE_PTR (e);
          return -1;
        }
      if (hooks->warn)
        hooks->warn (hooks->warn_arg, e->msg);
    }
  return 0;
}

bool
husk_container_has_hooks (const struct husk_container_spec *spec, enum husk_hook_phase phase)
{
  return spec->hooks != NULL && spec->hooks->n[phase] > 0;
}

int
husk_container_hooks (const struct husk_container_spec *spec, enum husk_hook_phase phase, pid_t pid,
                      int out_fd, struct husk_error **err)
{
  struct husk_oci_state st = {
    .id = spec->id,
    .pid = (int) pid,
    .bundle = spec->bundle,
    .annotations = spec->annotations,
  };
  cleanup_free char *json = NULL;
  size_t len;

  if (!husk_container_has_hooks (spec, phase))
    return 0;
  switch (phase)
    {
    case HUSK_HOOK_START_CONTAINER:
      st.status = HUSK_OCI_CREATED;
      break;
    case HUSK_HOOK_POSTSTART:
      st.status = HUSK_OCI_RUNNING;
      break;
    case HUSK_HOOK_POSTSTOP:
      st.status = HUSK_OCI_STOPPED;
      break;
    default:
      st.status = HUSK_OCI_CREATING;
      break;
    }
  json = husk_oci_state_json (&st, &len);
  return husk_hooks_run (spec->hooks, phase, json, len, out_fd, err);
}

void
husk_hooks_poststart (const struct husk_container_spec *spec, pid_t pid)
{
  struct husk_error *err = NULL;

  /* Failures are warnings, each given to SPEC->hooks->warn: nothing comes back.  */
  husk_container_hooks (spec, HUSK_HOOK_POSTSTART, pid, STDERR_FILENO, &err);
  husk_error_free (&err);
}

void
husk_hooks_poststop (const struct husk_container_spec *spec)
{
  struct husk_error *err = NULL;

  husk_container_hooks (spec, HUSK_HOOK_POSTSTOP, 0, STDERR_FILENO, &err);
  husk_error_free (&err);
}

pid_t
husk_hooks_proc_self_pid (void)
{
  char buf[32];
  ssize_t n = readlink ("/proc/self", buf, sizeof (buf) - 1);
  uint64_t v;

  if (n > 0)
    {
      buf[n] = '\0';
      if (husk_parse_u64 (buf, INT_MAX, &v) == 0 && v > 0)
        return (pid_t) v;
    }
  return getpid ();
}
