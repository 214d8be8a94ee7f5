// A raw ICMP or ICMPv6 socket for Node.js (which has none): open in the current network namespace,
// send a datagram to an address, and receive datagrams with their source address on the event loop.
// Echo requests and replies are built and checked in TypeScript; this file only does what JavaScript
// cannot. Ours rather than the npm package raw-socket: that one is built on NAN, pins a version that
// does not compile on Node 24, and its socket keeps the event loop alive with no way to unref it.

#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../native/polled_socket.h"

// An echo reply of ours is 16 bytes after an IPv4 header of at most 60; anything that does not fit
// is not ours, and arrives cut to this size (TypeScript sees the length it claims and drops it).
#define DATAGRAM_SIZE 256
// Datagrams handed to JavaScript per readiness event: a flood waits in the (bounded) socket buffer
// instead of holding the event loop.
#define MAX_DATAGRAMS_PER_WAKEUP 64

static int drain(polled_socket *sock, int *pending_error);
static const socket_kind icmp_kind = {"ICMP socket", drain};

static int source_text(const struct sockaddr_storage *from, char *text, size_t size) {
  if (from->ss_family == AF_INET)
    return inet_ntop(AF_INET, &((const struct sockaddr_in *)from)->sin_addr, text, size) != NULL;
  if (from->ss_family == AF_INET6)
    return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)from)->sin6_addr, text, size) != NULL;
  return 0;
}

// Hands each waiting datagram (up to a bound) to JavaScript as onData(undefined, source, datagram).
static int drain(polled_socket *sock, int *pending_error) {
  napi_env env = sock->env;
  int read_any = 0;
  for (int i = 0; i < MAX_DATAGRAMS_PER_WAKEUP && !sock->closed; i++) {
    char datagram[DATAGRAM_SIZE];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(sock->fd, datagram, sizeof datagram, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *pending_error = errno;
      break;
    }
    read_any = 1;
    char text[INET6_ADDRSTRLEN];
    if (!source_text(&from, text, sizeof text)) continue;
    napi_value argv[3];
    void *copy;
    napi_get_undefined(env, &argv[0]);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_buffer_copy(env, (size_t)n, datagram, &copy, &argv[2]);
    polled_deliver(sock, 3, argv);
  }
  return read_any;
}

// Only echo replies reach the socket: everything else ICMP that the host receives is filtered out by
// the kernel instead of being copied to us.
static int pass_echo_replies_only(int fd, int family) {
  if (family == AF_INET) {
    struct icmp_filter filter = {.data = ~(1U << ICMP_ECHOREPLY)};
    return setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
  }
  struct icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
  return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
}

// open(ipVersion: 4 | 6) -> handle. Needs CAP_NET_RAW.
static napi_value icmp_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t version = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &version) != napi_ok || (version != 4 && version != 6)) {
    napi_throw_type_error(env, NULL, "open(ipVersion) takes 4 or 6");
    return NULL;
  }
  int family = version == 4 ? AF_INET : AF_INET6;
  // The kernel fills in the ICMPv6 checksum (it needs the source address) and checks it on receipt.
  int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0) return throw_errno(env, version == 4 ? "ICMP socket" : "ICMPv6 socket", errno);
  if (pass_echo_replies_only(fd, family) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ICMP filter", err);
  }
  return polled_wrap(env, &icmp_kind, fd);
}

// send(handle, address, datagram) -> bytes sent; throws with .errno (e.g. ENETUNREACH, EPERM from a firewall).
static napi_value icmp_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  polled_socket *sock = polled_unwrap(env, argv[0], &icmp_kind);
  if (sock == NULL) return NULL;
  char text[INET6_ADDRSTRLEN] = {0};
  void *data;
  size_t length;
  if (napi_get_value_string_utf8(env, argv[1], text, sizeof text, NULL) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(handle, address, datagram) takes an address string and a Buffer");
    return NULL;
  }
  struct sockaddr_storage to;
  memset(&to, 0, sizeof to);
  socklen_t to_len;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&to;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&to;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    to_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    to_len = sizeof *v6;
  } else {
    napi_throw_type_error(env, NULL, "send: the address is not an IPv4 or IPv6 address");
    return NULL;
  }
  return polled_sendto(env, sock, data, length, (struct sockaddr *)&to, to_len, "ICMP send");
}

static napi_value init(napi_env env, napi_value exports) {
  return polled_exports(env, exports, &icmp_kind, icmp_open, icmp_send);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
