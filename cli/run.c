#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "container.h"
#include "image.h"
#include "json.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (8 * 1024 * 1024)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void
run_usage (void)
{
  printf ("Usage: husk run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
          "Run a command in a new container and exit with its status.\n\n"
          "Options:\n"
          "  --rm        remove the container when it exits\n"
          "  -h, --help  show this help\n");
}

static bool
env_has (char **env, const char *name)
{
  size_t n = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return true;
  return false;
}

struct rm_job
{
  struct husk_store *store;
  const char *relpath;
};

/* Runs in the user namespace: the upper layer holds files of every mapped id.  */
static int
do_remove (void *arg, struct husk_error **err)
{
  struct rm_job *job = arg;
  return husk_rm_rf_at (job->store->rootfd, job->relpath, err);
}

static int
write_container_record (struct husk_store *s, const char *dir, const char *id,
                        const struct husk_image *img, const char *image_ref, char **args,
                        struct husk_error **err)
{
  cleanup_jgen husk_jgen *gen = husk_jgen_new (true);
  cleanup_free char *path = husk_strdup_printf ("%s/config.json", dir);
  char created[64];
  time_t now = time (NULL);
  struct tm tm;
  const char *buf;
  size_t len;

  gmtime_r (&now, &tm);
  strftime (created, sizeof (created), "%Y-%m-%dT%H:%M:%SZ", &tm);
  husk_jgen_map_open (gen);
  husk_jgen_key (gen, "id");
  husk_jgen_string (gen, id);
  husk_jgen_key (gen, "image");
  husk_jgen_string (gen, img->id);
  husk_jgen_key (gen, "image_name");
  husk_jgen_string (gen, image_ref);
  husk_jgen_key (gen, "created");
  husk_jgen_string (gen, created);
  husk_jgen_key (gen, "args");
  husk_jgen_array_open (gen);
  for (size_t i = 0; args[i]; i++)
    husk_jgen_string (gen, args[i]);
  husk_jgen_array_close (gen);
  husk_jgen_map_close (gen);
  buf = husk_jgen_buf (gen, &len);
  return husk_write_file_atomic_at (s->rootfd, path, buf, len, 0600, err);
}

int
husk_cmd_run (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "rm", no_argument, NULL, 'r' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *config_buf = NULL;
  cleanup_free char *cdir = NULL;
  cleanup_free char *upper = NULL, *work = NULL, *rootfs = NULL, *hostname = NULL;
  cleanup_free char *hostenv = NULL;
  cleanup_strv char **lowers = NULL;
  cleanup_strv char **args = NULL;
  cleanup_strv char **env = NULL;
  struct husk_image_list list = { 0 };
  struct husk_image_config cfg = { 0 };
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;
  const struct husk_image *img;
  struct husk_container_spec spec;
  char id[HUSK_DIGEST_HEX_LEN + 1];
  bool rm = false;
  size_t config_len;
  int c, status = 0, r = -1;

  optind = 1;
  while ((c = husk_cli_getopt ("run", argc, argv, "+h", opts, err)) != -1)
    switch (c)
      {
      case 'r':
        rm = true;
        break;
      case 'h':
        run_usage ();
        return 0;
      default:
        return -1;
      }
  if (optind >= argc)
    return husk_cli_usage_error (err, "run", "expects an image");

  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0
      || husk_images_load (store, &list, err) < 0)
    goto fail;
  img = husk_images_lookup (&list, argv[optind], err);
  if (img == NULL)
    goto fail;
  if (husk_store_read_blob (store, img->config, CONFIG_MAX, &config_buf, &config_len, err) < 0
      || husk_image_config_parse (config_buf, config_len, &cfg, err) < 0)
    {
      husk_error_wrap (err, "image \"%s\"", argv[optind]);
      goto fail;
    }

  /* Docker's rule: arguments replace Cmd; Entrypoint stays in front.  */
  args = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; cfg.entrypoint[i]; i++)
    husk_strv_append (&args, cfg.entrypoint[i]);
  if (optind + 1 < argc)
    for (int i = optind + 1; i < argc; i++)
      husk_strv_append (&args, argv[i]);
  else
    for (size_t i = 0; cfg.cmd[i]; i++)
      husk_strv_append (&args, cfg.cmd[i]);

  for (size_t i = 0; img->layers[i]; i++)
    {
      cleanup_free char *rel = husk_store_layer_relpath (img->layers[i]);
      cleanup_free char *abs = husk_strdup_printf ("%s/%s", store->root, rel);
      if (!husk_store_has_layer (store, img->layers[i]))
        {
          husk_error_set (err, 0, "image \"%s\": layer %s is missing from the store", argv[optind],
                          img->layers[i]);
          goto fail;
        }
      husk_strv_append (&lowers, abs);
    }
  if (lowers == NULL)
    {
      husk_error_set (err, 0, "image \"%s\": has no layers", argv[optind]);
      goto fail;
    }

  if (husk_random_hex (id, HUSK_DIGEST_HEX_LEN, err) < 0)
    goto fail;
  hostname = husk_strdup_printf ("%.12s", id);
  env = husk_xcalloc (1, sizeof (char *));
  if (!env_has (cfg.env, "PATH"))
    husk_strv_append (&env, DEFAULT_PATH);
  for (size_t i = 0; cfg.env[i]; i++)
    husk_strv_append (&env, cfg.env[i]);
  hostenv = husk_strdup_printf ("HOSTNAME=%s", hostname);
  husk_strv_append (&env, hostenv);
  if (!env_has (cfg.env, "HOME"))
    husk_strv_append (&env, "HOME=/root");

  cdir = husk_strdup_printf ("containers/%s", id);
  upper = husk_strdup_printf ("%s/%s/upper", store->root, cdir);
  work = husk_strdup_printf ("%s/%s/work", store->root, cdir);
  rootfs = husk_strdup_printf ("%s/%s/rootfs", store->root, cdir);
  if (mkdirat (store->rootfd, cdir, 0700) < 0 || mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0
      || mkdir (rootfs, 0700) < 0)
    {
      husk_error_set (err, errno, "container %.12s: create its directories", id);
      goto fail_rm;
    }
  {
    /* The container's "/" takes its mode from the upper directory: give it the image's.  */
    struct stat st;
    if (stat (lowers[husk_strv_len (lowers) - 1], &st) == 0)
      chmod (upper, st.st_mode & 07777);
  }
  if (write_container_record (store, cdir, id, img, argv[optind], args, err) < 0)
    goto fail_rm;

  memset (&spec, 0, sizeof (spec));
  spec.lowerdirs = lowers;
  spec.upperdir = upper;
  spec.workdir = work;
  spec.rootfs = rootfs;
  spec.args = args;
  spec.env = env;
  spec.cwd = cfg.workdir && *cfg.workdir ? cfg.workdir : "/";
  spec.hostname = hostname;
  spec.idmap = map;
  r = husk_container_run (&spec, &status, err);

fail_rm:
  if (rm || r < 0)
    {
      struct rm_job job = { .store = store, .relpath = cdir };
      cleanup_error struct husk_error *rmerr = NULL;
      if (husk_userns_run (map, do_remove, &job, &rmerr) < 0)
        fprintf (stderr, "husk: warning: container %.12s: %s\n", id, rmerr->msg);
    }
fail:
  husk_images_clear (&list);
  husk_image_config_clear (&cfg);
  if (r < 0)
    {
      if (*err && (*err)->status == 0)
        (*err)->status = HUSK_EXIT_USAGE;
      return -1;
    }
  return status;
}
