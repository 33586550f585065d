#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "caps.h"
#include "container.h"
#include "defaults.h"
#include "image.h"
#include "json.h"
#include "monitor.h"
#include "names.h"
#include "proc.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "signame.h"
#include "timestamp.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (8 * 1024 * 1024)
static const char *cmd = "run"; /* Or "create": for messages.  */

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void
run_usage (bool create)
{
  if (create)
    printf ("Usage: husk create [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
            "Create a container and print its ID; \"husk start\" runs it.\n\n"
            "Options:\n");
  else
    printf ("Usage: husk run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
            "Run a command in a new container and exit with its status.\n\n"
            "Options:\n"
            "  -d, --detach                 run in the background and print the container's ID\n");
  printf ("      --rm                     remove the container when it exits\n"
          "      --name NAME              name the container\n"
          "  -e, --env NAME[=VALUE]       set an environment variable (NAME alone: the caller's)\n"
          "      --env-file FILE          read environment variables from FILE\n"
          "  -w, --workdir DIR            working directory inside the container\n"
          "  -u, --user USER[:GROUP]      user name or id, group name or id\n"
          "      --entrypoint CMD         replace the image's Entrypoint (and clear its Cmd)\n"
          "  -h, --hostname NAME          container host name\n"
          "      --read-only              mount the container's root filesystem read-only\n"
          "  -v, --volume HOST:CTR[:ro]   bind mount a host path\n"
          "      --tmpfs PATH[:OPTS]      mount a tmpfs\n"
          "      --cap-add CAP            add a capability (ALL for every one)\n"
          "      --cap-drop CAP           drop a capability (ALL for every one)\n"
          "      --security-opt OPT       seccomp=unconfined|PROFILE.json, no-new-privileges\n"
          "      --privileged             every capability, no seccomp, no masked paths\n"
          "      --init                   run husk's init as pid 1\n"
          "      --network none|host      network namespace (default none)\n"
          "      --ulimit NAME=SOFT[:HARD] set a resource limit\n"
          "  -i, --interactive            keep stdin open\n"
          "  -t, --tty                    allocate a pseudo-terminal\n"
          "      --help                   show this help\n");
}

static int
parse_volume (const char *arg, struct husk_mount *m, struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (arg);
  char *ctr = strchr (copy, ':'), *mode = NULL;
  struct stat st;

  if (ctr == NULL)
    return husk_cli_usage_error (err, cmd, "volume \"%s\": expected HOST:CONTAINER[:ro]", arg);
  *ctr++ = '\0';
  mode = strchr (ctr, ':');
  if (mode)
    *mode++ = '\0';
  if (copy[0] != '/')
    return husk_cli_usage_error (err, cmd,
                                 "volume \"%s\": the host path must be absolute (named volumes "
                                 "are not supported)", arg);
  if (ctr[0] != '/' || strcmp (ctr, "/") == 0)
    return husk_cli_usage_error (err, cmd,
                                 "volume \"%s\": the container path must be absolute and not /",
                                 arg);
  if (mode && strcmp (mode, "ro") != 0 && strcmp (mode, "rw") != 0)
    return husk_cli_usage_error (err, cmd, "volume \"%s\": unknown mode \"%s\" (ro or rw)", arg,
                                 mode);
  if (stat (copy, &st) < 0)
    return husk_error_set (err, errno, "volume \"%s\": \"%s\"", arg, copy);
  m->kind = HUSK_MOUNT_BIND;
  m->source = husk_xstrdup (copy);
  m->dest = husk_xstrdup (ctr);
  m->readonly = mode && strcmp (mode, "ro") == 0;
  return 0;
}

static int
parse_tmpfs (const char *arg, struct husk_mount *m, struct husk_error **err)
{
  const char *colon = strchr (arg, ':');
  size_t n = colon ? (size_t) (colon - arg) : strlen (arg);

  if (arg[0] != '/' || n == 1)
    return husk_cli_usage_error (err, cmd, "tmpfs \"%s\": the path must be absolute and not /",
                                 arg);
  m->kind = HUSK_MOUNT_TMPFS;
  m->dest = husk_strdup_printf ("%.*s", (int) n, arg);
  m->options = colon ? husk_xstrdup (colon + 1) : NULL;
  return 0;
}

static const struct
{
  const char *name;
  int resource;
} ulimit_names[] = {
  { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },           { "data", RLIMIT_DATA },
  { "fsize", RLIMIT_FSIZE },       { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },         { "nofile", RLIMIT_NOFILE },
  { "nproc", RLIMIT_NPROC },       { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },       { "as", RLIMIT_AS },
};

static int
parse_limit_value (const char *s, uint64_t *ret)
{
  if (strcmp (s, "-1") == 0 || strcmp (s, "unlimited") == 0)
    {
      *ret = RLIM_INFINITY;
      return 0;
    }
  return husk_parse_u64 (s, UINT64_MAX - 1, ret);
}

static int
parse_ulimit (const char *arg, struct husk_rlimit *rl, struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (arg);
  char *eq = strchr (copy, '='), *colon;
  bool found = false;

  if (eq == NULL)
    return husk_cli_usage_error (err, cmd, "ulimit \"%s\": expected NAME=SOFT[:HARD]", arg);
  *eq++ = '\0';
  for (size_t i = 0; i < sizeof (ulimit_names) / sizeof (ulimit_names[0]); i++)
    if (strcmp (copy, ulimit_names[i].name) == 0)
      {
        rl->resource = ulimit_names[i].resource;
        found = true;
      }
  if (!found)
    return husk_cli_usage_error (err, cmd, "ulimit \"%s\": unknown limit \"%s\"", arg, copy);
  colon = strchr (eq, ':');
  if (colon)
    *colon++ = '\0';
  if (parse_limit_value (eq, &rl->soft) < 0 || (colon && parse_limit_value (colon, &rl->hard) < 0))
    return husk_cli_usage_error (err, cmd, "ulimit \"%s\": not a number", arg);
  if (!colon)
    rl->hard = rl->soft;
  if (rl->soft > rl->hard)
    return husk_cli_usage_error (err, cmd, "ulimit \"%s\": soft limit above the hard limit",
                                 arg);
  return 0;
}

static int
parse_security_opt (const char *arg, struct husk_security_opts *sec, char **ret_profile,
                    struct husk_error **err)
{
  if (strcmp (arg, "no-new-privileges") == 0 || strcmp (arg, "no-new-privileges:true") == 0
      || strcmp (arg, "no-new-privileges=true") == 0)
    sec->no_new_privs = true;
  else if (strcmp (arg, "no-new-privileges:false") == 0
           || strcmp (arg, "no-new-privileges=false") == 0)
    sec->no_new_privs = false;
  else if (strcmp (arg, "seccomp=unconfined") == 0 || strcmp (arg, "seccomp:unconfined") == 0)
    sec->seccomp_unconfined = true;
  else if (husk_str_has_prefix (arg, "seccomp=") || husk_str_has_prefix (arg, "seccomp:"))
    {
      size_t len;
      free (*ret_profile);
      *ret_profile = NULL;
      if (husk_read_file_at (AT_FDCWD, arg + 8, 4 << 20, ret_profile, &len, err) < 0)
        return husk_error_wrap (err, "seccomp profile \"%s\"", arg + 8);
      sec->seccomp_unconfined = false;
      sec->seccomp_profile = *ret_profile;
    }
  else
    return husk_cli_usage_error (err, cmd,
                                 "security option \"%s\": unknown (seccomp=unconfined, "
                                 "seccomp=PROFILE.json or no-new-privileges)", arg);
  return 0;
}

static void
mounts_clear (struct husk_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free ((char *) m[i].source);
      free ((char *) m[i].dest);
      free ((char *) m[i].options);
    }
  free (m);
}


/* Runs in the user namespace: the upper layer holds files of every mapped id.  */
static int
do_remove (void *arg, struct husk_error **err)
{
  struct husk_ctr_rm *job = arg;
  return husk_ctr_remove_files (job, err);
}

enum
{
  OPT_RM = 256,
  OPT_NAME,
  OPT_ENV_FILE,
  OPT_ENTRYPOINT,
  OPT_READ_ONLY,
  OPT_TMPFS,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_SECURITY_OPT,
  OPT_PRIVILEGED,
  OPT_INIT,
  OPT_NETWORK,
  OPT_ULIMIT,
  OPT_HELP,
};

/* Parse run's or create's options, then write the container's record (config.json) and its
   directories.  *RET_ARGI is the index of the image argument.  Returns 1 after --help.  */
static int
create_container (struct husk_global *g, int argc, char **argv, bool *ret_detach,
                  struct husk_store **ret_store, struct husk_ctr **ret_ctr,
                  struct husk_error **err)
{
  static const struct option opts[] = { { "rm", no_argument, NULL, OPT_RM },
                                        { "detach", no_argument, NULL, 'd' },
                                        { "name", required_argument, NULL, OPT_NAME },
                                        { "env", required_argument, NULL, 'e' },
                                        { "env-file", required_argument, NULL, OPT_ENV_FILE },
                                        { "workdir", required_argument, NULL, 'w' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
                                        { "hostname", required_argument, NULL, 'h' },
                                        { "read-only", no_argument, NULL, OPT_READ_ONLY },
                                        { "volume", required_argument, NULL, 'v' },
                                        { "tmpfs", required_argument, NULL, OPT_TMPFS },
                                        { "cap-add", required_argument, NULL, OPT_CAP_ADD },
                                        { "cap-drop", required_argument, NULL, OPT_CAP_DROP },
                                        { "security-opt", required_argument, NULL,
                                          OPT_SECURITY_OPT },
                                        { "privileged", no_argument, NULL, OPT_PRIVILEGED },
                                        { "init", no_argument, NULL, OPT_INIT },
                                        { "network", required_argument, NULL, OPT_NETWORK },
                                        { "net", required_argument, NULL, OPT_NETWORK },
                                        { "ulimit", required_argument, NULL, OPT_ULIMIT },
                                        { "interactive", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "help", no_argument, NULL, OPT_HELP },
                                        { NULL, 0, NULL, 0 } };
  bool create = strcmp (cmd, "create") == 0;
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *config_buf = NULL;
  cleanup_free char *cdir = NULL, *name = NULL;
  cleanup_free char *hostname = NULL;
  cleanup_free char *hostenv = NULL, *profile = NULL;
  cleanup_free struct husk_rlimit *rlimits = NULL;
  cleanup_strv char **args = NULL;
  cleanup_strv char **env = NULL;
  cleanup_strv char **user_env = NULL; /* -e and --env-file, in order.  */
  struct husk_mount *mounts = NULL;
  size_t n_mounts = 0, n_rlimits = 0;
  struct husk_image_list list = { 0 };
  struct husk_image_config cfg = { 0 };
  const struct husk_image *img;
  struct husk_container_spec spec;
  struct husk_security_opts sec = { 0 };
  struct husk_ctr rec;
  const char *name_opt = NULL, *workdir = NULL, *user = NULL, *entrypoint = NULL;
  const char *hostname_opt = NULL;
  uint64_t mask;
  bool has_entrypoint = false, rm = false, locked = false, made_dir = false;
  char id[HUSK_DIGEST_HEX_LEN + 1];
  char created[64];
  size_t config_len;
  int c, r = -1;

  memset (&spec, 0, sizeof (spec));
  memset (&rec, 0, sizeof (rec));
  *ret_detach = false;
  user_env = husk_xcalloc (1, sizeof (char *));
  optind = 1;
  while ((c = husk_cli_getopt (cmd, argc, argv, create ? "+e:w:u:h:v:it" : "+de:w:u:h:v:it",
                               opts, err))
         != -1)
    switch (c)
      {
      case OPT_RM:
        rm = true;
        break;
      case 'd':
        if (create)
          {
            husk_cli_usage_error (err, cmd, "unknown flag \"%s\"", argv[optind - 1]);
            goto fail;
          }
        *ret_detach = true;
        break;
      case OPT_NAME:
        if (!husk_ctr_name_valid (optarg))
          {
            husk_cli_usage_error (err, cmd,
                                  "name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                  optarg);
            goto fail;
          }
        name_opt = optarg;
        break;
      case 'e':
        if (husk_cli_env_add_arg (&user_env, cmd, optarg, "env", err) < 0)
          goto fail;
        break;
      case OPT_ENV_FILE:
        if (husk_cli_env_add_file (&user_env, cmd, optarg, err) < 0)
          goto fail;
        break;
      case 'w':
        if (optarg[0] != '/')
          {
            husk_cli_usage_error (err, cmd, "workdir \"%s\": must be an absolute path", optarg);
            goto fail;
          }
        workdir = optarg;
        break;
      case 'u':
        if (optarg[0] == '\0' || optarg[0] == ':' || husk_str_has_suffix (optarg, ":"))
          {
            husk_cli_usage_error (err, cmd, "user \"%s\": expected USER[:GROUP]", optarg);
            goto fail;
          }
        user = optarg;
        break;
      case OPT_ENTRYPOINT:
        entrypoint = optarg;
        has_entrypoint = true;
        break;
      case 'h':
        if (optarg[0] == '\0' || strlen (optarg) > 64)
          {
            husk_cli_usage_error (err, cmd, "hostname \"%s\": must be 1 to 64 characters",
                                  optarg);
            goto fail;
          }
        hostname_opt = optarg;
        break;
      case OPT_READ_ONLY:
        spec.readonly_rootfs = true;
        break;
      case 'v':
      case OPT_TMPFS:
        mounts = husk_xrealloc (mounts, (n_mounts + 1) * sizeof (*mounts));
        memset (&mounts[n_mounts], 0, sizeof (*mounts));
        n_mounts++;
        if ((c == 'v' ? parse_volume (optarg, &mounts[n_mounts - 1], err)
                      : parse_tmpfs (optarg, &mounts[n_mounts - 1], err))
            < 0)
          goto fail;
        break;
      case OPT_CAP_ADD:
      case OPT_CAP_DROP:
        if (husk_caps_parse (optarg, &mask, err) < 0)
          {
            (*err)->status = HUSK_EXIT_USAGE;
            goto fail;
          }
        if (c == OPT_CAP_ADD)
          sec.cap_add |= mask;
        else
          sec.cap_drop |= mask;
        break;
      case OPT_SECURITY_OPT:
        if (parse_security_opt (optarg, &sec, &profile, err) < 0)
          goto fail;
        break;
      case OPT_PRIVILEGED:
        sec.privileged = true;
        break;
      case OPT_INIT:
        spec.init = true;
        break;
      case OPT_NETWORK:
        if (strcmp (optarg, "none") == 0)
          spec.network = HUSK_NETWORK_NONE;
        else if (strcmp (optarg, "host") == 0)
          spec.network = HUSK_NETWORK_HOST;
        else
          {
            husk_cli_usage_error (err, cmd, "network \"%s\": not supported (none or host)",
                                  optarg);
            goto fail;
          }
        break;
      case OPT_ULIMIT:
        rlimits = husk_xrealloc (rlimits, (n_rlimits + 1) * sizeof (*rlimits));
        if (parse_ulimit (optarg, &rlimits[n_rlimits], err) < 0)
          goto fail;
        n_rlimits++;
        break;
      case 'i':
        spec.interactive = true;
        break;
      case 't':
        spec.tty = true;
        break;
      case OPT_HELP:
        run_usage (create);
        r = 1;
        goto fail;
      default:
        goto fail;
      }
  if (optind >= argc)
    {
      husk_cli_usage_error (err, cmd, "expects an image");
      goto fail;
    }

  if (husk_cli_open_store (g, &store, err) < 0)
    goto fail;
  /* Shared: no image can be removed from the lookup until the record names it.  */
  if (husk_store_gc_lock (store, false, err) < 0)
    goto fail;
  locked = true;
  if (husk_images_load (store, &list, err) < 0)
    goto fail;
  img = husk_images_lookup (&list, argv[optind], err);
  if (img == NULL)
    goto fail;
  if (husk_store_read_blob (store, img->config, CONFIG_MAX, &config_buf, &config_len, err) < 0
      || husk_image_config_parse (config_buf, config_len, &cfg, err) < 0)
    {
      husk_error_wrap (err, "image \"%s\"", argv[optind]);
      goto fail;
    }
  /* Kept as the image gives it (docker inspect shows it so), but said now, not only when the
     container is stopped.  */
  if (cfg.stop_signal)
    {
      cleanup_error struct husk_error *serr = NULL;
      if (husk_signal_parse (cfg.stop_signal, &serr) < 0)
        fprintf (stderr, "husk: warning: image \"%s\": stop %s: husk stop will send SIGTERM\n",
                 argv[optind], serr->msg);
    }

  /* Docker's rule: arguments replace Cmd; Entrypoint stays in front; --entrypoint replaces
     Entrypoint and clears Cmd.  */
  args = husk_xcalloc (1, sizeof (char *));
  if (has_entrypoint)
    {
      if (*entrypoint)
        husk_strv_append (&args, entrypoint);
    }
  else
    for (size_t i = 0; cfg.entrypoint[i]; i++)
      husk_strv_append (&args, cfg.entrypoint[i]);
  if (optind + 1 < argc)
    for (int i = optind + 1; i < argc; i++)
      husk_strv_append (&args, argv[i]);
  else if (!has_entrypoint)
    for (size_t i = 0; cfg.cmd[i]; i++)
      husk_strv_append (&args, cfg.cmd[i]);
  if (args[0] == NULL || *args[0] == '\0')
    {
      husk_error_set (err, 0, "image \"%s\": no command to run: it has no Entrypoint or Cmd "
                              "and none was given", argv[optind]);
      goto fail;
    }

  for (size_t i = 0; img->layers[i]; i++)
    if (!husk_store_has_layer (store, img->layers[i]))
      {
        husk_error_set (err, 0, "image \"%s\": layer %s is missing from the store", argv[optind],
                        img->layers[i]);
        goto fail;
      }
  if (img->layers[0] == NULL)
    {
      husk_error_set (err, 0, "image \"%s\": has no layers", argv[optind]);
      goto fail;
    }

  if (husk_random_hex (id, HUSK_DIGEST_HEX_LEN, err) < 0)
    goto fail;
  hostname = hostname_opt ? husk_xstrdup (hostname_opt) : husk_strdup_printf ("%.12s", id);
  env = husk_xcalloc (1, sizeof (char *));
  if (!husk_env_has (cfg.env, "PATH"))
    husk_strv_append (&env, DEFAULT_PATH);
  hostenv = husk_strdup_printf ("HOSTNAME=%s", hostname);
  husk_strv_append (&env, hostenv);
  for (size_t i = 0; cfg.env[i]; i++)
    husk_cli_env_set (&env, cfg.env[i]);
  for (size_t i = 0; user_env[i]; i++)
    husk_cli_env_set (&env, user_env[i]);
  /* HOME, when neither the image nor -e sets it, comes from the user's passwd entry.  */

  if (name_opt)
    {
      if (husk_ctr_name_claim (store, name_opt, id, err) < 0)
        goto fail;
      name = husk_xstrdup (name_opt);
    }
  else if (husk_ctr_name_generate (store, id, &name, err) < 0)
    goto fail;

  cdir = husk_strdup_printf ("containers/%s", id);
  if (mkdirat (store->rootfd, "containers", 0700) < 0 && errno != EEXIST)
    {
      husk_error_set (err, errno, "create \"containers\" in the store");
      goto fail_name;
    }
  if (mkdirat (store->rootfd, cdir, 0700) < 0)
    {
      husk_error_set (err, errno, "container %.12s: create its directory", id);
      goto fail_name;
    }
  made_dir = true;
  {
    cleanup_close int dfd = openat (store->rootfd, cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    mode_t root_mode = 0755;

    /* The container's "/" takes its mode from the upper directory: give it the image's.  */
    for (size_t i = 0; img->layers[i]; i++)
      {
        cleanup_free char *rel = husk_store_layer_relpath (img->layers[i]);
        if (img->layers[i + 1] == NULL && fstatat (store->rootfd, rel, &st, 0) == 0)
          root_mode = st.st_mode & 07777;
      }
    if (dfd < 0 || mkdirat (dfd, "upper", root_mode) < 0 || mkdirat (dfd, "work", 0700) < 0
        || mkdirat (dfd, "rootfs", 0700) < 0 || fchmodat (dfd, "upper", root_mode, 0) < 0)
      {
        husk_error_set (err, errno, "container %.12s: create its directories", id);
        goto fail_name;
      }
  }

  spec.args = args;
  spec.env = env;
  spec.cwd = workdir ? workdir : cfg.workdir && *cfg.workdir ? cfg.workdir : "/";
  spec.hostname = hostname;
  spec.user = user ? user : cfg.user;
  spec.mounts = mounts;
  spec.n_mounts = n_mounts;
  spec.rlimits = rlimits;
  spec.n_rlimits = n_rlimits;
  husk_defaults_apply (&spec, &sec);

  husk_now_rfc3339 (created, sizeof (created));
  memcpy (rec.id, id, sizeof (rec.id));
  rec.name = name;
  rec.image = (char *) img->id;
  rec.image_name = argv[optind];
  rec.created = created;
  rec.auto_remove = rm;
  rec.privileged = sec.privileged;
  rec.stop_signal = cfg.stop_signal;
  rec.layers = img->layers;
  rec.spec = spec;
  if (husk_ctr_save_config (store, &rec, !(rm && !*ret_detach), err) < 0)
    goto fail_name;
  husk_store_gc_unlock (store);
  locked = false;

  if (husk_ctr_load (store, id, ret_ctr, err) < 0)
    goto fail_name;
  *ret_store = TAKE_PTR (store);
  r = 0;
  goto fail;

fail_name:
  husk_ctr_name_release (store, name, id);
  if (made_dir)
    {
      cleanup_error struct husk_error *e = NULL;
      struct husk_idmap mapbuf;
      const struct husk_idmap *map;
      struct husk_ctr_rm job = { .store = store, .id = id, .name = NULL };
      if (husk_cli_idmap (&mapbuf, &map, &e) == 0)
        husk_userns_run (map, do_remove, &job, &e);
    }
fail:
  if (locked)
    husk_store_gc_unlock (store);
  mounts_clear (mounts, n_mounts);
  husk_strv_free (spec.masked_paths);
  husk_strv_free (spec.readonly_paths);
  husk_images_clear (&list);
  husk_image_config_clear (&cfg);
  if (r < 0 && *err && (*err)->status == 0)
    (*err)->status = HUSK_EXIT_USAGE;
  return r;
}

int
husk_cmd_create (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  bool detach;
  int r;

  cmd = "create";
  r = create_container (g, argc, argv, &detach, &store, &ctr, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  printf ("%s\n", ctr->id);
  return 0;
}

struct foreground
{
  struct husk_store *store;
  struct husk_ctr *ctr;
};

/* The container runs: the foreground husk is its monitor, so ps, stop and kill see it.  */
static int
foreground_started (void *arg, pid_t pid)
{
  struct foreground *f = arg;
  struct husk_ctr *c = f->ctr;
  char now[64];

  husk_now_rfc3339 (now, sizeof (now));
  c->status = HUSK_CTR_RUNNING;
  c->pid = pid;
  c->pid_start = husk_proc_start_time (pid);
  c->monitor_pid = getpid ();
  c->monitor_start = husk_proc_start_time (getpid ());
  free (c->started_at);
  c->started_at = husk_xstrdup (now);
  if (husk_ctr_write_pidfile (c, NULL) == 0)
    husk_ctr_save_state (f->store, c, NULL);
  return 0;
}

int
husk_cmd_run (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_error struct husk_error *rmerr = NULL;
  struct husk_ctr_rm rm_job;
  struct foreground fg;
  bool detach;
  int r, status = 0;

  cmd = "run";
  r = create_container (g, argc, argv, &detach, &store, &ctr, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (detach)
    {
      if (husk_monitor_start (store, ctr, -1, err) < 0)
        {
          husk_ctr_remove (store, ctr, NULL);
          return -1;
        }
      printf ("%s\n", ctr->id);
      return 0;
    }

  rm_job.store = store;
  rm_job.id = ctr->id;
  rm_job.name = ctr->name;
  if (ctr->auto_remove)
    {
      /* Removed from inside the container's own user namespace once it exits: no second
         namespace and id map to set up.  */
      ctr->spec.after_fn = do_remove;
      ctr->spec.after_arg = &rm_job;
      ctr->spec.after_err = &rmerr;
    }
  fg.store = store;
  fg.ctr = ctr;
  r = husk_container_run (&ctr->spec, foreground_started, &fg, &status, err);
  if (r < 0)
    {
      husk_ctr_remove_rundir (ctr);
      husk_ctr_remove (store, ctr, NULL);
      return -1;
    }
  husk_ctr_remove_rundir (ctr);
  if (ctr->auto_remove)
    {
      if (rmerr)
        fprintf (stderr, "husk: warning: container %.12s: %s\n", ctr->id, rmerr->msg);
      return status;
    }
  {
    char now[64];
    husk_now_rfc3339 (now, sizeof (now));
    ctr->status = HUSK_CTR_EXITED;
    ctr->exit_code = status;
    free (ctr->finished_at);
    ctr->finished_at = husk_xstrdup (now);
    ctr->pid = ctr->monitor_pid = 0;
    husk_ctr_save_state (store, ctr, NULL);
  }
  return status;
}
