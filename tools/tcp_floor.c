/* The loopback TCP floor (tcp_floor.h): one stream's throughput and a
 * ping-pong's round trip. Built into `troupe microbenchmark` and, with
 * TROUPE_TCP_FLOOR_MAIN, as the executable `troupe-tcp-floor`. */
#define _GNU_SOURCE
#include "tcp_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A listening socket on 127.0.0.1 at a port the kernel picks; fills `addr`
 * with where to connect. Returns -1 on failure. */
static int listen_loopback(struct sockaddr_in* addr) {
  socklen_t len = sizeof(*addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)addr, sizeof(*addr)) != 0 || listen(fd, 1) != 0 ||
      getsockname(fd, (struct sockaddr*)addr, &len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int connect_to(const struct sockaddr_in* addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr*)addr, sizeof(*addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads exactly `n` bytes; returns 0, or -1 on error or end of stream. */
static int read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t put = write(fd, p, n);
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0)
      return -1;
    p += put;
    n -= (size_t)put;
  }
  return 0;
}

/* -- one stream ----------------------------------------------------------- */

struct receiver {
  int listener;
  size_t total;
  size_t chunk;
  int ok;
};

static void* receive_stream(void* arg) {
  struct receiver* r = arg;
  int fd = accept4(r->listener, NULL, NULL, SOCK_CLOEXEC);
  /* Touched before the clock starts: first-touch page faults are not TCP's. */
  char* buf = calloc(1, r->chunk);
  size_t left = r->total;
  while (fd >= 0 && buf != NULL && left > 0) {
    ssize_t got = read(fd, buf, left < r->chunk ? left : r->chunk);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    left -= (size_t)got;
  }
  r->ok = left == 0;
  free(buf);
  if (fd >= 0)
    close(fd);
  return NULL;
}

double troupe_tcp_stream_gigabytes(size_t total_bytes, size_t write_bytes) {
  struct sockaddr_in addr;
  struct receiver r = {listen_loopback(&addr), total_bytes, write_bytes, 0};
  if (r.listener < 0 || write_bytes == 0)
    return -1;
  pthread_t thread;
  if (pthread_create(&thread, NULL, receive_stream, &r) != 0) {
    close(r.listener);
    return -1;
  }
  int fd = connect_to(&addr);
  char* buf = malloc(write_bytes);
  if (buf != NULL)
    memset(buf, 1, write_bytes);
  double t0 = now_s();
  size_t left = fd >= 0 && buf != NULL ? total_bytes : 0;
  while (left > 0) {
    size_t n = left < write_bytes ? left : write_bytes;
    if (write_all(fd, buf, n) != 0)
      break;
    left -= n;
  }
  if (fd >= 0)
    close(fd); /* ends a receiver still waiting after a failed write */
  pthread_join(thread, NULL);
  double took = now_s() - t0;
  free(buf);
  close(r.listener);
  return r.ok && left == 0 ? (double)total_bytes / took / 1e9 : -1;
}

/* -- ping-pong ------------------------------------------------------------ */

/* The forked child: only async-signal-safe calls from here on. */
static void echo_child(const struct sockaddr_in* addr, int rounds, size_t n) {
  char buf[4096];
  int one = 1;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Drops the parent's sockets (and whatever else it had open): the peers
   * of those must not see them held open by this child. */
  syscall(436 /* close_range */, 3u, ~0u, 0u);
  int fd = connect_to(addr);
  if (fd < 0)
    _exit(1);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  for (int i = 0; i < rounds; ++i)
    if (read_all(fd, buf, n) != 0 || write_all(fd, buf, n) != 0)
      _exit(1);
  _exit(0);
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

double troupe_tcp_roundtrip_p50_us(int rounds, size_t message_bytes) {
  const int warm_up = 200;
  char buf[4096];
  struct sockaddr_in addr;
  if (rounds <= 0 || message_bytes == 0 || message_bytes > sizeof(buf))
    return -1;
  double* took = malloc(sizeof(double) * (size_t)rounds); /* before the fork */
  int listener = listen_loopback(&addr);
  if (took == NULL || listener < 0) {
    free(took);
    if (listener >= 0)
      close(listener);
    return -1;
  }
  pid_t child = fork();
  if (child == 0)
    echo_child(&addr, warm_up + rounds, message_bytes);
  int fd = child > 0 ? accept4(listener, NULL, NULL, SOCK_CLOEXEC) : -1;
  int one = 1, done = 0;
  memset(buf, 7, message_bytes);
  if (fd >= 0) {
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (; done < warm_up + rounds; ++done) {
      double t0 = now_s();
      if (write_all(fd, buf, message_bytes) != 0 || read_all(fd, buf, message_bytes) != 0)
        break;
      if (done >= warm_up)
        took[done - warm_up] = (now_s() - t0) * 1e6;
    }
    close(fd);
  }
  close(listener);
  if (child > 0) {
    if (done < warm_up + rounds)
      kill(child, SIGKILL);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  double p50 = -1;
  if (done == warm_up + rounds) {
    qsort(took, (size_t)rounds, sizeof(double), by_value);
    p50 = took[rounds / 2];
  }
  free(took);
  return p50;
}

#ifdef TROUPE_TCP_FLOOR_MAIN
/* troupe-tcp-floor [--quick]: the two floors as `troupe microbenchmark`
 * prints figures (name value unit). */
int main(int argc, char** argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) {
    fprintf(stderr, "usage: troupe-tcp-floor [--quick]\n");
    return 2;
  }
  double gbs = troupe_tcp_stream_gigabytes(quick ? 500000000u : 2000000000u, 1u << 20);
  double us = troupe_tcp_roundtrip_p50_us(quick ? 5000 : 20000, 64);
  if (gbs < 0 || us < 0) {
    fprintf(stderr, "troupe-tcp-floor: a socket call failed: %s\n", strerror(errno));
    return 1;
  }
  printf("tcp_stream_gigabytes %.2f GB/s\n", gbs);
  printf("tcp_roundtrip_us %.1f us\n", us);
  return 0;
}
#endif
