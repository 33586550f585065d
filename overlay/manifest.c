#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "digest.h"
#include "manifest.h"
#include "util.h"
#include "banned.h"

static const char *const layer_media_types[] = {
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

bool
husk_layer_media_type_ok (const char *media_type)
{
  for (size_t i = 0; i < sizeof (layer_media_types) / sizeof (layer_media_types[0]); i++)
    if (strcmp (media_type, layer_media_types[i]) == 0)
      return true;
  return false;
}

static char *
dup_or_null (const char *s)
{
  return s ? husk_xstrdup (s) : NULL;
}

void
husk_descriptor_clear (struct husk_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->ref_name);
  free (d->os);
  free (d->architecture);
  free (d->variant);
  memset (d, 0, sizeof (*d));
}

int
husk_descriptor_parse (const husk_json *v, struct husk_descriptor *ret, struct husk_error **err)
{
  const char *digest = husk_json_get_string (v, "digest");
  const husk_json *platform = husk_json_get (v, "platform");
  struct husk_descriptor d;

  memset (&d, 0, sizeof (d));
  if (!husk_json_is_object (v))
    return husk_error_set (err, 0, "descriptor is not an object");
  if (digest == NULL)
    return husk_error_set (err, 0, "descriptor has no digest");
  if (husk_digest_check (digest, err) < 0)
    return -1;
  if (!husk_json_int64 (husk_json_get (v, "size"), &d.size) || d.size < 0)
    return husk_error_set (err, 0, "descriptor %s has no valid size", digest);
  d.digest = husk_xstrdup (digest);
  d.media_type = dup_or_null (husk_json_get_string (v, "mediaType"));
  d.ref_name = dup_or_null (
      husk_json_get_string (husk_json_get (v, "annotations"), HUSK_ANNOTATION_REF_NAME));
  d.os = dup_or_null (husk_json_get_string (platform, "os"));
  d.architecture = dup_or_null (husk_json_get_string (platform, "architecture"));
  d.variant = dup_or_null (husk_json_get_string (platform, "variant"));
  *ret = d;
  return 0;
}

bool
husk_media_is_index (const char *mt)
{
  return mt && (strcmp (mt, HUSK_MT_OCI_INDEX) == 0 || strcmp (mt, HUSK_MT_DOCKER_LIST) == 0);
}

bool
husk_media_is_manifest (const char *mt)
{
  return mt
         && (strcmp (mt, HUSK_MT_OCI_MANIFEST) == 0 || strcmp (mt, HUSK_MT_DOCKER_MANIFEST) == 0);
}

const char *
husk_host_arch (void)
{
  static char machine[65];
  static const struct
  {
    const char *uname, *go;
  } arches[] = {
    { "x86_64", "amd64" }, { "aarch64", "arm64" },   { "armv7l", "arm" },  { "i686", "386" },
    { "i386", "386" },     { "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" },
  };
  struct utsname u;

  if (uname (&u) < 0)
    return "amd64";
  for (size_t i = 0; i < sizeof (arches) / sizeof (arches[0]); i++)
    if (strcmp (u.machine, arches[i].uname) == 0)
      return arches[i].go;
  snprintf (machine, sizeof (machine), "%s", u.machine);
  return machine;
}

int
husk_index_select_platform (const char *buf, size_t len, struct husk_descriptor *ret,
                            struct husk_error **err)
{
  return husk_index_select (buf, len, "linux", husk_host_arch (), NULL, ret, err);
}

int
husk_platform_parse (const char *s, char **ret_os, char **ret_arch, char **ret_variant,
                     struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (s);
  char *arch, *variant;

  arch = strchr (copy, '/');
  if (arch == NULL)
    return husk_error_set (err, 0, "platform \"%s\": expected OS/ARCH[/VARIANT]", s);
  *arch++ = '\0';
  variant = strchr (arch, '/');
  if (variant)
    *variant++ = '\0';
  if (*copy == '\0' || *arch == '\0' || (variant && (*variant == '\0' || strchr (variant, '/'))))
    return husk_error_set (err, 0, "platform \"%s\": expected OS/ARCH[/VARIANT]", s);
  *ret_os = husk_xstrdup (copy);
  *ret_arch = husk_xstrdup (arch);
  *ret_variant = variant ? husk_xstrdup (variant) : NULL;
  return 0;
}

int
husk_index_select (const char *buf, size_t len, const char *os, const char *arch,
                   const char *variant, struct husk_descriptor *ret, struct husk_error **err)
{
  cleanup_json husk_json *idx = husk_json_parse (buf, len, err);
  cleanup_free char *offered = husk_xstrdup ("");
  const husk_json *manifests;

  if (idx == NULL)
    return -1;
  manifests = husk_json_get (idx, "manifests");
  if (!husk_json_is_array (manifests))
    return husk_error_set (err, 0, "index has no manifests");
  for (size_t i = 0; i < husk_json_array_len (manifests); i++)
    {
      struct husk_descriptor d;
      if (husk_descriptor_parse (husk_json_array_at (manifests, i), &d, err) < 0)
        return husk_error_wrap (err, "index entry %zu", i);
      if (d.os && d.architecture && strcmp (d.os, os) == 0 && strcmp (d.architecture, arch) == 0
          && (variant == NULL || (d.variant && strcmp (d.variant, variant) == 0)))
        {
          *ret = d;
          return 0;
        }
      /* Attestations (unknown/unknown) are not images.  */
      if (d.os && d.architecture && strcmp (d.os, "unknown") != 0)
        {
          char *t = husk_strdup_printf ("%s%s%s/%s%s%s", offered, *offered ? ", " : "", d.os,
                                        d.architecture, d.variant ? "/" : "",
                                        d.variant ? d.variant : "");
          free (offered);
          offered = t;
        }
      husk_descriptor_clear (&d);
    }
  return husk_error_set (err, 0, "no image for %s/%s%s%s (the index offers: %s)", os, arch,
                         variant ? "/" : "", variant ? variant : "",
                         *offered ? offered : "nothing");
}

void
husk_manifest_clear (struct husk_manifest *m)
{
  husk_descriptor_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    husk_descriptor_clear (&m->layers[i]);
  free (m->layers);
  memset (m, 0, sizeof (*m));
}

int
husk_manifest_parse (const char *buf, size_t len, struct husk_manifest *ret,
                     struct husk_error **err)
{
  cleanup_json husk_json *doc = husk_json_parse (buf, len, err);
  const husk_json *layers;
  struct husk_manifest m;
  int64_t version = 0;

  memset (&m, 0, sizeof (m));
  if (doc == NULL)
    return -1;
  if (!husk_json_int64 (husk_json_get (doc, "schemaVersion"), &version) || version != 2)
    return husk_error_set (err, 0, "manifest: schemaVersion is not 2");
  if (husk_descriptor_parse (husk_json_get (doc, "config"), &m.config, err) < 0)
    return husk_error_wrap (err, "manifest config");
  layers = husk_json_get (doc, "layers");
  m.n_layers = husk_json_array_len (layers);
  if (m.n_layers == 0)
    {
      husk_manifest_clear (&m);
      return husk_error_set (err, 0, "manifest has no layers");
    }
  m.layers = husk_xcalloc (m.n_layers, sizeof (*m.layers));
  for (size_t i = 0; i < m.n_layers; i++)
    {
      struct husk_descriptor *l = &m.layers[i];
      if (husk_descriptor_parse (husk_json_array_at (layers, i), l, err) < 0)
        {
          husk_manifest_clear (&m);
          return husk_error_wrap (err, "manifest layer %zu", i);
        }
      if (l->media_type == NULL || !husk_layer_media_type_ok (l->media_type))
        {
          husk_error_set (err, 0, "layer %s: unsupported media type \"%s\"", l->digest,
                          l->media_type ? l->media_type : "");
          husk_manifest_clear (&m);
          return -1;
        }
    }
  *ret = m;
  return 0;
}
