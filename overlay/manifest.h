/* Descriptors, image indexes and manifests: the JSON documents every image source shares.  */
#ifndef HUSK_MANIFEST_H
#define HUSK_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

#define HUSK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HUSK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HUSK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HUSK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HUSK_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

struct husk_descriptor
{
  char *media_type; /* May be NULL (Docker's older documents omit it).  */
  char *digest;     /* Checked: a well-formed sha256 digest.  */
  int64_t size;
  char *ref_name; /* The org.opencontainers.image.ref.name annotation, or NULL.  */
  char *os, *architecture, *variant; /* The platform, when the descriptor has one.  */
};

int husk_descriptor_parse (const husk_json *v, struct husk_descriptor *ret,
                           struct husk_error **err);
void husk_descriptor_clear (struct husk_descriptor *d);

/* Whether MEDIA_TYPE names a layer husk can apply.  */
bool husk_layer_media_type_ok (const char *media_type);
bool husk_media_is_index (const char *media_type);
bool husk_media_is_manifest (const char *media_type);

/* This machine's platform in Go's names ("amd64", "arm64", ...).  */
const char *husk_host_arch (void);

/* From the index document BUF, the descriptor for linux on this machine's architecture.
   Attestation entries (unknown/unknown) are skipped; with none matching, the error lists the
   platforms the index offers.  */
int husk_index_select_platform (const char *buf, size_t len, struct husk_descriptor *ret,
                                struct husk_error **err);

/* The same for OS/ARCH and, when not NULL, VARIANT.  */
int husk_index_select (const char *buf, size_t len, const char *os, const char *arch,
                       const char *variant, struct husk_descriptor *ret, struct husk_error **err);

/* Split "OS/ARCH[/VARIANT]" (--platform).  */
int husk_platform_parse (const char *s, char **ret_os, char **ret_arch, char **ret_variant,
                         struct husk_error **err);

struct husk_manifest
{
  struct husk_descriptor config;
  struct husk_descriptor *layers;
  size_t n_layers;
};

/* Parse an image manifest: schemaVersion 2, a config and at least one layer, every layer of a
   media type husk can apply.  */
int husk_manifest_parse (const char *buf, size_t len, struct husk_manifest *ret,
                         struct husk_error **err);
void husk_manifest_clear (struct husk_manifest *m);

#endif
