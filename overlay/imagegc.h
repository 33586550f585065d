/* Removing images: rmi and image prune on the list of image records, then the garbage
   collection of the layers and blobs no record references.  Which images containers use is
   not known here: the engine lists it (husk_ctr_images_in_use, engine/record.h) and passes it
   in.  */
#ifndef HUSK_IMAGEGC_H
#define HUSK_IMAGEGC_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "image.h"
#include "store.h"

/* What containers hold on to: the IDs (hex, as struct husk_image's id) of the images they
   were made from, and the chain IDs ("sha256:HEX") of their layers.  Each a NULL-terminated
   list without duplicates, never NULL.  */
struct husk_images_in_use
{
  char **ids;
  char **chains;
};
void husk_images_in_use_clear (struct husk_images_in_use *u);
/* Whether the image with ID (hex) is in U.  */
bool husk_images_in_use_has (const struct husk_images_in_use *u, const char *id);
/* What lists the images in use for store S into *RET: the engine's husk_ctr_images_in_use,
   handed to overlay/ functions that remove images on their own (a failed load's undo), so
   that overlay/ never reads container records.  Called with the images-in-use lock held
   exclusively (husk_store_gc_lock).  */
typedef int (*husk_images_in_use_fn) (struct husk_store *s, struct husk_images_in_use *ret,
                                      struct husk_error **err);

/* What rmi and prune did to the records, in order, for the command to print (Docker prints
   "Untagged: NAME" and "Deleted: sha256:ID").  */
enum husk_image_change_kind
{
  HUSK_IMAGE_UNTAGGED, /* WHAT: the name removed.  */
  HUSK_IMAGE_DELETED,  /* WHAT: the image's ID, hex.  */
};
struct husk_image_change
{
  enum husk_image_change_kind kind;
  char *what;
};
struct husk_image_changes
{
  struct husk_image_change *items;
  size_t n;
};
void husk_image_changes_clear (struct husk_image_changes *c);

/* husk rmi on L: each of REFS (names, references by digest, as husk_images_lookup takes them,
   or IDs) in turn, with docker rmi's rules.  A name removes that name (and, when it was the
   image's last tag in its repository, the repo digests of that repository); a repo digest
   removes that digest; either removes the image with its last name or repo digest.  An ID,
   or a digest that is only the image's manifest's (not among its repo digests), removes the
   image.  An image with several names given by ID, or an image in IN_USE, is refused unless
   FORCE; with FORCE an image in use loses its names and repo digests and is kept.  Appends
   what it did to *CHANGES, also on failure (what was done before it, which the caller does
   not save).  Errors: husk_images_lookup's, "image \"REF\": it has N names (...)", "image
   \"REF\": a container uses it (...)".  */
int husk_images_remove (struct husk_image_list *l, char *const *refs, bool force,
                        const struct husk_images_in_use *in_use, struct husk_image_changes *changes,
                        struct husk_error **err);

/* husk image prune on L: drop every image not in IN_USE that has no name and no repo digest
   (ALL: also those with them), appending what it did to *CHANGES.  */
void husk_images_prune (struct husk_image_list *l, bool all,
                        const struct husk_images_in_use *in_use,
                        struct husk_image_changes *changes);

/* Delete every layer directory and blob that no image in L references (nor, for layers, IN_USE's
   chains when IN_USE is not NULL), each moved under tmp/ first so that a kill leaves nothing
   half-deleted in place.  Runs where the layers' owners are mapped (the user namespace).  The
   caller holds the store lock.  RET may be NULL.  Errors: "store \"ROOT\": open \"layers\"",
   "remove \"layers/HEX\": REASON".  */
struct husk_gc_result
{
  unsigned layers;
  unsigned blobs;
  uint64_t bytes; /* Unpacked size of the layers removed (layers/CHAIN/size).  */
  /* The disk space the removed layer directories and blobs held, as du counts it
     (husk_rm_rf_at_freed: st_blocks * 512 of what went with its last link).  */
  uint64_t freed;
};
int husk_images_gc (struct husk_store *s, const struct husk_image_list *l,
                    const struct husk_images_in_use *in_use, struct husk_gc_result *ret,
                    struct husk_error **err);

#endif
