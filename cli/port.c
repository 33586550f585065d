/* husk port.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "net.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option port_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command port_command = {
  "port",
  "CONTAINER [PORT[/PROTO]]",
  "List a running container's published ports, or where one of them is published.",
  port_options,
  NULL,
  { 1, 2, "expects a container and at most one port" },
};

/* "IP:PORT", IPv6 in brackets, after PREFIX; a port on every address once for each family
   (pasta binds both), as docker lists it.  */
static void
print_host (const char *prefix, const struct husk_port *p)
{
  const char *ip = p->host_ip ? p->host_ip : "0.0.0.0";
  bool v6 = strchr (ip, ':') != NULL;
  printf ("%s%s%s%s:%d\n", prefix, v6 ? "[" : "", ip, v6 ? "]" : "", p->host_port);
  if (p->host_ip == NULL)
    printf ("%s[::]:%d\n", prefix, p->host_port);
}

int
husk_cmd_port (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  struct husk_port *ports = NULL, *want = NULL;
  size_t n = 0, n_want = 0;
  bool found = false;
  int first, r = 0;

  if ((first = husk_cli_parse (&port_command, argc, argv, err)) <= 0)
    return first;
  if (argv[first + 1])
    {
      if (husk_ports_parse ("port", argv[first + 1], &want, &n_want, err) < 0 || n_want != 1
          || want[0].host_port != 0)
        {
          husk_ports_free (want, n_want);
          if (*err == NULL)
            husk_error_set (err, 0, "port \"%s\": expected PORT[/PROTO]", argv[first + 1]);
          (*err)->status = HUSK_EXIT_USAGE;
          return -1;
        }
    }
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[first], &ctr, err) < 0)
    {
      husk_ports_free (want, n_want);
      return -1;
    }
  husk_net_ports_running (ctr, &ports, &n);
  for (size_t i = 0; i < n; i++)
    {
      if (want
          && (ports[i].ctr_port != want[0].ctr_port || strcmp (ports[i].proto, want[0].proto) != 0))
        continue;
      found = true;
      if (want)
        print_host ("", &ports[i]);
      else
        {
          char prefix[32];
          snprintf (prefix, sizeof (prefix), "%d/%s -> ", ports[i].ctr_port, ports[i].proto);
          print_host (prefix, &ports[i]);
        }
    }
  if (want && !found)
    {
      husk_error_set (err, 0, "container %s: no public port %d/%s published", ctr->name,
                      want[0].ctr_port, want[0].proto);
      r = -1;
    }
  husk_ports_free (ports, n);
  husk_ports_free (want, n_want);
  return r;
}
