/* Scope-bound cleanup for libarchive handles, for the overlay/ files that read or write tars.  */
#ifndef HUSK_TARCLEANUP_H
#define HUSK_TARCLEANUP_H

#include <archive.h>

static inline void
husk_archive_read_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}

static inline void
husk_archive_write_freep (struct archive **a)
{
  if (*a)
    archive_write_free (*a);
}

#define cleanup_archive_read __attribute__ ((cleanup (husk_archive_read_freep)))
#define cleanup_archive_write __attribute__ ((cleanup (husk_archive_write_freep)))

#endif
