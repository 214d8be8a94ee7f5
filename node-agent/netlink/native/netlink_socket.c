// A netlink socket for Node.js: open (optionally inside another network namespace), send, and
// receive on the event loop. Everything above the raw datagrams (headers, attributes, sequence
// numbers, flow control) lives in TypeScript; this file only does what JavaScript cannot.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../native/netns.h"
#include "../../native/polled_socket.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

// The kernel caps a netlink datagram (a dump part) at 32 KiB; MSG_TRUNC catches anything bigger.
#define DATAGRAM_SIZE 32768
// Datagrams read per recvmmsg(2): acks arrive one per datagram, so reading them in bulk matters.
#define DATAGRAMS_PER_READ 64
// Datagrams handed to JavaScript per readiness event: bounds one callback's work and memory.
#define MAX_DATAGRAMS_PER_WAKEUP 4096

static int drain(polled_socket *sock, int *pending_error);
static const socket_kind netlink_kind = {"netlink socket", drain};

static char recv_buffers[DATAGRAMS_PER_READ][DATAGRAM_SIZE];
static struct iovec recv_iov[DATAGRAMS_PER_READ];
static struct mmsghdr recv_msgs[DATAGRAMS_PER_READ];

// Reads every datagram waiting (up to a bound) and hands them to JavaScript as one buffer of
// back-to-back netlink messages; messages are self-delimiting, so concatenation loses nothing.
static int drain(polled_socket *sock, int *pending_error) {
  size_t capacity = 0, used = 0;
  char *chunk = NULL;
  for (int total = 0; total < MAX_DATAGRAMS_PER_WAKEUP && !sock->closed && !*pending_error;) {
    for (int i = 0; i < DATAGRAMS_PER_READ; i++) {
      recv_iov[i].iov_base = recv_buffers[i];
      recv_iov[i].iov_len = DATAGRAM_SIZE;
      memset(&recv_msgs[i].msg_hdr, 0, sizeof recv_msgs[i].msg_hdr);
      recv_msgs[i].msg_hdr.msg_iov = &recv_iov[i];
      recv_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(sock->fd, recv_msgs, DATAGRAMS_PER_READ, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *pending_error = errno;
      break;
    }
    size_t batch = 0;
    for (int i = 0; i < n; i++) {
      if (recv_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) *pending_error = EMSGSIZE;
      batch += recv_msgs[i].msg_len;
    }
    if (used + batch > capacity) {
      size_t next = capacity ? capacity * 2 : 65536;
      while (next < used + batch) next *= 2;
      char *grown = realloc(chunk, next);
      if (grown == NULL) {
        *pending_error = ENOMEM;
        break;
      }
      chunk = grown;
      capacity = next;
    }
    for (int i = 0; i < n; i++) {
      memcpy(chunk + used, recv_buffers[i], recv_msgs[i].msg_len);
      used += recv_msgs[i].msg_len;
    }
    total += n;
    if (n < DATAGRAMS_PER_READ) break;
  }

  if (used > 0) {
    napi_env env = sock->env;
    napi_value argv[2];
    void *copy;
    napi_get_undefined(env, &argv[0]);
    napi_create_buffer_copy(env, used, chunk, &copy, &argv[1]);
    polled_deliver(sock, 2, argv);
  }
  free(chunk);
  return used > 0;
}

// open(protocol, groups: number[], rcvbufBytes, netnsPath | null) -> { handle, portId }
static napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "open(protocol, groups, rcvbuf, netns) needs 4 arguments");
    return NULL;
  }
  int32_t protocol, rcvbuf;
  napi_get_value_int32(env, argv[0], &protocol);
  napi_get_value_int32(env, argv[2], &rcvbuf);

  char netns[4096] = {0};
  napi_valuetype ns_type;
  napi_typeof(env, argv[3], &ns_type);
  if (ns_type == napi_string) napi_get_value_string_utf8(env, argv[3], netns, sizeof netns, NULL);

  int saved_ns = -1;
  if (netns[0]) {
    int err = enter_netns(netns, &saved_ns);
    if (err) return throw_errno(env, "entering network namespace", err);
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  int socket_err = errno;
  if (saved_ns >= 0) leave_netns(saved_ns, "netlink_socket");
  if (fd < 0) return throw_errno(env, "netlink socket", socket_err);

  int one = 1;
  // Root may exceed rmem_max; otherwise fall back to the ordinary limit.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  // Strict checking makes the kernel honour dump filters (e.g. one device's FDB) instead of ignoring them.
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);

  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "netlink bind", err);
  }

  uint32_t group_count = 0;
  napi_get_array_length(env, argv[1], &group_count);
  for (uint32_t i = 0; i < group_count; i++) {
    napi_value element;
    int32_t group;
    napi_get_element(env, argv[1], i, &element);
    napi_get_value_int32(env, element, &group);
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "netlink join group", err);
    }
  }

  struct sockaddr_nl bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);

  napi_value handle = polled_wrap(env, &netlink_kind, fd);
  if (handle == NULL) return NULL;
  napi_value result, port;
  napi_create_object(env, &result);
  napi_create_uint32(env, bound.nl_pid, &port);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "portId", port);
  return result;
}

// send(handle, buffer) -> bytes sent; throws with .errno (EAGAIN means retry later).
static napi_value nl_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  polled_socket *sock = polled_unwrap(env, argv[0], &netlink_kind);
  if (sock == NULL) return NULL;
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "send expects a Buffer");
    return NULL;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  return polled_sendto(env, sock, data, length, (struct sockaddr *)&kernel, sizeof kernel, "netlink send");
}

static napi_value init(napi_env env, napi_value exports) {
  return polled_exports(env, exports, &netlink_kind, nl_open, nl_send);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
