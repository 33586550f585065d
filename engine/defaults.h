/* Docker's defaults for a container's confinement: what "privileged" means, the masked and
   read-only paths, the capability set and the seccomp choice.  The container core (runtime/)
   applies exactly what its spec says; this is where husk decides what that is, as moby's
   daemon does when it builds an OCI spec (oci/defaults.go, daemon/oci_linux.go).  */
#ifndef HUSK_DEFAULTS_H
#define HUSK_DEFAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "container.h"

/* docker run's --network, as husk has it (the record keeps it: engine/ctr-config.c).  */
enum husk_network
{
  HUSK_NETWORK_NONE,      /* A new network namespace with only lo, up.  */
  HUSK_NETWORK_HOST,      /* The caller's network namespace.  */
  HUSK_NETWORK_PASTA,     /* A new one joined to the host's by pasta (engine/net.h).  */
  HUSK_NETWORK_CONTAINER, /* Another container's, joined (engine/net.h).  */
  HUSK_NETWORK_BRIDGE,    /* A new one on a user network's bridge (engine/networks.h).  */
};

/* The user's confinement options, as docker run takes them.  The zero value is a container
   with Docker's defaults.  */
struct husk_security_opts
{
  bool privileged;             /* --privileged.  */
  uint64_t cap_add, cap_drop;  /* --cap-add, --cap-drop: capability masks (husk_caps_parse).  */
  bool seccomp_unconfined;     /* --security-opt seccomp=unconfined.  */
  const char *seccomp_profile; /* --security-opt seccomp=FILE: its text (a Docker-style JSON
                                  profile), or NULL.  Ignored while SECCOMP_UNCONFINED.  */
  bool no_new_privs;           /* --security-opt no-new-privileges.  */
};

/* Docker's masked paths (OCI linux.maskedPaths) and read-only paths (linux.readonlyPaths) for
   an unprivileged container, NULL-terminated; a privileged one gets none.  */
extern const char *const husk_default_masked_paths[];
extern const char *const husk_default_readonly_paths[];

/* Fill SPEC's confinement from OPTS with Docker's rules:
   - capabilities: Docker's default set (husk_caps_default) plus CAP_ADD less CAP_DROP; with
     --cap-drop ALL, only CAP_ADD (an explicit add wins over dropping all); privileged: every
     capability the kernel knows;
   - seccomp: none when privileged or SECCOMP_UNCONFINED, else the profile when one is given,
     else the default program (HUSK_SECCOMP_DEFAULT); SPEC->seccomp_profile is a copy of
     OPTS->seccomp_profile either way (the record keeps what the user gave);
   - masked and read-only paths: Docker's lists, none when privileged (husk_defaults_paths);
   - no_new_privs as OPTS says.
   What it sets is SPEC's own (husk_container_spec_clear frees it).  Nothing else in SPEC is
   touched.  Cannot fail.  */
void husk_defaults_apply (struct husk_container_spec *spec, const struct husk_security_opts *opts);

/* The namespaces of a container (the spec's list, runtime/namespaces.h), as Docker gives
   them: a new mount, pid, uts, ipc and cgroup namespace; a new network namespace unless
   NETWORK is HUSK_NETWORK_HOST (then the caller's); a new user namespace when USERNS (husk
   does not run as root and writes its id map).  Nothing is joined by path.  Fills RET (room for
   HUSK_NS_N_TYPES entries) and returns how many.  Cannot fail.  */
size_t husk_defaults_namespaces (enum husk_network network, bool userns,
                                 struct husk_namespace ret[HUSK_NS_N_TYPES]);

/* Docker's masked and read-only paths for a container, PRIVILEGED or not, as allocated
   NULL-terminated arrays (empty, never NULL, when privileged).  For husk_defaults_apply and
   for records written before a spec held its paths (engine/ctr-config.c).  */
void husk_defaults_paths (bool privileged, char ***ret_masked, char ***ret_readonly);

#endif
