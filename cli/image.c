/* husk image SUBCOMMAND: the image commands under one name, as docker image has them.  */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_subcommand subcommands[] = {
  { "ls", husk_cmd_images, "list images (husk images)" },
  { "build", husk_cmd_build, "build an image from a Dockerfile (husk build)" },
  { "pull", husk_cmd_pull, "import an image (husk pull)" },
  { "push", husk_cmd_push, "upload an image to a registry (husk push)" },
  { "tag", husk_cmd_tag, "give an image more names (husk tag)" },
  { "rm", husk_cmd_rmi, "remove images (husk rmi)" },
  { "prune", husk_cmd_image_prune, "remove unnamed and unused images, and unreferenced layers" },
  { "inspect", husk_cmd_inspect, "show images as JSON (husk inspect)" },
  { "history", husk_cmd_history, "show an image's history (husk history)" },
  { "save", husk_cmd_save, "write images as a docker-archive (husk save)" },
  { "load", husk_cmd_load, "import a docker-archive (husk load)" },
  { "import", husk_cmd_import, "make a tarball an image (husk import)" },
};

static const struct husk_cli_group image_group = {
  "image",
  "Manage images.",
  subcommands,
  sizeof (subcommands) / sizeof (subcommands[0]),
};

int
husk_cmd_image (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  return husk_cli_group_run (&image_group, g, argc, argv, err);
}
