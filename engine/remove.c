/* Removing containers and what interrupted commands left: see remove.h.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "names.h"
#include "net.h"
#include "store.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

int
husk_ctr_remove_files (struct husk_ctr_rm *job, struct husk_error **err)
{
  int rootfd = husk_store_rootfd (job->store);
  cleanup_free char *from = husk_strdup_printf ("containers/%s", job->id);
  cleanup_free char *to = husk_strdup_printf ("containers/.rm-%s", job->id);

  unsigned wait_us = 1000;

  /* Out of every listing at once; a crash leaves only a directory no command reads.  */
  if (renameat (rootfd, from, rootfd, to) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "container %.12s: remove", job->id);
  /* The container is gone for every command from here: its name is free at once, whatever
     becomes of the files.  */
  husk_ctr_name_release (job->store, job->name, job->id);
  /* Its addresses on user networks too, and the others there forget its name.  */
  husk_net_forget (job->store, job->id);
  /* A copy that joined the container before it exited may still be writing into its upper
     directory (ENOTEMPTY): try again for most of a second; what is left after that
     is swept by container prune.  */
  for (int tries = 0;; tries++)
    {
      cleanup_error struct husk_error *e = NULL;
      if (husk_rm_rf_at (rootfd, to, &e) == 0)
        return 0;
      if (tries == 10 || (e->errnum != ENOTEMPTY && e->errnum != EBUSY))
        {
          *err = TAKE_PTR (e);
          return husk_error_wrap (err, "container %.12s: remove", job->id);
        }
      usleep (wait_us);
      wait_us = wait_us < 256000 ? wait_us * 2 : wait_us;
    }
}

/* Leftovers of interrupted commands: a removal cut short (".rm-ID"), or a creation killed
   before its record was written (no config.json, older than a minute).  */
static int
sweep_in_userns (void *arg, struct husk_error **err)
{
  struct husk_store *s = arg;
  cleanup_dir DIR *d = husk_ctr_open_dir (s, err);
  struct dirent *de;

  if (d == NULL)
    return *err ? -1 : 0;
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *cfg = NULL;
      struct stat st;

      if (strncmp (de->d_name, ".rm-", 4) == 0)
        {
          husk_rm_rf_at (dirfd (d), de->d_name, NULL);
          continue;
        }
      if (strlen (de->d_name) != 64 || !husk_ctr_is_hex (de->d_name))
        continue;
      cfg = husk_strdup_printf ("%s/config.json", de->d_name);
      if (faccessat (dirfd (d), cfg, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && time (NULL) - st.st_mtime > 60)
        husk_rm_rf_at (dirfd (d), de->d_name, NULL);
    }
  return 0;
}

int
husk_ctr_sweep (struct husk_store *s, const struct husk_idmap *map, struct husk_error **err)
{
  return husk_userns_run (map, sweep_in_userns, s, err);
}

static int
remove_in_userns (void *arg, struct husk_error **err)
{
  return husk_ctr_remove_files (arg, err);
}

int
husk_ctr_remove_id (struct husk_store *s, const char *id, const char *name,
                    const struct husk_idmap *map, struct husk_error **err)
{
  struct husk_ctr_rm job = { .store = s, .id = id, .name = name };

  return husk_userns_run (map, remove_in_userns, &job, err);
}

int
husk_ctr_remove (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  husk_ctr_remove_rundir (c);
  return husk_ctr_remove_id (s, c->id, c->name, c->spec.idmap, err);
}
