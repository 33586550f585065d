/* Unit tests (TAP) for the registry side: WWW-Authenticate parsing, the auth file, platforms.  */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "tap.h"

static void
test_challenges (void)
{
  struct husk_challenge ch;

  ok (husk_challenge_parse ("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                            "scope=\"repository:library/busybox:pull\"",
                            &ch)
          == 0,
      "a Docker Hub challenge parses");
  is_str (ch.scheme, "Bearer", "scheme");
  is_str (ch.realm, "https://auth.docker.io/token", "realm");
  is_str (ch.service, "registry.docker.io", "service");
  is_str (ch.scope, "repository:library/busybox:pull", "scope");
  husk_challenge_clear (&ch);

  ok (husk_challenge_parse ("Bearer  realm = \"http://h/t\" , service=\"a \\\"q\\\" b\",scope=\"x,y\"",
                            &ch)
          == 0,
      "spaces, escapes and commas inside quotes");
  is_str (ch.service, "a \"q\" b", "escaped quotes are unescaped");
  is_str (ch.scope, "x,y", "a comma inside quotes stays");
  husk_challenge_clear (&ch);

  ok (husk_challenge_parse ("Basic realm=husk-test", &ch) == 0, "an unquoted value");
  is_str (ch.scheme, "Basic", "Basic scheme");
  is_str (ch.realm, "husk-test", "token value");
  husk_challenge_clear (&ch);

  ok (husk_challenge_parse ("Basic realm=\"a\", Bearer realm=\"b\"", &ch) == 0,
      "two challenges: the first is read");
  is_str (ch.realm, "a", "the first challenge's realm");
  husk_challenge_clear (&ch);

  ok (husk_challenge_parse ("Bearer realm=\"unterminated", &ch) < 0, "an unterminated quote fails");
  ok (husk_challenge_parse ("", &ch) < 0, "an empty header fails");
  ok (husk_challenge_parse ("Bearer =x", &ch) < 0, "a parameter without a name fails");
}

static void
test_auth_file (void)
{
  char dir[] = "/tmp/husk-unit-auth.XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *docker = NULL;
  char *user = NULL, *pass = NULL;
  struct husk_error *err = NULL;
  struct stat st;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  path = husk_strdup_printf ("%s/sub/auth.json", dir);
  docker = husk_strdup_printf ("%s/docker", dir);
  setenv ("REGISTRY_AUTH_FILE", path, 1);
  setenv ("DOCKER_CONFIG", docker, 1);

  ok (husk_auth_lookup ("127.0.0.1:5000", &user, &pass, &err) == 0, "no file: no credentials");
  ok (husk_auth_store ("127.0.0.1:5000", "me", "pa:ss", &err) == 0, "store");
  ok (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is 0600");
  ok (husk_auth_store ("docker.io", "hub", "x", &err) == 0, "store a second registry");
  ok (husk_auth_lookup ("127.0.0.1:5000", &user, &pass, &err) == 1, "lookup finds it");
  is_str (user, "me", "user");
  is_str (pass, "pa:ss", "a password with a colon");
  free (user);
  free (pass);
  ok (husk_auth_remove ("127.0.0.1:5000", &err) == 1, "remove");
  ok (husk_auth_remove ("127.0.0.1:5000", &err) == 0, "remove again: nothing");
  ok (husk_auth_lookup ("127.0.0.1:5000", &user, &pass, &err) == 0, "gone");
  ok (husk_auth_lookup ("docker.io", &user, &pass, &err) == 1, "the other entry stays");
  free (user);
  free (pass);

  /* Docker's file, keyed by its v1 URL.  */
  {
    cleanup_free char *cfg = husk_strdup_printf ("%s/config.json", docker);
    static const char doc[]
        = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"ZDpwdw==\"},"
          "\"bad.example\":{\"auth\":\"!!!\"}}}";
    husk_mkdir_p (docker, 0700, &err);
    husk_write_file_atomic_at (AT_FDCWD, cfg, doc, strlen (doc), 0600, &err);
    ok (husk_auth_remove (NULL, &err) == 1, "remove all from husk's file");
    ok (husk_auth_lookup ("docker.io", &user, &pass, &err) == 1, "docker.io from config.json");
    is_str (user, "d", "its user");
    is_str (pass, "pw", "its password");
    free (user);
    free (pass);
    ok (husk_auth_lookup ("bad.example", &user, &pass, &err) < 0 && err != NULL,
        "an entry that is not base64 is an error");
    husk_error_free (&err);
  }
  {
    cleanup_free char *n = husk_auth_registry_name ("https://index.docker.io/v1/");
    is_str (n, "docker.io", "Docker's v1 URL names docker.io");
  }
  {
    cleanup_free char *b = husk_auth_basic_token ("aladdin", "opensesame");
    is_str (b, "YWxhZGRpbjpvcGVuc2VzYW1l", "basic token");
  }
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
  unsetenv ("REGISTRY_AUTH_FILE");
  unsetenv ("DOCKER_CONFIG");
}

static void
test_platforms (void)
{
  static const char idx[]
      = "{\"schemaVersion\":2,\"manifests\":["
        "{\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
        "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
        "{\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
        "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
        "{\"digest\":\"sha256:3333333333333333333333333333333333333333333333333333333333333333\","
        "\"size\":1,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";
  struct husk_descriptor d;
  struct husk_error *err = NULL;
  char *os = NULL, *arch = NULL, *variant = NULL;

  ok (husk_index_select (idx, strlen (idx), "linux", "arm", "v7", &d, &err) == 0, "arm/v7");
  ok (d.digest && d.digest[7] == '2', "the v7 entry");
  husk_descriptor_clear (&d);
  ok (husk_index_select (idx, strlen (idx), "linux", "arm", NULL, &d, &err) == 0, "arm, any variant");
  ok (d.digest && d.digest[7] == '1', "the first arm entry");
  husk_descriptor_clear (&d);
  ok (husk_index_select (idx, strlen (idx), "linux", "s390x", NULL, &d, &err) < 0, "missing");
  is_str (err ? err->msg : NULL, "no image for linux/s390x (the index offers: linux/arm/v6, linux/arm/v7)",
          "the error lists the platforms, not the attestation");
  husk_error_free (&err);

  ok (husk_platform_parse ("linux/arm64/v8", &os, &arch, &variant, &err) == 0, "os/arch/variant");
  is_str (variant, "v8", "variant");
  free (os);
  free (arch);
  free (variant);
  ok (husk_platform_parse ("linux", &os, &arch, &variant, &err) < 0, "os alone is refused");
  husk_error_free (&err);
  ok (husk_platform_parse ("linux/arm/v7/x", &os, &arch, &variant, &err) < 0, "four parts are refused");
  husk_error_free (&err);
  ok (husk_platform_parse ("/amd64", &os, &arch, &variant, &err) < 0, "an empty os is refused");
  husk_error_free (&err);
}

int
main (void)
{
  test_challenges ();
  test_auth_file ();
  test_platforms ();
  return tap_done ();
}
