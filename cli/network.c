/* husk network SUBCOMMAND: user networks' records (engine/networks.h), as docker network and
   podman network manage them; connect and disconnect through engine/net.h.  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "json.h"
#include "names.h"
#include "net.h"
#include "networks.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* husk network create.  */

enum
{
  OPT_SUBNET = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_GATEWAY,
  OPT_INTERNAL,
  OPT_LABEL,
  OPT_NO_TRUNC,
  OPT_FORMAT,
  OPT_IP,
  OPT_ALIAS,
};

static const struct husk_cli_option create_options[] = {
  { "subnet", OPT_SUBNET, HUSK_CLI_ARG_REQUIRED, "CIDR",
    "the IPv4 subnet (default: the first free 10.89.N.0/24)" },
  { "gateway", OPT_GATEWAY, HUSK_CLI_ARG_REQUIRED, "IP",
    "the gateway's address (default: the subnet's first host)" },
  { "internal", OPT_INTERNAL, HUSK_CLI_ARG_NONE, NULL, "no route out of the network" },
  { "label", OPT_LABEL, HUSK_CLI_ARG_REQUIRED, "KEY=VALUE", "set a label (repeatable)" },
  { "driver", 'd', HUSK_CLI_ARG_REQUIRED, "DRIVER", "the driver: bridge (the only one)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command create_command = {
  "network create",
  "[OPTIONS] NETWORK",
  "Create a network and print its ID.",
  create_options,
  NULL,
  { 1, 1, "expects one network name" },
};

static int
cmd_create (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_network struct husk_network_rec *nw = NULL;
  cleanup_strv char **labels = NULL;
  struct husk_network_opts opts = { 0 };
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&create_command, argc, argv, err)) > 0)
    switch (c)
      {
      case OPT_SUBNET:
        opts.subnet = optarg;
        break;
      case OPT_GATEWAY:
        opts.gateway = optarg;
        break;
      case OPT_INTERNAL:
        opts.internal = true;
        break;
      case OPT_LABEL:
        {
          const char *eq = strchr (optarg, '=');
          cleanup_free char *key = eq ? husk_strdup_printf ("%.*s", (int) (eq - optarg), optarg)
                                      : husk_xstrdup (optarg);
          if (*key == '\0')
            return husk_cli_usage_error (err, "network create", "label \"%s\": no key", optarg);
          /* A later label of the same key wins.  */
          for (size_t i = 0; labels && labels[i]; i += 2)
            if (strcmp (labels[i], key) == 0)
              {
                free (labels[i + 1]);
                labels[i + 1] = husk_xstrdup (eq ? eq + 1 : "");
                goto next;
              }
          husk_strv_append (&labels, key);
          husk_strv_append (&labels, eq ? eq + 1 : "");
        next:
          break;
        }
      case 'd':
        if (strcmp (optarg, "bridge") != 0)
          return husk_cli_usage_error (err, "network create",
                                       "driver \"%s\": not supported (only bridge)", optarg);
        opts.driver = optarg;
        break;
      }
  if ((first = husk_cli_operands (&create_command, c, argc, err)) <= 0)
    return first;
  if (opts.gateway && opts.subnet == NULL)
    return husk_cli_usage_error (err, "network create", "--gateway needs --subnet");
  opts.name = argv[first];
  if (!husk_ctr_name_valid (opts.name))
    return husk_cli_usage_error (err, "network create",
                                 "network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                 opts.name);
  opts.labels = labels;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_network_create (store, &opts, &nw, err) < 0)
    return -1;
  printf ("%s\n", nw->id);
  return 0;
}

/* husk network ls.  */

static const struct husk_cli_option ls_options[] = {
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "IDs only" },
  { "no-trunc", OPT_NO_TRUNC, HUSK_CLI_ARG_NONE, NULL, "full IDs" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "FORMAT",
    "json (or {{json .}}): one JSON object a line; table: the default" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command ls_command = {
  "network ls", "[OPTIONS]", "List networks.", ls_options, NULL, { 0, 0, "takes no arguments" },
};

/* "k=v,k2=v2", as docker network ls's Labels.  */
static char *
labels_joined (char *const *labels)
{
  char *out = husk_xstrdup ("");
  for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2)
    {
      char *j = husk_strdup_printf ("%s%s%s=%s", out, *out ? "," : "", labels[i], labels[i + 1]);
      free (out);
      out = j;
    }
  return out;
}

static void
print_ls_json (const struct husk_network_rec *nw, bool trunc)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *id = husk_strdup_printf ("%.*s", trunc ? 12 : 64, nw->id);
  cleanup_free char *labels = labels_joined (nw->labels);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  husk_jgen_key (g, "ID");
  husk_jgen_string (g, id);
  husk_jgen_key (g, "Name");
  husk_jgen_string (g, nw->name);
  husk_jgen_key (g, "Driver");
  husk_jgen_string (g, nw->driver);
  husk_jgen_key (g, "Scope");
  husk_jgen_string (g, "local");
  husk_jgen_key (g, "IPv6");
  husk_jgen_string (g, "false");
  husk_jgen_key (g, "Internal");
  husk_jgen_string (g, nw->internal ? "true" : "false");
  husk_jgen_key (g, "Labels");
  husk_jgen_string (g, labels);
  husk_jgen_key (g, "CreatedAt");
  husk_jgen_string (g, nw->created ? nw->created : "");
  husk_jgen_key (g, "Subnet");
  husk_jgen_string (g, nw->subnet);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  printf ("%.*s\n", (int) len, buf);
}

static int
cmd_ls (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_network_rec **v = NULL;
  size_t n = 0;
  bool quiet = false, trunc = true, json = false;
  int c, first, wname = 4, wdriver = 6;

  optind = 1;
  while ((c = husk_cli_next_option (&ls_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case OPT_NO_TRUNC:
        trunc = false;
        break;
      case OPT_FORMAT:
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          json = true;
        else if (strcmp (optarg, "table") != 0)
          return husk_cli_usage_error (err, "network ls", "format \"%s\": only json and table",
                                       optarg);
        break;
      }
  if ((first = husk_cli_operands (&ls_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_network_list (store, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if ((int) strlen (v[i]->name) > wname)
        wname = (int) strlen (v[i]->name);
      if ((int) strlen (v[i]->driver) > wdriver)
        wdriver = (int) strlen (v[i]->driver);
    }
  /* Columns three spaces apart, as docker aligns them.  */
  if (!quiet && !json)
    printf ("%-*s   %-*s   %-*s   %s\n", trunc ? 12 : 64, "NETWORK ID", wname, "NAME", wdriver,
            "DRIVER", "SCOPE");
  for (size_t i = 0; i < n; i++)
    if (quiet)
      printf ("%.*s\n", trunc ? 12 : 64, v[i]->id);
    else if (json)
      print_ls_json (v[i], trunc);
    else
      printf ("%-*.*s   %-*s   %-*s   %s\n", trunc ? 12 : 64, trunc ? 12 : 64, v[i]->id, wname,
              v[i]->name, wdriver, v[i]->driver, "local");
  husk_network_list_free (v, n);
  return 0;
}

/* husk network inspect.  */

static const struct husk_cli_option inspect_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command inspect_command = {
  "network inspect", "NETWORK...", "Show networks as JSON.",
  inspect_options,   NULL,         { 1, HUSK_CLI_ANY, "expects at least one network" },
};

static void
gen_str (husk_jgen *g, const char *key, const char *v)
{
  husk_jgen_key (g, key);
  husk_jgen_string (g, v ? v : "");
}

/* One network in docker network inspect's shape.  */
static void
network_json (struct husk_store *s, const struct husk_network_rec *nw, husk_jgen *g)
{
  const char *slash = strchr (nw->subnet, '/');

  husk_jgen_map_open (g);
  gen_str (g, "Name", nw->name);
  gen_str (g, "Id", nw->id);
  gen_str (g, "Created", nw->created);
  gen_str (g, "Scope", "local");
  gen_str (g, "Driver", nw->driver);
  husk_jgen_key (g, "EnableIPv6");
  husk_jgen_bool (g, false);
  husk_jgen_key (g, "IPAM");
  husk_jgen_map_open (g);
  gen_str (g, "Driver", "default");
  husk_jgen_key (g, "Options");
  husk_jgen_map_open (g);
  husk_jgen_map_close (g);
  husk_jgen_key (g, "Config");
  husk_jgen_array_open (g);
  husk_jgen_map_open (g);
  gen_str (g, "Subnet", nw->subnet);
  gen_str (g, "Gateway", nw->gateway);
  husk_jgen_map_close (g);
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  husk_jgen_key (g, "Internal");
  husk_jgen_bool (g, nw->internal);
  husk_jgen_key (g, "Attachable");
  husk_jgen_bool (g, false);
  husk_jgen_key (g, "Containers");
  husk_jgen_map_open (g);
  for (size_t i = 0; i < nw->n_containers; i++)
    {
      const struct husk_network_endpoint *ep = &nw->containers[i];
      cleanup_ctr struct husk_ctr *ctr = NULL;
      cleanup_error struct husk_error *e = NULL;
      cleanup_free char *addr = husk_strdup_printf ("%s%s", ep->ipv4, slash ? slash : "");

      husk_jgen_key (g, ep->container_id);
      husk_jgen_map_open (g);
      /* A container whose record is gone (or not written yet) shows no name.  */
      if (husk_ctr_load (s, ep->container_id, &ctr, &e) == 0 && ctr->name)
        gen_str (g, "Name", ctr->name);
      gen_str (g, "IPv4Address", addr);
      gen_str (g, "IPv6Address", "");
      if (ep->aliases)
        {
          husk_jgen_key (g, "Aliases");
          husk_jgen_array_open (g);
          for (size_t k = 0; ep->aliases[k]; k++)
            husk_jgen_string (g, ep->aliases[k]);
          husk_jgen_array_close (g);
        }
      husk_jgen_map_close (g);
    }
  husk_jgen_map_close (g);
  husk_jgen_key (g, "Options");
  husk_jgen_map_open (g);
  gen_str (g, "com.docker.network.bridge.name", nw->bridge);
  husk_jgen_map_close (g);
  husk_jgen_key (g, "Labels");
  husk_jgen_map_open (g);
  for (size_t i = 0; nw->labels && nw->labels[i] && nw->labels[i + 1]; i += 2)
    gen_str (g, nw->labels[i], nw->labels[i + 1]);
  husk_jgen_map_close (g);
  husk_jgen_map_close (g);
}

static int
cmd_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
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
      cleanup_network struct husk_network_rec *nw = NULL;
      if (husk_network_load (store, argv[i], &nw, err) < 0)
        return -1;
      network_json (store, nw, gen);
    }
  husk_jgen_array_close (gen);
  buf = husk_jgen_buf (gen, &len);
  fwrite (buf, 1, len, stdout);
  if (len == 0 || buf[len - 1] != '\n')
    putchar ('\n');
  return 0;
}

/* husk network rm.  */

static const struct husk_cli_option rm_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command rm_command = {
  "network rm", "NETWORK...", "Remove networks that no container is attached to.",
  rm_options,   NULL,         { 1, HUSK_CLI_ANY, "expects at least one network" },
};

static int
cmd_rm (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  int first, failed = 0;

  if ((first = husk_cli_parse (&rm_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  /* Each network on its own, as docker does: a failure is printed and the rest go on.  */
  for (int i = first; i < argc; i++)
    {
      cleanup_error struct husk_error *e = NULL;
      cleanup_free char *name = NULL, *bridge = NULL;
      {
        cleanup_network struct husk_network_rec *n = NULL;
        cleanup_error struct husk_error *lerr = NULL;
        if (husk_network_load (store, argv[i], &n, &lerr) == 0)
          bridge = husk_xstrdup (n->bridge);
      }
      if (husk_network_remove (store, argv[i], false, &name, &e) < 0)
        {
          if (argc - first == 1)
            {
              *err = TAKE_PTR (e);
              return -1;
            }
          fflush (stdout);
          fprintf (stderr, "husk: %s\n", e->msg);
          failed = 1;
          continue;
        }
      /* Its bridge goes from the user's network namespace at once, when that is up.  */
      if (bridge && husk_net_bridge_remove (store, bridge, &e) < 0)
        fprintf (stderr, "husk: warning: network \"%s\": bridge %s: %s\n", name, bridge, e->msg);
      printf ("%s\n", argv[i]);
    }
  return failed ? HUSK_EXIT_FAILURE : 0;
}

/* husk network prune.  */

static const struct husk_cli_option prune_options[] = {
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL, "accepted for docker's sake: husk never asks" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command prune_command = {
  "network prune",
  "[OPTIONS]",
  "Remove every network no container is attached to (never the default network, husk).",
  prune_options,
  NULL,
  { 0, 0, "takes no arguments" },
};

static int
cmd_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **names = NULL;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&prune_command, argc, argv, err)) > 0)
    ;
  if ((first = husk_cli_operands (&prune_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  {
    struct husk_network_rec **v = NULL;
    size_t n = 0;
    if (husk_network_list (store, &v, &n, err) < 0)
      return -1;
    if (husk_network_prune (store, &names, err) < 0)
      {
        husk_network_list_free (v, n);
        return -1;
      }
    for (size_t i = 0; names[i]; i++)
      for (size_t j = 0; j < n; j++)
        if (strcmp (v[j]->name, names[i]) == 0)
          {
            cleanup_error struct husk_error *e = NULL;
            if (husk_net_bridge_remove (store, v[j]->bridge, &e) < 0)
              fprintf (stderr, "husk: warning: network \"%s\": bridge %s: %s\n", names[i],
                       v[j]->bridge, e->msg);
          }
    husk_network_list_free (v, n);
  }
  if (names[0])
    {
      printf ("Deleted Networks:\n");
      for (size_t i = 0; names[i]; i++)
        printf ("%s\n", names[i]);
    }
  return 0;
}

/* husk network exists.  */

static const struct husk_cli_option exists_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command exists_command = {
  "network exists",
  "NETWORK",
  "Exit with 0 when the network exists, 1 when it does not (podman network exists).",
  exists_options,
  NULL,
  { 1, 1, "expects one network" },
};

static int
cmd_exists (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_network struct husk_network_rec *nw = NULL;
  int first;

  if ((first = husk_cli_parse (&exists_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  if (husk_network_load (store, argv[first], &nw, err) < 0)
    {
      if ((*err)->errnum != ENOENT)
        return -1;
      husk_error_free (err);
      return HUSK_EXIT_FAILURE;
    }
  return 0;
}

/* husk network connect and disconnect.  */

static const struct husk_cli_option connect_options[] = {
  { "ip", OPT_IP, HUSK_CLI_ARG_REQUIRED, "IPV4", "the container's address on the network" },
  { "alias", OPT_ALIAS, HUSK_CLI_ARG_REQUIRED, "NAME",
    "another name the container has on the network (repeatable)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command connect_command = {
  "network connect",
  "[OPTIONS] NETWORK CONTAINER",
  "Put a container on one more network (at once when it runs).",
  connect_options,
  NULL,
  { 2, 2, "expects a network and a container" },
};

static int
cmd_connect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **aliases = NULL;
  const char *ip = NULL;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&connect_command, argc, argv, err)) > 0)
    switch (c)
      {
      case OPT_IP:
        {
          uint32_t a;
          if (!husk_ipv4_parse (optarg, &a))
            return husk_cli_usage_error (err, "network connect",
                                         "ip \"%s\": expected an IPv4 address", optarg);
          ip = optarg;
        }
        break;
      case OPT_ALIAS:
        if (!husk_ctr_name_valid (optarg))
          return husk_cli_usage_error (err, "network connect",
                                       "alias \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                       optarg);
        husk_strv_append (&aliases, optarg);
        break;
      }
  if ((first = husk_cli_operands (&connect_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  return husk_net_connect (store, argv[first + 1], argv[first], ip, aliases, err);
}

static const struct husk_cli_option disconnect_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command disconnect_command = {
  "network disconnect",
  "NETWORK CONTAINER",
  "Take a container off a network it joined with connect (at once when it runs).",
  disconnect_options,
  NULL,
  { 2, 2, "expects a network and a container" },
};

static int
cmd_disconnect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  int first;

  if ((first = husk_cli_parse (&disconnect_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  return husk_net_disconnect (store, argv[first + 1], argv[first], err);
}

static const struct husk_cli_subcommand subcommands[] = {
  { "create", cmd_create, "create a network" },
  { "ls", cmd_ls, "list networks" },
  { "list", cmd_ls, "list networks (husk network ls)" },
  { "inspect", cmd_inspect, "show networks as JSON" },
  { "rm", cmd_rm, "remove networks" },
  { "remove", cmd_rm, "remove networks (husk network rm)" },
  { "prune", cmd_prune, "remove every network without containers" },
  { "exists", cmd_exists, "whether a network exists (exit status 0 or 1)" },
  { "connect", cmd_connect, "put a container on one more network" },
  { "disconnect", cmd_disconnect, "take a container off a network" },
};

static const struct husk_cli_group network_group = {
  "network",
  "Manage networks.",
  subcommands,
  sizeof (subcommands) / sizeof (subcommands[0]),
};

int
husk_cmd_network (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  return husk_cli_group_run (&network_group, g, argc, argv, err);
}
