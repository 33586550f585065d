/* Seccomp (libseccomp): a filter with the effect of Docker's default profile, or one built from
   a Docker-style JSON profile.  The filter is compiled once, in the parent, to a BPF program;
   the container process only loads it, last before exec.  */
#ifndef HUSK_SECCOMP_H
#define HUSK_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct husk_seccomp_prog
{
  void *filter;  /* struct sock_filter[len].  */
  size_t len;
};

/* The default profile for a container holding capabilities CAPS.  */
int husk_seccomp_build_default (uint64_t caps, struct husk_seccomp_prog *ret,
                                struct husk_error **err);
/* A Docker-style JSON profile (defaultAction, syscalls[].names/action/errnoRet/args,
   includes/excludes by caps).  */
int husk_seccomp_build_profile (const char *json, size_t len, uint64_t caps,
                                struct husk_seccomp_prog *ret, struct husk_error **err);
/* Load PROG into the calling process (needs no_new_privs or CAP_SYS_ADMIN).  */
int husk_seccomp_load (const struct husk_seccomp_prog *prog, struct husk_error **err);
void husk_seccomp_prog_clear (struct husk_seccomp_prog *prog);

#endif
