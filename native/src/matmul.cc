// Batched matrix products on oneDNN's sgemm (row-major), or in bf16 mode on oneDNN's bf16 matmul where the product is
// large enough, with broadcast batches and an optional bias + activation epilogue for tfjs's _FusedMatMul.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "bf16.h"
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

/** Whether a product runs in bf16 (in bf16 mode). Rounding the operands costs time in proportion to m*k + k*n, the
 *  faster dot products save it in proportion to m*n*k: measured on AVX512_BF16 (2 threads), bf16 won from about
 *  m*n/(m+n) >= 96 multiply-adds per rounded element and 2^24 multiply-adds per product (256^3: 0.16 -> 0.13 ms,
 *  1024^3: 10.8 -> 6.4 ms), and lost below (64x2048 by 2048x1000: 1.35 -> 1.65 ms; a dense layer's 64 x 12288 x 10:
 *  0.18 -> 0.48 ms). The rule depends on the shape only, so reruns compute identically. */
bool bf16Worth(int64_t m, int64_t n, int64_t k) { return m * n >= 96 * (m + n) && m * n * k >= (int64_t{1} << 24); }

/** One bf16 product shape: op(a) [m, k] x op(b) [k, n] -> y [m, n] fp32, transposes as strides. */
struct Bf16Product {
  dnnl::matmul prim;
  dnnl::memory::desc a, b, y;
};

/** Primitives by shape and thread count (a primitive is tuned for the threads it was made with); bounded. */
std::unordered_map<std::string, Bf16Product> gBf16Products;
constexpr size_t kMaxBf16Products = 256;

const Bf16Product& bf16Product(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  const std::string key = std::to_string(m) + "," + std::to_string(n) + "," + std::to_string(k) + "," +
                          std::to_string(ta) + "," + std::to_string(tb) + "," + std::to_string(maxThreads());
  auto it = gBf16Products.find(key);
  if (it != gBf16Products.end()) return it->second;
  if (gBf16Products.size() >= kMaxBf16Products) gBf16Products.clear();
  using dt = dnnl::memory::data_type;
  const dnnl::memory::desc a({m, k}, dt::bf16, ta ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
  const dnnl::memory::desc b({k, n}, dt::bf16, tb ? dnnl::memory::dims{1, k} : dnnl::memory::dims{n, 1});
  const dnnl::memory::desc y({m, n}, dt::f32, dnnl::memory::dims{n, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, y), cpuEngine());
  return gBf16Products.emplace(key, Bf16Product{dnnl::matmul(pd), a, b, y}).first->second;
}

/** bf16 copies of the current operands, kept for reuse (calls come one at a time from JavaScript). */
std::vector<uint16_t> gA16, gB16;

/** y[i] = op(a[i]) x op(b[i]) for every batch entry, operands rounded to bf16, products summed in fp32. */
void bf16Matmul(const float* a, const float* b, float* y, int64_t ba, int64_t bb, int64_t m, int64_t n, int64_t k,
                bool ta, bool tb) {
  const Bf16Product& p = bf16Product(m, n, k, ta, tb);
  gA16.resize(static_cast<size_t>(ba * m * k));
  gB16.resize(static_cast<size_t>(bb * k * n));
  toBf16Parallel(a, gA16.data(), ba * m * k);
  toBf16Parallel(b, gB16.data(), bb * k * n);
  auto& eng = cpuEngine();
  auto& strm = cpuStream();
  dnnl::memory am(p.a, eng, DNNL_MEMORY_NONE), bm(p.b, eng, DNNL_MEMORY_NONE), ym(p.y, eng, DNNL_MEMORY_NONE);
  for (int64_t i = 0; i < std::max(ba, bb); i++) {
    am.set_data_handle(gA16.data() + (ba == 1 ? 0 : i) * m * k);
    bm.set_data_handle(gB16.data() + (bb == 1 ? 0 : i) * k * n);
    ym.set_data_handle(y + i * m * n);
    p.prim.execute(strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, ym}});
  }
  strm.wait();
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
  if (bf16Mode() && bf16Worth(m, n, k)) {
    bf16Matmul(a.data, b.data, y.data, ba, bb, m, n, k, ta, tb);
  } else {
    for (int64_t i = 0; i < batch; i++) {
      const float* pa = a.data + (ba == 1 ? 0 : i) * m * k;
      const float* pb = b.data + (bb == 1 ? 0 : i) * k * n;
      float* py = y.data + i * m * n;
      const dnnl_status_t st =
          dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, pa, lda, pb, ldb, 0.f, py, n);
      if (st != dnnl_success) throw std::runtime_error("matmul: dnnl_sgemm failed");
    }
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
