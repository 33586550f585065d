#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "record.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "util.h"
#include "banned.h"

#define BLOB_MAX (16 * 1024 * 1024)

static void
gen_member_copy (husk_jgen *g, const char *key, const husk_json *v)
{
  husk_jgen_key (g, key);
  if (v)
    husk_jgen_value (g, v);
  else
    husk_jgen_null (g);
}

static int
inspect_one (struct husk_store *s, const struct husk_image *img, husk_jgen *g,
             struct husk_error **err)
{
  cleanup_free char *mbuf = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_json husk_json *config = NULL;
  struct husk_manifest m = { 0 };
  const husk_json *diff_ids;
  size_t mlen, clen;

  if (husk_store_read_blob (s, img->manifest, BLOB_MAX, &mbuf, &mlen, err) < 0
      || husk_manifest_parse (mbuf, mlen, &m, err) < 0
      || husk_store_read_blob (s, img->config, BLOB_MAX, &cbuf, &clen, err) < 0
      || (config = husk_json_parse (cbuf, clen, err)) == NULL)
    {
      husk_manifest_clear (&m);
      return husk_error_wrap (err, "image %.12s", img->id);
    }
  diff_ids = husk_json_get (husk_json_get (config, "rootfs"), "diff_ids");

  husk_jgen_map_open (g);
  husk_jgen_key (g, "Id");
  {
    cleanup_free char *id = husk_strdup_printf ("sha256:%s", img->id);
    husk_jgen_string (g, id);
  }
  husk_jgen_key (g, "RepoTags");
  husk_jgen_array_open (g);
  for (size_t i = 0; img->names && img->names[i]; i++)
    husk_jgen_string (g, img->names[i]);
  husk_jgen_array_close (g);
  /* docker's: the references by digest the image has in registries, "domain/path@sha256:HEX"
     (the stored form, as RepoTags).  */
  husk_jgen_key (g, "RepoDigests");
  husk_jgen_array_open (g);
  for (size_t i = 0; img->repo_digests && img->repo_digests[i]; i++)
    husk_jgen_string (g, img->repo_digests[i]);
  husk_jgen_array_close (g);
  husk_jgen_key (g, "Digest");
  husk_jgen_string (g, img->manifest);
  /* podman's name for it: OCI's manifest or Docker's v2 schema 2 (build --format).  */
  husk_jgen_key (g, "ManifestType");
  {
    cleanup_json husk_json *mdoc = husk_json_parse (mbuf, mlen, NULL);
    const char *mt = husk_json_get_string (mdoc, "mediaType");
    husk_jgen_string (g, mt ? mt : "");
  }
  husk_jgen_key (g, "Created");
  if (img->created)
    husk_jgen_string (g, img->created);
  else
    husk_jgen_null (g);
  /* docker's: the config's author (commit -a), "" without one.  */
  husk_jgen_key (g, "Author");
  {
    const char *author = husk_json_get_string (config, "author");
    husk_jgen_string (g, author ? author : "");
  }
  gen_member_copy (g, "Architecture", husk_json_get (config, "architecture"));
  gen_member_copy (g, "Os", husk_json_get (config, "os"));
  husk_jgen_key (g, "Size");
  husk_jgen_int (g, img->size);
  gen_member_copy (g, "Config", husk_json_get (config, "config"));
  gen_member_copy (g, "RootFS", husk_json_get (config, "rootfs"));
  husk_jgen_key (g, "Layers");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < m.n_layers; i++)
    {
      husk_jgen_map_open (g);
      husk_jgen_key (g, "Digest");
      husk_jgen_string (g, m.layers[i].digest);
      husk_jgen_key (g, "MediaType");
      husk_jgen_string (g, m.layers[i].media_type ? m.layers[i].media_type : "");
      husk_jgen_key (g, "Size");
      husk_jgen_int (g, m.layers[i].size);
      gen_member_copy (g, "DiffID", husk_json_array_at (diff_ids, i));
      husk_jgen_key (g, "ChainID");
      if (img->layers && i < husk_strv_len (img->layers))
        {
          husk_jgen_string (g, img->layers[i]);
          husk_jgen_key (g, "UnpackedSize");
          husk_jgen_int (g, husk_layer_size (s, img->layers[i]));
        }
      else
        husk_jgen_null (g);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  husk_jgen_key (g, "History");
  if (husk_json_get (config, "history"))
    husk_jgen_value (g, husk_json_get (config, "history"));
  else
    {
      husk_jgen_array_open (g);
      husk_jgen_array_close (g);
    }
  husk_jgen_map_close (g);
  husk_manifest_clear (&m);
  return 0;
}

static const struct husk_cli_option inspect_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command inspect_command = {
  "inspect",
  "IMAGE|CONTAINER...",
  "Print images or containers as a JSON array. An image: ID, names, repo digests,\n"
  "manifest digest, the config, layers with their digests and sizes, and the history.\n"
  "A container: its config, state, host config, network settings and mounts.",
  inspect_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one image or container" },
};

int
husk_cmd_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_jgen husk_jgen *gen = husk_jgen_new (true);
  struct husk_image_list list = { 0 };
  const char *buf;
  size_t len;
  int first, rc = -1;

  if ((first = husk_cli_parse (&inspect_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;
  husk_jgen_array_open (gen);
  for (int i = first; i < argc; i++)
    {
      cleanup_error struct husk_error *imgerr = NULL;
      const struct husk_image *img = husk_images_lookup (&list, argv[i], &imgerr);
      if (img == NULL)
        {
          /* Not an image: a container, as docker inspect takes either.  */
          cleanup_ctr struct husk_ctr *ctr = NULL;
          cleanup_error struct husk_error *ctrerr = NULL;
          if (husk_ctr_load (store, argv[i], &ctr, &ctrerr) < 0)
            {
              if (strstr (imgerr->msg, "not found") && strstr (ctrerr->msg, "no such container"))
                husk_error_set (err, 0, "no such image or container: %s", argv[i]);
              else
                *err = TAKE_PTR (imgerr);
              goto out;
            }
          husk_cli_container_json (store, ctr, gen);
          continue;
        }
      if (inspect_one (store, img, gen, err) < 0)
        goto out;
    }
  husk_jgen_array_close (gen);
  buf = husk_jgen_buf (gen, &len);
  fwrite (buf, 1, len, stdout);
  if (len == 0 || buf[len - 1] != '\n')
    putchar ('\n');
  rc = 0;
out:
  husk_images_clear (&list);
  return rc;
}
