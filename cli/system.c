/* husk system df: what images and containers take on disk.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "imagegc.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static void
system_usage (void)
{
  printf ("Usage: husk system df\n\n"
          "Show the disk space that images and containers use.\n\n"
          "  Images      every layer once however many images share it; RECLAIMABLE is\n"
          "              what no image a container uses needs\n"
          "  Containers  the files containers wrote (their upper directories)\n\n"
          "Options:\n"
          "  -h, --help  show this help\n");
}

/* Apparent size of the regular files and symlinks under DIRFD.  */
static uint64_t
tree_size (int fd0)
{
  cleanup_dir DIR *d = fdopendir (fd0);
  struct dirent *de;
  uint64_t total = 0;

  if (d == NULL)
    {
      close (fd0);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (fd >= 0)
            total += tree_size (fd);
        }
      else if (S_ISREG (st.st_mode) || S_ISLNK (st.st_mode))
        total += (uint64_t) st.st_size;
    }
  return total;
}

static void
print_row (const char *type, size_t total, size_t active, uint64_t size, uint64_t reclaim)
{
  char s[32], r[32], rr[48];
  husk_cli_format_size ((int64_t) size, s, sizeof (s));
  husk_cli_format_size ((int64_t) reclaim, r, sizeof (r));
  snprintf (rr, sizeof (rr), "%s (%d%%)", r, size ? (int) (reclaim * 100 / size) : 0);
  printf ("%-12s  %-6zu  %-6zu  %-10s  %s\n", type, total, active, s, rr);
}

/* Runs as root of the user's namespace: container upper directories hold mapped owners.  */
static int
do_df (void *arg, struct husk_error **err)
{
  struct husk_store *s = arg;
  struct husk_image_list list = { 0 };
  struct husk_images_in_use in_use = { 0 };
  cleanup_strv char **active_layers = husk_xcalloc (1, sizeof (char *));
  uint64_t img_size = 0, img_reclaim = 0, ctr_size = 0;
  size_t active = 0, containers = 0, images;

  if (husk_store_lock (s, err) < 0)
    return -1;
  if (husk_images_load (s, &list, err) < 0 || husk_ctr_images_in_use (s, &in_use, err) < 0)
    {
      husk_store_unlock (s);
      husk_images_clear (&list);
      return -1;
    }
  for (size_t i = 0; i < list.n; i++)
    {
      bool used = husk_images_in_use_has (&in_use, list.items[i].id);
      active += used;
      for (size_t k = 0; list.items[i].layers[k]; k++)
        {
          const char *l = list.items[i].layers[k];
          if (used && !husk_strv_contains (active_layers, l))
            husk_strv_append (&active_layers, l);
        }
    }
  {
    /* Every layer directory counts, also those no image names any more.  */
    cleanup_strv char **layers = husk_store_list_layers (s);
    for (size_t k = 0; layers[k]; k++)
      {
        int64_t sz = husk_layer_size (s, layers[k]);
        img_size += (uint64_t) sz;
        if (!husk_strv_contains (active_layers, layers[k]))
          img_reclaim += (uint64_t) sz;
      }
  }
  {
    cleanup_error struct husk_error *e = NULL;
    cleanup_dir DIR *d = husk_ctr_open_dir (s, &e);
    struct dirent *de;
    while (d && (de = readdir (d)) != NULL)
      {
        cleanup_free char *upper = NULL;
        int ufd;
        if (de->d_name[0] == '.')
          continue;
        containers++;
        upper = husk_strdup_printf ("%s/upper", de->d_name);
        ufd = openat (dirfd (d), upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ufd >= 0)
          ctr_size += tree_size (ufd);
      }
  }
  husk_store_unlock (s);
  images = list.n;
  husk_images_clear (&list);
  husk_images_in_use_clear (&in_use);

  printf ("%-12s  %-6s  %-6s  %-10s  %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  print_row ("Images", images, active, img_size, img_reclaim);
  print_row ("Containers", containers, containers, ctr_size, 0);
  return 0;
}

int
husk_cmd_system (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;

  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      system_usage ();
      return 0;
    }
  if (argc < 2)
    return husk_cli_usage_error (err, "system", "expects a command (df)");
  if (strcmp (argv[1], "df") != 0)
    return husk_cli_usage_error (err, "system", "unknown command \"%s\"", argv[1]);
  if (argc > 2 && (strcmp (argv[2], "--help") == 0 || strcmp (argv[2], "-h") == 0))
    {
      system_usage ();
      return 0;
    }
  if (argc > 2)
    return husk_cli_usage_error (err, "system", "df takes no arguments");
  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  fflush (stdout);
  return husk_userns_run (map, do_df, store, err) < 0 ? -1 : 0;
}
