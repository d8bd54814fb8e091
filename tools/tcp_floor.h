#pragma once

/* What loopback TCP itself does on this machine, the floor that troupe's
 * figures are divided by (BENCHMARKS.md: tcp_stream_gigabytes,
 * tcp_roundtrip_us and the *_floor_ratio rows). Plain C and POSIX sockets,
 * no troupe, so that the floor is what the kernel gives any program. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the throughput in GB/s (1e9 bytes) of one loopback TCP stream
 * moving `total_bytes` in writes of `write_bytes` from a sender thread to a
 * receiver thread of this process, or a negative value when a socket call
 * failed. */
double troupe_tcp_stream_gigabytes(size_t total_bytes, size_t write_bytes);

/* Returns the median round trip in microseconds of `rounds` ping-pongs of
 * `message_bytes` (at most 4096) over loopback TCP with TCP_NODELAY between
 * this process and a child it forks (two processes, as a driver and a worker
 * are), or a negative value when a socket call failed. The child runs only
 * system calls, so forking a multi-threaded program is safe. */
double troupe_tcp_roundtrip_p50_us(int rounds, size_t message_bytes);

#ifdef __cplusplus
}
#endif
