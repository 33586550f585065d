/* Unit tests for engine/networks.c: the IPv4 arithmetic, subnet and bridge choice, the
   refusals of create and remove, the default network, and address management (next free,
   requested, refused, given back), including from concurrent processes.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "networks.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define ID_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define ID_B "bb00000000000000000000000000000000000000000000000000000000000002"
#define ID_C "cc00000000000000000000000000000000000000000000000000000000000003"

static struct husk_store *store;

static uint32_t
ip (const char *s)
{
  uint32_t a = 0;
  husk_ipv4_parse (s, &a);
  return a;
}

static void
test_arith (void)
{
  uint32_t a, free_addr;
  int p;
  char buf[16];

  ok (husk_ipv4_cidr_parse ("10.89.3.0/24", &a, &p) && a == ip ("10.89.3.0") && p == 24,
      "cidr parses");
  ok (!husk_ipv4_cidr_parse ("10.89.3.0", &a, &p), "cidr without prefix refused");
  ok (!husk_ipv4_cidr_parse ("10.89.3.0/33", &a, &p), "prefix 33 refused");
  ok (!husk_ipv4_cidr_parse ("10.89.3/24", &a, &p), "short address refused");
  ok (!husk_ipv4_cidr_parse ("::1/64", &a, &p), "IPv6 refused");
  ok (!husk_ipv4_cidr_parse ("10.0.0.0/+8", &a, &p), "signed prefix refused");
  husk_ipv4_format (ip ("192.168.1.254"), buf);
  is_str (buf, "192.168.1.254", "format round trips");
  ok (husk_ipv4_mask (24) == 0xffffff00u && husk_ipv4_mask (0) == 0
          && husk_ipv4_mask (32) == 0xffffffffu,
      "masks");
  ok (husk_ipv4_overlap (ip ("10.88.0.0"), 16, ip ("10.88.5.0"), 24), "/24 inside /16 overlaps");
  ok (husk_ipv4_overlap (ip ("10.88.5.0"), 24, ip ("10.88.0.0"), 16), "overlap is symmetric");
  ok (!husk_ipv4_overlap (ip ("10.89.0.0"), 24, ip ("10.89.1.0"), 24), "neighbours do not");
  ok (husk_ipv4_overlap (ip ("0.0.0.0"), 0, ip ("1.2.3.0"), 24), "/0 overlaps everything");

  ok (husk_ipv4_next_free (ip ("10.0.0.0"), 24, ip ("10.0.0.1"), NULL, 0, &free_addr) == 0
          && free_addr == ip ("10.0.0.2"),
      "first free skips network and gateway");
  {
    uint32_t used[] = { ip ("10.0.0.2"), ip ("10.0.0.4") };
    ok (husk_ipv4_next_free (ip ("10.0.0.0"), 24, ip ("10.0.0.1"), used, 2, &free_addr) == 0
            && free_addr == ip ("10.0.0.3"),
        "a hole is reused");
  }
  {
    uint32_t used[] = { ip ("10.0.0.2") };
    ok (husk_ipv4_next_free (ip ("10.0.0.0"), 30, ip ("10.0.0.1"), used, 1, &free_addr) < 0,
        "a full /30 has no address (broadcast never given)");
    ok (husk_ipv4_next_free (ip ("10.0.0.0"), 30, ip ("10.0.0.2"), NULL, 0, &free_addr) == 0
            && free_addr == ip ("10.0.0.1"),
        "a gateway elsewhere leaves the first host free");
  }
  ok (husk_ipv4_next_free (ip ("10.0.0.0"), 31, ip ("10.0.0.1"), NULL, 0, &free_addr) < 0,
      "/31 has no host");
}

static struct husk_network_rec *
create (const char *name, const char *subnet, const char *gateway, struct husk_error **err)
{
  struct husk_network_opts o = { .name = name, .subnet = subnet, .gateway = gateway };
  struct husk_network_rec *n = NULL;

  if (husk_network_create (store, &o, &n, err) < 0)
    return NULL;
  return n;
}

/* Create and drop the record: whether it worked.  */
static bool
made (const char *name, const char *subnet)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_network_rec *n = create (name, subnet, NULL, &err);

  if (n == NULL)
    printf ("# error: %s\n", err->msg);
  husk_network_free (n);
  return n != NULL;
}

static bool
fails_with (const char *name, const char *subnet, const char *gateway, const char *needle)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_network_rec *n = create (name, subnet, gateway, &err);

  if (n)
    {
      husk_network_free (n);
      return false;
    }
  if (strstr (err->msg, needle) == NULL)
    {
      printf ("# error: %s\n", err->msg);
      return false;
    }
  return true;
}

static void
test_create (void)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_network struct husk_network_rec *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  cleanup_network struct husk_network_rec *def = NULL, *byid = NULL;
  struct husk_network_rec **v = NULL;
  size_t n = 0;
  char prefix[9];

  ok (husk_network_list (store, &v, &n, &err) == 0 && n == 1
          && strcmp (v[0]->name, HUSK_NETWORK_DEFAULT) == 0,
      "a new store lists the default network");
  husk_network_list_free (v, n);
  ok (husk_network_load (store, HUSK_NETWORK_DEFAULT, &def, &err) == 0, "default loads");
  if (def)
    {
      is_str (def->subnet, "10.88.0.0/16", "default subnet");
      is_str (def->gateway, "10.88.0.1", "default gateway");
      is_str (def->bridge, "husk0", "default bridge");
      ok (strlen (def->id) == 64, "default has an ID");
    }

  a = create ("a", NULL, NULL, &err);
  ok (a != NULL, "create a");
  if (a == NULL)
    return;
  is_str (a->subnet, "10.89.0.0/24", "first auto subnet");
  is_str (a->gateway, "10.89.0.1", "its gateway");
  is_str (a->bridge, "husk1", "its bridge");
  is_str (a->driver, "bridge", "its driver");

  b = create ("b", "10.89.1.0/24", "10.89.1.254", &err);
  ok (b != NULL, "create b with a subnet and gateway");
  if (b)
    {
      is_str (b->gateway, "10.89.1.254", "given gateway kept");
      is_str (b->bridge, "husk2", "next bridge");
    }
  c = create ("c", NULL, NULL, &err);
  ok (c != NULL && strcmp (c->subnet, "10.89.2.0/24") == 0, "auto subnet skips taken ones");

  ok (fails_with ("a", NULL, NULL, "already exists"), "name in use refused");
  ok (fails_with ("x", "10.89.0.128/25", NULL, "overlaps network \"a\""), "overlap refused");
  ok (fails_with ("x", "10.0.0.0/8", NULL, "overlaps network"), "a covering subnet refused");
  ok (fails_with ("x", "10.88.7.0/24", NULL, "overlaps network \"husk\""),
      "the default's subnet is taken");
  ok (fails_with ("x", "172.30.0.0/24", "172.31.0.1", "not a host address"),
      "gateway outside refused");
  ok (fails_with ("x", "172.30.0.0/24", "172.30.0.255", "not a host address"),
      "broadcast gateway refused");
  ok (fails_with ("x", "172.30.0.0/24", "172.30.0.0", "not a host address"),
      "network address gateway refused");
  ok (fails_with ("x", "172.30.0.1/24", NULL, "host bits set"), "host bits refused");
  ok (fails_with ("x", "172.30.0.0/31", NULL, "too small"), "/31 refused");
  ok (fails_with ("x", "bogus", NULL, "not an IPv4 CIDR"), "not a CIDR refused");
  ok (fails_with ("x", "172.30.0.0/24", "bogus", "not an IPv4 address"), "bad gateway refused");
  ok (fails_with ("../etc", NULL, NULL, "only [a-zA-Z0-9]"), "path in a name refused");
  ok (fails_with ("-x", NULL, NULL, "only [a-zA-Z0-9]"), "leading dash refused");
  {
    struct husk_network_opts o = { .name = "x", .driver = "macvlan" };
    cleanup_error struct husk_error *e = NULL;
    ok (husk_network_create (store, &o, NULL, &e) < 0 && strstr (e->msg, "only bridge"),
        "other drivers refused");
  }

  /* Removing b frees husk2 and 10.89.1.0/24: the next network takes both.  */
  ok (husk_network_remove (store, "b", false, NULL, &err) == 0, "remove b");
  d = create ("d", NULL, NULL, &err);
  ok (d && strcmp (d->bridge, "husk2") == 0 && strcmp (d->subnet, "10.89.1.0/24") == 0,
      "a freed bridge and subnet are reused");

  memcpy (prefix, a->id, 8);
  prefix[8] = '\0';
  ok (husk_network_load (store, prefix, &byid, &err) == 0 && strcmp (byid->name, "a") == 0,
      "load by ID prefix");
  {
    cleanup_error struct husk_error *e = NULL;
    struct husk_network_rec *none = NULL;
    ok (husk_network_load (store, "nope", &none, &e) < 0 && e->errnum == ENOENT
            && strcmp (e->msg, "no such network: nope") == 0,
        "unknown network: ENOENT, one line");
  }
  {
    cleanup_error struct husk_error *e = NULL;
    ok (husk_network_remove (store, HUSK_NETWORK_DEFAULT, true, NULL, &e) < 0
            && strstr (e->msg, "default network cannot be removed"),
        "default cannot be removed, even with force");
  }
  ok (husk_network_list (store, &v, &n, &err) == 0 && n == 4 && strcmp (v[0]->name, "a") == 0
          && strcmp (v[3]->name, "husk") == 0,
      "list sorted by name");
  husk_network_list_free (v, n);

  /* Records that do not parse, or that name another network, are left out.  */
  {
    cleanup_close int dfd = husk_store_open_subdir (store, "networks", false, &err);
    cleanup_free char *json = husk_network_to_json (a, &(size_t){ 0 });
    ok (dfd >= 0 && husk_write_file_atomic_at (dfd, "bad.json", "{\"name\":", 8, 0600, &err) == 0
            && husk_write_file_atomic_at (dfd, "other.json", json, strlen (json), 0600, &err) == 0,
        "write a broken record and one naming \"a\"");
    ok (husk_network_list (store, &v, &n, &err) == 0 && n == 4, "both left out of the list");
    husk_network_list_free (v, n);
    ok (made ("bad", NULL), "a broken record's name can be created again");
    ok (husk_network_remove (store, "bad", false, NULL, &err) == 0
            && unlinkat (dfd, "other.json", 0) == 0,
        "clean up");
  }
}

static void
test_ipam (void)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_network struct husk_network_rec *n = NULL;
  char *aliases[] = { "web", "www", NULL };
  char *got = NULL;

  ok (made ("small", "192.168.50.0/29"), "create a /29 (5 hosts but the gateway)");
  ok (husk_network_attach (store, "small", ID_A, NULL, aliases, &got, &err) == 0, "attach A");
  is_str (got, "192.168.50.2", "A gets the first host after the gateway");
  free (got);
  got = NULL;
  ok (husk_network_attach (store, "small", ID_B, "192.168.50.5", NULL, &got, &err) == 0,
      "attach B at a requested address");
  is_str (got, "192.168.50.5", "B has it");
  free (got);
  got = NULL;
  {
    cleanup_error struct husk_error *e = NULL;
    ok (husk_network_attach (store, "small", ID_A, NULL, NULL, NULL, &e) < 0
            && strstr (e->msg, "already attached (192.168.50.2)"),
        "attaching twice refused");
  }
  {
    static const struct
    {
      const char *ip, *needle;
    } bad[] = {
      { "192.168.50.5", "in use by container bb0000000000" },
      { "192.168.50.1", "is the gateway" },
      { "192.168.50.0", "not a host address" },
      { "192.168.50.7", "not a host address" },
      { "192.168.51.2", "not a host address" },
      { "nonsense", "not an IPv4 address" },
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        cleanup_error struct husk_error *e = NULL;
        ok (husk_network_attach (store, "small", ID_C, bad[i].ip, NULL, NULL, &e) < 0
                && strstr (e->msg, bad[i].needle),
            "requested %s refused: %s", bad[i].ip, e ? e->msg : "(accepted)");
      }
  }
  {
    cleanup_error struct husk_error *e = NULL;
    ok (husk_network_attach (store, "small", "xyz", NULL, NULL, NULL, &e) < 0,
        "a container ID that is not 64 hex refused");
  }
  {
    cleanup_error struct husk_error *e = NULL;
    ok (husk_network_remove (store, "small", false, NULL, &e) < 0
            && strstr (e->msg, "2 containers are attached (aa0000000000, bb0000000000)"),
        "remove refused while containers are attached");
  }
  {
    cleanup_strv char **pruned = NULL;
    ok (husk_network_prune (store, &pruned, &err) == 0 && !husk_strv_contains (pruned, "small")
            && !husk_strv_contains (pruned, HUSK_NETWORK_DEFAULT)
            && husk_strv_contains (pruned, "a"),
        "prune keeps networks in use and the default, removes the others");
  }

  ok (husk_network_load (store, "small", &n, &err) == 0 && n->n_containers == 2,
      "record holds both");
  if (n && n->n_containers == 2)
    {
      is_str (n->containers[0].container_id, ID_A, "A recorded");
      ok (n->containers[0].aliases && strcmp (n->containers[0].aliases[1], "www") == 0,
          "A's aliases recorded");
      ok (n->containers[1].aliases == NULL, "B has none");
    }

  ok (husk_network_detach (store, "small", ID_A, &err) == 0, "detach A");
  ok (husk_network_detach (store, "small", ID_A, &err) == 0, "detach A again is no error");
  ok (husk_network_attach (store, "small", ID_C, NULL, NULL, &got, &err) == 0, "attach C");
  is_str (got, "192.168.50.2", "C reuses A's address");
  free (got);
  got = NULL;
  ok (husk_network_attach (store, "small", ID_A, NULL, NULL, &got, &err) == 0, "attach A again");
  is_str (got, "192.168.50.3", "A gets the next one");
  free (got);
  got = NULL;
  {
    cleanup_error struct husk_error *e = NULL;
    char id[65];
    memset (id, 'd', 64);
    id[64] = '\0';
    ok (husk_network_attach (store, "small", id, NULL, NULL, &got, &e) == 0, "fourth host");
    is_str (got, "192.168.50.4", "fills the hole below B");
    free (got);
    got = NULL;
    id[0] = 'f';
    ok (husk_network_attach (store, "small", id, NULL, NULL, &got, &e) == 0, "fifth host");
    is_str (got, "192.168.50.6", "the last one, never the broadcast");
    free (got);
    got = NULL;
    id[0] = 'e';
    ok (husk_network_attach (store, "small", id, NULL, NULL, NULL, &e) < 0
            && strstr (e->msg, "no free address in 192.168.50.0/29"),
        "a full network says so");
  }
  ok (husk_network_remove (store, "small", true, NULL, &err) == 0,
      "force removes a network with containers");
}

/* Children attach at once: every address differs.  */
static void
test_concurrent (void)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_network struct husk_network_rec *n = NULL;
  enum
  {
    N = 12
  };
  pid_t pids[N];
  int failed = 0;

  ok (made ("busy", NULL), "create busy");
  for (int i = 0; i < N; i++)
    {
      pids[i] = fork ();
      if (pids[i] == 0)
        {
          struct husk_error *e = NULL;
          char id[65];
          snprintf (id, sizeof (id), "%064x", i + 1);
          _exit (husk_network_attach (store, "busy", id, NULL, NULL, NULL, &e) == 0 ? 0 : 1);
        }
    }
  for (int i = 0; i < N; i++)
    {
      int st;
      if (waitpid (pids[i], &st, 0) < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0)
        failed++;
    }
  ok (failed == 0, "%d concurrent attaches succeeded", N);
  ok (husk_network_load (store, "busy", &n, &err) == 0 && n->n_containers == N, "all %d recorded",
      N);
  if (n)
    {
      bool distinct = true;
      for (size_t i = 0; i < n->n_containers; i++)
        for (size_t j = i + 1; j < n->n_containers; j++)
          if (strcmp (n->containers[i].ipv4, n->containers[j].ipv4) == 0)
            distinct = false;
      ok (distinct, "their addresses are distinct");
    }
}

int
main (void)
{
  char dir[] = "/tmp/husk-test-network.XXXXXX";
  struct husk_error *err = NULL;

  if (mkdtemp (dir) == NULL || husk_store_open (dir, &store, &err) < 0)
    {
      printf ("Bail out! store in %s: %s\n", dir, err ? err->msg : strerror (errno));
      return 1;
    }
  test_arith ();
  test_create ();
  test_ipam ();
  test_concurrent ();
  husk_store_close (store);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
  return tap_done ();
}
