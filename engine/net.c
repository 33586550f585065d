/* A container's network, the engine's side (net.h).  */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "defaults.h"
#include "net.h"
#include "netns.h"
#include "lock.h"
#include "names.h"
#include "networks.h"
#include "portfwd.h"
#include "proc.h"
#include "record.h"
#include "rundir.h"
#include "selfexe.h"
#include "store.h"
#include "util.h"
#include "banned.h"

/* Where pasta answers DNS for the container when the host's resolvers are on its loopback
   (podman's choice of address: link-local, so no real network has it).  */
#define PASTA_DNS "169.254.1.1"
/* The MTU of a user network's bridge and veths: pasta's default (65520).  */
#define HUSK_NET_MTU "65520"

/* Seconds pasta may take to configure a container's namespace before husk gives up on it.  */
#define PASTA_SETUP_TIMEOUT 30

static pid_t pidfile_process (const char *file);
static int pick_ports (const struct husk_ctr *c, const char *portsfile, struct husk_port **ret,
                       struct husk_error **err);

/* A growing text, for the /etc files and pasta's port list.  */
typedef struct
{
  char *data;
  size_t len, cap;
} husk_buf;
#define HUSK_BUF_INIT                                                                              \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }

static void
husk_buf_append (husk_buf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->data = husk_xrealloc (b->data, b->cap);
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void __attribute__ ((format (printf, 2, 3)))
husk_buf_printf (husk_buf *b, const char *fmt, ...)
{
  cleanup_free char *s = NULL;
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (n < 0)
    abort ();
  husk_buf_append (b, s, (size_t) n);
}

static const char *
husk_buf_data (const husk_buf *b, size_t *len)
{
  *len = b->len;
  return b->data ? b->data : "";
}

static void
husk_buf_clear (husk_buf *b)
{
  free (b->data);
  *b = (husk_buf) HUSK_BUF_INIT;
}

void
husk_ports_free (struct husk_port *ports, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (ports[i].host_ip);
      free (ports[i].proto);
    }
  free (ports);
}

bool
husk_net_ip_valid (const char *ip)
{
  unsigned char buf[sizeof (struct in6_addr)];
  return inet_pton (AF_INET, ip, buf) == 1 || inet_pton (AF_INET6, ip, buf) == 1;
}

bool
husk_net_add_host_valid (const char *arg)
{
  const char *colon = strpbrk (arg, ":=");
  const char *ip;

  if (colon == NULL || colon == arg)
    return false;
  for (const char *p = arg; p < colon; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-' || *p == '.' || *p == '_'))
      return false;
  ip = colon + 1;
  if (strcmp (ip, "host-gateway") == 0)
    return true;
  if (ip[0] == '[' && ip[strlen (ip) - 1] == ']')
    {
      cleanup_free char *inner = husk_strdup_printf ("%.*s", (int) strlen (ip) - 2, ip + 1);
      return husk_net_ip_valid (inner);
    }
  return husk_net_ip_valid (ip);
}

/* "N" or "N-M" (1-65535, N <= M).  */
static bool
parse_range (const char *s, size_t len, int *lo, int *hi)
{
  char buf[16];
  char *dash, *end;
  long a, b;

  if (len == 0 || len >= sizeof (buf))
    return false;
  memcpy (buf, s, len);
  buf[len] = '\0';
  dash = strchr (buf, '-');
  if (dash)
    *dash = '\0';
  if (buf[0] < '0' || buf[0] > '9')
    return false;
  errno = 0;
  a = strtol (buf, &end, 10);
  if (*end || errno || a < 1 || a > 65535)
    return false;
  b = a;
  if (dash)
    {
      if (dash[1] < '0' || dash[1] > '9')
        return false;
      b = strtol (dash + 1, &end, 10);
      if (*end || errno || b < a || b > 65535)
        return false;
    }
  *lo = (int) a;
  *hi = (int) b;
  return true;
}

int
husk_ports_parse (const char *what, const char *arg, struct husk_port **ports, size_t *n,
                  struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (arg);
  cleanup_free char *ip = NULL;
  const char *proto = "tcp";
  char *slash, *rest = copy, *last;
  int hlo = 0, hhi = 0, clo, chi;

  slash = strrchr (copy, '/');
  if (slash)
    {
      *slash = '\0';
      proto = slash + 1;
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0)
        return husk_error_set (err, 0, "%s \"%s\": unknown protocol \"%s\" (tcp or udp)", what, arg,
                               proto);
    }
  /* [IPv6]:...  */
  if (rest[0] == '[')
    {
      char *close = strchr (rest, ']');
      if (close == NULL || close[1] != ':')
        return husk_error_set (err, 0, "%s \"%s\": expected [IPv6]:HOSTPORT:CTRPORT", what, arg);
      *close = '\0';
      ip = husk_xstrdup (rest + 1);
      rest = close + 2;
    }
  last = strrchr (rest, ':');
  if (!parse_range (last ? last + 1 : rest, strlen (last ? last + 1 : rest), &clo, &chi))
    return husk_error_set (err, 0, "%s \"%s\": \"%s\" is not a port or range (1-65535)", what, arg,
                           last ? last + 1 : rest);
  if (last)
    {
      char *first;
      *last = '\0';
      first = strrchr (rest, ':');
      if (first)
        {
          if (ip)
            return husk_error_set (err, 0, "%s \"%s\": too many \":\"", what, arg);
          *first = '\0';
          ip = husk_xstrdup (rest);
          rest = first + 1;
        }
      /* "IP::CTRPORT": an address and a free port.  */
      if (*rest && !parse_range (rest, strlen (rest), &hlo, &hhi))
        return husk_error_set (err, 0, "%s \"%s\": \"%s\" is not a port or range (1-65535)", what,
                               arg, rest);
    }
  if (ip && *ip == '\0')
    {
      free (ip);
      ip = NULL;
    }
  if (ip && !husk_net_ip_valid (ip))
    return husk_error_set (err, 0, "%s \"%s\": \"%s\" is not an IP address", what, arg, ip);
  if (hlo && hhi - hlo != chi - clo && clo != chi)
    return husk_error_set (err, 0,
                           "%s \"%s\": the host range and the container range differ in "
                           "length",
                           what, arg);
  for (int cp = clo; cp <= chi; cp++)
    {
      struct husk_port *p;
      *ports = husk_xrealloc (*ports, (*n + 1) * sizeof (**ports));
      p = &(*ports)[(*n)++];
      memset (p, 0, sizeof (*p));
      p->host_ip = ip ? husk_xstrdup (ip) : NULL;
      p->ctr_port = cp;
      /* A host range for one container port: the first of its ports that is free when the
         container starts (docker's rule), HOST_PORT_END its last.  */
      p->host_port = hlo == 0 ? 0 : clo == chi ? hlo : hlo + (cp - clo);
      p->host_port_end = hlo != 0 && clo == chi && hhi > hlo ? hhi : 0;
      p->proto = husk_xstrdup (proto);
    }
  return 0;
}

char *
husk_port_format (const struct husk_port *p)
{
  const char *ip = p->host_ip ? p->host_ip : "0.0.0.0";
  bool v6 = strchr (ip, ':') != NULL;
  if (p->host_ip == NULL)
    return husk_strdup_printf ("0.0.0.0:%d->%d/%s, [::]:%d->%d/%s", p->host_port, p->ctr_port,
                               p->proto, p->host_port, p->ctr_port, p->proto);
  return husk_strdup_printf ("%s%s%s:%d->%d/%s", v6 ? "[" : "", ip, v6 ? "]" : "", p->host_port,
                             p->ctr_port, p->proto);
}

int
husk_ports_dedup (struct husk_port *ports, size_t *n, struct husk_error **err)
{
  for (size_t i = 0; i < *n; i++)
    for (size_t j = i + 1; j < *n;)
      {
        struct husk_port *a = &ports[i], *b = &ports[j];
        bool same_host = a->host_port != 0 && a->host_port == b->host_port
                         && strcmp (a->proto, b->proto) == 0
                         && (a->host_ip == NULL) == (b->host_ip == NULL)
                         && (a->host_ip == NULL || strcmp (a->host_ip, b->host_ip) == 0);
        if (!same_host)
          {
            j++;
            continue;
          }
        if (a->ctr_port != b->ctr_port)
          return husk_error_set (err, 0, "publish: host port %d/%s: given for both %d and %d",
                                 a->host_port, a->proto, a->ctr_port, b->ctr_port);
        free (b->host_ip);
        free (b->proto);
        memmove (b, b + 1, (*n - j - 1) * sizeof (*b));
        (*n)--;
      }
  return 0;
}

int
husk_net_mode_parse (const char *arg, int *ret_mode, char **ret_value, struct husk_error **err)
{
  *ret_value = NULL;
  if (strcmp (arg, "none") == 0)
    *ret_mode = HUSK_NETWORK_NONE;
  else if (strcmp (arg, "host") == 0)
    *ret_mode = HUSK_NETWORK_HOST;
  else if (strcmp (arg, "pasta") == 0 || husk_str_has_prefix (arg, "pasta:"))
    {
      *ret_mode = HUSK_NETWORK_PASTA;
      if (arg[5] == ':')
        {
          static const char *const husks[]
              = { "-f",       "--foreground", "-P",          "--pid", "--netns",
                  "--userns", "--netns-only", "--runas",     "-1",    "--one-off",
                  "-d",       "--debug",      "--config-net" };
          cleanup_free char *copy = NULL;
          if (arg[6] == '\0')
            return husk_error_set (err, 0, "network \"%s\": no pasta options after \":\"", arg);
          copy = husk_xstrdup (arg + 6);
          for (char *save = NULL, *o = strtok_r (copy, ",", &save); o;
               o = strtok_r (NULL, ",", &save))
            for (size_t i = 0; i < sizeof (husks) / sizeof (husks[0]); i++)
              {
                size_t len = strlen (husks[i]);
                if (strncmp (o, husks[i], len) == 0 && (o[len] == '\0' || o[len] == '='))
                  return husk_error_set (err, 0,
                                         "network \"%s\": pasta option \"%s\" is husk's to "
                                         "give",
                                         arg, husks[i]);
              }
          *ret_value = husk_xstrdup (arg + 6);
        }
    }
  else if (husk_str_has_prefix (arg, "container:"))
    {
      if (arg[10] == '\0')
        return husk_error_set (err, 0, "network \"%s\": expected container:NAME or ID", arg);
      *ret_mode = HUSK_NETWORK_CONTAINER;
      *ret_value = husk_xstrdup (arg + 10);
    }
  else if (strcmp (arg, "bridge") == 0)
    {
      /* docker's name for its default network.  */
      *ret_mode = HUSK_NETWORK_BRIDGE;
      *ret_value = husk_xstrdup (HUSK_NETWORK_DEFAULT);
    }
  else if (husk_ctr_name_valid (arg))
    {
      *ret_mode = HUSK_NETWORK_BRIDGE;
      *ret_value = husk_xstrdup (arg);
    }
  else
    return husk_error_set (err, 0,
                           "network \"%s\": not supported (none, host, pasta[:OPTIONS], "
                           "container:NAME or a network's name)",
                           arg);
  return 0;
}

char *
husk_net_mode_name (const struct husk_ctr *c)
{
  switch (c->network)
    {
    case HUSK_NETWORK_HOST:
      return husk_xstrdup ("host");
    case HUSK_NETWORK_PASTA:
      return husk_xstrdup ("pasta");
    case HUSK_NETWORK_CONTAINER:
      return husk_strdup_printf ("container:%s", c->network_value ? c->network_value : "");
    case HUSK_NETWORK_BRIDGE:
      return husk_xstrdup (c->network_value ? c->network_value : HUSK_NETWORK_DEFAULT);
    case HUSK_NETWORK_NONE:
    default:
      return husk_xstrdup ("none");
    }
}

/* The host's IPv4 default route: its gateway and the address of its interface (what pasta
   copies into the container), as text; false when there is none.  */
static bool
host_default_route (char gw[INET_ADDRSTRLEN], char addr[INET_ADDRSTRLEN])
{
  cleanup_file FILE *f = fopen ("/proc/net/route", "re");
  char line[256], ifname[64] = "";
  bool found = false;

  if (f == NULL)
    return false;
  while (fgets (line, sizeof (line), f))
    {
      char name[64];
      unsigned dest, gate, flags;
      if (sscanf (line, "%63s %x %x %x", name, &dest, &gate, &flags) == 4 && dest == 0
          && (flags & 0x2) /* RTF_GATEWAY */)
        {
          struct in_addr a = { .s_addr = gate };
          inet_ntop (AF_INET, &a, gw, INET_ADDRSTRLEN);
          snprintf (ifname, sizeof (ifname), "%s", name);
          found = true;
          break;
        }
    }
  if (!found)
    return false;
  addr[0] = '\0';
  {
    struct ifaddrs *ifs = NULL;
    if (getifaddrs (&ifs) == 0)
      {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
          if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp (i->ifa_name, ifname) == 0)
            {
              inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, addr,
                         INET_ADDRSTRLEN);
              break;
            }
        freeifaddrs (ifs);
      }
  }
  return true;
}

static bool
is_loopback (const char *ip)
{
  return husk_str_has_prefix (ip, "127.") || strcmp (ip, "::1") == 0;
}

/* The host's resolv.conf, for a container: loopback nameservers replaced by pasta's
   forwarder (PASTA_DNS) with pasta, dropped otherwise; everything else kept.  OUT NULL: only
   *RET_FORWARD, whether pasta's forwarder is needed.  */
static void
host_resolv (husk_buf *out, bool pasta, bool *ret_forward)
{
  cleanup_free char *buf = NULL;
  size_t len;
  bool forward_added = false;

  *ret_forward = false;
  if (husk_read_file_at (AT_FDCWD, "/etc/resolv.conf", 1 << 20, &buf, &len, NULL) < 0)
    return;
  for (char *save = NULL, *line = strtok_r (buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      char ns[128];
      if (sscanf (line, " nameserver %127s", ns) == 1 && is_loopback (ns))
        {
          if (pasta && !forward_added)
            {
              if (out)
                husk_buf_printf (out, "nameserver %s\n", PASTA_DNS);
              forward_added = *ret_forward = true;
            }
          continue;
        }
      if (out)
        husk_buf_printf (out, "%s\n", line);
    }
}

/* Write NAME into the container's directory DFD, atomically.  */
static int
write_file (int dfd, const char *name, husk_buf *b, struct husk_error **err)
{
  size_t len;
  const char *data = husk_buf_data (b, &len);
  if (husk_write_file_atomic_at (dfd, name, data, len, 0644, err) < 0)
    return husk_error_wrap (err, "container's /etc/%s", name);
  return 0;
}

/* /etc/hosts in place when it is there: a running container has it bind-mounted, and must
   see it change when containers come and go on its network (husk_net_hosts_refresh).  */
static int
write_hosts (int dfd, husk_buf *b, struct husk_error **err)
{
  size_t len;
  const char *data = husk_buf_data (b, &len);
  cleanup_close int fd = openat (dfd, "hosts", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return write_file (dfd, "hosts", b, err);
  if (ftruncate (fd, 0) < 0 || husk_write_all (fd, data, len) < 0)
    return husk_error_set (err, errno, "container's /etc/hosts");
  return 0;
}

/* What writing /etc/hosts files needs once, however many are written: the host's default route
   (read on first use) and container names by ID (each record read once).  */
struct etc_ctx
{
  bool route_read, route_ok;
  char gw[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
  char **ids, **names; /* Parallel; a NULL name: no such record.  */
  size_t n;
};

static void
etc_ctx_clear (struct etc_ctx *x)
{
  for (size_t i = 0; i < x->n; i++)
    {
      free (x->ids[i]);
      free (x->names[i]);
    }
  free (x->ids);
  free (x->names);
  memset (x, 0, sizeof (*x));
}

static bool
etc_route (struct etc_ctx *x)
{
  if (!x->route_read)
    {
      x->route_ok = host_default_route (x->gw, x->addr);
      x->route_read = true;
    }
  return x->route_ok;
}

/* Container ID's name (NAME, when the caller has it, is remembered), or NULL.  */
static const char *
etc_name (struct husk_store *s, struct etc_ctx *x, const char *id, const char *name)
{
  cleanup_error struct husk_error *lerr = NULL;
  cleanup_ctr struct husk_ctr *c = NULL;

  for (size_t i = 0; i < x->n; i++)
    if (strcmp (x->ids[i], id) == 0)
      return x->names[i];
  if (name == NULL && husk_ctr_load_config (s, id, &c, &lerr) == 0)
    name = c->name;
  x->ids = husk_xrealloc (x->ids, (x->n + 1) * sizeof (char *));
  x->names = husk_xrealloc (x->names, (x->n + 1) * sizeof (char *));
  x->ids[x->n] = husk_xstrdup (id);
  x->names[x->n] = name ? husk_xstrdup (name) : NULL;
  return x->names[x->n++];
}

/* The lines of C's networks in its /etc/hosts: its own address with its hostname (and name),
   then every other container attached, by name and aliases; its first network, then those it
   joined later.  */
static void
bridge_hosts (struct husk_store *s, const struct husk_ctr *c, struct etc_ctx *x, husk_buf *hosts)
{
  size_t n_nets = 1 + husk_strv_len (c->extra_networks);

  for (size_t k = 0; k < n_nets; k++)
    {
      const char *name = k == 0 ? c->network_value : c->extra_networks[k - 1];
      cleanup_error struct husk_error *lerr = NULL;
      cleanup_network struct husk_network_rec *n = NULL;
      if (husk_network_load (s, name, &n, &lerr) < 0)
        continue;
      for (size_t i = 0; i < n->n_containers; i++)
        {
          struct husk_network_endpoint *e = &n->containers[i];
          bool self = strcmp (e->container_id, c->id) == 0;
          const char *cname = self ? c->name : etc_name (s, x, e->container_id, NULL);
          if (cname == NULL)
            continue;
          husk_buf_printf (hosts, "%s\t", e->ipv4);
          if (self && c->spec.hostname && strcmp (c->spec.hostname, cname) != 0)
            husk_buf_printf (hosts, "%s ", c->spec.hostname);
          husk_buf_printf (hosts, "%s", cname);
          for (size_t j = 0; e->aliases && e->aliases[j]; j++)
            husk_buf_printf (hosts, " %s", e->aliases[j]);
          husk_buf_printf (hosts, "\n");
        }
    }
}

/* C's /etc/hosts (net.h's husk_net_write_etc).  */
static void
build_hosts (struct husk_store *s, const struct husk_ctr *c, struct etc_ctx *x, husk_buf *hosts)
{
  const char *name = c->spec.hostname ? c->spec.hostname : "";

  /* The host's own first with the host's network (docker's choice).  */
  if (c->network == HUSK_NETWORK_HOST)
    {
      cleanup_free char *buf = NULL;
      size_t len;
      if (husk_read_file_at (AT_FDCWD, "/etc/hosts", 1 << 20, &buf, &len, NULL) == 0)
        husk_buf_append (hosts, buf, len);
      if (hosts->len && hosts->data[hosts->len - 1] != '\n')
        husk_buf_append (hosts, "\n", 1);
    }
  else
    husk_buf_printf (hosts, "127.0.0.1\tlocalhost\n"
                            "::1\tlocalhost ip6-localhost ip6-loopback\n"
                            "fe00::0\tip6-localnet\n"
                            "ff00::0\tip6-mcastprefix\n"
                            "ff02::1\tip6-allnodes\n"
                            "ff02::2\tip6-allrouters\n");
  if (c->network == HUSK_NETWORK_BRIDGE)
    {
      /* Its own address, the other containers on its networks by name and alias, and the
         host: the holder's pasta maps the host's gateway to the host's loopback.  */
      bridge_hosts (s, c, x, hosts);
      if (etc_route (x))
        husk_buf_printf (hosts, "%s\thost.containers.internal host.docker.internal\n", x->gw);
    }
  else if (c->network == HUSK_NETWORK_PASTA && etc_route (x))
    {
      /* pasta gives the container the host's address and maps the gateway's to the host's
         loopback (unless told --no-map-gw).  */
      if (x->addr[0])
        husk_buf_printf (hosts, "%s\t%s\n", x->addr, name);
      husk_buf_printf (hosts, "%s\thost.containers.internal host.docker.internal\n", x->gw);
    }
  else if (c->network == HUSK_NETWORK_HOST)
    husk_buf_printf (hosts,
                     "127.0.1.1\t%s\n127.0.0.1\thost.containers.internal "
                     "host.docker.internal\n",
                     name);
  else
    husk_buf_printf (hosts, "127.0.1.1\t%s\n", name);
  for (size_t i = 0; c->extra_hosts && c->extra_hosts[i]; i++)
    {
      const char *h = c->extra_hosts[i], *colon = strpbrk (h, ":=");
      const char *ip;
      size_t iplen;
      if (colon == NULL)
        continue;
      ip = colon + 1;
      iplen = strlen (ip);
      if (strcmp (ip, "host-gateway") == 0)
        {
          ip = etc_route (x) && x->gw[0] ? x->gw : "127.0.0.1";
          iplen = strlen (ip);
        }
      else if (ip[0] == '[' && iplen >= 2)
        {
          ip++;
          iplen -= 2;
        }
      husk_buf_printf (hosts, "%.*s\t%.*s\n", (int) iplen, ip, (int) (colon - h), h);
    }
}

void
husk_net_forget (struct husk_store *s, const char *id)
{
  cleanup_error struct husk_error *lerr = NULL;
  struct husk_network_rec **v = NULL;
  size_t n = 0;

  /* A store that never had a network keeps none (listing would write the default one).  */
  if (faccessat (husk_store_rootfd (s), "networks", F_OK, AT_SYMLINK_NOFOLLOW) < 0
      || husk_network_list (s, &v, &n, &lerr) < 0)
    return;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < v[i]->n_containers; j++)
      if (strcmp (v[i]->containers[j].container_id, id) == 0)
        {
          if (husk_network_detach (s, v[i]->name, id, &lerr) < 0)
            husk_error_free (&lerr);
          husk_net_hosts_refresh (s, v[i]->name, id);
          break;
        }
  husk_network_list_free (v, n);
}

int
husk_net_hosts_refresh (struct husk_store *s, const char *network, const char *except_id)
{
  cleanup_error struct husk_error *lerr = NULL;
  cleanup_network struct husk_network_rec *n = NULL;
  struct etc_ctx x;

  if (network == NULL || husk_network_load (s, network, &n, &lerr) < 0)
    return 0;
  memset (&x, 0, sizeof (x));
  for (size_t i = 0; i < n->n_containers; i++)
    {
      cleanup_ctr struct husk_ctr *other = NULL;
      cleanup_free char *dir = NULL;
      cleanup_close int dfd = -1;
      husk_buf hosts = HUSK_BUF_INIT;
      if (except_id && strcmp (n->containers[i].container_id, except_id) == 0)
        continue;
      if (husk_ctr_load_config (s, n->containers[i].container_id, &other, &lerr) < 0)
        {
          husk_error_free (&lerr);
          continue;
        }
      /* Its name is the others' to read too.  */
      etc_name (s, &x, other->id, other->name);
      dir = husk_strdup_printf ("containers/%s", other->id);
      dfd = openat (husk_store_rootfd (s), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (dfd < 0)
        continue;
      /* Only /etc/hosts changes when a container comes or goes.  */
      build_hosts (s, other, &x, &hosts);
      if (write_hosts (dfd, &hosts, &lerr) < 0)
        husk_error_free (&lerr);
      husk_buf_clear (&hosts);
    }
  etc_ctx_clear (&x);
  return 0;
}

int
husk_net_write_etc (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *dir = husk_strdup_printf ("containers/%s", c->id);
  cleanup_close int dfd = -1;
  husk_buf hosts = HUSK_BUF_INIT, resolv = HUSK_BUF_INIT, hostname = HUSK_BUF_INIT;
  const char *name = c->spec.hostname ? c->spec.hostname : "";
  struct etc_ctx x;
  bool forward;
  int r = -1;

  memset (&x, 0, sizeof (x));

  dfd = openat (husk_store_rootfd (s), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0)
    return husk_error_set (err, errno, "container %.12s: open its directory", c->id);

  build_hosts (s, c, &x, &hosts);

  /* /etc/resolv.conf.  */
  if (c->dns || c->dns_search || c->dns_options)
    {
      if (c->dns)
        for (size_t i = 0; c->dns[i]; i++)
          husk_buf_printf (&resolv, "nameserver %s\n", c->dns[i]);
      else
        {
          husk_buf from_host = HUSK_BUF_INIT;
          host_resolv (&from_host,
                       c->network == HUSK_NETWORK_PASTA || c->network == HUSK_NETWORK_BRIDGE,
                       &forward);
          /* Only the host's nameservers: search and options are the user's.  */
          for (char *save = NULL,
                    *line = strtok_r (from_host.data ? from_host.data : "", "\n", &save);
               line; line = strtok_r (NULL, "\n", &save))
            if (husk_str_has_prefix (line, "nameserver"))
              husk_buf_printf (&resolv, "%s\n", line);
          husk_buf_clear (&from_host);
        }
      if (c->dns_search && c->dns_search[0])
        {
          husk_buf_printf (&resolv, "search");
          for (size_t i = 0; c->dns_search[i]; i++)
            husk_buf_printf (&resolv, " %s", c->dns_search[i]);
          husk_buf_printf (&resolv, "\n");
        }
      if (c->dns_options && c->dns_options[0])
        {
          husk_buf_printf (&resolv, "options");
          for (size_t i = 0; c->dns_options[i]; i++)
            husk_buf_printf (&resolv, " %s", c->dns_options[i]);
          husk_buf_printf (&resolv, "\n");
        }
    }
  else if (c->network == HUSK_NETWORK_HOST)
    {
      cleanup_free char *buf = NULL;
      size_t len;
      if (husk_read_file_at (AT_FDCWD, "/etc/resolv.conf", 1 << 20, &buf, &len, NULL) == 0)
        husk_buf_append (&resolv, buf, len);
    }
  else
    host_resolv (&resolv, c->network == HUSK_NETWORK_PASTA || c->network == HUSK_NETWORK_BRIDGE,
                 &forward);

  husk_buf_printf (&hostname, "%s\n", name);
  if (write_hosts (dfd, &hosts, err) < 0 || write_file (dfd, "resolv.conf", &resolv, err) < 0
      || write_file (dfd, "hostname", &hostname, err) < 0)
    goto out;
  r = 0;
out:
  husk_buf_clear (&hosts);
  husk_buf_clear (&resolv);
  husk_buf_clear (&hostname);
  etc_ctx_clear (&x);
  return r;
}

/* Whether the user mounts something at DEST already.  */
static bool
user_mounts_at (const struct husk_container_spec *sp, const char *dest)
{
  for (size_t i = 0; i < sp->n_mounts; i++)
    if (strcmp (sp->mounts[i].dest, dest) == 0)
      return true;
  return false;
}

static void
add_etc_mounts (struct husk_ctr *c, const char *cdir)
{
  static const char *const files[] = { "hosts", "resolv.conf", "hostname" };
  struct husk_container_spec *sp = &c->spec;

  for (size_t i = 0; i < sizeof (files) / sizeof (files[0]); i++)
    {
      cleanup_free char *dest = husk_strdup_printf ("/etc/%s", files[i]);
      cleanup_free char *src = husk_strdup_printf ("%s/%s", cdir, files[i]);
      struct husk_mount *m;
      struct stat st;
      if (user_mounts_at (sp, dest) || stat (src, &st) < 0)
        continue;
      m = husk_xrealloc ((void *) sp->mounts, (sp->n_mounts + 1) * sizeof (*m));
      sp->mounts = m;
      m = &m[sp->n_mounts++];
      memset (m, 0, sizeof (*m));
      m->kind = HUSK_MOUNT_BIND;
      m->source = TAKE_PTR (src);
      m->dest = TAKE_PTR (dest);
    }
}

/* The layer of the /etc files' mountpoints (net.h).  */
char *
husk_net_init_layer (struct husk_store *s, struct husk_error **err)
{
  static const char *const files[] = { "container-init/etc/hosts", "container-init/etc/resolv.conf",
                                       "container-init/etc/hostname" };
  int root = husk_store_rootfd (s);
  struct stat st;

  if (fstatat (root, files[2], &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if ((mkdirat (root, "container-init", 0755) < 0 && errno != EEXIST)
          || (mkdirat (root, "container-init/etc", 0755) < 0 && errno != EEXIST))
        {
          husk_error_set (err, errno, "store: create \"container-init/etc\"");
          return NULL;
        }
      for (size_t i = 0; i < sizeof (files) / sizeof (files[0]); i++)
        {
          int fd = openat (root, files[i], O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (fd < 0)
            {
              husk_error_set (err, errno, "store: create \"%s\"", files[i]);
              return NULL;
            }
          close (fd);
        }
    }
  return husk_strdup_printf ("%s/container-init", husk_store_root (s));
}

/* Put the mountpoint layer under C's image layers.  */
static int
add_mountpoint_layer (struct husk_store *s, struct husk_ctr *c, struct husk_error **err)
{
  struct husk_container_spec *sp = &c->spec;
  cleanup_free char *init = husk_net_init_layer (s, err);
  size_t n = husk_strv_len (sp->lowerdirs);
  char **v;

  if (init == NULL)
    return -1;
  v = husk_xcalloc (n + 2, sizeof (char *));
  v[0] = TAKE_PTR (init);
  for (size_t i = 0; i < n; i++)
    v[i + 1] = sp->lowerdirs[i];
  free (sp->lowerdirs);
  sp->lowerdirs = v;
  return 0;
}

/* husk-netns, beside husk's own binary (the one on disk, runtime/selfexe.h) or installed.  */
static char *
helper_path (void)
{
  cleanup_free char *self = husk_self_exe_path ();
  char *slash = self ? strrchr (self, '/') : NULL;

  if (slash)
    {
      char *beside;
      *slash = '\0';
      beside = husk_strdup_printf ("%s/husk-netns", self);
      if (access (beside, X_OK) == 0)
        return beside;
      free (beside);
    }
  return husk_xstrdup (HUSK_PKGLIBEXECDIR "/husk-netns");
}

/* The nftables rules' view of every network of the store, as husk-netns net= arguments.  */
static void
append_nets (struct husk_store *s, char ***argv)
{
  cleanup_error struct husk_error *lerr = NULL;
  struct husk_network_rec **v = NULL;
  size_t n = 0;

  if (husk_network_list (s, &v, &n, &lerr) < 0)
    return;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *a
          = husk_strdup_printf ("net=%s,%s,%d", v[i]->bridge, v[i]->subnet, v[i]->internal ? 1 : 0);
      husk_strv_append (argv, a);
    }
  husk_network_list_free (v, n);
}

/* Run husk-netns with ARGV (argv[0] is replaced by its path).  With
   RET_HOLD, the helper holds what it made until its stdin ends: it returns once the helper
   printed "ok", *RET_PID its pid and *RET_HOLD its stdin (close-on-exec); else it returns when
   the helper exited.  Errors: the first line the helper printed on stderr.  */
static int
run_netns_helper (char **argv, pid_t *ret_pid, int *ret_hold, struct husk_error **err)
{
  cleanup_free char *full = helper_path ();
  char out[1024], ok[4];
  size_t total = 0;
  int errpipe[2], inpipe[2] = { -1, -1 }, outpipe[2] = { -1, -1 }, status;
  pid_t child;
  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  if (ret_hold && (pipe2 (inpipe, O_CLOEXEC) < 0 || pipe2 (outpipe, O_CLOEXEC) < 0))
    {
      husk_error_set (err, errno, "pipe");
      goto fail_pipes;
    }
  {
    /* posix_spawn (a vfork): no copy of this process's page tables to make and tear down
       again, which a fork and exec of the CLI cost about 2 ms.  Only the three pipes reach
       the helper: closefrom after them.  */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    int e;
    posix_spawn_file_actions_init (&fa);
    posix_spawnattr_init (&attr);
    sigemptyset (&none);
    posix_spawnattr_setsigmask (&attr, &none);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_adddup2 (&fa, errpipe[1], 2);
    if (inpipe[0] >= 0)
      posix_spawn_file_actions_adddup2 (&fa, inpipe[0], 0);
    if (outpipe[1] >= 0)
      posix_spawn_file_actions_adddup2 (&fa, outpipe[1], 1);
    posix_spawn_file_actions_addclosefrom_np (&fa, 3);
    {
      /* ARGV's own strings stay its owner's: only the program's path is put first.  */
      size_t n = 0;
      cleanup_free char **args = NULL;
      while (argv[n])
        n++;
      args = husk_xcalloc (n + 1, sizeof (char *));
      args[0] = full;
      for (size_t k = 1; k < n; k++)
        args[k] = argv[k];
      e = posix_spawn (&child, full, &fa, &attr, args, environ);
    }
    posix_spawn_file_actions_destroy (&fa);
    posix_spawnattr_destroy (&attr);
    if (e != 0)
      {
        if (e == ENOENT)
          husk_error_set (err, 0,
                          "husk-netns is neither beside husk nor at \"%s\": it is built and "
                          "installed with husk, and must be copied with it",
                          full);
        else
          husk_error_set (err, e, "run \"%s\"", full);
        goto fail_pipes;
      }
  }
  close (errpipe[1]);
  errpipe[1] = -1;
  if (ret_hold)
    {
      ssize_t got;
      close (inpipe[0]);
      close (outpipe[1]);
      while ((got = read (outpipe[0], ok, sizeof (ok) - 1)) < 0 && errno == EINTR)
        ;
      close (outpipe[0]);
      if (got >= 2 && memcmp (ok, "ok", 2) == 0)
        {
          close (errpipe[0]);
          *ret_pid = child;
          *ret_hold = inpipe[1];
          return 0;
        }
      close (inpipe[1]);
    }
  while (total < sizeof (out) - 1)
    {
      ssize_t got = read (errpipe[0], out + total, sizeof (out) - 1 - total);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
      total += (size_t) got;
    }
  close (errpipe[0]);
  out[total] = '\0';
  out[strcspn (out, "\n")] = '\0';
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "wait");
  if (!ret_hold && WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  return husk_error_set (err, 0, "%s", out[0] ? out : "husk-netns failed");

fail_pipes:
  for (int i = 0; i < 2; i++)
    {
      if (errpipe[i] >= 0)
        close (errpipe[i]);
      if (inpipe[i] >= 0)
        close (inpipe[i]);
      if (outpipe[i] >= 0)
        close (outpipe[i]);
    }
  return -1;
}

/* Container ID's address on network N, or NULL.  */
static const char *
endpoint_addr (const struct husk_network_rec *n, const char *id)
{
  for (size_t i = 0; i < n->n_containers; i++)
    if (strcmp (n->containers[i].container_id, id) == 0)
      return n->containers[i].ipv4;
  return NULL;
}

/* The holder's end of container ID's veth pair on network N: "veth" and 11 hex of the ID on
   its first network, "v" and 10 of them, "-" and 3 of the network's ID on one it connected to
   later (at most IFNAMSIZ - 1 = 15 bytes either way).  */
static char *
veth_name (const char *id, const struct husk_network_rec *n, bool first)
{
  return first ? husk_strdup_printf ("veth%.11s", id)
               : husk_strdup_printf ("v%.10s-%.3s", id, n->id);
}

/* husk-netns ACTION's arguments for container ID at ADDR on network N (netattach.h), the
   holder HOLDER's namespace; PID when not 0.  */
static char **
helper_args (struct husk_store *s, const char *action, pid_t holder, pid_t pid,
             const struct husk_network_rec *n, const char *id, const char *addr, bool first,
             struct husk_error **err)
{
  char **argv;
  int prefix;
  uint32_t net;

  if (!husk_ipv4_cidr_parse (n->subnet, &net, &prefix))
    {
      husk_error_set (err, 0, "network \"%s\": bad subnet \"%s\"", n->name, n->subnet);
      return NULL;
    }
  argv = husk_xcalloc (1, sizeof (char *));
  husk_strv_append (&argv, "husk-netns");
  husk_strv_append (&argv, action);
  {
    cleanup_free char *h = husk_strdup_printf ("holder=%d", (int) holder);
    cleanup_free char *b = husk_strdup_printf ("bridge=%s", n->bridge);
    cleanup_free char *g = husk_strdup_printf ("gateway=%s/%d", n->gateway, prefix);
    cleanup_free char *a = husk_strdup_printf ("addr=%s", addr);
    cleanup_free char *veth = veth_name (id, n, first);
    cleanup_free char *v = husk_strdup_printf ("veth=%s", veth);
    husk_strv_append (&argv, h);
    husk_strv_append (&argv, b);
    husk_strv_append (&argv, g);
    husk_strv_append (&argv, a);
    husk_strv_append (&argv, v);
  }
  if (pid > 0)
    {
      cleanup_free char *p = husk_strdup_printf ("pid=%d", (int) pid);
      husk_strv_append (&argv, p);
    }
  /* pasta's MTU, which the holder's way out has: a bridge and veths of 1500 bytes held two
     containers to some 0.6 of the loopback's throughput, 65520 to about all of it.  */
  husk_strv_append (&argv, "mtu=" HUSK_NET_MTU);
  if (n->internal)
    husk_strv_append (&argv, "internal=1");
  append_nets (s, &argv);
  return argv;
}

/* Plug container ID (one of whose processes, or its namespace's holder, is PID) into network
   NAME as one more network, its address the recorded one.  */
static int
connect_running (struct husk_store *s, pid_t holder, pid_t pid, const char *name, const char *id,
                 struct husk_error **err)
{
  cleanup_network struct husk_network_rec *n = NULL;
  cleanup_strv char **argv = NULL;
  const char *addr;

  if (husk_network_load (s, name, &n, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", name);
  addr = endpoint_addr (n, id);
  if (addr == NULL)
    return husk_error_set (err, 0, "network \"%s\": container %.12s has no address on it", n->name,
                           id);
  argv = helper_args (s, "connect", holder, pid, n, id, addr, false, err);
  if (argv == NULL || run_netns_helper (argv, NULL, NULL, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", n->name);
  return 0;
}

/* A user network: its record and this container's address on it, the user's network
   namespace up (engine/netns.h), the container's user namespace that namespace's (rootless),
   and husk-netns's arguments for the attach.  */
static int
bridge_prepare (struct husk_store *s, struct husk_ctr *c, struct husk_error **err)
{
  cleanup_network struct husk_network_rec *n = NULL;
  const char *addr;

  if (husk_network_load (s, c->network_value, &n, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", c->network_value);
  addr = endpoint_addr (n, c->id);
  if (addr == NULL)
    return husk_error_set (err, 0, "network \"%s\": container %.12s has no address on it", n->name,
                           c->id);
  if (husk_netns_acquire (s, c->id, &c->net_holder, err) < 0)
    return -1;
  for (size_t i = 0; i < c->spec.n_namespaces; i++)
    if (c->namespaces[i].type == HUSK_NS_USER)
      {
        /* The holder's user namespace, whose id map is the one this container's would have
           been: it owns the container's new network namespace, so the attach can reach both
           ends of the veth pair.  */
        free (c->ns_paths[1]);
        c->ns_paths[1] = husk_strdup_printf ("/proc/%d/ns/user", (int) c->net_holder);
        c->namespaces[i].path = c->ns_paths[1];
        c->spec.idmap = NULL;
      }
  free (c->net_addr);
  c->net_addr = husk_xstrdup (addr);
  husk_strv_free (c->net_argv);
  c->net_argv = helper_args (s, "attach", c->net_holder, 0, n, c->id, addr, true, err);
  if (c->net_argv == NULL)
    return -1;
  if (run_netns_helper (c->net_argv, &c->net_maker, &c->net_hold, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", n->name);
  c->net_maker_parent = getpid ();
  /* Its other networks (husk network connect), into the namespace the helper holds.  */
  for (size_t i = 0; c->extra_networks && c->extra_networks[i]; i++)
    if (connect_running (s, c->net_holder, c->net_maker, c->extra_networks[i], c->id, err) < 0)
      {
        husk_net_bridge_release (c);
        return -1;
      }
  for (size_t i = 0; i < c->spec.n_namespaces; i++)
    if (c->namespaces[i].type == HUSK_NS_NET)
      {
        free (c->ns_paths[0]);
        c->ns_paths[0] = husk_strdup_printf ("/proc/%d/ns/net", (int) c->net_maker);
        c->namespaces[i].path = c->ns_paths[0];
      }
  c->spec.created_fn = husk_net_bridge_attach;
  c->spec.created_arg = c;
  return 0;
}

/* C's published ports on a user network: a forwarder of husk's (engine/portfwd.h), a child
   of the caller, from the host's ports to the container's address, connecting from inside
   the user's network namespace; "PID START" in RUNDIR/ID/portfwd.pid for husk_net_detach.  */
static int
bridge_ports (struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *portsfile = NULL, *pidfile = NULL, *dir = NULL;
  cleanup_free struct husk_port *picked = NULL;
  cleanup_close int netfd = -1, userfd = -1;
  char path[64], line[64];
  pid_t fwd;
  int len;

  if (husk_ctr_run_path (c, "ports", &portsfile, err) < 0
      || husk_ctr_run_path (c, "portfwd.pid", &pidfile, err) < 0
      || husk_ctr_run_path (c, NULL, &dir, err) < 0)
    return -1;
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s\"", dir);
  if (pick_ports (c, portsfile, &picked, err) < 0)
    return -1;
  snprintf (path, sizeof (path), "/proc/%d/ns/net", (int) c->net_holder);
  netfd = open (path, O_RDONLY | O_CLOEXEC);
  if (netfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  if (geteuid () != 0)
    {
      snprintf (path, sizeof (path), "/proc/%d/ns/user", (int) c->net_holder);
      userfd = open (path, O_RDONLY | O_CLOEXEC);
      if (userfd < 0)
        return husk_error_set (err, errno, "open \"%s\"", path);
    }
  if (husk_portfwd_start (picked, c->n_ports, c->net_addr, netfd, userfd, &fwd, err) < 0)
    return -1;
  len = snprintf (line, sizeof (line), "%d %" PRIu64 "\n", (int) fwd, husk_proc_start_time (fwd));
  if (husk_write_file_replace_at (AT_FDCWD, pidfile, line, (size_t) len, 0600, err) < 0)
    {
      kill (fwd, SIGKILL);
      waitpid (fwd, NULL, 0);
      return -1;
    }
  return 0;
}

int
husk_net_bridge_attach (void *arg, pid_t pid, struct husk_error **err)
{
  struct husk_ctr *c = arg;

  (void) pid;
  husk_net_bridge_release (c);
  if (c->n_ports && bridge_ports (c, err) < 0)
    return husk_error_wrap (err, "network \"%s\"", c->network_value);
  return 0;
}

void
husk_net_bridge_release (struct husk_ctr *c)
{
  if (c->net_maker > 0)
    {
      close (c->net_hold);
      c->net_hold = -1;
      /* It ends at once; its parent reaps it when that is this process.  */
      if (c->net_maker > 0 && c->net_maker_parent == getpid ())
        waitpid (c->net_maker, NULL, 0);
      c->net_maker = 0;
    }
}

/* Container QUERY under its lock (engine/lock.h): the lock's descriptor, *RET the record as
   it is once locked.  */
static int
load_locked (struct husk_store *s, const char *query, struct husk_ctr **ret,
             struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;

  if (husk_ctr_load (s, query, &c, err) < 0)
    return -1;
  return husk_ctr_lock (s, c->id, ret, err);
}

int
husk_net_connect (struct husk_store *s, const char *query, const char *network, const char *ip,
                  char *const *aliases, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;
  cleanup_network struct husk_network_rec *n = NULL;
  cleanup_close int lock = -1;

  if ((lock = load_locked (s, query, &c, err)) < 0)
    return -1;
  if (c->network != HUSK_NETWORK_BRIDGE)
    return husk_error_set (err, 0,
                           "container \"%s\": its network is %s: only a container on a user "
                           "network can join another",
                           c->name,
                           c->network == HUSK_NETWORK_HOST        ? "the host's"
                           : c->network == HUSK_NETWORK_CONTAINER ? "another container's"
                           : c->network == HUSK_NETWORK_PASTA     ? "pasta"
                                                                  : "none");
  if (husk_network_load (s, network, &n, err) < 0)
    return -1;
  if (strcmp (n->name, c->network_value) == 0 || husk_strv_contains (c->extra_networks, n->name))
    return husk_error_set (err, 0, "container \"%s\" is already on network \"%s\"", c->name,
                           n->name);
  if (husk_network_attach (s, n->name, c->id, ip, aliases, NULL, err) < 0)
    return -1;
  husk_strv_append (&c->extra_networks, n->name);
  if (husk_ctr_save_config (s, c, true, err) < 0)
    goto undo_attach;
  if (c->status == HUSK_CTR_RUNNING && c->pid > 0)
    {
      pid_t holder = husk_netns_holder (s);
      if (holder <= 0)
        {
          husk_error_set (err, 0, "network \"%s\": the store's network namespace is not up",
                          n->name);
          goto undo_record;
        }
      if (connect_running (s, holder, c->pid, n->name, c->id, err) < 0)
        goto undo_record;
    }
  husk_net_hosts_refresh (s, n->name, NULL);
  husk_net_write_etc (s, c, NULL);
  return 0;

undo_record:
  {
    size_t k = 0;
    while (c->extra_networks[k + 1])
      k++;
    free (c->extra_networks[k]);
    c->extra_networks[k] = NULL;
    husk_ctr_save_config (s, c, true, NULL);
  }
undo_attach:
  husk_network_detach (s, n->name, c->id, NULL);
  return -1;
}

int
husk_net_disconnect (struct husk_store *s, const char *query, const char *network,
                     struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *c = NULL;
  cleanup_network struct husk_network_rec *n = NULL;
  cleanup_close int lock = -1;
  size_t k;

  if ((lock = load_locked (s, query, &c, err)) < 0)
    return -1;
  if (husk_network_load (s, network, &n, err) < 0)
    return -1;
  if (c->network == HUSK_NETWORK_BRIDGE && strcmp (n->name, c->network_value) == 0)
    return husk_error_set (err, 0,
                           "container \"%s\": network \"%s\" is its first network, which it "
                           "keeps (its default route)",
                           c->name, n->name);
  for (k = 0; c->extra_networks && c->extra_networks[k]; k++)
    if (strcmp (c->extra_networks[k], n->name) == 0)
      break;
  if (c->extra_networks == NULL || c->extra_networks[k] == NULL)
    return husk_error_set (err, 0, "container \"%s\" is not on network \"%s\"", c->name, n->name);
  if (c->status == HUSK_CTR_RUNNING && c->pid > 0)
    {
      pid_t holder = husk_netns_holder (s);
      if (holder > 0)
        {
          cleanup_strv char **argv = husk_xcalloc (1, sizeof (char *));
          cleanup_free char *veth = veth_name (c->id, n, false);
          cleanup_free char *h = husk_strdup_printf ("holder=%d", (int) holder);
          cleanup_free char *v = husk_strdup_printf ("veth=%s", veth);
          husk_strv_append (&argv, "husk-netns");
          husk_strv_append (&argv, "disconnect");
          husk_strv_append (&argv, h);
          husk_strv_append (&argv, v);
          if (run_netns_helper (argv, NULL, NULL, err) < 0)
            return husk_error_wrap (err, "network \"%s\"", n->name);
        }
    }
  free (c->extra_networks[k]);
  memmove (&c->extra_networks[k], &c->extra_networks[k + 1],
           (husk_strv_len (c->extra_networks) - k) * sizeof (char *));
  if (husk_ctr_save_config (s, c, true, err) < 0
      || husk_network_detach (s, n->name, c->id, err) < 0)
    return -1;
  husk_net_hosts_refresh (s, n->name, NULL);
  husk_net_write_etc (s, c, NULL);
  return 0;
}

int
husk_net_bridge_remove (struct husk_store *s, const char *bridge, struct husk_error **err)
{
  cleanup_strv char **argv = husk_xcalloc (1, sizeof (char *));
  pid_t holder = husk_netns_holder (s);

  if (holder <= 0)
    return 0;
  husk_strv_append (&argv, "husk-netns");
  husk_strv_append (&argv, "rmbridge");
  {
    cleanup_free char *h = husk_strdup_printf ("holder=%d", (int) holder);
    cleanup_free char *b = husk_strdup_printf ("bridge=%s", bridge);
    husk_strv_append (&argv, h);
    husk_strv_append (&argv, b);
  }
  append_nets (s, &argv);
  return run_netns_helper (argv, NULL, NULL, err);
}

int
husk_net_prepare (struct husk_store *s, struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *cdir = husk_ctr_dir (s, c);

  if (c->network == HUSK_NETWORK_CONTAINER)
    {
      cleanup_ctr struct husk_ctr *other = NULL;
      cleanup_free char *odir = NULL;
      if (husk_ctr_load (s, c->network_value, &other, err) < 0)
        {
          husk_error_wrap (err, "network container \"%.12s\"", c->network_value);
          (*err)->status = 125;
          return -1;
        }
      if (other->status != HUSK_CTR_RUNNING || other->pid <= 0)
        {
          husk_error_set (err, 0, "network container \"%s\": is not running", other->name);
          (*err)->status = 125;
          return -1;
        }
      if (other->network == HUSK_NETWORK_HOST)
        {
          husk_error_set (err, 0,
                          "network container \"%s\": it uses the host's network: use "
                          "--network host",
                          other->name);
          (*err)->status = 125;
          return -1;
        }
      for (size_t i = 0; i < c->spec.n_namespaces; i++)
        {
          struct husk_namespace *ns = &c->namespaces[i];
          if (ns->type == HUSK_NS_NET)
            {
              c->ns_paths[0] = husk_strdup_printf ("/proc/%d/ns/net", (int) other->pid);
              ns->path = c->ns_paths[0];
            }
          /* Rootless, a network namespace is joined only from inside its owner: the other
             container's user namespace, whose id map is the same as this one's would be.  */
          else if (ns->type == HUSK_NS_USER)
            {
              c->ns_paths[1] = husk_strdup_printf ("/proc/%d/ns/user", (int) other->pid);
              ns->path = c->ns_paths[1];
              c->spec.idmap = NULL;
            }
        }
      /* Its /etc files are the other container's, as docker shares them.  */
      odir = husk_ctr_dir (s, other);
      add_etc_mounts (c, odir);
      return add_mountpoint_layer (s, c, err);
    }
  add_etc_mounts (c, cdir);
  if (add_mountpoint_layer (s, c, err) < 0)
    return -1;
  if (c->network == HUSK_NETWORK_PASTA)
    {
      c->spec.created_fn = husk_net_attach;
      c->spec.created_arg = c;
    }
  else if (c->network == HUSK_NETWORK_BRIDGE && bridge_prepare (s, c, err) < 0)
    {
      (*err)->status = 125;
      return -1;
    }
  return 0;
}

/* Bind a socket of PROTO to IP:PORT (IP NULL: every address) to see that it is free; with
   PORT 0, *RET_PORT is one the kernel picked.  */
static int
probe_port (const char *ip, int port, const char *proto, int *ret_port, struct husk_error **err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  cleanup_close int fd = -1;
  bool v6 = ip && strchr (ip, ':');
  int type = strcmp (proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM, one = 1;

  memset (&ss, 0, sizeof (ss));
  if (v6)
    {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
      a->sin6_family = AF_INET6;
      a->sin6_port = htons ((uint16_t) port);
      inet_pton (AF_INET6, ip, &a->sin6_addr);
      len = sizeof (*a);
    }
  else
    {
      struct sockaddr_in *a = (struct sockaddr_in *) &ss;
      a->sin_family = AF_INET;
      a->sin_port = htons ((uint16_t) port);
      if (ip)
        inet_pton (AF_INET, ip, &a->sin_addr);
      len = sizeof (*a);
    }
  fd = socket (ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return husk_error_set (err, errno, "port %d/%s: socket", port, proto);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  if (bind (fd, (struct sockaddr *) &ss, len) < 0)
    {
      int e = errno;
      if (e == EACCES && port < 1024)
        return husk_error_set (err, e,
                               "port %d/%s: a host port below 1024 needs root, or a lower "
                               "net.ipv4.ip_unprivileged_port_start",
                               port, proto);
      return husk_error_set (err, e, "port %d/%s: %s:%d", port, proto, ip ? ip : "0.0.0.0", port);
    }
  if (ret_port)
    {
      if (getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
        return husk_error_set (err, errno, "port %d/%s: getsockname", port, proto);
      *ret_port = ntohs (v6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                            : ((struct sockaddr_in *) &ss)->sin_port);
    }
  return 0;
}

/* Its one line in the error: the first of pasta's own lines that says something.  */
static void
pasta_error_line (const char *out, char *line, size_t size)
{
  cleanup_free char *copy = husk_xstrdup (out);
  line[0] = '\0';
  for (char *save = NULL, *l = strtok_r (copy, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      if (husk_str_has_prefix (l, "Failed to send") || strstr (l, "Changing to nobody")
          || husk_str_has_prefix (l, "Don't run as root"))
        continue;
      snprintf (line, size, "%s", l);
      return;
    }
}

/* pasta's -t or -u arguments for the ports of PROTO in PORTS (host ports all picked).  */
/* Whether the user's pasta options (comma-separated) give one of the flags SHORT or LONG.  */
static bool
user_gives (const char *opts, const char *shortf, const char *longf)
{
  cleanup_free char *copy = husk_xstrdup (opts ? opts : "");
  for (char *save = NULL, *o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      size_t l = strlen (longf);
      if ((shortf && strcmp (o, shortf) == 0)
          || (strncmp (o, longf, l) == 0 && (o[l] == '\0' || o[l] == '=')))
        return true;
    }
  return false;
}

static void
pasta_port_args (char ***argv, const struct husk_port *ports, size_t n, const char *proto,
                 bool user_has)
{
  bool any = user_has;
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_port *p = &ports[i];
      cleanup_free char *spec = NULL;
      if (strcmp (p->proto, proto) != 0)
        continue;
      spec = p->host_ip ? husk_strdup_printf ("%s/%d:%d", p->host_ip, p->host_port, p->ctr_port)
                        : husk_strdup_printf ("%d:%d", p->host_port, p->ctr_port);
      husk_strv_append (argv, proto[0] == 't' ? "-t" : "-u");
      husk_strv_append (argv, spec);
      any = true;
    }
  if (!any)
    {
      husk_strv_append (argv, proto[0] == 't' ? "-t" : "-u");
      husk_strv_append (argv, "none");
    }
}

int
husk_pasta_start (char **argv, int nsfd, const char *pidfile, pid_t *ret_pid,
                  struct husk_error **err)
{
  int errpipe[2], status;
  char out[4096], line[512];
  ssize_t got;
  pid_t child, pasta;

  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pasta: pipe");
  child = fork ();
  if (child < 0)
    {
      close (errpipe[0]);
      close (errpipe[1]);
      return husk_error_set (err, errno, "pasta: fork");
    }
  if (child == 0)
    {
      int null = open ("/dev/null", O_RDWR);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGTERM, SIG_DFL);
      signal (SIGINT, SIG_DFL);
      signal (SIGHUP, SIG_DFL);
      signal (SIGPIPE, SIG_DFL);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (errpipe[1], 2) < 0)
        _exit (126);
      if (nsfd >= 0 && dup2 (nsfd, 3) < 0)
        _exit (126);
      execvp ("pasta", argv);
      _exit (errno == ENOENT ? 127 : 126);
    }
  close (errpipe[1]);
  {
    /* pasta configures a namespace in well under a second; one that has not gone to the
       background in PASTA_SETUP_TIMEOUT seconds is killed, and the start fails.  */
    int cfd = (int) syscall (SYS_pidfd_open, child, 0);
    struct pollfd pfd = { .fd = cfd, .events = POLLIN };
    if (cfd >= 0 && poll (&pfd, 1, PASTA_SETUP_TIMEOUT * 1000) == 0)
      {
        kill (child, SIGKILL);
        waitpid (child, NULL, 0);
        close (cfd);
        close (errpipe[0]);
        return husk_error_set (err, ETIMEDOUT, "pasta did not finish its set-up in %d seconds",
                               PASTA_SETUP_TIMEOUT);
      }
    if (cfd >= 0)
      close (cfd);
  }
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      {
        close (errpipe[0]);
        return husk_error_set (err, errno, "pasta: wait");
      }
  /* The daemon pasta leaves behind may hold the pipe: read what is there, never wait.  */
  fcntl (errpipe[0], F_SETFL, O_NONBLOCK);
  got = read (errpipe[0], out, sizeof (out) - 1);
  close (errpipe[0]);
  out[got > 0 ? got : 0] = '\0';
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return husk_error_set (err, ENOENT, "pasta: not found (install passt)");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      pasta_error_line (out, line, sizeof (line));
      return husk_error_set (err, 0, "pasta failed: %s", line[0] ? line : "no message");
    }
  pasta = pidfile_process (pidfile);
  if (pasta <= 0)
    return husk_error_set (err, 0, "pasta started but its pid file names no pasta");
  *ret_pid = pasta;
  return 0;
}

/* The process between husk (the monitor, or husk run in the foreground) and pasta, which
   goes to the background and is no one's child: it starts pasta with ARGV (NSFD as its
   descriptor 3 when not -1), reports on REPORT ("0" once pasta has configured the namespace
   and written PIDFILE; else "1" or "7", pasta not found, then what pasta printed), and then
   lives exactly as long as both its parent PARENT and that pasta: when its parent dies
   (PR_SET_PDEATHSIG: a monitor killed with SIGKILL too) or it gets SIGTERM, it stops pasta;
   when pasta ends, it ends.  pasta itself cannot be told to die with its parent: the
   kernel drops a parent-death signal when a process gives up privileges, as pasta does.  */
static void __attribute__ ((noreturn))
pasta_watcher (char **argv, int nsfd, const char *pidfile, int report, pid_t parent)
{
  struct husk_error *perr = NULL;
  int pidfd = -1, sigfd;
  sigset_t mask;
  pid_t pasta;

  {
    /* Nothing of the caller's stays open here (the container's output pipes above all: the
       monitor waits for their end).  */
    int keep[] = { report, nsfd };
    husk_close_fds_except (keep, nsfd >= 0 ? 2 : 1);
  }
  husk_proc_set_title ("husk-pasta-watcher");
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (1);
  signal (SIGCHLD, SIG_DFL);
  if (husk_pasta_start (argv, nsfd, pidfile, &pasta, &perr) < 0)
    {
      char code = perr->errnum == ENOENT ? '7' : '1';
      if (write (report, &code, 1) == 1 && write (report, perr->msg, strlen (perr->msg)) < 0)
        _exit (1);
      _exit (1);
    }
  pidfd = (int) syscall (SYS_pidfd_open, pasta, 0);
  if (pidfd < 0)
    {
      kill (pasta, SIGTERM);
      _exit (1);
    }
  sigfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (sigfd < 0 || write (report, "0", 1) != 1)
    {
      kill (pasta, SIGTERM);
      _exit (1);
    }
  close (report);
  /* The parent may have died between the fork and the prctl's check, or since.  */
  if (getppid () != parent)
    {
      kill (pasta, SIGTERM);
      _exit (0);
    }
  for (;;)
    {
      struct pollfd fds[2]
          = { { .fd = pidfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (fds[0].revents)
        _exit (0);
      if (fds[1].revents)
        break;
    }
  syscall (SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
  _exit (0);
}

/* Pick C's free host ports (-P's, and the first free one of a host range) and check every
   published host port, before anything binds them; write them to PORTSFILE (net.h) and
   return them in *RET (N_PORTS of them, the strings C's; free the array only).  */
static int
pick_ports (const struct husk_ctr *c, const char *portsfile, struct husk_port **ret,
            struct husk_error **err)
{
  struct husk_port *picked;
  husk_buf ports = HUSK_BUF_INIT;

  *ret = picked = husk_xcalloc (c->n_ports ? c->n_ports : 1, sizeof (*picked));
  for (size_t i = 0; i < c->n_ports; i++)
    {
      picked[i] = c->ports[i];
      if (c->ports[i].host_port_end > c->ports[i].host_port)
        {
          /* A host range: its first free port.  */
          int hp = c->ports[i].host_port;
          for (; hp <= c->ports[i].host_port_end; hp++)
            {
              struct husk_error *perr = NULL;
              bool taken = false;
              for (size_t k = 0; k < i && !taken; k++)
                taken
                    = picked[k].host_port == hp && strcmp (picked[k].proto, c->ports[i].proto) == 0;
              if (!taken
                  && probe_port (c->ports[i].host_ip, hp, c->ports[i].proto, NULL, &perr) == 0)
                break;
              husk_error_free (&perr);
            }
          if (hp > c->ports[i].host_port_end)
            return husk_error_set (err, EADDRINUSE, "port %d/%s: no free host port in %d-%d",
                                   c->ports[i].ctr_port, c->ports[i].proto, c->ports[i].host_port,
                                   c->ports[i].host_port_end);
          picked[i].host_port = hp;
        }
      else if (probe_port (c->ports[i].host_ip, c->ports[i].host_port, c->ports[i].proto,
                           c->ports[i].host_port ? NULL : &picked[i].host_port, err)
               < 0)
        return -1;
      husk_buf_printf (&ports, "%s %d %s %d\n", picked[i].proto, picked[i].ctr_port,
                       picked[i].host_ip ? picked[i].host_ip : "0.0.0.0", picked[i].host_port);
    }
  {
    size_t len;
    const char *data = husk_buf_data (&ports, &len);
    int r = husk_write_file_replace_at (AT_FDCWD, portsfile, data, len, 0600, err);
    husk_buf_clear (&ports);
    if (r < 0)
      return -1;
  }

  return 0;
}

int
husk_net_tun_check (struct husk_error **err)
{
  struct stat st;
  int e;

  if (access ("/dev/net/tun", R_OK | W_OK) == 0)
    return 0;
  e = errno;
  if (stat ("/dev/net/tun", &st) == 0)
    return husk_error_set (err, 0,
                           "/dev/net/tun (mode %04o) cannot be opened by this user: make it "
                           "0666 as Debian ships it (chmod 0666 /dev/net/tun, as root)",
                           (unsigned) (st.st_mode & 07777));
  return husk_error_set (err, e, "/dev/net/tun");
}

int
husk_net_attach (void *arg, pid_t pid, struct husk_error **err)
{
  struct husk_ctr *c = arg;
  cleanup_free char *pidfile = NULL, *portsfile = NULL, *dir = NULL;
  cleanup_strv char **argv = husk_xcalloc (1, sizeof (char *));
  cleanup_free struct husk_port *picked = NULL;
  cleanup_close int nsfd = -1;
  char pidstr[16];
  bool forward = false;

  if (husk_net_tun_check (err) < 0)
    return husk_error_wrap (err, "network pasta");
  if (husk_ctr_run_path (c, "pasta.pid", &pidfile, err) < 0
      || husk_ctr_run_path (c, "ports", &portsfile, err) < 0
      || husk_ctr_run_path (c, NULL, &dir, err) < 0)
    return -1;
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s\"", dir);

  if (pick_ports (c, portsfile, &picked, err) < 0)
    return -1;

  /* The user's pasta options win: husk's "none" for a kind of forwarding, and --quiet, only
     when they give none of their own (pasta refuses "none" beside a port).  */
  husk_strv_append (&argv, "pasta");
  husk_strv_append (&argv, "--config-net");
  if (!user_gives (c->network_value, "-q", "--quiet"))
    husk_strv_append (&argv, "--quiet");
  husk_strv_append (&argv, "--pid");
  husk_strv_append (&argv, pidfile);
  pasta_port_args (&argv, picked, c->n_ports, "tcp",
                   user_gives (c->network_value, "-t", "--tcp-ports"));
  pasta_port_args (&argv, picked, c->n_ports, "udp",
                   user_gives (c->network_value, "-u", "--udp-ports"));
  if (!user_gives (c->network_value, "-T", "--tcp-ns"))
    {
      husk_strv_append (&argv, "-T");
      husk_strv_append (&argv, "none");
    }
  if (!user_gives (c->network_value, "-U", "--udp-ns"))
    {
      husk_strv_append (&argv, "-U");
      husk_strv_append (&argv, "none");
    }
  host_resolv (NULL, true, &forward);
  if (forward && !c->dns)
    {
      husk_strv_append (&argv, "--dns-forward");
      husk_strv_append (&argv, PASTA_DNS);
    }
  if (c->network_value)
    {
      cleanup_free char *opts = husk_xstrdup (c->network_value);
      for (char *save = NULL, *o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
        husk_strv_append (&argv, o);
    }
  if (geteuid () == 0)
    {
      /* As root pasta gives up its privileges before it joins a namespace, and could no
         longer open the container's by /proc/PID: it gets it as its descriptor 3, and stays
         uid 0 (with no capabilities) to use it.  */
      char path[64];
      snprintf (path, sizeof (path), "/proc/%d/ns/net", (int) pid);
      nsfd = open (path, O_RDONLY | O_CLOEXEC);
      if (nsfd < 0)
        return husk_error_set (err, errno, "network pasta: open \"%s\"", path);
      husk_strv_append (&argv, "--runas");
      husk_strv_append (&argv, "0:0");
      husk_strv_append (&argv, "--netns-only");
      husk_strv_append (&argv, "--netns");
      husk_strv_append (&argv, "/proc/self/fd/3");
    }
  else
    {
      snprintf (pidstr, sizeof (pidstr), "%d", (int) pid);
      husk_strv_append (&argv, pidstr);
    }

  if (husk_pasta_start_watched (argv, nsfd, pidfile, NULL, err) < 0)
    return husk_error_wrap (err, "network pasta");
  return 0;
}

int
husk_pasta_start_watched (char **argv, int nsfd, const char *pidfile, pid_t *ret_watcher,
                          struct husk_error **err)
{
  char out[4096];
  int errpipe[2] = { -1, -1 }, status;
  ssize_t got = 0;
  pid_t child;

  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  child = fork ();
  if (child < 0)
    {
      close (errpipe[0]);
      close (errpipe[1]);
      return husk_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      close (errpipe[0]);
      pasta_watcher (argv, nsfd, pidfile, errpipe[1], getppid ());
    }
  close (errpipe[1]);
  /* The watcher writes "0" once pasta is up, else pasta's status and what it printed; and
     nothing at all when it died first.  */
  {
    size_t total = 0;
    while (total < sizeof (out) - 1)
      {
        ssize_t n = read (errpipe[0], out + total, sizeof (out) - 1 - total);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        total += (size_t) n;
        if (out[0] == '0')
          break;
      }
    got = (ssize_t) total;
  }
  close (errpipe[0]);
  out[got > 0 ? got : 0] = '\0';
  if (got > 0 && out[0] == '0')
    {
      if (ret_watcher)
        *ret_watcher = child;
      return 0;
    }
  waitpid (child, &status, 0);
  if (got <= 0)
    return husk_error_set (err, 0, "pasta's watcher ended");
  return husk_error_set (err, out[0] == '7' ? ENOENT : 0, "%s", out + 1);
}

/* "PID START" of FILE, when PID is still that process.  */
static pid_t
pidfile_process (const char *file)
{
  cleanup_free char *buf = NULL;
  size_t len;
  int pid;

  if (husk_read_file_at (AT_FDCWD, file, 64, &buf, &len, NULL) < 0)
    return 0;
  if (sscanf (buf, "%d", &pid) != 1 || pid <= 1)
    return 0;
  {
    /* pasta wrote only its pid: it is ours when it is a pasta (passt's binaries).  */
    char path[64], comm[32] = "";
    cleanup_free char *cbuf = NULL;
    size_t clen;
    snprintf (path, sizeof (path), "/proc/%d/comm", pid);
    if (husk_read_file_at (AT_FDCWD, path, sizeof (comm), &cbuf, &clen, NULL) < 0)
      return 0;
    if (!husk_str_has_prefix (cbuf, "pasta") && !husk_str_has_prefix (cbuf, "passt"))
      return 0;
  }
  return pid;
}

void
husk_net_detach (const struct husk_ctr *c)
{
  cleanup_free char *pidfile = NULL;
  pid_t pid;

  if (husk_ctr_run_path (c, "pasta.pid", &pidfile, NULL) < 0)
    return;
  pid = pidfile_process (pidfile);
  if (pid > 0)
    kill (pid, SIGTERM);
  {
    /* A user network's port forwarder: "PID START", while it is that process.  */
    cleanup_free char *fwdfile = NULL, *buf = NULL;
    size_t len;
    int fpid;
    uint64_t start;
    if (husk_ctr_run_path (c, "portfwd.pid", &fwdfile, NULL) == 0
        && husk_read_file_at (AT_FDCWD, fwdfile, 64, &buf, &len, NULL) == 0
        && sscanf (buf, "%d %" SCNu64, &fpid, &start) == 2 && fpid > 1
        && husk_proc_alive (fpid, start))
      kill (fpid, SIGTERM);
  }
}

void
husk_net_ports_running (const struct husk_ctr *c, struct husk_port **ret, size_t *ret_n)
{
  cleanup_free char *file = NULL, *buf = NULL;
  size_t len;

  *ret = NULL;
  *ret_n = 0;
  if (c->status != HUSK_CTR_RUNNING || husk_ctr_run_path (c, "ports", &file, NULL) < 0
      || husk_read_file_at (AT_FDCWD, file, 1 << 20, &buf, &len, NULL) < 0)
    return;
  for (char *save = NULL, *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      char proto[8], ip[64];
      int cp, hp;
      struct husk_port *p;
      if (sscanf (l, "%7s %d %63s %d", proto, &cp, ip, &hp) != 4)
        continue;
      *ret = husk_xrealloc (*ret, (*ret_n + 1) * sizeof (**ret));
      p = &(*ret)[(*ret_n)++];
      memset (p, 0, sizeof (*p));
      p->proto = husk_xstrdup (proto);
      p->ctr_port = cp;
      p->host_port = hp;
      p->host_ip = strcmp (ip, "0.0.0.0") == 0 ? NULL : husk_xstrdup (ip);
    }
}
