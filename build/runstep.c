/* husk build's RUN steps: a container from the layers so far (engine/create.h), its mounts
   (secrets, caches, tmpfs, binds) and their stubs, its upper directory moved out as the
   layer.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build-internal.h"
#include "cleanup.h"
#include "container.h"
#include "copyin.h"
#include "create.h"
#include "expand.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "record.h"
#include "rundir.h"
#include "safepath.h"
#include "store.h"
#include "unpack.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

/* ---------------------------------------------------------------- RUN  */

/* ---------------------------------------------------------------- RUN --mount  */

/* One RUN --mount, as BuildKit's Dockerfile frontend reads it: comma-separated KEY=VALUE
   (a bare boolean key is true).  */
struct run_mount
{
  char *type, *target, *id, *source, *from, *size;
  bool readonly, required;
  bool ro_given; /* ro= or rw= was written (a bind's default is read-only).  */
  int mode;      /* -1: the type's default.  */
  long uid, gid;
};

static void
run_mount_clear (struct run_mount *m)
{
  free (m->type);
  free (m->target);
  free (m->id);
  free (m->source);
  free (m->from);
  free (m->size);
}

static bool
parse_bool (const char *v, bool *ret)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *ret = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *ret = false;
  else
    return false;
  return true;
}

static int
parse_mount (const char *spec, struct run_mount *m, struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (spec);
  char *save = NULL;

  memset (m, 0, sizeof *m);
  m->mode = -1;
  m->uid = m->gid = -1;
  for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
    {
      char *v = strchr (kv, '=');
      char **slot = NULL;
      bool flag;
      if (v)
        *v++ = '\0';
      if (strcmp (kv, "type") == 0)
        slot = &m->type;
      else if (strcmp (kv, "target") == 0 || strcmp (kv, "dst") == 0
               || strcmp (kv, "destination") == 0)
        slot = &m->target;
      else if (strcmp (kv, "id") == 0)
        slot = &m->id;
      else if (strcmp (kv, "source") == 0 || strcmp (kv, "src") == 0)
        slot = &m->source;
      else if (strcmp (kv, "from") == 0)
        slot = &m->from;
      else if (strcmp (kv, "size") == 0)
        slot = &m->size;
      else if (strcmp (kv, "ro") == 0 || strcmp (kv, "readonly") == 0)
        {
          if (!parse_bool (v, &m->readonly))
            return husk_error_set (err, 0, "--mount \"%s\": %s: not a boolean", spec, kv);
          m->ro_given = true;
        }
      else if (strcmp (kv, "rw") == 0 || strcmp (kv, "readwrite") == 0)
        {
          if (!parse_bool (v, &flag))
            return husk_error_set (err, 0, "--mount \"%s\": %s: not a boolean", spec, kv);
          m->readonly = !flag;
          m->ro_given = true;
        }
      else if (strcmp (kv, "required") == 0)
        {
          if (!parse_bool (v, &m->required))
            return husk_error_set (err, 0, "--mount \"%s\": required: not a boolean", spec);
        }
      else if (strcmp (kv, "mode") == 0)
        {
          if (v == NULL || bld_parse_chmod (v, &m->mode) < 0)
            return husk_error_set (err, 0, "--mount \"%s\": mode: not an octal mode", spec);
        }
      else if (strcmp (kv, "uid") == 0 || strcmp (kv, "gid") == 0)
        {
          uint64_t n;
          if (v == NULL || husk_parse_u64 (v, UINT32_MAX - 1, &n) < 0)
            return husk_error_set (err, 0, "--mount \"%s\": %s: not an id", spec, kv);
          *(kv[0] == 'u' ? &m->uid : &m->gid) = (long) n;
        }
      else if (strcmp (kv, "sharing") == 0)
        {
          if (v == NULL
              || (strcmp (v, "shared") != 0 && strcmp (v, "private") != 0
                  && strcmp (v, "locked") != 0))
            return husk_error_set (
                err, 0, "--mount \"%s\": sharing: expected shared, private or locked", spec);
        }
      else
        return husk_error_set (err, 0, "--mount \"%s\": unknown key \"%s\"", spec, kv);
      if (slot)
        {
          if (v == NULL)
            return husk_error_set (err, 0, "--mount \"%s\": %s needs a value", spec, kv);
          free (*slot);
          *slot = husk_xstrdup (v);
        }
    }
  if (m->type == NULL)
    m->type = husk_xstrdup ("bind");
  return 0;
}

char **
bld_run_mount_froms (const struct husk_df_instr *in)
{
  char **v = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; in->kind == HUSK_DF_RUN && i < in->n_flags; i++)
    {
      struct run_mount m;
      cleanup_error struct husk_error *e = NULL;
      if (strcmp (in->flags[i].name, "mount") != 0 || in->flags[i].value == NULL)
        continue;
      if (parse_mount (in->flags[i].value, &m, &e) < 0)
        continue; /* The step reports it.  */
      if (m.from)
        husk_strv_append (&v, m.from);
      run_mount_clear (&m);
    }
  return v;
}

/* The value of secret ID from --secret: allocated, or NULL when it was not given.  */
static int
secret_value (struct build *b, const char *id, char **ret, size_t *ret_len, struct husk_error **err)
{
  for (size_t i = 0; b->o->secrets && b->o->secrets[i]; i++)
    {
      cleanup_free char *copy = husk_xstrdup (b->o->secrets[i]);
      const char *sid = NULL, *src = NULL, *env = NULL;
      char *save = NULL;
      for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
        {
          char *v = strchr (kv, '=');
          if (v == NULL)
            return husk_error_set (err, 0, "--secret \"%s\": expected KEY=VALUE pairs",
                                   b->o->secrets[i]);
          *v++ = '\0';
          if (strcmp (kv, "id") == 0)
            sid = v;
          else if (strcmp (kv, "src") == 0 || strcmp (kv, "source") == 0)
            src = v;
          else if (strcmp (kv, "env") == 0)
            env = v;
          else if (strcmp (kv, "type") != 0)
            return husk_error_set (err, 0, "--secret \"%s\": unknown key \"%s\"", b->o->secrets[i],
                                   kv);
        }
      if (sid == NULL || strcmp (sid, id) != 0)
        continue;
      if (src)
        {
          if (husk_read_file_at (AT_FDCWD, src, BLD_SECRET_MAX, ret, ret_len, err) < 0)
            return husk_error_wrap (err, "--secret id=%s", id);
          return 0;
        }
      env = env ? env : sid;
      if (getenv (env) == NULL)
        return husk_error_set (err, 0, "--secret id=%s: the environment has no %s", id, env);
      *ret = husk_xstrdup (getenv (env));
      *ret_len = strlen (*ret);
      return 0;
    }
  *ret = NULL;
  return 0;
}

/* lstat of REL ("a/b") below the directory DIR, with no symlink followed on the way: DIR is
   an image's layer or a step's upper directory, whose symlinks may name anything on the host
   (a step can replace a directory above its mount point by one).  0, or -1 with errno.  */
static int
lstat_below (const char *dir, const char *rel, struct stat *st)
{
  cleanup_close int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = -1;

  if (dfd < 0)
    return -1;
  fd = husk_open_in_root (dfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, HUSK_RESOLVE_NO_SYMLINKS);
  if (fd < 0)
    {
      errno = -fd;
      return -1;
    }
  return fstat (fd, st);
}

/* Whether PATH (absolute) is in the image LOWERS (base first) makes: the topmost layer that
   has an entry for it decides, and a whiteout there means no.  (Opaque directories above it
   are not looked at: a mount stub kept by mistake is an empty file or directory.)  */
static bool
in_layers (char *const *lowers, const char *path)
{
  for (size_t i = husk_strv_len (lowers); i-- > 0;)
    {
      struct stat st;
      if (lstat_below (lowers[i], path + 1, &st) == 0)
        return !(S_ISCHR (st.st_mode) && st.st_rdev == 0);
    }
  return false;
}

/* The topmost entry LOWERS (base first) have for PATH (absolute): its lstat in *ST and, for a
   symlink, its target (allocated) in *RET_LINK.  False when none has one, or it is a
   whiteout.  */
static bool
layers_entry (char *const *lowers, const char *path, struct stat *st, char **ret_link)
{
  *ret_link = NULL;
  for (size_t i = husk_strv_len (lowers); i-- > 0;)
    {
      cleanup_close int dfd = open (lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
      cleanup_close int fd = -1;
      if (dfd < 0)
        continue;
      fd = husk_open_in_root (dfd, path + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
                              HUSK_RESOLVE_NO_SYMLINKS);
      if (fd < 0 || fstat (fd, st) < 0)
        continue;
      if (S_ISCHR (st->st_mode) && st->st_rdev == 0)
        return false;
      if (S_ISLNK (st->st_mode))
        {
          char buf[PATH_MAX];
          ssize_t n = readlinkat (fd, "", buf, sizeof buf - 1);
          if (n < 0)
            return false;
          buf[n] = '\0';
          *ret_link = husk_xstrdup (buf);
        }
      return true;
    }
  return false;
}

/* TARGET (absolute, cleaned) as the container's mount resolves it: through the symlinks the
   image LOWERS has on its way, the last one's too, inside the root (at most 40), so that the
   stubs name the directories the mount point really needs.  */
static char *
resolve_in_layers (char *const *lowers, const char *target)
{
  cleanup_free char *rest = husk_xstrdup (target);
  char *resolved = husk_xstrdup ("");
  int links = 0;

  for (;;)
    {
      char *p = rest, *slash, *c;
      cleanup_free char *cand = NULL, *link = NULL;
      struct stat st;
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      c = p;
      slash = strchr (p, '/');
      if (slash)
        *slash = '\0';
      p = slash ? slash + 1 : p + strlen (p);
      if (strcmp (c, ".") == 0)
        ;
      else if (strcmp (c, "..") == 0)
        *(strrchr (resolved, '/') ? strrchr (resolved, '/') : resolved) = '\0';
      else
        {
          cand = husk_strdup_printf ("%s/%s", resolved, c);
          if (links < 40 && layers_entry (lowers, cand, &st, &link) && link)
            {
              char *next = husk_strdup_printf ("%s/%s", link, p);
              links++;
              if (link[0] == '/')
                resolved[0] = '\0';
              free (rest);
              rest = next;
              continue;
            }
          free (resolved);
          resolved = TAKE_PTR (cand);
        }
      memmove (rest, p, strlen (p) + 1);
    }
  if (resolved[0] == '\0')
    {
      free (resolved);
      resolved = husk_xstrdup ("/");
    }
  return resolved;
}

/* The directory above REL (relative to DIRFD) with no symlink on the way, and REL's last
   component in *RET_NAME.  Returns the fd or -errno.  */
static int
open_parent_below (int dirfd, const char *rel, const char **ret_name)
{
  const char *slash = strrchr (rel, '/');
  cleanup_free char *parent = NULL;

  if (slash)
    {
      parent = husk_xmalloc ((size_t) (slash - rel) + 1);
      memcpy (parent, rel, (size_t) (slash - rel));
      parent[slash - rel] = '\0';
    }
  *ret_name = slash ? slash + 1 : rel;
  return husk_open_in_root (dirfd, parent ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                            HUSK_RESOLVE_NO_SYMLINKS);
}

void
bld_clear_stubs (const struct write_job *j)
{
  cleanup_close int upfd = openat (husk_store_rootfd (j->b->s), j->dir,
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (upfd < 0)
    return;
  for (size_t i = 0; j->stubs && j->stubs[i]; i++)
    {
      const char *name;
      cleanup_close int pfd = open_parent_below (upfd, j->stubs[i], &name);
      struct stat st;
      if (pfd < 0 || fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        unlinkat (pfd, name, AT_REMOVEDIR); /* Only when empty.  */
      else if (S_ISREG (st.st_mode) && st.st_size == 0)
        unlinkat (pfd, name, 0);
    }
  for (size_t i = 0; j->copied_up && j->copied_up[i]; i++)
    {
      const char *name;
      cleanup_close int pfd = open_parent_below (upfd, j->copied_up[i], &name);
      cleanup_close int fd
          = pfd < 0 ? -1 : openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      struct stat up, low = { 0 };
      char v;
      bool found = false;
      if (fd < 0 || fgetxattr (fd, "trusted.overlay.opaque", &v, 1) >= 0
          || fgetxattr (fd, "user.overlay.opaque", &v, 1) >= 0 || fstat (fd, &up) < 0)
        break;
      for (size_t k = husk_strv_len (j->lowers); k-- > 0 && !found;)
        found = lstat_below (j->lowers[k], j->copied_up[i], &low) == 0;
      if (!found || up.st_mode != low.st_mode || up.st_uid != low.st_uid || up.st_gid != low.st_gid)
        break; /* The step changed it: it stays in the layer.  */
      if (unlinkat (pfd, name, AT_REMOVEDIR) < 0)
        break; /* Not empty: the step changed something in it.  */
    }
}

/* Whether the container id ID is in the ranges R (N of them).  */
static bool
id_in_ranges (const struct husk_idrange *r, size_t n, long id)
{
  for (size_t i = 0; i < n; i++)
    if ((uint64_t) id >= r[i].container && (uint64_t) id - r[i].container < r[i].size)
      return true;
  return false;
}

/* A secret's uid= and gid= must name ids the build's containers have: rootless, those of the
   store's id map (only 0 without a subordinate range).  */
static int
check_ids_mapped (struct build *b, const char *spec, const struct run_mount *m,
                  struct husk_error **err)
{
  const struct husk_idmap *map = b->o->map;

  if (map == NULL)
    return 0;
  if (m->uid > 0 && !id_in_ranges (map->uids, map->n_uids, m->uid))
    return husk_error_set (err, 0,
                           "--mount \"%s\": uid %ld is not mapped in the build's user namespace "
                           "(ids other than 0 need a subordinate range in /etc/subuid and "
                           "/etc/subgid)",
                           spec, m->uid);
  if (m->gid > 0 && !id_in_ranges (map->gids, map->n_gids, m->gid))
    return husk_error_set (err, 0,
                           "--mount \"%s\": gid %ld is not mapped in the build's user namespace "
                           "(ids other than 0 need a subordinate range in /etc/subuid and "
                           "/etc/subgid)",
                           spec, m->gid);
  return 0;
}

struct secret_owner
{
  const char *file;
  uid_t uid;
  gid_t gid;
};

/* As root of the store's user namespace (or as real root): the ids are the container's.  */
static int
chown_secret (void *arg, struct husk_error **err)
{
  const struct secret_owner *o = arg;

  if (fchownat (AT_FDCWD, o->file, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_set (err, errno, "secret file: chown to %u:%u", (unsigned) o->uid,
                           (unsigned) o->gid);
  return 0;
}

/* The files of the secrets SPECS mount, into SECRETDIR (named by the mount's index, as
   prepare_mounts gave them to the container).  */
static int
write_secrets (struct stage_exec *x, char **specs, const char *secretdir, struct husk_error **err)
{
  for (size_t i = 0; specs[i]; i++)
    {
      struct run_mount m;
      cleanup_free char *value = NULL, *file = NULL;
      size_t len = 0;
      int r = 0;

      if (parse_mount (specs[i], &m, err) < 0)
        return -1;
      if (strcmp (m.type, "secret") == 0)
        {
          if (m.id == NULL)
            m.id = husk_xstrdup (strrchr (m.target, '/') ? strrchr (m.target, '/') + 1 : m.target);
          r = secret_value (x->b, m.id, &value, &len, err);
          if (r == 0 && value)
            {
              file = husk_strdup_printf ("%s/%zu", secretdir, i);
              r = husk_write_file_replace_at (AT_FDCWD, file, value, len,
                                              m.mode >= 0 ? (mode_t) m.mode : 0400, err);
              explicit_bzero (value, len);
              if (r == 0 && (m.uid > 0 || m.gid > 0))
                {
                  struct secret_owner o = {
                    .file = file,
                    .uid = m.uid > 0 ? (uid_t) m.uid : 0,
                    .gid = m.gid > 0 ? (gid_t) m.gid : 0,
                  };
                  r = husk_userns_run (x->b->o->map, chown_secret, &o, err);
                  if (r < 0)
                    husk_error_wrap (err, "secret \"%s\"", m.id);
                }
            }
        }
      run_mount_clear (&m);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* A RUN --mount=type=bind.  What it shows is a copy, made once the step's container exists
   (bind_copy) in that container's directory, which goes with it: from the context, the files
   .dockerignore leaves in it, as they were hashed for the key; from a stage or an image, its
   files with their owners.  A write to a rw mount lands in the copy, never in the context or
   the stage, and the copy is never part of the layer (the mount point is a stub).  The source
   is selected inside its root as COPY's are (context.h): ".." stops at the root and a symlink
   resolves as if the root were "/", so nothing outside it is ever read, and the copy is made
   before the step runs, so nothing the step does can swap a path under it (the class of
   BuildKit's CVE-2024-23651, a race on a mount's source path).  */
struct run_bind
{
  size_t mount;                  /* Its index in the container's mounts.  */
  char *source;                  /* Relative to its root, cleaned: "." for all of it.  */
  char *from;                    /* The stage or image as written; NULL: the context.  */
  char **from_layers;            /* From a stage or an image: its layers' chain IDs.  */
  struct husk_ctx_selection sel; /* From the context: what is copied.  */
};

static void
run_binds_free (struct run_bind *binds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (binds[i].source);
      free (binds[i].from);
      husk_strv_free (binds[i].from_layers);
      husk_ctx_selection_clear (&binds[i].sel);
    }
  free (binds);
}

/* The bind mount M (SPEC as written) into *RB, and its part of the key into TEXT.  */
static int
prepare_bind (struct stage_exec *x, const char *spec, const struct run_mount *m, const char *target,
              struct run_bind *rb, char **text, struct husk_error **err)
{
  cleanup_free char *clean = NULL, *id = NULL;

  if (m->source && strpbrk (m->source, "*?[") != NULL)
    return husk_error_set (
        err, 0, "--mount \"%s\": source: a pattern is not supported (it names one path)", spec);
  /* BuildKit joins the source to its root: "../../etc" is the root's etc.  */
  clean = husk_path_clean (m->source ? m->source : "/", true);
  rb->source = husk_xstrdup (clean[1] ? clean + 1 : ".");
  if (m->from)
    {
      rb->from = husk_xstrdup (m->from);
      if (bld_resolve_from (x, m->from, &rb->from_layers, &id, err) < 0)
        return husk_error_wrap (err, "--mount \"%s\"", spec);
    }
  else
    {
      char *srcs[] = { rb->source, NULL };
      if (husk_ctx_select (x->b->ctx, srcs, 1, &rb->sel, err) < 0)
        return husk_error_wrap (err, "--mount \"%s\"", spec);
    }
  bld_append (text, " bind:target=%s,source=%s,from=%s,ro=%d", target, rb->source,
              m->from ? id : rb->sel.hash, !m->ro_given || m->readonly);
  return 0;
}

/* The RUN's mounts: SPECS (--mount values, expanded) into MOUNTS for the container, BINDS for
   bind_copy, STUBS for the layer write, and TEXT for the key.  A secret's file is written into
   SECRETDIR.  */
static int
prepare_mounts (struct stage_exec *x, char **specs, char *const *lowers, const char *secretdir,
                struct husk_mount **ret_mounts, size_t *ret_n, struct run_bind **ret_binds,
                size_t *ret_n_binds, char ***stubs, char ***copied_up, char **text,
                struct husk_error **err)
{
  struct build *b = x->b;
  struct husk_mount *mounts = husk_xcalloc (husk_strv_len (specs) + 1, sizeof *mounts);
  struct run_bind *binds = husk_xcalloc (husk_strv_len (specs) + 1, sizeof *binds);
  size_t n = 0, n_binds = 0;

  for (size_t i = 0; specs[i]; i++)
    {
      struct run_mount m;
      cleanup_free char *target = NULL;
      struct husk_mount *hm = &mounts[n];

      if (parse_mount (specs[i], &m, err) < 0)
        goto fail;
      if (strcmp (m.type, "secret") == 0)
        {
          cleanup_free char *value = NULL, *file = NULL;
          size_t len = 0;
          if (m.id == NULL && m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a secret needs id= or target=", specs[i]);
              goto fail_m;
            }
          if (m.id == NULL)
            m.id = husk_xstrdup (strrchr (m.target, '/') ? strrchr (m.target, '/') + 1 : m.target);
          target = m.target ? bld_abs_path (x->r->cfg.config.working_dir, m.target)
                            : husk_strdup_printf ("/run/secrets/%s", m.id);
          if (check_ids_mapped (b, specs[i], &m, err) < 0)
            goto fail_m;
          if (secret_value (b, m.id, &value, &len, err) < 0)
            goto fail_m;
          if (value == NULL)
            {
              if (m.required)
                {
                  husk_error_set (err, 0, "secret \"%s\": required, and no --secret gives it",
                                  m.id);
                  goto fail_m;
                }
              run_mount_clear (&m);
              continue; /* BuildKit's rule: an optional secret not given is not mounted.  */
            }
          file = husk_strdup_printf ("%s/%zu", secretdir, i); /* write_secrets writes it.  */
          explicit_bzero (value, len);
          hm->kind = HUSK_MOUNT_BIND;
          hm->source = TAKE_PTR (file);
          hm->readonly = true;
          bld_append (text, " secret:id=%s,target=%s", m.id, target);
          if (m.uid >= 0 || m.gid >= 0 || m.mode >= 0)
            bld_append (text, ",uid=%ld,gid=%ld,mode=%d", m.uid, m.gid, m.mode);
        }
      else if (strcmp (m.type, "cache") == 0)
        {
          char d[HUSK_DIGEST_LEN + 1];
          cleanup_free char *dir = NULL;
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a cache needs target=", specs[i]);
              goto fail_m;
            }
          if (m.from || m.source)
            {
              husk_error_set (err, 0, "--mount \"%s\": a cache from=: not supported yet", specs[i]);
              goto fail_m;
            }
          target = bld_abs_path (x->r->cfg.config.working_dir, m.target);
          if (m.id == NULL)
            m.id = husk_xstrdup (target);
          if ((m.uid > 0 || m.gid > 0) && b->o->map)
            {
              husk_error_set (err, 0,
                              "--mount \"%s\": a rootless cache's uid and gid: not "
                              "supported yet",
                              specs[i]);
              goto fail_m;
            }
          /* The cache's directory is the store's, named by a hash of its id: no path from the
             Dockerfile reaches the host (BuildKit's CVE-2024-23651 was a race on such a
             path).  */
          husk_sha256_buf (m.id, strlen (m.id), d);
          dir = husk_strdup_printf ("%s/build-cache/mounts/%s", husk_store_root (b->s),
                                    husk_digest_hex (d));
          {
            cleanup_free char *parent
                = husk_strdup_printf ("%s/build-cache/mounts", husk_store_root (b->s));
            cleanup_free char *top = husk_strdup_printf ("%s/build-cache", husk_store_root (b->s));
            mkdir (top, 0700);
            mkdir (parent, 0700);
          }
          if (mkdir (dir, m.mode >= 0 ? (mode_t) m.mode : 0755) == 0)
            {
              if (m.mode >= 0)
                chmod (dir, (mode_t) m.mode);
              if ((m.uid > 0 || m.gid > 0)
                  && chown (dir, m.uid > 0 ? (uid_t) m.uid : 0, m.gid > 0 ? (gid_t) m.gid : 0) < 0)
                {
                  husk_error_set (err, errno, "cache mount \"%s\"", target);
                  goto fail_m;
                }
            }
          else if (errno != EEXIST)
            {
              husk_error_set (err, errno, "cache mount \"%s\"", target);
              goto fail_m;
            }
          hm->kind = HUSK_MOUNT_BIND;
          hm->source = TAKE_PTR (dir);
          hm->readonly = m.readonly;
          bld_append (text, " cache:id=%s,target=%s,ro=%d", m.id, target, m.readonly);
        }
      else if (strcmp (m.type, "tmpfs") == 0)
        {
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a tmpfs needs target=", specs[i]);
              goto fail_m;
            }
          target = bld_abs_path (x->r->cfg.config.working_dir, m.target);
          hm->kind = HUSK_MOUNT_TMPFS;
          /* BuildKit mounts a RUN's tmpfs nosuid only: programs copied there run (the
             runtime keeps it nodev, as every writable mount of a container).  */
          hm->options
              = m.size ? husk_strdup_printf ("exec,size=%s", m.size) : husk_xstrdup ("exec");
          bld_append (text, " tmpfs:target=%s,size=%s", target, m.size ? m.size : "");
        }
      else if (strcmp (m.type, "bind") == 0)
        {
          if (m.target == NULL)
            {
              husk_error_set (err, 0, "--mount \"%s\": a bind needs target=", specs[i]);
              goto fail_m;
            }
          target = bld_abs_path (x->r->cfg.config.working_dir, m.target);
          binds[n_binds].mount = n;
          if (prepare_bind (x, specs[i], &m, target, &binds[n_binds++], text, err) < 0)
            goto fail_m;
          hm->kind = HUSK_MOUNT_BIND;
          hm->source = husk_xstrdup (""); /* The copy, once it is made (bind_copy).  */
          hm->readonly = !m.ro_given || m.readonly;
        }
      else
        {
          husk_error_set (
              err, 0, "--mount=type=%s: not supported (bind, secret, cache and tmpfs are)", m.type);
          goto fail_m;
        }
      hm->dest = husk_xstrdup (target);
      n++;
      /* The mount point and the directories above it that the image does not have are made
         for the run only.  */
      {
        cleanup_free char *p = resolve_in_layers (lowers, target);
        char *slash;
        bool made = true;
        while (strcmp (p, "/") != 0)
          {
            made = made && !in_layers (lowers, p);
            husk_strv_append (made ? stubs : copied_up, p + 1);
            slash = strrchr (p, '/');
            if (slash == p)
              break;
            *slash = '\0';
          }
      }
      run_mount_clear (&m);
      continue;
    fail_m:
      run_mount_clear (&m);
      goto fail;
    }
  *ret_mounts = mounts;
  *ret_n = n;
  *ret_binds = binds;
  *ret_n_binds = n_binds;
  return 0;
fail:
  run_binds_free (binds, n_binds);
  for (size_t k = 0; k < n; k++)
    {
      free ((char *) mounts[k].source);
      free ((char *) mounts[k].dest);
      free ((char *) mounts[k].options);
    }
  free (mounts);
  return -1;
}

struct bind_job
{
  const struct run_bind *rb;
  const char *from_root; /* Where the copy's child sees the stage's or image's root.  */
  const char *top;       /* The copy: what the container mounts.  */
};

/* Called by the copy's child, in its namespaces, once the files are in: the copy's top
   directory gets the source's mode (and from a stage or an image, its owner), as everything
   below it has its own.  */
static int
bind_fix_top (void *arg, struct husk_error **err)
{
  const struct bind_job *j = arg;
  struct stat st;

  if (j->rb->from == NULL)
    {
      const struct husk_ctx_entry *e = &j->rb->sel.entries[0];
      if (j->rb->sel.n_entries == 0 || e->path[e->rel] != '\0')
        return 0; /* .dockerignore left out the source itself, not all below it.  */
      st.st_mode = e->mode;
      st.st_uid = 0; /* As COPY's: the context's files are 0:0.  */
      st.st_gid = 0;
    }
  else
    {
      cleanup_close int rootfd = open (j->from_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
      cleanup_close int fd = -1;
      if (rootfd < 0)
        return husk_error_set (err, errno, "bind \"%s\": open its root", j->rb->source);
      fd = husk_open_in_root (rootfd, j->rb->source, O_PATH | O_CLOEXEC, 0, HUSK_RESOLVE_IN_ROOT);
      if (fd < 0)
        return husk_error_set (err, -fd, "bind \"%s\"", j->rb->source);
      if (fstat (fd, &st) < 0)
        return husk_error_set (err, errno, "bind \"%s\"", j->rb->source);
    }
  if (!S_ISDIR (st.st_mode))
    return 0; /* A file was copied with its own mode and owner.  */
  if (fchownat (AT_FDCWD, j->top, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0
      || fchmodat (AT_FDCWD, j->top, st.st_mode & 07777, 0) < 0)
    return husk_error_set (err, errno, "bind \"%s\": its top directory", j->rb->source);
  return 0;
}

/* The copy RB's mount shows, made in CTR's directory (bind-K/, which goes with the container,
   whoever owns the files in it), and CTR's mount pointed at it.  */
static int
bind_copy (struct build *b, struct husk_ctr *ctr, size_t k, const struct run_bind *rb,
           struct husk_error **err)
{
  cleanup_free char *dir
      = husk_strdup_printf ("%s/containers/%s/bind-%zu", husk_store_root (b->s), ctr->id, k);
  cleanup_free char *copy = husk_strdup_printf ("%s/copy", dir);
  cleanup_free char *work = husk_strdup_printf ("%s/work", dir);
  cleanup_free char *mnt = husk_strdup_printf ("%s/mnt", dir);
  cleanup_free char *fupper = husk_strdup_printf ("%s/from-upper", dir);
  cleanup_free char *fwork = husk_strdup_printf ("%s/from-work", dir);
  cleanup_free char *fmnt = husk_strdup_printf ("%s/from-mnt", dir);
  cleanup_free char *top = husk_strdup_printf ("%s/m", copy);
  cleanup_free char *label = rb->from ? husk_strdup_printf ("\"%s\" (from=)", rb->from) : NULL;
  cleanup_strv char **from_lowers = NULL;
  char *sources[] = { rb->source, NULL };
  struct husk_mount *hm = NULL;
  struct bind_job job = { .rb = rb, .top = top };

  /* The spec is the container's own (husk_ctr_load made it): its mount is pointed at the
     copy below, the one change a RUN makes to it.  */
  if (rb->mount < ctr->spec.n_mounts)
    hm = (struct husk_mount *) &ctr->spec.mounts[rb->mount];
  if (hm == NULL || hm->kind != HUSK_MOUNT_BIND || hm->source == NULL || *hm->source)
    return husk_error_set (err, 0, "bind \"%s\": the container's mounts are not the step's",
                           rb->source);
  if (mkdir (dir, 0700) < 0 || mkdir (copy, 0755) < 0 || mkdir (work, 0700) < 0
      || mkdir (mnt, 0700) < 0
      || (rb->from
          && (mkdir (fupper, 0755) < 0 || mkdir (fwork, 0700) < 0 || mkdir (fmnt, 0700) < 0)))
    return husk_error_set (err, errno, "build: the bind mount's directories");
  if (rb->from)
    {
      from_lowers = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; rb->from_layers[i]; i++)
        {
          cleanup_free char *d = husk_store_layer_dir (b->s, rb->from_layers[i], err);
          if (d == NULL)
            return -1;
          husk_strv_append (&from_lowers, d);
        }
      job.from_root = from_lowers[0] ? fmnt : fupper;
    }
  {
    struct husk_build_copy req = {
      .ctx = b->ctx,
      .sel = &rb->sel,
      .from_lowerdirs = from_lowers,
      .from_sources = sources,
      .from_upper = fupper,
      .from_work = fwork,
      .from_mountpoint = fmnt,
      .from_name = label,
      .n_written = 1,
      .upper = copy,
      .work = work,
      .mountpoint = mnt,
      .map = b->o->map,
      .dest = "/m", /* Without a trailing "/": a file source is the file "m".  */
      .chmod = -1,
      .after = bind_fix_top,
      .after_arg = &job,
    };
    if (husk_build_copy_run (&req, err) < 0)
      return husk_error_wrap (err, "--mount=type=bind,source=%s", rb->source);
  }
  /* The record keeps the mount as prepare_mounts left it; only this run's spec has the
     copy.  */
  free ((char *) hm->source);
  hm->source = TAKE_PTR (top);
  return 0;
}

int
bld_do_run (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err)
{
  struct build *b = x->b;
  const char *net = husk_df_flag (in, "network");
  enum husk_network network = b->o->network;
  cleanup_strv char **argv = NULL, **env = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *text = NULL, *created_by = NULL, *argv_json = NULL, *upper = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  struct husk_image_config icfg = { 0 };
  struct written_shared *ws = NULL;
  cleanup_error struct husk_error *after_err = NULL;
  char key[HUSK_DIGEST_LEN + 1];
  int status = 0, rc = -1;
  int saved_out = -1, saved_err = -1;
  cleanup_close int quiet_out = -1;

  cleanup_strv char **mount_specs = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **lowers = NULL, **stubs = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **copied_up = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *secretdir = NULL, *mount_text = husk_xstrdup ("");
  struct husk_mount *mounts = NULL;
  size_t n_mounts = 0, n_binds = 0;
  struct run_bind *binds = NULL;

  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp (in->flags[i].name, "mount") == 0)
      {
        cleanup_free char *v = NULL;
        if (in->flags[i].value == NULL || bld_expand_word (x, in->flags[i].value, &v, err) < 0)
          return in->flags[i].value ? -1 : husk_error_set (err, 0, "--mount needs a value");
        husk_strv_append (&mount_specs, v);
      }
  if (in->n_heredocs > 0 && in->exec_form)
    return husk_error_set (err, 0, "a heredoc in the exec form: not supported yet");
  /* BuildKit runs a whole-command heredoc that starts with "#!" as a script file, by its
     interpreter; SHELL -c would read it as shell.  */
  if (in->n_heredocs > 0 && in->n_args == 1 && husk_df_source_heredoc (in, in->args[0]) != NULL
      && husk_str_has_prefix (in->heredocs[0].content, "#!"))
    return husk_error_set (err, 0,
                           "a heredoc script with its own interpreter (#!): not "
                           "supported yet");
  if (net)
    {
      if (strcmp (net, "none") == 0 || strcmp (net, "default") == 0)
        network = HUSK_NETWORK_NONE;
      else if (strcmp (net, "host") == 0)
        network = HUSK_NETWORK_HOST;
      else
        return husk_error_set (err, 0, "--network \"%s\": expected none, host or default", net);
    }
  if (in->n_heredocs > 0)
    {
      char *const *shell = x->r->cfg.config.shell && x->r->cfg.config.shell[0]
                               ? x->r->cfg.config.shell
                               : bld_default_shell;
      argv = husk_xcalloc (1, sizeof (char *));
      for (size_t i = 0; shell[i]; i++)
        husk_strv_append (&argv, shell[i]);
      if (in->n_args == 1 && husk_df_source_heredoc (in, in->args[0]) != NULL)
        /* RUN <<EOF ... EOF: the heredoc is the script SHELL runs.  */
        husk_strv_append (&argv, in->heredocs[0].content);
      else
        {
          /* Heredocs within a command line (RUN cat <<EOF >/f): as BuildKit does, the line
             and then each heredoc as written, with its delimiter, go to SHELL, which reads
             the heredocs itself (and expands them unless the delimiter is quoted).  */
          cleanup_free char *script = husk_xstrdup (in->args[0]);
          for (size_t i = 0; i < in->n_heredocs; i++)
            bld_append (&script, "\n%s%s", in->heredocs[i].raw, in->heredocs[i].name);
          husk_strv_append (&argv, script);
        }
    }
  else
    argv = bld_command_of (x, in);
  /* The build arguments in scope with a value are the command's environment, unless ENV
     set the same name; they are part of the key, never of the history.  */
  for (size_t i = 0; x->args && x->args[i]; i++)
    if (strchr (x->args[i], '=') != NULL)
      {
        size_t k = strcspn (x->args[i], "=");
        cleanup_free char *name = husk_xmalloc (k + 1);
        memcpy (name, x->args[i], k);
        name[k] = '\0';
        if (!husk_env_has (x->r->cfg.config.env, name))
          husk_strv_append (&env, x->args[i]);
      }
  argv_json = bld_json_strv (argv);
  if (mount_specs[0])
    {
      /* The secrets' files live in the run directory (a tmpfs where systemd makes
         XDG_RUNTIME_DIR, /run for root) for this step only.  */
      cleanup_free char *rundir = NULL;
      if (x->r->n_layers == 0)
        return husk_error_set (err, 0, "a stage FROM scratch has nothing to run yet");
      if (husk_rundir (&rundir, err) < 0)
        return -1;
      secretdir = husk_strdup_printf ("%s/build-secrets-XXXXXX", rundir);
      if (mkdtemp (secretdir) == NULL)
        {
          husk_error_set (err, errno, "build: a directory for the secrets");
          free (TAKE_PTR (secretdir));
          return -1;
        }
      lowers = bld_lowerdirs (b, x->r, err);
      if (lowers == NULL
          || prepare_mounts (x, mount_specs, lowers, secretdir, &mounts, &n_mounts, &binds,
                             &n_binds, &stubs, &copied_up, &mount_text, err)
                 < 0)
        {
          husk_rm_rf_at (AT_FDCWD, secretdir, NULL);
          return -1;
        }
    }
  {
    cleanup_free char *env_json = bld_json_strv (env);
    text = husk_strdup_printf ("RUN %s env=%s network=%d mounts=%s", argv_json, env_json,
                               (int) network, mount_text);
  }
  /* The history shows the flags as written (--mount=..., as buildah keeps them; a secret's
     value is never in them) and the command as it runs, shell and all (as docker's does),
     never the build arguments' values.  */
  created_by = husk_xstrdup ("RUN");
  for (size_t i = 0; i < in->n_flags; i++)
    bld_append (&created_by, " --%s%s%s", in->flags[i].name, in->flags[i].value ? "=" : "",
                in->flags[i].value ? in->flags[i].value : "");
  if (in->exec_form)
    bld_append (&created_by, " %s", argv_json);
  else
    for (size_t i = 0; argv[i]; i++)
      bld_append (&created_by, " %s", argv[i]);
  bld_build_key (x->r->key, text, key);
  x->ex.text = text;
  x->ex.env = env;
  if (bld_step_cached (x, key, created_by))
    {
      rc = 0;
      goto out;
    }
  if (x->r->n_layers == 0)
    {
      husk_error_set (err, 0, "a stage FROM scratch has nothing to run yet");
      goto out;
    }

  {
    cleanup_strv char **layers = husk_xcalloc (1, sizeof (char *));
    struct husk_create_opts co = {
      .image = "husk-build",
      .args = argv,
      .entrypoint = "",
      .env = env,
      .network = network,
      .mounts = mounts,
      .n_mounts = n_mounts,
      .durable = false,
    };
    for (size_t i = 0; i < x->r->n_layers; i++)
      husk_strv_append (&layers, x->r->layers[i].chain_id);
    icfg.env = x->r->cfg.config.env;
    icfg.workdir = x->r->cfg.config.working_dir;
    icfg.user = x->r->cfg.config.user;
    /* The secrets' files are written only now, after a re-execution could have happened
       (that would have left them behind).  */
    if (secretdir)
      rmdir (secretdir); /* Empty yet: nothing is left behind by a re-execution.  */
    if (bld_before_run (b, err) < 0)
      goto out;
    if (secretdir && (mkdir (secretdir, 0700) < 0 && errno != EEXIST))
      {
        husk_error_set (err, errno, "build: a directory for the secrets");
        goto out;
      }
    if (secretdir && write_secrets (x, mount_specs, secretdir, err) < 0)
      goto out;
    if (husk_create_from_layers (b->s, &co, x->r->image_id ? x->r->image_id : "", layers, &icfg,
                                 &ctr, err)
        < 0)
      goto out;
    for (size_t i = 0; i < n_binds; i++)
      if (bind_copy (b, ctr, i, &binds[i], err) < 0)
        {
          husk_ctr_remove (b->s, ctr, NULL);
          goto out;
        }
  }
  ws = bld_shared_new ();
  if (ws == NULL)
    {
      husk_error_set (err, errno, "build: mmap");
      husk_ctr_remove (b->s, ctr, NULL);
      goto out;
    }
  upper = husk_strdup_printf ("containers/%s/upper", ctr->id);
  struct husk_ctr_rm rm = { .store = b->s, .id = ctr->id, .name = ctr->name };
  struct write_job job = {
    .b = b,
    .dir = upper,
    .parent_chain = x->r->layers[x->r->n_layers - 1].chain_id,
    .out = ws,
    .rm = &rm,
    .stubs = stubs,
    .copied_up = copied_up,
    .lowers = lowers,
  };
  ctr->spec.after_fn = bld_write_layer;
  ctr->spec.after_arg = &job;
  ctr->spec.after_err = &after_err;
  if (b->o->progress == NULL)
    {
      /* -q: the step's output is kept aside, and shown only when it fails.  */
      quiet_out = bld_quiet_output_open (b);
      saved_out = dup (STDOUT_FILENO);
      saved_err = dup (STDERR_FILENO);
      if (quiet_out >= 0)
        {
          dup2 (quiet_out, STDOUT_FILENO);
          dup2 (quiet_out, STDERR_FILENO);
        }
    }
  else
    fflush (b->o->progress);
  /* A Ctrl-C cancels the step: the container is killed, not sent the signal (interrupt.c).  */
  ctr->spec.kill_on_interrupt = true;
  rc = bld_interrupt_check (err);
  if (rc == 0)
    rc = husk_container_run (&ctr->spec, NULL, NULL, &status, err);
  if (saved_out >= 0)
    {
      dup2 (saved_out, STDOUT_FILENO);
      close (saved_out);
    }
  if (saved_err >= 0)
    {
      dup2 (saved_err, STDERR_FILENO);
      close (saved_err);
    }
  husk_ctr_remove_rundir (ctr);
  if (rc < 0 || status != 0)
    bld_quiet_output_show (quiet_out);
  if (rc < 0)
    {
      husk_ctr_remove (b->s, ctr, NULL);
      goto out;
    }
  rc = -1;
  if (status != 0)
    {
      /* Its layer was published by then: it stays, unused, for image prune to take.  */
      husk_error_set (err, 0, "%s: exited with status %d%s", argv_json, status,
                      b->o->map && !husk_idmap_has_range (b->o->map)
                          ? " (without a subordinate id range in /etc/subuid and /etc/subgid, "
                            "uid and gid 0 are the only ids in the build's containers)"
                          : "");
      goto out;
    }
  if (after_err)
    {
      husk_error_set (err, 0, "the step's layer: %s", after_err->msg);
      goto out;
    }
  if (bld_step_done (x, key, ws, created_by, err) < 0)
    goto out;
  rc = 0;
out:
  if (ws)
    munmap (ws, sizeof *ws);
  if (secretdir)
    husk_rm_rf_at (AT_FDCWD, secretdir, NULL);
  for (size_t i = 0; i < n_mounts; i++)
    {
      free ((char *) mounts[i].source);
      free ((char *) mounts[i].dest);
      free ((char *) mounts[i].options);
    }
  free (mounts);
  run_binds_free (binds, n_binds);
  return rc;
}
