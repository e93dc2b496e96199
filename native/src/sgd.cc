// One SGD-momentum update per variable in one pass (weight decay, momentum buffer, Nesterov), in the float32
// operations and order of src/train/optimizer.ts's tfjs ops: the same bits, six elementwise kernels fewer.
#include <cstdint>

#include "common.h"

namespace gaplab {
namespace {

/** sgdMomentum(w, g, m, wOut, mOut, weightDecay, momentum, lr, nesterov): per value, in float32 with one rounding per
 *  operation (no fused multiply-add: the build disables contraction), as the ops g += w * wd (when wd != 0);
 *  m' = m * momentum + g; step = nesterov ? g + m' * momentum : m'; w' = w - step * lr. wOut may be w and mOut m. */
Napi::Value SgdMomentum(const Napi::CallbackInfo& info) {
  const F32 w = f32Arg(info, 0, "w"), g = f32Arg(info, 1, "g"), m = f32Arg(info, 2, "m");
  const F32 wOut = f32Arg(info, 3, "wOut"), mOut = f32Arg(info, 4, "mOut");
  const float wd = static_cast<float>(numArg(info, 5, "weightDecay"));
  const float mom = static_cast<float>(numArg(info, 6, "momentum"));
  const float lr = static_cast<float>(numArg(info, 7, "lr"));
  require(info.Length() > 8 && info[8].IsBoolean(), "nesterov must be a boolean");
  const bool nesterov = info[8].As<Napi::Boolean>().Value();
  const int64_t n = static_cast<int64_t>(w.len);
  requireLen(g, n, "g");
  requireLen(m, n, "m");
  requireLen(wOut, n, "wOut");
  requireLen(mOut, n, "mOut");
  const float *pw = w.data, *pg = g.data, *pm = m.data;
  float *ow = wOut.data, *om = mOut.data;
  parallelFor(n, 1 << 16, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const float wi = pw[i];
      const float gi = wd != 0.f ? pg[i] + wi * wd : pg[i];
      const float buf = pm[i] * mom + gi;
      const float step = nesterov ? gi + buf * mom : buf;
      om[i] = buf;
      ow[i] = wi - step * lr;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void initSgd(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdMomentum", Napi::Function::New(env, guarded<SgdMomentum>, "sgdMomentum"));
}

}  // namespace gaplab
