#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "dockerarchive.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option save_options[] = {
  { "output", 'o', HUSK_CLI_ARG_REQUIRED, "FILE", "the archive to write (replaced atomically)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command save_command = {
  "save",
  "-o FILE IMAGE...",
  "Write images as a docker-archive (the classic \"docker save\" layout, with\n"
  "uncompressed layers) that docker load, podman load and husk load read.  Each\n"
  "image carries the names given for it (none when given by its ID).",
  save_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one image" },
};

int
husk_cmd_save (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_free const struct husk_image **imgs = NULL;
  cleanup_free char ***names = NULL;
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  struct husk_image_list list = { 0 };
  const char *output = NULL;
  size_t n, n_imgs = 0;
  int c, first, rc = -1;

  optind = 1;
  while ((c = husk_cli_next_option (&save_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'o':
        output = optarg;
        break;
      }
  if ((first = husk_cli_operands (&save_command, c, argc, err)) <= 0)
    return first;
  if (output == NULL)
    return husk_cli_usage_error (err, "save", "needs -o FILE");
  n = (size_t) (argc - first);
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;
  /* Each image once, carrying the names its operands gave, as docker save and podman save do:
     another tag of the same image is not saved, and an image named by its ID carries none.  */
  imgs = husk_xcalloc (n, sizeof (*imgs));
  names = husk_xcalloc (n, sizeof (*names));
  for (size_t i = 0; i < n; i++)
    {
      const char *name = NULL;
      const struct husk_image *img
          = husk_images_lookup_name (&list, argv[first + (int) i], &name, err);
      size_t k;

      if (img == NULL)
        goto out;
      for (k = 0; k < n_imgs && imgs[k] != img; k++)
        ;
      if (k == n_imgs)
        {
          imgs[n_imgs] = img;
          names[n_imgs++] = husk_xcalloc (1, sizeof (char *));
        }
      if (name && !husk_strv_contains (names[k], name))
        husk_strv_append (&names[k], name);
    }
  tmp = husk_strdup_printf ("%s.husk-tmp-%ld", output, (long) getpid ());
  /* The caller's file: its umask applies, as for any file a command writes (husk runs with
     0022 of its own, main.c).  */
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644 & ~g->caller_umask);
  if (fd < 0)
    {
      husk_error_set (err, errno, "save: create \"%s\"", tmp);
      goto out;
    }
  if (husk_archive_save (store, imgs, names, n_imgs, fd, err) < 0)
    {
      husk_error_wrap (err, "save \"%s\"", output);
      unlink (tmp);
      goto out;
    }
  if (fsync (fd) < 0 || rename (tmp, output) < 0)
    {
      husk_error_set (err, errno, "save \"%s\"", output);
      unlink (tmp);
      goto out;
    }
  rc = 0;
out:
  for (size_t i = 0; i < n_imgs; i++)
    husk_strv_free (names[i]);
  husk_images_clear (&list);
  return rc;
}
