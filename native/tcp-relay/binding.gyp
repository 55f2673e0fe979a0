# node-gyp build of the splice relay addon. Plain Node-API C (node_api.h) plus pthreads, so one
# binary works across Node versions with the same N-API level and needs no extra packages.
{
  "targets": [
    {
      "target_name": "tcp_relay",
      "sources": ["src/tcp_relay.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
