// Our tc filter at ingress of an interface, through libbpf's tc API (rtnetlink underneath): the
// clsact qdisc is created when missing, the filter sits at one fixed handle and priority, and a
// program already there that is the same as ours (tag and maps) is left alone; any other is replaced
// in one request, so packets never meet an empty hook.

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bpf_datapath.h"

static int fail(char *err, int rc, const char *what, int ifindex) {
  snprintf(err, ERR_LEN, "%s at ingress of ifindex %d: %s", what, ifindex, strerror(-rc));
  return rc;
}

// The id of the program in our filter, 0 when there is none: no clsact qdisc, no filter chain yet
// (the kernel says EINVAL for both) or no filter at our handle (ENOENT).
static int query_filter(const struct bpf_tc_hook *hook, __u32 handle, __u32 priority, __u32 *prog_id) {
  LIBBPF_OPTS(bpf_tc_opts, query, .handle = handle, .priority = priority);
  int rc = bpf_tc_query(hook, &query);
  *prog_id = rc == 0 ? query.prog_id : 0;
  return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
}

int tc_attach(int ifindex, int prog_fd, __u32 handle, __u32 priority, tc_outcome *outcome, __u32 *prog_id,
              char *err) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  int rc = bpf_tc_hook_create(&hook);
  if (rc && rc != -EEXIST) return fail(err, rc, "creating the clsact qdisc", ifindex);

  __u32 present = 0;
  rc = query_filter(&hook, handle, priority, &present);
  if (rc) return fail(err, rc, "reading the tc filter", ifindex);
  if (present && same_program(present, prog_fd)) {
    *outcome = TC_UNCHANGED;
    *prog_id = present;
    return 0;
  }

  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority, .prog_fd = prog_fd,
              .flags = BPF_TC_F_REPLACE);
  rc = bpf_tc_attach(&hook, &opts);
  if (rc) return fail(err, rc, "attaching the tc program", ifindex);
  *outcome = present ? TC_REPLACED : TC_ATTACHED;
  *prog_id = opts.prog_id;
  return 0;
}

int tc_query(int ifindex, __u32 handle, __u32 priority, __u32 *prog_id, char *err) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  int rc = query_filter(&hook, handle, priority, prog_id);
  return rc ? fail(err, rc, "reading the tc filter", ifindex) : 0;
}

// Only our filter goes: the clsact qdisc may carry others' filters, and it goes with the interface.
int tc_detach(int ifindex, __u32 handle, __u32 priority, int *detached, char *err) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
  int rc = bpf_tc_detach(&hook, &opts);
  *detached = rc == 0;
  if (rc == 0 || rc == -ENOENT || rc == -EINVAL) return 0;
  return fail(err, rc, "detaching the tc program", ifindex);
}
