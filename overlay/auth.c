#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "json.h"
#include "util.h"
#include "banned.h"

#define AUTH_FILE_MAX (1024 * 1024)

char *
husk_auth_file_path (void)
{
  const char *f = getenv ("REGISTRY_AUTH_FILE");
  const char *run = getenv ("XDG_RUNTIME_DIR");

  if (f && *f)
    return husk_xstrdup (f);
  if (run && *run)
    return husk_strdup_printf ("%s/containers/auth.json", run);
  return husk_strdup_printf ("/run/user/%u/containers/auth.json", (unsigned) getuid ());
}

static char *
docker_config_path (void)
{
  const char *d = getenv ("DOCKER_CONFIG");
  const char *home = getenv ("HOME");

  if (d && *d)
    return husk_strdup_printf ("%s/config.json", d);
  if (home && *home)
    return husk_strdup_printf ("%s/.docker/config.json", home);
  return NULL;
}

char *
husk_auth_basic_token (const char *user, const char *pass)
{
  cleanup_free char *plain = husk_strdup_printf ("%s:%s", user, pass);
  size_t n = strlen (plain);
  char *out = husk_xmalloc (4 * ((n + 2) / 3) + 1);

  EVP_EncodeBlock ((unsigned char *) out, (const unsigned char *) plain, (int) n);
  return out;
}

static int
decode_auth (const char *b64, char **ret_user, char **ret_pass)
{
  size_t n = strlen (b64);
  cleanup_free char *out = NULL;
  char *colon;
  int len;

  if (n == 0 || n % 4 != 0 || n > 64 * 1024)
    return -1;
  out = husk_xmalloc (n / 4 * 3 + 1);
  len = EVP_DecodeBlock ((unsigned char *) out, (const unsigned char *) b64, (int) n);
  if (len < 0)
    return -1;
  /* EVP_DecodeBlock counts the padding as zero bytes.  */
  if (n >= 1 && b64[n - 1] == '=')
    len--;
  if (n >= 2 && b64[n - 2] == '=')
    len--;
  out[len] = '\0';
  if (memchr (out, '\0', (size_t) len) != NULL)
    return -1;
  colon = strchr (out, ':');
  if (colon == NULL)
    return -1;
  *colon = '\0';
  *ret_user = husk_xstrdup (out);
  *ret_pass = husk_xstrdup (colon + 1);
  return 0;
}

char *
husk_auth_registry_name (const char *key)
{
  const char *p = key;
  char *out;

  if (husk_str_has_prefix (p, "https://"))
    p += 8;
  else if (husk_str_has_prefix (p, "http://"))
    p += 7;
  out = husk_xstrdup (p);
  out[strcspn (out, "/")] = '\0';
  if (strcmp (out, "index.docker.io") == 0 || strcmp (out, "registry-1.docker.io") == 0)
    {
      free (out);
      out = husk_xstrdup ("docker.io");
    }
  return out;
}

/* Read PATH: 0 with *RET NULL when it does not exist.  */
static int
read_json (const char *path, husk_json **ret, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  size_t len;

  *ret = NULL;
  if (husk_read_file_at (AT_FDCWD, path, AUTH_FILE_MAX, &buf, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          husk_error_free (err);
          return 0;
        }
      return husk_error_wrap (err, "auth file \"%s\"", path);
    }
  *ret = husk_json_parse (buf, len, err);
  if (*ret == NULL)
    return husk_error_wrap (err, "auth file \"%s\"", path);
  return 0;
}

static int
lookup_in (const char *path, const char *registry, char **ret_user, char **ret_pass,
           struct husk_error **err)
{
  cleanup_json husk_json *doc = NULL;
  const husk_json *auths;

  if (path == NULL || read_json (path, &doc, err) < 0)
    return path == NULL ? 0 : -1;
  auths = husk_json_get (doc, "auths");
  for (size_t i = 0; i < husk_json_object_len (auths); i++)
    {
      cleanup_free char *reg = husk_auth_registry_name (husk_json_object_key (auths, i));
      const char *b64;
      if (strcmp (reg, registry) != 0)
        continue;
      b64 = husk_json_get_string (husk_json_object_value (auths, i), "auth");
      if (b64 == NULL || *b64 == '\0')
        continue; /* A credential helper entry: not supported, look further.  */
      if (decode_auth (b64, ret_user, ret_pass) < 0)
        return husk_error_set (err, 0,
                               "auth file \"%s\": entry \"%s\" is not base64 of user:password",
                               path, husk_json_object_key (auths, i));
      return 1;
    }
  return 0;
}

int
husk_auth_lookup (const char *registry, char **ret_user, char **ret_pass, struct husk_error **err)
{
  cleanup_free char *own = husk_auth_file_path ();
  cleanup_free char *docker = docker_config_path ();
  int r;

  r = lookup_in (own, registry, ret_user, ret_pass, err);
  if (r != 0)
    return r;
  return lookup_in (docker, registry, ret_user, ret_pass, err);
}

/* Rewrite husk's file: every entry of DOC but REGISTRY's, then REGISTRY's new one (when USER is
   set).  REMOVE_ALL drops all entries.  */
static int
write_auths (const char *path, const husk_json *doc, const char *registry, const char *user,
             const char *pass, bool remove_all, int *ret_removed, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  cleanup_free char *dir = husk_xstrdup (path);
  const husk_json *auths = husk_json_get (doc, "auths");
  const char *out;
  size_t len;
  char *slash;
  int removed = 0;

  husk_jgen_map_open (g);
  for (size_t i = 0; i < husk_json_object_len (doc); i++)
    {
      if (strcmp (husk_json_object_key (doc, i), "auths") == 0)
        continue;
      husk_jgen_key (g, husk_json_object_key (doc, i));
      husk_jgen_value (g, husk_json_object_value (doc, i));
    }
  husk_jgen_key (g, "auths");
  husk_jgen_map_open (g);
  for (size_t i = 0; i < husk_json_object_len (auths); i++)
    {
      cleanup_free char *reg = husk_auth_registry_name (husk_json_object_key (auths, i));
      if (remove_all || (registry && strcmp (reg, registry) == 0))
        {
          removed = 1;
          continue;
        }
      husk_jgen_key (g, husk_json_object_key (auths, i));
      husk_jgen_value (g, husk_json_object_value (auths, i));
    }
  if (user)
    {
      cleanup_free char *b64 = husk_auth_basic_token (user, pass);
      husk_jgen_key (g, registry);
      husk_jgen_map_open (g);
      husk_jgen_key (g, "auth");
      husk_jgen_string (g, b64);
      husk_jgen_map_close (g);
    }
  husk_jgen_map_close (g);
  husk_jgen_map_close (g);
  out = husk_jgen_buf (g, &len);

  slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (husk_mkdir_p (dir, 0700, err) < 0)
        return husk_error_wrap (err, "auth file \"%s\"", path);
    }
  if (husk_write_file_atomic_at (AT_FDCWD, path, out, len, 0600, err) < 0)
    return husk_error_wrap (err, "auth file \"%s\"", path);
  if (ret_removed)
    *ret_removed = removed;
  return 0;
}

int
husk_auth_store (const char *registry, const char *user, const char *pass, struct husk_error **err)
{
  cleanup_free char *path = husk_auth_file_path ();
  cleanup_json husk_json *doc = NULL;

  if (read_json (path, &doc, err) < 0)
    return -1;
  return write_auths (path, doc, registry, user, pass, false, NULL, err);
}

int
husk_auth_remove (const char *registry, struct husk_error **err)
{
  cleanup_free char *path = husk_auth_file_path ();
  cleanup_json husk_json *doc = NULL;
  int removed = 0;

  if (read_json (path, &doc, err) < 0)
    return -1;
  if (doc == NULL)
    return 0;
  if (write_auths (path, doc, registry, NULL, NULL, registry == NULL, &removed, err) < 0)
    return -1;
  return removed;
}
