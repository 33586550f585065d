#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups.h"
#include "cleanup.h"
#include "devices.h"
#include "util.h"
#include "banned.h"

/* ------------------------------------------------------------------ policy

   What a container may use, as Docker and runc allow it by default, less what husk has no use
   for.  Each decision:

     c 1:3  null      rwm   bound into /dev; harmless anywhere, so mknod of one is allowed
     c 1:5  zero      rwm   (as Docker; the node it makes still cannot be opened in the
     c 1:7  full      rwm    container, every writable mount being nodev)
     c 1:8  random    rwm
     c 1:9  urandom   rwm
     c 5:0  tty       rwm   the process's controlling terminal, whatever it is
     c 5:2  ptmx      rw    /dev/ptmx is the container's own devpts instance's ptmx
     c 136:* pts      rw    the slaves of that instance (Docker allows the same major)

   Left out, unlike Docker:
     c *:* m, b *:* m   mknod of any node.  A node made in a bind volume or in the container's
                        upper layer lands on the host's filesystem, where the host's processes
                        (outside this cgroup, on a mount that is not nodev) could open it: a
                        container must not be able to leave a door to a host disk for another
                        local user.  CAP_MKNOD stays in the default set (fifos need none).
     c 5:1  console     the host's console.  With -t the container's /dev/console is its own
                        pty slave bound there (136:N), which the pts rule covers.
     c 10:200 tun       runc allowed it once and dropped it; husk has no --device yet.
     c 5:2, 136:* m     a pty node made on a host-visible filesystem is not needed.  */
#define RWM (HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD)
#define RW (HUSK_DEV_READ | HUSK_DEV_WRITE)

const struct husk_device_rule husk_devices_default[] = {
  { 'c', 1, 3, RWM }, { 'c', 1, 5, RWM }, { 'c', 1, 7, RWM }, { 'c', 1, 8, RWM },
  { 'c', 1, 9, RWM }, { 'c', 5, 0, RWM }, { 'c', 5, 2, RW },  { 'c', 136, HUSK_DEV_ANY, RW },
};
const size_t husk_devices_n_default
    = sizeof (husk_devices_default) / sizeof (husk_devices_default[0]);

/* --------------------------------------------------------------- mechanism  */

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PARENT "husk" /* Every container's cgroup is PARENT/ID in each hierarchy.  */

struct hierarchy
{
  const char *path;
  bool v2;
};

static bool
is_fs (const char *path, long magic)
{
  struct statfs sf;
  return statfs (path, &sf) == 0 && (long) sf.f_type == magic;
}

/* The device hierarchies mounted here: v1 "devices", then cgroup2 (the whole of
   /sys/fs/cgroup, or "unified" beside the v1 hierarchies).  */
static size_t
hierarchies (struct hierarchy out[2])
{
  size_t n = 0;

  if (is_fs (CGROUP_ROOT "/devices", CGROUP_SUPER_MAGIC))
    out[n++] = (struct hierarchy){ CGROUP_ROOT "/devices", false };
  if (is_fs (CGROUP_ROOT, CGROUP2_SUPER_MAGIC))
    out[n++] = (struct hierarchy){ CGROUP_ROOT, true };
  else if (is_fs (CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC))
    out[n++] = (struct hierarchy){ CGROUP_ROOT "/unified", true };
  return n;
}

static bool
name_valid (const char *name)
{
  return name && *name && strchr (name, '/') == NULL && strcmp (name, ".") != 0
         && strcmp (name, "..") != 0;
}

void
husk_device_rule_format (const struct husk_device_rule *r, char *buf, size_t size)
{
  char maj[16] = "*", min[16] = "*";

  if (r->major != HUSK_DEV_ANY)
    snprintf (maj, sizeof (maj), "%d", (int) r->major);
  if (r->minor != HUSK_DEV_ANY)
    snprintf (min, sizeof (min), "%d", (int) r->minor);
  snprintf (buf, size, "%c %s:%s %s%s%s", r->type, maj, min, r->access & HUSK_DEV_READ ? "r" : "",
            r->access & HUSK_DEV_WRITE ? "w" : "", r->access & HUSK_DEV_MKNOD ? "m" : "");
}

/* One write(2) of TEXT to DIRFD/FILE: cgroup files take one rule or pid per write.  */
static int
write_cg (int dirfd, const char *file, const char *text, const char *where, struct husk_error **err)
{
  cleanup_close int fd = openat (dirfd, file, O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    return husk_error_set (err, errno, "%s/%s", where, file);
  if (write (fd, text, strlen (text)) != (ssize_t) strlen (text))
    return husk_error_set (err, errno, "%s/%s: write \"%s\"", where, file, text);
  return 0;
}

/* ------------------------------------------------------- the v2 program

   The kernel calls it for every open and mknod of a char or block node, with a
   struct bpf_cgroup_dev_ctx in r1: access_type (access bits << 16 | type), major, minor.
   It returns 1 to allow, 0 to deny.  The program loads the three fields once, then has one
   block a rule; a block whose test fails jumps to the next one, a block that matches
   returns 1, and the end returns 0:

     r2 = ctx->access_type; r3 = r2; r2 &= 0xffff (type); r3 >>= 16 (access)
     r4 = ctx->major; r5 = ctx->minor
     rule:  if r2 != TYPE goto next        (not for 'a')
            if r4 != MAJOR goto next       (not for any major)
            if r5 != MINOR goto next       (not for any minor)
            r0 = r3; r0 &= ~ACCESS; if r0 != 0 goto next   (asks for a bit not granted)
            r0 = 1; exit
     next:  ...
            r0 = 0; exit  */

struct prog
{
  struct bpf_insn insn[512];
  size_t n;
};

static void
emit (struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  if (p->n < sizeof (p->insn) / sizeof (p->insn[0]))
    p->insn[p->n]
        = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
  p->n++;
}

/* "if DST != IMM goto the end of this block", patched once the block's length is known.  */
static void
emit_jne (struct prog *p, uint8_t dst, int32_t imm, size_t *pending, size_t *n_pending)
{
  pending[(*n_pending)++] = p->n;
  emit (p, BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}

static int
build_program (const struct husk_device_rule *rules, size_t n_rules, struct prog *p,
               struct husk_error **err)
{
  const uint8_t r0 = 0, r1 = 1, r2 = 2, r3 = 3, r4 = 4, r5 = 5;
  const unsigned all = HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD;

  p->n = 0;
  emit (p, BPF_LDX | BPF_MEM | BPF_W, r2, r1, offsetof (struct bpf_cgroup_dev_ctx, access_type), 0);
  emit (p, BPF_ALU64 | BPF_MOV | BPF_X, r3, r2, 0, 0);
  emit (p, BPF_ALU64 | BPF_AND | BPF_K, r2, 0, 0, 0xffff);
  emit (p, BPF_ALU64 | BPF_RSH | BPF_K, r3, 0, 0, 16);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, r4, r1, offsetof (struct bpf_cgroup_dev_ctx, major), 0);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, r5, r1, offsetof (struct bpf_cgroup_dev_ctx, minor), 0);

  for (size_t i = 0; i < n_rules; i++)
    {
      const struct husk_device_rule *r = &rules[i];
      size_t pending[4], n_pending = 0;

      if ((r->type != 'a' && r->type != 'b' && r->type != 'c') || (r->access & ~all) != 0
          || r->access == 0 || r->major < HUSK_DEV_ANY || r->minor < HUSK_DEV_ANY)
        return husk_error_set (err, 0, "device rule %zu: invalid", i);
      if (r->type != 'a')
        emit_jne (p, r2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, pending,
                  &n_pending);
      if (r->major != HUSK_DEV_ANY)
        emit_jne (p, r4, r->major, pending, &n_pending);
      if (r->minor != HUSK_DEV_ANY)
        emit_jne (p, r5, r->minor, pending, &n_pending);
      if (r->access != all)
        {
          emit (p, BPF_ALU64 | BPF_MOV | BPF_X, r0, r3, 0, 0);
          emit (p, BPF_ALU64 | BPF_AND | BPF_K, r0, 0, 0, (int32_t) (~r->access & all));
          emit_jne (p, r0, 0, pending, &n_pending);
        }
      emit (p, BPF_ALU64 | BPF_MOV | BPF_K, r0, 0, 0, 1);
      emit (p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      /* Each pending jump lands on the instruction after this block.  */
      for (size_t k = 0; k < n_pending && p->n <= sizeof (p->insn) / sizeof (p->insn[0]); k++)
        p->insn[pending[k]].off = (int16_t) (p->n - pending[k] - 1);
    }
  emit (p, BPF_ALU64 | BPF_MOV | BPF_K, r0, 0, 0, 0);
  emit (p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  if (p->n > sizeof (p->insn) / sizeof (p->insn[0]))
    return husk_error_set (err, 0, "device rules: %zu rules make too long a program", n_rules);
  return 0;
}

static int
sys_bpf (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof (*attr));
}

int
husk_devices_bpf_load (const struct husk_device_rule *rules, size_t n_rules,
                       struct husk_error **err)
{
  static struct prog p; /* 4 KiB of instructions: not on the stack.  */
  union bpf_attr attr;
  char log[4096];
  int fd;

  if (build_program (rules, n_rules, &p, err) < 0)
    return -1;
  memset (&attr, 0, sizeof (attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.expected_attach_type = BPF_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) p.insn;
  attr.insn_cnt = (uint32_t) p.n;
  attr.license = (uint64_t) (uintptr_t) "GPL";
  snprintf (attr.prog_name, sizeof (attr.prog_name), "husk_devices");
  fd = sys_bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  if (errno != EACCES && errno != EINVAL)
    return husk_error_set (err, errno, "load the device cgroup program (bpf)");
  /* The verifier refused it: load again to read why.  */
  log[0] = '\0';
  attr.log_level = 1;
  attr.log_buf = (uint64_t) (uintptr_t) log;
  attr.log_size = sizeof (log);
  fd = sys_bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  log[sizeof (log) - 1] = '\0';
  return husk_error_set (err, errno, "load the device cgroup program (bpf)%s%.300s",
                         *log ? ": " : "", log);
}

int
husk_devices_bpf_attach (int cgfd, int progfd, struct husk_error **err)
{
  union bpf_attr attr;

  memset (&attr, 0, sizeof (attr));
  attr.target_fd = (uint32_t) cgfd;
  attr.attach_bpf_fd = (uint32_t) progfd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &attr) < 0)
    return husk_error_set (err, errno, "attach the device cgroup program (bpf)");
  return 0;
}

/* ------------------------------------------------------------- cgroups  */

/* rmdir H/husk/NAME, waiting for processes that are still leaving it.  */
static void
remove_one (const struct hierarchy *h, const char *name)
{
  cleanup_free char *path = husk_strdup_printf ("%s/" PARENT "/%s", h->path, name);

  husk_cgroup_rmdir (path);
}

/* H/husk/NAME, new and empty: a directory descriptor.  */
static int
make_cgroup (const struct hierarchy *h, const char *name, struct husk_error **err)
{
  cleanup_close int rootfd = open (h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int parentfd = -1;
  int fd;

  if (rootfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", h->path);
  if (mkdirat (rootfd, PARENT, 0755) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s/" PARENT "\"", h->path);
  parentfd = openat (rootfd, PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (parentfd < 0)
    return husk_error_set (err, errno, "open \"%s/" PARENT "\"", h->path);
  /* Left by an earlier run (a killed monitor): its rules are not to be trusted to be ours.  */
  if (unlinkat (parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "remove the old cgroup \"%s/" PARENT "/%s\"", h->path, name);
  if (mkdirat (parentfd, name, 0755) < 0)
    return husk_error_set (err, errno, "create \"%s/" PARENT "/%s\"", h->path, name);
  fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s/" PARENT "/%s\"", h->path, name);
  return fd;
}

/* v1: deny everything, then allow each rule (devices.rst: "a" in devices.deny clears the
   list and makes the default deny).  */
static int
setup_v1 (int cgfd, const char *where, const struct husk_device_rule *rules, size_t n_rules,
          struct husk_error **err)
{
  if (write_cg (cgfd, "devices.deny", "a", where, err) < 0)
    return -1;
  for (size_t i = 0; i < n_rules; i++)
    {
      char line[64];
      husk_device_rule_format (&rules[i], line, sizeof (line));
      if (write_cg (cgfd, "devices.allow", line, where, err) < 0)
        return -1;
    }
  return 0;
}

static int
setup_v2 (int cgfd, const struct husk_device_rule *rules, size_t n_rules, struct husk_error **err)
{
  cleanup_close int progfd = husk_devices_bpf_load (rules, n_rules, err);

  if (progfd < 0)
    return -1;
  return husk_devices_bpf_attach (cgfd, progfd, err);
}

int
husk_devices_cgroup_apply (const char *name, const struct husk_device_rule *rules, size_t n_rules,
                           pid_t pid, struct husk_error **err)
{
  struct hierarchy h[2];
  int fds[2] = { -1, -1 };
  size_t n = hierarchies (h);
  bool have_v1 = n > 0 && !h[0].v2;
  char pidbuf[32];
  int r = -1;

  if (!name_valid (name))
    return husk_error_set (err, 0, "device cgroup: invalid name \"%s\"", name ? name : "");
  if (n == 0)
    return husk_error_set (err, 0,
                           "device cgroup: neither a cgroup v1 \"devices\" hierarchy "
                           "nor cgroup2 is mounted under " CGROUP_ROOT);
  snprintf (pidbuf, sizeof (pidbuf), "%d", (int) pid);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *where = husk_strdup_printf ("%s/" PARENT "/%s", h[i].path, name);
      cleanup_error struct husk_error *e = NULL;

      fds[i] = make_cgroup (&h[i], name, &e);
      if (fds[i] >= 0
          && (h[i].v2 ? setup_v2 (fds[i], rules, n_rules, &e)
                      : setup_v1 (fds[i], where, rules, n_rules, &e))
                 == 0
          && write_cg (fds[i], "cgroup.procs", pidbuf, where, &e) == 0)
        continue;
      /* cgroup2 beside a v1 devices hierarchy is a second lock on the same door: a kernel
         without CONFIG_CGROUP_BPF (or a parent cgroup's exclusive program) leaves v1 to
         enforce the rules alone.  Otherwise the container does not start.  */
      if (fds[i] >= 0)
        close (fds[i]);
      fds[i] = -1;
      remove_one (&h[i], name);
      if (h[i].v2 && have_v1)
        continue;
      *err = TAKE_PTR (e);
      husk_error_wrap (err, "device cgroup");
      goto out;
    }
  r = 0;

out:
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  if (r < 0)
    husk_devices_cgroup_remove (name);
  return r;
}

int
husk_devices_cgroup_join (const char *name, struct husk_error **err)
{
  struct hierarchy h[2];
  size_t n = hierarchies (h), joined = 0;
  char pidbuf[32];

  if (!name_valid (name))
    return husk_error_set (err, 0, "device cgroup: invalid name \"%s\"", name ? name : "");
  snprintf (pidbuf, sizeof (pidbuf), "%d", (int) getpid ());
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *where = husk_strdup_printf ("%s/" PARENT "/%s", h[i].path, name);
      cleanup_close int fd = open (where, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

      if (fd < 0)
        {
          if (errno == ENOENT)
            continue;
          return husk_error_set (err, errno, "device cgroup: open \"%s\"", where);
        }
      if (write_cg (fd, "cgroup.procs", pidbuf, where, err) < 0)
        return husk_error_wrap (err, "device cgroup");
      joined++;
    }
  if (joined == 0)
    return husk_error_set (err, 0,
                           "the container has no device cgroup (was it started by an "
                           "older husk?)");
  return 0;
}

void
husk_devices_cgroup_remove (const char *name)
{
  struct hierarchy h[2];
  size_t n;

  if (!name_valid (name))
    return;
  n = hierarchies (h);
  for (size_t i = 0; i < n; i++)
    remove_one (&h[i], name);
}
