#include "autograd/backend/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace m3oe {

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // blocks up to 1 GiB come from the heap
  mallopt(M_TRIM_THRESHOLD, -1);       // and the heap is never trimmed back
#endif
}

}  // namespace m3oe
