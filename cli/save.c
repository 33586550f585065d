#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "dockerarchive.h"
#include "layout.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_FORMAT = 256,
};

static const struct husk_cli_option save_options[] = {
  { "output", 'o', HUSK_CLI_ARG_REQUIRED, "FILE",
    "the archive (or, for oci-dir, the directory) to write, replaced atomically;\n"
    "without it the archive goes to standard output, which must not be a terminal" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "docker-archive|oci-archive|oci-dir",
    "what to write (default docker-archive)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command save_command = {
  "save",
  "[-o FILE] [--format docker-archive|oci-archive|oci-dir] IMAGE...",
  "Write images as a docker-archive (the classic \"docker save\" layout, with\n"
  "uncompressed layers) that docker load, podman load and husk load read, or as an\n"
  "OCI image layout, in a tar (oci-archive) or a directory (oci-dir), its blobs as\n"
  "stored.  Each image carries the names given for it (none when given by its ID).",
  save_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one image" },
};

static int
write_archive (struct husk_store *store, enum husk_cli_save_format format,
               const struct husk_image *const *imgs, char **const *names, size_t n, int fd,
               struct husk_error **err)
{
  if (format == FORMAT_OCI_ARCHIVE)
    return husk_layout_save_archive (store, imgs, names, n, fd, err);
  return husk_archive_save (store, imgs, names, n, fd, err);
}

/* oci-dir: the layout is written into a new directory beside OUTPUT, which then replaces
   OUTPUT at once (rename replaces an empty directory, and fails on anything else).  */
static int
save_dir (struct husk_global *g, struct husk_store *store, const char *output,
          const struct husk_image *const *imgs, char **const *names, size_t n,
          struct husk_error **err)
{
  cleanup_free char *dir = husk_xstrdup (output);
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  size_t len = strlen (dir);

  /* "DIR/" names DIR: the temporary directory goes beside it, not into it.  */
  while (len > 1 && dir[len - 1] == '/')
    dir[--len] = '\0';
  tmp = husk_strdup_printf ("%s.husk-tmp-%ld", dir, (long) getpid ());

  if (mkdir (tmp, 0755 & ~g->caller_umask) < 0)
    return husk_error_set (err, errno, "save: create \"%s\"", tmp);
  fd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    husk_error_set (err, errno, "save: open \"%s\"", tmp);
  else if (husk_layout_save_dir (store, imgs, names, n, fd, output, err) < 0)
    husk_error_wrap (err, "save \"%s\"", output);
  else if (rename (tmp, dir) < 0)
    husk_error_set (err, errno, "save \"%s\"", output);
  else
    return 0;
  husk_rm_rf_at (AT_FDCWD, tmp, NULL);
  return -1;
}

int
husk_cli_save_to (struct husk_global *g, struct husk_store *store, enum husk_cli_save_format format,
                  const char *output, const struct husk_image *const *imgs, char **const *names,
                  size_t n_imgs, struct husk_error **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_free char *final = NULL;
  cleanup_close int fd = -1;

  if (format == FORMAT_OCI_DIR)
    return save_dir (g, store, output, imgs, names, n_imgs, err);
  if (output == NULL)
    {
      if (write_archive (store, format, imgs, names, n_imgs, STDOUT_FILENO, err) < 0)
        return husk_error_wrap (err, "save");
      return 0;
    }
  fd = husk_cli_output_open (g, output, &tmp, &final, err);
  if (fd < 0)
    return husk_error_wrap (err, "save");
  if (write_archive (store, format, imgs, names, n_imgs, fd, err) < 0)
    {
      husk_error_wrap (err, "save \"%s\"", output);
      husk_cli_output_abort (tmp);
      return -1;
    }
  if (husk_cli_output_commit (fd, tmp, final, err) < 0)
    return husk_error_wrap (err, "save");
  return 0;
}

int
husk_cmd_save (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_free const struct husk_image **imgs = NULL;
  cleanup_free char ***names = NULL;
  struct husk_image_list list = { 0 };
  enum husk_cli_save_format format = FORMAT_DOCKER_ARCHIVE;
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
      case OPT_FORMAT:
        if (strcmp (optarg, "docker-archive") == 0)
          format = FORMAT_DOCKER_ARCHIVE;
        else if (strcmp (optarg, "oci-archive") == 0)
          format = FORMAT_OCI_ARCHIVE;
        else if (strcmp (optarg, "oci-dir") == 0)
          format = FORMAT_OCI_DIR;
        else
          return husk_cli_usage_error (
              err, "save", "unknown format \"%s\" (docker-archive, oci-archive or oci-dir)",
              optarg);
        break;
      }
  if ((first = husk_cli_operands (&save_command, c, argc, err)) <= 0)
    return first;
  if (output == NULL && format == FORMAT_OCI_DIR)
    return husk_cli_usage_error (err, "save", "--format oci-dir needs -o DIRECTORY");
  /* As docker save: an archive is never written to a terminal.  */
  if (output == NULL && isatty (STDOUT_FILENO))
    return husk_error_set (err, 0,
                           "save: refusing to write an archive to a terminal: use -o FILE or "
                           "redirect standard output");
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
  rc = husk_cli_save_to (g, store, format, output, imgs, names, n_imgs, err);
out:
  for (size_t i = 0; i < n_imgs; i++)
    husk_strv_free (names[i]);
  husk_images_clear (&list);
  return rc;
}
