// What the project's socket addons share: a non-blocking socket watched by libuv on Node's event
// loop, handed to JavaScript as an external, with errors that carry errno. Each addon supplies its own
// open, send and drain (the reading); start, ref and close are these, registered with the addon's kind
// as the property's data (polled_exports).

#ifndef VXGOSSIP_POLLED_SOCKET_H
#define VXGOSSIP_POLLED_SOCKET_H

#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct polled_socket polled_socket;

typedef struct {
  // In errors ("netlink socket is closed"), and to refuse a handle of another kind.
  const char *name;
  // Reads what is waiting (up to a bound) and hands it to JavaScript; returns whether it read anything,
  // and sets *pending_error to a socket error that reading met.
  int (*drain)(polled_socket *sock, int *pending_error);
} socket_kind;

struct polled_socket {
  const socket_kind *kind;
  napi_env env;
  int fd;
  uv_poll_t poll;
  napi_ref on_data;
  napi_async_context async_context;
  int polling;
  int closed;
};

static inline napi_value errno_error(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, code_value, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &code_value);
  napi_set_named_property(env, error, "errno", code_value);
  return error;
}

static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  napi_throw(env, errno_error(env, what, err));
  return NULL;
}

// Wraps a freshly opened descriptor; the caller returns the handle to JavaScript.
static inline napi_value polled_wrap(napi_env env, const socket_kind *kind, int fd) {
  polled_socket *sock = calloc(1, sizeof *sock);
  if (sock == NULL) {
    close(fd);
    return throw_errno(env, kind->name, ENOMEM);
  }
  sock->kind = kind;
  sock->env = env;
  sock->fd = fd;
  napi_value handle;
  napi_create_external(env, sock, NULL, NULL, &handle);
  return handle;
}

static inline polled_socket *polled_unwrap(napi_env env, napi_value value, const socket_kind *kind) {
  polled_socket *sock = NULL;
  if (napi_get_value_external(env, value, (void **)&sock) != napi_ok || sock == NULL || sock->kind != kind) {
    char message[128];
    snprintf(message, sizeof message, "expected a %s handle", kind->name);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  if (sock->closed) {
    char message[128];
    snprintf(message, sizeof message, "%s is closed", kind->name);
    napi_throw_error(env, "ECLOSED", message);
    return NULL;
  }
  return sock;
}

// Calls the socket's JavaScript handler; an exception it throws goes to the process's uncaught handler.
static inline void polled_deliver(polled_socket *sock, size_t argc, napi_value *argv) {
  napi_env env = sock->env;
  napi_value callback, receiver, result;
  napi_get_reference_value(env, sock->on_data, &callback);
  // make_callback needs an object as `this`.
  napi_get_global(env, &receiver);
  // make_callback drains the microtask queue, so promises settled by the handler run promptly.
  if (napi_make_callback(env, sock->async_context, receiver, callback, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
}

// Hands the handler an error alone: (error, undefined, ...).
static inline void polled_deliver_error(polled_socket *sock, napi_value error) {
  napi_value argv[1] = {error};
  polled_deliver(sock, 1, argv);
}

static inline void polled_on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  polled_socket *sock = (polled_socket *)handle->data;
  if (sock->closed) return;
  napi_env env = sock->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  int pending_error = 0;
  int read_any = sock->kind->drain(sock, &pending_error);
  char what[128];
  // A socket error (e.g. ENOBUFS: the kernel dropped datagrams for us) is reported, never fatal.
  if (pending_error && !sock->closed) {
    snprintf(what, sizeof what, "%s recv", sock->kind->name);
    polled_deliver_error(sock, errno_error(env, what, pending_error));
  }
  // libuv reports EPOLLERR as UV_EBADF and stops polling; reading consumed the socket's error, so
  // polling resumes.
  if (status < 0 && !sock->closed) {
    if (read_any || pending_error) uv_poll_start(&sock->poll, UV_READABLE, polled_on_readable);
    else {
      snprintf(what, sizeof what, "%s poll (no longer polled)", sock->kind->name);
      polled_deliver_error(sock, errno_error(env, what, -status));
    }
  }
  napi_close_handle_scope(env, scope);
}

static inline const socket_kind *kind_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, NULL, &data);
  return (const socket_kind *)data;
}

// start(handle, onData(err, ...)): begins delivering what the socket receives.
static inline napi_value polled_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const socket_kind *kind = kind_of(env, info, &argc, argv);
  polled_socket *sock = polled_unwrap(env, argv[0], kind);
  if (sock == NULL) return NULL;
  if (sock->polling) {
    napi_throw_error(env, NULL, "socket already started");
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &sock->on_data);
  napi_value resource_name;
  napi_create_string_utf8(env, kind->name, NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &sock->async_context);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &sock->poll, sock->fd);
  sock->poll.data = sock;
  uv_poll_start(&sock->poll, UV_READABLE, polled_on_readable);
  sock->polling = 1;
  return NULL;
}

// ref(handle, bool): whether a started socket keeps the process alive.
static inline napi_value polled_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const socket_kind *kind = kind_of(env, info, &argc, argv);
  polled_socket *sock = polled_unwrap(env, argv[0], kind);
  if (sock == NULL || !sock->polling) return NULL;
  bool keep;
  napi_get_value_bool(env, argv[1], &keep);
  if (keep) uv_ref((uv_handle_t *)&sock->poll);
  else uv_unref((uv_handle_t *)&sock->poll);
  return NULL;
}

static inline void polled_on_closed(uv_handle_t *handle) {
  polled_socket *sock = (polled_socket *)handle->data;
  close(sock->fd);
  free(sock);
}

// close(handle): idempotent; the descriptor is closed once libuv has let go of it.
static inline napi_value polled_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  const socket_kind *kind = kind_of(env, info, &argc, argv);
  polled_socket *sock = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&sock) != napi_ok || sock == NULL || sock->kind != kind ||
      sock->closed)
    return NULL;
  sock->closed = 1;
  if (sock->on_data) napi_delete_reference(env, sock->on_data);
  if (sock->polling) {
    napi_async_destroy(env, sock->async_context);
    uv_poll_stop(&sock->poll);
    uv_close((uv_handle_t *)&sock->poll, polled_on_closed);
  } else {
    close(sock->fd);
    free(sock);
  }
  return NULL;
}

// sendto(2), retried when interrupted: the bytes sent, or a thrown error with .errno.
static inline napi_value polled_sendto(napi_env env, polled_socket *sock, const void *data, size_t length,
                                       const struct sockaddr *to, socklen_t to_len, const char *what) {
  ssize_t n;
  do {
    n = sendto(sock->fd, data, length, 0, to, to_len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, what, errno);
  napi_value result;
  napi_create_int64(env, n, &result);
  return result;
}

// An addon's exports: its own open and send, and the shared start, ref and close.
static inline napi_value polled_exports(napi_env env, napi_value exports, const socket_kind *kind, napi_callback open,
                                        napi_callback send) {
  void *data = (void *)kind;
  napi_property_descriptor props[] = {
      {"open", NULL, open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, polled_start, NULL, NULL, NULL, napi_default, data},
      {"send", NULL, send, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, polled_ref, NULL, NULL, NULL, napi_default, data},
      {"close", NULL, polled_close, NULL, NULL, NULL, napi_default, data},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

#endif
