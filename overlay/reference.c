#include "config.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "reference.h"
#include "util.h"
#include "banned.h"

#define NAME_MAX_TOTAL 255

static bool
is_alnum_lower (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*  */
static bool
valid_component (const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0 || !is_alnum_lower (s[0]) || !is_alnum_lower (s[n - 1]))
    return false;
  while (i < n)
    {
      if (is_alnum_lower (s[i]))
        {
          i++;
          continue;
        }
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return false;
      if (i >= n || !is_alnum_lower (s[i]))
        return false;
    }
  return true;
}

static bool
valid_domain (const char *s)
{
  const char *colon;
  size_t hostlen;

  if (*s == '[')
    {
      const char *end = strchr (s, ']');
      if (end == NULL || end == s + 1)
        return false;
      for (const char *p = s + 1; p < end; p++)
        if (!isxdigit ((unsigned char) *p) && *p != ':' && *p != '.')
          return false;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (!colon && end[1] != '\0')
        return false;
    }
  else
    {
      colon = strchr (s, ':');
      hostlen = colon ? (size_t) (colon - s) : strlen (s);
      if (hostlen == 0)
        return false;
      for (size_t i = 0; i < hostlen; i++)
        if (!isalnum ((unsigned char) s[i]) && s[i] != '.' && s[i] != '-')
          return false;
      if (s[0] == '-' || s[0] == '.' || s[hostlen - 1] == '-' || s[hostlen - 1] == '.')
        return false;
    }
  if (colon)
    {
      if (colon[1] == '\0' || strlen (colon + 1) > 5)
        return false;
      for (const char *p = colon + 1; *p; p++)
        if (!isdigit ((unsigned char) *p))
          return false;
    }
  return true;
}

bool
husk_reference_valid_tag (const char *tag)
{
  size_t n = strlen (tag);
  if (n == 0 || n > 128)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = tag[i];
      bool word = isalnum ((unsigned char) c) || c == '_';
      if (!word && (i == 0 || (c != '.' && c != '-')))
        return false;
    }
  return true;
}

void
husk_reference_clear (struct husk_reference *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof (*r));
}

int
husk_reference_parse (const char *s, struct husk_reference *ret, struct husk_error **err)
{
  cleanup_free char *copy = NULL;
  cleanup_free char *domain = NULL;
  cleanup_free char *path = NULL;
  char *name, *at, *slash, *lastslash, *colon, *tag = NULL, *digest = NULL;
  bool had_domain = false;

  if (s == NULL || *s == '\0')
    return husk_error_set (err, 0, "invalid reference \"\": empty");
  copy = husk_xstrdup (s);

  at = strchr (copy, '@');
  if (at)
    {
      *at = '\0';
      digest = at + 1;
      if (husk_digest_check (digest, err) < 0)
        return husk_error_wrap (err, "invalid reference \"%s\"", s);
    }
  lastslash = strrchr (copy, '/');
  colon = strrchr (lastslash ? lastslash : copy, ':');
  if (colon)
    {
      *colon = '\0';
      tag = colon + 1;
      if (!husk_reference_valid_tag (tag))
        return husk_error_set (err, 0, "invalid reference \"%s\": invalid tag \"%s\"", s, tag);
    }

  name = copy;
  slash = strchr (name, '/');
  if (slash)
    {
      size_t n = (size_t) (slash - name);
      bool is_domain = n == 9 && strncmp (name, "localhost", 9) == 0;
      for (size_t i = 0; i < n && !is_domain; i++)
        if (name[i] == '.' || name[i] == ':' || isupper ((unsigned char) name[i]))
          is_domain = true;
      if (is_domain)
        {
          *slash = '\0';
          if (!valid_domain (name))
            return husk_error_set (err, 0, "invalid reference \"%s\": invalid registry \"%s\"", s,
                                   name);
          domain = husk_xstrdup (name);
          name = slash + 1;
          had_domain = true;
        }
    }
  if (domain == NULL || strcmp (domain, "index.docker.io") == 0)
    {
      free (domain);
      domain = husk_xstrdup ("docker.io");
    }
  if (strcmp (domain, "docker.io") == 0 && strchr (name, '/') == NULL)
    path = husk_strdup_printf ("library/%s", name);
  else
    path = husk_xstrdup (name);

  if (strlen (path) > NAME_MAX_TOTAL)
    return husk_error_set (err, 0, "invalid reference \"%s\": name longer than %d characters", s,
                           NAME_MAX_TOTAL);
  for (const char *p = path;;)
    {
      const char *e = strchr (p, '/');
      size_t n = e ? (size_t) (e - p) : strlen (p);
      if (!valid_component (p, n))
        return husk_error_set (err, 0,
                               "invalid reference \"%s\": repository name must be lowercase "
                               "letters, digits and separators",
                               s);
      if (!e)
        break;
      p = e + 1;
    }

  memset (ret, 0, sizeof (*ret));
  ret->domain = TAKE_PTR (domain);
  ret->path = TAKE_PTR (path);
  ret->tag = tag ? husk_xstrdup (tag) : (digest ? NULL : husk_xstrdup ("latest"));
  ret->digest = digest ? husk_xstrdup (digest) : NULL;
  ret->had_domain = had_domain;
  return 0;
}

char *
husk_reference_repository (const struct husk_reference *r)
{
  return husk_strdup_printf ("%s/%s", r->domain, r->path);
}

char *
husk_reference_string (const struct husk_reference *r)
{
  if (r->tag)
    return husk_strdup_printf ("%s/%s:%s", r->domain, r->path, r->tag);
  return husk_strdup_printf ("%s/%s@%s", r->domain, r->path, r->digest);
}
