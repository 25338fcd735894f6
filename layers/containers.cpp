#include "layers/containers.hpp"

#include "autograd/ops.hpp"

namespace m3oe::nn {

Var Sequential::forward(const Var& x) try {
  Var y = x;
  for (UnaryModule* layer : layers_) y = layer->forward(y);
  return y;
} catch (...) {
  rethrow_in_module(*this);
}

Var ReLU::forward(const Var& x) { return relu(x); }

Var Tanh::forward(const Var& x) { return tanh(x); }

Var Sigmoid::forward(const Var& x) { return sigmoid(x); }

Var Softmax::forward(const Var& x) { return softmax_rows(x); }

}  // namespace m3oe::nn
