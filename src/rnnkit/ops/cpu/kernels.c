/* The element-wise work of one time step of the fused LSTM and GRU ops, for CPU tensors:
 * step_kernels.h instantiated for float (suffix _f32) and double (_f64).
 *
 * Compiled at first use by rnnkit/ops/cpu/_build.py with -O3 -fno-math-errno -fno-trapping-math
 * -fopenmp-simd (and -march=native where the compiler takes it), so that the `omp simd` loops
 * vectorise, exp and tanh included: with RNNKIT_LIBMVEC defined, the declarations below tell the
 * compiler that glibc's vector math library (libmvec) has vector versions of them. glibc's own
 * <math.h> declares them only under -ffast-math, which is not used: it would let the compiler
 * assume that no value is NaN or infinite (so a NaN could come out finite) and divide with an
 * approximate reciprocal (σ(400) = 1 − 2^-24 instead of 1). IEEE arithmetic throughout: NaN in,
 * NaN out; exp overflowing to infinity gives σ exactly 0.
 * Loaded with ctypes: plain C, no Python or torch headers, builds in about a second.
 */

#include <math.h>

#if defined(RNNKIT_LIBMVEC) && defined(__x86_64__) && defined(__GLIBC__)
/* libmvec's functions: _ZGV{b,c,d,e}N{2,4,8,16}v_exp[f] (glibc 2.22), _tanh[f] (2.35). */
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
double exp(double);
#if __GLIBC_PREREQ(2, 35)
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
double tanh(double);
#endif
#endif

#define T float
#define SUF(name) name##_f32
#define EXP expf
#define TANH tanhf
#include "step_kernels.h"
#undef T
#undef SUF
#undef EXP
#undef TANH

#define T double
#define SUF(name) name##_f64
#define EXP exp
#define TANH tanh
#include "step_kernels.h"
