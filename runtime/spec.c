/* The memory of a container spec: what it owns, and copies of the caller's pieces.  */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "hooks.h"
#include "jsonmap.h"
#include "util.h"
#include "banned.h"

struct husk_mount *
husk_mounts_dup (const struct husk_mount *mounts, size_t n)
{
  struct husk_mount *v = husk_xcalloc (n ? n : 1, sizeof (*v));

  for (size_t i = 0; i < n; i++)
    {
      v[i] = mounts[i];
      v[i].source = mounts[i].source ? husk_xstrdup (mounts[i].source) : NULL;
      v[i].dest = mounts[i].dest ? husk_xstrdup (mounts[i].dest) : NULL;
      v[i].options = mounts[i].options ? husk_xstrdup (mounts[i].options) : NULL;
    }
  return v;
}

void
husk_container_spec_clear (struct husk_container_spec *sp)
{
  if (sp == NULL)
    return;
  husk_strv_free (sp->lowerdirs);
  free ((char *) sp->upperdir);
  free ((char *) sp->workdir);
  free ((char *) sp->rootfs);
  husk_strv_free (sp->args);
  husk_strv_free (sp->env);
  free ((char *) sp->cwd);
  free ((char *) sp->hostname);
  free ((char *) sp->user);
  husk_strv_free (sp->masked_paths);
  husk_strv_free (sp->readonly_paths);
  for (size_t i = 0; i < sp->n_mounts; i++)
    {
      free ((char *) sp->mounts[i].source);
      free ((char *) sp->mounts[i].dest);
      free ((char *) sp->mounts[i].options);
    }
  free ((void *) sp->mounts);
  free ((char *) sp->seccomp_profile);
  free ((void *) sp->rlimits);
  if (sp->hooks)
    {
      husk_jsonmap_clear (husk_hooks_fields, sp->hooks);
      free (sp->hooks);
    }
  free ((char *) sp->id);
  free ((char *) sp->bundle);
  husk_strv_free (sp->annotations);
  free ((char *) sp->resources.cpu_cpus);
  memset (sp, 0, sizeof (*sp));
}
