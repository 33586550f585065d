/* Unit tests for what husk commit is made of, without a container: a config changed member by
   member (overlay/configedit.c), the -c instructions (engine/commit.c), and an image made here
   published all or nothing (overlay/newimage.c).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commit.h"
#include "configedit.h"
#include "image.h"
#include "json.h"
#include "layerout.h"
#include "manifest.h"
#include "newimage.h"
#include "store.h"
#include "tap.h"
#include "userns-root.h"
#include "util.h"

static const char parent_config[]
    = "{\"architecture\":\"amd64\",\"author\":\"someone else\",\"custom\":{\"x\":1},"
      "\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"Labels\":{\"a\":\"b\"},"
      "\"OnBuild\":null,\"Weird\":[1,2]},"
      "\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) CMD [\\\"sh\\\"]\"]},"
      "\"created\":\"2020-01-01T00:00:00Z\",\"os\":\"linux\","
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
      "1111111111111111111111111111111111111111111111111111111111111111\"]},"
      "\"history\":[{\"created_by\":\"base\"}]}";

static char *
member_text (const husk_json *cfg, const char *key)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  const husk_json *v = husk_json_get (cfg, key);
  size_t len;
  const char *buf;

  if (v == NULL)
    return husk_xstrdup ("(none)");
  husk_jgen_value (g, v);
  buf = husk_jgen_buf (g, &len);
  return husk_strdup_printf ("%.*s", (int) len, buf);
}

static void
check_member (const husk_json *obj, const char *key, const char *want, const char *what)
{
  cleanup_free char *got = member_text (obj, key);
  is_str (got, want, "%s", what);
}

static void
test_config_edit (void)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_config_edit e;
  static char *const changes[] = {
    "ENV B=2 \"C=three four\" D=\\\"q\\\"",
    "env E the rest of the line",
    "LABEL k=v \"q=w x\"",
    "CMD [\"echo\", \"hi\"]",
    "ENTRYPOINT /bin/app --flag",
    "WORKDIR /srv",
    "WORKDIR sub",
    "USER 1000:1000",
    "EXPOSE 80 53/udp 8000-8002",
    "VOLUME /data",
    "VOLUME [\"/a\", \"/data\"]",
    "STOPSIGNAL SIGINT",
    NULL,
  };
  cleanup_free char *out = NULL;
  cleanup_json husk_json *doc = NULL;
  const husk_json *cfg;
  size_t len;

  ok (husk_config_edit_init (&e, parent_config, strlen (parent_config), &err) == 0,
      "configedit: the parent config parses");
  ok (husk_commit_apply_changes (&e, changes, &err) == 0, "-c: every instruction applies%s%s",
      err ? ": " : "", err ? err->msg : "");
  e.diff_id
      = husk_xstrdup ("sha256:2222222222222222222222222222222222222222222222222222222222222222");
  e.created = husk_xstrdup ("2026-01-02T03:04:05Z");
  e.author = husk_xstrdup ("me");
  e.history_created_by = husk_xstrdup ("sh -c make");
  e.history_comment = husk_xstrdup ("a message");
  out = husk_config_edit_render (&e, &len);
  printf ("# %s\n", out);
  doc = husk_json_parse (out, len, &err);
  ok (doc != NULL, "configedit: the new config is JSON");
  cfg = husk_json_get (doc, "config");
  check_member (
      cfg, "Env",
      "[\"PATH=/bin\",\"A=1\",\"B=2\",\"C=three four\",\"D=\\\"q\\\"\",\"E=the rest of the line\"]",
      "-c ENV: pairs with quotes and escapes, and the NAME VALUE form, appended");
  check_member (cfg, "Labels", "{\"a\":\"b\",\"k\":\"v\",\"q\":\"w x\"}",
                "-c LABEL: kept and added");
  check_member (cfg, "Entrypoint", "[\"/bin/sh\",\"-c\",\"/bin/app --flag\"]",
                "-c ENTRYPOINT: the shell form runs /bin/sh -c");
  check_member (cfg, "Cmd", "[\"echo\",\"hi\"]",
                "-c CMD: the exec form, kept by a later ENTRYPOINT");
  check_member (cfg, "WorkingDir", "\"/srv/sub\"", "-c WORKDIR: a relative one joins the last");
  check_member (cfg, "User", "\"1000:1000\"", "-c USER");
  check_member (cfg, "ExposedPorts",
                "{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{},\"8002/tcp\":{}}",
                "-c EXPOSE: tcp by default, ranges expanded");
  check_member (cfg, "Volumes", "{\"/data\":{},\"/a\":{}}", "-c VOLUME: words and JSON, once each");
  check_member (cfg, "StopSignal", "\"SIGINT\"", "-c STOPSIGNAL");
  check_member (cfg, "OnBuild", "null", "configedit: members husk does not change are kept");
  check_member (cfg, "Weird", "[1,2]", "configedit: ... whatever they hold");
  check_member (doc, "custom", "{\"x\":1}", "configedit: unknown top-level members are kept");
  check_member (doc, "container_config", "(none)",
                "configedit: the parent's container_config is not the child's");
  check_member (doc, "author", "\"me\"", "configedit: the author is replaced");
  check_member (doc, "created", "\"2026-01-02T03:04:05Z\"", "configedit: created is the new time");
  check_member (husk_json_get (doc, "rootfs"), "diff_ids",
                "[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
                "\"sha256:2222222222222222222222222222222222222222222222222222222222222222\"]",
                "configedit: the new diff ID is appended");
  check_member (doc, "history",
                "[{\"created_by\":\"base\"},{\"created\":\"2026-01-02T03:04:05Z\",\"created_by\":"
                "\"sh -c make\",\"author\":\"me\",\"comment\":\"a message\"}]",
                "configedit: a history entry is appended");
  ok (strstr (out, "\"architecture\"") < strstr (out, "\"custom\"")
          && strstr (out, "\"custom\"") < strstr (out, "\"config\"")
          && strstr (out, "\"config\"") < strstr (out, "\"os\""),
      "configedit: members keep the parent's order");
  husk_config_edit_clear (&e);

  /* An ENTRYPOINT alone clears an inherited Cmd; no layer marks the entry empty; no author. */
  {
    static char *const ep[] = { "ENTRYPOINT [\"/bin/app\"]", NULL };
    cleanup_free char *o2 = NULL;
    cleanup_json husk_json *d2 = NULL;
    husk_config_edit_init (&e, parent_config, strlen (parent_config), &err);
    ok (husk_commit_apply_changes (&e, ep, &err) == 0, "-c ENTRYPOINT alone applies");
    o2 = husk_config_edit_render (&e, &len);
    d2 = husk_json_parse (o2, len, NULL);
    check_member (husk_json_get (d2, "config"), "Cmd", "null",
                  "-c ENTRYPOINT: clears a Cmd no -c CMD set (as in a Dockerfile)");
    check_member (d2, "author", "(none)", "configedit: no author without -a (docker's rule)");
    check_member (husk_json_get (d2, "rootfs"), "diff_ids",
                  "[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"]",
                  "configedit: no new layer, no new diff ID");
    check_member (d2, "history", "[{\"created_by\":\"base\"},{\"empty_layer\":true}]",
                  "configedit: the entry of no layer is marked empty_layer");
    check_member (d2, "created", "\"2020-01-01T00:00:00Z\"",
                  "configedit: created stays when none is given");
    husk_config_edit_clear (&e);
  }
  /* ONBUILD appends its trigger, as the builder records it, after the parent's.  */
  {
    static const char with_triggers[]
        = "{\"config\":{\"OnBuild\":[\"RUN first\"],\"Cmd\":[\"sh\"]}}";
    static char *const ob[] = { "ONBUILD RUN make  ", "onbuild copy . /src", NULL };
    cleanup_free char *o4 = NULL, *o5 = NULL;
    cleanup_json husk_json *d4 = NULL, *d5 = NULL;
    husk_config_edit_init (&e, parent_config, strlen (parent_config), &err);
    ok (husk_commit_apply_changes (&e, ob, &err) == 0, "-c ONBUILD applies%s%s", err ? ": " : "",
        err ? err->msg : "");
    o4 = husk_config_edit_render (&e, &len);
    d4 = husk_json_parse (o4, len, NULL);
    check_member (husk_json_get (d4, "config"), "OnBuild", "[\"RUN make\",\"copy . /src\"]",
                  "-c ONBUILD: each trigger in order, its text as given (a null list starts)");
    check_member (husk_json_get (d4, "config"), "Cmd", "[\"sh\"]",
                  "-c ONBUILD: nothing else changes");
    husk_config_edit_clear (&e);
    husk_config_edit_init (&e, with_triggers, strlen (with_triggers), &err);
    husk_commit_apply_changes (&e, ob, &err);
    o5 = husk_config_edit_render (&e, &len);
    d5 = husk_json_parse (o5, len, NULL);
    check_member (husk_json_get (d5, "config"), "OnBuild",
                  "[\"RUN first\",\"RUN make\",\"copy . /src\"]",
                  "-c ONBUILD: appended after the parent's triggers");
    husk_config_edit_clear (&e);
  }
  /* A parent with no config, rootfs or history at all.  */
  {
    static char *const env[] = { "ENV A=1", NULL };
    cleanup_free char *o3 = NULL;
    husk_config_edit_init (&e, "{}", 2, &err);
    husk_commit_apply_changes (&e, env, &err);
    e.diff_id
        = husk_xstrdup ("sha256:2222222222222222222222222222222222222222222222222222222222222222");
    o3 = husk_config_edit_render (&e, &len);
    is_str (
        o3,
        "{\"config\":{\"Env\":[\"A=1\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
        "2222222222222222222222222222222222222222222222222222222222222222\"]},\"history\":[{}]}",
        "configedit: an empty parent gets config, rootfs and history");
    husk_config_edit_clear (&e);
  }
}

static void
bad_change (const char *text, const char *expect)
{
  cleanup_error struct husk_error *err = NULL;
  char *const changes[] = { (char *) text, NULL };
  struct husk_commit_opts o = { .changes = changes, .source_date_epoch = -1 };

  ok (husk_commit_check (&o, &err) < 0 && err && strstr (err->msg, expect),
      "-c \"%s\" refused: \"%s\" (got \"%s\")", text, expect, err ? err->msg : "");
}

static void
test_bad_changes (void)
{
  bad_change ("FROM busybox", "not \"FROM\"");
  bad_change ("RUN true", "husk commit takes ENV");
  bad_change ("", "no instruction");
  bad_change ("ENV", "needs NAME=VALUE");
  bad_change ("ENV A", "needs NAME=VALUE or NAME VALUE");
  bad_change ("ENV A=1 B", "\"B\" is not NAME=VALUE");
  bad_change ("ENV =x", "\"=x\" is not NAME=VALUE");
  bad_change ("LABEL a=\"open", "unterminated quote");
  bad_change ("CMD", "needs a command");
  bad_change ("EXPOSE 0", "a port is a number");
  bad_change ("EXPOSE 90-80", "a port is a number");
  bad_change ("EXPOSE 80/icmp", "tcp, udp or sctp");
  bad_change ("VOLUME [1]", "not a JSON array of strings");
  bad_change ("STOPSIGNAL NOPE", "unknown");
  bad_change ("WORKDIR", "needs a directory");
  bad_change ("ONBUILD", "needs an instruction");
  bad_change ("ONBUILD onbuild RUN x", "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  bad_change ("ONBUILD from busybox", "FROM isn't allowed as an ONBUILD trigger");
  bad_change ("ONBUILD MAINTAINER me", "MAINTAINER isn't allowed as an ONBUILD trigger");
  bad_change ("ONBUILD NOPE x", "unknown instruction \"NOPE\"");
  {
    cleanup_error struct husk_error *err = NULL;
    struct husk_commit_opts o = { .name = "Bad:Name", .source_date_epoch = -1 };
    ok (husk_commit_check (&o, &err) < 0, "a bad image name is refused before any work");
  }
}

/* ------------------------------------------------------------------ publishing */

static char sandbox[] = "/tmp/husk-commit-XXXXXX";

static int
count_entries (const char *path)
{
  cleanup_dir DIR *d = opendir (path);
  struct dirent *de;
  int n = 0;
  while (d && (de = readdir (d)) != NULL)
    n += de->d_name[0] != '.';
  return n;
}

static void
test_publish (void)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *root = NULL, *up = NULL, *blobs = NULL, *layers = NULL, *tmp = NULL;
  struct husk_store *s = NULL;
  struct husk_layer_write_opts lo = {
    .mode = HUSK_LAYER_WRITE_COPY, .rootless = geteuid () != 0, .clamp_mtime = -1, .gzip_level = 1
  };
  struct husk_layer_written lw;
  cleanup_free char *staged = NULL;
  static const char config[] = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  char id[HUSK_DIGEST_LEN + 1] = "";
  char *names[] = { "localhost/committed:1", NULL };
  int n_blobs, n_layers;

  if (mkdtemp (sandbox) == NULL)
    {
      ok (0, "publish: mkdtemp");
      return;
    }
  root = husk_strdup_printf ("%s/store", sandbox);
  up = husk_strdup_printf ("%s/up", sandbox);
  blobs = husk_strdup_printf ("%s/blobs/sha256", root);
  layers = husk_strdup_printf ("%s/layers", root);
  tmp = husk_strdup_printf ("%s/tmp", root);
  mkdir (up, 0755);
  {
    cleanup_free char *f = husk_strdup_printf ("%s/file", up);
    int fd = open (f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    husk_write_all (fd, "data\n", 5);
    close (fd);
  }
  if (husk_store_open (root, &s, &err) < 0)
    {
      ok (0, "publish: store: %s", err->msg);
      return;
    }

  /* A parent layer the store does not have: nothing is left behind.  The store lock is held
     from the staging on (taking it sweeps tmp/).  */
  husk_store_lock (s, &err);
  ok (husk_layer_write (s, AT_FDCWD, up, &lo, &lw, &staged, &err) == 0, "publish: a layer staged");
  {
    char *missing[]
        = { "sha256:3333333333333333333333333333333333333333333333333333333333333333", NULL };
    struct husk_descriptor d = { .media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                 .digest = missing[0],
                                 .size = 1 };
    struct husk_new_image ni = { .config = config,
                                 .config_len = strlen (config),
                                 .layers = &d,
                                 .chain_ids = missing,
                                 .n_layers = 1,
                                 .staged = staged,
                                 .layer = &lw,
                                 .names = names };
    ok (husk_image_publish_new (s, &ni, id, &err) < 0 && err
            && strstr (err->msg, "not in the store"),
        "publish: a missing parent layer fails (%s)", err ? err->msg : "");
    husk_error_free (&err);
    husk_store_unlock (s);
    ok (count_entries (blobs) == 0 && count_entries (layers) == 0 && count_entries (tmp) == 0,
        "publish: ... and leaves no blob, layer or staged directory");
    free (TAKE_PTR (staged));
  }

  husk_store_lock (s, &err);
  ok (husk_layer_write (s, AT_FDCWD, up, &lo, &lw, &staged, &err) == 0, "publish: staged again");
  {
    struct husk_new_image ni = { .config = config,
                                 .config_len = strlen (config),
                                 .staged = staged,
                                 .layer = &lw,
                                 .names = names,
                                 .created = "2026-01-01T00:00:00Z" };
    char cdigest[HUSK_DIGEST_LEN + 1];
    struct husk_image_list l = { 0 };
    const struct husk_image *img;

    husk_sha256_buf (config, strlen (config), cdigest);
    ok (husk_image_publish_new (s, &ni, id, &err) == 0, "publish: an image with a new layer%s%s",
        err ? ": " : "", err ? err->msg : "");
    free (TAKE_PTR (staged));
    husk_store_unlock (s);
    is_str (id, cdigest, "publish: its ID is its config's digest");
    n_blobs = count_entries (blobs);
    n_layers = count_entries (layers);
    ok (n_blobs == 3 && n_layers == 1,
        "publish: config, manifest and layer blobs, one layer (%d, %d)", n_blobs, n_layers);
    husk_images_load (s, &l, &err);
    img = husk_images_lookup (&l, "committed:1", &err);
    ok (img && strcmp (img->id, husk_digest_hex (id)) == 0 && husk_strv_len (img->layers) == 1
            && strcmp (img->layers[0], lw.chain_id) == 0 && img->size == 5,
        "publish: the record is named, with the layer's chain ID and size");
    if (img)
      {
        cleanup_free char *mbuf = NULL;
        size_t mlen;
        struct husk_manifest m = { 0 };
        ok (husk_store_read_blob (s, img->manifest, 1 << 20, &mbuf, &mlen, &err) == 0
                && husk_manifest_parse (mbuf, mlen, &m, &err) == 0 && m.n_layers == 1
                && strcmp (m.layers[0].digest, lw.digest) == 0
                && strcmp (m.layers[0].media_type, HUSK_MT_OCI_LAYER_GZIP) == 0
                && m.layers[0].size == lw.size && strcmp (m.config.digest, cdigest) == 0,
            "publish: an OCI manifest names the config and the layer");
        printf ("# %s\n", mbuf ? mbuf : "");
        husk_manifest_clear (&m);
      }
    husk_images_clear (&l);
  }

  {
    /* The same config again, as Docker's v2 schema 2 (build --format docker): the same ID,
       its manifest in Docker's media types, and the record names that manifest now.  */
    struct husk_descriptor d
        = { .media_type = HUSK_MT_OCI_LAYER_GZIP, .digest = lw.digest, .size = lw.size };
    char *chains[] = { lw.chain_id, NULL };
    struct husk_new_image ni = { .config = config,
                                 .config_len = strlen (config),
                                 .layers = &d,
                                 .chain_ids = chains,
                                 .n_layers = 1,
                                 .names = names,
                                 .format = HUSK_IMAGE_FORMAT_DOCKER };
    char did[HUSK_DIGEST_LEN + 1];
    struct husk_image_list l = { 0 };
    const struct husk_image *img;
    cleanup_free char *mbuf = NULL;
    cleanup_json husk_json *doc = NULL;
    const husk_json *layer0;
    size_t mlen = 0;

    ok (husk_image_publish_new (s, &ni, did, &err) == 0 && strcmp (did, id) == 0,
        "publish docker: the same image ID%s%s", err ? ": " : "", err ? err->msg : "");
    husk_error_free (&err);
    husk_images_load (s, &l, &err);
    img = husk_images_lookup (&l, "committed:1", &err);
    if (img && husk_store_read_blob (s, img->manifest, 1 << 20, &mbuf, &mlen, &err) == 0)
      doc = husk_json_parse (mbuf, mlen, &err);
    is_str (husk_json_get_string (doc, "mediaType"), HUSK_MT_DOCKER_MANIFEST,
            "publish docker: the record's manifest is Docker's v2 schema 2");
    is_str (husk_json_get_string (husk_json_get (doc, "config"), "mediaType"),
            "application/vnd.docker.container.image.v1+json",
            "publish docker: ... with Docker's config media type");
    layer0 = husk_json_array_at (husk_json_get (doc, "layers"), 0);
    is_str (husk_json_get_string (layer0, "mediaType"),
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "publish docker: ... and an OCI gzip layer given Docker's name");
    husk_error_free (&err);
    husk_images_clear (&l);
  }
  husk_store_close (s);
  husk_rm_rf_at (AT_FDCWD, sandbox, NULL);
}

int
main (void)
{
  test_become_userns_root ();
  test_config_edit ();
  test_bad_changes ();
  test_publish ();
  return tap_done ();
}
