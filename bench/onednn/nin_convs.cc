// The ceiling of NIN's convolutions on this CPU: oneDNN's own primitives alone, timed in isolation (operands in the
// layouts oneDNN picks, no reorders, buffers reused, each pass's faster algorithm), so `npm run bench -- --ceiling` can say what share of it an
// engine's whole training step reaches. Built and run by src/bench/ceiling.ts.
//
// usage: nin_convs <f32|bf16> <batch> <reps> <h,ic,oc,k,first>...   (first = 1: the layer gets no input gradient)
// prints one JSON object per layer, then one with the totals.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

struct Layer {
  int h, ic, oc, k;
  bool first;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/** Best of `reps` runs after two warm-up runs, in seconds. */
template <class F>
double best(int reps, F&& run, stream& s) {
  for (int i = 0; i < 2; i++) run();
  s.wait();
  double b = 1e30;
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    run();
    s.wait();
    b = std::min(b, now() - t0);
  }
  return b;
}

memory zeroed(const memory::desc& md, const engine& eng) {
  memory m(md, eng);
  std::memset(m.get_data_handle(), 0, md.get_size());
  return m;
}

/** Best times of one layer's three passes with one algorithm (the backward data pass skipped for a first layer). */
struct Times {
  double fwd, data, weights;
  std::string fwdImpl;
};

Times timeLayer(const Layer& l, int n, int p, dt act, algorithm alg, int reps, const engine& eng, stream& s) {
  const memory::dims src{n, l.ic, l.h, l.h}, wei{l.oc, l.ic, l.k, l.k}, bia{l.oc}, dst{n, l.oc, l.h, l.h};
  const memory::dims strides{1, 1}, pad{p, p};
  const auto smd = memory::desc(src, act, tag::any), wmd = memory::desc(wei, act, tag::any);
  const auto bmd = memory::desc(bia, dt::f32, tag::a), dmd = memory::desc(dst, act, tag::any);
  post_ops po;
  po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  primitive_attr attr;
  attr.set_post_ops(po);
  convolution_forward::primitive_desc fpd(
      convolution_forward::desc(prop_kind::forward_training, alg, smd, wmd, bmd, dmd, strides, pad, pad), attr, eng);
  convolution_backward_data::primitive_desc dpd(convolution_backward_data::desc(alg, smd, wmd, dmd, strides, pad, pad), eng, fpd);
  convolution_backward_weights::primitive_desc wpd(
      convolution_backward_weights::desc(alg, smd, wmd, bmd, dmd, strides, pad, pad), eng, fpd);
  memory S = zeroed(fpd.src_desc(), eng), W = zeroed(fpd.weights_desc(), eng), B = zeroed(fpd.bias_desc(), eng);
  memory D = zeroed(fpd.dst_desc(), eng), dS = zeroed(dpd.diff_src_desc(), eng), dD = zeroed(dpd.diff_dst_desc(), eng);
  memory dW = zeroed(wpd.diff_weights_desc(), eng), dB = zeroed(wpd.diff_bias_desc(), eng);
  memory Sw = zeroed(wpd.src_desc(), eng), dDw = zeroed(wpd.diff_dst_desc(), eng);
  convolution_forward f(fpd);
  convolution_backward_data d(dpd);
  convolution_backward_weights w(wpd);
  Times t;
  t.fwd = best(reps, [&] { f.execute(s, {{DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_BIAS, B}, {DNNL_ARG_DST, D}}); }, s);
  t.data = l.first ? 0 : best(reps, [&] { d.execute(s, {{DNNL_ARG_DIFF_DST, dD}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DIFF_SRC, dS}}); }, s);
  t.weights = best(reps, [&] {
    w.execute(s, {{DNNL_ARG_SRC, Sw}, {DNNL_ARG_DIFF_DST, dDw}, {DNNL_ARG_DIFF_WEIGHTS, dW}, {DNNL_ARG_DIFF_BIAS, dB}});
  }, s);
  t.fwdImpl = fpd.impl_info_str();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: nin_convs <f32|bf16> <batch> <reps> <h,ic,oc,k,first>...\n");
    return 2;
  }
  const bool bf16 = std::strcmp(argv[1], "bf16") == 0;
  const int n = std::atoi(argv[2]), reps = std::atoi(argv[3]);
  std::vector<Layer> layers;
  for (int i = 4; i < argc; i++) {
    Layer l{};
    int first = 0;
    if (std::sscanf(argv[i], "%d,%d,%d,%d,%d", &l.h, &l.ic, &l.oc, &l.k, &first) != 5) {
      std::fprintf(stderr, "bad layer '%s'\n", argv[i]);
      return 2;
    }
    l.first = first != 0;
    layers.push_back(l);
  }
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const dt act = bf16 ? dt::bf16 : dt::f32;
  double fwd = 0, bwdData = 0, bwdWeights = 0, flops = 0;
  try {
    for (const Layer& l : layers) {
      const int p = l.k / 2;  // 'same' padding, stride 1, as NIN's convolutions
      // Each pass's faster algorithm: direct, or Winograd for a 3x3 fp32 layer (as the native backend's timing picks;
      // GAPLAB_WINOGRAD=0 leaves it out there and here).
      const bool wino = !bf16 && l.k == 3 && !(std::getenv("GAPLAB_WINOGRAD") && std::string(std::getenv("GAPLAB_WINOGRAD")) == "0");
      Times t = timeLayer(l, n, p, act, algorithm::convolution_direct, reps, eng, s);
      if (wino) {
        try {
          const Times w = timeLayer(l, n, p, act, algorithm::convolution_winograd, reps, eng, s);
          if (w.fwd < t.fwd) t.fwd = w.fwd, t.fwdImpl = w.fwdImpl;
          t.data = std::min(t.data, w.data);
          t.weights = std::min(t.weights, w.weights);
        } catch (const dnnl::error&) {
          // no Winograd kernel for this shape or ISA
        }
      }
      const double tf = t.fwd, td = t.data, tw = t.weights;
      // Multiply-adds of one pass, times 2 for FLOPs; a training step runs three passes (two for the first layer). The
      // direct algorithm's count even where Winograd ran (it does fewer): GFLOP/s is then an effective rate.
      const double pass = 2.0 * n * l.h * l.h * l.ic * l.oc * l.k * l.k;
      std::printf("{\"layer\":\"%dx%d %d->%d k%d\",\"fwdMs\":%.3f,\"bwdDataMs\":%.3f,\"bwdWeightsMs\":%.3f,\"impl\":\"%s\"}\n", l.h,
                  l.h, l.ic, l.oc, l.k, tf * 1e3, td * 1e3, tw * 1e3, t.fwdImpl.c_str());
      fwd += tf;
      bwdData += td;
      bwdWeights += tw;
      flops += pass * (l.first ? 2 : 3);
    }
  } catch (const dnnl::error& e) {
    std::printf("{\"error\":\"oneDNN: %s\"}\n", e.what());
    return 1;
  }
  const double total = fwd + bwdData + bwdWeights;
  std::printf("{\"precision\":\"%s\",\"batch\":%d,\"fwdMs\":%.3f,\"bwdDataMs\":%.3f,\"bwdWeightsMs\":%.3f,\"totalMs\":%.3f,"
              "\"gflops\":%.1f,\"imagesPerS\":%.1f}\n",
              bf16 ? "bf16" : "fp32", n, fwd * 1e3, bwdData * 1e3, bwdWeights * 1e3, total * 1e3, flops / total / 1e9,
              n / total);
  return 0;
}
