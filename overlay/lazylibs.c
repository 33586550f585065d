/* libcurl, libarchive and libcrypto, loaded when first called.

   husk-full links none of them: they and the 40-odd libraries they pull in (TLS, Kerberos,
   LDAP, ICU, XML...) took the dynamic loader more time than a whole no-change `husk build`
   takes otherwise, and many runs of husk-full need none of them (libcrypto's own relocations
   alone cost more than a no-change build's lstat walk).  This file defines each function of
   theirs that husk calls, with the declaration of the library's own header (so the compiler
   checks every signature); the first call into a library dlopen()s it by its soname (found by
   configure from the library linked against) and resolves all of husk's functions of it at
   once, under pthread_once.  A library or function that cannot be loaded is an installation
   fault: husk says which, in one line, and exits 125.

   Calling a function of either library that is not listed here fails to link husk-full, so
   the list cannot fall behind: add a line, with the declaration from the header.
   `./configure --disable-lazy-libs` links the libraries the usual way instead.  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "banned.h"

/* F: a function returning a value; V: one returning nothing.  Each gets the library (L), its
   return type (F only), name, parameter list as the header declares it, and the argument list
   to pass on.  X: a variadic one, whose definition is written out below.  */
#define CURL_FUNCTIONS(L, F, V, X)                                                                 \
  X (L, curl_easy_setopt)                                                                          \
  X (L, curl_easy_getinfo)                                                                         \
  V (L, curl_easy_cleanup, (CURL * a0), (a0))                                                      \
  F (L, char *, curl_easy_escape, (CURL * a0, const char *a1, int a2), (a0, a1, a2))               \
  F (L, CURL *, curl_easy_init, (void), ())                                                        \
  F (L, CURLcode, curl_easy_perform, (CURL * a0), (a0))                                            \
  V (L, curl_easy_reset, (CURL * a0), (a0))                                                        \
  F (L, const char *, curl_easy_strerror, (CURLcode a0), (a0))                                     \
  V (L, curl_free, (void *a0), (a0))                                                               \
  F (L, CURLcode, curl_global_init, (long int a0), (a0))                                           \
  F (L, struct curl_slist *, curl_slist_append, (struct curl_slist * a0, const char *a1),          \
     (a0, a1))                                                                                     \
  V (L, curl_slist_free_all, (struct curl_slist * a0), (a0))

#define CRYPTO_FUNCTIONS(L, F, V, X)                                                               \
  F (L, int, EVP_DecodeBlock, (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))  \
  F (L, int, EVP_DigestFinal_ex, (EVP_MD_CTX * a0, unsigned char *a1, unsigned int *a2),           \
     (a0, a1, a2))                                                                                 \
  F (L, int, EVP_DigestInit_ex, (EVP_MD_CTX * a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2))     \
  F (L, int, EVP_DigestUpdate, (EVP_MD_CTX * a0, const void *a1, size_t a2), (a0, a1, a2))         \
  F (L, int, EVP_EncodeBlock, (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))  \
  V (L, EVP_MD_CTX_free, (EVP_MD_CTX * a0), (a0))                                                  \
  F (L, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                  \
  F (L, const EVP_MD *, EVP_sha256, (void), ())

#define ARCHIVE_FUNCTIONS(L, F, V, X)                                                              \
  X (L, archive_set_error)                                                                         \
  F (L, time_t, archive_entry_atime, (struct archive_entry * a0), (a0))                            \
  F (L, int, archive_entry_atime_is_set, (struct archive_entry * a0), (a0))                        \
  F (L, long int, archive_entry_atime_nsec, (struct archive_entry * a0), (a0))                     \
  F (L, struct archive_entry *, archive_entry_clear, (struct archive_entry * a0), (a0))            \
  V (L, archive_entry_copy_pathname, (struct archive_entry * a0, const char *a1), (a0, a1))        \
  V (L, archive_entry_copy_stat, (struct archive_entry * a0, const struct stat *a1), (a0, a1))     \
  V (L, archive_entry_copy_symlink, (struct archive_entry * a0, const char *a1), (a0, a1))         \
  F (L, mode_t, archive_entry_filetype, (struct archive_entry * a0), (a0))                         \
  V (L, archive_entry_free, (struct archive_entry * a0), (a0))                                     \
  F (L, la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))                          \
  F (L, const char *, archive_entry_hardlink, (struct archive_entry * a0), (a0))                   \
  V (L, archive_entry_linkify,                                                                     \
     (struct archive_entry_linkresolver * a0, struct archive_entry * *a1,                          \
      struct archive_entry * *a2),                                                                 \
     (a0, a1, a2))                                                                                 \
  V (L, archive_entry_linkresolver_free, (struct archive_entry_linkresolver * a0), (a0))           \
  F (L, struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (void), ())           \
  V (L, archive_entry_linkresolver_set_strategy, (struct archive_entry_linkresolver * a0, int a1), \
     (a0, a1))                                                                                     \
  F (L, mode_t, archive_entry_mode, (struct archive_entry * a0), (a0))                             \
  F (L, time_t, archive_entry_mtime, (struct archive_entry * a0), (a0))                            \
  F (L, long int, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0))                     \
  F (L, struct archive_entry *, archive_entry_new, (void), ())                                     \
  F (L, const char *, archive_entry_pathname, (struct archive_entry * a0), (a0))                   \
  F (L, mode_t, archive_entry_perm, (struct archive_entry * a0), (a0))                             \
  F (L, dev_t, archive_entry_rdevmajor, (struct archive_entry * a0), (a0))                         \
  F (L, dev_t, archive_entry_rdevminor, (struct archive_entry * a0), (a0))                         \
  V (L, archive_entry_set_filetype, (struct archive_entry * a0, unsigned int a1), (a0, a1))        \
  V (L, archive_entry_set_gid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))               \
  V (L, archive_entry_set_hardlink, (struct archive_entry * a0, const char *a1), (a0, a1))         \
  V (L, archive_entry_set_mtime, (struct archive_entry * a0, time_t a1, long int a2),              \
     (a0, a1, a2))                                                                                 \
  V (L, archive_entry_set_pathname, (struct archive_entry * a0, const char *a1), (a0, a1))         \
  V (L, archive_entry_set_perm, (struct archive_entry * a0, mode_t a1), (a0, a1))                  \
  V (L, archive_entry_set_rdevmajor, (struct archive_entry * a0, dev_t a1), (a0, a1))              \
  V (L, archive_entry_set_rdevminor, (struct archive_entry * a0, dev_t a1), (a0, a1))              \
  V (L, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1), (a0, a1))              \
  V (L, archive_entry_set_uid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))               \
  F (L, la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))                         \
  F (L, const char *, archive_entry_symlink, (struct archive_entry * a0), (a0))                    \
  F (L, la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))                          \
  V (L, archive_entry_xattr_add_entry,                                                             \
     (struct archive_entry * a0, const char *a1, const void *a2, size_t a3), (a0, a1, a2, a3))     \
  F (L, int, archive_entry_xattr_next,                                                             \
     (struct archive_entry * a0, const char **a1, const void **a2, size_t *a3), (a0, a1, a2, a3))  \
  F (L, int, archive_entry_xattr_reset, (struct archive_entry * a0), (a0))                         \
  F (L, int, archive_errno, (struct archive * a0), (a0))                                           \
  F (L, const char *, archive_error_string, (struct archive * a0), (a0))                           \
  F (L, int, archive_format, (struct archive * a0), (a0))                                          \
  F (L, la_ssize_t, archive_read_data, (struct archive * a0, void *a1, size_t a2), (a0, a1, a2))   \
  F (L, int, archive_read_data_block,                                                              \
     (struct archive * a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))         \
  F (L, int, archive_read_free, (struct archive * a0), (a0))                                       \
  F (L, struct archive *, archive_read_new, (void), ())                                            \
  F (L, int, archive_read_next_header, (struct archive * a0, struct archive_entry * *a1),          \
     (a0, a1))                                                                                     \
  F (L, int, archive_read_open,                                                                    \
     (struct archive * a0, void *a1, archive_open_callback *a2, archive_read_callback *a3,         \
      archive_close_callback *a4),                                                                 \
     (a0, a1, a2, a3, a4))                                                                         \
  F (L, int, archive_read_open_fd, (struct archive * a0, int a1, size_t a2), (a0, a1, a2))         \
  F (L, int, archive_read_open_filename, (struct archive * a0, const char *a1, size_t a2),         \
     (a0, a1, a2))                                                                                 \
  F (L, int, archive_read_support_filter_bzip2, (struct archive * a0), (a0))                       \
  F (L, int, archive_read_support_filter_gzip, (struct archive * a0), (a0))                        \
  F (L, int, archive_read_support_filter_xz, (struct archive * a0), (a0))                          \
  F (L, int, archive_read_support_filter_zstd, (struct archive * a0), (a0))                        \
  F (L, int, archive_read_support_format_gnutar, (struct archive * a0), (a0))                      \
  F (L, int, archive_read_support_format_raw, (struct archive * a0), (a0))                         \
  F (L, int, archive_read_support_format_tar, (struct archive * a0), (a0))                         \
  F (L, int, archive_write_close, (struct archive * a0), (a0))                                     \
  F (L, la_ssize_t, archive_write_data, (struct archive * a0, const void *a1, size_t a2),          \
     (a0, a1, a2))                                                                                 \
  F (L, int, archive_write_free, (struct archive * a0), (a0))                                      \
  F (L, int, archive_write_header, (struct archive * a0, struct archive_entry * a1), (a0, a1))     \
  F (L, struct archive *, archive_write_new, (void), ())                                           \
  F (L, int, archive_write_open,                                                                   \
     (struct archive * a0, void *a1, archive_open_callback *a2, archive_write_callback *a3,        \
      archive_close_callback *a4),                                                                 \
     (a0, a1, a2, a3, a4))                                                                         \
  F (L, int, archive_write_open_fd, (struct archive * a0, int a1), (a0, a1))                       \
  F (L, int, archive_write_set_bytes_in_last_block, (struct archive * a0, int a1), (a0, a1))       \
  F (L, int, archive_write_set_bytes_per_block, (struct archive * a0, int a1), (a0, a1))           \
  F (L, int, archive_write_set_format_pax_restricted, (struct archive * a0), (a0))

struct lazy_lib
{
  const char *soname;
  pthread_once_t once;
  const char *const *names;
  void **slots;
  size_t n;
};

static _Noreturn void
lazy_fail (const char *soname, const char *what)
{
  fprintf (stderr, "husk: %s: %s\n", soname, what ? what : "cannot be loaded");
  exit (125);
}

static void
lazy_load (struct lazy_lib *l)
{
  void *h = dlopen (l->soname, RTLD_NOW | RTLD_LOCAL);

  if (h == NULL)
    lazy_fail (l->soname, dlerror ());
  for (size_t i = 0; i < l->n; i++)
    {
      l->slots[i] = dlsym (h, l->names[i]);
      if (l->slots[i] == NULL)
        lazy_fail (l->soname, dlerror ());
    }
}

/* A library's table: an index per function (curl_i_curl_easy_init...), the names in that
   order, a slot per function that dlsym fills, and LIB_get () to load it on first use.  A slot
   is turned back into its function's own type (POSIX guarantees dlsym's result survives the
   conversion) where it is called: CALL (lib, name).  */
#define INDEX_F(lib, ret, name, params, args) lib##_i_##name,
#define INDEX_V(lib, name, params, args) lib##_i_##name,
#define INDEX_X(lib, name) lib##_i_##name,
#define NAME_F(lib, ret, name, params, args) #name,
#define NAME_V(lib, name, params, args) #name,
#define NAME_X(lib, name) #name,

#define LAZY_LIBRARY(lib, SONAME, LIST)                                                            \
  enum                                                                                             \
  {                                                                                                \
    LIST (lib, INDEX_F, INDEX_V, INDEX_X) lib##_count                                              \
  };                                                                                               \
  static const char *const lib##_names[lib##_count] = { LIST (lib, NAME_F, NAME_V, NAME_X) };      \
  static void *lib##_slots[lib##_count];                                                           \
  static struct lazy_lib lib##_lib                                                                 \
      = { SONAME, PTHREAD_ONCE_INIT, lib##_names, lib##_slots, lib##_count };                      \
  static void lib##_load (void) { lazy_load (&lib##_lib); }                                        \
  static inline void *const *lib##_get (void)                                                      \
  {                                                                                                \
    pthread_once (&lib##_lib.once, lib##_load);                                                    \
    return lib##_slots;                                                                            \
  }

#define CALL(lib, name) ((__typeof__ (name) *) lib##_get ()[lib##_i_##name])

LAZY_LIBRARY (curl, HUSK_CURL_SONAME, CURL_FUNCTIONS)
LAZY_LIBRARY (archive, HUSK_ARCHIVE_SONAME, ARCHIVE_FUNCTIONS)
LAZY_LIBRARY (crypto, HUSK_CRYPTO_SONAME, CRYPTO_FUNCTIONS)

/* The definitions, each calling its slot.  */
#define DEFINE_F(lib, ret, name, params, args)                                                     \
  ret name params { return CALL (lib, name) args; }
#define DEFINE_V(lib, name, params, args)                                                          \
  void name params { CALL (lib, name) args; }
#define DEFINE_X(lib, name)

CURL_FUNCTIONS (curl, DEFINE_F, DEFINE_V, DEFINE_X)
ARCHIVE_FUNCTIONS (archive, DEFINE_F, DEFINE_V, DEFINE_X)
CRYPTO_FUNCTIONS (crypto, DEFINE_F, DEFINE_V, DEFINE_X)

/* The variadic three.  curl_easy_setopt's one value has the type its option's number range
   says (curl/curl.h's CURLOPTTYPE_* bases: long, object pointer, function pointer, curl_off_t,
   blob pointer); curl_easy_getinfo's is always a pointer to where the answer goes; the message
   archive_set_error formats is formatted here and passed on as one string.  The parentheses
   around the names keep curl's type-checking macros of the same names out.  */
CURLcode (curl_easy_setopt) (CURL *curl, CURLoption option, ...)
{
  __typeof__ (curl_easy_setopt) *f = CALL (curl, curl_easy_setopt);
  va_list ap;
  CURLcode r;

  va_start (ap, option);
  if (option < CURLOPTTYPE_OBJECTPOINT)
    r = f (curl, option, va_arg (ap, long));
  else if (option < CURLOPTTYPE_FUNCTIONPOINT)
    r = f (curl, option, va_arg (ap, void *));
  else if (option < CURLOPTTYPE_OFF_T)
    r = f (curl, option, va_arg (ap, void (*) (void)));
  else if (option < CURLOPTTYPE_BLOB)
    r = f (curl, option, va_arg (ap, curl_off_t));
  else
    r = f (curl, option, va_arg (ap, void *));
  va_end (ap);
  return r;
}

CURLcode (curl_easy_getinfo) (CURL *curl, CURLINFO info, ...)
{
  __typeof__ (curl_easy_getinfo) *f = CALL (curl, curl_easy_getinfo);
  va_list ap;
  CURLcode r;

  va_start (ap, info);
  r = f (curl, info, va_arg (ap, void *));
  va_end (ap);
  return r;
}

void
archive_set_error (struct archive *a, int errnum, const char *fmt, ...)
{
  __typeof__ (archive_set_error) *f = CALL (archive, archive_set_error);
  va_list ap;
  char buf[1024];

  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  f (a, errnum, "%s", buf);
}
