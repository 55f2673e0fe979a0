// meshproxy-tcp-relay: moves bytes between two connected TCP sockets inside the kernel.
//
// Where it sits: at the end of tcp_proxy's data path. Once tcp_proxy has a downstream and an
// upstream plaintext socket and nothing is left to inspect, it hands both fds here and the bytes
// go socket -> pipe -> socket with splice(2), never through user space (the JS relay copies every
// byte into a Buffer and back out). nginx's stream module still copies through a user buffer;
// splice avoids that copy, which is how a Node process can keep up with it on one stream.
//
// Threading: ONE epoll thread per process serves every relay (not a thread per connection). The
// JS thread creates a relay (dup()s the fds, makes one pipe per direction) and queues it to the
// thread through an eventfd; the thread owns it until it ends, then hands it back through a
// Node-API threadsafe function, whose JS-thread half calls the relay's callback and frees it.
//
//   JS thread                          epoll thread
//   relay() ---- pending list + eventfd --> register fds (EPOLLET), pump on events
//   abort() ---- flag + eventfd ----------> finish(ABORTED)
//   stats() <--- atomic byte counters ----- splice out of the pipe adds to bytes[dir]
//   callback <-- threadsafe function ------ finish(): EPOLL_CTL_DEL, close pipes and dups
//
// The sockets belong to libuv. The caller must have stopped libuv reading them and flushed its
// writes (src/platform/tcp-relay.ts does). This side works on dup()s of the fds, so it never
// closes libuv's fds, and a JS-side close during a relay cannot make us splice into a reused fd
// number. Per direction: read EOF -> drain the pipe -> shutdown(dst, SHUT_WR) (half-close, as
// Envoy's tcp_proxy passes a FIN on). The relay ends when both directions are shut, on the first
// socket error, on the idle timeout (no byte moved either way for idleTimeoutMs), or on abort().
//
// Exports:
//   relay(fdA, fdB, { idleTimeoutMs, pipeSize }, callback) -> id
//       callback({ bytesAtoB, bytesBtoA, reason: 'closed'|'idle_timeout'|'error'|'aborted',
//                  errno?, side? })   on the JS thread, once
//   stats(id) -> { bytesAtoB, bytesBtoA } | null     bytes written to the destination so far
//   abort(id) -> boolean                               false when the relay already ended
//   info() -> { active, epollFd }                      relays of this env, the shared epoll fd
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

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
  if (pending) return;
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "meshproxy-tcp-relay: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown Node-API error");
  napi_throw_error(env, NULL, msg);
}

#ifdef __linux__

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <uv.h>

enum reason { R_NONE = 0, R_CLOSED, R_IDLE, R_ERROR, R_ABORTED };
static const char* const REASON_NAMES[] = {"", "closed", "idle_timeout", "error", "aborted"};

// Splice rounds per relay per wake-up before yielding to other relays: a fast stream must not
// starve the rest. A relay that used its budget goes on the hot list and is pumped again next
// loop turn (edge-triggered epoll would not report the data it left behind).
#define PUMP_ROUNDS 16
#define MAX_EVENTS 256
#define DEFAULT_PIPE_SIZE (256 * 1024)
#define MIN_PIPE_SIZE 4096

typedef struct direction {
  int src, dst;         // the relay's dups of the sockets
  int pipe_r, pipe_w;   // O_NONBLOCK pipe: the per-direction buffer
  size_t cap, in_pipe;  // pipe capacity (F_GETPIPE_SZ) and bytes sitting in it
  bool eof, shut;       // EOF read from src; shutdown(dst, SHUT_WR) done
  // Readiness as last seen: cleared on an unambiguous EAGAIN, set again by the fd's next
  // edge-triggered event. Saves a failing splice per idle direction per round.
  bool readable, writable;
} direction;

typedef struct relay {
  uint32_t id;
  int fd[2];          // dup(fdA), dup(fdB)
  direction dir[2];   // [0] A -> B, [1] B -> A
  _Atomic uint64_t bytes[2];
  atomic_bool abort_requested;
  uint64_t idle_ms, last_ms;
  int reason, err, err_side;  // err_side 0 = A, 1 = B
  bool hot, registered;
  bool orphan;  // under g.mu: its environment is gone, nobody to call back
  napi_ref callback;
  napi_threadsafe_function tsfn;
  struct relay *prev, *next;          // epoll thread: active list
  struct relay *hot_prev, *hot_next;  // epoll thread: hot list
  struct relay* queue_next;           // pending list (under the mutex), then the ended list
  struct relay* table_next;           // JS thread: id table chain
} relay;

// Per Node environment (main thread or a worker_thread), JS thread only.
typedef struct env_state {
  napi_threadsafe_function tsfn;
  relay** buckets;  // id -> relay, chained; relays stay here until their callback has run
  size_t nbuckets, count;
  uint32_t next_id;
} env_state;

// Process-wide: the one epoll thread.
static struct {
  pthread_mutex_t mu;
  bool started;
  int epfd, evfd;
  relay* pending;  // queued by relay(), taken by the thread; under mu
  atomic_bool abort_pending;
  // epoll thread only:
  relay *active, *hot;
  uint64_t next_scan;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .epfd = -1, .evfd = -1};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_fd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_relay_fds(relay* r) {
  for (int k = 0; k < 2; k++) {
    close_fd(&r->dir[k].pipe_r);
    close_fd(&r->dir[k].pipe_w);
  }
  close_fd(&r->fd[0]);
  close_fd(&r->fd[1]);
}

// ---- epoll thread ----------------------------------------------------------------------------

static void hot_unlink(relay* r) {
  if (!r->hot) return;
  if (r->hot_prev) r->hot_prev->hot_next = r->hot_next; else g.hot = r->hot_next;
  if (r->hot_next) r->hot_next->hot_prev = r->hot_prev;
  r->hot_prev = r->hot_next = NULL;
  r->hot = false;
}

static void hot_push(relay* r) {
  if (r->hot) return;
  r->hot = true;
  r->hot_prev = NULL;
  r->hot_next = g.hot;
  if (g.hot) g.hot->hot_prev = r;
  g.hot = r;
}

// Ends a relay on the epoll thread: stops watching, releases the pipes and the dups, and queues it
// for delivery after the current batch of events (other events in the batch may still name it).
static void finish(relay* r, int reason, int err, int side, relay** ended) {
  if (r->reason != R_NONE) return;
  r->reason = reason;
  r->err = err;
  r->err_side = side;
  if (r->registered) {
    epoll_ctl(g.epfd, EPOLL_CTL_DEL, r->fd[0], NULL);
    epoll_ctl(g.epfd, EPOLL_CTL_DEL, r->fd[1], NULL);
    if (r->prev) r->prev->next = r->next; else g.active = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->registered = false;
  }
  hot_unlink(r);
  free_relay_fds(r);
  r->queue_next = *ended;
  *ended = r;
}

// Moves what it can in both directions, at most PUMP_ROUNDS rounds. Each round per direction:
// socket -> pipe up to the free pipe space, then pipe -> socket. EAGAIN on the way in means the
// socket is empty, or (only when the pipe holds bytes) that the pipe has no free slot; in that
// case the source stays marked readable and is tried again once the pipe drained, which the
// destination's EPOLLOUT edge brings about. Non-blocking throughout: the sockets are O_NONBLOCK
// (libuv's) and the pipes were made O_NONBLOCK.
static void pump(relay* r, relay** ended) {
  bool moved = false;
  int round = 0;
  for (; round < PUMP_ROUNDS; round++) {
    bool progress = false;
    for (int k = 0; k < 2; k++) {
      direction* d = &r->dir[k];
      if (d->shut) continue;
      if (!d->eof && d->readable && d->in_pipe < d->cap) {
        ssize_t n = splice(d->src, NULL, d->pipe_w, NULL, d->cap - d->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          d->in_pipe += (size_t)n;
          progress = true;
        } else if (n == 0) {
          d->eof = true;
          progress = true;
        } else if (errno == EAGAIN) {
          if (d->in_pipe == 0) d->readable = false;
        } else if (errno != EINTR) {
          finish(r, R_ERROR, errno, k, ended);  // reading from dir k's source: A for k=0
          return;
        }
      }
      if (d->in_pipe > 0 && d->writable) {
        ssize_t n = splice(d->pipe_r, NULL, d->dst, NULL, d->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          d->in_pipe -= (size_t)n;
          atomic_fetch_add_explicit(&r->bytes[k], (uint64_t)n, memory_order_relaxed);
          progress = true;
        } else if (n < 0 && errno == EAGAIN) {
          d->writable = false;
        } else if (n < 0 && errno != EINTR) {
          finish(r, R_ERROR, errno, 1 - k, ended);
          return;
        }
      }
      if (d->eof && d->in_pipe == 0) {
        if (shutdown(d->dst, SHUT_WR) != 0) {
          finish(r, R_ERROR, errno, 1 - k, ended);
          return;
        }
        d->shut = true;
        progress = true;
      }
    }
    if (!progress) break;
    moved = true;
  }
  if (moved) r->last_ms = now_ms();
  if (r->dir[0].shut && r->dir[1].shut) {
    finish(r, R_CLOSED, 0, 0, ended);
  } else if (round == PUMP_ROUNDS) {
    hot_push(r);
  }
}

static void activate(relay* r, relay** ended) {
  r->last_ms = now_ms();
  r->registered = true;
  r->prev = NULL;
  r->next = g.active;
  if (g.active) g.active->prev = r;
  g.active = r;
  for (int side = 0; side < 2; side++) {
    // The low bit tags which socket the event is for (relays are at least 8-byte aligned).
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)(uintptr_t)r | (uint64_t)side};
    if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, r->fd[side], &ev) != 0) {
      finish(r, R_ERROR, errno, side, ended);
      return;
    }
  }
  if (r->idle_ms > 0 && r->last_ms + r->idle_ms < g.next_scan) g.next_scan = r->last_ms + r->idle_ms;
  // Edge-triggered ADD reports data that is already waiting, but pumping now costs nothing.
  pump(r, ended);
}

static void idle_scan(relay** ended) {
  uint64_t now = now_ms(), next = UINT64_MAX;
  relay* r = g.active;
  while (r) {
    relay* following = r->next;  // finish() unlinks r
    if (r->idle_ms > 0) {
      uint64_t deadline = r->last_ms + r->idle_ms;
      if (now >= deadline) {
        finish(r, R_IDLE, 0, 0, ended);
      } else if (deadline < next) {
        next = deadline;
      }
    }
    r = following;
  }
  g.next_scan = next;
}

static void deliver(relay* ended) {
  while (ended) {
    relay* r = ended;
    ended = r->queue_next;
    r->queue_next = NULL;
    // Under the mutex so the environment's cleanup hook cannot free the threadsafe function
    // between the check and the call.
    pthread_mutex_lock(&g.mu);
    napi_status status = r->orphan ? napi_closing : napi_call_threadsafe_function(r->tsfn, r, napi_tsfn_nonblocking);
    pthread_mutex_unlock(&g.mu);
    // No environment left to call back: its callback reference went with it.
    if (status != napi_ok) free(r);
  }
}

static void* loop_main(void* arg) {
  (void)arg;
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int timeout = -1;
    if (g.hot) {
      timeout = 0;
    } else if (g.next_scan != UINT64_MAX) {
      uint64_t now = now_ms();
      timeout = g.next_scan <= now ? 0 : (int)(g.next_scan - now > INT_MAX ? INT_MAX : g.next_scan - now);
    }
    int n = epoll_wait(g.epfd, events, MAX_EVENTS, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("meshproxy-tcp-relay: epoll_wait");
      abort();
    }
    relay* ended = NULL;
    for (int i = 0; i < n; i++) {
      uint64_t data = events[i].data.u64;
      if (data == 0) {  // the eventfd: new relays and abort requests
        uint64_t count;
        if (read(g.evfd, &count, sizeof count) < 0 && errno != EAGAIN) perror("meshproxy-tcp-relay: eventfd read");
        pthread_mutex_lock(&g.mu);
        relay* pending = g.pending;
        g.pending = NULL;
        pthread_mutex_unlock(&g.mu);
        // Oldest first (the list is LIFO).
        relay* fifo = NULL;
        while (pending) {
          relay* r = pending;
          pending = r->queue_next;
          r->queue_next = fifo;
          fifo = r;
        }
        while (fifo) {
          relay* r = fifo;
          fifo = r->queue_next;
          r->queue_next = NULL;
          activate(r, &ended);
        }
        if (atomic_exchange(&g.abort_pending, false)) {
          for (relay* r = g.active; r;) {
            relay* following = r->next;
            if (atomic_load(&r->abort_requested)) finish(r, R_ABORTED, 0, 0, &ended);
            r = following;
          }
        }
        continue;
      }
      relay* r = (relay*)(uintptr_t)(data & ~(uint64_t)1);
      int side = (int)(data & 1);
      if (r->reason != R_NONE) continue;  // ended earlier in this batch
      // Socket `side` is the source of direction `side` and the destination of the other one.
      uint32_t ev = events[i].events;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r->dir[side].readable = true;
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) r->dir[1 - side].writable = true;
      if (ev & EPOLLERR) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(r->fd[side], SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
          finish(r, R_ERROR, soerr, side, &ended);
          continue;
        }
      }
      pump(r, &ended);
    }
    // Relays that used their round budget: more data is waiting that no new edge will report.
    relay* hot = g.hot;
    g.hot = NULL;
    while (hot) {
      relay* r = hot;
      hot = r->hot_next;
      r->hot = false;
      r->hot_prev = r->hot_next = NULL;
      if (hot) hot->hot_prev = NULL;
      pump(r, &ended);
    }
    if (g.next_scan <= now_ms()) idle_scan(&ended);
    deliver(ended);
  }
  return NULL;
}

// Starts the epoll thread once per process. Called on a JS thread; returns 0 or an errno.
static int ensure_loop(void) {
  pthread_mutex_lock(&g.mu);
  int err = 0;
  if (!g.started) {
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g.epfd < 0) err = errno;
    if (!err) {
      g.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (g.evfd < 0) err = errno;
    }
    if (!err) {
      struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
      if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.evfd, &ev) != 0) err = errno;
    }
    if (!err) {
      g.next_scan = UINT64_MAX;
      // Signals stay with Node's threads: the relay thread blocks them all (a SIGPIPE raised by a
      // splice into a reset socket is then discarded; Node ignores SIGPIPE anyway).
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      pthread_t thread;
      err = pthread_create(&thread, NULL, loop_main, NULL);
      pthread_sigmask(SIG_SETMASK, &old, NULL);
      if (!err) pthread_detach(thread);
    }
    if (err) {
      close_fd(&g.evfd);
      close_fd(&g.epfd);
    } else {
      g.started = true;
    }
  }
  pthread_mutex_unlock(&g.mu);
  return err;
}

static void wake_loop(void) {
  uint64_t one = 1;
  if (write(g.evfd, &one, sizeof one) < 0 && errno != EAGAIN) perror("meshproxy-tcp-relay: eventfd write");
}

// ---- JS thread -------------------------------------------------------------------------------

static size_t bucket_of(env_state* st, uint32_t id) { return (id * 2654435761u) & (st->nbuckets - 1); }

static relay* table_find(env_state* st, uint32_t id) {
  for (relay* r = st->buckets[bucket_of(st, id)]; r; r = r->table_next)
    if (r->id == id) return r;
  return NULL;
}

static bool table_insert(env_state* st, relay* r) {
  if (st->count + 1 > st->nbuckets) {  // keep chains short: grow at load factor 1
    size_t nb = st->nbuckets * 2;
    relay** fresh = calloc(nb, sizeof *fresh);
    if (!fresh) return false;
    relay** old = st->buckets;
    size_t on = st->nbuckets;
    st->buckets = fresh;
    st->nbuckets = nb;
    for (size_t i = 0; i < on; i++) {
      for (relay* x = old[i]; x;) {
        relay* following = x->table_next;
        size_t b = bucket_of(st, x->id);
        x->table_next = fresh[b];
        fresh[b] = x;
        x = following;
      }
    }
    free(old);
  }
  size_t b = bucket_of(st, r->id);
  r->table_next = st->buckets[b];
  st->buckets[b] = r;
  st->count++;
  return true;
}

static void table_remove(env_state* st, relay* r) {
  for (relay** p = &st->buckets[bucket_of(st, r->id)]; *p; p = &(*p)->table_next) {
    if (*p == r) {
      *p = r->table_next;
      st->count--;
      return;
    }
  }
}

static napi_value make_counts(napi_env env, relay* r) {
  napi_value obj, ab, ba;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_create_double(env, (double)atomic_load_explicit(&r->bytes[0], memory_order_relaxed), &ab));
  CHECK_NAPI(env, napi_create_double(env, (double)atomic_load_explicit(&r->bytes[1], memory_order_relaxed), &ba));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "bytesAtoB", ab));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "bytesBtoA", ba));
  return obj;
}

// The threadsafe function's JS-thread half: calls the relay's callback once, then frees it.
static void call_js(napi_env env, napi_value unused, void* context, void* data) {
  (void)unused;
  env_state* st = context;
  relay* r = data;
  if (env == NULL) {  // the environment is tearing down with this call still queued
    free(r);
    return;
  }
  table_remove(st, r);
  if (st->count == 0) napi_unref_threadsafe_function(env, st->tsfn);
  napi_value result = make_counts(env, r), reason, cb, undefined;
  if (result && napi_create_string_utf8(env, REASON_NAMES[r->reason], NAPI_AUTO_LENGTH, &reason) == napi_ok)
    napi_set_named_property(env, result, "reason", reason);
  if (result && r->reason == R_ERROR) {
    napi_value errno_value, side;
    if (napi_create_int32(env, -r->err, &errno_value) == napi_ok)
      napi_set_named_property(env, result, "errno", errno_value);
    if (napi_create_string_utf8(env, r->err_side == 0 ? "a" : "b", 1, &side) == napi_ok)
      napi_set_named_property(env, result, "side", side);
  }
  if (result && napi_get_reference_value(env, r->callback, &cb) == napi_ok && cb != NULL &&
      napi_get_undefined(env, &undefined) == napi_ok) {
    // A throw from the callback is left pending; Node reports it as an uncaught exception.
    napi_call_function(env, undefined, cb, 1, &result, NULL);
  }
  napi_delete_reference(env, r->callback);
  free(r);
}

static void throw_errno(napi_env env, int err, const char* what) {
  char msg[256];
  snprintf(msg, sizeof msg, "meshproxy-tcp-relay: %s failed: %s (errno %d)", what, strerror(err), err);
  napi_value message, error, errno_value;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, NULL, message, &error) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return;
  }
  if (napi_create_int32(env, -err, &errno_value) == napi_ok) napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
}

static bool arg_number(napi_env env, napi_value v, const char* name, double max, double* out) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, v, &type);
  double d = -1;
  if (type == napi_number) napi_get_value_double(env, v, &d);
  if (type != napi_number || !(d >= 0) || d > max || d != (double)(int64_t)d) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *out = d;
  return true;
}

// Reads an optional integer option; absent or undefined keeps *out.
static bool opt_number(napi_env env, napi_value opts, const char* name, double max, double* out) {
  bool has = false;
  if (napi_has_named_property(env, opts, name, &has) != napi_ok || !has) return true;
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok) return false;
  napi_typeof(env, v, &type);
  if (type == napi_undefined) return true;
  return arg_number(env, v, name, max, out);
}

static int check_stream_socket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return errno;
  return type == SOCK_STREAM ? 0 : EPROTOTYPE;
}

static int make_pipe(direction* d, size_t want) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
  d->pipe_r = p[0];
  d->pipe_w = p[1];
  // Best effort: an unprivileged process past fs.pipe-user-pages-soft (or asking more than
  // fs.pipe-max-size) gets EPERM; the relay then works with the pipe's default size.
  fcntl(d->pipe_w, F_SETPIPE_SZ, (int)want);
  int cap = fcntl(d->pipe_w, F_GETPIPE_SZ);
  d->cap = cap > 0 ? (size_t)cap : 65536;
  return 0;
}

static napi_value Relay(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  env_state* st = NULL;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK_NAPI(env, napi_get_instance_data(env, (void**)&st));
  double fda, fdb, idle = 0, pipe_size = DEFAULT_PIPE_SIZE;
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "relay(fdA, fdB, options, callback)");
    return NULL;
  }
  if (!arg_number(env, argv[0], "fdA", INT_MAX, &fda) || !arg_number(env, argv[1], "fdB", INT_MAX, &fdb)) return NULL;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  if (type != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options must be an object");
    return NULL;
  }
  if (!opt_number(env, argv[2], "idleTimeoutMs", 1e15, &idle) ||
      !opt_number(env, argv[2], "pipeSize", INT_MAX, &pipe_size))
    return NULL;
  napi_typeof(env, argv[3], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  if (fda == fdb) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "fdA and fdB must be different sockets");
    return NULL;
  }
  int err = check_stream_socket((int)fda);
  if (err) { throw_errno(env, err, "relay: fdA is not a stream socket:"); return NULL; }
  err = check_stream_socket((int)fdb);
  if (err) { throw_errno(env, err, "relay: fdB is not a stream socket:"); return NULL; }
  err = ensure_loop();
  if (err) { throw_errno(env, err, "starting the relay thread"); return NULL; }
  // libuv's uv_read_stop() only forgets the fd: its epoll keeps the registration until the next
  // readiness event, which may never reach it because this relay drains the socket first. The
  // caller has stopped libuv reading and writing these sockets, so libuv has no watcher for them
  // and would remove them itself on that event; remove them now so libuv's loop never wakes for
  // the relay's traffic. (ENOENT when already gone. A later uv_read_start re-adds them.)
  uv_loop_t* loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop != NULL) {
    int backend = uv_backend_fd(loop);
    if (backend >= 0) {
      epoll_ctl(backend, EPOLL_CTL_DEL, (int)fda, NULL);
      epoll_ctl(backend, EPOLL_CTL_DEL, (int)fdb, NULL);
    }
  }

  relay* r = calloc(1, sizeof *r);
  if (!r) { throw_errno(env, ENOMEM, "relay"); return NULL; }
  r->fd[0] = r->fd[1] = -1;
  for (int k = 0; k < 2; k++) r->dir[k].pipe_r = r->dir[k].pipe_w = -1;
  r->fd[0] = fcntl((int)fda, F_DUPFD_CLOEXEC, 0);
  if (r->fd[0] < 0) err = errno;
  if (!err) {
    r->fd[1] = fcntl((int)fdb, F_DUPFD_CLOEXEC, 0);
    if (r->fd[1] < 0) err = errno;
  }
  size_t want = pipe_size < MIN_PIPE_SIZE ? MIN_PIPE_SIZE : (size_t)pipe_size;
  for (int k = 0; !err && k < 2; k++) err = make_pipe(&r->dir[k], want);
  if (err) {
    free_relay_fds(r);
    free(r);
    throw_errno(env, err, "relay: dup/pipe");
    return NULL;
  }
  for (int k = 0; k < 2; k++) r->dir[k].readable = r->dir[k].writable = true;
  r->dir[0].src = r->fd[0];
  r->dir[0].dst = r->fd[1];
  r->dir[1].src = r->fd[1];
  r->dir[1].dst = r->fd[0];
  r->idle_ms = (uint64_t)idle;
  r->tsfn = st->tsfn;
  do {
    r->id = ++st->next_id;
  } while (r->id == 0 || table_find(st, r->id));
  if (napi_create_reference(env, argv[3], 1, &r->callback) != napi_ok || !table_insert(st, r)) {
    if (r->callback) napi_delete_reference(env, r->callback);
    free_relay_fds(r);
    free(r);
    throw_last_napi_error(env, "relay: registering the callback");
    return NULL;
  }
  // A running relay keeps the event loop alive (the paused JS sockets do not).
  if (st->count == 1) napi_ref_threadsafe_function(env, st->tsfn);

  pthread_mutex_lock(&g.mu);
  r->queue_next = g.pending;
  g.pending = r;
  pthread_mutex_unlock(&g.mu);
  wake_loop();

  napi_value id;
  CHECK_NAPI(env, napi_create_uint32(env, r->id, &id));
  return id;
}

static relay* arg_relay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  env_state* st = NULL;
  double id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
      napi_get_instance_data(env, (void**)&st) != napi_ok || argc < 1)
    return NULL;
  if (!arg_number(env, argv[0], "id", UINT32_MAX, &id)) return NULL;
  return table_find(st, (uint32_t)id);
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  relay* r = arg_relay(env, info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  if (!r) {
    napi_value nul;
    CHECK_NAPI(env, napi_get_null(env, &nul));
    return nul;
  }
  return make_counts(env, r);
}

static napi_value Abort(napi_env env, napi_callback_info info) {
  relay* r = arg_relay(env, info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  // The relay stays allocated until its callback has run on this thread, so the flag is safe to
  // set; the loop ignores it if the relay ended meanwhile.
  if (r) {
    atomic_store(&r->abort_requested, true);
    atomic_store(&g.abort_pending, true);
    wake_loop();
  }
  napi_value result;
  CHECK_NAPI(env, napi_get_boolean(env, r != NULL, &result));
  return result;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  env_state* st = NULL;
  CHECK_NAPI(env, napi_get_instance_data(env, (void**)&st));
  napi_value obj, active, epfd;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_create_uint32(env, (uint32_t)st->count, &active));
  pthread_mutex_lock(&g.mu);
  int fd = g.epfd;
  pthread_mutex_unlock(&g.mu);
  CHECK_NAPI(env, napi_create_int32(env, fd, &epfd));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "active", active));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "epollFd", epfd));
  return obj;
}

// Environment cleanup (process exit, or a worker_thread ending): relays still running are
// aborted and orphaned, so the epoll thread closes their fds and frees them without calling the
// threadsafe function, which Node deletes with the environment. Registered after the threadsafe
// function is created, so it runs before the threadsafe function's own cleanup.
static void env_teardown(void* data) {
  env_state* st = data;
  pthread_mutex_lock(&g.mu);
  bool any = false;
  for (size_t i = 0; i < st->nbuckets; i++) {
    for (relay* r = st->buckets[i]; r; r = r->table_next) {
      r->orphan = true;
      atomic_store(&r->abort_requested, true);
      any = true;
    }
  }
  pthread_mutex_unlock(&g.mu);
  if (any) {
    atomic_store(&g.abort_pending, true);
    wake_loop();
  }
  free(st->buckets);
  free(st);
}

static bool init_env(napi_env env) {
  env_state* st = calloc(1, sizeof *st);
  if (!st) return false;
  st->nbuckets = 64;
  st->buckets = calloc(st->nbuckets, sizeof *st->buckets);
  napi_value name;
  if (!st->buckets || napi_create_string_utf8(env, "meshproxy-tcp-relay", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, st, call_js, &st->tsfn) != napi_ok) {
    free(st->buckets);
    free(st);
    return false;
  }
  napi_unref_threadsafe_function(env, st->tsfn);  // ref'd only while relays run
  return napi_set_instance_data(env, st, NULL, NULL) == napi_ok &&
         napi_add_env_cleanup_hook(env, env_teardown, st) == napi_ok;
}

#else  // not Linux: same exports, each throws, so the package still installs for development.

static napi_value Unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, "ERR_NOT_SUPPORTED", "meshproxy-tcp-relay: splice(2) and epoll need Linux");
  return NULL;
}
#define Relay Unsupported
#define Stats Unsupported
#define Abort Unsupported
#define Info Unsupported
static bool init_env(napi_env env) {
  (void)env;
  return true;
}

#endif

static napi_value Init(napi_env env, napi_value exports) {
  if (!init_env(env)) {
    throw_last_napi_error(env, "initialising the relay state");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"relay", NULL, Relay, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, Stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"abort", NULL, Abort, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK_NAPI(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
