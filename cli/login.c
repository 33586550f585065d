#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "commands.h"
#include "registry.h"
#include "util.h"
#include "banned.h"

static bool
valid_registry (const char *s)
{
  if (*s == '\0')
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || strchr (".-:[]_", *p)))
      return false;
  return true;
}

/* One line from F without its newline; NULL at EOF.  */
static char *
read_line (FILE *f)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, f);

  if (n < 0)
    {
      free (line);
      return NULL;
    }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

static char *
prompt (const char *what, bool hide)
{
  struct termios old, quiet;
  bool restore = false;
  char *line;

  fprintf (stderr, "%s: ", what);
  fflush (stderr);
  if (hide && tcgetattr (STDIN_FILENO, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      restore = tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  line = read_line (stdin);
  if (restore)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      fputc ('\n', stderr);
    }
  return line;
}

enum
{
  OPT_PASSWORD_STDIN = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_TLS_VERIFY,
};

static const struct husk_cli_option login_options[] = {
  { "username", 'u', HUSK_CLI_ARG_REQUIRED, "USER",
    "the user name (asked for on a terminal when missing)" },
  { "password", 'p', HUSK_CLI_ARG_REQUIRED, "PASS",
    "the password (visible to other users: prefer the next)" },
  { "password-stdin", OPT_PASSWORD_STDIN, HUSK_CLI_ARG_NONE, NULL,
    "read the password from standard input" },
  { "tls-verify", OPT_TLS_VERIFY, HUSK_CLI_ARG_OPTIONAL, "true|false",
    "false: do not verify the registry's certificate (and allow HTTP)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command login_command = {
  "login",
  "[OPTIONS] REGISTRY",
  "Check credentials with REGISTRY and store them for husk pull.",
  login_options,
  NULL,
  { 1, 1, "expects exactly one registry" },
};

int
husk_cmd_login (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *user = NULL;
  cleanup_free char *pass = NULL;
  cleanup_free char *name = NULL;
  bool from_stdin = false, tls_verify = true;
  int c, first;

  (void) g;
  optind = 1;
  while ((c = husk_cli_next_option (&login_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'u':
        free (user);
        user = husk_xstrdup (optarg);
        break;
      case 'p':
        free (pass);
        pass = husk_xstrdup (optarg);
        break;
      case OPT_PASSWORD_STDIN:
        from_stdin = true;
        break;
      case OPT_TLS_VERIFY:
        if (husk_cli_tls_verify ("login", optarg, &tls_verify, err) < 0)
          return -1;
        break;
      }
  if ((first = husk_cli_operands (&login_command, c, argc, err)) <= 0)
    return first;
  if (pass && from_stdin)
    return husk_cli_usage_error (err, "login",
                                 "--password and --password-stdin exclude each other");
  name = husk_auth_registry_name (argv[first]);
  if (!valid_registry (name))
    return husk_cli_usage_error (err, "login", "invalid registry \"%s\"", argv[first]);
  if (user == NULL)
    {
      if (!isatty (STDIN_FILENO) || from_stdin)
        return husk_cli_usage_error (err, "login", "no user name given (-u)");
      user = prompt ("Username", false);
    }
  if (pass == NULL)
    {
      if (from_stdin || !isatty (STDIN_FILENO))
        pass = read_line (stdin);
      else
        pass = prompt ("Password", true);
    }
  if (user == NULL || *user == '\0')
    return husk_error_set (err, 0, "login \"%s\": empty user name", name);
  if (pass == NULL || *pass == '\0')
    return husk_error_set (err, 0, "login \"%s\": empty password", name);
  if (strchr (user, ':'))
    return husk_error_set (err, 0, "login \"%s\": user name \"%s\" holds a colon", name, user);

  reg = husk_registry_new (name, tls_verify, HUSK_REGISTRY_PULL, err);
  if (reg == NULL)
    return husk_error_wrap (err, "login \"%s\"", name);
  husk_registry_set_credentials (reg, user, pass);
  if (husk_registry_ping (reg, err) < 0)
    return husk_error_wrap (err, "login \"%s\"", name);
  if (husk_auth_store (name, user, pass, err) < 0)
    return husk_error_wrap (err, "login \"%s\"", name);
  explicit_bzero (pass, strlen (pass));
  printf ("Login Succeeded\n");
  return 0;
}
