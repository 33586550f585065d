#include "config.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cleanup.h"
#include "commands.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option logout_options[] = {
  { "all", 'a', HUSK_CLI_ARG_NONE, NULL, "remove the credentials of every registry" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command logout_command = {
  "logout",
  "[OPTIONS] REGISTRY",
  "Remove the credentials husk login stored for REGISTRY.",
  logout_options,
  NULL,
  { 0, HUSK_CLI_ANY, NULL }, /* One registry, or none with --all: counted below.  */
};

int
husk_cmd_logout (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_free char *name = NULL;
  bool all = false;
  int c, first, r;

  (void) g;
  optind = 1;
  while ((c = husk_cli_next_option (&logout_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      }
  if ((first = husk_cli_operands (&logout_command, c, argc, err)) <= 0)
    return first;
  if (all)
    {
      if (argc - first != 0)
        return husk_cli_usage_error (err, "logout", "--all takes no registry");
      if (husk_auth_remove (NULL, err) < 0)
        return husk_error_wrap (err, "logout");
      printf ("Removed login credentials for all registries\n");
      return 0;
    }
  if (argc - first != 1)
    return husk_cli_usage_error (err, "logout", "expects exactly one registry");
  name = husk_auth_registry_name (argv[first]);
  r = husk_auth_remove (name, err);
  if (r < 0)
    return husk_error_wrap (err, "logout \"%s\"", name);
  if (r == 0)
    return husk_error_set (err, 0, "logout \"%s\": not logged in", name);
  printf ("Removed login credentials for %s\n", name);
  return 0;
}
