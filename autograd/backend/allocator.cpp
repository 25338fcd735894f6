#include "autograd/backend/allocator.hpp"

// <cstdlib> first: __GLIBC__ is defined by the C library's own headers, so
// testing it before any of them is included is always false.
#include <cstdlib>

#if defined(__GLIBC__) && !M3OE_SANITIZER_HEAP
#define M3OE_GLIBC_MALLOPT 1
#include <malloc.h>
#else
#define M3OE_GLIBC_MALLOPT 0
#endif

namespace m3oe {

bool keep_freed_memory() {
#if M3OE_GLIBC_MALLOPT
  // M_MMAP_MAX = 0: no block is ever served by mmap, however large (glibc
  // caps M_MMAP_THRESHOLD at 32 MiB, and a 40,960-row activation is 94 MB,
  // so raising the threshold alone is not enough). M_TRIM_THRESHOLD = -1:
  // freed heap memory is never returned to the system, so the next step's
  // blocks come from memory that is already mapped and faulted in.
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, -1) == 1;
  return no_mmap && no_trim;
#else
  return false;
#endif
}

}  // namespace m3oe
