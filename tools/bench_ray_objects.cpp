// The object rows of the Ray suite. Ray's `ray.put` always writes into the
// node's store (plasma), whatever the size: so do these rows, with
// `put(v, {.in_store = true})`.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include <sys/mman.h>

#include "tools/bench_ray.hpp"
#include "tools/bench_ray_support.hpp"

namespace troupe::tools {

namespace {

constexpr troupe::put_options in_store{.in_store = true};

/// A block of `n` zero int64 allocated as numpy's `np.zeros` allocates
/// what Ray puts: `calloc`, never written, and from 4 MiB on advised to the
/// kernel as huge pages (numpy's `indicate_hugepages`), so that its first
/// read maps the huge zero page once per 2 MiB rather than the zero page
/// once per 4 KiB. The array frees the block with its last copy.
troupe::shared_array<std::int64_t> untouched_zeros(std::size_t n) {
  auto* p = static_cast<std::int64_t*>(std::calloc(n, sizeof(std::int64_t)));
  if (!p)
    throw std::bad_alloc();
  constexpr std::size_t numpy_hugepage_from = 4u << 20;
  if (auto bytes = n * sizeof(std::int64_t); bytes >= numpy_hugepage_from) {
    // As numpy: from the first page boundary in the block, errors ignored.
    auto start = (reinterpret_cast<std::uintptr_t>(p) + 4095) & ~std::uintptr_t{4095};
    auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
    ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  }
  return {p, n, std::shared_ptr<const void>(p, [](const void* q) {
            std::free(const_cast<void*>(q));
          })};
}

} // namespace

/// Ray's `do_put_small`: 100 small puts into the store, refs dropped.
std::int64_t ray_do_put_small() {
  for (int i = 0; i < 100; ++i)
    (void)troupe::put(std::int64_t{0}, in_store);
  return 1;
}
TROUPE_REMOTE(ray_do_put_small);

/// Ray's `do_put`: 10 puts of a fresh 80 MiB zero array each, refs dropped.
std::int64_t ray_do_put() {
  for (int i = 0; i < 10; ++i)
    (void)troupe::put(untouched_zeros(10 * 1024 * 1024), in_store);
  return 1;
}
TROUPE_REMOTE(ray_do_put);

/// Ray's `create_object_containing_ref`: 10,000 small puts owned by this
/// task's worker, returned as one list of refs.
std::vector<troupe::object_ref<std::int64_t>> ray_create_object_containing_ref() {
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(10'000);
  for (int i = 0; i < 10'000; ++i)
    refs.push_back(troupe::put(std::int64_t{1}, in_store));
  return refs;
}
TROUPE_REMOTE(ray_create_object_containing_ref);

} // namespace troupe::tools

namespace troupe::tools::bench {

void ray_get_calls(const bench_config& cfg, bench_samples& out) {
  auto value = troupe::put(std::int64_t{0}, in_store);
  ray_timeit(cfg, out, "ray_single_client_get_calls_plasma_store", 1,
             [&] { check(troupe::get(value, cfg.timeout) == 0, "got value"); });
}

void ray_put_calls(const bench_config& cfg, bench_samples& out) {
  ray_timeit(cfg, out, "ray_single_client_put_calls_plasma_store", 1,
             [] { (void)troupe::put(std::int64_t{0}, in_store); });
}

void ray_multi_client_put_calls(const bench_config& cfg, bench_samples& out) {
  auto put_small = troupe::task(ray_do_put_small, one_cpu);
  ray_timeit(cfg, out, "ray_multi_client_put_calls_plasma_store", 1000, [&] {
    std::vector<int_ref> refs;
    for (int i = 0; i < 10; ++i)
      refs.push_back(put_small.remote());
    get_all(refs, cfg);
  });
}

/// 800 MiB of untouched zeros put again and again, counted as 0.8 (GB) per
/// put as Ray counts it (the true size is 0.839 GB).
void ray_put_gigabytes(const bench_config& cfg, bench_samples& out) {
  auto arr = untouched_zeros(100 * 1024 * 1024);
  ray_timeit(cfg, out, "ray_single_client_put_gigabytes", 0.8,
             [&] { (void)troupe::put(arr, in_store); });
}

/// 10 tasks of 10 fresh 80 MiB puts each, counted as 8 (GB) as Ray does.
void ray_multi_client_put_gigabytes(const bench_config& cfg, bench_samples& out) {
  auto put_big = troupe::task(ray_do_put, one_cpu);
  ray_timeit(cfg, out, "ray_multi_client_put_gigabytes", 8, [&] {
    std::vector<int_ref> refs;
    for (int i = 0; i < 10; ++i)
      refs.push_back(put_big.remote());
    get_all(refs, cfg);
  });
}

/// The driver gets a list of 10,000 refs owned by the worker that made them:
/// each get decodes them into refs borrowed from that worker.
void ray_get_object_with_10k_refs(const bench_config& cfg, bench_samples& out) {
  auto holder = troupe::task(ray_create_object_containing_ref, one_cpu).remote();
  ray_timeit(cfg, out, "ray_single_client_get_object_containing_10k_refs", 1, [&] {
    check(troupe::get(holder, cfg.timeout).size() == 10'000, "10k refs back");
  });
}

} // namespace troupe::tools::bench
