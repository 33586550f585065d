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

#define N_COLS 5

/* Terminal columns of UTF-8 text (every character one column wide).  */
static size_t
text_width (const char *s)
{
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char) *s & 0xC0) != 0x80)
      w++;
  return w;
}

/* ROWS (N_ROWS of N_COLS cells, the header first) as docker prints its tables (Go's
   tabwriter: each column as wide as its widest cell and 3 spaces, at least 10, the last one
   unpadded): so with --no-trunc a long command widens its column, never shifts the next.  */
static void
print_table (char *const *rows, size_t n_rows)
{
  size_t width[N_COLS] = { 0 };

  for (size_t r = 0; r < n_rows; r++)
    for (size_t k = 0; k < N_COLS; k++)
      if (text_width (rows[r * N_COLS + k]) + 3 > width[k])
        width[k] = text_width (rows[r * N_COLS + k]) + 3;
  for (size_t r = 0; r < n_rows; r++)
    {
      for (size_t k = 0; k < N_COLS - 1; k++)
        {
          const char *cell = rows[r * N_COLS + k];
          size_t w = width[k] < 10 ? 10 : width[k];
          printf ("%s%*s", cell, (int) (w - text_width (cell)), "");
        }
      printf ("%s\n", rows[r * N_COLS + N_COLS - 1]);
    }
}

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
  char **rows = NULL;
  size_t n_rows = 0;
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

  rows = husk_xcalloc ((n + 1) * N_COLS, sizeof (char *));
  rows[0] = husk_xstrdup ("IMAGE");
  rows[1] = husk_xstrdup ("CREATED");
  rows[2] = husk_xstrdup ("CREATED BY");
  rows[3] = husk_xstrdup ("SIZE");
  rows[4] = husk_xstrdup ("COMMENT");
  n_rows = 1;
  for (size_t i = n; i-- > 0;)
    {
      const husk_json *h = husk_json_array_at (hist, i);
      const char *by = husk_json_get_string (h, "created_by");
      const char *comment = husk_json_get_string (h, "comment");
      char **row = rows + n_rows * N_COLS;
      char age[64], size[32];

      if (i == n - 1)
        row[0] = notrunc ? husk_strdup_printf ("sha256:%s", img->id)
                         : husk_strdup_printf ("%.12s", img->id);
      else
        row[0] = husk_xstrdup ("<missing>");
      if (quiet)
        {
          printf ("%s\n", row[0]);
          free (row[0]);
          row[0] = NULL;
          continue;
        }
      by = by ? by : "";
      if (!notrunc && strlen (by) > 45)
        row[2] = husk_strdup_printf ("%.42s...", by);
      else
        row[2] = husk_xstrdup (by);
      /* A tab or a line break (a heredoc's script) would break the row: spaces, as docker
         turns tabs.  */
      for (char *p = row[2]; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
          *p = ' ';
      husk_cli_format_age (husk_json_get_string (h, "created"), age, sizeof (age));
      husk_cli_format_size (sizes[i], size, sizeof (size));
      row[1] = husk_xstrdup (age);
      row[3] = husk_xstrdup (size);
      row[4] = husk_xstrdup (comment ? comment : "");
      n_rows++;
    }
  if (!quiet)
    print_table (rows, n_rows);
  rc = 0;
out:
  for (size_t i = 0; rows && i < n_rows * N_COLS; i++)
    free (rows[i]);
  free (rows);
  husk_images_clear (&list);
  return rc;
}
