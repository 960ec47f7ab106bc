{
  "targets": [
    {
      "target_name": "srtp_send",
      "sources": ["srtp_send.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
