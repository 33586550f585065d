/* Creating a container from an image: the image's config and the user's options become a
   spec (Docker's rules for Entrypoint, Cmd, Env, WorkingDir and User, Docker's defaults from
   defaults.h) and a record under a claimed name, with the container's directories.  What
   husk run and husk create do before anything runs; image builds (RUN steps) and an OCI
   runtime's create reuse it.  */
#ifndef HUSK_CREATE_H
#define HUSK_CREATE_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "defaults.h"
#include "error.h"

struct husk_store;
struct husk_ctr;

/* What a container's PATH is when its image sets none: Docker's.  husk commit leaves it out
   of the new image's Env again.  */
#define HUSK_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The user's options, as docker create takes them.  Everything is borrowed for the call; the
   zero value (with IMAGE set) is a container with the image's settings and Docker's
   defaults.  Each field is checked by the caller (the CLI reports usage errors itself).  */
struct husk_create_opts
{
  const char *image;      /* A reference or a unique ID prefix (husk_images_lookup); the record
                             keeps it as the image's name, as written.  */
  const char *name;       /* --name, valid (husk_ctr_name_valid); NULL: a generated one.  */
  char *const *args;      /* COMMAND [ARG...] after the image, NULL-terminated; NULL or empty:
                             none given.  */
  const char *entrypoint; /* --entrypoint; NULL: not given; "": no entrypoint.  */
  char *const *env;       /* -e and --env-file as "NAME=VALUE", in order; NULL: none.  */
  const char *user;       /* -u "USER[:GROUP]"; NULL: the image's User.  */
  const char *workdir;    /* -w, absolute; NULL: the image's WorkingDir, else "/".  */
  const char *hostname;   /* -h, 1 to 64 characters; NULL: the ID's first 12 characters.  */
  const struct husk_mount *mounts; /* -v and --tmpfs, in order.  */
  size_t n_mounts;
  const struct husk_rlimit *rlimits; /* --ulimit, in order.  */
  size_t n_rlimits;
  struct husk_security_opts security; /* --privileged, --cap-add/drop, --security-opt.  */
  enum husk_network network;          /* --network.  */
  /* --network pasta:OPTS's options, container:X's NAME or ID (the record keeps its ID), or a
     user network's name or ID (the record keeps its name); NULL otherwise.  */
  const char *network_value;
  const char *ip;       /* --ip: the address on a user network, or NULL for the next free.  */
  char *const *aliases; /* --network-alias names on a user network, or NULL.  */
  const struct husk_port *ports; /* -p, in order (engine/net.h).  */
  size_t n_ports;
  bool publish_all;        /* -P: every exposed port (the image's and EXPOSE) to a free one.  */
  char *const *expose;     /* --expose "PORT[/PROTO]" or ranges, NULL-terminated; or NULL.  */
  char *const *dns;        /* --dns addresses, or NULL.  */
  char *const *dns_search; /* --dns-search, or NULL.  */
  char *const *dns_option; /* --dns-option, or NULL.  */
  char *const *add_hosts;  /* --add-host "HOST:IP", or NULL.  */
  bool readonly_rootfs;    /* --read-only.  */
  bool init;               /* --init.  */
  bool tty;                /* -t.  */
  bool interactive;        /* -i.  */
  bool auto_remove;        /* --rm.  */
  bool durable;            /* fsync the record; false when the container is gone once the command
                              returns (husk run --rm in the foreground).  */

  /* Called (when not NULL) with a one-line warning that does not stop the creation: the
     image's StopSignal is unknown, say.  */
  void (*warn) (void *arg, const char *msg);
  void *warn_arg;
};

/* Create a container in store S from OPTS: look OPTS->image up and read its config, build the
   command with Docker's rule (arguments replace Cmd; the Entrypoint stays in front;
   --entrypoint replaces the Entrypoint and clears Cmd), the environment (PATH's default when
   the image sets none, HOSTNAME, the image's Env, then OPTS->env, a later NAME replacing an
   earlier one), the working directory and user (the option, else the image's), apply
   Docker's defaults (husk_defaults_apply), claim the name, make STORE/containers/ID/ (upper/
   with the mode of the image's root, work/, rootfs/) and write config.json.  The store's GC
   lock is held, shared, from the lookup until the record names the image.  *RET is the
   record as husk_ctr_load gives it (status created; free with husk_ctr_free).
   Errors, with status 0 (the caller picks the exit status): those of the image lookup;
   "image \"REF\": ..." for a config that cannot be read or parsed, a missing layer, no
   layers, or "no command to run: it has no Entrypoint or Cmd and none was given"; "name in
   use" (husk_ctr_name_claim); "network container \"X\": ..." (container:X that does not
   exist); the directories, the record's and the /etc files' writes (husk_net_write_etc).  On
   failure the name is released and the directory removed (what cannot be removed then,
   husk_ctr_sweep of a later command removes).  */
int husk_create (struct husk_store *s, const struct husk_create_opts *opts, struct husk_ctr **ret,
                 struct husk_error **err);

struct husk_image_config;

/* husk_create from a state no image in the store has: an image build's RUN step, whose
   container stands on the layers the steps before it made.  LAYERS: chain IDs, base first,
   every one in the store (at least one); CFG: what the image's config would give (its arrays
   may be NULL: empty); IMAGE_ID: what the record names as its image (the build's base image's
   ID, say), OPTS->image its name.  Unlike husk_create this takes no lock: the caller holds
   the store's GC lock, shared (husk_store_gc_lock), from before the layers were found until
   the container is gone, so no removal of images takes them meanwhile.  Errors as
   husk_create's after the lookup.  */
int husk_create_from_layers (struct husk_store *s, const struct husk_create_opts *opts,
                             const char *image_id, char *const *layers,
                             const struct husk_image_config *cfg, struct husk_ctr **ret,
                             struct husk_error **err);

#endif
