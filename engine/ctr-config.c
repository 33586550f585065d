/* A container's config.json: what it is and the whole spec to start it again (record.h).  */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "defaults.h"
#include "devices.h"
#include "digest.h"
#include "json.h"
#include "jsonmap.h"
#include "net.h"
#include "names.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

static const struct husk_jsonmap_enum mount_kinds[] = {
  { "bind", HUSK_MOUNT_BIND },
  { "tmpfs", HUSK_MOUNT_TMPFS },
  { NULL, 0 },
};

static const struct husk_jsonmap_enum networks[] = {
  { "none", HUSK_NETWORK_NONE },     { "host", HUSK_NETWORK_HOST },
  { "pasta", HUSK_NETWORK_PASTA },   { "container", HUSK_NETWORK_CONTAINER },
  { "bridge", HUSK_NETWORK_BRIDGE }, { NULL, 0 },
};

static const struct husk_jsonmap_enum seccomp_modes[] = {
  { "default", HUSK_SECCOMP_DEFAULT },
  { "unconfined", HUSK_SECCOMP_UNCONFINED },
  { "profile", HUSK_SECCOMP_PROFILE },
  { NULL, 0 },
};

/* config.json, pretty-printed, members in this order; strings only when set, everything else
   always.  The reader forgives what it always forgave (LAX): a member of the wrong type or an
   unknown name reads as absent, so as its default; only the string arrays must be arrays of
   strings.  The ID is the directory's, never read from the file.  */
#define LAX HUSK_JM_LAX
#define OMIT HUSK_JM_OMIT_EMPTY
static const struct husk_jsonmap_field mount_fields[] = {
  HUSK_JM_ENUM ("kind", struct husk_mount, kind, mount_kinds, LAX),
  HUSK_JM_STRING ("source", struct husk_mount, source, LAX),
  HUSK_JM_STRING ("dest", struct husk_mount, dest, LAX),
  HUSK_JM_STRING ("options", struct husk_mount, options, LAX),
  HUSK_JM_BOOL ("readonly", struct husk_mount, readonly, LAX),
  HUSK_JM_END,
};

/* RLIM_INFINITY round-trips as -1.  */
static const struct husk_jsonmap_field rlimit_fields[] = {
  HUSK_JM_INT ("resource", struct husk_rlimit, resource, LAX),
  HUSK_JM_U64_AS_I64 ("soft", struct husk_rlimit, soft, LAX),
  HUSK_JM_U64_AS_I64 ("hard", struct husk_rlimit, hard, LAX),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field port_fields[] = {
  HUSK_JM_STRING ("host_ip", struct husk_port, host_ip, LAX),
  HUSK_JM_INT ("host_port", struct husk_port, host_port, LAX),
  HUSK_JM_INT ("ctr_port", struct husk_port, ctr_port, LAX),
  HUSK_JM_STRING ("proto", struct husk_port, proto, LAX),
  HUSK_JM_INT ("host_port_end", struct husk_port, host_port_end, LAX | OMIT),
  HUSK_JM_BOOL ("all", struct husk_port, all, LAX | OMIT),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field config_fields[] = {
  HUSK_JM_CHARS ("id", struct husk_ctr, id, HUSK_JM_WRITE_ONLY),
  HUSK_JM_STRING ("name", struct husk_ctr, name, LAX),
  HUSK_JM_STRING ("image", struct husk_ctr, image, LAX),
  HUSK_JM_STRING ("image_name", struct husk_ctr, image_name, LAX),
  HUSK_JM_STRING ("created", struct husk_ctr, created, LAX),
  HUSK_JM_BOOL ("auto_remove", struct husk_ctr, auto_remove, LAX),
  HUSK_JM_STRING ("stop_signal", struct husk_ctr, stop_signal, LAX),
  HUSK_JM_STRV ("layers", struct husk_ctr, layers, 0),
  HUSK_JM_STRV ("args", struct husk_ctr, spec.args, 0),
  HUSK_JM_STRV ("env", struct husk_ctr, spec.env, 0),
  HUSK_JM_STRING ("cwd", struct husk_ctr, spec.cwd, LAX),
  HUSK_JM_STRING ("hostname", struct husk_ctr, spec.hostname, LAX),
  HUSK_JM_STRING ("user", struct husk_ctr, spec.user, LAX),
  HUSK_JM_ARRAY ("mounts", struct husk_ctr, spec.mounts, spec.n_mounts, mount_fields, LAX),
  HUSK_JM_BOOL ("readonly_rootfs", struct husk_ctr, spec.readonly_rootfs, LAX),
  HUSK_JM_ENUM ("network", struct husk_ctr, network, networks, LAX),
  /* The network's other settings, each only when set: a record without them is byte for byte
     what it was before they existed.  */
  HUSK_JM_STRING ("network_value", struct husk_ctr, network_value, LAX),
  HUSK_JM_STRV ("extra_networks", struct husk_ctr, extra_networks, OMIT),
  HUSK_JM_ARRAY ("ports", struct husk_ctr, ports, n_ports, port_fields, LAX | OMIT),
  HUSK_JM_STRV ("dns", struct husk_ctr, dns, OMIT),
  HUSK_JM_STRV ("dns_search", struct husk_ctr, dns_search, OMIT),
  HUSK_JM_STRV ("dns_options", struct husk_ctr, dns_options, OMIT),
  HUSK_JM_STRV ("extra_hosts", struct husk_ctr, extra_hosts, OMIT),
  HUSK_JM_STRV ("exposed", struct husk_ctr, exposed, OMIT),
  HUSK_JM_U64_AS_I64 ("caps", struct husk_ctr, spec.caps, LAX),
  HUSK_JM_BOOL ("privileged", struct husk_ctr, privileged, LAX),
  HUSK_JM_STRV ("masked_paths", struct husk_ctr, spec.masked_paths, 0),
  HUSK_JM_STRV ("readonly_paths", struct husk_ctr, spec.readonly_paths, 0),
  HUSK_JM_BOOL ("no_new_privs", struct husk_ctr, spec.no_new_privs, LAX),
  HUSK_JM_ENUM ("seccomp", struct husk_ctr, spec.seccomp, seccomp_modes, LAX),
  HUSK_JM_STRING ("seccomp_profile", struct husk_ctr, spec.seccomp_profile, LAX),
  HUSK_JM_ARRAY ("rlimits", struct husk_ctr, spec.rlimits, spec.n_rlimits, rlimit_fields, LAX),
  HUSK_JM_BOOL ("init", struct husk_ctr, spec.init, LAX),
  HUSK_JM_BOOL ("tty", struct husk_ctr, spec.tty, LAX),
  HUSK_JM_BOOL ("interactive", struct husk_ctr, spec.interactive, LAX),
  /* linux.resources (runtime/cgroups.h), each only when set: a record without limits is
     byte for byte what it was before they existed.  */
  HUSK_JM_INT64 ("memory_limit", struct husk_ctr, spec.resources.memory_limit, LAX | OMIT),
  HUSK_JM_INT64 ("memory_swap", struct husk_ctr, spec.resources.memory_swap, LAX | OMIT),
  HUSK_JM_INT64 ("memory_reservation", struct husk_ctr, spec.resources.memory_reservation,
                 LAX | OMIT),
  HUSK_JM_UINT64 ("cpu_shares", struct husk_ctr, spec.resources.cpu_shares, LAX | OMIT),
  HUSK_JM_INT64 ("cpu_quota", struct husk_ctr, spec.resources.cpu_quota, LAX | OMIT),
  HUSK_JM_UINT64 ("cpu_period", struct husk_ctr, spec.resources.cpu_period, LAX | OMIT),
  HUSK_JM_STRING ("cpu_cpus", struct husk_ctr, spec.resources.cpu_cpus, LAX),
  HUSK_JM_INT64 ("pids_limit", struct husk_ctr, spec.resources.pids_limit, LAX | OMIT),
  HUSK_JM_END,
};
#undef OMIT
#undef LAX

/* Encode C into G and write it as C's config.json.  */
static int
write_config (struct husk_store *s, const struct husk_ctr *c, bool durable, husk_jgen *g,
              struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/config.json", c->id);
  const char *buf;
  size_t len;

  husk_jsonmap_encode (g, config_fields, c);
  buf = husk_jgen_buf (g, &len);
  if (!durable)
    return husk_write_file_replace_at (husk_store_rootfd (s), path, buf, len, 0600, err);
  return husk_write_file_atomic_at (husk_store_rootfd (s), path, buf, len, 0600, err);
}

int
husk_ctr_save_config (struct husk_store *s, const struct husk_ctr *c, bool durable,
                      struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);

  return write_config (s, c, durable, g, err);
}

int
husk_ctr_save_new (struct husk_store *s, const struct husk_ctr *c, bool durable,
                   struct husk_ctr **ret, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  const char *buf;
  size_t len;

  if (write_config (s, c, durable, g, err) < 0)
    return -1;
  buf = husk_jgen_buf (g, &len);
  return husk_ctr_load_config_buf (s, c->id, buf, len, ret, err);
}

int
husk_ctr_parse_config (struct husk_store *s, struct husk_ctr *c, const char *buf, size_t len,
                       struct husk_error **err)
{
  struct husk_container_spec *sp = &c->spec;

  /* Absent or an unknown name: the default filter, never none.  */
  sp->seccomp = HUSK_SECCOMP_DEFAULT;
  if (husk_jsonmap_parse (buf, len, config_fields, c, err) < 0)
    return -1;
  /* A record written before the spec held its paths has Docker's, or none when privileged,
     as that husk applied them.  */
  if (sp->masked_paths == NULL && sp->readonly_paths == NULL)
    husk_defaults_paths (c->privileged, &sp->masked_paths, &sp->readonly_paths);
  /* Absent lists are empty ones.  */
  if (c->layers == NULL)
    c->layers = husk_xcalloc (1, sizeof (char *));
  if (sp->args == NULL)
    sp->args = husk_xcalloc (1, sizeof (char *));
  if (sp->env == NULL)
    sp->env = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; i < sp->n_mounts; i++)
    if (sp->mounts[i].dest == NULL
        || (sp->mounts[i].kind == HUSK_MOUNT_BIND && sp->mounts[i].source == NULL))
      return husk_error_set (err, 0, "mounts[%zu]: incomplete", i);
  for (size_t i = 0; i < c->n_ports; i++)
    {
      const struct husk_port *p = &c->ports[i];
      if (p->proto == NULL || (strcmp (p->proto, "tcp") != 0 && strcmp (p->proto, "udp") != 0)
          || p->ctr_port < 1 || p->ctr_port > 65535 || p->host_port < 0 || p->host_port > 65535
          || (p->host_port_end != 0
              && (p->host_port_end <= p->host_port || p->host_port_end > 65535)))
        return husk_error_set (err, 0, "ports[%zu]: invalid", i);
    }
  if ((c->network == HUSK_NETWORK_CONTAINER
       && (c->network_value == NULL || !husk_ctr_is_hex (c->network_value))))
    return husk_error_set (err, 0, "network: container without an ID");
  if (c->network == HUSK_NETWORK_BRIDGE
      && (c->network_value == NULL || !husk_ctr_name_valid (c->network_value)))
    return husk_error_set (err, 0, "network: bridge without a network's name");
  for (size_t i = 0; c->extra_networks && c->extra_networks[i]; i++)
    if (c->network != HUSK_NETWORK_BRIDGE || !husk_ctr_name_valid (c->extra_networks[i]))
      return husk_error_set (err, 0, "extra_networks[%zu]: invalid", i);
  if (sp->seccomp == HUSK_SECCOMP_PROFILE && sp->seccomp_profile == NULL)
    return husk_error_set (err, 0, "seccomp profile missing");
  /* The record keeps --network, not the list: which namespaces are made also depends on who
     starts it (a user namespace unless husk runs as root), which husk_ctr_load adds.  */
  husk_ctr_set_namespaces (c);
  /* Every container gets the default device rules (there is no --device yet); the cgroup
     is used only when husk runs as root.  */
  sp->device_cgroup = c->id;
  sp->devices = husk_devices_default;
  sp->n_devices = husk_devices_n_default;
  /* Its resource cgroup, when its spec has limits, has the same name.  */
  sp->resources_cgroup = c->id;

  /* Paths follow the store, wherever it is now.  */
  for (size_t i = 0; c->layers[i]; i++)
    {
      cleanup_free char *abs = husk_store_layer_dir (s, c->layers[i], err);
      if (abs == NULL)
        return husk_error_wrap (err, "layers[%zu]", i);
      husk_strv_append (&sp->lowerdirs, abs);
    }
  {
    const char *root = husk_store_root (s);
    sp->upperdir = husk_strdup_printf ("%s/containers/%s/upper", root, c->id);
    sp->workdir = husk_strdup_printf ("%s/containers/%s/work", root, c->id);
    sp->rootfs = husk_strdup_printf ("%s/containers/%s/rootfs", root, c->id);
  }
  return 0;
}
