/* The container log writer (TEMPORARY minimal version; the logs branch brings the real one).  */
#ifndef HUSK_LOGFILE_H
#define HUSK_LOGFILE_H

#include <stddef.h>

#include "error.h"

struct husk_logw;

int husk_logw_open (const char *path, struct husk_logw **ret, struct husk_error **err);
int husk_logw_write (struct husk_logw *w, int stream, const char *buf, size_t len,
                     struct husk_error **err);
int husk_logw_flush (struct husk_logw *w, struct husk_error **err);
void husk_logw_close (struct husk_logw *w);

#endif
