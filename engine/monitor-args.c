/* The monitor's command line: see monitor-args.h.  */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "monitor-args.h"
#include "util.h"
#include "banned.h"

enum arg_type
{
  ARG_STRING, /* const char *, non-empty.  */
  ARG_BOOL,   /* bool: the key alone, no value.  */
  ARG_PID,    /* pid_t, 1 or more.  */
  ARG_FD,     /* int, -1 or more.  */
  ARG_CLIENT, /* The next of clients[]: "FD" or "FD:FLAGS"; repeated.  */
};

struct arg
{
  const char *key;
  enum arg_type type;
  size_t offset;
  bool required;
};

#define F(member) offsetof (struct husk_monitor_args, member)
/* In the order they are written, after STORE, ID and --protocol.  */
static const struct arg args_table[] = {
  { "--name", ARG_STRING, F (name), false },
  { "--started-at", ARG_STRING, F (started_at), false },
  { "--rm", ARG_BOOL, F (auto_remove), false },
  { "--tty", ARG_BOOL, F (tty), false },
  { "--idmap", ARG_BOOL, F (idmap), false },
  { "--pid", ARG_PID, F (pid), true },
  { "--dir-fd", ARG_FD, F (dir_fd), true },
  { "--listen-fd", ARG_FD, F (listen_fd), true },
  { "--out-fd", ARG_FD, F (out_fd), false },
  { "--err-fd", ARG_FD, F (err_fd), false },
  { "--in-fd", ARG_FD, F (in_fd), false },
  { "--userns-fd", ARG_FD, F (userns_fd), false },
  { "--client", ARG_CLIENT, F (clients), false },
};
#undef F
#define N_ARGS (sizeof (args_table) / sizeof (args_table[0]))

#define PROTOCOL_KEY "--protocol"

void
husk_monitor_args_init (struct husk_monitor_args *args)
{
  memset (args, 0, sizeof (*args));
  args->dir_fd = args->listen_fd = args->out_fd = args->err_fd = args->in_fd = args->userns_fd = -1;
}

/* Append KEY and VALUE (allocated; freed here) to *V.  */
static void
push (char ***v, const char *key, char *value)
{
  husk_strv_append (v, key);
  husk_strv_append (v, value);
  free (value);
}

char **
husk_monitor_args_encode (const struct husk_monitor_args *args)
{
  char **argv = NULL;

  husk_strv_append (&argv, "husk-monitor");
  husk_strv_append (&argv, HUSK_MONITOR_ARG);
  husk_strv_append (&argv, args->store);
  husk_strv_append (&argv, args->id);
  push (&argv, PROTOCOL_KEY, husk_strdup_printf ("%d", HUSK_MONITOR_PROTOCOL));
  for (size_t i = 0; i < N_ARGS; i++)
    {
      const struct arg *a = &args_table[i];
      const void *p = (const char *) args + a->offset;

      switch (a->type)
        {
        case ARG_STRING:
          if (*(const char *const *) p)
            push (&argv, a->key, husk_xstrdup (*(const char *const *) p));
          break;
        case ARG_BOOL:
          if (*(const bool *) p)
            husk_strv_append (&argv, a->key);
          break;
        case ARG_PID:
          push (&argv, a->key, husk_strdup_printf ("%d", (int) *(const pid_t *) p));
          break;
        case ARG_FD:
          push (&argv, a->key, husk_strdup_printf ("%d", *(const int *) p));
          break;
        case ARG_CLIENT:
          for (size_t k = 0; k < args->n_clients && k < HUSK_MONITOR_MAX_CLIENTS; k++)
            {
              const struct husk_monitor_client *c = &args->clients[k];
              push (&argv, a->key,
                    c->hello ? husk_strdup_printf ("%d:%u", c->fd, c->flags)
                             : husk_strdup_printf ("%d", c->fd));
            }
          break;
        }
    }
  return argv;
}

/* S as a whole decimal number from MIN (-1 or more) to INT_MAX.  */
static bool
parse_int (const char *s, int min, int *ret)
{
  uint64_t v;

  if (min < 0 && strcmp (s, "-1") == 0)
    {
      *ret = -1;
      return true;
    }
  if (husk_parse_u64 (s, INT_MAX, &v) < 0 || (int64_t) v < min)
    return false;
  *ret = (int) v;
  return true;
}

static bool
is_id (const char *s)
{
  if (strlen (s) != 64)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static int
parse_client (const char *key, const char *value, struct husk_monitor_args *ret,
              struct husk_error **err)
{
  struct husk_monitor_client c = { .fd = -1 };
  cleanup_free char *fd = husk_xstrdup (value);
  char *colon = strchr (fd, ':');
  uint64_t flags;

  if (ret->n_clients == HUSK_MONITOR_MAX_CLIENTS)
    return husk_error_set (err, 0, "monitor: more than %d %s", HUSK_MONITOR_MAX_CLIENTS, key);
  if (colon)
    {
      *colon = '\0';
      if (husk_parse_u64 (colon + 1, UINT32_MAX, &flags) < 0)
        return husk_error_set (err, 0, "monitor: %s \"%s\": the flags are not a number", key,
                               value);
      c.hello = true;
      c.flags = (unsigned) flags;
    }
  if (!parse_int (fd, 0, &c.fd))
    return husk_error_set (err, 0, "monitor: %s \"%s\": not a descriptor", key, value);
  ret->clients[ret->n_clients++] = c;
  return 0;
}

/* The argument at ARGV[*I] (and its value at ARGV[*I + 1], *I then moved onto it) into *RET;
   SEEN marks the table's keys already given.  */
static int
parse_one (int argc, char *const *argv, int *i, bool seen[N_ARGS], struct husk_monitor_args *ret,
           struct husk_error **err)
{
  const char *key = argv[*i], *value = NULL;
  const struct arg *a = NULL;
  size_t k;
  void *p;

  for (k = 0; k < N_ARGS; k++)
    if (strcmp (key, args_table[k].key) == 0)
      {
        a = &args_table[k];
        break;
      }
  if (a == NULL)
    return husk_error_set (err, 0, "monitor: unknown argument \"%s\"", key);
  if (seen[k] && a->type != ARG_CLIENT)
    return husk_error_set (err, 0, "monitor: %s given twice", key);
  seen[k] = true;
  if (a->type != ARG_BOOL)
    {
      if (*i + 1 >= argc)
        return husk_error_set (err, 0, "monitor: %s: a value is missing", key);
      value = argv[++*i];
    }
  p = (char *) ret + a->offset;
  switch (a->type)
    {
    case ARG_STRING:
      if (*value == '\0')
        return husk_error_set (err, 0, "monitor: %s: empty", key);
      *(const char **) p = value;
      break;
    case ARG_BOOL:
      *(bool *) p = true;
      break;
    case ARG_PID:
      {
        int v;
        if (!parse_int (value, 1, &v))
          return husk_error_set (err, 0, "monitor: %s \"%s\": not a process id", key, value);
        *(pid_t *) p = (pid_t) v;
      }
      break;
    case ARG_FD:
      if (!parse_int (value, -1, (int *) p))
        return husk_error_set (err, 0, "monitor: %s \"%s\": not a descriptor", key, value);
      break;
    case ARG_CLIENT:
      return parse_client (key, value, ret, err);
    }
  return 0;
}

int
husk_monitor_args_decode (int argc, char *const *argv, struct husk_monitor_args *ret,
                          struct husk_error **err)
{
  struct husk_monitor_args a;
  bool seen[N_ARGS] = { false };
  uint64_t version;

  husk_monitor_args_init (&a);
  if (argc < 2 || strcmp (argv[1], HUSK_MONITOR_ARG) != 0)
    return husk_error_set (err, 0, "monitor: not a monitor's command line");
  /* The version first: nothing else is read from a command line of another version.  */
  if (argc < 6 || strcmp (argv[4], PROTOCOL_KEY) != 0)
    return husk_error_set (
        err, 0, "monitor: no protocol version (" PROTOCOL_KEY " N after the store and the ID)");
  if (husk_parse_u64 (argv[5], UINT32_MAX, &version) < 0)
    return husk_error_set (err, 0, "monitor: " PROTOCOL_KEY " \"%s\": not a number", argv[5]);
  if (version != HUSK_MONITOR_PROTOCOL)
    return husk_error_set (err, 0, "monitor: protocol version %s, this husk speaks version %d",
                           argv[5], HUSK_MONITOR_PROTOCOL);
  if (argv[2][0] != '/')
    return husk_error_set (err, 0, "monitor: store \"%s\": not an absolute path", argv[2]);
  if (!is_id (argv[3]))
    return husk_error_set (err, 0, "monitor: \"%s\": not a container ID", argv[3]);
  a.store = argv[2];
  a.id = argv[3];
  for (int i = 6; i < argc; i++)
    if (parse_one (argc, argv, &i, seen, &a, err) < 0)
      return -1;
  for (size_t k = 0; k < N_ARGS; k++)
    if (args_table[k].required && !seen[k])
      return husk_error_set (err, 0, "monitor: %s is missing", args_table[k].key);
  *ret = a;
  return 0;
}
