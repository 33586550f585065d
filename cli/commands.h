#ifndef HUSK_COMMANDS_H
#define HUSK_COMMANDS_H

#include "common.h"
#include "options.h"

/* Commands that need libcurl, libarchive or ISA-L are linked into husk-full only (HUSK_FULL_CLI
   in Makefile.am): the lean husk sees them as weak, NULL symbols and execs husk-full for them
   (husk_cli_exec_full), so "husk run" and the container commands never load those libraries.
   A new command is declared plainly and lands in both binaries.  */
#define HUSK_FULL_ONLY __attribute__ ((weak))

HUSK_FULL_ONLY int husk_cmd_pull (struct husk_global *g, int argc, char **argv,
                                  struct husk_error **err);
int husk_cmd_images (struct husk_global *g, int argc, char **argv, struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_push (struct husk_global *g, int argc, char **argv,
                                  struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_login (struct husk_global *g, int argc, char **argv,
                                   struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_logout (struct husk_global *g, int argc, char **argv,
                                    struct husk_error **err);
int husk_cmd_run (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_exec (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_logs (struct husk_global *g, int argc, char **argv, struct husk_error **err);

int husk_cmd_tag (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_rmi (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_image (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_image_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_builder (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_builder_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_history (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_system (struct husk_global *g, int argc, char **argv, struct husk_error **err);

HUSK_FULL_ONLY int husk_cmd_build (struct husk_global *g, int argc, char **argv,
                                   struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_save (struct husk_global *g, int argc, char **argv,
                                  struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_load (struct husk_global *g, int argc, char **argv,
                                  struct husk_error **err);
int husk_cmd_diff (struct husk_global *g, int argc, char **argv, struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_cp (struct husk_global *g, int argc, char **argv,
                                struct husk_error **err);
int husk_cmd_top (struct husk_global *g, int argc, char **argv, struct husk_error **err);
/* husk manifest: needs libcurl for registry references (inspect, add).  */
HUSK_FULL_ONLY int husk_cmd_manifest (struct husk_global *g, int argc, char **argv,
                                      struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_commit (struct husk_global *g, int argc, char **argv,
                                    struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_export (struct husk_global *g, int argc, char **argv,
                                    struct husk_error **err);
HUSK_FULL_ONLY int husk_cmd_import (struct husk_global *g, int argc, char **argv,
                                    struct husk_error **err);

/* In husk-full, before any command but build: load libarchive and libcrypto, which husk-full
   otherwise loads on first use (overlay/lazylibs.c).  A command that first calls them after
   it entered a container's root (cp's helper) would find neither there.  A build enters no
   foreign root before it loads them (husk_layer_write_preload), and a cached one needs
   neither.  NULL in husk.  */
HUSK_FULL_ONLY void husk_cli_full_preload (void);

/* Pull the registry reference REF into STORE as husk pull does (in a user namespace with MAP
   when it is not NULL; progress on stderr unless QUIET), printing no ID: for husk build's
   --pull.  husk-full only.  */
struct husk_idmap;
int husk_cli_pull_for (struct husk_store *store, const struct husk_idmap *map, const char *ref,
                       bool tls_verify, bool quiet, struct husk_error **err);

/* What husk save writes, and push to docker-archive:, oci-archive: and oci:.  */
enum husk_cli_save_format
{
  FORMAT_DOCKER_ARCHIVE,
  FORMAT_OCI_ARCHIVE,
  FORMAT_OCI_DIR,
};
/* Write IMGS (N of them, each with the names NAMES[i], NULL-terminated) in FORMAT to OUTPUT:
   an archive file written beside it and renamed over it (standard output when OUTPUT is
   NULL), or for FORMAT_OCI_DIR a new directory that replaces OUTPUT (which may be missing or
   an empty directory).  Errors are wrapped "save \"OUTPUT\"".  husk-full only.  */
struct husk_image;
int husk_cli_save_to (struct husk_global *g, struct husk_store *store,
                      enum husk_cli_save_format format, const char *output,
                      const struct husk_image *const *imgs, char **const *names, size_t n,
                      struct husk_error **err);

/* Import the archive PATH (husk load: a docker-archive, an oci-archive or an OCI layout
   directory; standard input when PATH is NULL), or with PULL the docker-archive PATH (husk
   pull docker-archive:FILE).  */
int husk_cli_load_archive (struct husk_global *g, const char *path, bool quiet, bool pull,
                           struct husk_error **err);

/* Containers.  */
int husk_cmd_create (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_start (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_restart (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_ps (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_stop (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_kill (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_wait (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_rm (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_container_prune (struct husk_global *g, int argc, char **argv,
                              struct husk_error **err);
int husk_cmd_attach (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_rename (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_port (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_container_inspect (struct husk_global *g, int argc, char **argv,
                                struct husk_error **err);
/* One container as husk inspect shows it.  */
struct husk_ctr;
#include "json.h"
void husk_cli_container_json (struct husk_store *s, const struct husk_ctr *c, husk_jgen *g);
int husk_cmd_container (struct husk_global *g, int argc, char **argv, struct husk_error **err);

/* Networks (cli/network.c).  */
int husk_cmd_network (struct husk_global *g, int argc, char **argv, struct husk_error **err);

#endif
