/* The element-wise work of one time step of the fused LSTM and GRU ops, for CPU tensors:
 * step_kernels.h instantiated for float (suffix _f32) and double (_f64).
 *
 * Compiled at first use by rnnkit/ops/cpu/_build.py with -O3 -ffast-math (and -march=native
 * where the compiler takes it), so that the inner loops vectorise, exp and tanh included (glibc's
 * libmvec). Loaded with ctypes: plain C, no Python or torch headers, builds in about a second.
 */

#include <math.h>

#define T float
#define SUF(name) name##_f32
#define EXP expf
#define TANH tanhf
#define EXP_LIMIT 80.0f /* exp(80) ≈ 5.5e34 < FLT_MAX; σ(−80) ≈ 1.8e-35 */
#include "step_kernels.h"
#undef T
#undef SUF
#undef EXP
#undef TANH
#undef EXP_LIMIT

#define T double
#define SUF(name) name##_f64
#define EXP exp
#define TANH tanh
#define EXP_LIMIT 700.0 /* exp(700) ≈ 1e304 < DBL_MAX */
#include "step_kernels.h"
