#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "reference.h"
#include "util.h"
#include "banned.h"

static void
split_name (const char *name, char **ret_repo, char **ret_tag)
{
  const char *at = strchr (name, '@');
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash ? slash : name, ':');

  if (at)
    {
      *ret_repo = husk_xcalloc (1, (size_t) (at - name) + 1);
      memcpy (*ret_repo, name, (size_t) (at - name));
      *ret_tag = husk_xstrdup ("<none>");
    }
  else if (colon)
    {
      *ret_repo = husk_xcalloc (1, (size_t) (colon - name) + 1);
      memcpy (*ret_repo, name, (size_t) (colon - name));
      *ret_tag = husk_xstrdup (colon + 1);
    }
  else
    {
      *ret_repo = husk_xstrdup (name);
      *ret_tag = husk_xstrdup ("<none>");
    }
}

static const struct husk_cli_option images_options[] = {
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only image IDs" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command images_command = {
  "images",       "[-q]", "List the images in the store.",
  images_options, NULL,   { 0, 0, "takes no arguments" },
};

int
husk_cmd_images (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_image_list list;
  bool quiet = false;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&images_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      }
  if ((first = husk_cli_operands (&images_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;

  if (!quiet)
    printf ("%-40s  %-16s  %-12s  %-16s  %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (size_t i = 0; i < list.n; i++)
    {
      const struct husk_image *img = &list.items[i];
      size_t n = husk_strv_len (img->names);
      char age[64], size[32];

      if (quiet)
        {
          printf ("%.12s\n", img->id);
          continue;
        }
      husk_cli_format_age (img->created, age, sizeof (age));
      husk_cli_format_size (img->size, size, sizeof (size));
      for (size_t k = 0; k < (n ? n : 1); k++)
        {
          cleanup_free char *repo = NULL;
          cleanup_free char *tag = NULL;
          if (n)
            split_name (img->names[k], &repo, &tag);
          printf ("%-40s  %-16s  %.12s  %-16s  %s\n", repo ? repo : "<none>", tag ? tag : "<none>",
                  img->id, age, size);
        }
    }
  husk_images_clear (&list);
  return 0;
}
