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
    }
  ]
}
