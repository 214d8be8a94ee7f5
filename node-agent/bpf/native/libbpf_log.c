// libbpf reports why a load failed (the verifier's log, a pinned map it could not reuse) through its
// print callback, not through errno: keep its warnings so an error can quote them.

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bpf_datapath.h"

#define LOG_SIZE 65536

static char log_text[LOG_SIZE];
static size_t log_used;

static int keep_warnings(enum libbpf_print_level level, const char *format, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  // When full, keep the newest text: the end of a verifier log says what was refused.
  if (log_used > LOG_SIZE / 2) {
    memmove(log_text, log_text + log_used - LOG_SIZE / 4, LOG_SIZE / 4);
    log_used = LOG_SIZE / 4;
  }
  int n = vsnprintf(log_text + log_used, LOG_SIZE - log_used, format, args);
  if (n > 0) log_used += (size_t)n < LOG_SIZE - log_used ? (size_t)n : LOG_SIZE - log_used - 1;
  return 0;
}

void libbpf_log_capture(void) { libbpf_set_print(keep_warnings); }

void libbpf_log_reset(void) {
  log_used = 0;
  log_text[0] = 0;
}

const char *libbpf_log_tail(size_t max) { return log_used > max ? log_text + log_used - max : log_text; }
