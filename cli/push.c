#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "format.h"
#include "image.h"
#include "layout.h"
#include "push.h"
#include "reference.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_TLS_VERIFY = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_FORMAT,
  OPT_DIGESTFILE,
  OPT_COMPRESSION_FORMAT,
  OPT_COMPRESSION_LEVEL,
};

static const struct husk_cli_option push_options[] = {
  { "tls-verify", OPT_TLS_VERIFY, HUSK_CLI_ARG_OPTIONAL, "true|false",
    "false: do not verify the registry's certificate (and allow HTTP)" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "oci|v2s2",
    "the manifest format to push (default: the image's own manifest)" },
  { "compression-format", OPT_COMPRESSION_FORMAT, HUSK_CLI_ARG_REQUIRED, "gzip|zstd",
    "compress every layer so (default: as stored; a plain tar gzip)" },
  { "compression-level", OPT_COMPRESSION_LEVEL, HUSK_CLI_ARG_REQUIRED, "N",
    "for layers compressed anew: gzip 0-9 (ISA-L's 0-3), zstd 1-19" },
  { "digestfile", OPT_DIGESTFILE, HUSK_CLI_ARG_REQUIRED, "FILE",
    "write the pushed manifest's digest to FILE" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only the manifest digest" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command push_command = {
  "push",
  "[OPTIONS] IMAGE [DESTINATION]",
  "Upload an image to a registry: the blobs the registry lacks (mounted from\n"
  "another repository of the same registry when one has them), then the manifest.\n"
  "DESTINATION is [REGISTRY/]NAME[:TAG][@DIGEST] (docker:// is the same); without\n"
  "it, the name IMAGE was given by.  oci:DIR[:TAG], oci-archive:FILE[:TAG] and\n"
  "docker-archive:FILE[:NAME] write the image there, as husk save does.",
  push_options,
  NULL,
  { 1, 2, "expects an image and at most one destination" },
};

/* Whether DIR holds an OCI image layout (its oci-layout file).  */
static bool
layout_exists (const char *dir)
{
  cleanup_free char *p = husk_strdup_printf ("%s/oci-layout", dir);
  return access (p, F_OK) == 0;
}

/* DEST is TRANSPORT:PATH[:NAME]: IMG written there as husk save writes it, named NAME (or by
   MATCHED, the name IMAGE was given by), as podman push does to these transports.  */
static int
push_to_archive (struct husk_global *g, struct husk_store *store, const struct husk_image *img,
                 const char *matched, const char *dest, bool quiet, const char *digestfile,
                 struct husk_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *tag = NULL;
  cleanup_strv char **names = husk_xcalloc (1, sizeof (char *));
  const struct husk_image *imgs[1] = { img };
  enum husk_cli_save_format format;
  const char *spec;

  if (husk_str_has_prefix (dest, "oci:"))
    {
      format = FORMAT_OCI_DIR;
      spec = dest + strlen ("oci:");
    }
  else if (husk_str_has_prefix (dest, "oci-archive:"))
    {
      format = FORMAT_OCI_ARCHIVE;
      spec = dest + strlen ("oci-archive:");
    }
  else
    {
      format = FORMAT_DOCKER_ARCHIVE;
      spec = dest + strlen ("docker-archive:");
    }
  if (format == FORMAT_DOCKER_ARCHIVE)
    {
      /* docker-archive:FILE[:REFERENCE]: a reference has colons of its own (a port, a tag),
         so the file's name ends at the first one.  */
      const char *colon = strchr (spec, ':');
      path = husk_xstrdup (spec);
      if (colon)
        path[colon - spec] = '\0';
      if (colon)
        {
          tag = husk_image_name_for_tag (colon + 1, err);
          if (tag == NULL)
            return husk_error_wrap (err, "push \"%s\"", dest);
        }
    }
  else
    {
      if (husk_layout_split (spec, &path, &tag, err) < 0)
        return husk_error_wrap (err, "push \"%s\"", dest);
      /* What skopeo and podman accept as a layout's image name: a tag or a reference.  */
      if (tag && !husk_reference_valid_tag (tag))
        {
          struct husk_reference r;
          cleanup_error struct husk_error *e = NULL;
          if (husk_reference_parse (tag, &r, &e) < 0)
            return husk_cli_usage_error (err, "push", "\"%s\": not a valid tag or reference", tag);
          husk_reference_clear (&r);
        }
    }
  if (digestfile && format == FORMAT_DOCKER_ARCHIVE)
    return husk_cli_usage_error (err, "push",
                                 "--digestfile: a docker-archive holds no manifest digest");
  if (*path == '\0')
    return husk_cli_usage_error (err, "push", "destination \"%s\" names no file", dest);
  if (tag)
    husk_strv_append (&names, tag);
  else if (matched)
    husk_strv_append (&names, matched);
  if (format == FORMAT_OCI_DIR && layout_exists (path))
    {
      /* A layout there already gets one more image, as skopeo and podman add to it.  */
      cleanup_close int dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return husk_error_set (err, errno, "push \"%s\"", dest);
      if (husk_layout_add_dir (store, img, names[0], dfd, path, err) < 0)
        return husk_error_wrap (err, "push \"%s\"", dest);
    }
  else if (husk_cli_save_to (g, store, format, path, imgs, (char **const *) &names, 1, err) < 0)
    return husk_error_wrap (err, "push \"%s\"", dest);
  /* An OCI layout has the image's manifest byte for byte; a docker-archive no manifest at all:
     its image is known by its ID.  */
  if (digestfile && img->manifest
      && husk_write_file_atomic_at (AT_FDCWD, digestfile, img->manifest, strlen (img->manifest),
                                    0644, err)
             < 0)
    return husk_error_wrap (err, "--digestfile \"%s\"", digestfile);
  if (quiet)
    {
      if (format == FORMAT_DOCKER_ARCHIVE)
        printf ("sha256:%s\n", img->id);
      else if (img->manifest)
        printf ("%s\n", img->manifest);
    }
  else
    printf ("%s: written\n", dest);
  return 0;
}

int
husk_cmd_push (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_image_list list = { 0 };
  struct husk_push_options o = { .tls_verify = true };
  struct husk_push_result res = { 0 };
  struct husk_cli_progress bar;
  const struct husk_image *img;
  const char *matched = NULL;
  const char *digestfile = NULL;
  const char *dest;
  bool quiet = false;
  int level = -1;
  int c, first, rc = -1;

  optind = 1;
  while ((c = husk_cli_next_option (&push_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case OPT_DIGESTFILE:
        digestfile = optarg;
        break;
      case OPT_COMPRESSION_FORMAT:
        if (strcmp (optarg, "gzip") == 0)
          o.compression = HUSK_COMPRESSION_GZIP;
        else if (strcmp (optarg, "zstd") == 0)
          o.compression = HUSK_COMPRESSION_ZSTD;
        else
          return husk_cli_usage_error (
              err, "push", "--compression-format takes gzip or zstd, not \"%s\"", optarg);
        break;
      case OPT_COMPRESSION_LEVEL:
        {
          uint64_t v;
          if (husk_parse_u64 (optarg, 1000, &v) < 0)
            return husk_cli_usage_error (err, "push",
                                         "--compression-level takes a number, not \"%s\"", optarg);
          level = (int) v;
        }
        break;
      case OPT_FORMAT:
        if (strcmp (optarg, "oci") == 0)
          o.format = HUSK_PUSH_FORMAT_OCI;
        else if (strcmp (optarg, "v2s2") == 0 || strcmp (optarg, "docker") == 0)
          o.format = HUSK_PUSH_FORMAT_DOCKER;
        else
          return husk_cli_usage_error (err, "push", "--format takes oci or v2s2, not \"%s\"",
                                       optarg);
        break;
      case OPT_TLS_VERIFY:
        if (husk_cli_tls_verify ("push", optarg, &o.tls_verify, err) < 0)
          return -1;
        break;
      }
  if ((first = husk_cli_operands (&push_command, c, argc, err)) <= 0)
    return first;
  if (level >= 0)
    {
      if (o.compression == HUSK_COMPRESSION_NONE)
        return husk_cli_usage_error (err, "push", "--compression-level needs --compression-format");
      if (o.compression == HUSK_COMPRESSION_GZIP && level > 9)
        return husk_cli_usage_error (err, "push", "--compression-level for gzip is 0 to 9");
      if (o.compression == HUSK_COMPRESSION_ZSTD && (level < 1 || level > 19))
        return husk_cli_usage_error (err, "push", "--compression-level for zstd is 1 to 19");
      /* ISA-L's deflate has levels 0 to 3: zlib's 1-9 fall on them as igzip's do.  */
      if (o.compression == HUSK_COMPRESSION_GZIP)
        level = level == 0 ? 0 : level <= 3 ? 1 : level <= 6 ? 2 : 3;
    }
  o.compression_level = level;
  dest = first + 1 < argc ? argv[first + 1] : NULL;
  if (dest && husk_str_has_prefix (dest, "docker://"))
    dest += strlen ("docker://");
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;
  img = husk_images_lookup_name (&list, argv[first], &matched, err);
  if (img == NULL)
    goto out;
  if (dest
      && (husk_str_has_prefix (dest, "oci:") || husk_str_has_prefix (dest, "oci-archive:")
          || husk_str_has_prefix (dest, "docker-archive:")))
    {
      if (o.format != HUSK_PUSH_FORMAT_KEEP || o.compression != HUSK_COMPRESSION_NONE)
        {
          husk_cli_usage_error (err, "push",
                                "--format and --compression-format apply to registries: %s gets "
                                "the image as the store has it",
                                dest);
          goto out;
        }
      rc = push_to_archive (g, store, img, matched, dest, quiet, digestfile, err);
      goto out;
    }
  if (dest == NULL && matched == NULL && strchr (argv[first], '@'))
    /* NAME@sha256:HEX: pushed by that digest, to the repository it names.  */
    dest = argv[first];
  if (dest == NULL)
    {
      if (matched == NULL)
        {
          husk_error_set (err, 0, "push \"%s\": an image given by its ID needs a destination",
                          argv[first]);
          goto out;
        }
      dest = matched;
    }
  o.progress = husk_cli_progress_start (&bar,
                                        quiet                    ? HUSK_CLI_PROGRESS_QUIET
                                        : isatty (STDERR_FILENO) ? HUSK_CLI_PROGRESS_TERMINAL
                                                                 : HUSK_CLI_PROGRESS_LINES,
                                        stderr);
  rc = husk_registry_push (store, &list, img, dest, &o, &res, err);
  husk_cli_progress_finish (&bar);
  if (rc < 0)
    goto out;
  rc = -1;
  if (digestfile)
    {
      cleanup_free char *line = husk_strdup_printf ("%s", res.digest);
      if (husk_write_file_atomic_at (AT_FDCWD, digestfile, line, strlen (line), 0644, err) < 0)
        {
          husk_error_wrap (err, "--digestfile \"%s\"", digestfile);
          goto out;
        }
    }
  if (quiet)
    printf ("%s\n", res.digest);
  else
    {
      printf ("%s@%s: %u uploaded, %u mounted, %u already present", res.repository, res.digest,
              res.layers_uploaded, res.layers_mounted, res.layers_present);
      if (res.layers_compressed)
        printf (", %u compressed anew", res.layers_compressed);
      putchar ('\n');
    }
  rc = 0;
out:
  husk_push_result_clear (&res);
  husk_images_clear (&list);
  return rc;
}
