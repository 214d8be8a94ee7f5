{
  "targets": [
    {
      "target_name": "netlink_socket",
      "sources": ["node-agent/netlink/native/netlink_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
