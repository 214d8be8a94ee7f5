// Loads the datapath object with libbpf so that what is pinned survives us and is reused:
// maps pinned by name (libbpf reuses a pin that fits the definition; one that does not fit, from an
// older build, is replaced here first), and programs pinned next to them (a pinned program with the
// same tag and the same maps is kept, else this build's is pinned over it, atomically by rename).

#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_datapath.h"

#define MAX_PROGRAM_MAPS 16

static int fail(char *err, int rc, const char *format, const char *what) {
  char detail[ERR_LEN / 2];
  snprintf(detail, sizeof detail, format, what);
  const char *log = libbpf_log_tail(ERR_LEN / 2 - 64);
  snprintf(err, ERR_LEN, "%s: %s%s%s", detail, strerror(-rc), log[0] ? "\nlibbpf: " : "", log);
  return rc;
}

static int map_info(int fd, struct bpf_map_info *info) {
  __u32 len = sizeof *info;
  memset(info, 0, len);
  return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

// The program's tag and the ids of the maps it uses (sorted, so two programs compare as sets).
static int program_info(int fd, struct bpf_prog_info *info, __u32 *map_ids, __u32 *map_count) {
  __u32 len = sizeof *info;
  memset(info, 0, len);
  info->nr_map_ids = MAX_PROGRAM_MAPS;
  info->map_ids = (__u64)(unsigned long)map_ids;
  if (bpf_obj_get_info_by_fd(fd, info, &len)) return -errno;
  *map_count = info->nr_map_ids < MAX_PROGRAM_MAPS ? info->nr_map_ids : MAX_PROGRAM_MAPS;
  for (__u32 i = 1; i < *map_count; i++)
    for (__u32 j = i; j > 0 && map_ids[j - 1] > map_ids[j]; j--) {
      __u32 t = map_ids[j];
      map_ids[j] = map_ids[j - 1];
      map_ids[j - 1] = t;
    }
  return 0;
}

static int same_program_fds(int a, int b) {
  struct bpf_prog_info ia, ib;
  __u32 maps_a[MAX_PROGRAM_MAPS], maps_b[MAX_PROGRAM_MAPS], na, nb;
  if (program_info(a, &ia, maps_a, &na) || program_info(b, &ib, maps_b, &nb)) return 0;
  return memcmp(ia.tag, ib.tag, BPF_TAG_SIZE) == 0 && na == nb && memcmp(maps_a, maps_b, na * sizeof *maps_a) == 0;
}

int same_program(__u32 id, int fd) {
  int other = bpf_prog_get_fd_by_id(id);
  if (other < 0) return 0;
  int same = same_program_fds(other, fd);
  close(other);
  return same;
}

static void hex_tag(const unsigned char *raw, char *tag) {
  for (int i = 0; i < BPF_TAG_SIZE; i++) sprintf(tag + 2 * i, "%02x", raw[i]);
}

int program_tag(__u32 id, char *tag) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return -errno;
  struct bpf_prog_info info;
  __u32 maps[MAX_PROGRAM_MAPS], count;
  int rc = program_info(fd, &info, maps, &count);
  close(fd);
  if (rc == 0) hex_tag(info.tag, tag);
  return rc;
}

// A pinned map from an older build whose definition differs cannot be reused by libbpf (the load
// would fail): unpin it so that this build pins a new one.
static int replace_unfit_pin(struct bpf_map *map, int *replaced) {
  const char *path = bpf_map__pin_path(map);
  *replaced = 0;
  if (path == NULL) return 0;
  int fd = bpf_obj_get(path);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  struct bpf_map_info info;
  int rc = map_info(fd, &info);
  close(fd);
  if (rc) return rc;
  if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
      info.value_size == bpf_map__value_size(map) && info.max_entries == bpf_map__max_entries(map) &&
      info.map_flags == bpf_map__map_flags(map))
    return 0;
  if (unlink(path)) return -errno;
  *replaced = 1;
  return 0;
}

static int record_map(struct bpf_map *map, loaded_map *out) {
  struct bpf_map_info info;
  snprintf(out->name, NAME_LEN, "%s", bpf_map__name(map));
  out->fd = bpf_map__fd(map);
  int rc = map_info(out->fd, &info);
  if (rc) return rc;
  out->id = info.id;
  out->key_size = info.key_size;
  out->value_size = info.value_size;
  out->max_entries = info.max_entries;
  return 0;
}

// Keeps the pinned program if it is the same as ours, else pins ours over it (rename is atomic).
static int pin_program(struct bpf_program *prog, const char *pin_dir, loaded_program *out, char *err) {
  char path[PIN_PATH_LEN + NAME_LEN + 2], staged[PIN_PATH_LEN + NAME_LEN + 12];
  snprintf(out->name, NAME_LEN, "%s", bpf_program__name(prog));
  snprintf(path, sizeof path, "%s/%s", pin_dir, out->name);
  // bpffs refuses names with a dot.
  snprintf(staged, sizeof staged, "%s__staged", path);
  int fd = bpf_program__fd(prog);
  int pinned = bpf_obj_get(path);
  if (pinned >= 0 && same_program_fds(pinned, fd)) {
    out->fd = pinned;
    out->owned = 1;
    out->reused = 1;
  } else {
    if (pinned >= 0) close(pinned);
    unlink(staged);
    if (bpf_obj_pin(fd, staged)) return fail(err, -errno, "pinning program %s", staged);
    if (rename(staged, path)) {
      int rc = -errno;
      unlink(staged);
      return fail(err, rc, "replacing the pinned program %s", path);
    }
    out->fd = fd;
  }
  struct bpf_prog_info info;
  __u32 maps[MAX_PROGRAM_MAPS], count;
  int rc = program_info(out->fd, &info, maps, &count);
  if (rc) return fail(err, rc, "reading program %s", out->name);
  out->id = info.id;
  hex_tag(info.tag, out->tag);
  return 0;
}

int datapath_load(const char *object_path, const char *pin_dir, datapath_object *out, char *err) {
  memset(out, 0, sizeof *out);
  libbpf_log_reset();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
  out->obj = bpf_object__open_file(object_path, &opts);
  if (out->obj == NULL) return fail(err, -errno, "opening the BPF object %s", object_path);

  int rc = 0;
  struct bpf_map *map;
  bpf_object__for_each_map(map, out->obj) {
    if (out->map_count == MAX_ITEMS) {
      rc = fail(err, -E2BIG, "%s: too many maps", object_path);
      goto failed;
    }
    loaded_map *m = &out->maps[out->map_count++];
    rc = replace_unfit_pin(map, &m->replaced);
    if (rc) {
      fail(err, rc, "checking the pinned map %s", bpf_map__pin_path(map));
      goto failed;
    }
  }
  rc = bpf_object__load(out->obj);
  if (rc) {
    fail(err, rc, "loading %s into the kernel", object_path);
    goto failed;
  }
  int i = 0;
  bpf_object__for_each_map(map, out->obj) {
    rc = record_map(map, &out->maps[i++]);
    if (rc) {
      fail(err, rc, "reading map %s", bpf_map__name(map));
      goto failed;
    }
  }
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, out->obj) {
    if (out->program_count == MAX_ITEMS) {
      rc = fail(err, -E2BIG, "%s: too many programs", object_path);
      goto failed;
    }
    rc = pin_program(prog, pin_dir, &out->programs[out->program_count++], err);
    if (rc) goto failed;
  }
  return 0;

failed:
  datapath_close(out);
  return rc;
}

void datapath_close(datapath_object *object) {
  for (int i = 0; i < object->program_count; i++)
    if (object->programs[i].owned) close(object->programs[i].fd);
  bpf_object__close(object->obj);
  memset(object, 0, sizeof *object);
}
