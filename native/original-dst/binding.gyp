# node-gyp build of the original-destination addon. Plain Node-API C (node_api.h), so one
# binary works across Node versions with the same N-API level and needs no extra packages.
{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["src/original_dst.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"]
    }
  ]
}
