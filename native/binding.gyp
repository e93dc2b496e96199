# Builds gaplab_native.node: tfjs kernels on oneDNN (system libdnnl) and OpenMP loops.
# ONEDNN_ROOT (env) points at a oneDNN prefix with include/ and lib/ (e.g. $(brew --prefix onednn) on macOS);
# without it the compiler's default paths are used (Debian/Ubuntu: apt-get install libdnnl-dev).
# GAPLAB_LAPACK=1 (set by scripts/build-native.mjs when lapacke.h is found; gyp reads it as the number 1) adds the
# LAPACK eigensolver that fits ZCA whitening in seconds; LAPACK_ROOT: a prefix with include/lapacke.h and lib/ (Homebrew).
{
  'variables': {
    'onednn_root%': '<!(node -p "process.env.ONEDNN_ROOT || \'\'")',
    'lapack%': '<!(node -p "process.env.GAPLAB_LAPACK || \'\'")',
    'lapack_root%': '<!(node -p "process.env.LAPACK_ROOT || \'\'")',
  },
  'targets': [
    {
      'target_name': 'gaplab_native',
      'sources': [
        'src/addon.cc',
        'src/conv.cc',
        'src/eltwise.cc',
        'src/pool.cc',
        'src/matmul.cc',
        'src/batchnorm.cc',
        'src/bf16.cc',
        'src/linalg.cc',
        'src/buffers.cc',
        'src/dropout.cc',
        'src/sgd.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      # -ffp-contract=off: no fused multiply-adds, so dropout.cc's Alea steps round as JavaScript's do and sgd.cc's update
      # as tfjs's separate kernels do.
      'cflags_cc': ['-std=c++17', '-O3', '-fexceptions', '-ffp-contract=off'],
      'libraries': ['-ldnnl'],
      'conditions': [
        ['onednn_root!=""', {
          'include_dirs': ['<(onednn_root)/include'],
          'libraries': ['-L<(onednn_root)/lib', '-Wl,-rpath,<(onednn_root)/lib'],
        }],
        ['lapack==1', {
          'defines': ['GAPLAB_LAPACK'],
          'libraries': ['-llapacke'],
        }],
        ['lapack==1 and lapack_root!=""', {
          'include_dirs': ['<(lapack_root)/include'],
          'libraries': ['-L<(lapack_root)/lib', '-Wl,-rpath,<(lapack_root)/lib'],
        }],
        ['OS=="linux"', {
          # Our own loops share libgomp with Debian's oneDNN (built with OpenMP).
          'cflags_cc': ['-fopenmp'],
          'ldflags': ['-fopenmp'],
        }],
        ['OS=="mac"', {
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'CLANG_CXX_LIBRARY': 'libc++',
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'MACOSX_DEPLOYMENT_TARGET': '11.0',
            'OTHER_CPLUSPLUSFLAGS': ['-O3', '-ffp-contract=off'],
          },
        }],
      ],
    },
  ],
}
