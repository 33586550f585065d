/* husk export: a container's filesystem as one tar stream, as docker export writes it.  */
#ifndef HUSK_EXPORT_H
#define HUSK_EXPORT_H

#include "error.h"

struct husk_ctr;

/* Write container C's filesystem to OUTFD as a tar stream (pax): its image's layers with its
   own changes on top, as the container sees them (a file it deleted is absent, one it changed
   has its new content), and nothing mounted in it (volumes, /proc, /dev: at most their empty
   mount points, as docker export leaves them).  Entries are named
   relative to "/" ("etc/passwd", directories with a trailing "/"); owners are the
   container's ids, modes keep their setuid and setgid bits, symlinks stay symlinks, a second
   name of a file is a hard link entry, device nodes and fifos are written as they are,
   sockets are left out, extended attributes are pax records (husk_copy_to_tar_export).

   The view is a read-only overlay mounted in a mount namespace of this call's own: C's
   upper directory stacked over its layers as the topmost lower directory (husk_mount_overlay
   with no upper), which overlayfs allows beside the container's own mount, so C may be
   created, running or exited; a running container keeps running and what it writes meanwhile
   may or may not be in the stream.  Runs in a child that is root of a user namespace with C's
   id map when C has one (husk_userns_run), else in a child of real root.  The caller keeps C
   from being removed meanwhile (its lock).  Errors: "mount overlay...: REASON", "\"PATH\":
   REASON" for a file that could not be read, "write \"PATH\": REASON" for the stream.  */
int husk_export (const struct husk_ctr *c, int outfd, struct husk_error **err);

#endif
