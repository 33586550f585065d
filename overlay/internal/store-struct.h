/* The fields of an open store: overlay/'s own.  Only overlay/ has this folder on its include
   path (Makefile.am's INC_OVERLAY), so a file of another folder that includes this header does
   not compile (the layering probes of make check hold that).  */
#ifndef HUSK_STORE_STRUCT_H
#define HUSK_STORE_STRUCT_H

#include "store.h"

struct husk_store
{
  char *root;     /* As given to husk_store_open.  */
  int rootfd;     /* O_DIRECTORY, close-on-exec.  */
  int lockfd;     /* The store lock (husk_store_lock), or -1.  */
  int lock_depth; /* Nested husk_store_lock calls.  */
  int gclockfd;   /* The images-in-use lock (husk_store_gc_lock), or -1.  */
};

#endif
