// What the BPF addon's C files share: the loaded object as the addon keeps it, and the plain C
// operations (no N-API) that bpf_addon.c exposes to JavaScript. Every operation returns 0 or a
// negative errno and writes what failed into err.

#ifndef VXGOSSIP_BPF_DATAPATH_H
#define VXGOSSIP_BPF_DATAPATH_H

#include <bpf/libbpf.h>
#include <linux/types.h>
#include <stddef.h>

#define MAX_ITEMS 8
#define NAME_LEN 64
#define ERR_LEN 4096
// The pin directory's path: node-agent/bpf refuses a longer one.
#define PIN_PATH_LEN 1024

typedef struct {
  char name[NAME_LEN];
  int fd;
  __u32 id;
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
  // A pin of this name was there but did not fit this build's definition: it was replaced by a new,
  // empty map (programs still attached keep the old one until they are replaced).
  int replaced;
} loaded_map;

typedef struct {
  char name[NAME_LEN];
  // The pinned program when it is the same as this build's (then owned, closed with the object),
  // else this build's own (owned by the bpf_object).
  int fd;
  int owned;
  __u32 id;
  char tag[2 * BPF_TAG_SIZE + 1];
  // The pinned program was kept: same instructions (tag) and same maps.
  int reused;
} loaded_program;

typedef struct {
  struct bpf_object *obj;
  int map_count;
  loaded_map maps[MAX_ITEMS];
  int program_count;
  loaded_program programs[MAX_ITEMS];
} datapath_object;

// object_loader.c
int datapath_load(const char *object_path, const char *pin_dir, datapath_object *out, char *err);
void datapath_close(datapath_object *object);
// Whether the program with this id is the same as the one behind fd: same tag and same maps.
int same_program(__u32 id, int fd);
// The tag of a program, as 16 hex digits.
int program_tag(__u32 id, char *tag);

// tc_hook.c: our filter at ingress of one interface, at a fixed handle and priority.
typedef enum { TC_ATTACHED, TC_REPLACED, TC_UNCHANGED } tc_outcome;
int tc_attach(int ifindex, int prog_fd, __u32 handle, __u32 priority, tc_outcome *outcome, __u32 *prog_id,
              char *err);
int tc_query(int ifindex, __u32 handle, __u32 priority, __u32 *prog_id, char *err);
int tc_detach(int ifindex, __u32 handle, __u32 priority, int *detached, char *err);

// libbpf_log.c: libbpf's warnings since the last reset (the verifier's log among them), for errors.
void libbpf_log_capture(void);
void libbpf_log_reset(void);
const char *libbpf_log_tail(size_t max);

#endif
