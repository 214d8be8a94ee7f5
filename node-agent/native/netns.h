// Entering another network namespace for one call and coming back, for the addons that open
// namespace-bound sockets (netlink) or let a library open them (libbpf's tc hooks). Only the calling
// thread moves (setns(2) on a thread), and only for the call.

#ifndef VXGOSSIP_NETNS_H
#define VXGOSSIP_NETNS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before the first include: setns(2) needs it"
#endif

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <sched.h>
#include <unistd.h>

// Moves the thread into the namespace at path; *saved receives the way back. Returns 0 or an errno.
static inline int enter_netns(const char *path, int *saved) {
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

// Returning must not fail silently: everything the thread did afterwards would be in the wrong place.
static inline void leave_netns(int saved, const char *addon) {
  if (setns(saved, CLONE_NEWNET) < 0)
    napi_fatal_error(addon, NAPI_AUTO_LENGTH, "cannot return to the original network namespace", NAPI_AUTO_LENGTH);
  close(saved);
}

#endif
