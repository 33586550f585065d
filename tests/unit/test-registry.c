/* Unit tests (TAP) for the registry side: WWW-Authenticate parsing, the auth file, platforms,
   and one client shared by threads against a loopback server that refuses TLS.  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "digest.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "tap.h"

static void
test_challenges (void)
{
  struct husk_challenge ch;

  ok (husk_challenge_parse (
          "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
          "scope=\"repository:library/busybox:pull\"",
          &ch)
          == 0,
      "a Docker Hub challenge parses");
  is_str (ch.scheme, "Bearer", "scheme");
  is_str (ch.realm, "https://auth.docker.io/token", "realm");
  is_str (ch.service, "registry.docker.io", "service");
  is_str (ch.scope, "repository:library/busybox:pull", "scope");
  husk_challenge_clear (&ch);

  ok (husk_challenge_parse (
          "Bearer  realm = \"http://h/t\" , service=\"a \\\"q\\\" b\",scope=\"x,y\"", &ch)
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
    static const char doc[] = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"ZDpwdw==\"},"
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
  ok (husk_index_select (idx, strlen (idx), "linux", "arm", NULL, &d, &err) == 0,
      "arm, any variant");
  ok (d.digest && d.digest[7] == '1', "the first arm entry");
  husk_descriptor_clear (&d);
  ok (husk_index_select (idx, strlen (idx), "linux", "s390x", NULL, &d, &err) < 0, "missing");
  is_str (err ? err->msg : NULL,
          "no image for linux/s390x (the index offers: linux/arm/v6, linux/arm/v7)",
          "the error lists the platforms, not the attestation");
  husk_error_free (&err);

  ok (husk_platform_parse ("linux/arm64/v8", &os, &arch, &variant, &err) == 0, "os/arch/variant");
  is_str (variant, "v8", "variant");
  free (os);
  free (arch);
  free (variant);
  ok (husk_platform_parse ("linux", &os, &arch, &variant, &err) < 0, "os alone is refused");
  husk_error_free (&err);
  ok (husk_platform_parse ("linux/arm/v7/x", &os, &arch, &variant, &err) < 0,
      "four parts are refused");
  husk_error_free (&err);
  ok (husk_platform_parse ("/amd64", &os, &arch, &variant, &err) < 0, "an empty os is refused");
  husk_error_free (&err);
}

/* A plain-HTTP registry on 127.0.0.1 that resets any connection opening with a TLS handshake,
   as a loopback registry without TLS looks to a client trying HTTPS first.  It serves /v2/ and
   one blob, a connection each: anonymously in repository "t", with a Bearer token from /token
   in repository "b".  */
struct fake_registry
{
  int listen_fd;
  int port;
  pthread_t thread;
  _Atomic bool stop;
  _Atomic unsigned tls_attempts, http_requests;
  const char *blob;
  char blob_path[64 + HUSK_DIGEST_LEN];
  char bearer_blob_path[64 + HUSK_DIGEST_LEN];
  pthread_mutex_t lock;
  char token_query[512]; /* The last token request's query string.  */
};

struct fake_conn
{
  struct fake_registry *fr;
  int fd;
};

static void
reset_connection (int fd)
{
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof (lg));
  close (fd);
}

static void *
fake_conn_thread (void *arg)
{
  struct fake_conn *fc = arg;
  struct fake_registry *fr = fc->fr;
  int fd = fc->fd;
  char req[4096], head[512], challenge[160] = "";
  size_t len = 0;
  const char *body = NULL;
  int status = 404;

  free (fc);
  while (len < sizeof (req) - 1)
    {
      ssize_t n = read (fd, req + len, sizeof (req) - 1 - len);
      if (n <= 0)
        break;
      len += (size_t) n;
      req[len] = '\0';
      if ((unsigned char) req[0] == 0x16)
        {
          /* A TLS ClientHello: a receive error on the client's side.  */
          atomic_fetch_add (&fr->tls_attempts, 1);
          reset_connection (fd);
          return NULL;
        }
      if (strstr (req, "\r\n\r\n"))
        break;
    }
  atomic_fetch_add (&fr->http_requests, 1);
  if (strncmp (req, "GET /v2/ ", 9) == 0)
    status = 200, body = "{}";
  else if (strncmp (req, fr->blob_path, strlen (fr->blob_path)) == 0)
    status = 200, body = fr->blob;
  else if (strncmp (req, "GET /token?", 11) == 0)
    {
      pthread_mutex_lock (&fr->lock);
      snprintf (fr->token_query, sizeof (fr->token_query), "%.*s", (int) strcspn (req + 11, " "),
                req + 11);
      pthread_mutex_unlock (&fr->lock);
      status = 200, body = "{\"token\":\"tok3n\",\"expires_in\":300}";
    }
  else if (strncmp (req, fr->bearer_blob_path, strlen (fr->bearer_blob_path)) == 0)
    {
      if (strstr (req, "\r\nAuthorization: Bearer tok3n\r\n"))
        status = 200, body = fr->blob;
      else
        {
          status = 401;
          snprintf (challenge, sizeof (challenge),
                    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                    "service=\"fake\"\r\n",
                    fr->port);
        }
    }
  if (body == NULL)
    body = "{\"errors\":[]}";
  snprintf (head, sizeof (head),
            "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
            status == 200   ? "OK"
            : status == 401 ? "Unauthorized"
                            : "Not Found",
            strlen (body), challenge);
  if (husk_write_all (fd, head, strlen (head)) == 0)
    husk_write_all (fd, body, strlen (body));
  close (fd);
  return NULL;
}

static void *
fake_accept_thread (void *arg)
{
  struct fake_registry *fr = arg;

  for (;;)
    {
      int fd = accept4 (fr->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      struct fake_conn *fc;
      pthread_t t;

      if (atomic_load (&fr->stop))
        {
          if (fd >= 0)
            close (fd);
          return NULL;
        }
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          return NULL;
        }
      fc = husk_xmalloc (sizeof (*fc));
      fc->fr = fr;
      fc->fd = fd;
      if (pthread_create (&t, NULL, fake_conn_thread, fc) != 0)
        {
          close (fd);
          free (fc);
          continue;
        }
      pthread_detach (t);
    }
}

static int
fake_registry_start (struct fake_registry *fr, const char *blob_digest)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t sl = sizeof (sa);

  fr->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fr->listen_fd < 0 || bind (fr->listen_fd, (struct sockaddr *) &sa, sizeof (sa)) < 0
      || listen (fr->listen_fd, 128) < 0
      || getsockname (fr->listen_fd, (struct sockaddr *) &sa, &sl) < 0)
    return -1;
  fr->port = ntohs (sa.sin_port);
  snprintf (fr->blob_path, sizeof (fr->blob_path), "GET /v2/t/blobs/%s ", blob_digest);
  snprintf (fr->bearer_blob_path, sizeof (fr->bearer_blob_path), "GET /v2/b/blobs/%s ",
            blob_digest);
  pthread_mutex_init (&fr->lock, NULL);
  return pthread_create (&fr->thread, NULL, fake_accept_thread, fr) == 0 ? 0 : -1;
}

static void
fake_registry_stop (struct fake_registry *fr)
{
  struct sockaddr_in sa = { .sin_family = AF_INET,
                            .sin_port = htons ((uint16_t) fr->port),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  /* Wake the accept with one last connection.  */
  atomic_store (&fr->stop, true);
  if (fd >= 0)
    {
      connect (fd, (struct sockaddr *) &sa, sizeof (sa));
      close (fd);
    }
  pthread_join (fr->thread, NULL);
  close (fr->listen_fd);
  pthread_mutex_destroy (&fr->lock);
}

#define RACE_THREADS 6
#define RACE_ROUNDS 15

struct race_arg
{
  struct husk_registry *reg;
  const struct husk_descriptor *d;
  pthread_barrier_t *barrier;
  int rc;
  char *msg;
};

static void *
race_thread (void *arg)
{
  struct race_arg *ra = arg;
  struct husk_error *err = NULL;
  char *buf = NULL;
  size_t len = 0;

  pthread_barrier_wait (ra->barrier);
  ra->rc = husk_registry_get_blob (ra->reg, "t", ra->d, 1024, &buf, &len, &err);
  if (ra->rc < 0)
    ra->msg = husk_xstrdup (err->msg);
  husk_error_free (&err);
  free (buf);
  return NULL;
}

/* Issue 10: the client switched to HTTP by freeing and replacing its scheme string when a
   request saw a receive error, while other threads were reading it.  Every thread here starts
   at once on a fresh client, so each would see its own failed TLS attempt.  */
static void
test_shared_client_downgrade (void)
{
  static const char blob[] = "layer bytes for the race test\n";
  struct fake_registry fr = { .blob = blob };
  char digest[HUSK_DIGEST_LEN + 1];
  struct husk_descriptor d = { 0 };
  unsigned failures = 0, extra_tls = 0;
  cleanup_free char *first_msg = NULL;

  husk_sha256_buf (blob, strlen (blob), digest);
  d.digest = digest;
  d.size = (int64_t) strlen (blob);
  setenv ("NO_PROXY", "*", 1);
  if (fake_registry_start (&fr, digest) < 0)
    {
      ok (0, "start the fake registry: %s", strerror (errno));
      return;
    }
  for (int round = 0; round < RACE_ROUNDS; round++)
    {
      cleanup_free char *domain = husk_strdup_printf ("127.0.0.1:%d", fr.port);
      struct husk_error *err = NULL;
      struct husk_registry *reg = husk_registry_new (domain, true, HUSK_REGISTRY_PULL, &err);
      struct race_arg args[RACE_THREADS];
      pthread_t threads[RACE_THREADS];
      pthread_barrier_t barrier;
      unsigned tls_before = atomic_load (&fr.tls_attempts);

      if (reg == NULL)
        {
          if (first_msg == NULL)
            first_msg = husk_xstrdup (err->msg);
          husk_error_free (&err);
          failures++;
          continue;
        }
      pthread_barrier_init (&barrier, NULL, RACE_THREADS);
      for (int i = 0; i < RACE_THREADS; i++)
        {
          args[i] = (struct race_arg){ .reg = reg, .d = &d, .barrier = &barrier };
          pthread_create (&threads[i], NULL, race_thread, &args[i]);
        }
      for (int i = 0; i < RACE_THREADS; i++)
        {
          pthread_join (threads[i], NULL);
          if (args[i].rc < 0)
            {
              failures++;
              if (first_msg == NULL)
                first_msg = TAKE_PTR (args[i].msg);
            }
          free (args[i].msg);
        }
      pthread_barrier_destroy (&barrier);
      husk_registry_free (reg);
      if (atomic_load (&fr.tls_attempts) - tls_before > 1)
        extra_tls++;
    }
  fake_registry_stop (&fr);
  ok (failures == 0,
      "%d threads x %d clients: every download over the HTTP fallback succeeds "
      "(%u failed)",
      RACE_THREADS, RACE_ROUNDS, failures);
  if (first_msg)
    printf ("#   first failure: %s\n", first_msg);
  ok (extra_tls == 0, "each client tries TLS once, not once per thread (%u of %d clients did more)",
      extra_tls, RACE_ROUNDS);
}

/* The token's scope asks for what the client was made for: pull, or pull and push.  */
static void
test_token_scope (void)
{
  static const char blob[] = "a blob behind a token\n";
  static const struct
  {
    enum husk_registry_access access;
    const char *query;
  } cases[] = {
    { HUSK_REGISTRY_PULL, "service=fake&scope=repository%3Ab%3Apull" },
    { HUSK_REGISTRY_PUSH, "service=fake&scope=repository%3Ab%3Apull%2Cpush" },
  };
  struct fake_registry fr = { .blob = blob };
  char digest[HUSK_DIGEST_LEN + 1];
  struct husk_descriptor d = { 0 };

  husk_sha256_buf (blob, strlen (blob), digest);
  d.digest = digest;
  d.size = (int64_t) strlen (blob);
  if (fake_registry_start (&fr, digest) < 0)
    {
      ok (0, "start the fake registry: %s", strerror (errno));
      return;
    }
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      cleanup_free char *domain = husk_strdup_printf ("127.0.0.1:%d", fr.port);
      cleanup_free char *buf = NULL;
      struct husk_error *err = NULL;
      struct husk_registry *reg = husk_registry_new (domain, true, cases[i].access, &err);
      size_t len;
      int rc = reg ? husk_registry_get_blob (reg, "b", &d, 1024, &buf, &len, &err) : -1;

      ok (rc == 0, "a blob behind a Bearer token (%s)", err ? err->msg : "no error");
      pthread_mutex_lock (&fr.lock);
      is_str (fr.token_query, cases[i].query, "the token request's scope");
      pthread_mutex_unlock (&fr.lock);
      husk_error_free (&err);
      husk_registry_free (reg);
    }
  fake_registry_stop (&fr);
}

int
main (void)
{
  test_challenges ();
  test_auth_file ();
  test_platforms ();
  test_shared_client_downgrade ();
  test_token_scope ();
  return tap_done ();
}
