/* Docker's defaults for a container's confinement (defaults.h).  */
#include "config.h"

#include <stdlib.h>

#include "caps.h"
#include "defaults.h"
#include "util.h"
#include "banned.h"

/* Hidden behind /dev/null (files) or an empty read-only tmpfs (directories): kernel state a
   container has no business reading, as Docker lists them.  */
const char *const husk_default_masked_paths[] = {
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
  NULL,
};
const char *const husk_default_readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static char **
strv_copy (const char *const *v)
{
  char **out = husk_xcalloc (1, sizeof (char *));

  for (size_t i = 0; v && v[i]; i++)
    husk_strv_append (&out, v[i]);
  return out;
}

void
husk_defaults_paths (bool privileged, char ***ret_masked, char ***ret_readonly)
{
  *ret_masked = strv_copy (privileged ? NULL : husk_default_masked_paths);
  *ret_readonly = strv_copy (privileged ? NULL : husk_default_readonly_paths);
}

size_t
husk_defaults_namespaces (enum husk_network network, bool userns,
                          struct husk_namespace ret[HUSK_NS_N_TYPES])
{
  /* In the order of the clone flags husk always used; the order of a list means nothing to
     runtime/.  */
  static const enum husk_ns_type always[]
      = { HUSK_NS_MOUNT, HUSK_NS_PID, HUSK_NS_UTS, HUSK_NS_IPC, HUSK_NS_CGROUP };
  size_t n = 0;

  for (size_t i = 0; i < sizeof (always) / sizeof (always[0]); i++)
    ret[n++] = (struct husk_namespace){ .type = always[i] };
  if (userns)
    ret[n++] = (struct husk_namespace){ .type = HUSK_NS_USER };
  if (network != HUSK_NETWORK_HOST)
    ret[n++] = (struct husk_namespace){ .type = HUSK_NS_NET };
  return n;
}

void
husk_defaults_apply (struct husk_container_spec *spec, const struct husk_security_opts *opts)
{
  if (opts->privileged)
    spec->caps = husk_caps_all ();
  else if (opts->cap_drop == husk_caps_all ())
    /* As in Docker, an explicit --cap-add wins over --cap-drop ALL.  */
    spec->caps = opts->cap_add;
  else
    spec->caps = (husk_caps_default () | opts->cap_add) & ~opts->cap_drop;

  spec->seccomp_profile = opts->seccomp_profile ? husk_xstrdup (opts->seccomp_profile) : NULL;
  if (opts->privileged || opts->seccomp_unconfined)
    spec->seccomp = HUSK_SECCOMP_UNCONFINED;
  else if (opts->seccomp_profile)
    spec->seccomp = HUSK_SECCOMP_PROFILE;
  else
    spec->seccomp = HUSK_SECCOMP_DEFAULT;
  spec->no_new_privs = opts->no_new_privs;

  husk_defaults_paths (opts->privileged, &spec->masked_paths, &spec->readonly_paths);
}
