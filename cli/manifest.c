/* husk manifest SUBCOMMAND: manifest lists (OCI image indexes or Docker manifest lists) kept in
   the store by name (overlay/manifestlist.h), as podman manifest does.  husk-full only: inspect
   and add reach registries.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "manifestlist.h"
#include "push.h"
#include "reference.h"
#include "registry.h"
#include "util.h"
#include "banned.h"

#define CONFIG_MAX (4 * 1024 * 1024)

enum
{
  OPT_TLS_VERIFY = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_FORMAT,
  OPT_ANNOTATION,
  OPT_OS,
  OPT_ARCH,
  OPT_VARIANT,
  OPT_INDEX,
  OPT_ALL,
};

/* clang-format off */
#define OPTION_TLS_VERIFY \
  { "tls-verify", OPT_TLS_VERIFY, HUSK_CLI_ARG_OPTIONAL, "true|false", \
    "false: do not verify the registry's certificate (and allow HTTP)" }
#define OPTION_PLATFORM \
  { "os", OPT_OS, HUSK_CLI_ARG_REQUIRED, "OS", "the entry's os (default: the image's)" }, \
  { "arch", OPT_ARCH, HUSK_CLI_ARG_REQUIRED, "ARCH", \
    "the entry's architecture (default: the image's)" }, \
  { "variant", OPT_VARIANT, HUSK_CLI_ARG_REQUIRED, "VARIANT", \
    "the entry's architecture variant (default: the image's; \"\": none)" }
/* clang-format on */

/* What the subcommands' options set.  */
struct manifest_opts
{
  bool tls_verify;
  bool amend;
  bool index;
  bool all;
  enum husk_manifest_list_format format;
  const char *os, *arch, *variant;
  char **annotations; /* "KEY=VALUE" as given.  */
};

static void
manifest_opts_clear (struct manifest_opts *o)
{
  husk_strv_free (o->annotations);
}

/* One option of any subcommand into O; 0, or -1 with a usage error.  */
static int
manifest_option (const char *command, int c, struct manifest_opts *o, struct husk_error **err)
{
  switch (c)
    {
    case OPT_TLS_VERIFY:
      if (husk_cli_tls_verify (command, optarg, &o->tls_verify, err) < 0)
        return -1;
      break;
    case OPT_FORMAT:
      if (strcmp (optarg, "oci") == 0)
        o->format = HUSK_MANIFEST_LIST_OCI;
      else if (strcmp (optarg, "docker") == 0 || strcmp (optarg, "v2s2") == 0)
        o->format = HUSK_MANIFEST_LIST_DOCKER;
      else
        return husk_cli_usage_error (err, command, "--format takes oci or docker, not \"%s\"",
                                     optarg);
      break;
    case 'a':
      o->amend = true;
      break;
    case OPT_INDEX:
      o->index = true;
      break;
    case OPT_ALL:
      o->all = true;
      break;
    case OPT_ANNOTATION:
      {
        const char *eq = strchr (optarg, '=');
        if (eq == NULL || eq == optarg)
          return husk_cli_usage_error (err, command, "--annotation takes KEY=VALUE, not \"%s\"",
                                       optarg);
        husk_strv_append (&o->annotations, optarg);
        break;
      }
    case OPT_OS:
      o->os = optarg;
      break;
    case OPT_ARCH:
      o->arch = optarg;
      break;
    case OPT_VARIANT:
      o->variant = optarg;
      break;
    }
  return 0;
}

/* Parse ARGV for CMD into O: the index of the first operand, 0 after --help, -1 on error.  */
static int
manifest_parse (const struct husk_cli_command *cmd, int argc, char **argv, struct manifest_opts *o,
                struct husk_error **err)
{
  int c;

  o->tls_verify = true;
  optind = 1;
  while ((c = husk_cli_next_option (cmd, argc, argv, err)) > 0)
    if (manifest_option (cmd->name, c, o, err) < 0)
      return -1;
  return husk_cli_operands (cmd, c, argc, err);
}

/* The list's digest, as create, add and annotate print it.  */
static void
print_list_digest (const struct husk_manifest_list *l)
{
  char d[HUSK_DIGEST_LEN + 1];

  husk_sha256_buf (l->index, l->index_len, d);
  printf ("%s\n", d);
}

/* The registry reference S names (with or without docker://), or an error when it names none:
   a name without a registry, or under localhost/, is a local one, never looked up remotely.  */
static int
remote_reference (const char *s, struct husk_reference *ret, struct husk_error **err)
{
  bool transport = husk_str_has_prefix (s, "docker://");

  if (transport)
    s += strlen ("docker://");
  if (husk_reference_parse (s, ret, err) < 0)
    return -1;
  if (!transport && (!ret->had_domain || strcmp (ret->domain, "localhost") == 0))
    {
      husk_reference_clear (ret);
      return husk_error_set (err, 0, "\"%s\" names no registry", s);
    }
  return 0;
}

/* Fetch the manifest or index REF names.  */
static int
fetch_remote (const struct husk_reference *ref, bool tls_verify, char **ret_buf, size_t *ret_len,
              char **ret_mt, struct husk_registry **ret_reg, struct husk_error **err)
{
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *ct = NULL;
  cleanup_free char *hdr = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  size_t len;

  reg = husk_registry_new (ref->domain, tls_verify, HUSK_REGISTRY_PULL, err);
  if (reg == NULL)
    return -1;
  if (husk_registry_get_manifest (reg, ref->path, ref->digest ? ref->digest : ref->tag, &buf, &len,
                                  &ct, &hdr, err)
      < 0)
    return -1;
  husk_sha256_buf (buf, len, got);
  if (ref->digest && strcmp (ref->digest, got) != 0)
    return husk_error_set (err, 0, "manifest %s: digest mismatch (content is %s)", ref->digest,
                           got);
  *ret_buf = TAKE_PTR (buf);
  *ret_len = len;
  if (ret_mt)
    *ret_mt = TAKE_PTR (ct);
  if (ret_reg)
    *ret_reg = TAKE_PTR (reg);
  return 0;
}

/* ------------------------------------------------------------------- create  */

static const struct husk_cli_option create_options[] = {
  { "amend", 'a', HUSK_CLI_ARG_NONE, NULL, "add to the list LIST when it exists already" },
  { "annotation", OPT_ANNOTATION, HUSK_CLI_ARG_REQUIRED, "KEY=VALUE",
    "set an annotation on the index (repeatable)" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "oci|docker",
    "an OCI image index (default) or a Docker manifest list" },
  { "all", OPT_ALL, HUSK_CLI_ARG_NONE, NULL,
    "a registry's index: add each of its entries, not only this platform's" },
  OPTION_TLS_VERIFY,
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command create_command = {
  "manifest create",
  "[OPTIONS] LIST [IMAGE...]",
  "Create the manifest list LIST (\"mylist\" is localhost/mylist:latest), add the IMAGEs to it\n"
  "and print the digest of its index.",
  create_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects a list name and images" },
};

/* Add IMAGE (a local image, else a registry reference) to L.  */
static int add_one (struct husk_store *store, const struct husk_image_list *images,
                    struct husk_manifest_list *l, const char *image, const struct manifest_opts *o,
                    size_t *ret_i, struct husk_error **err);

/* Stage IMAGES (N of them) as entries of *STAGED, a list named NAME: local images read from
   the store, registry images fetched, all before the store lock is taken, so that no
   registry holds it up.  */
static int
stage_images (struct husk_store *store, const char *name, char *const *images_arg, int n,
              const struct manifest_opts *o, struct husk_manifest_list *staged,
              struct husk_error **err)
{
  struct husk_image_list images = { 0 };
  int rc = -1;

  if (husk_manifest_list_init (name, o->format, staged, err) < 0)
    return -1;
  if (n > 0 && husk_images_load (store, &images, err) < 0)
    return -1;
  for (int i = 0; i < n; i++)
    if (add_one (store, &images, staged, images_arg[i], o, NULL, err) < 0)
      goto out;
  rc = 0;
out:
  husk_images_clear (&images);
  return rc;
}

/* Put STAGED's entries into L (replacing those with the same digests).  */
static int
merge_staged (struct husk_manifest_list *l, const struct husk_manifest_list *staged,
              struct husk_error **err)
{
  for (size_t i = 0; i < staged->n_entries; i++)
    if (husk_manifest_list_add_descriptor (l, &staged->entries[i], NULL, err) < 0)
      return -1;
  return 0;
}

/* The error for a list NAME that exists, for create without --amend.  */
static int
list_exists_error (const char *name, struct husk_error **err)
{
  cleanup_free char *full = husk_image_name_for_tag (name, NULL);

  return husk_error_set (err, 0, "manifest list \"%s\": it exists (--amend adds to it)",
                         full ? full : name);
}

static int
cmd_create (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct manifest_opts o = { 0 }, entry_opts;
  struct husk_manifest_list l = { 0 };
  struct husk_manifest_list staged = { 0 };
  bool locked = false;
  int first, rc = -1;

  if ((first = manifest_parse (&create_command, argc, argv, &o, err)) <= 0)
    {
      manifest_opts_clear (&o);
      return first;
    }
  if (husk_cli_open_store (g, &store, err) < 0)
    goto out;
  if (!o.amend && husk_manifest_list_exists (store, argv[first]))
    {
      list_exists_error (argv[first], err);
      goto out;
    }
  /* create's annotations are the index's, not its entries'.  */
  entry_opts = o;
  entry_opts.annotations = NULL;
  if (stage_images (store, argv[first], argv + first + 1, argc - first - 1, &entry_opts, &staged,
                    err)
          < 0
      || husk_store_lock (store, err) < 0)
    goto out;
  locked = true;
  if (husk_manifest_list_exists (store, argv[first]))
    {
      if (!o.amend)
        {
          list_exists_error (argv[first], err);
          goto out;
        }
      if (husk_manifest_list_load (store, argv[first], &l, err) < 0)
        goto out;
    }
  else if (husk_manifest_list_init (argv[first], o.format, &l, err) < 0)
    goto out;
  for (size_t i = 0; o.annotations && o.annotations[i]; i++)
    if (husk_manifest_list_annotate (&l.annotations, o.annotations[i], err) < 0)
      goto out;
  if (merge_staged (&l, &staged, err) < 0 || husk_manifest_list_save (store, &l, err) < 0)
    goto out;
  print_list_digest (&l);
  rc = 0;
out:
  husk_manifest_list_clear (&staged);
  husk_manifest_list_clear (&l);
  if (locked)
    husk_store_unlock (store);
  manifest_opts_clear (&o);
  return rc;
}

/* ---------------------------------------------------------------------- add  */

static const struct husk_cli_option add_options[] = {
  OPTION_PLATFORM,
  { "annotation", OPT_ANNOTATION, HUSK_CLI_ARG_REQUIRED, "KEY=VALUE",
    "set an annotation on the entry (repeatable)" },
  { "all", OPT_ALL, HUSK_CLI_ARG_NONE, NULL,
    "a registry's index: add each of its entries, not only this platform's" },
  OPTION_TLS_VERIFY,
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command add_command = {
  "manifest add",
  "[OPTIONS] LIST IMAGE",
  "Add IMAGE to the manifest list LIST and print the digest of its index.  IMAGE is a local\n"
  "image, or an image in a registry (a reference naming its registry, or docker://REF).  An\n"
  "entry for the same manifest is replaced.",
  add_options,
  NULL,
  { 2, 2, "expects a list and an image" },
};

/* add --all of an index: each of its entries that names a platform, as the index has it.  */
static int
add_index_all (struct husk_manifest_list *l, const husk_json *doc, char *repo,
               const struct manifest_opts *o, struct husk_error **err)
{
  const husk_json *ms = husk_json_get (doc, "manifests");

  for (size_t i = 0; i < husk_json_array_len (ms); i++)
    {
      struct husk_descriptor d = { 0 };
      struct husk_manifest_list_entry e = { 0 };
      int rc;
      if (husk_descriptor_parse (husk_json_array_at (ms, i), &d, err) < 0)
        return husk_error_wrap (err, "manifests[%zu]", i);
      /* Attestations (unknown/unknown) point at the images' manifests: skipped, as pull skips
         them.  */
      if (d.os == NULL || d.architecture == NULL || strcmp (d.os, "unknown") == 0)
        {
          husk_descriptor_clear (&d);
          continue;
        }
      e.media_type = d.media_type ? d.media_type : (char *) HUSK_MT_OCI_MANIFEST;
      e.digest = d.digest;
      e.size = d.size;
      e.os = d.os;
      e.architecture = d.architecture;
      e.variant = d.variant;
      e.annotations = o->annotations;
      e.source = repo;
      rc = husk_manifest_list_add_descriptor (l, &e, NULL, err);
      husk_descriptor_clear (&d);
      if (rc < 0)
        return -1;
    }
  return 0;
}

/* The entry for the registry image REF: the descriptor of the platform O (default: this
   machine's) when REF is an index (all of them with --all), else REF's manifest with its
   config's platform.  */
static int
add_remote (struct husk_manifest_list *l, const char *image, const struct manifest_opts *o,
            size_t *ret_i, struct husk_error **err)
{
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *ct = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_json husk_json *doc = NULL;
  cleanup_json husk_json *cdoc = NULL;
  cleanup_free char *repo = NULL;
  struct husk_reference ref = { 0 };
  struct husk_descriptor d = { 0 };
  struct husk_manifest_list_entry e = { 0 };
  struct husk_manifest m = { 0 };
  char digest[HUSK_DIGEST_LEN + 1];
  const char *mt;
  size_t len, clen;
  int rc = -1;

  if (remote_reference (image, &ref, err) < 0)
    return -1;
  if (fetch_remote (&ref, o->tls_verify, &buf, &len, &ct, &reg, err) < 0)
    goto out;
  doc = husk_json_parse (buf, len, err);
  if (doc == NULL)
    goto out;
  mt = husk_json_get_string (doc, "mediaType");
  if (mt == NULL)
    mt = ct;
  repo = husk_reference_repository (&ref);
  if (mt && husk_media_is_index (mt) && o->all)
    {
      rc = add_index_all (l, doc, repo, o, err);
      goto out;
    }
  if (mt && husk_media_is_index (mt))
    {
      if (husk_index_select (buf, len, o->os ? o->os : "linux",
                             o->arch ? o->arch : husk_host_arch (), o->variant, &d, err)
          < 0)
        goto out;
      e.media_type = d.media_type ? d.media_type : (char *) HUSK_MT_OCI_MANIFEST;
      e.digest = d.digest;
      e.size = d.size;
      e.os = d.os;
      e.architecture = d.architecture;
      e.variant = d.variant;
    }
  else
    {
      if (husk_manifest_parse (buf, len, &m, err) < 0)
        goto out;
      if (husk_registry_get_blob (reg, ref.path, &m.config, CONFIG_MAX, &cbuf, &clen, err) < 0)
        goto out;
      cdoc = husk_json_parse (cbuf, clen, err);
      if (cdoc == NULL)
        goto out;
      husk_sha256_buf (buf, len, digest);
      e.media_type = (char *) (mt ? mt : HUSK_MT_OCI_MANIFEST);
      e.digest = digest;
      e.size = (int64_t) len;
      e.os = (char *) husk_json_get_string (cdoc, "os");
      e.architecture = (char *) husk_json_get_string (cdoc, "architecture");
      /* The config's variant is its architecture's: another architecture drops it.  */
      e.variant = o->arch ? NULL : (char *) husk_json_get_string (cdoc, "variant");
    }
  if (o->os)
    e.os = (char *) o->os;
  if (o->arch)
    e.architecture = (char *) o->arch;
  if (o->variant)
    e.variant = (char *) o->variant;
  e.annotations = o->annotations;
  e.source = repo;
  rc = husk_manifest_list_add_descriptor (l, &e, ret_i, err);
out:
  if (rc < 0)
    husk_error_wrap (err, "image \"%s\"", image);
  husk_manifest_clear (&m);
  husk_descriptor_clear (&d);
  husk_reference_clear (&ref);
  return rc;
}

static int
add_one (struct husk_store *store, const struct husk_image_list *images,
         struct husk_manifest_list *l, const char *image, const struct manifest_opts *o,
         size_t *ret_i, struct husk_error **err)
{
  cleanup_error struct husk_error *lerr = NULL;
  const struct husk_image *img = NULL;
  size_t at = 0;

  if (!husk_str_has_prefix (image, "docker://"))
    img = husk_images_lookup (images, image, &lerr);
  if (img == NULL)
    {
      cleanup_error struct husk_error *rerr = NULL;
      struct husk_reference ref;
      if (remote_reference (image, &ref, &rerr) < 0)
        {
          /* A local name: the lookup's error says why.  */
          *err = TAKE_PTR (lerr);
          return husk_error_wrap (err, "manifest list \"%s\"", l->name);
        }
      husk_reference_clear (&ref);
      if (add_remote (l, image, o, &at, err) < 0)
        return husk_error_wrap (err, "manifest list \"%s\"", l->name);
    }
  else
    {
      if (husk_manifest_list_add_image (store, l, img, o->os, o->arch, o->variant, &at, err) < 0)
        return husk_error_wrap (err, "manifest list \"%s\"", l->name);
      for (size_t i = 0; o->annotations && o->annotations[i]; i++)
        if (husk_manifest_list_annotate (&l->entries[at].annotations, o->annotations[i], err) < 0)
          return -1;
    }
  if (ret_i)
    *ret_i = at;
  return 0;
}

static int
cmd_add (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct manifest_opts o = { 0 };
  struct husk_manifest_list l = { 0 };
  struct husk_manifest_list staged = { 0 };
  bool locked = false;
  int first, rc = -1;

  if ((first = manifest_parse (&add_command, argc, argv, &o, err)) <= 0)
    {
      manifest_opts_clear (&o);
      return first;
    }
  if (husk_cli_open_store (g, &store, err) < 0)
    goto out;
  /* An unknown list fails before any registry is asked; it is loaded again under the lock.  */
  if (husk_manifest_list_load (store, argv[first], &l, err) < 0)
    goto out;
  husk_manifest_list_clear (&l);
  if (stage_images (store, argv[first], argv + first + 1, 1, &o, &staged, err) < 0
      || husk_store_lock (store, err) < 0)
    goto out;
  locked = true;
  if (husk_manifest_list_load (store, argv[first], &l, err) < 0
      || merge_staged (&l, &staged, err) < 0 || husk_manifest_list_save (store, &l, err) < 0)
    goto out;
  print_list_digest (&l);
  rc = 0;
out:
  husk_manifest_list_clear (&staged);
  husk_manifest_list_clear (&l);
  if (locked)
    husk_store_unlock (store);
  manifest_opts_clear (&o);
  return rc;
}

/* ----------------------------------------------------------------- annotate  */

static const struct husk_cli_option annotate_options[] = {
  OPTION_PLATFORM,
  { "annotation", OPT_ANNOTATION, HUSK_CLI_ARG_REQUIRED, "KEY=VALUE",
    "set an annotation on the entry, or with --index on the index (repeatable)" },
  { "index", OPT_INDEX, HUSK_CLI_ARG_NONE, NULL, "annotate the index itself (no IMAGE)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command annotate_command = {
  "manifest annotate",
  "[OPTIONS] LIST IMAGE|DIGEST",
  "Change the platform or the annotations of an entry of the manifest list LIST, named by its\n"
  "manifest's digest or by the local image it was made from, and print the digest of the\n"
  "list's index.",
  annotate_options,
  NULL,
  { 1, 2, "expects a list and an image or digest" },
};

/* Replace *FIELD with VALUE ("" clears it when EMPTY_CLEARS).  */
static void
set_field (char **field, const char *value, bool empty_clears)
{
  free (*field);
  *field = empty_clears && *value == '\0' ? NULL : husk_xstrdup (value);
}

static int
cmd_annotate (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct manifest_opts o = { 0 };
  struct husk_manifest_list l = { 0 };
  struct husk_image_list images = { 0 };
  char ***annotations;
  int first, rc = -1;

  if ((first = manifest_parse (&annotate_command, argc, argv, &o, err)) <= 0)
    {
      manifest_opts_clear (&o);
      return first;
    }
  if (o.index ? first + 1 != argc || o.os || o.arch || o.variant : first + 2 != argc)
    {
      manifest_opts_clear (&o);
      return husk_cli_usage_error (err, annotate_command.name,
                                   o.index ? "--index takes a list alone and only --annotation"
                                           : "expects a list and an image or digest");
    }
  if ((o.os && *o.os == '\0') || (o.arch && *o.arch == '\0'))
    {
      manifest_opts_clear (&o);
      return husk_cli_usage_error (err, annotate_command.name, "--os and --arch take a value");
    }
  if (husk_cli_open_store (g, &store, err) < 0 || husk_store_lock (store, err) < 0)
    {
      manifest_opts_clear (&o);
      return -1;
    }
  if (husk_manifest_list_load (store, argv[first], &l, err) < 0)
    goto out;
  if (o.index)
    annotations = &l.annotations;
  else
    {
      const char *what = argv[first + 1];
      ssize_t at = husk_manifest_list_find (&l, what);
      struct husk_manifest_list_entry *e;
      if (at < 0)
        {
          cleanup_error struct husk_error *lerr = NULL;
          const struct husk_image *img;
          if (husk_images_load (store, &images, err) < 0)
            goto out;
          img = husk_images_lookup (&images, what, &lerr);
          if (img && img->manifest)
            at = husk_manifest_list_find (&l, img->manifest);
          if (at < 0)
            {
              husk_error_set (err, 0, "manifest list \"%s\": no entry for \"%s\"", l.name, what);
              goto out;
            }
        }
      e = &l.entries[at];
      if (o.os)
        set_field (&e->os, o.os, false);
      if (o.arch)
        set_field (&e->architecture, o.arch, false);
      if (o.variant)
        set_field (&e->variant, o.variant, true);
      annotations = &e->annotations;
    }
  for (size_t i = 0; o.annotations && o.annotations[i]; i++)
    if (husk_manifest_list_annotate (annotations, o.annotations[i], err) < 0)
      goto out;
  if (husk_manifest_list_save (store, &l, err) < 0)
    goto out;
  print_list_digest (&l);
  rc = 0;
out:
  husk_images_clear (&images);
  husk_manifest_list_clear (&l);
  husk_store_unlock (store);
  manifest_opts_clear (&o);
  return rc;
}

/* ------------------------------------------------------------------ inspect  */

static const struct husk_cli_option inspect_options[] = {
  OPTION_TLS_VERIFY,
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command inspect_command = {
  "manifest inspect",
  "[OPTIONS] LIST|REF",
  "Print the index of the manifest list LIST as JSON; when there is no such list and REF\n"
  "names a registry (or is docker://REF), print the manifest or index REF names there.",
  inspect_options,
  NULL,
  { 1, 1, "expects one list or reference" },
};

static int
print_json (const char *buf, size_t len, struct husk_error **err)
{
  cleanup_json husk_json *doc = husk_json_parse (buf, len, err);
  cleanup_jgen husk_jgen *g = NULL;
  const char *out;
  size_t n;

  if (doc == NULL)
    return -1;
  g = husk_jgen_new (true);
  husk_jgen_value (g, doc);
  out = husk_jgen_buf (g, &n);
  fwrite (out, 1, n, stdout);
  if (n == 0 || out[n - 1] != '\n')
    putchar ('\n');
  return 0;
}

static int
cmd_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *buf = NULL;
  struct manifest_opts o = { 0 };
  struct husk_manifest_list l = { 0 };
  struct husk_reference ref = { 0 };
  cleanup_error struct husk_error *lerr = NULL;
  const char *what;
  size_t len;
  int first, rc;

  if ((first = manifest_parse (&inspect_command, argc, argv, &o, err)) <= 0)
    {
      manifest_opts_clear (&o);
      return first;
    }
  manifest_opts_clear (&o);
  what = argv[first];
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  if (!husk_str_has_prefix (what, "docker://"))
    {
      if (husk_manifest_list_load (store, what, &l, &lerr) == 0)
        {
          rc = print_json (l.index, l.index_len, err);
          husk_manifest_list_clear (&l);
          return rc;
        }
      if (lerr->errnum != ENOENT)
        {
          *err = TAKE_PTR (lerr);
          return -1;
        }
    }
  if (lerr == NULL && remote_reference (what, &ref, err) < 0)
    return -1;
  if (lerr != NULL && remote_reference (what, &ref, NULL) < 0)
    {
      /* A local name: the list is not there.  */
      *err = TAKE_PTR (lerr);
      return -1;
    }
  rc = fetch_remote (&ref, o.tls_verify, &buf, &len, NULL, NULL, err);
  if (rc == 0)
    rc = print_json (buf, len, err);
  if (rc < 0)
    husk_error_wrap (err, "manifest inspect \"%s\"", what);
  husk_reference_clear (&ref);
  return rc;
}

/* ----------------------------------------------------------------------- rm  */

static const struct husk_cli_option rm_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command rm_command = {
  "manifest rm",
  "LIST...",
  "Remove manifest lists, printing the name of each; the images they name stay in the\n"
  "store.",
  rm_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one list" },
};

static int
cmd_rm (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  int first, rc = 0;

  if ((first = husk_cli_parse (&rm_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_store_lock (store, err) < 0)
    return -1;
  /* As podman does: every list that can go goes, the last failure is the command's.  */
  for (int i = first; i < argc; i++)
    {
      cleanup_free char *name = NULL;
      struct husk_error *e = NULL;
      if (husk_manifest_list_remove (store, argv[i], &name, &e) < 0)
        {
          fflush (stdout);
          if (rc < 0)
            {
              fprintf (stderr, "husk: %s\n", (*err)->msg);
              husk_error_free (err);
            }
          *err = e;
          rc = -1;
          continue;
        }
      printf ("Untagged: %s\n", name);
    }
  husk_store_unlock (store);
  return rc;
}

/* --------------------------------------------------------------------- push  */

enum
{
  OPT_DIGESTFILE = 300,
  OPT_RM,
};

static const struct husk_cli_option push_options[] = {
  OPTION_TLS_VERIFY,
  { "all", OPT_ALL, HUSK_CLI_ARG_OPTIONAL, "true|false",
    "push the list's images too (always: a list without them names nothing)" },
  { "digestfile", OPT_DIGESTFILE, HUSK_CLI_ARG_REQUIRED, "FILE",
    "write the pushed index's digest to FILE" },
  { "rm", OPT_RM, HUSK_CLI_ARG_NONE, NULL, "remove the list from the store once pushed" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only the index's digest" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command push_command = {
  "manifest push",
  "[OPTIONS] LIST DESTINATION",
  "Push a manifest list to a registry as one multi-platform image: each entry's\n"
  "image by its digest into DESTINATION's repository (as husk push does), then the\n"
  "list itself by DESTINATION's tag.",
  push_options,
  NULL,
  { 2, 2, "expects a list and a destination" },
};

static int
cmd_push (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_manifest_list l = { 0 };
  struct husk_image_list images = { 0 };
  struct husk_push_options o = { .tls_verify = true };
  struct husk_push_result res = { 0 };
  const char *digestfile = NULL;
  const char *dest;
  bool quiet = false, rm = false;
  int c, first, rc = -1;

  optind = 1;
  while ((c = husk_cli_next_option (&push_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case OPT_RM:
        rm = true;
        break;
      case OPT_DIGESTFILE:
        digestfile = optarg;
        break;
      case OPT_ALL:
        if (optarg && strcmp (optarg, "true") != 0)
          return husk_cli_usage_error (err, "manifest push",
                                       "--all=%s: a list is always pushed with its images", optarg);
        break;
      case OPT_TLS_VERIFY:
        if (husk_cli_tls_verify ("manifest push", optarg, &o.tls_verify, err) < 0)
          return -1;
        break;
      }
  if ((first = husk_cli_operands (&push_command, c, argc, err)) <= 0)
    return first;
  dest = argv[first + 1];
  if (husk_str_has_prefix (dest, "docker://"))
    dest += strlen ("docker://");
  if (husk_cli_open_store (g, &store, err) < 0
      || husk_manifest_list_load (store, argv[first], &l, err) < 0
      || husk_images_load (store, &images, err) < 0)
    goto out;
  if (husk_registry_push_list (store, &images, &l, dest, &o, &res, err) < 0)
    goto out;
  if (digestfile
      && husk_write_file_atomic_at (AT_FDCWD, digestfile, res.digest, strlen (res.digest), 0644,
                                    err)
             < 0)
    {
      husk_error_wrap (err, "--digestfile \"%s\"", digestfile);
      goto out;
    }
  if (rm)
    {
      if (husk_store_lock (store, err) < 0)
        goto out;
      rc = husk_manifest_list_remove (store, argv[first], NULL, err);
      husk_store_unlock (store);
      if (rc < 0)
        goto out;
      rc = -1;
    }
  if (quiet)
    printf ("%s\n", res.digest);
  else
    printf ("%s@%s: %zu images; %u layers uploaded, %u mounted, %u already present\n",
            res.repository, res.digest, l.n_entries, res.layers_uploaded, res.layers_mounted,
            res.layers_present);
  rc = 0;
out:
  husk_push_result_clear (&res);
  husk_images_clear (&images);
  husk_manifest_list_clear (&l);
  return rc;
}

/* -------------------------------------------------------------------- group  */

static const struct husk_cli_subcommand subcommands[] = {
  { "create", cmd_create, "create a manifest list" },
  { "add", cmd_add, "add an image to a manifest list" },
  { "annotate", cmd_annotate, "change an entry's platform or annotations" },
  { "inspect", cmd_inspect, "show a manifest list or a registry's manifest as JSON" },
  { "rm", cmd_rm, "remove manifest lists" },
  { "push", cmd_push, "push a manifest list and its images to a registry" },
};

static const struct husk_cli_group manifest_group = {
  "manifest",
  "Manage manifest lists (OCI image indexes and Docker manifest lists).",
  subcommands,
  sizeof (subcommands) / sizeof (subcommands[0]),
};

int
husk_cmd_manifest (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  return husk_cli_group_run (&manifest_group, g, argc, argv, err);
}
