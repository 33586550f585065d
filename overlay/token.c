/* The registry client's authentication: WWW-Authenticate challenges, Bearer tokens from the
   registry's token service (the distribution spec's token authentication, scoped
   "repository:REPO:ACTIONS" with the client's actions), Basic credentials.  */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "cleanup.h"
#include "json.h"
#include "registry-private.h"
#include "util.h"
#include "banned.h"

void
husk_challenge_clear (struct husk_challenge *ch)
{
  free (ch->scheme);
  free (ch->realm);
  free (ch->service);
  free (ch->scope);
  memset (ch, 0, sizeof (*ch));
}

static bool
is_token_char (char c)
{
  return c > ' ' && c < 127 && strchr ("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* Parse a WWW-Authenticate value: a scheme, then comma-separated key=value parameters whose
   values are tokens or quoted strings with backslash escapes.  Only the first challenge is
   read.  */
int
husk_challenge_parse (const char *s, struct husk_challenge *ret)
{
  struct husk_challenge ch = { 0 };
  const char *p = s, *start;

  while (*p == ' ' || *p == '\t')
    p++;
  start = p;
  while (is_token_char (*p))
    p++;
  if (p == start)
    return -1;
  ch.scheme = husk_xmalloc ((size_t) (p - start) + 1);
  memcpy (ch.scheme, start, (size_t) (p - start));
  ch.scheme[p - start] = '\0';
  for (;;)
    {
      cleanup_free char *key = NULL;
      char *val;
      size_t vlen = 0;

      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      if (*p == '\0')
        break;
      start = p;
      while (is_token_char (*p))
        p++;
      if (p == start)
        goto bad;
      key = husk_xmalloc ((size_t) (p - start) + 1);
      memcpy (key, start, (size_t) (p - start));
      key[p - start] = '\0';
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        break; /* The next challenge's scheme: stop at the first one.  */
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      val = husk_xmalloc (strlen (p) + 1);
      if (*p == '"')
        {
          p++;
          while (*p && *p != '"')
            {
              if (*p == '\\' && p[1])
                p++;
              val[vlen++] = *p++;
            }
          if (*p != '"')
            {
              free (val);
              goto bad;
            }
          p++;
        }
      else
        while (is_token_char (*p) || *p == '/' || *p == ':')
          val[vlen++] = *p++;
      val[vlen] = '\0';
      if (strcasecmp (key, "realm") == 0 && ch.realm == NULL)
        ch.realm = val;
      else if (strcasecmp (key, "service") == 0 && ch.service == NULL)
        ch.service = val;
      else if (strcasecmp (key, "scope") == 0 && ch.scope == NULL)
        ch.scope = val;
      else
        free (val);
    }
  *ret = ch;
  return 0;
bad:
  husk_challenge_clear (&ch);
  return -1;
}

/* The scopes a token for REPO is asked for, space-separated (the token service takes each as
   a scope parameter): REPO with the client's actions, and FROM (a cross-repository mount's
   source, may be NULL) with "pull".  */
static char *
repo_scope (const struct husk_registry *r, const char *repo, const char *from)
{
  if (repo == NULL)
    return husk_xstrdup ("");
  if (from)
    return husk_strdup_printf ("repository:%s:%s repository:%s:pull", repo, r->actions, from);
  return husk_strdup_printf ("repository:%s:%s", repo, r->actions);
}

/* The Authorization value to send for REPO now, or NULL.  Caller holds no lock.  */
char *
husk_registry_authz (struct husk_registry *r, const char *repo, const char *from)
{
  cleanup_free char *scope = repo_scope (r, repo, from);
  char *out = NULL;

  pthread_mutex_lock (&r->lock);
  if (r->auth == HUSK_AUTH_BEARER)
    {
      for (size_t i = 0; i < r->n_tokens; i++)
        if (strcmp (r->tokens[i].scope, scope) == 0 && r->tokens[i].expires > husk_now_mono ())
          {
            out = husk_strdup_printf ("Bearer %s", r->tokens[i].value);
            break;
          }
    }
  else if (r->auth == HUSK_AUTH_BASIC && r->user)
    {
      cleanup_free char *b64 = husk_auth_basic_token (r->user, r->pass);
      out = husk_strdup_printf ("Basic %s", b64);
    }
  pthread_mutex_unlock (&r->lock);
  return out;
}

static void
store_token (struct husk_registry *r, const char *scope, const char *value, int64_t expires_in)
{
  pthread_mutex_lock (&r->lock);
  for (size_t i = 0; i < r->n_tokens; i++)
    if (strcmp (r->tokens[i].scope, scope) == 0)
      {
        free (r->tokens[i].value);
        r->tokens[i].value = husk_xstrdup (value);
        r->tokens[i].expires = husk_now_mono () + expires_in;
        pthread_mutex_unlock (&r->lock);
        return;
      }
  r->tokens = husk_xrealloc (r->tokens, (r->n_tokens + 1) * sizeof (*r->tokens));
  r->tokens[r->n_tokens].scope = husk_xstrdup (scope);
  r->tokens[r->n_tokens].value = husk_xstrdup (value);
  r->tokens[r->n_tokens].expires = husk_now_mono () + expires_in;
  r->n_tokens++;
  pthread_mutex_unlock (&r->lock);
}

/* Ask the token service of CH for a token for REPO.  */
static int
fetch_token (struct husk_registry *r, CURL *c, const char *repo, const char *from,
             const struct husk_challenge *ch, struct husk_error **err)
{
  cleanup_free char *scope = repo_scope (r, repo, from);
  cleanup_free char *url = NULL;
  cleanup_free char *authz = NULL;
  cleanup_json husk_json *doc = NULL;
  struct husk_resp rs = { .fd = -1, .max = TOKEN_MAX };
  char errbuf[CURL_ERROR_SIZE];
  const char *want_scope = repo ? scope : ch->scope;
  const char *tok;
  int64_t expires_in = 60;
  CURLcode code = CURLE_OK;
  int rc = -1;

  if (ch->realm == NULL
      || !(husk_str_has_prefix (ch->realm, "https://")
           || husk_str_has_prefix (ch->realm, "http://")))
    return husk_error_set (err, 0, "bearer challenge has no usable realm \"%s\"",
                           ch->realm ? ch->realm : "");
  {
    char *svc = ch->service ? curl_easy_escape (c, ch->service, 0) : NULL;
    cleanup_free char *scopes = want_scope ? husk_xstrdup (want_scope) : NULL;
    char *save = NULL;
    bool first = svc == NULL;
    url = husk_strdup_printf ("%s%c%s%s", ch->realm, strchr (ch->realm, '?') ? '&' : '?',
                              svc ? "service=" : "", svc ? svc : "");
    /* One scope parameter per scope, as the token spec has several scopes asked.  */
    for (char *one = scopes ? strtok_r (scopes, " ", &save) : NULL; one;
         one = strtok_r (NULL, " ", &save))
      {
        char *sc = curl_easy_escape (c, one, 0);
        char *next = husk_strdup_printf ("%s%sscope=%s", url, first ? "" : "&", sc);
        curl_free (sc);
        free (url);
        url = next;
        first = false;
      }
    curl_free (svc);
  }
  if (r->user)
    {
      cleanup_free char *b64 = husk_auth_basic_token (r->user, r->pass);
      authz = husk_strdup_printf ("Basic %s", b64);
    }
  for (int attempt = 0; attempt < MAX_TRIES; attempt++)
    {
      cleanup_free char *origin = husk_xstrdup (url);
      char *slash = strchr (strstr (origin, "://") + 3, '/');
      if (slash)
        *slash = '\0';
      origin[strcspn (origin, "?")] = '\0';
      husk_resp_clear (&rs);
      code = husk_registry_exchange (r, c, url, origin, NULL, authz, &rs, errbuf);
      if (code == CURLE_OK && rs.status < 500 && rs.status != 429)
        break;
      if (attempt + 1 < MAX_TRIES)
        husk_sleep_ms (250L << attempt);
    }
  if (code != CURLE_OK)
    {
      husk_error_set (err, 0, "token service \"%s\": %s", ch->realm,
                      *errbuf ? errbuf : curl_easy_strerror (code));
      goto out;
    }
  if (rs.status == 401 || rs.status == 403)
    {
      husk_error_set (err, 0, "token service \"%s\": %s (HTTP %ld)", ch->realm,
                      r->user ? "credentials rejected" : "authentication required", rs.status);
      goto out;
    }
  if (rs.status != 200)
    {
      husk_error_set (err, 0, "token service \"%s\": HTTP %ld", ch->realm, rs.status);
      goto out;
    }
  doc = husk_json_parse (rs.buf ? rs.buf : "", rs.len, err);
  if (doc == NULL)
    {
      husk_error_wrap (err, "token service \"%s\"", ch->realm);
      goto out;
    }
  tok = husk_json_get_string (doc, "token");
  if (tok == NULL || *tok == '\0')
    tok = husk_json_get_string (doc, "access_token");
  if (tok == NULL || *tok == '\0' || strpbrk (tok, "\r\n") != NULL)
    {
      husk_error_set (err, 0, "token service \"%s\": no token in its answer", ch->realm);
      goto out;
    }
  husk_json_int64 (husk_json_get (doc, "expires_in"), &expires_in);
  if (expires_in < 60)
    expires_in = 60; /* The spec's minimum; a shorter one is taken as 60 s.  */
  /* Keep a margin so a token does not expire in flight.  */
  store_token (r, scope, tok, expires_in - 10);
  rc = 0;
out:
  husk_resp_clear (&rs);
  return rc;
}

/* After a 401 with the challenge WWW_AUTH: get what the next try needs.  */
int
husk_registry_challenge (struct husk_registry *r, CURL *c, const char *repo, const char *from,
                         const char *www_auth, struct husk_error **err)
{
  struct husk_challenge ch = { 0 };
  int rc = 0;

  if (www_auth == NULL || husk_challenge_parse (www_auth, &ch) < 0)
    return husk_error_set (err, 0, "authentication required (HTTP 401 without a usable challenge)");
  if (strcasecmp (ch.scheme, "Bearer") == 0)
    {
      pthread_mutex_lock (&r->lock);
      r->auth = HUSK_AUTH_BEARER;
      pthread_mutex_unlock (&r->lock);
      rc = fetch_token (r, c, repo, from, &ch, err);
    }
  else if (strcasecmp (ch.scheme, "Basic") == 0)
    {
      pthread_mutex_lock (&r->lock);
      r->auth = HUSK_AUTH_BASIC;
      pthread_mutex_unlock (&r->lock);
      if (r->user == NULL)
        rc = husk_error_set (err, 0, "authentication required (log in with husk login %s)",
                             r->domain);
    }
  else
    rc = husk_error_set (err, 0, "unsupported authentication scheme \"%s\"", ch.scheme);
  husk_challenge_clear (&ch);
  return rc;
}
