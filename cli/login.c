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

static void
login_usage (void)
{
  printf ("Usage: husk login [OPTIONS] REGISTRY\n\n"
          "Check credentials with REGISTRY and store them for husk pull.\n\n"
          "Options:\n"
          "  -u, --username USER    the user name (asked for on a terminal when missing)\n"
          "  -p, --password PASS    the password (visible to other users: prefer the next)\n"
          "      --password-stdin   read the password from standard input\n"
          "      --tls-verify=false do not verify the registry's certificate (and allow HTTP)\n"
          "  -h, --help             show this help\n");
}

int
husk_cmd_login (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = {
    { "username", required_argument, NULL, 'u' }, { "password", required_argument, NULL, 'p' },
    { "password-stdin", no_argument, NULL, 'S' }, { "tls-verify", optional_argument, NULL, 'T' },
    { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
  };
  cleanup_registry struct husk_registry *reg = NULL;
  cleanup_free char *user = NULL;
  cleanup_free char *pass = NULL;
  cleanup_free char *name = NULL;
  bool from_stdin = false, tls_verify = true;
  int c;

  (void) g;
  optind = 1;
  while ((c = husk_cli_getopt ("login", argc, argv, "+u:p:h", opts, err)) != -1)
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
      case 'S':
        from_stdin = true;
        break;
      case 'T':
        if (optarg == NULL || strcmp (optarg, "true") == 0)
          tls_verify = true;
        else if (strcmp (optarg, "false") == 0)
          tls_verify = false;
        else
          return husk_cli_usage_error (err, "login", "--tls-verify takes true or false, not \"%s\"",
                                       optarg);
        break;
      case 'h':
        login_usage ();
        return 0;
      default:
        return -1;
      }
  if (argc - optind != 1)
    return husk_cli_usage_error (err, "login", "expects exactly one registry");
  if (pass && from_stdin)
    return husk_cli_usage_error (err, "login",
                                 "--password and --password-stdin exclude each other");
  name = husk_auth_registry_name (argv[optind]);
  if (!valid_registry (name))
    return husk_cli_usage_error (err, "login", "invalid registry \"%s\"", argv[optind]);
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
