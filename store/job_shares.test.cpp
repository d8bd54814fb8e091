// Each job's share of a store: counted as its objects come and go (in memory
// only), refused past the limit with a named error, spilled by job, and
// counted again after a holder of the lock died.

#include "store/job_shares.hpp"

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <csignal>
#include <pthread.h>

#include "store/object_store.hpp"
#include "store/test_processes.hpp"
#include "troupe/errors.hpp"

using namespace troupe::store;
using namespace troupe::store::test;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

std::uint64_t make_sealed(object_store& s, std::uint64_t seq, std::size_t size,
                          std::uint64_t job) {
  auto w = s.create(object_id{9, seq}, size, 1, "blob", encoding::caf_binary, job);
  s.seal(w.offset);
  return w.offset;
}

/// Returns the job_store_limit_error's message, or "" when none was thrown.
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const troupe::job_store_limit_error& e) {
    CHECK(e.kind() == troupe::error_kind::job_store_limit);
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("the table counts each job's bytes, drops a job at 0 and keeps entries packed") {
  auto c = std::make_unique<store_control>();
  charge_job(*c, 7, 100);
  charge_job(*c, 8, 50);
  charge_job(*c, 0, 999); // no job: not counted
  CHECK(c->job_count == 2);
  CHECK(job_bytes(*c, 7) == 100);
  CHECK(job_bytes(*c, 8) == 50);
  CHECK(job_bytes(*c, 0) == 0);
  charge_job(*c, 7, -100);
  CHECK(c->job_count == 1); // job 8 moved into its place
  CHECK(job_bytes(*c, 7) == 0);
  CHECK(job_bytes(*c, 8) == 50);
  charge_job(*c, 9, -10); // nothing to take from
  CHECK(c->job_count == 1);
  charge_job(*c, 8, -80); // never below zero
  CHECK(c->job_count == 0);
}

TEST_CASE("past the limit a job is refused, naming the job, its share and the limit; "
          "other jobs and job 0 are not") {
  auto c = std::make_unique<store_control>();
  c->job_limit = 10 * mib;
  charge_job(*c, 3, 9 * mib);
  CHECK(job_fits(*c, 3, mib));
  CHECK_FALSE(job_fits(*c, 3, mib + 1));
  check_job_room(*c, 3, mib);
  auto why = refusal([&] { check_job_room(*c, 3, 2 * mib); });
  CHECK(why.find("job 3 holds 9.0 MiB") != std::string::npos);
  CHECK(why.find("2.0 MiB more") != std::string::npos);
  CHECK(why.find("limit of 10.0 MiB") != std::string::npos);
  CHECK(why.find("--max-job-store-bytes") != std::string::npos);
  CHECK(refusal([&] { check_job_room(*c, 4, 10 * mib); }).empty());
  CHECK_FALSE(refusal([&] { check_job_room(*c, 4, 10 * mib + 1); }).empty());
  CHECK(refusal([&] { check_job_room(*c, 0, 100 * mib); }).empty());
  c->job_limit = 0; // no limit
  CHECK(refusal([&] { check_job_room(*c, 3, 100 * mib); }).empty());
}

TEST_CASE("a full table refuses a new job, not one that holds objects already") {
  auto c = std::make_unique<store_control>();
  for (std::uint64_t j = 1; j <= max_jobs; ++j)
    charge_job(*c, j, 1);
  CHECK(c->job_count == max_jobs);
  check_job_room(*c, 5, 1);
  auto why = refusal([&] { check_job_room(*c, max_jobs + 1, 1); });
  CHECK(why.find("1024 other jobs") != std::string::npos);
}

TEST_CASE("a store counts a job's objects in memory: made, spilled, read back, freed") {
  temp_folder dir{"troupe_job_test_"};
  heap_allocator alloc{32 * mib};
  object_store store{alloc};
  store.set_spill_dir(dir.path);
  store.set_job_limit(6 * mib);
  CHECK(store.job_limit() == 6 * mib);
  auto a = make_sealed(store, 1, 2 * mib, 5);
  auto b = make_sealed(store, 2, 2 * mib, 5);
  auto held = store.job_bytes(5);
  CHECK(held > 4 * mib); // data and headers
  CHECK(held < 4 * mib + 8192);
  CHECK(store.job_bytes(6) == 0);
  // A third one would pass 6 MiB: refused, and nothing is made.
  auto objects = store.stats().live_objects;
  auto why = refusal([&] { make_sealed(store, 3, 2 * mib, 5); });
  CHECK(why.find("job 5") != std::string::npos);
  CHECK(store.stats().live_objects == objects);
  // Another job and objects of no job are not held back by job 5.
  auto other = make_sealed(store, 4, 5 * mib, 6);
  auto none = make_sealed(store, 5, 8 * mib, 0);
  // Spilling job 5's oldest makes room in its share, and only job 5's.
  auto out = store.spill_job(5, 2 * mib);
  CHECK(out.error.empty());
  CHECK(out.objects == 1);
  CHECK(store.place(a).where == "spilled");
  CHECK(store.place(other).where == "memory");
  CHECK(store.job_bytes(5) < 3 * mib);
  auto c = make_sealed(store, 3, 2 * mib, 5);
  // Read back: counted again, past the limit if need be (the reader needs it).
  auto before = store.job_bytes(5);
  store.read(a);
  CHECK(store.job_bytes(5) == before + 2 * mib);
  store.end_read(a);
  // A fallback object counts its header only, and is never refused.
  auto d = store.create_on_disk(object_id{9, 6}, 4 * mib, 1, "blob", encoding::caf_binary,
                                nullptr, 5);
  store.seal(d.offset);
  CHECK(store.job_bytes(5) < before + 2 * mib + 4096);
  for (auto o : {a, b, c, d.offset, other, none})
    CHECK(store.unpin(o));
  CHECK(store.job_bytes(5) == 0);
  CHECK(store.job_bytes(6) == 0);
  CHECK(store.stats().bytes_in_use == 0);
}

TEST_CASE("spill_job says why it cannot help: spilling off, or nothing of the job's to spill") {
  heap_allocator alloc{16 * mib};
  object_store store{alloc};
  store.set_job_limit(mib);
  auto a = make_sealed(store, 1, mib / 2, 5);
  CHECK(store.spill_job(5, mib).error.find("spilling is off") != std::string::npos);
  temp_folder dir{"troupe_job_test_"};
  store.set_spill_dir(dir.path);
  store.read(a); // read: it stays
  CHECK(store.spill_job(5, mib).objects == 0);
  store.end_read(a);
  CHECK(store.unpin(a));
}

TEST_CASE("a process killed while it holds the lock leaves each job's share counted right") {
  segment_guard seg{"job_shares_test"};
  auto alloc = shm_allocator::create(seg.name, 16 * mib);
  object_store store{*alloc};
  store.set_job_limit(8 * mib);
  auto kept = make_sealed(store, 1, 2 * mib, 5);
  auto expected = store.job_bytes(5);
  // A child makes objects of job 5 and 6, then dies holding the lock:
  // its objects go, and the shares are counted again from what is left.
  // (It also leaves job 5's entry wrong, as a death in the middle of a
  // change would: only counting again from the headers puts it right.)
  auto pid = spawn([&] {
    auto child_alloc = shm_allocator::open(seg.name);
    object_store child{*child_alloc};
    make_sealed(child, 2, mib, 5);
    make_sealed(child, 3, mib, 6);
    auto& c = *reinterpret_cast<store_control*>(child_alloc->base());
    ::pthread_mutex_lock(&c.mutex);
    c.jobs[0].bytes += 12345;
    ::raise(SIGKILL);
    return 0;
  });
  CHECK(wait_status(pid) == 128 + SIGKILL);
  store.reap_dead();
  CHECK(store.job_bytes(5) == expected);
  CHECK(store.job_bytes(6) == 0);
  CHECK(store.unpin(kept));
  CHECK(store.job_bytes(5) == 0);
}
