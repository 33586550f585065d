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
  { 2, HUSK_CLI_ANY, "expects an image and at least one name" },
};

int
husk_cmd_tag (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **names = NULL;
  struct husk_image_list list = { 0 };
  const struct husk_image *img;
  struct husk_image copy;
  int first, rc = -1;

  if ((first = husk_cli_parse (&tag_command, argc, argv, err)) <= 0)
    return first;
  names = husk_xcalloc (1, sizeof (char *));
  for (int i = first + 1; i < argc; i++)
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
  img = husk_images_lookup (&list, argv[first], err);
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
