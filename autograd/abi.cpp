// The symbol that autograd/abi.hpp makes every including file reference: the
// float library defines m3oe_abi_v1_f32_align64, the double one ..._f64_...
#include "autograd/abi.hpp"

extern "C" const int M3OE_ABI_SYMBOL = M3OE_ABI_VERSION;
