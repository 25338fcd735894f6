// allocator.hpp: keep freed tensor memory in the process.
//
// A training step allocates and frees the same large temporaries (activations,
// gradients) every step. glibc serves blocks over 128 KiB with mmap and gives
// them back with munmap, so every step pays page faults and zeroing of fresh
// pages: measured as 35% of a step's time in the kernel (perf, 1 thread,
// synthetic data). Turning mmap off and never trimming the heap keeps those
// blocks on the heap for reuse, so a steady-state step takes no new pages
// from the system (benchmarks/bench_step reports page faults per step).
// Called once by the m3oe program and the benchmarks.
#pragma once

namespace m3oe {

// True where a sanitizer (AddressSanitizer, ThreadSanitizer, MemorySanitizer)
// replaces malloc: its allocator ignores glibc's mallopt, so there is nothing
// to set (and its quarantine would defeat reuse anyway).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define M3OE_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define M3OE_SANITIZER_HEAP 1
#endif
#endif
#ifndef M3OE_SANITIZER_HEAP
#define M3OE_SANITIZER_HEAP 0
#endif

// Idempotent. Returns whether both settings took: false where glibc's
// mallopt is not available or a sanitizer owns the heap (then it does
// nothing).
bool keep_freed_memory();

}  // namespace m3oe
