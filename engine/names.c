/* Container names: see names.h.  */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "names.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "banned.h"

bool
husk_ctr_name_valid (const char *s)
{
  if (!isalnum ((unsigned char) s[0]) || strlen (s) > 128)
    return false;
  for (const char *p = s; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return true;
}

static int
names_dir (struct husk_store *s, struct husk_error **err)
{
  return husk_store_open_subdir (s, "container-names", true, err);
}

bool
husk_ctr_exists (struct husk_store *s, const char *id)
{
  cleanup_free char *p = husk_strdup_printf ("containers/%s/config.json", id);
  return faccessat (husk_store_rootfd (s), p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
husk_ctr_name_claim (struct husk_store *s, const char *name, const char *id,
                     struct husk_error **err)
{
  cleanup_close int dfd = -1;
  char target[80];
  ssize_t n;

  if (!husk_ctr_name_valid (name))
    return husk_error_set (err, 0, "name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  dfd = names_dir (s, err);
  if (dfd < 0)
    return -1;
  for (int attempt = 0; attempt < 3; attempt++)
    {
      if (symlinkat (id, dfd, name) == 0)
        return 0;
      if (errno != EEXIST)
        return husk_error_set (err, errno, "name \"%s\": claim it", name);
      n = readlinkat (dfd, name, target, sizeof (target) - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      if (strcmp (target, id) == 0)
        return 0;
      /* A name left by a container that no longer exists (a crash in rm) is free again.  A
         container being created writes its record right after claiming: give it that time by
         only freeing names whose claim is older than a minute.  */
      if (!husk_ctr_exists (s, target))
        {
          struct stat st;
          if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time (NULL) - st.st_mtime > 60)
            {
              unlinkat (dfd, name, 0);
              continue;
            }
        }
      return husk_error_set (err, 0, "name \"%s\": already in use by container %.12s", name,
                             target);
    }
  return husk_error_set (err, 0, "name \"%s\": could not claim it", name);
}

void
husk_ctr_name_release (struct husk_store *s, const char *name, const char *id)
{
  cleanup_close int dfd = -1;
  char target[80];
  ssize_t n;

  if (name == NULL)
    return;
  dfd = husk_store_open_subdir (s, "container-names", false, NULL);
  if (dfd < 0)
    return;
  n = readlinkat (dfd, name, target, sizeof (target) - 1);
  if (n < 0)
    return;
  target[n] = '\0';
  if (strcmp (target, id) == 0)
    unlinkat (dfd, name, 0);
}

static const char *const name_left[] = {
  "amber",  "bold",   "brisk",  "calm",      "clever", "cosmic", "crisp",  "daring", "dusty",
  "eager",  "fancy",  "fuzzy",  "gentle",    "glad",   "golden", "happy",  "hidden", "humble",
  "icy",    "jolly",  "keen",   "kind",      "lively", "lucky",  "mellow", "merry",  "misty",
  "modest", "nimble", "noble",  "odd",       "plucky", "polite", "proud",  "quick",  "quiet",
  "rapid",  "rosy",   "rustic", "shy",       "silent", "sleepy", "snowy",  "steady", "sunny",
  "swift",  "tidy",   "vivid",  "wandering", "witty",  "young",  "zesty",
};

static const char *const name_right[] = {
  "badger", "beetle", "bison",   "crane",  "cricket", "dolphin", "eagle",  "falcon", "ferret",
  "finch",  "gecko",  "gopher",  "heron",  "ibis",    "jackal",  "koala",  "lark",   "lemur",
  "lynx",   "magpie", "marten",  "mole",   "moose",   "newt",    "ocelot", "orca",   "otter",
  "owl",    "panda",  "pelican", "puffin", "quail",   "rabbit",  "raven",  "robin",  "salmon",
  "seal",   "shrew",  "sparrow", "stoat",  "swan",    "tapir",   "tern",   "toad",   "trout",
  "turtle", "viper",  "walrus",  "weasel", "wombat",  "wren",    "yak",
};

int
husk_ctr_name_generate (struct husk_store *s, const char *id, char **ret, struct husk_error **err)
{
  const size_t nl = sizeof (name_left) / sizeof (name_left[0]);
  const size_t nr = sizeof (name_right) / sizeof (name_right[0]);
  /* The ID is random: its hex digits pick the words, and later attempts move on.  */
  uint64_t seed;

  memcpy (&seed, id, sizeof (seed));
  for (unsigned attempt = 0; attempt < 64; attempt++)
    {
      cleanup_free char *name = NULL;
      cleanup_error struct husk_error *e = NULL;
      uint64_t x = seed + attempt * 0x9E3779B97F4A7C15ull;

      x ^= x >> 31;
      x *= 0xBF58476D1CE4E5B9ull;
      x ^= x >> 29;
      if (attempt < 16)
        name = husk_strdup_printf ("%s_%s", name_left[x % nl], name_right[(x / nl) % nr]);
      else
        name = husk_strdup_printf ("%s_%s%u", name_left[x % nl], name_right[(x / nl) % nr],
                                   (unsigned) (x >> 40) % 1000);
      if (husk_ctr_name_claim (s, name, id, &e) == 0)
        {
          *ret = TAKE_PTR (name);
          return 0;
        }
      if (e->errnum != 0)
        {
          *err = TAKE_PTR (e);
          return -1;
        }
    }
  return husk_error_set (err, 0, "container %.12s: no free name found", id);
}
