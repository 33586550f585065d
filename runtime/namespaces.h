/* A container's namespaces as the OCI runtime spec lists them (config-linux.md, "Namespaces"):
   each entry a type and an optional path.  No path: a new namespace of that type.  A path: the
   namespace that file is (/proc/PID/ns/TYPE, or a bind mount of one such as `ip netns add`
   makes) is joined.  A type not listed: the container keeps the caller's namespace of that
   type.  A type listed twice is an error.  */
#ifndef HUSK_NAMESPACES_H
#define HUSK_NAMESPACES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum husk_ns_type
{
  HUSK_NS_PID,
  HUSK_NS_NET,
  HUSK_NS_MOUNT,
  HUSK_NS_IPC,
  HUSK_NS_UTS,
  HUSK_NS_USER,
  HUSK_NS_CGROUP,
};
#define HUSK_NS_N_TYPES 7

struct husk_namespace
{
  enum husk_ns_type type;
  const char *path; /* NULL: a new namespace; else the file of one to join.  */
};

/* The OCI name of TYPE ("pid", "network", "mount", "ipc", "uts", "user", "cgroup"), and
   TYPE's from such a name (-1 for another name).  */
const char *husk_ns_type_name (enum husk_ns_type type);
int husk_ns_type_parse (const char *name);

/* TYPE's CLONE_NEW* flag.  */
unsigned long husk_ns_clone_flag (enum husk_ns_type type);

/* The entry of type TYPE among the N entries of NS, or NULL: the caller's namespace.  */
const struct husk_namespace *husk_ns_find (const struct husk_namespace *ns, size_t n,
                                           enum husk_ns_type type);

/* Whether the list gives TYPE a new namespace (listed without a path).  */
bool husk_ns_is_new (const struct husk_namespace *ns, size_t n, enum husk_ns_type type);

/* The CLONE_NEW* flags of the entries without a path (NEW_ONLY), or of every entry: those a
   process joining the container's first process through its pidfd takes, since whatever the
   first process joined by path is its own namespace from then on.  */
unsigned long husk_ns_flags (const struct husk_namespace *ns, size_t n, bool new_only);

/* Check the list before anything is opened.  Errors (no errno): a type out of range, a type
   listed twice ("namespaces: \"network\" is listed twice", as the OCI spec requires), an empty
   path, no mount namespace or one given a path (husk sets the container's root filesystem up
   by mounting in a mount namespace of its own: joining one would change another's mounts),
   IDMAP without a new user namespace or a new user namespace without IDMAP (an id map is
   written only to a namespace made for the container; a joined one keeps its own, as the OCI
   spec has it for linux.uidMappings), and WANT_UTS (a hostname to set) without a uts
   namespace.  */
int husk_ns_check (const struct husk_namespace *ns, size_t n, bool idmap, bool want_uts,
                   struct husk_error **err);

/* The namespaces to join, opened: FDS[TYPE] for each entry with a path, -1 for the others.  */
struct husk_ns_files
{
  int fds[HUSK_NS_N_TYPES];
};
#define HUSK_NS_FILES_INIT                                                                         \
  {                                                                                                \
    .fds = { -1, -1, -1, -1, -1, -1, -1 }                                                          \
  }

/* Open every path of NS (N entries) read-only, before any namespace is joined or made, and
   check that each is a namespace file of the type it is listed as: NS_GET_NSTYPE, or where
   that ioctl is missing (Linux before 4.11) the type /proc/self/fd/N names.  *RET is filled
   only on success; close it with husk_ns_files_close.  Errors: "namespace \"PATH\"" with the
   open's errno (a missing path: ENOENT), or "namespace \"PATH\": is not a network namespace"
   (no errno), with what it is instead when it is another kind of namespace.  */
int husk_ns_files_open (const struct husk_namespace *ns, size_t n, struct husk_ns_files *ret,
                        struct husk_error **err);
void husk_ns_files_close (struct husk_ns_files *files);
/* Whether FILES holds any namespace to join.  */
bool husk_ns_files_any (const struct husk_ns_files *files);

/* Join the namespaces FILES holds (from husk_ns_files_open of NS), in the calling process,
   which must be single-threaded; a pid namespace applies to its children from then on.  The
   order follows who may join what (setns(2), user_namespaces(7)): joining a namespace needs
   CAP_SYS_ADMIN in the user namespace that owns it and in the caller's own.  Without a user
   namespace to join, every other is joined with the caller's privileges.  With one, each other
   namespace is first tried before it, with the caller's privileges (a namespace owned by the
   caller's user namespace, such as the host's network namespace for root, cannot be joined
   once the caller is in a user namespace below it), and those refused with EPERM are joined
   again after it, with the capabilities its owner has in it (a rootless container joining
   another's namespaces joins its user namespace too).  A user namespace that is the caller's
   own is not joined again (the kernel refuses it).  Call it before any new namespace is made:
   a new user namespace would leave no capability over any namespace made outside it.
   Errors: "namespace \"PATH\": join" with errno; with EPERM, a line saying the namespace
   belongs to a user namespace the process has no CAP_SYS_ADMIN in.  */
int husk_ns_join (const struct husk_namespace *ns, size_t n, const struct husk_ns_files *files,
                  struct husk_error **err);

#endif
