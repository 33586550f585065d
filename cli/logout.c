#include "config.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cleanup.h"
#include "commands.h"
#include "util.h"
#include "banned.h"

static void
logout_usage (void)
{
  printf ("Usage: husk logout [OPTIONS] REGISTRY\n\n"
          "Remove the credentials husk login stored for REGISTRY.\n\n"
          "Options:\n"
          "  -a, --all    remove the credentials of every registry\n"
          "  -h, --help   show this help\n");
}

int
husk_cmd_logout (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  cleanup_free char *name = NULL;
  bool all = false;
  int c, r;

  (void) g;
  optind = 1;
  while ((c = husk_cli_getopt ("logout", argc, argv, "+ah", opts, err)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'h':
        logout_usage ();
        return 0;
      default:
        return -1;
      }
  if (all)
    {
      if (argc - optind != 0)
        return husk_cli_usage_error (err, "logout", "--all takes no registry");
      if (husk_auth_remove (NULL, err) < 0)
        return husk_error_wrap (err, "logout");
      printf ("Removed login credentials for all registries\n");
      return 0;
    }
  if (argc - optind != 1)
    return husk_cli_usage_error (err, "logout", "expects exactly one registry");
  name = husk_auth_registry_name (argv[optind]);
  r = husk_auth_remove (name, err);
  if (r < 0)
    return husk_error_wrap (err, "logout \"%s\"", name);
  if (r == 0)
    return husk_error_set (err, 0, "logout \"%s\": not logged in", name);
  printf ("Removed login credentials for %s\n", name);
  return 0;
}
