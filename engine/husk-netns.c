/* husk-netns: the namespace side of user networks, which husk runs (engine/netattach.h).  Not
   a user's command.  */
#include "config.h"

#include "netattach.h"
#include "banned.h"

int
main (int argc, char **argv)
{
  return husk_netattach_main (argc, argv);
}
