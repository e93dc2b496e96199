// Batch normalization over the last (channel) axis of NHWC buffers: inference/training forward with given
// statistics, and the fused backward pass.
#include "common.h"

namespace gaplab {

void initBatchnorm(Napi::Env, Napi::Object) {}

}  // namespace gaplab
