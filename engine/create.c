/* A container from an image and the user's options (create.h).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "create.h"
#include "defaults.h"
#include "digest.h"
#include "image.h"
#include "names.h"
#include "net.h"
#include "networks.h"
#include "record.h"
#include "remove.h"
#include "signame.h"
#include "store.h"
#include "timestamp.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (8 * 1024 * 1024)

/* Docker's rule: arguments replace Cmd; Entrypoint stays in front; --entrypoint replaces
   Entrypoint and clears Cmd.  */
static char **
build_command (const struct husk_create_opts *opts, const struct husk_image_config *cfg)
{
  char **args = husk_xcalloc (1, sizeof (char *));

  if (opts->entrypoint)
    {
      if (*opts->entrypoint)
        husk_strv_append (&args, opts->entrypoint);
    }
  else
    for (size_t i = 0; cfg->entrypoint[i]; i++)
      husk_strv_append (&args, cfg->entrypoint[i]);
  if (opts->args && opts->args[0])
    for (size_t i = 0; opts->args[i]; i++)
      husk_strv_append (&args, opts->args[i]);
  else if (!opts->entrypoint)
    for (size_t i = 0; cfg->cmd[i]; i++)
      husk_strv_append (&args, cfg->cmd[i]);
  return args;
}

/* Docker's order: PATH when the image has none, HOSTNAME, the image's Env, then the user's;
   a later NAME replaces an earlier one.  HOME, when none of them sets it, comes from the
   user's passwd entry when the container starts (runtime/container.h).  */
static char **
build_env (const struct husk_create_opts *opts, const struct husk_image_config *cfg,
           const char *hostname)
{
  char **env = husk_xcalloc (1, sizeof (char *));
  cleanup_free char *hostenv = husk_strdup_printf ("HOSTNAME=%s", hostname);

  if (!husk_env_has (cfg->env, "PATH"))
    husk_strv_append (&env, HUSK_DEFAULT_PATH);
  husk_strv_append (&env, hostenv);
  for (size_t i = 0; cfg->env[i]; i++)
    husk_env_set (&env, cfg->env[i]);
  for (size_t i = 0; opts->env && opts->env[i]; i++)
    husk_env_set (&env, opts->env[i]);
  return env;
}

/* STORE/containers/ID/ with upper/, work/ and rootfs/.  The container's "/" takes its mode
   from the upper directory: it gets the mode of the image's top layer.  */
static int
make_dirs (struct husk_store *s, const char *id, char *const *layers, bool *made_dir,
           struct husk_error **err)
{
  cleanup_free char *cdir = husk_strdup_printf ("containers/%s", id);
  cleanup_close int dfd = -1;
  mode_t root_mode = 0755;
  struct stat st;

  if (mkdirat (husk_store_rootfd (s), "containers", 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"containers\" in the store");
  if (mkdirat (husk_store_rootfd (s), cdir, 0700) < 0)
    return husk_error_set (err, errno, "container %.12s: create its directory", id);
  *made_dir = true;
  dfd = openat (husk_store_rootfd (s), cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; layers[i]; i++)
    {
      cleanup_free char *rel = husk_store_layer_relpath (layers[i]);
      if (layers[i + 1] == NULL && fstatat (husk_store_rootfd (s), rel, &st, 0) == 0)
        root_mode = st.st_mode & 07777;
    }
  if (dfd < 0 || mkdirat (dfd, "upper", root_mode) < 0 || mkdirat (dfd, "work", 0700) < 0
      || mkdirat (dfd, "rootfs", 0700) < 0 || fchmodat (dfd, "upper", root_mode, 0) < 0)
    return husk_error_set (err, errno, "container %.12s: create its directories", id);
  return 0;
}

/* After a failure: release NAME and remove what make_dirs made, as the caller's user
   namespace (husk's own when it runs as root).  Failures are dropped: the sweep of a later
   command (husk_ctr_sweep) finishes what this leaves.  */
static void
undo (struct husk_store *s, const char *id, const char *name, bool made_dir)
{
  cleanup_error struct husk_error *e = NULL;
  struct husk_idmap map;

  if (name)
    husk_ctr_name_release (s, name, id);
  if (!made_dir)
    return;
  if (geteuid () == 0)
    husk_ctr_remove_id (s, id, NULL, NULL, &e);
  else if (husk_idmap_for_user (geteuid (), getegid (), NULL, NULL, &map, &e) == 0)
    husk_ctr_remove_id (s, id, NULL, &map, &e);
}

/* -P's ports: every port CFG exposes and OPTS->expose adds ("80", "80/udp", "8000-8010/tcp"),
   to a host port picked at start, unless -p publishes it already; appended to *PORTS.  */
static int
publish_all (const struct husk_create_opts *opts, const struct husk_image_config *cfg,
             struct husk_port **ports, size_t *n, struct husk_error **err)
{
  char *const *lists[2] = { cfg->exposed_ports, opts->expose };

  for (size_t l = 0; l < 2; l++)
    for (size_t i = 0; lists[l] && lists[l][i]; i++)
      {
        struct husk_port *exposed = NULL;
        size_t n_exposed = 0;
        if (husk_ports_parse (l == 0 ? "image's exposed port" : "expose", lists[l][i], &exposed,
                              &n_exposed, err)
            < 0)
          return -1;
        for (size_t j = 0; j < n_exposed; j++)
          {
            bool have = false;
            for (size_t k = 0; k < *n && !have; k++)
              have = (*ports)[k].ctr_port == exposed[j].ctr_port
                     && strcmp ((*ports)[k].proto, exposed[j].proto) == 0;
            if (have)
              continue;
            *ports = husk_xrealloc (*ports, (*n + 1) * sizeof (**ports));
            (*ports)[(*n)++] = (struct husk_port){ .host_ip = NULL,
                                                   .host_port = 0,
                                                   .ctr_port = exposed[j].ctr_port,
                                                   .proto = husk_xstrdup (exposed[j].proto),
                                                   .all = true };
          }
        husk_ports_free (exposed, n_exposed);
      }
  return 0;
}

/* The part of a creation after the image is known: IMG_ID and LAYERS (chain IDs, base first)
   with CFG.  The caller holds the store's GC lock (shared) so the layers stay.  */
static int
create_from (struct husk_store *s, const struct husk_create_opts *opts, const char *img_id,
             char *const *layers, const struct husk_image_config *cfg, struct husk_ctr **ret,
             struct husk_error **err)
{
  cleanup_free char *name = NULL, *hostname = NULL, *net_ctr = NULL, *net_name = NULL;
  cleanup_strv char **args = NULL, **env = NULL, **exposed = NULL;
  struct husk_port *ports = NULL;
  size_t n_ports = 0;
  struct husk_container_spec spec;
  struct husk_ctr rec;
  bool made_dir = false, attached = false, internal = false;
  char id[HUSK_DIGEST_HEX_LEN + 1];
  char created[64];
  int r = -1;

  memset (&spec, 0, sizeof (spec));
  memset (&rec, 0, sizeof (rec));

  /* Kept as the image gives it (docker inspect shows it so), but said now, not only when the
     container is stopped.  */
  if (cfg->stop_signal && opts->warn)
    {
      cleanup_error struct husk_error *serr = NULL;
      if (husk_signal_parse (cfg->stop_signal, &serr) < 0)
        {
          cleanup_free char *msg = husk_strdup_printf (
              "image \"%s\": stop %s: husk stop will send SIGTERM", opts->image, serr->msg);
          opts->warn (opts->warn_arg, msg);
        }
    }

  args = build_command (opts, cfg);
  if (args[0] == NULL || *args[0] == '\0')
    return husk_error_set (err, 0,
                           "image \"%s\": no command to run: it has no Entrypoint or Cmd "
                           "and none was given",
                           opts->image);
  for (size_t i = 0; layers[i]; i++)
    if (!husk_store_has_layer (s, layers[i]))
      return husk_error_set (err, 0, "image \"%s\": layer %s is missing from the store",
                             opts->image, layers[i]);
  if (layers[0] == NULL)
    return husk_error_set (err, 0, "image \"%s\": has no layers", opts->image);

  if (opts->network == HUSK_NETWORK_CONTAINER)
    {
      /* The record names the other container by ID; its hostname is this one's too.  */
      cleanup_ctr struct husk_ctr *other = NULL;
      if (husk_ctr_load (s, opts->network_value, &other, err) < 0)
        return husk_error_wrap (err, "network container \"%s\"", opts->network_value);
      net_ctr = husk_xstrdup (other->id);
      if (!opts->hostname && other->spec.hostname)
        hostname = husk_xstrdup (other->spec.hostname);
    }
  if (opts->network == HUSK_NETWORK_BRIDGE)
    {
      /* The record names the network by name.  */
      cleanup_network struct husk_network_rec *n = NULL;
      if (husk_network_load (s, opts->network_value, &n, err) < 0)
        return -1;
      net_name = husk_xstrdup (n->name);
      internal = n->internal;
    }
  for (size_t i = 0; i < opts->n_ports; i++)
    {
      ports = husk_xrealloc (ports, (n_ports + 1) * sizeof (*ports));
      ports[n_ports] = opts->ports[i];
      ports[n_ports].host_ip
          = opts->ports[i].host_ip ? husk_xstrdup (opts->ports[i].host_ip) : NULL;
      ports[n_ports].proto = husk_xstrdup (opts->ports[i].proto);
      n_ports++;
    }
  if (opts->publish_all && publish_all (opts, cfg, &ports, &n_ports, err) < 0)
    goto fail_ports;
  if (internal && n_ports)
    {
      /* No way in either, as docker has it: its ports are not published.  */
      if (opts->warn)
        {
          cleanup_free char *msg = husk_strdup_printf (
              "network \"%s\" is internal: published ports are discarded", net_name);
          opts->warn (opts->warn_arg, msg);
        }
      husk_ports_free (ports, n_ports);
      ports = NULL;
      n_ports = 0;
    }
  /* Config.ExposedPorts as docker has it: the image's, --expose's and every published port.  */
  for (size_t i = 0; cfg->exposed_ports && cfg->exposed_ports[i]; i++)
    if (!husk_strv_contains (exposed, cfg->exposed_ports[i]))
      husk_strv_append (&exposed, cfg->exposed_ports[i]);
  for (size_t i = 0; opts->expose && opts->expose[i]; i++)
    {
      struct husk_port *e = NULL;
      size_t ne = 0;
      if (husk_ports_parse ("expose", opts->expose[i], &e, &ne, err) < 0)
        goto fail_ports;
      for (size_t j = 0; j < ne; j++)
        {
          cleanup_free char *key = husk_strdup_printf ("%d/%s", e[j].ctr_port, e[j].proto);
          if (!husk_strv_contains (exposed, key))
            husk_strv_append (&exposed, key);
        }
      husk_ports_free (e, ne);
    }
  for (size_t i = 0; i < n_ports; i++)
    {
      cleanup_free char *key = husk_strdup_printf ("%d/%s", ports[i].ctr_port, ports[i].proto);
      if (!husk_strv_contains (exposed, key))
        husk_strv_append (&exposed, key);
    }

  if (husk_random_hex (id, HUSK_DIGEST_HEX_LEN, err) < 0)
    goto fail_ports;
  if (hostname == NULL && opts->hostname)
    hostname = husk_xstrdup (opts->hostname);
  else if (hostname == NULL && opts->network == HUSK_NETWORK_HOST)
    {
      /* docker: with the host's network, the host's name.  */
      char host[256] = "";
      if (gethostname (host, sizeof (host) - 1) == 0 && host[0])
        hostname = husk_xstrdup (host);
    }
  if (hostname == NULL)
    hostname = husk_strdup_printf ("%.12s", id);
  env = build_env (opts, cfg, hostname);

  if (opts->name)
    {
      if (husk_ctr_name_claim (s, opts->name, id, err) < 0)
        goto fail_ports;
      name = husk_xstrdup (opts->name);
    }
  else if (husk_ctr_name_generate (s, id, &name, err) < 0)
    goto fail_ports;
  if (make_dirs (s, id, layers, &made_dir, err) < 0)
    goto fail;
  if (net_name)
    {
      if (husk_network_attach (s, net_name, id, opts->ip, opts->aliases, NULL, err) < 0)
        goto fail;
      attached = true;
    }

  /* The spec owns all it points to (runtime/container.h).  */
  spec.args = TAKE_PTR (args);
  spec.env = TAKE_PTR (env);
  spec.cwd = husk_xstrdup (opts->workdir                   ? opts->workdir
                           : cfg->workdir && *cfg->workdir ? cfg->workdir
                                                           : "/");
  spec.hostname = husk_xstrdup (hostname);
  spec.user = opts->user ? husk_xstrdup (opts->user) : cfg->user ? husk_xstrdup (cfg->user) : NULL;
  spec.mounts = husk_mounts_dup (opts->mounts, opts->n_mounts);
  spec.n_mounts = opts->n_mounts;
  spec.rlimits = husk_xcalloc (opts->n_rlimits ? opts->n_rlimits : 1, sizeof (*spec.rlimits));
  if (opts->n_rlimits)
    memcpy ((void *) spec.rlimits, opts->rlimits, opts->n_rlimits * sizeof (*spec.rlimits));
  spec.n_rlimits = opts->n_rlimits;
  spec.readonly_rootfs = opts->readonly_rootfs;
  spec.init = opts->init;
  spec.tty = opts->tty;
  spec.interactive = opts->interactive;
  husk_defaults_apply (&spec, &opts->security);

  husk_now_rfc3339 (created, sizeof (created));
  memcpy (rec.id, id, sizeof (rec.id));
  rec.name = name;
  rec.image = (char *) img_id;
  rec.image_name = (char *) opts->image;
  rec.created = created;
  rec.auto_remove = opts->auto_remove;
  rec.privileged = opts->security.privileged;
  rec.network = opts->network;
  rec.network_value = opts->network == HUSK_NETWORK_CONTAINER ? net_ctr
                      : opts->network == HUSK_NETWORK_PASTA   ? (char *) opts->network_value
                      : opts->network == HUSK_NETWORK_BRIDGE  ? net_name
                                                              : NULL;
  rec.ports = ports;
  rec.n_ports = n_ports;
  rec.dns = (char **) opts->dns;
  rec.dns_search = (char **) opts->dns_search;
  rec.dns_options = (char **) opts->dns_option;
  rec.extra_hosts = (char **) opts->add_hosts;
  rec.exposed = exposed;
  rec.stop_signal = cfg->stop_signal;
  rec.layers = (char **) layers;
  rec.spec = spec;
  if (husk_ctr_save_new (s, &rec, opts->durable, ret, err) < 0)
    goto fail;
  if (husk_net_write_etc (s, *ret, err) < 0)
    {
      husk_ctr_free (*ret);
      *ret = NULL;
      goto fail;
    }
  /* The others on its network learn its name.  */
  if (net_name)
    husk_net_hosts_refresh (s, net_name, id);
  r = 0;
  goto done;

fail:
  if (attached)
    husk_network_detach (s, net_name, id, NULL);
  undo (s, id, name, made_dir);
done:
  husk_container_spec_clear (&spec);
fail_ports:
  husk_ports_free (ports, n_ports);
  return r;
}

int
husk_create (struct husk_store *s, const struct husk_create_opts *opts, struct husk_ctr **ret,
             struct husk_error **err)
{
  cleanup_free char *config_buf = NULL;
  struct husk_image_list list = { 0 };
  struct husk_image_config cfg = { 0 };
  const struct husk_image *img;
  size_t config_len;
  int r = -1;

  /* Shared: no image can be removed from the lookup until the record names it.  */
  if (husk_store_gc_lock (s, false, err) < 0)
    return -1;
  if (husk_images_load (s, &list, err) < 0)
    goto out;
  img = husk_images_lookup (&list, opts->image, err);
  if (img == NULL)
    goto out;
  if (husk_store_read_blob (s, img->config, CONFIG_MAX, &config_buf, &config_len, err) < 0
      || husk_image_config_parse (config_buf, config_len, &cfg, err) < 0)
    {
      husk_error_wrap (err, "image \"%s\"", opts->image);
      goto out;
    }
  r = create_from (s, opts, img->id, img->layers, &cfg, ret, err);
out:
  husk_store_gc_unlock (s);
  husk_images_clear (&list);
  husk_image_config_clear (&cfg);
  return r;
}

int
husk_create_from_layers (struct husk_store *s, const struct husk_create_opts *opts,
                         const char *image_id, char *const *layers,
                         const struct husk_image_config *cfg, struct husk_ctr **ret,
                         struct husk_error **err)
{
  char *none[] = { NULL };
  struct husk_image_config c = *cfg;

  /* husk_image_config_parse never leaves these NULL; a caller's config may.  */
  c.env = c.env ? c.env : none;
  c.entrypoint = c.entrypoint ? c.entrypoint : none;
  c.cmd = c.cmd ? c.cmd : none;
  return create_from (s, opts, image_id, layers, &c, ret, err);
}
