#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "network.h"
#include "banned.h"

/* SIOCSIFFLAGS, not netlink: one socket and two ioctls, and no library.  */
int
husk_network_lo_up (struct husk_error **err)
{
  cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;

  if (fd < 0)
    return husk_error_set (err, errno, "network: socket");
  memset (&ifr, 0, sizeof (ifr));
  memcpy (ifr.ifr_name, "lo", 3);
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return husk_error_set (err, errno, "network: flags of \"lo\"");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return husk_error_set (err, errno, "network: bring \"lo\" up");
  return 0;
}
