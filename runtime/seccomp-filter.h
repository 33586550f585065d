/* Seccomp (libseccomp): a filter with the effect of Docker's default profile, or one built from
   a Docker-style JSON profile.  The filter is compiled once, in the parent, to a BPF program;
   the container process only loads it, last before exec.  */
#ifndef HUSK_SECCOMP_H
#define HUSK_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct husk_seccomp_prog
{
  void *filter; /* struct sock_filter[len].  */
  size_t len;
};

/* The default profile for a container holding capabilities CAPS: the program compiled at build
   time when CAPS agree with the default set on the capabilities the profile looks at, else
   husk_seccomp_compile_default's.  */
int husk_seccomp_build_default (uint64_t caps, struct husk_seccomp_prog *ret,
                                struct husk_error **err);
/* The default profile compiled now, with libseccomp.  */
int husk_seccomp_compile_default (uint64_t caps, struct husk_seccomp_prog *ret,
                                  struct husk_error **err);

/* Written by seccomp-gen at build time (seccomp-default.c): the default profile for
   husk_caps_default (), for this machine's architectures; LEN 0 when it could not be built
   (a cross build).  */
extern const struct sock_filter husk_seccomp_embedded[];
extern const size_t husk_seccomp_embedded_len;
extern const uint64_t husk_seccomp_embedded_caps;
/* A Docker-style JSON profile (defaultAction, syscalls[].names/action/errnoRet/args,
   includes/excludes by caps).  */
int husk_seccomp_build_profile (const char *json, size_t len, uint64_t caps,
                                struct husk_seccomp_prog *ret, struct husk_error **err);
/* Load PROG into the calling process (needs no_new_privs or CAP_SYS_ADMIN).  */
int husk_seccomp_load (const struct husk_seccomp_prog *prog, struct husk_error **err);
void husk_seccomp_prog_clear (struct husk_seccomp_prog *prog);

#endif
