// Dense linear algebra for fitting ZCA whitening: covariance updates on oneDNN's sgemm and, when the addon is built
// with LAPACK (GAPLAB_LAPACK), LAPACK's divide-and-conquer symmetric eigensolver.
#include <algorithm>
#include <string>
#include <vector>

#include "common.h"

#ifdef GAPLAB_LAPACK
#include <dlfcn.h>
#include <lapacke.h>

#include <climits>
#include <cstdlib>
#endif

namespace gaplab {
namespace {

/** A view of a JS Float64Array's storage. */
struct F64 {
  double* data = nullptr;
  size_t len = 0;
};

F64 f64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) throw ArgError(std::string(name) + " must be a Float64Array");
  auto ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float64_array) throw ArgError(std::string(name) + " must be a Float64Array");
  auto arr = ta.As<Napi::Float64Array>();
  return F64{arr.Data(), arr.ElementLength()};
}

/** Output blocks of the covariance: only blocks on or above the diagonal are computed (21 of 36 for d = 3072). */
constexpr int64_t kCovBlock = 512;
/** Rows summed in float32 by one sgemm before the float64 add (see CovarianceUpdate). */
constexpr int64_t kCovRows = 256;

/** covarianceUpdate(x, rows, d, acc): acc (d x d, float64, row-major) += x^T x over the rows of x (rows x d, float32),
 *  on and above the diagonal only (the entries below it are left as they were).
 *  sgemm sums in float32, whose rounding grows with the length of the sum; what it moves that matters are the smallest
 *  eigenvalues, which filterBias (0.1) is compared with. Summing kCovRows rows at a time into float64 instead of a whole
 *  chunk (2,730 rows for CIFAR) made W 3x closer to a float64 fit (and GCN's null direction exact) for ~8% more time. */
Napi::Value CovarianceUpdate(const Napi::CallbackInfo& info) {
  const F32 x = f32Arg(info, 0, "x");
  const int64_t rows = intArg(info, 1, "rows"), d = intArg(info, 2, "d");
  const F64 acc = f64Arg(info, 3, "acc");
  // Bounded so that rows * d and d * d cannot overflow.
  require(rows >= 1 && rows <= int64_t{1} << 31 && d >= 1 && d <= 1 << 16,
          "covarianceUpdate: rows must be between 1 and 2^31, d between 1 and 65536");
  requireLen(x, rows * d, "x");
  require(static_cast<int64_t>(acc.len) == d * d, "covarianceUpdate: acc must hold d * d values");
  std::vector<float> block(static_cast<size_t>(std::min(d, kCovBlock) * std::min(d, kCovBlock)));
  for (int64_t i0 = 0; i0 < d; i0 += kCovBlock) {
    const int64_t bi = std::min(kCovBlock, d - i0);
    for (int64_t j0 = i0; j0 < d; j0 += kCovBlock) {
      const int64_t bj = std::min(kCovBlock, d - j0);
      for (int64_t r0 = 0; r0 < rows; r0 += kCovRows) {
        const int64_t kr = std::min(kCovRows, rows - r0);
        // block (bi x bj) = x[r0:r0+kr, i0:i0+bi]^T x[r0:r0+kr, j0:j0+bj]
        const float* xr = x.data + r0 * d;
        const dnnl_status_t st = dnnl_sgemm('T', 'N', bi, bj, kr, 1.f, xr + i0, d, xr + j0, d, 0.f, block.data(), bj);
        if (st != dnnl_success) throw std::runtime_error("covarianceUpdate: dnnl_sgemm failed");
        double* pacc = acc.data;
        const float* pb = block.data();
        parallelFor(bi, 16, [=](int64_t lo, int64_t hi) {
          for (int64_t p = lo; p < hi; p++) {
            double* row = pacc + (i0 + p) * d + j0;
            // A block on the diagonal is computed whole; only its upper triangle is added.
            for (int64_t q = i0 == j0 ? p : 0; q < bj; q++) row[q] += pb[p * bj + q];
          }
        });
      }
    }
  }
  return info.Env().Undefined();
}

#ifdef GAPLAB_LAPACK
/** symmetricEigen(a, n, values): eigendecomposition of the symmetric n x n matrix a (float64, row-major; only its upper
 *  triangle is read) with LAPACK's dsyevd. Eigenvalues go to `values` in ascending order; `a` is overwritten with the
 *  eigenvectors, eigenvector k in row k (the matching value is values[k]). */
Napi::Value SymmetricEigen(const Napi::CallbackInfo& info) {
  const F64 a = f64Arg(info, 0, "a");
  const int64_t n = intArg(info, 1, "n");
  const F64 w = f64Arg(info, 2, "values");
  require(n >= 1 && n <= 1 << 16, "symmetricEigen: n must be between 1 and 65536");
  require(static_cast<int64_t>(a.len) == n * n, "symmetricEigen: a must hold n * n values");
  require(static_cast<int64_t>(w.len) == n, "symmetricEigen: values must hold n values");
  // A row-major matrix read as column-major is its transpose: its upper triangle is LAPACK's lower ('L'), and the
  // eigenvectors LAPACK writes as columns land in our rows.
  const lapack_int st = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', static_cast<lapack_int>(n), a.data,
                                       static_cast<lapack_int>(n), w.data);
  // LAPACKE checks the matrix (argument 5) for NaN and infinity first.
  if (st == -5) throw ArgError("symmetricEigen: a holds NaN or infinite values");
  if (st < 0) throw std::runtime_error("symmetricEigen: dsyevd argument " + std::to_string(-st) + " is invalid");
  if (st > 0) throw std::runtime_error("symmetricEigen: dsyevd did not converge (" + std::to_string(st) + ")");
  return info.Env().Undefined();
}
#endif

}  // namespace

std::string lapackLibrary() {
#ifdef GAPLAB_LAPACK
  // The file that provides dsyevd at run time: Debian's alternatives may point liblapack.so.3 at reference LAPACK or
  // at OpenBLAS (about 10x faster here), and the log should say which one ran.
  void* sym = dlsym(RTLD_DEFAULT, "dsyevd_");
  Dl_info where;
  if (sym == nullptr || dladdr(sym, &where) == 0 || where.dli_fname == nullptr) return "LAPACK";
  // liblapack.so.3 is a symlink chain through /etc/alternatives: name the file it ends at.
  char resolved[PATH_MAX];
  return realpath(where.dli_fname, resolved) != nullptr ? resolved : where.dli_fname;
#else
  return "";
#endif
}

void initLinalg(Napi::Env env, Napi::Object exports) {
  exports.Set("covarianceUpdate", Napi::Function::New(env, guarded<CovarianceUpdate>, "covarianceUpdate"));
#ifdef GAPLAB_LAPACK
  exports.Set("symmetricEigen", Napi::Function::New(env, guarded<SymmetricEigen>, "symmetricEigen"));
#endif
}

}  // namespace gaplab
