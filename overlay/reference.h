/* Image references, with Docker's grammar and normalization.  */
#ifndef HUSK_REFERENCE_H
#define HUSK_REFERENCE_H

#include <stdbool.h>

#include "error.h"

struct husk_reference
{
  char *domain;    /* "docker.io", "localhost:5000", ...  */
  char *path;      /* "library/busybox"  */
  char *tag;       /* NULL when only a digest was given.  */
  char *digest;    /* NULL unless pinned.  */
  bool had_domain; /* The input named its registry.  */
};

/* Parse and normalize: "busybox" -> docker.io/library/busybox:latest.  */
int husk_reference_parse (const char *s, struct husk_reference *ret, struct husk_error **err);
void husk_reference_clear (struct husk_reference *r);

/* "domain/path:tag", or "domain/path@digest" when pinned and untagged.  */
char *husk_reference_string (const struct husk_reference *r);
/* "domain/path".  */
char *husk_reference_repository (const struct husk_reference *r);

bool husk_reference_valid_tag (const char *tag);

#endif
