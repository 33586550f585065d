#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "json.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_NO_TRUNC = 257, /* Not 256: see husk_cli_option.key.  */
};

static const struct husk_cli_option history_options[] = {
  { "no-trunc", OPT_NO_TRUNC, HUSK_CLI_ARG_NONE, NULL, "do not shorten IDs and commands" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL,
    "print only the IDs (the image's for the newest step,\n<missing> for the others)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command history_command = {
  "history",
  "[--no-trunc] [-q] IMAGE",
  "Show how an image was built, newest step first, from its config's history;\n"
  "steps that made no layer (empty_layer) are shown with size 0B.",
  history_options,
  NULL,
  { 1, 1, "expects exactly one image" },
};

int
husk_cmd_history (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_json husk_json *config = NULL;
  cleanup_free int64_t *sizes = NULL;
  struct husk_image_list list = { 0 };
  const struct husk_image *img;
  const husk_json *hist;
  bool notrunc = false, quiet = false;
  size_t clen, n, layer = 0, nlayers;
  int c, first, rc = -1;

  optind = 1;
  while ((c = husk_cli_next_option (&history_command, argc, argv, err)) > 0)
    switch (c)
      {
      case OPT_NO_TRUNC:
        notrunc = true;
        break;
      case 'q':
        quiet = true;
        break;
      }
  if ((first = husk_cli_operands (&history_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;
  img = husk_images_lookup (&list, argv[first], err);
  if (img == NULL)
    goto out;
  if (husk_store_read_blob (store, img->config, 16 * 1024 * 1024, &cbuf, &clen, err) < 0
      || (config = husk_json_parse (cbuf, clen, err)) == NULL)
    {
      husk_error_wrap (err, "image \"%s\"", argv[first]);
      goto out;
    }
  hist = husk_json_get (config, "history");
  n = husk_json_array_len (hist);
  nlayers = husk_strv_len (img->layers);

  /* Each step that is not an empty layer made the next layer, in order.  */
  sizes = husk_xcalloc (n + 1, sizeof (int64_t));
  for (size_t i = 0; i < n; i++)
    {
      bool empty = false;
      husk_json_bool (husk_json_get (husk_json_array_at (hist, i), "empty_layer"), &empty);
      sizes[i] = empty || layer >= nlayers ? 0 : husk_layer_size (store, img->layers[layer++]);
    }

  if (!quiet)
    printf ("%-12s  %-16s  %-45s  %-8s  %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
  for (size_t i = n; i-- > 0;)
    {
      const husk_json *h = husk_json_array_at (hist, i);
      const char *by = husk_json_get_string (h, "created_by");
      const char *comment = husk_json_get_string (h, "comment");
      cleanup_free char *id = NULL;
      cleanup_free char *shown = NULL;
      char age[64], size[32];

      if (i == n - 1)
        id = notrunc ? husk_strdup_printf ("sha256:%s", img->id)
                     : husk_strdup_printf ("%.12s", img->id);
      else
        id = husk_xstrdup ("<missing>");
      if (quiet)
        {
          printf ("%s\n", id);
          continue;
        }
      by = by ? by : "";
      if (!notrunc && strlen (by) > 45)
        shown = husk_strdup_printf ("%.42s...", by);
      else
        shown = husk_xstrdup (by);
      husk_cli_format_age (husk_json_get_string (h, "created"), age, sizeof (age));
      husk_cli_format_size (sizes[i], size, sizeof (size));
      printf ("%-12s  %-16s  %-45s  %-8s  %s\n", id, age, shown, size, comment ? comment : "");
    }
  rc = 0;
out:
  husk_images_clear (&list);
  return rc;
}
