/* Unit tests for overlay/'s documents: descriptors, image indexes, manifests and image configs,
   valid and broken, with the exact errors.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "imageconfig.h"
#include "manifest.h"
#include "tap.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define LAYER_MT "application/vnd.oci.image.layer.v1.tar+gzip"
#define CONFIG_MT "application/vnd.oci.image.config.v1+json"

static bool
str_eq_ (const char *a, const char *b)
{
  return a && b && strcmp (a, b) == 0;
}

#define LEN(lit) lit, sizeof (lit) - 1

/* The error of a call that must fail, compared whole.  */
#define FAILS_WITH(call, want_msg, what)                                                           \
  do                                                                                               \
    {                                                                                              \
      struct husk_error *_e = NULL;                                                                \
      int _rc = (call);                                                                            \
      ok (_rc < 0 && _e != NULL, what);                                                            \
      is_str (_e ? _e->msg : NULL, want_msg, what ": the error");                                  \
      husk_error_free (&_e);                                                                       \
    }                                                                                              \
  while (0)

static void
test_manifest (void)
{
  struct husk_manifest m = { 0 };
  struct husk_error *e = NULL;
  static const char good[]
      = "{\"schemaVersion\":2,\"mediaType\":\"" HUSK_MT_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" CONFIG_MT "\",\"digest\":\"" D1 "\",\"size\":7},"
        "\"layers\":[{\"mediaType\":\"" LAYER_MT "\",\"digest\":\"" D2 "\",\"size\":100},"
        "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
        "\"digest\":\"" D3 "\",\"size\":0,\"extra\":[1]}],\"annotations\":{\"a\":\"b\"}}";

  ok (husk_manifest_parse (LEN (good), &m, &e) == 0, "a manifest parses");
  ok (m.n_layers == 2 && str_eq_ (m.config.digest, D1) && m.config.size == 7
          && str_eq_ (m.config.media_type, CONFIG_MT) && str_eq_ (m.layers[0].digest, D2)
          && m.layers[0].size == 100 && str_eq_ (m.layers[0].media_type, LAYER_MT)
          && str_eq_ (m.layers[1].digest, D3) && m.layers[1].size == 0,
      "its config and layers, in order");
  husk_manifest_clear (&m);
  husk_error_free (&e);

  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,"), &m, &_e),
              "invalid json: parse error: premature EOF", "a torn manifest");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":1}"), &m, &_e),
              "manifest: schemaVersion is not 2", "schemaVersion 1");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":\"2\"}"), &m, &_e),
              "manifest: schemaVersion is not 2", "schemaVersion as a string");
  FAILS_WITH (husk_manifest_parse (LEN ("[2]"), &m, &_e), "manifest: schemaVersion is not 2",
              "an array");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"layers\":[]}"), &m, &_e),
              "manifest config: descriptor is not an object", "no config");
  FAILS_WITH (
      husk_manifest_parse (
          LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}"), &m, &_e),
      "manifest config: descriptor " D1 " has no valid size", "a config without size");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                        "\",\"size\":\"7\"},\"layers\":[]}"),
                                   &m, &_e),
              "manifest config: descriptor " D1 " has no valid size", "a size as a string");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                        "\",\"size\":-1},\"layers\":[]}"),
                                   &m, &_e),
              "manifest config: descriptor " D1 " has no valid size", "a negative size");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":7,"
                                        "\"size\":1},\"layers\":[]}"),
                                   &m, &_e),
              "manifest config: descriptor has no digest", "a digest as a number");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":"
                                        "\"md5:abc\",\"size\":1},\"layers\":[]}"),
                                   &m, &_e),
              "manifest config: digest \"md5:abc\": algorithm \"md5\" is not supported",
              "another digest algorithm");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":"
                                        "\"sha256:12\",\"size\":1},\"layers\":[]}"),
                                   &m, &_e),
              "manifest config: digest \"sha256:12\": malformed", "a short digest");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                        "\",\"size\":1},\"layers\":[]}"),
                                   &m, &_e),
              "manifest has no layers", "no layers");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                        "\",\"size\":1},\"layers\":{\"a\":1}}"),
                                   &m, &_e),
              "manifest has no layers", "layers as an object");
  FAILS_WITH (husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                        "\",\"size\":1},\"layers\":[{\"mediaType\":\"" LAYER_MT
                                        "\",\"digest\":\"" D2 "\",\"size\":1},\"x\"]}"),
                                   &m, &_e),
              "manifest layer 1: descriptor is not an object", "a layer that is a string");
  FAILS_WITH (
      husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                "\",\"size\":1},\"layers\":[{\"mediaType\":"
                                "\"application/x-tar\",\"digest\":\"" D2 "\",\"size\":1}]}"),
                           &m, &_e),
      "layer " D2 ": unsupported media type \"application/x-tar\"", "an unknown layer media type");
  FAILS_WITH (
      husk_manifest_parse (LEN ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                "\",\"size\":1},\"layers\":[{\"digest\":\"" D2 "\",\"size\":1}]}"),
                           &m, &_e),
      "layer " D2 ": unsupported media type \"\"", "a layer without a media type");
  ok (m.n_layers == 0 && m.layers == NULL, "a failed parse leaves the manifest empty");
}

static void
test_index (void)
{
  struct husk_descriptor d = { 0 };
  struct husk_error *e = NULL;
  cleanup_free char *doc = husk_strdup_printf (
      "{\"schemaVersion\":2,\"mediaType\":\"" HUSK_MT_OCI_INDEX "\",\"manifests\":["
      "{\"mediaType\":\"" HUSK_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
      "{\"mediaType\":\"" HUSK_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":20,"
      "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"},"
      "\"annotations\":{\"" HUSK_ANNOTATION_REF_NAME "\":\"v1\"}},"
      "{\"mediaType\":\"" HUSK_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":30,"
      "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}",
      husk_host_arch ());
  cleanup_free char *offers = husk_strdup_printf (
      "no image for linux/arm/v7 (the index offers: linux/arm/v6, linux/%s)", husk_host_arch ());

  ok (husk_index_select_platform (doc, strlen (doc), &d, &e) == 0 && str_eq_ (d.digest, D2)
          && d.size == 20 && str_eq_ (d.os, "linux") && str_eq_ (d.architecture, husk_host_arch ())
          && d.variant == NULL && str_eq_ (d.ref_name, "v1")
          && str_eq_ (d.media_type, HUSK_MT_OCI_MANIFEST),
      "an index: this machine's entry, with its annotation");
  husk_descriptor_clear (&d);
  husk_error_free (&e);
  ok (husk_index_select (doc, strlen (doc), "linux", "arm", "v6", &d, &e) == 0
          && str_eq_ (d.digest, D1) && str_eq_ (d.variant, "v6"),
      "an index: an entry by variant");
  husk_descriptor_clear (&d);
  husk_error_free (&e);
  FAILS_WITH (husk_index_select (doc, strlen (doc), "linux", "arm", "v7", &d, &_e), offers,
              "no such variant: the error lists what there is, not attestations");
  FAILS_WITH (husk_index_select (LEN ("{\"manifests\":[]}"), "linux", "s390x", NULL, &d, &_e),
              "no image for linux/s390x (the index offers: nothing)", "an empty index");
  FAILS_WITH (husk_index_select (LEN ("{\"manifests\":{}}"), "linux", "s390x", NULL, &d, &_e),
              "index has no manifests", "manifests as an object");
  FAILS_WITH (husk_index_select (LEN ("{\"schemaVersion\":2}"), "linux", "s390x", NULL, &d, &_e),
              "index has no manifests", "no manifests");
  FAILS_WITH (husk_index_select (LEN ("{\"manifests\":[{\"digest\":\"" D1 "\"}]}"), "linux",
                                 "s390x", NULL, &d, &_e),
              "index entry 0: descriptor " D1 " has no valid size", "an entry without size");
  FAILS_WITH (
      husk_index_select (LEN ("{\"manifests\":[{\"size\":3}]}"), "linux", "s390x", NULL, &d, &_e),
      "index entry 0: descriptor has no digest", "an entry without digest");
  FAILS_WITH (husk_index_select (LEN ("{\"manifests\":["), "linux", "s390x", NULL, &d, &_e),
              "invalid json: parse error: premature EOF", "a torn index");

  ok (husk_media_is_index (HUSK_MT_OCI_INDEX) && husk_media_is_index (HUSK_MT_DOCKER_LIST)
          && !husk_media_is_index (HUSK_MT_OCI_MANIFEST) && !husk_media_is_index (NULL)
          && husk_media_is_manifest (HUSK_MT_DOCKER_MANIFEST)
          && !husk_media_is_manifest ("application/json"),
      "media types: indexes and manifests");
}

static void
test_image_config (void)
{
  struct husk_image_config c = { 0 };
  struct husk_error *e = NULL;
  static const char good[]
      = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
        "\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Entrypoint\":[\"/e\"],\"Cmd\":[\"-x\"],"
        "\"WorkingDir\":\"/w\",\"User\":\"u:g\",\"StopSignal\":\"SIGINT\",\"Labels\":{}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},"
        "\"history\":[{}]}";
  static const char bare[] = "{\"rootfs\":{\"diff_ids\":[]}}";

  ok (husk_image_config_parse (LEN (good), &c, &e) == 0, "an image config parses");
  ok (husk_strv_len (c.env) == 2 && str_eq_ (c.env[1], "A=1") && str_eq_ (c.entrypoint[0], "/e")
          && c.entrypoint[1] == NULL && str_eq_ (c.cmd[0], "-x") && str_eq_ (c.workdir, "/w")
          && str_eq_ (c.user, "u:g") && str_eq_ (c.stop_signal, "SIGINT")
          && str_eq_ (c.architecture, "amd64") && str_eq_ (c.os, "linux")
          && str_eq_ (c.created, "2024-01-01T00:00:00Z") && husk_strv_len (c.diff_ids) == 2
          && str_eq_ (c.diff_ids[1], D2),
      "every field it reads");
  husk_image_config_clear (&c);
  husk_error_free (&e);
  ok (husk_image_config_parse (LEN (bare), &c, &e) == 0 && c.env && c.env[0] == NULL && c.cmd
          && c.cmd[0] == NULL && c.entrypoint && c.diff_ids && c.diff_ids[0] == NULL
          && c.workdir == NULL && c.user == NULL && c.os == NULL && c.created == NULL,
      "a config with nothing but rootfs: empty lists, absent strings");
  husk_image_config_clear (&c);
  husk_error_free (&e);
  ok (husk_image_config_parse (LEN ("{\"config\":{\"Cmd\":null,\"User\":5},\"rootfs\":"
                                    "{\"diff_ids\":[]}}"),
                               &c, &e)
              == 0
          && c.cmd && c.cmd[0] == NULL && c.user == NULL,
      "a null list is empty; a string of the wrong type is absent");
  husk_image_config_clear (&c);
  husk_error_free (&e);

  FAILS_WITH (husk_image_config_parse (LEN ("[]"), &c, &_e), "config is not a json object",
              "an array");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"config\":{}}"), &c, &_e),
              "config has no rootfs.diff_ids", "no rootfs");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"rootfs\":{\"diff_ids\":\"" D1 "\"}}"), &c, &_e),
              "config has no rootfs.diff_ids", "diff_ids as a string");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"rootfs\":{\"diff_ids\":[\"x\"]}}"), &c, &_e),
              "config diff_ids[0]: digest \"x\": malformed", "a malformed diff_id");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"rootfs\":{\"diff_ids\":[3]}}"), &c, &_e),
              "\"diff_ids\": element 0 is not a string", "a diff_id as a number");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"config\":{\"Env\":\"A=1\"},\"rootfs\":"
                                            "{\"diff_ids\":[]}}"),
                                       &c, &_e),
              "\"Env\": not an array", "Env as a string");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"config\":{\"Cmd\":[\"a\",1]},\"rootfs\":"
                                            "{\"diff_ids\":[]}}"),
                                       &c, &_e),
              "\"Cmd\": element 1 is not a string", "Cmd with a number");
  FAILS_WITH (husk_image_config_parse (LEN ("{\"rootfs\":"), &c, &_e),
              "invalid json: parse error: premature EOF", "a torn config");
  ok (c.env == NULL && c.diff_ids == NULL, "a failed parse leaves the config empty");
}

/* The whole document (imageconfig.h): read, changed, written back in a fixed order.  */
static void
test_oci_config (void)
{
  /* A config as Docker writes one, with members neither spec names ("container",
     "docker_version") and a Healthcheck.  */
  static const char in[]
      = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"docker_version\":\"20.10\","
        "\"container\":\"abc\",\"created\":\"2024-01-02T03:04:05Z\","
        "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"ExposedPorts\":"
        "{\"80/tcp\":{},\"53/udp\":{}},\"Labels\":{\"a\":\"1\"},\"Healthcheck\":{\"Test\":"
        "[\"CMD-SHELL\",\"true\"],\"Interval\":30000000000,\"Retries\":3},\"Shell\":[\"/bin/"
        "bash\",\"-c\"],\"OnBuild\":[\"RUN x\"],\"Hostname\":\"\"},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111\"]},"
        "\"history\":[{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":\"/bin/sh -c "
        "#(nop) ADD x\"},{\"created_by\":\"CMD sh\",\"empty_layer\":true}]}";
  struct husk_oci_config c;
  struct husk_error *err = NULL;
  cleanup_free char *out = NULL;
  size_t len;

  ok (husk_oci_config_parse (in, strlen (in), &c, &err) == 0, "oci config: parse Docker's");
  ok (c.config.exposed_ports && strcmp (c.config.exposed_ports[0], "80/tcp") == 0
          && strcmp (c.config.exposed_ports[1], "53/udp") == 0 && !c.config.exposed_ports[2],
      "ExposedPorts: the keys, in order");
  ok (c.config.healthcheck.interval == 30000000000 && c.config.healthcheck.retries == 3,
      "Healthcheck: interval in ns, retries");
  ok (c.n_history == 2 && c.history[1].empty_layer, "history: two entries, the second empty");
  husk_oci_config_add_history (&c, "2024-02-03T00:00:00Z", "RUN true", NULL, NULL, false);
  husk_strv_append (&c.diff_ids,
                    "sha256:2222222222222222222222222222222222222222222222222222222222222222");
  out = husk_oci_config_write (&c, &len);
  is_str (out,
          "{\"created\":\"2024-01-02T03:04:05Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
          "\"config\":{\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Env\":[\"PATH=/bin\"],"
          "\"Cmd\":[\"sh\"],\"Labels\":{\"a\":\"1\"},\"Healthcheck\":{\"Test\":[\"CMD-SHELL\","
          "\"true\"],\"Interval\":30000000000,\"Retries\":3},\"OnBuild\":[\"RUN x\"],"
          "\"Shell\":[\"/bin/bash\",\"-c\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
          "[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
          "\"sha256:2222222222222222222222222222222222222222222222222222222222222222\"]},"
          "\"history\":[{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":\"/bin/sh -c "
          "#(nop) ADD x\"},{\"created_by\":\"CMD sh\",\"empty_layer\":true},{\"created\":"
          "\"2024-02-03T00:00:00Z\",\"created_by\":\"RUN true\"}]}",
          "written back: the spec's members in order, the others gone, the entry added");
  ok (len == strlen (out), "its length");
  husk_oci_config_clear (&c);

  /* An empty Healthcheck and empty sets are left out whole.  */
  {
    static const char min[] = "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":"
                              "\"linux\",\"config\":{\"Volumes\":{}},\"rootfs\":{\"type\":"
                              "\"layers\",\"diff_ids\":[]}}";
    cleanup_free char *o2 = NULL;
    ok (husk_oci_config_parse (min, strlen (min), &c, &err) == 0, "a minimal config");
    o2 = husk_oci_config_write (&c, &len);
    is_str (o2,
            "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"rootfs\":"
            "{\"type\":\"layers\",\"diff_ids\":[]}}",
            "no empty config object, variant kept");
    husk_oci_config_clear (&c);
  }
  {
    static const char bad[] = "{\"config\":{\"ExposedPorts\":[]}}";
    ok (husk_oci_config_parse (bad, strlen (bad), &c, &err) < 0, "ExposedPorts as an array");
  }
  is_str (err ? err->msg : NULL,
          "image config: \"config.ExposedPorts\": expected an object, got an array", "its message");
  husk_error_free (&err);
}

int
main (void)
{
  test_manifest ();
  test_index ();
  test_image_config ();
  test_oci_config ();
  return tap_done ();
}
