#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "safepath.h"
#include "user.h"
#include "util.h"
#include "banned.h"

static bool
parse_id (const char *s, uint32_t *ret)
{
  uint64_t v;
  if (husk_parse_u64 (s, UINT32_MAX - 1, &v) < 0)
    return false;
  *ret = (uint32_t) v;
  return true;
}

/* Split a colon-separated line into at most MAX fields, in place.  */
static size_t
split_fields (char *line, char **fields, size_t max)
{
  size_t n = 0;
  char *p = line;

  line[strcspn (line, "\n")] = '\0';
  while (n < max)
    {
      fields[n++] = p;
      p = strchr (p, ':');
      if (p == NULL)
        break;
      *p++ = '\0';
    }
  return n;
}

/* /etc/passwd and /etc/group are read whole, with a bound, and only when they are regular files:
   a FIFO an image puts there must not stall the process that reads it.  */
#define ETC_FILE_MAX (16u * 1024 * 1024)

/* The container's FILE ("/etc/passwd") into *RET_BUF; a missing file gives an empty buffer.  */
static int
read_etc (int rootfd, const char *file, char **ret_buf)
{
  int r = husk_read_in_root (rootfd, file, ETC_FILE_MAX, HUSK_RESOLVE_IN_ROOT, ret_buf, NULL);
  if (r == -ENOENT)
    {
      *ret_buf = husk_xstrdup ("");
      return 0;
    }
  return r;
}

/* Find the passwd entry whose name is NAME or (when NAME is NULL) whose uid is UID, in the
   text BUF (changed in place).  */
static void
find_passwd (char *buf, const char *name, uid_t uid, struct husk_user *u, char **ret_name,
             bool *found)
{
  char *save = NULL;

  *found = false;
  for (char *line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *fl[7];
      uint32_t id, gid;
      if (split_fields (line, fl, 7) != 7 || !parse_id (fl[2], &id) || !parse_id (fl[3], &gid))
        continue;
      if (name ? strcmp (fl[0], name) != 0 : id != uid)
        continue;
      u->uid = id;
      u->gid = gid;
      snprintf (u->home, sizeof (u->home), "%s", *fl[5] ? fl[5] : "/");
      *ret_name = husk_xstrdup (fl[0]);
      *found = true;
      return;
    }
}

/* The group named NAME, and the supplementary groups of USER (when not NULL).  */
static void
scan_groups (const char *text, const char *name, gid_t *ret_gid, bool *found, const char *user,
             struct husk_user *u)
{
  cleanup_free char *buf = husk_xstrdup (text);
  char *lsave = NULL;

  *found = false;
  for (char *line = strtok_r (buf, "\n", &lsave); line; line = strtok_r (NULL, "\n", &lsave))
    {
      char *fl[4], *save = NULL;
      uint32_t gid;
      if (split_fields (line, fl, 4) != 4 || !parse_id (fl[2], &gid))
        continue;
      if (name && !*found && strcmp (fl[0], name) == 0)
        {
          *ret_gid = gid;
          *found = true;
        }
      if (user == NULL)
        continue;
      for (char *m = strtok_r (fl[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, user) == 0)
          {
            bool dup = false;
            for (size_t i = 0; i < u->n_groups; i++)
              dup |= u->groups[i] == gid;
            if (!dup && u->n_groups < HUSK_USER_MAX_GROUPS)
              u->groups[u->n_groups++] = gid;
            break;
          }
    }
}

int
husk_user_resolve (const char *spec, int rootfd, struct husk_user *ret, struct husk_error **err)
{
  cleanup_free char *user = husk_xstrdup (spec && *spec ? spec : "0");
  const char *shown = spec && *spec ? spec : "root";
  cleanup_free char *passwd = NULL, *group = NULL;
  cleanup_free char *name = NULL;
  struct husk_user u;
  char *grp = strchr (user, ':');
  uint32_t id;
  bool numeric, found;
  int r;

  memset (&u, 0, sizeof (u));
  if (grp)
    *grp++ = '\0';
  if (*user == '\0' || (grp && *grp == '\0'))
    return husk_error_set (err, 0, "user \"%s\": empty user or group name", shown);
  r = read_etc (rootfd, "/etc/passwd", &passwd);
  if (r < 0)
    return husk_error_set (err, r == -EINVAL ? 0 : -r, "user \"%s\": read \"/etc/passwd\"%s", shown,
                           r == -EINVAL ? ": not a regular file" : "");
  numeric = parse_id (user, &id);
  find_passwd (passwd, numeric ? NULL : user, numeric ? id : 0, &u, &name, &found);
  if (!found)
    {
      if (!numeric)
        return husk_error_set (err, 0, "user \"%s\": no such user in the container's /etc/passwd",
                               shown);
      u.uid = id;
      u.gid = 0;
      snprintf (u.home, sizeof (u.home), "/");
    }
  if (grp || name)
    {
      r = read_etc (rootfd, "/etc/group", &group);
      if (r < 0)
        return husk_error_set (err, r == -EINVAL ? 0 : -r, "user \"%s\": read \"/etc/group\"%s",
                               shown, r == -EINVAL ? ": not a regular file" : "");
    }
  if (grp)
    {
      gid_t gid = 0;
      if (parse_id (grp, &id))
        {
          gid = id;
          grp = NULL;
        }
      scan_groups (group, grp, &gid, &found, name, &u);
      if (grp && !found)
        return husk_error_set (err, 0, "user \"%s\": no such group in the container's /etc/group",
                               shown);
      u.gid = gid;
    }
  else if (name)
    scan_groups (group, NULL, NULL, &found, name, &u);
  *ret = u;
  return 0;
}
