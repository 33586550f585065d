/* Small helpers shared by both stages: memory, strings, files.  */
#ifndef HUSK_UTIL_H
#define HUSK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Allocation failure is not recoverable for a CLI tool: these abort.  */
void *husk_xmalloc (size_t n);
void *husk_xcalloc (size_t n, size_t size);
void *husk_xrealloc (void *p, size_t n);
char *husk_xstrdup (const char *s);
char *husk_strdup_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

bool husk_str_has_prefix (const char *s, const char *prefix);
bool husk_str_has_suffix (const char *s, const char *suffix);

/* NULL-terminated string vectors.  */
size_t husk_strv_len (char *const *v);
/* Whether V (NULL or NULL-terminated) holds a string equal to S.  */
bool husk_strv_contains (char *const *v, const char *s);
void husk_strv_append (char ***v, const char *s);
void husk_strv_free (char **v);
/* Whether A and B (each NULL or NULL-terminated; NULL is empty) hold the same strings in the
   same order.  */
bool husk_strv_equal (char *const *a, char *const *b);
/* Whether the "NAME=VALUE" vector ENV sets NAME.  */
bool husk_env_has (char *const *env, const char *name);
/* Set "NAME=VALUE" KV in *ENV, replacing an earlier NAME: the later setting wins (Docker's
   rule for the image's Env, then -e and --env-file).  */
void husk_env_set (char ***env, const char *kv);

/* Parse a whole decimal string into an unsigned value no larger than MAX.  */
int husk_parse_u64 (const char *s, uint64_t max, uint64_t *ret_value);

ssize_t husk_read_all (int fd, void *buf, size_t len);
int husk_write_all (int fd, const void *buf, size_t len);

/* Read a whole file (at most MAX_SIZE bytes) relative to DIRFD; the buffer is NUL-terminated.  */
int husk_read_file_at (int dirfd, const char *path, size_t max_size, char **ret_buf,
                       size_t *ret_len, struct husk_error **err);

/* Write a file through a temporary name in the same directory, fsync, rename.  */
int husk_write_file_atomic_at (int dirfd, const char *path, const void *buf, size_t len,
                               mode_t mode, struct husk_error **err);
/* The same without fsync: readers never see a partial file, but a crash may lose the write
   (for state that is repaired when found stale).  */
int husk_write_file_replace_at (int dirfd, const char *path, const void *buf, size_t len,
                                mode_t mode, struct husk_error **err);

/* PATH cleaned as Go's path.Clean does it: empty and "." components dropped, ".." taking the
   one before it away.  ROOTED: the result is absolute ("/a/b"; "/" when nothing is left) and
   ".." at the top stays at "/", as inside a container's root.  Not ROOTED: a leading "/" is
   dropped, the result is relative ("a/b"; "." when nothing is left), and NULL is returned
   when ".." would climb above the start (a build context's sources).  */
char *husk_path_clean (const char *path, bool rooted);

/* mkdir -p of PATH (a plain host path the caller controls).  */
int husk_mkdir_p (const char *path, mode_t mode, struct husk_error **err);

/* Remove NAME below DIRFD recursively, without following symlinks or crossing mounts.  */
int husk_rm_rf_at (int dirfd, const char *name, struct husk_error **err);
/* husk_rm_rf_at, adding to *FREED (may be NULL) the bytes it gave back to the file system as
   du counts them: st_blocks * 512 of each directory removed and of each other entry whose
   last link it removed (a file also linked from elsewhere frees nothing), also on failure
   (what went before it).  */
int husk_rm_rf_at_freed (int dirfd, const char *name, uint64_t *freed, struct husk_error **err);

/* Close every descriptor above stderr but those in KEEP (negative entries are ignored).  */
void husk_close_fds_except (const int *keep, size_t n_keep);

/* 64 lowercase hex characters of randomness, for IDs.  */
int husk_random_hex (char *buf, size_t hex_len, struct husk_error **err);

#endif
