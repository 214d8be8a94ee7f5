{
  "targets": [
    {
      "target_name": "netlink_socket",
      "sources": ["node-agent/netlink/native/netlink_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "icmp_socket",
      "sources": ["node-agent/liveness/native/icmp_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "bpf_datapath",
      "sources": [
        "node-agent/bpf/native/bpf_addon.c",
        "node-agent/bpf/native/object_loader.c",
        "node-agent/bpf/native/tc_hook.c",
        "node-agent/bpf/native/libbpf_log.c"
      ],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "libraries": ["-lbpf"]
    }
  ]
}
