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
#include "create.h"
#include "defaults.h"
#include "monitor.h"
#include "names.h"
#include "net.h"
#include "networks.h"
#include "proc.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "signame.h"
#include "state.h"
#include "timestamp.h"
#include "util.h"
#include "banned.h"

static const char *cmd = "run"; /* Or "create": for messages.  */

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
                                 "are not supported)",
                                 arg);
  if (ctr[0] != '/' || strcmp (ctr, "/") == 0)
    return husk_cli_usage_error (
        err, cmd, "volume \"%s\": the container path must be absolute and not /", arg);
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
  { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
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
    return husk_cli_usage_error (err, cmd, "ulimit \"%s\": soft limit above the hard limit", arg);
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
                                 "seccomp=PROFILE.json or no-new-privileges)",
                                 arg);
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
  OPT_EXPOSE,
  OPT_DNS,
  OPT_DNS_SEARCH,
  OPT_DNS_OPTION,
  OPT_ADD_HOST,
  OPT_IP,
  OPT_NETWORK_ALIAS,
  OPT_HELP,
};

/* run's options; create has all but the first, -d.  */
static const struct husk_cli_option run_options[] = {
  { "detach", 'd', HUSK_CLI_ARG_NONE, NULL, "run in the background and print the container's ID" },
  { "rm", OPT_RM, HUSK_CLI_ARG_NONE, NULL, "remove the container when it exits" },
  { "name", OPT_NAME, HUSK_CLI_ARG_REQUIRED, "NAME", "name the container" },
  { "env", 'e', HUSK_CLI_ARG_REQUIRED, "NAME[=VALUE]",
    "set an environment variable (NAME alone: the caller's)" },
  { "env-file", OPT_ENV_FILE, HUSK_CLI_ARG_REQUIRED, "FILE",
    "read environment variables from FILE" },
  { "workdir", 'w', HUSK_CLI_ARG_REQUIRED, "DIR", "working directory inside the container" },
  { "user", 'u', HUSK_CLI_ARG_REQUIRED, "USER[:GROUP]", "user name or id, group name or id" },
  { "entrypoint", OPT_ENTRYPOINT, HUSK_CLI_ARG_REQUIRED, "CMD",
    "replace the image's Entrypoint (and clear its Cmd)" },
  { "hostname", 'h', HUSK_CLI_ARG_REQUIRED, "NAME", "container host name" },
  { "read-only", OPT_READ_ONLY, HUSK_CLI_ARG_NONE, NULL,
    "mount the container's root filesystem read-only" },
  { "volume", 'v', HUSK_CLI_ARG_REQUIRED, "HOST:CTR[:ro|rw]", "bind mount a host path" },
  { "tmpfs", OPT_TMPFS, HUSK_CLI_ARG_REQUIRED, "PATH[:OPTS]", "mount a tmpfs" },
  { "cap-add", OPT_CAP_ADD, HUSK_CLI_ARG_REQUIRED, "CAP", "add a capability (ALL for every one)" },
  { "cap-drop", OPT_CAP_DROP, HUSK_CLI_ARG_REQUIRED, "CAP",
    "drop a capability (ALL for every one)" },
  { "security-opt", OPT_SECURITY_OPT, HUSK_CLI_ARG_REQUIRED, "OPT",
    "seccomp=unconfined|PROFILE.json, no-new-privileges" },
  { "privileged", OPT_PRIVILEGED, HUSK_CLI_ARG_NONE, NULL,
    "every capability, no seccomp, no masked paths" },
  { "init", OPT_INIT, HUSK_CLI_ARG_NONE, NULL, "run husk's init as pid 1" },
  { "network", OPT_NETWORK, HUSK_CLI_ARG_REQUIRED, "MODE",
    "none, host, pasta[:OPTIONS], container:NAME, or a network's name (default none; pasta "
    "with -p or -P)" },
  { "net", OPT_NETWORK, HUSK_CLI_ARG_REQUIRED, "MODE", "the same as --network" },
  { "ip", OPT_IP, HUSK_CLI_ARG_REQUIRED, "IPV4", "the container's address on its network" },
  { "network-alias", OPT_NETWORK_ALIAS, HUSK_CLI_ARG_REQUIRED, "NAME",
    "another name the container has on its network" },
  { "publish", 'p', HUSK_CLI_ARG_REQUIRED, "[IP:][HOSTPORT:]PORT[/PROTO]",
    "publish a container's port (or range) on the host" },
  { "publish-all", 'P', HUSK_CLI_ARG_NONE, NULL, "publish every exposed port to a free host port" },
  { "expose", OPT_EXPOSE, HUSK_CLI_ARG_REQUIRED, "PORT[/PROTO]",
    "expose a port (or range) beside the image's, for -P" },
  { "dns", OPT_DNS, HUSK_CLI_ARG_REQUIRED, "IP", "a nameserver for /etc/resolv.conf" },
  { "dns-search", OPT_DNS_SEARCH, HUSK_CLI_ARG_REQUIRED, "DOMAIN",
    "a search domain for /etc/resolv.conf" },
  { "dns-option", OPT_DNS_OPTION, HUSK_CLI_ARG_REQUIRED, "OPTION",
    "an option for /etc/resolv.conf" },
  { "add-host", OPT_ADD_HOST, HUSK_CLI_ARG_REQUIRED, "HOST:IP",
    "add a line to /etc/hosts (IP host-gateway: the host)" },
  { "ulimit", OPT_ULIMIT, HUSK_CLI_ARG_REQUIRED, "NAME=SOFT[:HARD]", "set a resource limit" },
  { "interactive", 'i', HUSK_CLI_ARG_NONE, NULL, "keep stdin open" },
  { "tty", 't', HUSK_CLI_ARG_NONE, NULL, "allocate a pseudo-terminal" },
  { "help", OPT_HELP, HUSK_CLI_ARG_NONE, NULL, "show this help" },
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command run_command = {
  "run",
  "[OPTIONS] IMAGE [COMMAND [ARG...]]",
  "Run a command in a new container and exit with its status.",
  run_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects an image" },
};

static const struct husk_cli_command create_command = {
  "create",
  "[OPTIONS] IMAGE [COMMAND [ARG...]]",
  "Create a container and print its ID; \"husk start\" runs it.",
  run_options + 1,
  NULL,
  { 1, HUSK_CLI_ANY, "expects an image" },
};

static void
print_warning (void *arg, const char *msg)
{
  (void) arg;
  fprintf (stderr, "husk: warning: %s\n", msg);
}

/* Parse run's or create's options, then create the container (engine/create.h).  Returns 1
   after --help.  */
static int
create_container (struct husk_global *g, int argc, char **argv, bool *ret_detach,
                  struct husk_store **ret_store, struct husk_ctr **ret_ctr, struct husk_error **err)
{
  const struct husk_cli_command *table
      = strcmp (cmd, "create") == 0 ? &create_command : &run_command;
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *profile = NULL;
  cleanup_free struct husk_rlimit *rlimits = NULL;
  cleanup_strv char **user_env = NULL; /* -e and --env-file, in order.  */
  cleanup_strv char **expose = NULL, **dns = NULL, **dns_search = NULL, **dns_option = NULL,
                    **add_hosts = NULL, **aliases = NULL;
  cleanup_free char *net_value = NULL, *ip = NULL;
  struct husk_port *ports = NULL;
  size_t n_ports = 0;
  int net_mode = HUSK_NETWORK_NONE;
  bool net_given = false;
  struct husk_mount *mounts = NULL;
  size_t n_mounts = 0, n_rlimits = 0;
  struct husk_create_opts o = { .warn = print_warning };
  uint64_t mask;
  int c, first, r = -1;

  *ret_detach = false;
  user_env = husk_xcalloc (1, sizeof (char *));
  optind = 1;
  while ((c = husk_cli_next_option (table, argc, argv, err)) > 0)
    switch (c)
      {
      case OPT_RM:
        o.auto_remove = true;
        break;
      case 'd': /* Not in create's table.  */
        *ret_detach = true;
        break;
      case OPT_NAME:
        if (!husk_ctr_name_valid (optarg))
          {
            husk_cli_usage_error (
                err, cmd, "name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", optarg);
            goto fail;
          }
        o.name = optarg;
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
        o.workdir = optarg;
        break;
      case 'u':
        if (optarg[0] == '\0' || optarg[0] == ':' || husk_str_has_suffix (optarg, ":"))
          {
            husk_cli_usage_error (err, cmd, "user \"%s\": expected USER[:GROUP]", optarg);
            goto fail;
          }
        o.user = optarg;
        break;
      case OPT_ENTRYPOINT:
        o.entrypoint = optarg;
        break;
      case 'h':
        if (optarg[0] == '\0' || strlen (optarg) > 64)
          {
            husk_cli_usage_error (err, cmd, "hostname \"%s\": must be 1 to 64 characters", optarg);
            goto fail;
          }
        o.hostname = optarg;
        break;
      case OPT_READ_ONLY:
        o.readonly_rootfs = true;
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
          o.security.cap_add |= mask;
        else
          o.security.cap_drop |= mask;
        break;
      case OPT_SECURITY_OPT:
        if (parse_security_opt (optarg, &o.security, &profile, err) < 0)
          goto fail;
        break;
      case OPT_PRIVILEGED:
        o.security.privileged = true;
        break;
      case OPT_INIT:
        o.init = true;
        break;
      case OPT_NETWORK:
        free (net_value);
        net_value = NULL;
        if (husk_net_mode_parse (optarg, &net_mode, &net_value, err) < 0)
          goto fail;
        net_given = true;
        break;
      case 'p':
        if (husk_ports_parse ("publish", optarg, &ports, &n_ports, err) < 0)
          goto fail;
        break;
      case 'P':
        o.publish_all = true;
        break;
      case OPT_EXPOSE:
        {
          struct husk_port *check = NULL;
          size_t n_check = 0;
          int r2 = husk_ports_parse ("expose", optarg, &check, &n_check, err);
          husk_ports_free (check, n_check);
          if (r2 < 0 || strchr (optarg, ':'))
            {
              if (r2 == 0)
                husk_cli_usage_error (err, cmd, "expose \"%s\": expected PORT[/PROTO]", optarg);
              goto fail;
            }
          husk_strv_append (&expose, optarg);
        }
        break;
      case OPT_DNS:
        if (!husk_net_ip_valid (optarg))
          {
            husk_cli_usage_error (err, cmd, "dns \"%s\": not an IP address", optarg);
            goto fail;
          }
        husk_strv_append (&dns, optarg);
        break;
      case OPT_DNS_SEARCH:
      case OPT_DNS_OPTION:
        if (optarg[0] == '\0' || strpbrk (optarg, " \t\n"))
          {
            husk_cli_usage_error (err, cmd, "%s \"%s\": must be one word",
                                  c == OPT_DNS_SEARCH ? "dns-search" : "dns-option", optarg);
            goto fail;
          }
        husk_strv_append (c == OPT_DNS_SEARCH ? &dns_search : &dns_option, optarg);
        break;
      case OPT_IP:
        {
          uint32_t a;
          if (!husk_ipv4_parse (optarg, &a))
            {
              husk_cli_usage_error (err, cmd, "ip \"%s\": expected an IPv4 address", optarg);
              goto fail;
            }
          free (ip);
          ip = husk_xstrdup (optarg);
        }
        break;
      case OPT_NETWORK_ALIAS:
        if (!husk_ctr_name_valid (optarg))
          {
            husk_cli_usage_error (err, cmd,
                                  "network-alias \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                  "allowed",
                                  optarg);
            goto fail;
          }
        husk_strv_append (&aliases, optarg);
        break;
      case OPT_ADD_HOST:
        if (!husk_net_add_host_valid (optarg))
          {
            husk_cli_usage_error (err, cmd, "add-host \"%s\": expected HOST:IP", optarg);
            goto fail;
          }
        husk_strv_append (&add_hosts, optarg);
        break;
      case OPT_ULIMIT:
        rlimits = husk_xrealloc (rlimits, (n_rlimits + 1) * sizeof (*rlimits));
        if (parse_ulimit (optarg, &rlimits[n_rlimits], err) < 0)
          goto fail;
        n_rlimits++;
        break;
      case 'i':
        o.interactive = true;
        break;
      case 't':
        o.tty = true;
        break;
      }
  if ((first = husk_cli_operands (table, c, argc, err)) <= 0)
    {
      r = first == 0 ? 1 : -1;
      goto fail;
    }

  /* Publishing asks for a network that reaches the host: without --network, pasta (the
     default network is none, where docker's is a bridge and podman 5's pasta).  */
  if (!net_given && (n_ports || o.publish_all))
    net_mode = HUSK_NETWORK_PASTA;
  if (husk_ports_dedup (ports, &n_ports, err) < 0)
    goto fail;
  o.network = (enum husk_network) net_mode;
  o.network_value = net_value;
  if ((n_ports || o.publish_all) && net_mode == HUSK_NETWORK_HOST)
    {
      fprintf (stderr, "husk: warning: published ports are discarded with --network host\n");
      husk_ports_free (ports, n_ports);
      ports = NULL;
      n_ports = 0;
      o.publish_all = false;
    }
  else if ((n_ports || o.publish_all) && net_mode != HUSK_NETWORK_PASTA
           && net_mode != HUSK_NETWORK_BRIDGE)
    {
      husk_cli_usage_error (err, cmd,
                            "publish: ports need a network that reaches the host (--network "
                            "pasta or a network's name, or no --network)");
      goto fail;
    }
  if (net_mode == HUSK_NETWORK_CONTAINER
      && (o.hostname || dns || dns_search || dns_option || add_hosts))
    {
      husk_cli_usage_error (
          err, cmd,
          "--hostname, --dns, --dns-search, --dns-option and --add-host "
          "conflict with --network container:NAME (the other container's are used)");
      goto fail;
    }
  if ((ip || aliases) && net_mode != HUSK_NETWORK_BRIDGE)
    {
      husk_cli_usage_error (err, cmd,
                            "--ip and --network-alias need a user network (--network NAME)");
      goto fail;
    }
  o.ip = ip;
  o.aliases = aliases;
  o.ports = ports;
  o.n_ports = n_ports;
  o.expose = expose;
  o.dns = dns;
  o.dns_search = dns_search;
  o.dns_option = dns_option;
  o.add_hosts = add_hosts;
  o.image = argv[first];
  o.args = argv + first + 1;
  o.env = user_env;
  o.mounts = mounts;
  o.n_mounts = n_mounts;
  o.rlimits = rlimits;
  o.n_rlimits = n_rlimits;
  o.durable = !(o.auto_remove && !*ret_detach);
  if (husk_cli_open_store (g, &store, err) < 0 || husk_create (store, &o, ret_ctr, err) < 0)
    goto fail;
  *ret_store = TAKE_PTR (store);
  r = 0;

fail:
  mounts_clear (mounts, n_mounts);
  husk_ports_free (ports, n_ports);
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

  /* A container create just made: it is "created", so this cannot fail.  */
  husk_ctr_set_running (c, NULL, NULL);
  c->pid = pid;
  c->pid_start = husk_proc_start_time (pid);
  c->monitor_pid = getpid ();
  c->monitor_start = husk_proc_start_time (getpid ());
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
  r = husk_net_prepare (store, ctr, err);
  if (r == 0)
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
  husk_ctr_set_exited (ctr, status, NULL, NULL, NULL);
  ctr->pid = ctr->monitor_pid = 0;
  husk_ctr_save_state (store, ctr, NULL);
  return status;
}
