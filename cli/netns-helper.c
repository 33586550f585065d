/* husk-full __netns: the namespace side of user networks (engine/netattach.h).  */
#include "config.h"

#include "commands.h"
#include "netattach.h"
#include "banned.h"

int
husk_cmd_netns_helper (int argc, char **argv)
{
  return husk_netattach_main (argc, argv);
}
