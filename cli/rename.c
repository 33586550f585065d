/* husk rename.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "names.h"
#include "net.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option rename_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command rename_command = {
  "rename",
  "CONTAINER NEW_NAME",
  "Give a container another name.",
  rename_options,
  NULL,
  { 2, 2, "expects a container and a new name" },
};

int
husk_cmd_rename (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  char *old;
  int first;

  if ((first = husk_cli_parse (&rename_command, argc, argv, err)) <= 0)
    return first;
  if (!husk_ctr_name_valid (argv[first + 1]))
    return husk_cli_usage_error (
        err, "rename", "name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", argv[first + 1]);
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[first], &ctr, err) < 0)
    return -1;
  if (ctr->name && strcmp (ctr->name, argv[first + 1]) == 0)
    return husk_error_set (err, 0, "container %.12s is already named \"%s\"", ctr->id, ctr->name);
  /* The new name is claimed first: a failure leaves the old one in place.  */
  if (husk_ctr_name_claim (store, argv[first + 1], ctr->id, err) < 0)
    return -1;
  old = ctr->name;
  ctr->name = husk_xstrdup (argv[first + 1]);
  if (husk_ctr_save_config (store, ctr, true, err) < 0)
    {
      husk_ctr_name_release (store, ctr->name, ctr->id);
      free (ctr->name);
      ctr->name = old;
      return -1;
    }
  husk_ctr_name_release (store, old, ctr->id);
  free (old);
  /* The containers of its networks know it by its new name (and it itself).  */
  if (ctr->network == HUSK_NETWORK_BRIDGE)
    {
      husk_net_hosts_refresh (store, ctr->network_value, NULL);
      for (size_t i = 0; ctr->extra_networks && ctr->extra_networks[i]; i++)
        husk_net_hosts_refresh (store, ctr->extra_networks[i], NULL);
    }
  return 0;
}
