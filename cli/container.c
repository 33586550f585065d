/* husk container SUBCOMMAND, and husk container inspect.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "json.h"
#include "net.h"
#include "networks.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static void
gen_str (husk_jgen *g, const char *key, const char *v)
{
  husk_jgen_key (g, key);
  if (v)
    husk_jgen_string (g, v);
  else
    husk_jgen_null (g);
}

static void
gen_strv (husk_jgen *g, const char *key, char *const *v)
{
  husk_jgen_key (g, key);
  husk_jgen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_jgen_string (g, v[i]);
  husk_jgen_array_close (g);
}

/* docker's port map: {"80/tcp": [{"HostIp": IP, "HostPort": "8080"}, ...], ...}, the keys in
   the order of their first mapping.  EMPTY_IP: what a port on every address shows ("" in
   HostConfig.PortBindings as asked, "0.0.0.0" in NetworkSettings.Ports as bound).  */
static void
gen_ports (husk_jgen *g, const char *key, const struct husk_port *ports, size_t n,
           const char *empty_ip, bool bound)
{
  husk_jgen_key (g, key);
  husk_jgen_map_open (g);
  for (size_t i = 0; i < n; i++)
    {
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++)
        seen = ports[j].ctr_port == ports[i].ctr_port
               && strcmp (ports[j].proto, ports[i].proto) == 0;
      if (seen)
        continue;
      {
        cleanup_free char *k = husk_strdup_printf ("%d/%s", ports[i].ctr_port, ports[i].proto);
        husk_jgen_key (g, k);
      }
      husk_jgen_array_open (g);
      for (size_t j = i; j < n; j++)
        if (ports[j].ctr_port == ports[i].ctr_port && strcmp (ports[j].proto, ports[i].proto) == 0)
          {
            char hp[16] = "";
            if (ports[j].host_port && ports[j].host_port_end && !bound)
              snprintf (hp, sizeof (hp), "%d-%d", ports[j].host_port, ports[j].host_port_end);
            else if (ports[j].host_port)
              snprintf (hp, sizeof (hp), "%d", ports[j].host_port);
            husk_jgen_map_open (g);
            gen_str (g, "HostIp", ports[j].host_ip ? ports[j].host_ip : empty_ip);
            gen_str (g, "HostPort", hp);
            husk_jgen_map_close (g);
            /* Bound on every address: pasta listens on both families, docker lists both.  */
            if (bound && ports[j].host_ip == NULL)
              {
                husk_jgen_map_open (g);
                gen_str (g, "HostIp", "::");
                gen_str (g, "HostPort", hp);
                husk_jgen_map_close (g);
              }
          }
      husk_jgen_array_close (g);
    }
  husk_jgen_map_close (g);
}

/* NetworkSettings' part for a container on user networks: docker's Networks, by network name:
   NetworkID, IPAddress, IPPrefixLen, Gateway, Aliases.  */
static void
gen_networks (husk_jgen *g, struct husk_store *s, const struct husk_ctr *c)
{
  size_t n_nets = 1 + husk_strv_len (c->extra_networks);

  husk_jgen_key (g, "Networks");
  husk_jgen_map_open (g);
  for (size_t k = 0; k < n_nets; k++)
    {
      const char *name = k == 0 ? c->network_value : c->extra_networks[k - 1];
      cleanup_error struct husk_error *lerr = NULL;
      cleanup_network struct husk_network_rec *n = NULL;
      const struct husk_network_endpoint *e = NULL;
      uint32_t addr;
      int prefix = 0;
      if (husk_network_load (s, name, &n, &lerr) < 0)
        continue;
      for (size_t i = 0; i < n->n_containers && !e; i++)
        if (strcmp (n->containers[i].container_id, c->id) == 0)
          e = &n->containers[i];
      if (e == NULL)
        continue;
      husk_ipv4_cidr_parse (n->subnet, &addr, &prefix);
      husk_jgen_key (g, n->name);
      husk_jgen_map_open (g);
      gen_str (g, "NetworkID", n->id);
      gen_str (g, "IPAddress", e->ipv4);
      husk_jgen_key (g, "IPPrefixLen");
      husk_jgen_int (g, prefix);
      gen_str (g, "Gateway", n->gateway);
      husk_jgen_key (g, "Aliases");
      husk_jgen_array_open (g);
      for (size_t j = 0; e->aliases && e->aliases[j]; j++)
        husk_jgen_string (g, e->aliases[j]);
      husk_jgen_array_close (g);
      husk_jgen_map_close (g);
    }
  husk_jgen_map_close (g);
}

void
husk_cli_container_json (struct husk_store *s, const struct husk_ctr *c, husk_jgen *g)
{
  const struct husk_container_spec *sp = &c->spec;
  cleanup_free char *dir = husk_ctr_dir (s, c);
  cleanup_free char *log = husk_ctr_log_path (s, c);

  husk_jgen_map_open (g);
  gen_str (g, "Id", c->id);
  gen_str (g, "Name", c->name);
  gen_str (g, "Created", c->created);
  gen_str (g, "Path", sp->args ? sp->args[0] : NULL);
  husk_jgen_key (g, "Args");
  husk_jgen_array_open (g);
  for (size_t i = 1; sp->args && sp->args[0] && sp->args[i]; i++)
    husk_jgen_string (g, sp->args[i]);
  husk_jgen_array_close (g);
  husk_jgen_key (g, "State");
  husk_jgen_map_open (g);
  gen_str (g, "Status", husk_ctr_status_name (c->status));
  husk_jgen_key (g, "Running");
  husk_jgen_bool (g, c->status == HUSK_CTR_RUNNING);
  husk_jgen_key (g, "Pid");
  husk_jgen_int (g, c->status == HUSK_CTR_RUNNING ? c->pid : 0);
  husk_jgen_key (g, "MonitorPid");
  husk_jgen_int (g, c->status == HUSK_CTR_RUNNING ? c->monitor_pid : 0);
  husk_jgen_key (g, "ExitCode");
  husk_jgen_int (g, c->exit_code);
  gen_str (g, "Error", c->error ? c->error : "");
  gen_str (g, "StartedAt", c->started_at);
  gen_str (g, "FinishedAt", c->finished_at);
  husk_jgen_map_close (g);
  gen_str (g, "Image", c->image);
  gen_str (g, "ImageName", c->image_name);
  gen_str (g, "LogPath", log);
  husk_jgen_key (g, "AutoRemove");
  husk_jgen_bool (g, c->auto_remove);
  husk_jgen_key (g, "Config");
  husk_jgen_map_open (g);
  gen_str (g, "Hostname", sp->hostname);
  gen_str (g, "User", sp->user ? sp->user : "");
  gen_strv (g, "Env", sp->env);
  gen_strv (g, "Cmd", sp->args);
  gen_str (g, "WorkingDir", sp->cwd);
  husk_jgen_key (g, "ExposedPorts");
  if (c->exposed && c->exposed[0])
    {
      husk_jgen_map_open (g);
      for (size_t i = 0; c->exposed[i]; i++)
        {
          husk_jgen_key (g, c->exposed[i]);
          husk_jgen_map_open (g);
          husk_jgen_map_close (g);
        }
      husk_jgen_map_close (g);
    }
  else
    husk_jgen_null (g);
  husk_jgen_key (g, "Tty");
  husk_jgen_bool (g, sp->tty);
  husk_jgen_key (g, "OpenStdin");
  husk_jgen_bool (g, sp->interactive);
  gen_str (g, "StopSignal", c->stop_signal ? c->stop_signal : "SIGTERM");
  husk_jgen_map_close (g);
  husk_jgen_key (g, "HostConfig");
  husk_jgen_map_open (g);
  {
    cleanup_free char *mode = husk_net_mode_name (c);
    gen_str (g, "NetworkMode", mode);
  }
  {
    /* -P's ports are not bindings in docker's inspect: PublishAllPorts says it.  */
    struct husk_port *given = husk_xcalloc (c->n_ports + 1, sizeof (*given));
    size_t n_given = 0;
    bool all = false;
    for (size_t i = 0; i < c->n_ports; i++)
      {
        if (c->ports[i].all)
          all = true;
        else
          given[n_given++] = c->ports[i];
      }
    gen_ports (g, "PortBindings", given, n_given, "", false);
    free (given);
    husk_jgen_key (g, "PublishAllPorts");
    husk_jgen_bool (g, all);
  }
  gen_strv (g, "Dns", c->dns);
  gen_strv (g, "DnsSearch", c->dns_search);
  gen_strv (g, "DnsOptions", c->dns_options);
  gen_strv (g, "ExtraHosts", c->extra_hosts);
  husk_jgen_key (g, "Privileged");
  husk_jgen_bool (g, c->privileged);
  husk_jgen_key (g, "ReadonlyRootfs");
  husk_jgen_bool (g, sp->readonly_rootfs);
  husk_jgen_key (g, "Init");
  husk_jgen_bool (g, sp->init);
  husk_jgen_key (g, "NoNewPrivileges");
  husk_jgen_bool (g, sp->no_new_privs);
  gen_str (g, "Seccomp",
           sp->seccomp == HUSK_SECCOMP_UNCONFINED ? "unconfined"
           : sp->seccomp == HUSK_SECCOMP_PROFILE  ? "profile"
                                                  : "default");
  husk_jgen_map_close (g);
  husk_jgen_key (g, "NetworkSettings");
  husk_jgen_map_open (g);
  {
    struct husk_port *running = NULL;
    size_t n_running = 0;
    husk_net_ports_running (c, &running, &n_running);
    gen_ports (g, "Ports", running, n_running, "0.0.0.0", true);
    husk_ports_free (running, n_running);
  }
  {
    cleanup_free char *sandbox = c->status == HUSK_CTR_RUNNING && c->network != HUSK_NETWORK_HOST
                                     ? husk_strdup_printf ("/proc/%d/ns/net", (int) c->pid)
                                     : husk_xstrdup ("");
    gen_str (g, "SandboxKey", sandbox);
  }
  if (c->network == HUSK_NETWORK_BRIDGE)
    gen_networks (g, s, c);
  husk_jgen_map_close (g);
  {
    static const char *const files[][2] = { { "HostsPath", "hosts" },
                                            { "ResolvConfPath", "resolv.conf" },
                                            { "HostnamePath", "hostname" } };
    for (size_t i = 0; i < 3; i++)
      {
        cleanup_free char *path = husk_strdup_printf ("%s/%s", dir, files[i][1]);
        gen_str (g, files[i][0], path);
      }
  }
  husk_jgen_key (g, "Mounts");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < sp->n_mounts; i++)
    {
      const struct husk_mount *m = &sp->mounts[i];
      husk_jgen_map_open (g);
      gen_str (g, "Type", m->kind == HUSK_MOUNT_TMPFS ? "tmpfs" : "bind");
      gen_str (g, "Source", m->source ? m->source : "");
      gen_str (g, "Destination", m->dest);
      husk_jgen_key (g, "RW");
      husk_jgen_bool (g, !m->readonly);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  husk_jgen_key (g, "GraphDriver");
  husk_jgen_map_open (g);
  gen_str (g, "Name", "overlay");
  husk_jgen_key (g, "Data");
  husk_jgen_map_open (g);
  {
    cleanup_free char *lower = husk_xstrdup ("");
    for (size_t i = 0; sp->lowerdirs && sp->lowerdirs[i]; i++)
      {
        char *n = husk_strdup_printf ("%s%s%s", sp->lowerdirs[i], *lower ? ":" : "", lower);
        free (lower);
        lower = n;
      }
    gen_str (g, "LowerDir", lower);
  }
  gen_str (g, "UpperDir", sp->upperdir);
  gen_str (g, "WorkDir", sp->workdir);
  gen_str (g, "MergedDir", sp->rootfs);
  husk_jgen_map_close (g);
  husk_jgen_map_close (g);
  gen_str (g, "Dir", dir);
  husk_jgen_map_close (g);
}

static const struct husk_cli_option inspect_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command inspect_command = {
  "container inspect", "CONTAINER...", "Show containers as JSON.",
  inspect_options,     NULL,           { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_container_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_jgen husk_jgen *gen = husk_jgen_new (true);
  const char *buf;
  size_t len;
  int first;

  if ((first = husk_cli_parse (&inspect_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  husk_jgen_array_open (gen);
  for (int i = first; i < argc; i++)
    {
      cleanup_ctr struct husk_ctr *ctr = NULL;
      if (husk_ctr_load (store, argv[i], &ctr, err) < 0)
        return -1;
      husk_cli_container_json (store, ctr, gen);
    }
  husk_jgen_array_close (gen);
  buf = husk_jgen_buf (gen, &len);
  fwrite (buf, 1, len, stdout);
  if (len == 0 || buf[len - 1] != '\n')
    putchar ('\n');
  return 0;
}

static const struct husk_cli_subcommand subcommands[] = {
  { "ls", husk_cmd_ps, "list containers (husk ps)" },
  { "ps", husk_cmd_ps, "list containers (husk ps)" },
  { "create", husk_cmd_create, "create a container (husk create)" },
  { "run", husk_cmd_run, "run a command in a new container (husk run)" },
  { "start", husk_cmd_start, "start containers (husk start)" },
  { "stop", husk_cmd_stop, "stop containers (husk stop)" },
  { "restart", husk_cmd_restart, "restart containers (husk restart)" },
  { "kill", husk_cmd_kill, "signal containers (husk kill)" },
  { "wait", husk_cmd_wait, "wait for containers to stop (husk wait)" },
  { "attach", husk_cmd_attach, "attach to a container (husk attach)" },
  { "logs", husk_cmd_logs, "print a container's output (husk logs)" },
  { "rm", husk_cmd_rm, "remove containers (husk rm)" },
  { "prune", husk_cmd_container_prune, "remove every container that is not running" },
  { "rename", husk_cmd_rename, "rename a container (husk rename)" },
  { "port", husk_cmd_port, "list a container's published ports (husk port)" },
  { "inspect", husk_cmd_container_inspect, "show containers as JSON" },
  { "diff", husk_cmd_diff, "list a container's changed files (husk diff)" },
  { "cp", husk_cmd_cp, "copy files between a container and the host (husk cp)" },
  { "top", husk_cmd_top, "show a container's processes (husk top)" },
  { "commit", husk_cmd_commit, "make a container's changes an image (husk commit)" },
  { "export", husk_cmd_export, "write a container's filesystem as a tar archive (husk export)" },
};

static const struct husk_cli_group container_group = {
  "container",
  "Manage containers.",
  subcommands,
  sizeof (subcommands) / sizeof (subcommands[0]),
};

int
husk_cmd_container (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  return husk_cli_group_run (&container_group, g, argc, argv, err);
}
