// Batched matrix products on oneDNN's sgemm (row-major), with broadcast batches and an optional bias + activation
// epilogue for tfjs's _FusedMatMul.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace gaplab {
namespace {

/** Activations of _FusedMatMul (same codes as the conv kernels): linear, relu, relu6, elu, sigmoid, leakyrelu. */
inline float activate(int act, float v, float alpha) {
  switch (act) {
    case 1: return v < 0.f ? 0.f : v;
    case 2: return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case 3: return v >= 0.f ? v : std::exp(v) - 1.f;
    case 4: return 1.f / (1.f + std::exp(-v));
    case 5: return v < 0.f ? alpha * v : v;
    default: return v;
  }
}

/** matmul(a, b, y, dims Int32Array[batchA, batchB, m, n, k, transA, transB], bias|null, act, alpha):
 *  y[bt] = op(a[bt]) x op(b[bt]) (+ bias[n]) then activation; a batch of 1 broadcasts. */
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const F32 a = f32Arg(info, 0, "a"), b = f32Arg(info, 1, "b"), y = f32Arg(info, 2, "y");
  const std::vector<int64_t> d = intsArg(info, 3, 7, "dims");
  const F32 bias = f32OptArg(info, 4, "bias");
  const int act = static_cast<int>(intArg(info, 5, "activation"));
  const float alpha = static_cast<float>(numArg(info, 6, "alpha"));
  const int64_t ba = d[0], bb = d[1], m = d[2], n = d[3], k = d[4];
  const bool ta = d[5] != 0, tb = d[6] != 0;
  require(ba >= 1 && bb >= 1 && m >= 1 && n >= 1 && k >= 1, "matmul: sizes must be >= 1");
  require(ba == bb || ba == 1 || bb == 1, "matmul: batch sizes do not broadcast");
  require(act >= 0 && act <= 5, "matmul: unknown activation");
  const int64_t batch = std::max(ba, bb);
  requireLen(a, ba * m * k, "a");
  requireLen(b, bb * k * n, "b");
  requireLen(y, batch * m * n, "y");
  if (bias.data) requireLen(bias, n, "bias");
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  for (int64_t i = 0; i < batch; i++) {
    const float* pa = a.data + (ba == 1 ? 0 : i) * m * k;
    const float* pb = b.data + (bb == 1 ? 0 : i) * k * n;
    float* py = y.data + i * m * n;
    const dnnl_status_t st =
        dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, pa, lda, pb, ldb, 0.f, py, n);
    if (st != dnnl_success) throw std::runtime_error("matmul: dnnl_sgemm failed");
  }
  if (bias.data || act != 0) {
    const float* pbias = bias.data;
    float* py = y.data;
    parallelFor(batch * m, std::max<int64_t>(1, (1 << 15) / n), [=](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; r++) {
        float* row = py + r * n;
        for (int64_t j = 0; j < n; j++) row[j] = activate(act, pbias ? row[j] + pbias[j] : row[j], alpha);
      }
    });
  }
  return info.Env().Undefined();
}

}  // namespace

void initMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, guarded<Matmul>, "matmul"));
}

}  // namespace gaplab
