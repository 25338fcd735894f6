#include "layers/containers.hpp"

#include "autograd/ops.hpp"

namespace m3oe::nn {

Var Sequential::forward(const Var& x) {
  Var y = x;
  for (UnaryModule* layer : layers_) y = layer->forward(y);
  return y;
}

Var ReLU::forward(const Var& x) { return relu(x); }

Var Softmax::forward(const Var& x) { return softmax_rows(x); }

}  // namespace m3oe::nn
