// meshproxy-original-dst: the socket calls Node.js has no API for, as a Node-API addon.
//
// Where it sits: at accept time on the virtualOutbound (15001) and virtualInbound (15006)
// listeners. Istio's iptables REDIRECT rewrites the destination of pod traffic to the proxy's
// port; the kernel's conntrack entry still holds the address the app dialled, and
// getsockopt(SO_ORIGINAL_DST) reads it back (Envoy's original_dst listener filter does the same
// getsockopt, source/common/network/utility.cc getOriginalDst). TPROXY mode additionally needs
// IP_TRANSPARENT listeners and SO_MARK (1337) on sockets, which Node cannot set either.
//
// Exports, all synchronous and taking a raw socket fd (the caller reads it from the libuv handle):
//   getOriginalDst(fd)            -> { address, port, family } | null (no conntrack entry)
//   setTransparent(fd, family, on)   family 4 or 6, or 0 to use the socket's own family
//   getTransparent(fd, family)    -> boolean
//   setMark(fd, mark)                SO_MARK, needs CAP_NET_ADMIN
//   getMark(fd)                   -> number
//   transparentSocket(address, mark) -> fd of a new non-blocking, close-on-exec TCP socket with
//                                    IP_TRANSPARENT (+ SO_MARK when mark > 0) bound to `address`
//                                    port 0, not yet connected (original_src upstreams)
// Failures throw an Error whose message carries the syscall, option and strerror text, with
// `errno` (negative, Node's convention) and `syscall` properties.
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#ifdef __linux__
#include <linux/netfilter_ipv4.h>  // SO_ORIGINAL_DST
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80  // linux/netfilter_ipv6/ip6_tables.h; same value as SO_ORIGINAL_DST
#endif
#endif

#define CHECK_NAPI(env, call)                                   \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      throw_last_napi_error(env, #call);                        \
      return NULL;                                              \
    }                                                           \
  } while (0)

static void throw_last_napi_error(napi_env env, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;  // a JS exception (e.g. a bad argument type) is already on its way
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "meshproxy-original-dst: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown Node-API error");
  napi_throw_error(env, NULL, msg);
}

#ifdef __linux__

// Throws an Error for a failed socket call, shaped like Node's own system errors.
static void throw_errno(napi_env env, int err, const char* syscall, const char* option) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s(%s) failed: %s (errno %d)", syscall, option, strerror(err), err);
  napi_value message, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, NULL, message, &error) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return;
  }
  if (napi_create_int32(env, -err, &errno_value) == napi_ok)
    napi_set_named_property(env, error, "errno", errno_value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok)
    napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
}

// Reads argument `index` as a non-negative int32 (fd, family); throws a TypeError otherwise.
static bool arg_int(napi_env env, napi_value* argv, size_t argc, size_t index, const char* name,
                    int32_t* out) {
  napi_valuetype type = napi_undefined;
  if (index < argc) napi_typeof(env, argv[index], &type);
  double d = -1;
  if (type == napi_number) napi_get_value_double(env, argv[index], &d);
  if (type != napi_number || d < 0 || d > INT32_MAX || d != (double)(int32_t)d) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *out = (int32_t)d;
  return true;
}

static bool arg_family(napi_env env, napi_value* argv, size_t argc, size_t index, int fd,
                       int* af) {
  int32_t family;
  if (!arg_int(env, argv, argc, index, "family", &family)) return false;
  if (family == 4) {
    *af = AF_INET;
  } else if (family == 6) {
    *af = AF_INET6;
  } else if (family == 0) {
    // The socket's own family: getsockname reports it even before bind.
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr*)&ss, &len) != 0) {
      throw_errno(env, errno, "getsockname", "fd");
      return false;
    }
    *af = ss.ss_family;
  } else {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "family must be 4, 6 or 0 (the socket's own)");
    return false;
  }
  if (*af != AF_INET && *af != AF_INET6) {
    napi_throw_error(env, "ERR_SOCKET_FAMILY", "socket is neither IPv4 nor IPv6");
    return false;
  }
  return true;
}

static napi_value make_address(napi_env env, int af, const void* addr, uint16_t port_be) {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr, text, sizeof text) == NULL) {
    throw_errno(env, errno, "inet_ntop", "original destination");
    return NULL;
  }
  napi_value result, address, port, family;
  CHECK_NAPI(env, napi_create_object(env, &result));
  CHECK_NAPI(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address));
  CHECK_NAPI(env, napi_create_uint32(env, ntohs(port_be), &port));
  CHECK_NAPI(env, napi_create_uint32(env, af == AF_INET ? 4 : 6, &family));
  CHECK_NAPI(env, napi_set_named_property(env, result, "address", address));
  CHECK_NAPI(env, napi_set_named_property(env, result, "port", port));
  CHECK_NAPI(env, napi_set_named_property(env, result, "family", family));
  return result;
}

// ENOENT: conntrack has no entry for this connection (nothing redirected it, or conntrack does
// not track this namespace). ENOPROTOOPT: no nf_conntrack in the kernel at all, so nothing could
// have been NATed either. Both mean "no original destination", as Envoy's getOriginalDst
// returning nullptr does.
static napi_value null_or_throw(napi_env env, int err, const char* option) {
  if (err == ENOENT || err == ENOPROTOOPT) {
    napi_value nul;
    CHECK_NAPI(env, napi_get_null(env, &nul));
    return nul;
  }
  throw_errno(env, err, "getsockopt", option);
  return NULL;
}

static napi_value GetOriginalDst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (!arg_int(env, argv, argc, 0, "fd", &fd)) return NULL;

  // The local address decides which table to ask. A dual-stack (::) listener accepts IPv4
  // clients as v4-mapped IPv6 sockets; their conntrack entry is IPv4, so ask SOL_IP.
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr*)&local, &len) != 0) {
    throw_errno(env, errno, "getsockname", "fd");
    return NULL;
  }
  bool v4 = local.ss_family == AF_INET;
  if (local.ss_family == AF_INET6) {
    v4 = IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6*)&local)->sin6_addr);
  } else if (!v4) {
    napi_throw_error(env, "ERR_SOCKET_FAMILY", "getOriginalDst: socket is neither IPv4 nor IPv6");
    return NULL;
  }

  if (v4) {
    struct sockaddr_in dst;
    socklen_t dlen = sizeof dst;
    memset(&dst, 0, sizeof dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &dlen) != 0)
      return null_or_throw(env, errno, "SOL_IP, SO_ORIGINAL_DST");
    return make_address(env, AF_INET, &dst.sin_addr, dst.sin_port);
  }
  struct sockaddr_in6 dst6;
  socklen_t dlen6 = sizeof dst6;
  memset(&dst6, 0, sizeof dst6);
  if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst6, &dlen6) != 0)
    return null_or_throw(env, errno, "SOL_IPV6, IP6T_SO_ORIGINAL_DST");
  return make_address(env, AF_INET6, &dst6.sin6_addr, dst6.sin6_port);
}

static napi_value SetTransparent(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  int af;
  bool on = false;
  if (!arg_int(env, argv, argc, 0, "fd", &fd)) return NULL;
  if (!arg_family(env, argv, argc, 1, fd, &af)) return NULL;
  if (argc < 3 || napi_get_value_bool(env, argv[2], &on) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "on must be a boolean");
    return NULL;
  }
  int value = on ? 1 : 0;
  int rc = af == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &value, sizeof value)
                         : setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &value, sizeof value);
  if (rc != 0) {
    throw_errno(env, errno, "setsockopt",
                af == AF_INET ? "SOL_IP, IP_TRANSPARENT" : "SOL_IPV6, IPV6_TRANSPARENT");
    return NULL;
  }
  return NULL;
}

static napi_value GetTransparent(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  int af;
  if (!arg_int(env, argv, argc, 0, "fd", &fd)) return NULL;
  if (!arg_family(env, argv, argc, 1, fd, &af)) return NULL;
  int value = 0;
  socklen_t len = sizeof value;
  int rc = af == AF_INET ? getsockopt(fd, SOL_IP, IP_TRANSPARENT, &value, &len)
                         : getsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &value, &len);
  if (rc != 0) {
    throw_errno(env, errno, "getsockopt",
                af == AF_INET ? "SOL_IP, IP_TRANSPARENT" : "SOL_IPV6, IPV6_TRANSPARENT");
    return NULL;
  }
  napi_value result;
  CHECK_NAPI(env, napi_get_boolean(env, value != 0, &result));
  return result;
}

static napi_value SetMark(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (!arg_int(env, argv, argc, 0, "fd", &fd)) return NULL;
  napi_valuetype type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  double d = -1;
  if (type == napi_number) napi_get_value_double(env, argv[1], &d);
  if (type != napi_number || d < 0 || d > UINT32_MAX || d != (double)(uint32_t)d) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "mark must be an integer in [0, 2^32)");
    return NULL;
  }
  uint32_t mark = (uint32_t)d;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    throw_errno(env, errno, "setsockopt", "SOL_SOCKET, SO_MARK");
    return NULL;
  }
  return NULL;
}

static napi_value GetMark(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (!arg_int(env, argv, argc, 0, "fd", &fd)) return NULL;
  uint32_t mark = 0;
  socklen_t len = sizeof mark;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) != 0) {
    throw_errno(env, errno, "getsockopt", "SOL_SOCKET, SO_MARK");
    return NULL;
  }
  napi_value result;
  CHECK_NAPI(env, napi_create_uint32(env, mark, &result));
  return result;
}


// original_src (TPROXY mode): the upstream connection leaves from the downstream client's
// address, which is not local to this pod. Binding a foreign address needs IP_TRANSPARENT, and
// SO_MARK must be on the socket before its SYN leaves so policy routing sends the replies back
// to us; both must be set before bind/connect, which Node's net.connect cannot do. So the socket
// is made here and bound; the caller hands the fd to net.Socket and lets libuv connect() it
// (uv_tcp_connect reuses an opened fd), so connect completion, errors and timeouts follow Node's
// usual path. Envoy does the same with socket options applied at STATE_PREBIND
// (source/extensions/filters/listener/original_src/original_src_socket_option.cc).
static napi_value TransparentSocket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char text[INET6_ADDRSTRLEN + 1];
  size_t text_len = 0;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_string ||
      napi_get_value_string_utf8(env, argv[0], text, sizeof text, &text_len) != napi_ok ||
      text_len >= sizeof text - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be an IP address string");
    return NULL;
  }
  type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  double d = -1;
  if (type == napi_number) napi_get_value_double(env, argv[1], &d);
  if (type != napi_number || d < 0 || d > UINT32_MAX || d != (double)(uint32_t)d) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "mark must be an integer in [0, 2^32)");
    return NULL;
  }
  uint32_t mark = (uint32_t)d;

  struct sockaddr_storage ss;
  socklen_t ss_len;
  memset(&ss, 0, sizeof ss);
  int af;
  struct sockaddr_in* sin = (struct sockaddr_in*)&ss;
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&ss;
  if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
    af = AF_INET;
    sin->sin_family = AF_INET;
    ss_len = sizeof *sin;
  } else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
    af = AF_INET6;
    sin6->sin6_family = AF_INET6;
    ss_len = sizeof *sin6;
  } else {
    napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", "address must be an IPv4 or IPv6 address");
    return NULL;
  }

  int fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    throw_errno(env, errno, "socket", af == AF_INET ? "AF_INET" : "AF_INET6");
    return NULL;
  }
  int one = 1;
  const char* failed = NULL;
  const char* call = "setsockopt";
  if (af == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) != 0
                    : setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) != 0) {
    failed = af == AF_INET ? "SOL_IP, IP_TRANSPARENT" : "SOL_IPV6, IPV6_TRANSPARENT";
  } else if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    failed = "SOL_SOCKET, SO_MARK";
  } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    failed = "SOL_SOCKET, SO_REUSEADDR";
  } else if (bind(fd, (struct sockaddr*)&ss, ss_len) != 0) {
    call = "bind";
    failed = text;
  }
  if (failed) {
    int err = errno;
    close(fd);
    throw_errno(env, err, call, failed);
    return NULL;
  }
  napi_value result;
  CHECK_NAPI(env, napi_create_int32(env, fd, &result));
  return result;
}

#else  // not Linux: same exports, each throws, so the package still installs for development.

static napi_value Unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, "ERR_NOT_SUPPORTED",
                   "meshproxy-original-dst: SO_ORIGINAL_DST, IP_TRANSPARENT and SO_MARK need Linux");
  return NULL;
}
#define GetOriginalDst Unsupported
#define SetTransparent Unsupported
#define GetTransparent Unsupported
#define SetMark Unsupported
#define GetMark Unsupported
#define TransparentSocket Unsupported

#endif

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"getOriginalDst", NULL, GetOriginalDst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTransparent", NULL, SetTransparent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getTransparent", NULL, GetTransparent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMark", NULL, SetMark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getMark", NULL, GetMark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"transparentSocket", NULL, TransparentSocket, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK_NAPI(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
