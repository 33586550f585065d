#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option tag_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command tag_command = {
  "tag",
  "IMAGE NAME...",
  "Give an image more names.  A NAME without a registry is local: \"app:1\" is\n"
  "localhost/app:1.  A name another image had moves to this one.",
  tag_options,
  NULL,
};

int
husk_cmd_tag (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **names = NULL;
  struct husk_image_list list = { 0 };
  const struct husk_image *img;
  struct husk_image copy;
  int c, rc = -1;

  optind = 1;
  while ((c = husk_cli_next_option (&tag_command, argc, argv, err)) != -1)
    switch (c)
      {
      case HUSK_CLI_HELP_SHOWN:
        return 0;
      default:
        return -1;
      }
  if (argc - optind < 2)
    return husk_cli_usage_error (err, "tag", "expects an image and at least one name");
  names = husk_xcalloc (1, sizeof (char *));
  for (int i = optind + 1; i < argc; i++)
    {
      cleanup_free char *n = husk_image_name_for_tag (argv[i], err);
      if (n == NULL)
        return husk_error_wrap (err, "tag");
      husk_strv_append (&names, n);
    }
  if (husk_cli_open_store (g, &store, err) < 0 || husk_store_lock (store, err) < 0)
    return -1;
  if (husk_images_load (store, &list, err) < 0)
    goto out;
  img = husk_images_lookup (&list, argv[optind], err);
  if (img == NULL)
    goto out;
  copy = *img;
  copy.names = names;
  if (husk_images_add (store, &copy, err) < 0)
    goto out;
  rc = 0;
out:
  husk_images_clear (&list);
  husk_store_unlock (store);
  return rc;
}
