// Batch normalization over the last (channel) axis of NHWC buffers: forward with given statistics, and the
// gradients of tfjs's FusedBatchNorm (x, mean, variance, scale, offset) in two passes instead of ~10 tfjs ops.
#include <cmath>

#include "common.h"

namespace gaplab {
namespace {

/** batchNormForward(x, mean, variance, offset|null, scale|null, y, channels, epsilon):
 *  y = offset + (x - mean) * scale / sqrt(variance + epsilon), parameters of length `channels`. */
Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  const F32 x = f32Arg(info, 0, "x"), mean = f32Arg(info, 1, "mean"), var = f32Arg(info, 2, "variance");
  const F32 off = f32OptArg(info, 3, "offset"), scale = f32OptArg(info, 4, "scale"), y = f32Arg(info, 5, "y");
  const int64_t c = intArg(info, 6, "channels");
  const double eps = numArg(info, 7, "epsilon");
  require(c >= 1 && x.len % static_cast<size_t>(c) == 0, "batchNorm: x is not a multiple of the channel count");
  requireLen(mean, c, "mean");
  requireLen(var, c, "variance");
  if (off.data) requireLen(off, c, "offset");
  if (scale.data) requireLen(scale, c, "scale");
  requireLen(y, static_cast<int64_t>(x.len), "y");
  // y = x * a + b per channel.
  std::vector<float> a(c), b(c);
  for (int64_t k = 0; k < c; k++) {
    const double s = (scale.data ? scale.data[k] : 1.0) / std::sqrt(static_cast<double>(var.data[k]) + eps);
    a[k] = static_cast<float>(s);
    b[k] = static_cast<float>((off.data ? off.data[k] : 0.0) - mean.data[k] * s);
  }
  const int64_t rows = static_cast<int64_t>(x.len) / c;
  const float *px = x.data, *pa = a.data(), *pb = b.data();
  float* py = y.data;
  parallelFor(rows, std::max<int64_t>(1, (1 << 15) / c), [=](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++)
      for (int64_t k = 0; k < c; k++) py[r * c + k] = px[r * c + k] * pa[k] + pb[k];
  });
  return info.Env().Undefined();
}

/** batchNormBackward(dy, x, mean, variance, scale|null, dx, dmean, dvariance, dscale, doffset, channels, epsilon):
 *  tfjs's FusedBatchNorm gradient with mean/variance as independent inputs (moments' own gradients follow). */
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  const F32 dy = f32Arg(info, 0, "dy"), x = f32Arg(info, 1, "x"), mean = f32Arg(info, 2, "mean");
  const F32 var = f32Arg(info, 3, "variance"), scale = f32OptArg(info, 4, "scale");
  const F32 dx = f32Arg(info, 5, "dx"), dmean = f32Arg(info, 6, "dmean"), dvar = f32Arg(info, 7, "dvariance");
  const F32 dscale = f32Arg(info, 8, "dscale"), doff = f32Arg(info, 9, "doffset");
  const int64_t c = intArg(info, 10, "channels");
  const double eps = numArg(info, 11, "epsilon");
  require(c >= 1 && x.len % static_cast<size_t>(c) == 0, "batchNorm: x is not a multiple of the channel count");
  const int64_t n = static_cast<int64_t>(x.len);
  requireLen(dy, n, "dy");
  requireLen(dx, n, "dx");
  for (const F32* p : {&mean, &var, &dmean, &dvar, &dscale, &doff}) requireLen(*p, c, "per-channel parameter");
  if (scale.data) requireLen(scale, c, "scale");
  const int64_t rows = n / c;

  // Pass 1: per-channel sums of dy and dy * (x - mean), per-thread partials in double.
  const int nt = maxThreads();
  std::vector<double> partial(static_cast<size_t>(nt) * 2 * c, 0.0);
  const float *pdy = dy.data, *px = x.data, *pm = mean.data;
  parallelFor(rows, std::max<int64_t>(1, (1 << 15) / c), [&, pdy, px, pm](int64_t lo, int64_t hi) {
#ifdef _OPENMP
    const int t = omp_get_thread_num();
#else
    const int t = 0;
#endif
    double* sdy = partial.data() + static_cast<size_t>(t) * 2 * c;
    double* sdyx = sdy + c;
    for (int64_t r = lo; r < hi; r++)
      for (int64_t k = 0; k < c; k++) {
        const double g = pdy[r * c + k];
        sdy[k] += g;
        sdyx[k] += g * (static_cast<double>(px[r * c + k]) - pm[k]);
      }
  });
  std::vector<float> gain(c);
  for (int64_t k = 0; k < c; k++) {
    double sdy = 0, sdyx = 0;
    for (int t = 0; t < nt; t++) {
      sdy += partial[static_cast<size_t>(t) * 2 * c + k];
      sdyx += partial[static_cast<size_t>(t) * 2 * c + c + k];
    }
    const double inv = 1.0 / std::sqrt(static_cast<double>(var.data[k]) + eps);
    const double s = scale.data ? scale.data[k] : 1.0;
    doff.data[k] = static_cast<float>(sdy);
    dscale.data[k] = static_cast<float>(sdyx * inv);
    dmean.data[k] = static_cast<float>(-inv * s * sdy);
    dvar.data[k] = static_cast<float>(-0.5 * inv * inv * inv * s * sdyx);
    gain[k] = static_cast<float>(inv * s);
  }
  // Pass 2: dx = dy * scale / sqrt(variance + epsilon).
  const float* pg = gain.data();
  float* pdx = dx.data;
  parallelFor(rows, std::max<int64_t>(1, (1 << 15) / c), [=](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++)
      for (int64_t k = 0; k < c; k++) pdx[r * c + k] = pdy[r * c + k] * pg[k];
  });
  return info.Env().Undefined();
}

}  // namespace

void initBatchnorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormForward", Napi::Function::New(env, guarded<BatchNormForward>, "batchNormForward"));
  exports.Set("batchNormBackward", Napi::Function::New(env, guarded<BatchNormBackward>, "batchNormBackward"));
}

}  // namespace gaplab
