#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "json.h"
#include "seccomp-filter.h"
#include "util.h"
#include "banned.h"

/* The syscalls Docker's default profile allows to everyone.  Names unknown to this architecture
   (the *32 variants on x86-64, say) are skipped.  */
/* clang-format off */
static const char *const allowed[] = {
  "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat",
  "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
  "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
  "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
  "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
  "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
  "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
  "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
  "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
  "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
  "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
  "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
  "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
  "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
  "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
  "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
  "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
  "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
  "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
  "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
  "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
  "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
  "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
  "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
  "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
  "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
  "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
  "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
  "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
  "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
  "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace", "pwrite64",
  "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
  "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
  "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
  "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
  "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
  "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
  "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
  "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
  "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
  "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
  "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
  "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
  "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
  "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
  "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
  "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
  "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
  "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
  "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
  "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
  "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
  "writev", NULL,
};
/* clang-format on */

/* Allowed only to a container that holds the capability, as in Docker.  */
static const struct
{
  int cap;
  const char *const names[24];
} gated[] = {
  { CAP_SYS_ADMIN, { "bpf",           "clone",           "clone3",
                     "fanotify_init", "fsconfig",        "fsmount",
                     "fsopen",        "fspick",          "lookup_dcookie",
                     "mount",         "mount_setattr",   "move_mount",
                     "open_tree",     "perf_event_open", "quotactl",
                     "quotactl_fd",   "setdomainname",   "sethostname",
                     "setns",         "syslog",          "umount",
                     "umount2",       "unshare",         NULL } },
  { CAP_SYS_BOOT, { "reboot", NULL } },
  { CAP_SYS_CHROOT, { "chroot", NULL } },
  { CAP_SYS_MODULE, { "delete_module", "init_module", "finit_module", NULL } },
  { CAP_SYS_PACCT, { "acct", NULL } },
  { CAP_SYS_PTRACE,
    { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
      NULL } },
  { CAP_SYS_RAWIO, { "iopl", "ioperm", NULL } },
  { CAP_SYS_TIME, { "settimeofday", "stime", "clock_settime", "clock_settime64", NULL } },
  { CAP_SYS_TTY_CONFIG, { "vhangup", NULL } },
  { CAP_SYS_NICE, { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL } },
  { CAP_SYSLOG, { "syslog", NULL } },
  { CAP_BPF, { "bpf", NULL } },
  { CAP_PERFMON, { "perf_event_open", NULL } },
  { CAP_DAC_READ_SEARCH, { "open_by_handle_at", NULL } },
};

/* Namespace flags a clone without CAP_SYS_ADMIN may not carry (CLONE_NEWNS..CLONE_NEWNET and
   CLONE_NEWCGROUP); the mask Docker uses.  */
#define CLONE_NS_MASK 0x7E020000ULL

static void
cleanup_ctx (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}
#define cleanup_scmp __attribute__ ((cleanup (cleanup_ctx)))

static int
add_rule (scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
          const struct scmp_arg_cmp *args, struct husk_error **err)
{
  int nr = seccomp_syscall_resolve_name (name);
  int r;

  if (nr == __NR_SCMP_ERROR)
    return 0;
  r = seccomp_rule_add_array (ctx, action, nr, n, args);
  /* A pseudo-syscall of another ABI (EDOM), or a duplicate of an earlier rule (EEXIST).  */
  if (r < 0 && r != -EDOM && r != -EEXIST && r != -EINVAL)
    return husk_error_set (err, -r, "seccomp: rule for \"%s\"", name);
  return 0;
}

static int
export_prog (scmp_filter_ctx ctx, struct husk_seccomp_prog *ret, struct husk_error **err)
{
  cleanup_close int fd = memfd_create ("husk-seccomp", MFD_CLOEXEC);
  struct stat st;
  void *buf;
  int r;

  if (fd < 0)
    return husk_error_set (err, errno, "seccomp: memfd");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return husk_error_set (err, -r, "seccomp: compile the filter");
  if (fstat (fd, &st) < 0)
    return husk_error_set (err, errno, "seccomp: stat");
  if (st.st_size <= 0 || st.st_size % (off_t) sizeof (struct sock_filter) != 0
      || st.st_size / (off_t) sizeof (struct sock_filter) > BPF_MAXINSNS)
    return husk_error_set (err, 0, "seccomp: the filter has %lld bytes", (long long) st.st_size);
  buf = husk_xmalloc ((size_t) st.st_size);
  if (pread (fd, buf, (size_t) st.st_size, 0) != st.st_size)
    {
      free (buf);
      return husk_error_set (err, errno, "seccomp: read the filter");
    }
  ret->filter = buf;
  ret->len = (size_t) st.st_size / sizeof (struct sock_filter);
  return 0;
}

static scmp_filter_ctx
new_ctx (uint32_t def, struct husk_error **err)
{
  scmp_filter_ctx ctx = seccomp_init (def);
  if (ctx == NULL)
    {
      husk_error_set (err, ENOMEM, "seccomp: init");
      return NULL;
    }
  /* no_new_privs is husk's decision (--security-opt no-new-privileges), not libseccomp's.  */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* As Docker does on x86-64: 32-bit and x32 programs get the same rules, not SIGSYS.  */
  if (seccomp_arch_native () == SCMP_ARCH_X86_64)
    {
      int r = seccomp_arch_add (ctx, SCMP_ARCH_X86);
      if (r == 0 || r == -EEXIST)
        r = seccomp_arch_add (ctx, SCMP_ARCH_X32);
      if (r < 0 && r != -EEXIST)
        {
          seccomp_release (ctx);
          husk_error_set (err, -r, "seccomp: add the x86 and x32 architectures");
          return NULL;
        }
    }
  return ctx;
}

int
husk_seccomp_compile_default (uint64_t caps, struct husk_seccomp_prog *ret, struct husk_error **err)
{
  cleanup_scmp scmp_filter_ctx ctx = new_ctx (SCMP_ACT_ERRNO (EPERM), err);
  static const uint64_t personas[] = { 0x0, 0x0008, 0x20000, 0x20008, 0xffffffff };
  bool sys_admin = caps & (UINT64_C (1) << CAP_SYS_ADMIN);

  if (ctx == NULL)
    return -1;
  for (size_t i = 0; allowed[i]; i++)
    if (add_rule (ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, err) < 0)
      return -1;
  for (size_t g = 0; g < sizeof (gated) / sizeof (gated[0]); g++)
    if (caps & (UINT64_C (1) << gated[g].cap))
      for (size_t i = 0; gated[g].names[i]; i++)
        if (add_rule (ctx, SCMP_ACT_ALLOW, gated[g].names[i], 0, NULL, err) < 0)
          return -1;
  for (size_t i = 0; i < sizeof (personas) / sizeof (personas[0]); i++)
    {
      struct scmp_arg_cmp a = SCMP_A0 (SCMP_CMP_EQ, personas[i]);
      if (add_rule (ctx, SCMP_ACT_ALLOW, "personality", 1, &a, err) < 0)
        return -1;
    }
  if (!sys_admin)
    {
      /* Threads and processes, but no new namespaces.  clone3 hides its flags in memory a
         filter cannot read: ENOSYS sends the C library back to clone.  */
      struct scmp_arg_cmp a = SCMP_A0 (SCMP_CMP_MASKED_EQ, CLONE_NS_MASK, 0);
      if (add_rule (ctx, SCMP_ACT_ALLOW, "clone", 1, &a, err) < 0
          || add_rule (ctx, SCMP_ACT_ERRNO (ENOSYS), "clone3", 0, NULL, err) < 0)
        return -1;
    }
  {
    /* Every socket family but AF_VSOCK, which reaches the host past the network namespace.  */
    struct scmp_arg_cmp a = SCMP_A0 (SCMP_CMP_NE, AF_VSOCK);
    if (add_rule (ctx, SCMP_ACT_ALLOW, "socket", 1, &a, err) < 0)
      return -1;
  }
  return export_prog (ctx, ret, err);
}

#ifndef HUSK_SECCOMP_GEN
/* The capabilities the default filter depends on: two sets that agree on these get the same
   program.  */
static uint64_t
filter_caps (uint64_t caps)
{
  uint64_t m = 0;
  for (size_t g = 0; g < sizeof (gated) / sizeof (gated[0]); g++)
    m |= UINT64_C (1) << gated[g].cap;
  return caps & m;
}

/* The default filter for the default capabilities is compiled when husk is built
   (seccomp-gen.c writes it into seccomp-default.c), so a default run compiles nothing; other
   capability sets are compiled here, in this process.  Neither is ever read back from a file:
   a cached program is only as trustworthy as the directory it sits in, and a rootless
   container's root owns the user's files (a bind mount of $HOME would let a container weaken
   every later one).  */
int
husk_seccomp_build_default (uint64_t caps, struct husk_seccomp_prog *ret, struct husk_error **err)
{
  if (husk_seccomp_embedded_len > 0
      && filter_caps (caps) == filter_caps (husk_seccomp_embedded_caps))
    {
      size_t size = husk_seccomp_embedded_len * sizeof (struct sock_filter);
      ret->filter = husk_xmalloc (size);
      memcpy (ret->filter, husk_seccomp_embedded, size);
      ret->len = husk_seccomp_embedded_len;
      return 0;
    }
  return husk_seccomp_compile_default (caps, ret, err);
}
#endif

static int
parse_action (const husk_json *rule, const char *what, uint32_t *ret, struct husk_error **err)
{
  const char *a = husk_json_get_string (rule, "action");
  const husk_json *ej = husk_json_get (rule, "errnoRet");
  int64_t e = EPERM;

  if (a == NULL)
    {
      a = husk_json_get_string (rule, "defaultAction");
      ej = husk_json_get (rule, "defaultErrnoRet");
    }
  if (a == NULL)
    return husk_error_set (err, 0, "seccomp profile: %s has no action", what);
  if (ej && (!husk_json_int64 (ej, &e) || e < 0 || e > 4095))
    return husk_error_set (err, 0, "seccomp profile: %s: errnoRet is not an errno", what);
  if (strcmp (a, "SCMP_ACT_ALLOW") == 0)
    *ret = SCMP_ACT_ALLOW;
  else if (strcmp (a, "SCMP_ACT_ERRNO") == 0)
    *ret = SCMP_ACT_ERRNO ((uint16_t) e);
  else if (strcmp (a, "SCMP_ACT_KILL") == 0 || strcmp (a, "SCMP_ACT_KILL_THREAD") == 0)
    *ret = SCMP_ACT_KILL;
  else if (strcmp (a, "SCMP_ACT_KILL_PROCESS") == 0)
    *ret = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (a, "SCMP_ACT_TRAP") == 0)
    *ret = SCMP_ACT_TRAP;
  else if (strcmp (a, "SCMP_ACT_LOG") == 0)
    *ret = SCMP_ACT_LOG;
  else if (strcmp (a, "SCMP_ACT_TRACE") == 0)
    /* With no tracer attached the kernel fails the call with ENOSYS, as with Docker.  */
    *ret = SCMP_ACT_TRACE ((uint16_t) (ej ? e : 0));
  else if (strcmp (a, "SCMP_ACT_NOTIFY") == 0)
    return husk_error_set (err, 0,
                           "seccomp profile: %s: SCMP_ACT_NOTIFY needs a seccomp agent, "
                           "which husk does not have",
                           what);
  else
    return husk_error_set (err, 0, "seccomp profile: %s: unsupported action \"%s\"", what, a);
  return 0;
}

static int
parse_op (const char *op, enum scmp_compare *ret)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = { { "SCMP_CMP_NE", SCMP_CMP_NE },
              { "SCMP_CMP_LT", SCMP_CMP_LT },
              { "SCMP_CMP_LE", SCMP_CMP_LE },
              { "SCMP_CMP_EQ", SCMP_CMP_EQ },
              { "SCMP_CMP_GE", SCMP_CMP_GE },
              { "SCMP_CMP_GT", SCMP_CMP_GT },
              { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ } };
  for (size_t i = 0; op && i < sizeof (ops) / sizeof (ops[0]); i++)
    if (strcmp (op, ops[i].name) == 0)
      {
        *ret = ops[i].op;
        return 0;
      }
  return -1;
}

/* The architecture as Docker's profiles name it in "arches" conditions.  */
static const char *
native_arch_name (void)
{
#if defined(__x86_64__) && defined(__ILP32__)
  return "x32";
#elif defined(__x86_64__)
  return "amd64";
#elif defined(__i386__)
  return "x86";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

/* Whether the running kernel is at least "MAJOR.MINOR".  An unreadable version counts as new
   enough, as for Docker (a rule is not dropped for want of a number).  */
static bool
kernel_at_least (const char *want)
{
  struct utsname u;
  unsigned wmaj = 0, wmin = 0, kmaj = 0, kmin = 0;

  if (sscanf (want, "%u.%u", &wmaj, &wmin) < 1 || uname (&u) < 0
      || sscanf (u.release, "%u.%u", &kmaj, &kmin) < 1)
    return true;
  return kmaj > wmaj || (kmaj == wmaj && kmin >= wmin);
}

/* Docker's includes/excludes: every condition given ("caps", "arches", "minKernel") must hold
   for an include, and none may hold for an exclude.  */
static bool
cond_match (const husk_json *cond, uint64_t caps, bool include)
{
  const husk_json *list = cond ? husk_json_get (cond, "caps") : NULL;
  const husk_json *arches = cond ? husk_json_get (cond, "arches") : NULL;
  const char *min_kernel = cond ? husk_json_get_string (cond, "minKernel") : NULL;
  size_t n = list ? husk_json_array_len (list) : 0;

  for (size_t i = 0; i < n; i++)
    {
      uint64_t m;
      cleanup_error struct husk_error *e = NULL;
      const char *name = husk_json_string (husk_json_array_at (list, i));
      bool has = name && husk_caps_parse (name, &m, &e) == 0 && (caps & m) == m;
      if (include && !has)
        return false;
      if (!include && has)
        return false;
    }
  if (arches && husk_json_array_len (arches) > 0)
    {
      bool found = false;
      for (size_t i = 0; i < husk_json_array_len (arches); i++)
        {
          const char *a = husk_json_string (husk_json_array_at (arches, i));
          if (a && strcmp (a, native_arch_name ()) == 0)
            found = true;
        }
      if (found != include)
        return false;
    }
  if (min_kernel && kernel_at_least (min_kernel) != include)
    return false;
  return true;
}

int
husk_seccomp_build_profile (const char *json, size_t len, uint64_t caps,
                            struct husk_seccomp_prog *ret, struct husk_error **err)
{
  cleanup_json husk_json *root = husk_json_parse (json, len, err);
  cleanup_scmp scmp_filter_ctx ctx = NULL;
  const husk_json *rules;
  uint32_t def;

  if (root == NULL)
    return husk_error_wrap (err, "seccomp profile");
  if (!husk_json_is_object (root) || parse_action (root, "defaultAction", &def, err) < 0)
    return *err ? -1 : husk_error_set (err, 0, "seccomp profile: not a JSON object");
  ctx = new_ctx (def, err);
  if (ctx == NULL)
    return -1;
  rules = husk_json_get (root, "syscalls");
  for (size_t i = 0; rules && i < husk_json_array_len (rules); i++)
    {
      const husk_json *rule = husk_json_array_at (rules, i);
      const husk_json *names = husk_json_get (rule, "names");
      const husk_json *args = husk_json_get (rule, "args");
      const char *one = husk_json_get_string (rule, "name");
      struct scmp_arg_cmp cmp[6];
      unsigned n_cmp = 0;
      uint32_t action;
      char what[32];

      snprintf (what, sizeof (what), "syscalls[%zu]", i);
      if (!cond_match (husk_json_get (rule, "includes"), caps, true)
          || !cond_match (husk_json_get (rule, "excludes"), caps, false))
        continue;
      if (parse_action (rule, what, &action, err) < 0)
        return -1;
      if (action == def)
        continue;
      for (size_t a = 0; args && a < husk_json_array_len (args); a++)
        {
          const husk_json *aj = husk_json_array_at (args, a);
          int64_t index, value, value2 = 0;
          enum scmp_compare op;
          if (n_cmp == 6 || !husk_json_int64 (husk_json_get (aj, "index"), &index) || index < 0
              || index > 5 || !husk_json_int64 (husk_json_get (aj, "value"), &value)
              || (husk_json_get (aj, "valueTwo")
                  && !husk_json_int64 (husk_json_get (aj, "valueTwo"), &value2))
              || parse_op (husk_json_get_string (aj, "op"), &op) < 0)
            return husk_error_set (err, 0, "seccomp profile: %s: bad args[%zu]", what, a);
          cmp[n_cmp++] = (struct scmp_arg_cmp){ .arg = (unsigned) index,
                                                .op = op,
                                                .datum_a = (uint64_t) value,
                                                .datum_b = (uint64_t) value2 };
        }
      if (one && add_rule (ctx, action, one, n_cmp, cmp, err) < 0)
        return -1;
      for (size_t k = 0; names && k < husk_json_array_len (names); k++)
        {
          const char *name = husk_json_string (husk_json_array_at (names, k));
          if (name == NULL)
            return husk_error_set (err, 0, "seccomp profile: %s: a name is not a string", what);
          if (add_rule (ctx, action, name, n_cmp, cmp, err) < 0)
            return -1;
        }
    }
  return export_prog (ctx, ret, err);
}

int
husk_seccomp_load (const struct husk_seccomp_prog *prog, struct husk_error **err)
{
  struct sock_fprog fp = { .len = (unsigned short) prog->len, .filter = prog->filter };

  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
    return husk_error_set (err, errno, "load the seccomp filter");
  return 0;
}

void
husk_seccomp_prog_clear (struct husk_seccomp_prog *prog)
{
  free (prog->filter);
  prog->filter = NULL;
  prog->len = 0;
}
