#pragma once

#include <cstddef>
#include <functional>

// Page faults of a shared-memory segment are what a fresh store spends its
// first writes on. Measured on the 2-core VM (a 400 MB range of a /dev/shm
// file, medians of a loaded machine): memcpy into pages that never existed
// ran at 0.6-0.7 GB/s (a write fault per 4 KiB page, allocating it); into
// pages that exist but are not mapped in the writing process at 1.2-1.6 GB/s
// (a write fault per page); into mapped pages at 8 GB/s. Shared memory gets
// no transparent huge pages here (shmem_enabled=never) and no hugetlb pages
// are reserved.

namespace troupe::store {

/// The kernel's fault-around window (`fault_around_bytes`, 64 KiB by
/// default): a read fault on a file mapping maps up to this many bytes of
/// pages that exist and were written or zero-filled, a write fault only its
/// own page.
constexpr std::size_t fault_around_bytes = 64 * 1024;

/// Maps the pages of [p, p + n) that exist already into this process with
/// one read fault per 64 KiB instead of one write fault per page: 0.02-0.05 s
/// instead of 0.3 s for 400 MB. A page that does not exist yet is allocated
/// by its read (one per 64 KiB; the writes allocate the others, as before).
/// Changes no byte.
void map_for_writing(const std::byte* p, std::size_t n) noexcept;

/// Reads one byte of each page of [p, p + n): a page that does not exist is
/// allocated zero-filled, one whose allocation was reserved (allocator::
/// reserve) is zero-filled; both are then ready for other processes'
/// fault-around. Read faults only, so a page another process is writing
/// keeps its bytes. 0.4 s for 400 MB here.
void fault_in(const std::byte* p, std::size_t n) noexcept;

/// Calls `fn(at, len, exists)` for each run of pages of [p, p + n) that
/// exist in the mapped file (or do not), in order, `at` counted from `p`.
/// `p` and `n` are whole pages. A page exists when its file has it, mapped
/// in this process or not (mincore). When that cannot be asked, it is one
/// run that exists.
void for_each_page_run(const std::byte* p, std::size_t n,
                       const std::function<void(std::size_t at, std::size_t len,
                                                bool exists)>& fn);

} // namespace troupe::store
