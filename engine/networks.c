/* User networks' records and addresses: see networks.h.  */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonmap.h"
#include "names.h"
#include "networks.h"
#include "record.h"
#include "store.h"
#include "timestamp.h"
#include "util.h"
#include "banned.h"

/* A record is small: a name, a few addresses and one line per container.  */
#define NETWORK_MAX (16 << 20)
#define AUTO_SUBNET_FMT "10.89.%u.0/24"

static const struct husk_jsonmap_field endpoint_fields[] = {
  HUSK_JM_STRING ("id", struct husk_network_endpoint, container_id, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("ipv4", struct husk_network_endpoint, ipv4, HUSK_JM_REQUIRED),
  HUSK_JM_STRV ("aliases", struct husk_network_endpoint, aliases, HUSK_JM_OMIT_EMPTY),
  HUSK_JM_END,
};

static const struct husk_jsonmap_field network_fields[] = {
  HUSK_JM_STRING ("name", struct husk_network_rec, name, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("id", struct husk_network_rec, id, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("driver", struct husk_network_rec, driver, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("subnet", struct husk_network_rec, subnet, HUSK_JM_REQUIRED),
  HUSK_JM_STRING ("gateway", struct husk_network_rec, gateway, HUSK_JM_REQUIRED),
  HUSK_JM_BOOL ("internal", struct husk_network_rec, internal, 0),
  HUSK_JM_STRMAP ("labels", struct husk_network_rec, labels, 0),
  HUSK_JM_STRING ("created", struct husk_network_rec, created, 0),
  HUSK_JM_STRING ("bridge", struct husk_network_rec, bridge, HUSK_JM_REQUIRED),
  HUSK_JM_ARRAY ("containers", struct husk_network_rec, containers, n_containers, endpoint_fields,
                 0),
  HUSK_JM_END,
};

/* Address arithmetic.  */

bool
husk_ipv4_parse (const char *s, uint32_t *ret)
{
  struct in_addr a;

  if (s == NULL || inet_pton (AF_INET, s, &a) != 1)
    return false;
  *ret = ntohl (a.s_addr);
  return true;
}

void
husk_ipv4_format (uint32_t a, char *buf)
{
  snprintf (buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

uint32_t
husk_ipv4_mask (int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

bool
husk_ipv4_cidr_parse (const char *s, uint32_t *ret_addr, int *ret_prefix)
{
  const char *slash = strchr (s, '/');
  char addr[16];
  uint64_t prefix;
  uint32_t a;

  if (slash == NULL || (size_t) (slash - s) >= sizeof (addr))
    return false;
  memcpy (addr, s, slash - s);
  addr[slash - s] = '\0';
  if (!husk_ipv4_parse (addr, &a) || husk_parse_u64 (slash + 1, 32, &prefix) < 0)
    return false;
  *ret_addr = a;
  *ret_prefix = (int) prefix;
  return true;
}

bool
husk_ipv4_overlap (uint32_t a, int pa, uint32_t b, int pb)
{
  uint32_t m = husk_ipv4_mask (pa < pb ? pa : pb);
  return (a & m) == (b & m);
}

int
husk_ipv4_next_free (uint32_t net, int prefix, uint32_t gateway, const uint32_t *used,
                     size_t n_used, uint32_t *ret)
{
  uint32_t bcast = net | ~husk_ipv4_mask (prefix);

  if (prefix > 30)
    return -1;
  for (uint32_t a = net + 1; a < bcast; a++)
    {
      bool taken = a == gateway;
      for (size_t i = 0; i < n_used && !taken; i++)
        taken = used[i] == a;
      if (!taken)
        {
          *ret = a;
          return 0;
        }
    }
  return -1;
}

/* The records.  */

void
husk_network_free (struct husk_network_rec *n)
{
  if (n == NULL)
    return;
  husk_jsonmap_clear (network_fields, n);
  free (n);
}

void
husk_network_list_free (struct husk_network_rec **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    husk_network_free (v[i]);
  free (v);
}

char *
husk_network_to_json (const struct husk_network_rec *n, size_t *ret_len)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (true);
  const char *buf;
  size_t len;
  char *out;

  husk_jsonmap_encode (g, network_fields, n);
  buf = husk_jgen_buf (g, &len);
  out = husk_xmalloc (len + 1);
  memcpy (out, buf, len);
  out[len] = '\0';
  *ret_len = len;
  return out;
}

int
husk_network_parse (const char *buf, size_t len, struct husk_network_rec **ret,
                    struct husk_error **err)
{
  struct husk_network_rec *n = husk_xcalloc (1, sizeof (*n));

  if (husk_jsonmap_parse (buf, len, network_fields, n, err) < 0)
    {
      free (n);
      return -1;
    }
  if (!husk_ctr_name_valid (n->name))
    {
      husk_error_set (err, 0, "\"name\": \"%s\" is not a valid network name", n->name);
      husk_network_free (n);
      return -1;
    }
  *ret = n;
  return 0;
}

static int
network_write (int dfd, const struct husk_network_rec *n, struct husk_error **err)
{
  cleanup_free char *file = husk_strdup_printf ("%s.json", n->name);
  cleanup_free char *buf = NULL;
  size_t len;

  buf = husk_network_to_json (n, &len);
  if (husk_write_file_atomic_at (dfd, file, buf, len, 0600, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", n->name);
  return 0;
}

/* FILE ("NAME.json") in DFD; NULL with errno ENOENT (and *ERR set) when it is missing.  */
static struct husk_network_rec *
network_read (int dfd, const char *file, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  struct husk_network_rec *n;
  size_t len;

  if (husk_read_file_at (dfd, file, NETWORK_MAX, &buf, &len, err) < 0)
    return NULL;
  if (husk_network_parse (buf, len, &n, err) < 0)
    {
      husk_error_wrap (err, "network record \"%s\"", file);
      return NULL;
    }
  /* The file's name is the network's: a record naming another would be written there.  */
  if (strlen (file) != strlen (n->name) + strlen (".json")
      || strncmp (file, n->name, strlen (n->name)) != 0)
    {
      husk_error_set (err, 0, "network record \"%s\": it names network \"%s\"", file, n->name);
      husk_network_free (n);
      return NULL;
    }
  return n;
}

static int
compare_names (const void *a, const void *b)
{
  const struct husk_network_rec *const *x = a, *const *y = b;
  return strcmp ((*x)->name, (*y)->name);
}

/* Every record in DFD, by name.  */
static int
read_all (int dfd, struct husk_network_rec ***ret, size_t *ret_n, struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct husk_network_rec **v = NULL;
  size_t n = 0;
  struct dirent *de;
  int fd;

  fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return husk_error_set (err, errno, "networks: open directory");
    }
  while ((de = readdir (d)) != NULL)
    {
      struct husk_network_rec *one;
      if (de->d_name[0] == '.' || !husk_str_has_suffix (de->d_name, ".json"))
        continue;
      one = network_read (dfd, de->d_name, err);
      if (one == NULL)
        {
          /* Removed since readdir saw it, or a record that does not parse: left out, as
             husk_ctr_list leaves out containers it cannot read (its name may be created
             again, which replaces it).  Reading the directory itself is what fails.  */
          if ((*err)->errnum == ENOENT || (*err)->errnum == 0)
            {
              husk_error_free (err);
              continue;
            }
          husk_network_list_free (v, n);
          return -1;
        }
      v = husk_xrealloc (v, (n + 1) * sizeof (*v));
      v[n++] = one;
    }
  if (n > 1)
    qsort (v, n, sizeof (*v), compare_names);
  *ret = v;
  *ret_n = n;
  return 0;
}

static int
lock_take (int dfd, struct husk_error **err)
{
  int fd = openat (dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0)
    return husk_error_set (err, errno, "networks: open lock");
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return husk_error_set (err, e, "networks: lock");
      }
  return fd;
}

static struct husk_network_rec *
network_new (const char *name, const char *subnet, const char *gateway, const char *bridge,
             struct husk_error **err)
{
  struct husk_network_rec *n = husk_xcalloc (1, sizeof (*n));
  char id[65], now[64];

  if (husk_random_hex (id, 64, err) < 0)
    {
      free (n);
      return NULL;
    }
  id[64] = '\0';
  husk_now_rfc3339 (now, sizeof (now));
  n->name = husk_xstrdup (name);
  n->id = husk_xstrdup (id);
  n->driver = husk_xstrdup ("bridge");
  n->subnet = husk_xstrdup (subnet);
  n->gateway = husk_xstrdup (gateway);
  n->created = husk_xstrdup (now);
  n->bridge = husk_xstrdup (bridge);
  return n;
}

/* Under the lock: write the default network when its record is missing.  */
static int
ensure_default_locked (int dfd, struct husk_error **err)
{
  cleanup_free char *file = husk_strdup_printf ("%s.json", HUSK_NETWORK_DEFAULT);
  struct husk_network_rec *n;
  int r;

  if (faccessat (dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  n = network_new (HUSK_NETWORK_DEFAULT, HUSK_NETWORK_DEFAULT_SUBNET, "10.88.0.1", "husk0", err);
  if (n == NULL)
    return -1;
  r = network_write (dfd, n, err);
  husk_network_free (n);
  return r;
}

/* STORE/networks (made when missing), with the default network in it; with RET_LOCK, the lock
   taken (its descriptor, to close).  */
static int
networks_open (struct husk_store *s, int *ret_lock, struct husk_error **err)
{
  cleanup_close int dfd = husk_store_open_subdir (s, "networks", true, err);
  cleanup_close int lock = -1;
  cleanup_free char *file = husk_strdup_printf ("%s.json", HUSK_NETWORK_DEFAULT);

  if (dfd < 0)
    return -1;
  if (ret_lock == NULL && faccessat (dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return TAKE_FD (dfd);
  lock = lock_take (dfd, err);
  if (lock < 0 || ensure_default_locked (dfd, err) < 0)
    return -1;
  if (ret_lock)
    *ret_lock = TAKE_FD (lock);
  return TAKE_FD (dfd);
}

/* QUERY among V: a name, a full ID, a unique ID prefix.  */
static struct husk_network_rec *
find (struct husk_network_rec **v, size_t n, const char *query, struct husk_error **err)
{
  struct husk_network_rec *hit = NULL;
  size_t qlen;

  /* docker's name for its default network is husk's default network's too.  */
  if (strcmp (query, "bridge") == 0)
    query = HUSK_NETWORK_DEFAULT;
  qlen = strlen (query);

  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i]->name, query) == 0)
      return v[i];
  if (qlen > 0 && qlen <= 64 && husk_ctr_is_hex (query))
    for (size_t i = 0; i < n; i++)
      if (strncmp (v[i]->id, query, qlen) == 0)
        {
          if (hit)
            {
              husk_error_set (err, 0, "network ID prefix \"%s\" is ambiguous", query);
              return NULL;
            }
          hit = v[i];
        }
  if (hit == NULL)
    {
      /* ENOENT for the callers, without strerror in the message.  */
      husk_error_set (err, 0, "no such network: %s", query);
      (*err)->errnum = ENOENT;
    }
  return hit;
}

int
husk_network_list (struct husk_store *s, struct husk_network_rec ***ret, size_t *ret_n,
                   struct husk_error **err)
{
  cleanup_close int dfd = networks_open (s, NULL, err);

  if (dfd < 0)
    return -1;
  return read_all (dfd, ret, ret_n, err);
}

int
husk_network_load (struct husk_store *s, const char *query, struct husk_network_rec **ret,
                   struct husk_error **err)
{
  struct husk_network_rec **v = NULL, *hit;
  size_t n = 0;

  if (husk_network_list (s, &v, &n, err) < 0)
    return -1;
  hit = find (v, n, query, err);
  if (hit == NULL)
    {
      husk_network_list_free (v, n);
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    if (v[i] == hit)
      v[i] = NULL;
  husk_network_list_free (v, n);
  *ret = hit;
  return 0;
}

/* SUBNET as a network: no host bits, room for a gateway and a container.  */
static int
check_subnet (const char *name, const char *subnet, uint32_t *ret_net, int *ret_prefix,
              struct husk_error **err)
{
  uint32_t a;
  int p;
  char dotted[16];

  if (!husk_ipv4_cidr_parse (subnet, &a, &p))
    return husk_error_set (err, 0, "network \"%s\": subnet \"%s\": not an IPv4 CIDR (A.B.C.D/N)",
                           name, subnet);
  if (p > 30)
    return husk_error_set (err, 0,
                           "network \"%s\": subnet \"%s\": too small (at most /30: a gateway "
                           "and one container)",
                           name, subnet);
  if ((a & ~husk_ipv4_mask (p)) != 0)
    {
      husk_ipv4_format (a & husk_ipv4_mask (p), dotted);
      return husk_error_set (err, 0, "network \"%s\": subnet \"%s\": host bits set (%s/%d)", name,
                             subnet, dotted, p);
    }
  *ret_net = a;
  *ret_prefix = p;
  return 0;
}

/* Whether NET/PREFIX overlaps a network of V: that one, or NULL.  */
static const struct husk_network_rec *
overlapping (struct husk_network_rec **v, size_t n, uint32_t net, int prefix)
{
  for (size_t i = 0; i < n; i++)
    {
      uint32_t a;
      int p;
      if (husk_ipv4_cidr_parse (v[i]->subnet, &a, &p) && husk_ipv4_overlap (a, p, net, prefix))
        return v[i];
    }
  return NULL;
}

/* ADDR as a host of NET/PREFIX: inside it, neither its network nor its broadcast address.  */
static bool
is_host_of (uint32_t addr, uint32_t net, int prefix)
{
  uint32_t m = husk_ipv4_mask (prefix);
  return (addr & m) == net && addr != net && addr != (net | ~m);
}

int
husk_network_create (struct husk_store *s, const struct husk_network_opts *opts,
                     struct husk_network_rec **ret, struct husk_error **err)
{
  const char *name = opts->name;
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  struct husk_network_rec **v = NULL;
  struct husk_network_rec *nw = NULL;
  size_t n = 0;
  char subnet[32], gateway[16], bridge[HUSK_NETWORK_BRIDGE_MAX + 1];
  uint32_t net = 0, gw = 0;
  int prefix = 0, r = -1;

  if (!husk_ctr_name_valid (name))
    return husk_error_set (err, 0,
                           "network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  {
    /* --network's own words, which could never name this network.  */
    static const char *const reserved[] = { "bridge", "host", "none", "pasta", "container" };
    for (size_t i = 0; i < sizeof (reserved) / sizeof (reserved[0]); i++)
      if (strcmp (name, reserved[i]) == 0)
        return husk_error_set (err, 0, "network name \"%s\": reserved (a --network mode)", name);
  }
  if (opts->driver && strcmp (opts->driver, "bridge") != 0)
    return husk_error_set (err, 0, "network \"%s\": driver \"%s\" is not supported (only bridge)",
                           name, opts->driver);
  if (opts->subnet && check_subnet (name, opts->subnet, &net, &prefix, err) < 0)
    return -1;
  if (opts->gateway && !husk_ipv4_parse (opts->gateway, &gw))
    return husk_error_set (err, 0, "network \"%s\": gateway \"%s\": not an IPv4 address", name,
                           opts->gateway);

  dfd = networks_open (s, &lock, err);
  if (dfd < 0 || read_all (dfd, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i]->name, name) == 0)
      {
        husk_error_set (err, 0, "network \"%s\": already exists", name);
        goto out;
      }

  if (opts->subnet)
    {
      const struct husk_network_rec *o = overlapping (v, n, net, prefix);
      if (o)
        {
          husk_error_set (err, 0, "network \"%s\": subnet \"%s\" overlaps network \"%s\" (%s)",
                          name, opts->subnet, o->name, o->subnet);
          goto out;
        }
      snprintf (subnet, sizeof (subnet), "%s", opts->subnet);
    }
  else
    {
      unsigned k;
      for (k = 0; k < 256; k++)
        {
          net = (10u << 24) | (89u << 16) | (k << 8);
          prefix = 24;
          if (overlapping (v, n, net, prefix) == NULL)
            break;
        }
      if (k == 256)
        {
          husk_error_set (err, 0, "network \"%s\": no free subnet in 10.89.0.0/16", name);
          goto out;
        }
      snprintf (subnet, sizeof (subnet), AUTO_SUBNET_FMT, k);
    }

  if (opts->gateway)
    {
      if (!is_host_of (gw, net, prefix))
        {
          husk_error_set (err, 0,
                          "network \"%s\": gateway \"%s\" is not a host address of subnet \"%s\"",
                          name, opts->gateway, subnet);
          goto out;
        }
    }
  else
    gw = net + 1;
  husk_ipv4_format (gw, gateway);

  /* The lowest husk%u no network has.  */
  for (unsigned k = 0;; k++)
    {
      bool taken = false;
      snprintf (bridge, sizeof (bridge), "husk%u", k);
      for (size_t i = 0; i < n && !taken; i++)
        taken = strcmp (v[i]->bridge, bridge) == 0;
      if (!taken)
        break;
    }

  nw = network_new (name, subnet, gateway, bridge, err);
  if (nw == NULL)
    goto out;
  nw->internal = opts->internal;
  for (size_t i = 0; opts->labels && opts->labels[i]; i++)
    husk_strv_append (&nw->labels, opts->labels[i]);
  if (network_write (dfd, nw, err) < 0)
    goto out;
  if (ret)
    *ret = TAKE_PTR (nw);
  r = 0;
out:
  husk_network_free (nw);
  husk_network_list_free (v, n);
  return r;
}

/* Under the lock: the records and the one QUERY names.  */
static int
locked_find (struct husk_store *s, const char *query, int *ret_dfd, int *ret_lock,
             struct husk_network_rec ***ret_v, size_t *ret_n, struct husk_network_rec **ret_hit,
             struct husk_error **err)
{
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  struct husk_network_rec **v = NULL, *hit;
  size_t n = 0;

  dfd = networks_open (s, &lock, err);
  if (dfd < 0 || read_all (dfd, &v, &n, err) < 0)
    return -1;
  hit = find (v, n, query, err);
  if (hit == NULL)
    {
      husk_network_list_free (v, n);
      return -1;
    }
  *ret_dfd = TAKE_FD (dfd);
  *ret_lock = TAKE_FD (lock);
  *ret_v = v;
  *ret_n = n;
  *ret_hit = hit;
  return 0;
}

static int
remove_locked (int dfd, const struct husk_network_rec *nw, struct husk_error **err)
{
  cleanup_free char *file = husk_strdup_printf ("%s.json", nw->name);

  if (unlinkat (dfd, file, 0) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "network \"%s\": remove", nw->name);
  return 0;
}

int
husk_network_remove (struct husk_store *s, const char *query, bool force, char **ret_name,
                     struct husk_error **err)
{
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  struct husk_network_rec **v = NULL, *nw;
  size_t n = 0;
  int r = -1;

  if (locked_find (s, query, &dfd, &lock, &v, &n, &nw, err) < 0)
    return -1;
  if (strcmp (nw->name, HUSK_NETWORK_DEFAULT) == 0)
    husk_error_set (err, 0, "network \"%s\": the default network cannot be removed", nw->name);
  else if (nw->n_containers > 0 && !force)
    {
      cleanup_free char *ids = husk_xstrdup ("");
      for (size_t i = 0; i < nw->n_containers && i < 3; i++)
        {
          char *j = husk_strdup_printf ("%s%s%.12s", ids, i ? ", " : "",
                                        nw->containers[i].container_id);
          free (ids);
          ids = j;
        }
      husk_error_set (err, 0, "network \"%s\": %zu container%s attached (%s%s)", nw->name,
                      nw->n_containers, nw->n_containers == 1 ? " is" : "s are", ids,
                      nw->n_containers > 3 ? ", ..." : "");
    }
  else if (remove_locked (dfd, nw, err) == 0)
    {
      if (ret_name)
        *ret_name = husk_xstrdup (nw->name);
      r = 0;
    }
  husk_network_list_free (v, n);
  return r;
}

int
husk_network_prune (struct husk_store *s, char ***ret_names, struct husk_error **err)
{
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  struct husk_network_rec **v = NULL;
  char **names = husk_xcalloc (1, sizeof (char *));
  size_t n = 0;

  dfd = networks_open (s, &lock, err);
  if (dfd < 0 || read_all (dfd, &v, &n, err) < 0)
    {
      free (names);
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (v[i]->name, HUSK_NETWORK_DEFAULT) == 0 || v[i]->n_containers > 0)
        continue;
      if (remove_locked (dfd, v[i], err) < 0)
        {
          husk_strv_free (names);
          husk_network_list_free (v, n);
          return -1;
        }
      husk_strv_append (&names, v[i]->name);
    }
  husk_network_list_free (v, n);
  *ret_names = names;
  return 0;
}

static bool
valid_ctr_id (const char *id)
{
  return strlen (id) == 64 && husk_ctr_is_hex (id);
}

int
husk_network_attach (struct husk_store *s, const char *query, const char *container_id,
                     const char *requested_ip, char *const *aliases, char **ret_ip,
                     struct husk_error **err)
{
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  cleanup_free uint32_t *used = NULL;
  struct husk_network_rec **v = NULL, *nw;
  struct husk_network_endpoint *ep;
  size_t n = 0;
  uint32_t net, gw, addr;
  int prefix = 0, r = -1;
  char dotted[16];

  if (!valid_ctr_id (container_id))
    return husk_error_set (err, 0, "network \"%s\": container ID \"%s\" is not 64 hex digits",
                           query, container_id);
  if (locked_find (s, query, &dfd, &lock, &v, &n, &nw, err) < 0)
    return -1;
  if (!husk_ipv4_cidr_parse (nw->subnet, &net, &prefix) || !husk_ipv4_parse (nw->gateway, &gw))
    {
      husk_error_set (err, 0, "network \"%s\": bad subnet \"%s\" or gateway \"%s\" in its record",
                      nw->name, nw->subnet, nw->gateway);
      goto out;
    }
  used = husk_xcalloc (nw->n_containers + 1, sizeof (*used));
  for (size_t i = 0; i < nw->n_containers; i++)
    {
      if (strcmp (nw->containers[i].container_id, container_id) == 0)
        {
          husk_error_set (err, 0, "network \"%s\": container %.12s is already attached (%s)",
                          nw->name, container_id, nw->containers[i].ipv4);
          goto out;
        }
      if (!husk_ipv4_parse (nw->containers[i].ipv4, &used[i]))
        used[i] = 0;
    }

  if (requested_ip)
    {
      if (!husk_ipv4_parse (requested_ip, &addr))
        {
          husk_error_set (err, 0, "network \"%s\": address \"%s\" is not an IPv4 address", nw->name,
                          requested_ip);
          goto out;
        }
      if (!is_host_of (addr, net, prefix))
        {
          husk_error_set (err, 0,
                          "network \"%s\": address \"%s\" is not a host address of subnet \"%s\"",
                          nw->name, requested_ip, nw->subnet);
          goto out;
        }
      if (addr == gw)
        {
          husk_error_set (err, 0, "network \"%s\": address \"%s\" is the gateway", nw->name,
                          requested_ip);
          goto out;
        }
      for (size_t i = 0; i < nw->n_containers; i++)
        if (used[i] == addr)
          {
            husk_error_set (err, 0, "network \"%s\": address \"%s\" is in use by container %.12s",
                            nw->name, requested_ip, nw->containers[i].container_id);
            goto out;
          }
    }
  else if (husk_ipv4_next_free (net, prefix, gw, used, nw->n_containers, &addr) < 0)
    {
      husk_error_set (err, 0, "network \"%s\": no free address in %s", nw->name, nw->subnet);
      goto out;
    }

  husk_ipv4_format (addr, dotted);
  nw->containers = husk_xrealloc (nw->containers, (nw->n_containers + 1) * sizeof (*ep));
  ep = &nw->containers[nw->n_containers++];
  memset (ep, 0, sizeof (*ep));
  ep->container_id = husk_xstrdup (container_id);
  ep->ipv4 = husk_xstrdup (dotted);
  for (size_t i = 0; aliases && aliases[i]; i++)
    husk_strv_append (&ep->aliases, aliases[i]);
  if (network_write (dfd, nw, err) < 0)
    goto out;
  if (ret_ip)
    *ret_ip = husk_xstrdup (dotted);
  r = 0;
out:
  husk_network_list_free (v, n);
  return r;
}

int
husk_network_detach (struct husk_store *s, const char *query, const char *container_id,
                     struct husk_error **err)
{
  cleanup_close int dfd = -1;
  cleanup_close int lock = -1;
  struct husk_network_rec **v = NULL, *nw;
  size_t n = 0;
  int r = 0;

  if (locked_find (s, query, &dfd, &lock, &v, &n, &nw, err) < 0)
    return -1;
  for (size_t i = 0; i < nw->n_containers; i++)
    if (strcmp (nw->containers[i].container_id, container_id) == 0)
      {
        struct husk_network_endpoint *ep = &nw->containers[i];
        free (ep->container_id);
        free (ep->ipv4);
        husk_strv_free (ep->aliases);
        memmove (ep, ep + 1, (nw->n_containers - i - 1) * sizeof (*ep));
        nw->n_containers--;
        r = network_write (dfd, nw, err);
        break;
      }
  husk_network_list_free (v, n);
  return r;
}
