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

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

// The kernel caps a netlink datagram (a dump part) at 32 KiB; MSG_TRUNC catches anything bigger.
#define DATAGRAM_SIZE 32768
// Datagrams read per recvmmsg(2): acks arrive one per datagram, so reading them in bulk matters.
#define DATAGRAMS_PER_READ 64
// Datagrams handed to JavaScript per readiness event: bounds one callback's work and memory.
#define MAX_DATAGRAMS_PER_WAKEUP 4096

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t poll;
  napi_ref on_data;
  napi_async_context async_context;
  int polling;
  int closed;
} nl_socket;

static char recv_buffers[DATAGRAMS_PER_READ][DATAGRAM_SIZE];
static struct iovec recv_iov[DATAGRAMS_PER_READ];
static struct mmsghdr recv_msgs[DATAGRAMS_PER_READ];

static napi_value errno_error(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, code_value, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &code_value);
  napi_set_named_property(env, error, "errno", code_value);
  return error;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  napi_throw(env, errno_error(env, what, err));
  return NULL;
}

static nl_socket *unwrap(napi_env env, napi_value value) {
  nl_socket *sock = NULL;
  if (napi_get_value_external(env, value, (void **)&sock) != napi_ok || sock == NULL) {
    napi_throw_type_error(env, NULL, "expected a netlink socket handle");
    return NULL;
  }
  if (sock->closed) {
    napi_throw_error(env, "ECLOSED", "netlink socket is closed");
    return NULL;
  }
  return sock;
}

static void deliver(nl_socket *sock, napi_value error, napi_value data) {
  napi_env env = sock->env;
  napi_value callback, undefined, receiver, result;
  napi_get_reference_value(env, sock->on_data, &callback);
  napi_get_undefined(env, &undefined);
  // make_callback needs an object as `this`.
  napi_get_global(env, &receiver);
  napi_value argv[2] = {error ? error : undefined, data ? data : undefined};
  // make_callback drains the microtask queue, so promises settled by the handler run promptly.
  if (napi_make_callback(env, sock->async_context, receiver, callback, 2, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
}

// Reads every datagram waiting (up to a bound) and hands them to JavaScript as one buffer of
// back-to-back netlink messages; messages are self-delimiting, so concatenation loses nothing.
static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  nl_socket *sock = (nl_socket *)handle->data;
  if (sock->closed) return;
  napi_env env = sock->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  // libuv reports EPOLLERR as UV_EBADF and stops polling. On a netlink socket that error is a
  // pending socket error (ENOBUFS): reading below consumes it, and then polling resumes.
  int poll_failed = status < 0;

  size_t capacity = 0, used = 0;
  char *chunk = NULL;
  int pending_error = 0;
  for (int total = 0; total < MAX_DATAGRAMS_PER_WAKEUP && !sock->closed && !pending_error;) {
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
      if (errno != EAGAIN && errno != EWOULDBLOCK) pending_error = errno;
      break;
    }
    size_t batch = 0;
    for (int i = 0; i < n; i++) {
      if (recv_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) pending_error = EMSGSIZE;
      batch += recv_msgs[i].msg_len;
    }
    if (used + batch > capacity) {
      size_t next = capacity ? capacity * 2 : 65536;
      while (next < used + batch) next *= 2;
      char *grown = realloc(chunk, next);
      if (grown == NULL) {
        pending_error = ENOMEM;
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
    napi_value data;
    void *copy;
    napi_create_buffer_copy(env, used, chunk, &copy, &data);
    deliver(sock, NULL, data);
  }
  free(chunk);
  if (poll_failed && !sock->closed) {
    if (used == 0 && pending_error == 0) deliver(sock, errno_error(env, "netlink poll (socket no longer polled)", -status), NULL);
    else uv_poll_start(&sock->poll, UV_READABLE, on_readable);
  }
  // ENOBUFS means the kernel dropped messages for us: reported, never fatal, the socket stays usable.
  if (pending_error && !sock->closed) deliver(sock, errno_error(env, "netlink recv", pending_error), NULL);
  napi_close_handle_scope(env, scope);
}

static int enter_netns(const char *path, int *saved) {
  *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*saved < 0) return errno;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(*saved);
    return err;
  }
  int rc = setns(target, CLONE_NEWNET);
  int err = errno;
  close(target);
  if (rc < 0) {
    close(*saved);
    return err;
  }
  return 0;
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
  if (saved_ns >= 0) {
    // Returning the thread to its namespace must not fail silently: everything after would be wrong.
    if (setns(saved_ns, CLONE_NEWNET) < 0) napi_fatal_error("netlink_socket", NAPI_AUTO_LENGTH, "cannot return to the original network namespace", NAPI_AUTO_LENGTH);
    close(saved_ns);
  }
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

  nl_socket *sock = calloc(1, sizeof *sock);
  sock->env = env;
  sock->fd = fd;
  napi_value handle, result, port;
  napi_create_external(env, sock, NULL, NULL, &handle);
  napi_create_object(env, &result);
  napi_create_uint32(env, bound.nl_pid, &port);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "portId", port);
  return result;
}

// start(handle, onData(err, buffer)): begins delivering received datagrams.
static napi_value nl_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_socket *sock = unwrap(env, argv[0]);
  if (sock == NULL) return NULL;
  if (sock->polling) {
    napi_throw_error(env, NULL, "netlink socket already started");
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &sock->on_data);
  napi_value resource_name;
  napi_create_string_utf8(env, "NetlinkSocket", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &sock->async_context);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &sock->poll, sock->fd);
  sock->poll.data = sock;
  uv_poll_start(&sock->poll, UV_READABLE, on_readable);
  sock->polling = 1;
  return NULL;
}

// send(handle, buffer) -> bytes sent; throws with .errno (EAGAIN means retry later).
static napi_value nl_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_socket *sock = unwrap(env, argv[0]);
  if (sock == NULL) return NULL;
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "send expects a Buffer");
    return NULL;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(sock->fd, data, length, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "netlink send", errno);
  napi_value result;
  napi_create_int64(env, n, &result);
  return result;
}

// ref(handle, bool): whether a started socket keeps the process alive.
static napi_value nl_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_socket *sock = unwrap(env, argv[0]);
  if (sock == NULL || !sock->polling) return NULL;
  bool keep;
  napi_get_value_bool(env, argv[1], &keep);
  if (keep) uv_ref((uv_handle_t *)&sock->poll);
  else uv_unref((uv_handle_t *)&sock->poll);
  return NULL;
}

static void on_poll_closed(uv_handle_t *handle) {
  nl_socket *sock = (nl_socket *)handle->data;
  close(sock->fd);
  free(sock);
}

static napi_value nl_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_socket *sock = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&sock) != napi_ok || sock == NULL || sock->closed) return NULL;
  sock->closed = 1;
  if (sock->on_data) napi_delete_reference(env, sock->on_data);
  if (sock->polling) {
    napi_async_destroy(env, sock->async_context);
    uv_poll_stop(&sock->poll);
    uv_close((uv_handle_t *)&sock->poll, on_poll_closed);
  } else {
    close(sock->fd);
    free(sock);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, nl_open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, nl_start, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, nl_send, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, nl_ref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, nl_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
