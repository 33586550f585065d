#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "common.h"
#include "env.h"
#include "util.h"
#include "banned.h"

void
husk_cli_env_set (char ***env, const char *kv)
{
  size_t n = strcspn (kv, "=");
  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp ((*env)[i], kv, n) == 0 && (*env)[i][n] == '=')
      {
        free ((*env)[i]);
        (*env)[i] = husk_xstrdup (kv);
        return;
      }
  husk_strv_append (env, kv);
}

int
husk_cli_env_add_arg (char ***env, const char *command, const char *arg, const char *what,
                      struct husk_error **err)
{
  const char *eq = strchr (arg, '=');
  if (arg[0] == '\0' || arg[0] == '=')
    return husk_cli_usage_error (err, command, "%s \"%s\": no variable name", what, arg);
  if (eq == NULL)
    {
      const char *v = getenv (arg);
      if (v)
        {
          cleanup_free char *kv = husk_strdup_printf ("%s=%s", arg, v);
          husk_cli_env_set (env, kv);
        }
      return 0;
    }
  husk_cli_env_set (env, arg);
  return 0;
}

int
husk_cli_env_add_file (char ***env, const char *command, const char *path,
                       struct husk_error **err)
{
  cleanup_file FILE *f = fopen (path, "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  if (f == NULL)
    return husk_error_set (err, errno, "env file \"%s\"", path);
  while ((n = getline (&line, &cap, f)) > 0)
    {
      char *p = line;
      line[strcspn (line, "\r\n")] = '\0';
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        continue;
      if (husk_cli_env_add_arg (env, command, p, "env file", err) < 0)
        return husk_error_wrap (err, "env file \"%s\"", path);
    }
  if (ferror (f))
    return husk_error_set (err, errno, "env file \"%s\"", path);
  return 0;
}
