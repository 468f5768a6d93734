/* httpd: the pieces every libmicrohttpd server here shares (admin port,
 * publisher, ingress-auth): numeric bind addresses, the port actually bound,
 * and libmicrohttpd's error log routed into the JSON log. */
#ifndef COMMON_HTTPD_H
#define COMMON_HTTPD_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

union httpd_addr {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
};

/* Fills *out from a numeric IPv4 or IPv6 address and a port (0 = any free
 * port); *is_v6 tells whether MHD_USE_IPv6 is needed. 0, or -1 when `ip` is
 * not a numeric address (host names are refused: no DNS at start-up). */
int httpd_addr_parse(const char *ip, uint16_t port, union httpd_addr *out, int *is_v6);

/* The port a started daemon listens on: from libmicrohttpd, else from its
 * listening socket; 0 if neither answers. */
uint16_t httpd_bound_port(struct MHD_Daemon *daemon);

/* An MHD_OPTION_EXTERNAL_LOGGER callback: logs libmicrohttpd's message as a
 * warning, on one line, prefixed by `cls` (a const char * naming the server,
 * e.g. "http server"). */
void httpd_log_warn(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
