// The BPF datapath addon for Node.js, linked against the system's libbpf: load the object (pins
// reused), attach/detach our tc filter on an interface (optionally inside another network namespace),
// and read and write the maps. Calls are synchronous: each is one or a few bpf(2)/netlink round trips.
// Errors carry .errno and say what failed; node-agent/bpf/errors.ts adds what to do about it.

#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "../../native/netns.h"
#include "bpf_datapath.h"

#define ADDON "bpf_datapath"

static napi_value throw_failure(napi_env env, int rc, const char *message) {
  napi_value msg, code, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, rc < 0 ? -rc : rc, &code);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= want) return 1;
  napi_throw_type_error(env, NULL, ADDON ": missing arguments");
  return 0;
}

// A string argument, or "" for null/undefined; 0 (with a RangeError thrown) when it does not fit:
// a truncated interface name or path would name something else.
static int string_arg(napi_env env, napi_value value, char *out, size_t size) {
  napi_valuetype type;
  size_t length = 0;
  out[0] = 0;
  napi_typeof(env, value, &type);
  if (type != napi_string) return 1;
  napi_get_value_string_utf8(env, value, NULL, 0, &length);
  if (length >= size) {
    napi_throw_range_error(env, NULL, ADDON ": a name or path argument is too long");
    return 0;
  }
  napi_get_value_string_utf8(env, value, out, size, NULL);
  return 1;
}

static void set_string(napi_env env, napi_value object, const char *name, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, object, name, v);
}

static void set_uint(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, object, name, v);
}

static void set_bool(napi_env env, napi_value object, const char *name, int value) {
  napi_value v;
  napi_get_boolean(env, value, &v);
  napi_set_named_property(env, object, name, v);
}

static void finalize_object(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  datapath_object *object = data;
  if (object->obj) datapath_close(object);
  free(object);
}

static datapath_object *unwrap(napi_env env, napi_value value) {
  datapath_object *object = NULL;
  napi_get_value_external(env, value, (void **)&object);
  if (object == NULL || object->obj == NULL) {
    napi_throw_error(env, "ECLOSED", ADDON ": the BPF object is closed");
    return NULL;
  }
  return object;
}

// An index into the object's maps or programs (below count), or -1 with a RangeError thrown.
static int index_arg(napi_env env, napi_value value, int count, const char *message) {
  uint32_t index = UINT32_MAX;
  napi_get_value_uint32(env, value, &index);
  if (index < (uint32_t)count) return (int)index;
  napi_throw_range_error(env, NULL, message);
  return -1;
}

// A map or a program as JavaScript sees it: its name, kernel id and what matters of it.
static napi_value named_object(napi_env env, const char *name, uint32_t id) {
  napi_value v;
  napi_create_object(env, &v);
  set_string(env, v, "name", name);
  set_uint(env, v, "id", id);
  return v;
}

static napi_value describe_map(napi_env env, const loaded_map *m) {
  napi_value v = named_object(env, m->name, m->id);
  set_uint(env, v, "keySize", m->key_size);
  set_uint(env, v, "valueSize", m->value_size);
  set_uint(env, v, "maxEntries", m->max_entries);
  set_bool(env, v, "replaced", m->replaced);
  return v;
}

static napi_value describe_program(napi_env env, const loaded_program *p) {
  napi_value v = named_object(env, p->name, p->id);
  set_string(env, v, "tag", p->tag);
  set_bool(env, v, "reused", p->reused);
  return v;
}

// load(objectPath, pinDir) -> { handle, maps: [...], programs: [...] }; maps and programs are then
// named by their index in these arrays.
static napi_value js_load(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return NULL;
  char path[PIN_PATH_LEN], pin_dir[PIN_PATH_LEN], err[ERR_LEN] = "";
  if (!string_arg(env, argv[0], path, sizeof path) || !string_arg(env, argv[1], pin_dir, sizeof pin_dir)) return NULL;
  datapath_object *object = calloc(1, sizeof *object);
  if (object == NULL) return throw_failure(env, -ENOMEM, ADDON ": out of memory");
  int rc = datapath_load(path, pin_dir, object, err);
  if (rc) {
    free(object);
    return throw_failure(env, rc, err);
  }
  napi_value result, handle, maps, programs;
  napi_create_object(env, &result);
  napi_create_external(env, object, finalize_object, NULL, &handle);
  napi_create_array_with_length(env, object->map_count, &maps);
  for (int i = 0; i < object->map_count; i++) napi_set_element(env, maps, i, describe_map(env, &object->maps[i]));
  napi_create_array_with_length(env, object->program_count, &programs);
  for (int i = 0; i < object->program_count; i++)
    napi_set_element(env, programs, i, describe_program(env, &object->programs[i]));
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "maps", maps);
  napi_set_named_property(env, result, "programs", programs);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return NULL;
  datapath_object *object = NULL;
  napi_get_value_external(env, argv[0], (void **)&object);
  if (object != NULL && object->obj != NULL) datapath_close(object);
  return NULL;
}

// mountBpffs(dir): mounts a BPF filesystem there (the caller checked there is none).
static napi_value js_mount_bpffs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return NULL;
  char dir[PIN_PATH_LEN], err[ERR_LEN];
  if (!string_arg(env, argv[0], dir, sizeof dir)) return NULL;
  if (mount("bpf", dir, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") == 0) return NULL;
  int rc = -errno;
  snprintf(err, sizeof err, "mounting a BPF filesystem at %s: %s", dir, strerror(-rc));
  return throw_failure(env, rc, err);
}

// The interface argument (an ifindex, or a name resolved in the namespace we are in now); a negative
// errno with err written when there is no such interface. The name was read (and checked) before.
static int interface_index(napi_env env, napi_value value, const char *name, char *err) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type == napi_number) {
    int32_t ifindex = 0;
    napi_get_value_int32(env, value, &ifindex);
    return ifindex;
  }
  unsigned index = if_nametoindex(name);
  if (index > 0) return (int)index;
  int rc = -errno;
  snprintf(err, ERR_LEN, "no interface %s: %s", name, strerror(-rc));
  return rc;
}

typedef enum { OP_ATTACH, OP_QUERY, OP_DETACH } tc_op;

// Runs one tc operation on an interface, inside the namespace at netns (a path) when one is given.
// -> { ifindex, programId, tag (query), outcome (attach), detached (detach) }
static napi_value run_tc(napi_env env, tc_op op, napi_value *argv, int prog_fd) {
  uint32_t handle, priority, prog_id = 0;
  char name[IF_NAMESIZE], netns[PIN_PATH_LEN], err[ERR_LEN] = "";
  if (!string_arg(env, argv[0], name, sizeof name) || !string_arg(env, argv[1], netns, sizeof netns)) return NULL;
  napi_get_value_uint32(env, argv[2], &handle);
  napi_get_value_uint32(env, argv[3], &priority);

  int saved = -1, rc = 0, ifindex = 0, detached = 0;
  tc_outcome outcome = TC_UNCHANGED;
  if (netns[0] && (rc = -enter_netns(netns, &saved)) != 0)
    snprintf(err, sizeof err, "entering the network namespace %s: %s", netns, strerror(-rc));
  if (rc == 0) {
    ifindex = interface_index(env, argv[0], name, err);
    if (ifindex < 0) rc = ifindex;
    else if (op == OP_ATTACH) rc = tc_attach(ifindex, prog_fd, handle, priority, &outcome, &prog_id, err);
    else if (op == OP_QUERY) rc = tc_query(ifindex, handle, priority, &prog_id, err);
    else rc = tc_detach(ifindex, handle, priority, &detached, err);
  }
  if (saved >= 0) leave_netns(saved, ADDON);
  if (rc) return throw_failure(env, rc, err);

  static const char *outcomes[] = {"attached", "replaced", "unchanged"};
  char tag[2 * BPF_TAG_SIZE + 1] = "";
  if (prog_id && op == OP_QUERY) program_tag(prog_id, tag);
  napi_value result;
  napi_create_object(env, &result);
  set_uint(env, result, "ifindex", ifindex);
  set_uint(env, result, "programId", prog_id);
  if (op == OP_QUERY) set_string(env, result, "tag", tag);
  if (op == OP_ATTACH) set_string(env, result, "outcome", outcomes[outcome]);
  if (op == OP_DETACH) set_bool(env, result, "detached", detached);
  return result;
}

// tcAttach(interface, netns | null, tcHandle, priority, handle, program): program is an index of
// load()'s programs.
static napi_value js_tc_attach(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!args(env, info, 6, argv)) return NULL;
  datapath_object *object = unwrap(env, argv[4]);
  int index = object ? index_arg(env, argv[5], object->program_count, ADDON ": no such program") : -1;
  return index < 0 ? NULL : run_tc(env, OP_ATTACH, argv, object->programs[index].fd);
}

// tcQuery and tcDetach(interface, netns | null, tcHandle, priority): the operation is the property's data.
static napi_value js_tc_plain(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4;
  void *op = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, &op);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, ADDON ": missing arguments");
    return NULL;
  }
  return run_tc(env, (tc_op)(intptr_t)op, argv, -1);
}

// The map at an index of load()'s array, with a key (and value) checked against its sizes: the
// kernel reads exactly key_size and value_size bytes from what it is given.
static loaded_map *map_arg(napi_env env, napi_value *argv, void **key, void **value) {
  datapath_object *object = unwrap(env, argv[0]);
  int index = object ? index_arg(env, argv[1], object->map_count, ADDON ": no such map") : -1;
  if (index < 0) return NULL;
  loaded_map *map = &object->maps[index];
  size_t key_len = 0, value_len = 0;
  if (key && (napi_get_buffer_info(env, argv[2], key, &key_len) != napi_ok || key_len != map->key_size)) {
    napi_throw_range_error(env, NULL, ADDON ": a key of the wrong size for this map");
    return NULL;
  }
  if (value && (napi_get_buffer_info(env, argv[3], value, &value_len) != napi_ok || value_len != map->value_size)) {
    napi_throw_range_error(env, NULL, ADDON ": a value of the wrong size for this map");
    return NULL;
  }
  return map;
}

static napi_value map_failure(napi_env env, const char *what, const loaded_map *map) {
  char err[ERR_LEN];
  int rc = -errno;
  snprintf(err, sizeof err, "%s map %s: %s", what, map->name, strerror(-rc));
  return throw_failure(env, rc, err);
}

// mapUpdate(handle, map, key, value): create or replace.
static napi_value js_map_update(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  void *key, *value;
  if (!args(env, info, 4, argv)) return NULL;
  loaded_map *map = map_arg(env, argv, &key, &value);
  if (map == NULL) return NULL;
  if (bpf_map_update_elem(map->fd, key, value, BPF_ANY)) return map_failure(env, "updating", map);
  return NULL;
}

// mapDelete(handle, map, key) -> whether there was such an entry.
static napi_value js_map_delete(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  void *key;
  if (!args(env, info, 3, argv)) return NULL;
  loaded_map *map = map_arg(env, argv, &key, NULL);
  if (map == NULL) return NULL;
  int rc = bpf_map_delete_elem(map->fd, key);
  if (rc && errno != ENOENT) return map_failure(env, "deleting from", map);
  napi_get_boolean(env, rc == 0, &result);
  return result;
}

// mapDump(handle, map) -> { count, keys, values }: every entry, keys and values back to back. The batch
// has room for the whole map, so one call usually reads it all (ENOENT marks the end).
static napi_value js_map_dump(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return NULL;
  loaded_map *map = map_arg(env, argv, NULL, NULL);
  if (map == NULL) return NULL;
  size_t capacity = map->max_entries + 1, count = 0;
  char *keys = malloc(capacity * map->key_size), *values = malloc(capacity * map->value_size);
  __u64 token = 0;
  int first = 1, rc = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  while (keys && values && count < capacity) {
    __u32 n = capacity - count;
    rc = bpf_map_lookup_batch(map->fd, first ? NULL : &token, &token, keys + count * map->key_size,
                              values + count * map->value_size, &n, &opts);
    count += n;
    first = 0;
    if (rc) break;
  }
  napi_value result = NULL;
  if (keys == NULL || values == NULL) {
    throw_failure(env, -ENOMEM, ADDON ": out of memory");
  } else if (rc && errno != ENOENT) {
    map_failure(env, "dumping", map);
  } else {
    napi_value k, v;
    napi_create_object(env, &result);
    napi_create_buffer_copy(env, count * map->key_size, keys, NULL, &k);
    napi_create_buffer_copy(env, count * map->value_size, values, NULL, &v);
    set_uint(env, result, "count", count);
    napi_set_named_property(env, result, "keys", k);
    napi_set_named_property(env, result, "values", v);
  }
  free(keys);
  free(values);
  return result;
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}
#define TC_METHOD(name, op) {name, NULL, js_tc_plain, NULL, NULL, NULL, napi_default, (void *)(intptr_t)(op)}

static napi_value init(napi_env env, napi_value exports) {
  libbpf_log_capture();
  napi_property_descriptor props[] = {
      METHOD("load", js_load),           METHOD("close", js_close),         METHOD("mountBpffs", js_mount_bpffs),
      METHOD("tcAttach", js_tc_attach),  TC_METHOD("tcQuery", OP_QUERY),  TC_METHOD("tcDetach", OP_DETACH),
      METHOD("mapUpdate", js_map_update), METHOD("mapDelete", js_map_delete), METHOD("mapDump", js_map_dump),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
