/* Times as husk writes them in records and logs.  */
#ifndef HUSK_TIMESTAMP_H
#define HUSK_TIMESTAMP_H

#include <stddef.h>

/* Now as RFC 3339 UTC with nanoseconds.  */
void husk_now_rfc3339 (char *buf, size_t size);

#endif
