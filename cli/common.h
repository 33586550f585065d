/* What every subcommand shares: global options, the store, the user's id map, usage errors.  */
#ifndef HUSK_COMMON_H
#define HUSK_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "newimage.h"
#include "store.h"
#include "userns.h"

/* Exit statuses, as Docker uses them.  */
#define HUSK_EXIT_FAILURE 1
#define HUSK_EXIT_USAGE 125

struct husk_global
{
  const char *root; /* --root, or NULL for the default.  */
  char **argv;      /* main's, whole: what husk-full is given.  */
  /* The umask husk was started with.  husk itself runs with 0022, so that nothing a container
     sees depends on it; only files written for the caller on the host (husk save -o) honour
     it, and husk-full is given it back.  */
  mode_t caller_umask;
};

/* Open the store named by --root or the default.  */
int husk_cli_open_store (struct husk_global *g, struct husk_store **ret, struct husk_error **err);

/* The id map to work under: NULL when husk runs as real root (no user namespace).  */
int husk_cli_idmap (struct husk_idmap *buf, const struct husk_idmap **ret, struct husk_error **err);

/* Replace this process with husk-full, given the whole command line, for a command that needs
   libcurl, libarchive or ISA-L (those live in husk-full only: see commands.h).  Returns only on
   failure.  */
int husk_cli_exec_full (struct husk_global *g, struct husk_error **err);

/* A usage error for COMMAND, with exit status 125.  */
/* An output file a command writes (save -o, export -o, push to an archive): a regular file, or
   one not there yet, is written under a temporary name beside it and renamed over it once
   whole (through a symlink, the file it names is the one replaced); anything else (a device
   such as /dev/null, a fifo, /dev/fd/N) is written through, as docker writes.  The new file's
   mode is 0644 less the caller's umask.  Returns the descriptor, *RET_TMP the temporary name
   (NULL when written through); pair with husk_cli_output_commit or husk_cli_output_abort.
   Errors: "create \"PATH\"", "open \"OUTPUT\"".  */
int husk_cli_output_open (struct husk_global *g, const char *output, char **ret_tmp,
                          char **ret_final, struct husk_error **err);
/* Make the output whole: fsync and rename TMP over FINAL (nothing for a file written
   through).  Errors: "\"OUTPUT\"" with the errno.  */
int husk_cli_output_commit (int fd, const char *tmp, const char *final, struct husk_error **err);
/* Drop a failed output's temporary file.  */
void husk_cli_output_abort (const char *tmp);

/* --tls-verify's argument ARG (NULL when the flag was given alone: true) into *RET: "true" or
   "false".  Anything else is COMMAND's usage error.  */
int husk_cli_tls_verify (const char *command, const char *arg, bool *ret, struct husk_error **err);

int husk_cli_usage_error (struct husk_error **err, const char *command, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* "3 days ago" from an RFC 3339 time, "N/A" without one.  */
void husk_cli_format_age (const char *created, char *buf, size_t size);
/* The same, with or without " ago" ("Up 5 seconds").  */
void husk_cli_format_since (const char *created, bool ago, char *buf, size_t size);
/* "1.23MB", as docker prints sizes.  */
void husk_cli_format_size (int64_t size, char *buf, size_t len);

/* --format of build and commit: "oci" or "docker" into *RET; -1 (no error set) for
   anything else.  */
int husk_cli_image_format (const char *s, enum husk_image_format *ret);

/* -e and --env-file, as run and exec read them.  */
/* -e NAME=VALUE, or NAME alone for the caller's value (skipped when the caller has none).
   COMMAND and WHAT name the flag in a usage error.  */
int husk_cli_env_add_arg (char ***env, const char *command, const char *arg, const char *what,
                          struct husk_error **err);

/* The lines of FILE as -e arguments; blank lines and "#" comments are skipped.  */
int husk_cli_env_add_file (char ***env, const char *command, const char *path,
                           struct husk_error **err);

struct husk_unmapped_ids;
/* The one-line warning on stderr when a rootless pull or load (under MAP) could not give files
   their owners (husk_unmapped_ids, overlay/unpack.h): how many files, which ids (the smallest
   and largest uid and gid), and why: no /etc/subuid range at all, or ids beyond the range.
   IMAGE names the image.  Nothing when UN has no files.  */
void husk_cli_warn_unmapped (const char *image, const struct husk_unmapped_ids *un,
                             const struct husk_idmap *map);

struct husk_ctr;
/* The signal husk stop and husk restart send C first: its record's stop_signal (the image's
   StopSignal) or SIGTERM.  A stop_signal husk_signal_parse does not know is a one-line
   warning on stderr, naming the container, and SIGTERM: the container still stops.  */
int husk_cli_stop_signal (const struct husk_ctr *c);

/* Run FN on each container named in ARGV[FIRST..] (at least one: the command's table checks
   that, husk_cli_operands): one failure is the error; with several
   containers each failure is printed and the rest go on, as docker does.  */
int husk_cli_each_container (struct husk_global *g, const char *cmd, int argc, char **argv,
                             int first,
                             int (*fn) (struct husk_store *s, struct husk_ctr *c, const char *arg,
                                        void *data, struct husk_error **err),
                             void *data, struct husk_error **err);

#endif
