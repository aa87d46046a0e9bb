/* lib/metricshttp.h: the /metrics endpoint of a registry, over libmicrohttpd. */
#ifndef ONYX_METRICSHTTP_H
#define ONYX_METRICSHTTP_H

#include <stddef.h>

#include "conf.h"
#include "metrics.h"

struct onyx_metrics_http;

/*
 * onyx_metrics_http_start: listen on addr, HOST:PORT ([HOST]:PORT for an
 * IPv6 address; an empty HOST: every IPv4 address; PORT 0: a free port), and
 * serve GET (or HEAD) /metrics, the text of onyx_metrics_render(m) after
 * onyx_metrics_expire(m, onyx_mono_ms()), on a thread of its own; any other
 * path is 404, another method 405. m is borrowed: it must outlive the
 * server. what names the setting in messages ("--metrics"). Logs "metrics
 * on http://HOST:PORT/metrics" at info level. Returns ONYX_OK with *out
 * set (stop with onyx_metrics_http_stop), ONYX_ECONFIG when addr is not
 * HOST:PORT or HOST does not resolve, ONYX_EUNAVAIL when it cannot listen
 * there (the port in use), ONYX_ERR; err names what and addr.
 */
int onyx_metrics_http_start(struct onyx_metrics *m, const char *addr,
    const char *what, struct onyx_metrics_http **out, char *err, size_t errlen);

/*
 * onyx_metrics_http_open: for a program: when c->metrics is set, a new
 * registry into *m and its server on c->metrics (onyx_metrics_http_start,
 * what "--metrics") into *h; else both NULL. Returns as
 * onyx_metrics_http_start; nothing is left on error.
 */
int onyx_metrics_http_open(const struct onyx_conf *c, struct onyx_metrics **m,
    struct onyx_metrics_http **h, char *err, size_t errlen);

/* onyx_metrics_http_close: stop h, then free m. NULL is fine for each. */
void
onyx_metrics_http_close(struct onyx_metrics *m, struct onyx_metrics_http *h);

/*
 * onyx_metrics_http_addr: the address listened on, HOST:PORT with the port
 * chosen (valid until onyx_metrics_http_stop).
 */
const char *onyx_metrics_http_addr(const struct onyx_metrics_http *h);

/*
 * onyx_metrics_http_stop: close the listening socket and the connections,
 * join the server's thread, free h. NULL is fine.
 */
void onyx_metrics_http_stop(struct onyx_metrics_http *h);

#endif
