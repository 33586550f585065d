/* husk image SUBCOMMAND: the image commands under one name, as docker image has them.  */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "util.h"
#include "banned.h"

static const struct
{
  const char *name;
  int (*fn) (struct husk_global *g, int argc, char **argv, struct husk_error **err);
  const char *summary;
} subcommands[] = {
  { "ls", husk_cmd_images, "list images (husk images)" },
  { "pull", husk_cmd_pull, "import an image (husk pull)" },
  { "tag", husk_cmd_tag, "give an image more names (husk tag)" },
  { "rm", husk_cmd_rmi, "remove images (husk rmi)" },
  { "prune", husk_cmd_image_prune, "remove unnamed and unused images, and unreferenced layers" },
  { "inspect", husk_cmd_inspect, "show images as JSON (husk inspect)" },
  { "history", husk_cmd_history, "show an image's history (husk history)" },
  { "save", husk_cmd_save, "write images as a docker-archive (husk save)" },
  { "load", husk_cmd_load, "import a docker-archive (husk load)" },
};

static void
image_usage (FILE *out)
{
  fprintf (out, "Usage: husk image COMMAND [OPTIONS] [ARG...]\n\nManage images.\n\nCommands:\n");
  for (size_t i = 0; i < sizeof (subcommands) / sizeof (subcommands[0]); i++)
    fprintf (out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int
husk_cmd_image (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  if (argc < 2)
    return husk_cli_usage_error (err, "image", "expects a command");
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      image_usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < sizeof (subcommands) / sizeof (subcommands[0]); i++)
    if (strcmp (argv[1], subcommands[i].name) == 0)
      return subcommands[i].fn ? subcommands[i].fn (g, argc - 1, argv + 1, err)
                               : husk_cli_exec_full (g, err);
  return husk_cli_usage_error (err, "image", "unknown command \"%s\"", argv[1]);
}
