/* Networking inside the container's network namespace.  */
#ifndef HUSK_NETWORK_H
#define HUSK_NETWORK_H

#include "error.h"

/* Bring the loopback interface of the current network namespace up.  */
int husk_network_lo_up (struct husk_error **err);

#endif
