/* One time step's element-wise work, for element type T (see kernels.c).
 *
 * Each function handles the b rows of one step. Every matrix argument is row-major with its own
 * row stride (ld_*, in elements) and unit column stride. The formulas are those of the torch
 * step classes in rnnkit/ops/lstm.py and rnnkit/ops/gru.py, computed in one pass over the rows
 * instead of one torch op per term; the backward computes its factors from the saved activations
 * as it goes rather than for all steps up front.
 */

/* σ(x) = 1 / (1 + exp(−x)), in IEEE arithmetic (no -ffast-math, see kernels.c): exp(−x)
 * overflowing to +∞ (x below −88.7 in float32) gives exactly 0, exp(−x) below half an ulp of 1
 * gives exactly 1, and a NaN x gives NaN. */
static inline T SUF(sigmoid)(T x) { return (T)1 / ((T)1 + EXP(-x)); }

/* LSTM, gates i, f, g, o. acts (b, 4H): pre-activations in, activations out. c_prev (b, H):
 * c_{t-1}. cells, tanh_cells, out (b, H, row stride ld_out): c_t, tanh(c_t), h_t written.
 * w_ch: (3H,) peephole weights [w_ci; w_cf; w_co], or NULL for the plain LSTM. */
void SUF(lstm_forward)(long b, long H, T *acts, long ld_acts, const T *c_prev, long ld_cp,
                       const T *w_ch, T *cells, T *tanh_cells, T *out, long ld_out) {
    for (long r = 0; r < b; r++) {
        T *a = acts + r * ld_acts;
        const T *cp = c_prev + r * ld_cp;
        T *c = cells + r * ld_out, *tc = tanh_cells + r * ld_out, *h = out + r * ld_out;
        if (w_ch) {
#pragma omp simd
            for (long j = 0; j < H; j++) {
                T i = SUF(sigmoid)(a[j] + w_ch[j] * cp[j]);
                T f = SUF(sigmoid)(a[H + j] + w_ch[H + j] * cp[j]);
                T g = TANH(a[2 * H + j]);
                T c_t = f * cp[j] + i * g;
                T o = SUF(sigmoid)(a[3 * H + j] + w_ch[2 * H + j] * c_t);
                T tanh_c = TANH(c_t);
                a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
                c[j] = c_t, tc[j] = tanh_c, h[j] = o * tanh_c;
            }
        } else {
#pragma omp simd
            for (long j = 0; j < H; j++) {
                T i = SUF(sigmoid)(a[j]), f = SUF(sigmoid)(a[H + j]);
                T g = TANH(a[2 * H + j]), o = SUF(sigmoid)(a[3 * H + j]);
                T c_t = f * cp[j] + i * g;
                T tanh_c = TANH(c_t);
                a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
                c[j] = c_t, tc[j] = tanh_c, h[j] = o * tanh_c;
            }
        }
    }
}

/* The gradients of one LSTM element, given the peephole weights (0 for the plain LSTM): writes
 * the four gate pre-activation gradients and returns the gradient of c_{t-1}. */
static inline T SUF(lstm_element_backward)(T i, T f, T g, T o, T tanh_c, T c_prev, T d_h, T d_c,
                                           T w_ci, T w_cf, T w_co, T *da_i, T *da_f, T *da_g,
                                           T *da_o) {
    *da_o = d_h * tanh_c * o * ((T)1 - o);
    d_c += d_h * o * ((T)1 - tanh_c * tanh_c) + *da_o * w_co;
    *da_i = d_c * g * i * ((T)1 - i);
    *da_f = d_c * c_prev * f * ((T)1 - f);
    *da_g = d_c * i * ((T)1 - g * g);
    return d_c * f + *da_i * w_ci + *da_f * w_cf;
}

/* LSTM backward. acts, grad_acts (b, 4H): activations i, f, g, o; their pre-activations'
 * gradients written. grad_out, tanh_cells, c_prev (b, H). dh (b, H): the gradient reaching h_t
 * from step t + 1, read (the caller overwrites it next). dc (b, H, row stride ld_carry, as dh):
 * the gradient reaching c_t in, that of c_{t-1} out. */
void SUF(lstm_backward)(long b, long H, const T *grad_out, long ld_go, const T *acts,
                        long ld_acts, const T *tanh_cells, long ld_tc, const T *c_prev, long ld_cp,
                        const T *w_ch, const T *dh, T *dc, long ld_carry, T *grad_acts,
                        long ld_ga) {
    for (long r = 0; r < b; r++) {
        const T *a = acts + r * ld_acts, *go = grad_out + r * ld_go;
        const T *tc = tanh_cells + r * ld_tc, *cp = c_prev + r * ld_cp;
        const T *d_h = dh + r * ld_carry;
        T *d_c = dc + r * ld_carry, *ga = grad_acts + r * ld_ga;
        if (w_ch) {
#pragma omp simd
            for (long j = 0; j < H; j++)
                d_c[j] = SUF(lstm_element_backward)(
                    a[j], a[H + j], a[2 * H + j], a[3 * H + j], tc[j], cp[j], d_h[j] + go[j],
                    d_c[j], w_ch[j], w_ch[H + j], w_ch[2 * H + j], &ga[j], &ga[H + j],
                    &ga[2 * H + j], &ga[3 * H + j]);
        } else {
#pragma omp simd
            for (long j = 0; j < H; j++)
                d_c[j] = SUF(lstm_element_backward)(
                    a[j], a[H + j], a[2 * H + j], a[3 * H + j], tc[j], cp[j], d_h[j] + go[j],
                    d_c[j], 0, 0, 0, &ga[j], &ga[H + j], &ga[2 * H + j], &ga[3 * H + j]);
        }
    }
}

/* GRU, reset gate after the recurrent product (torch's), gates r, z, n. acts (b, 3H): W_i· x + b_i·
 * in, r, z, n out. hidden (b, 3H): W_h· h + b_h·. h_prev (b, H): h_{t-1}; out (b, H): h_t. */
void SUF(gru_forward_reset_after)(long b, long H, T *acts, long ld_acts, const T *hidden,
                                  long ld_hidden, const T *h_prev, long ld_hp, T *out,
                                  long ld_out) {
    for (long r = 0; r < b; r++) {
        T *a = acts + r * ld_acts, *h = out + r * ld_out;
        const T *hid = hidden + r * ld_hidden, *hp = h_prev + r * ld_hp;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T reset = SUF(sigmoid)(a[j] + hid[j]), z = SUF(sigmoid)(a[H + j] + hid[H + j]);
            T n = TANH(a[2 * H + j] + reset * hid[2 * H + j]);
            a[j] = reset, a[H + j] = z, a[2 * H + j] = n;
            h[j] = n + z * (hp[j] - n);
        }
    }
}

/* Its backward. acts (b, 3H): r, z, n. hidden_n (b, H): W_hn h + b_hn. grad_out, h_prev (b, H).
 * dh (b, H): in, the gradient reaching h_t from step t + 1; out, z ⊙ dh_t (the part of the
 * gradient of h_{t-1} outside the product with W_hh). grad_x, grad_h (b, 3H, row stride ld_g):
 * the gradients of W_ih x + b_ih and of W_hh h + b_hh, written. */
void SUF(gru_backward_reset_after)(long b, long H, const T *grad_out, long ld_go, const T *acts,
                                   long ld_acts, const T *hidden_n, long ld_hn, const T *h_prev,
                                   long ld_hp, T *dh, long ld_dh, T *grad_x, T *grad_h,
                                   long ld_g) {
    for (long r = 0; r < b; r++) {
        const T *a = acts + r * ld_acts, *go = grad_out + r * ld_go;
        const T *hn = hidden_n + r * ld_hn, *hp = h_prev + r * ld_hp;
        T *d = dh + r * ld_dh, *gx = grad_x + r * ld_g, *gh = grad_h + r * ld_g;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T reset = a[j], z = a[H + j], n = a[2 * H + j];
            T d_h = d[j] + go[j];
            T da_n = d_h * ((T)1 - z) * ((T)1 - n * n);
            T da_z = d_h * (hp[j] - n) * z * ((T)1 - z);
            T da_r = da_n * hn[j] * reset * ((T)1 - reset);
            gx[j] = da_r, gx[H + j] = da_z, gx[2 * H + j] = da_n;
            gh[j] = da_r, gh[H + j] = da_z, gh[2 * H + j] = da_n * reset;
            d[j] = z * d_h;
        }
    }
}

/* GRU, reset gate before the recurrent product (Cho et al. 2014), forward, first half: r and z
 * (σ of acts[:, :2H], recurrent product added) in place; rh = r ⊙ h_{t-1} (b, H) written. */
void SUF(gru_forward_reset_gate)(long b, long H, T *acts, long ld_acts, const T *h_prev,
                                 long ld_hp, T *rh, long ld_rh) {
    for (long r = 0; r < b; r++) {
        T *a = acts + r * ld_acts, *o = rh + r * ld_rh;
        const T *hp = h_prev + r * ld_hp;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T reset = SUF(sigmoid)(a[j]);
            a[j] = reset, a[H + j] = SUF(sigmoid)(a[H + j]);
            o[j] = reset * hp[j];
        }
    }
}

/* Second half: n = tanh(acts[:, 2H:]) in place (W_hn (r ⊙ h) added); out = n + z ⊙ (h − n). */
void SUF(gru_forward_update)(long b, long H, T *acts, long ld_acts, const T *h_prev, long ld_hp,
                             T *out, long ld_out) {
    for (long r = 0; r < b; r++) {
        T *a = acts + r * ld_acts, *h = out + r * ld_out;
        const T *hp = h_prev + r * ld_hp;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T n = TANH(a[2 * H + j]), z = a[H + j];
            a[2 * H + j] = n;
            h[j] = n + z * (hp[j] - n);
        }
    }
}

/* Its backward, first half: dh (b, H) += grad_out, making it dh_t; the z and n blocks of
 * grad_x (b, 3H) written. */
void SUF(gru_backward_update)(long b, long H, const T *grad_out, long ld_go, const T *acts,
                              long ld_acts, const T *h_prev, long ld_hp, T *dh, long ld_dh,
                              T *grad_x, long ld_g) {
    for (long r = 0; r < b; r++) {
        const T *a = acts + r * ld_acts, *go = grad_out + r * ld_go, *hp = h_prev + r * ld_hp;
        T *d = dh + r * ld_dh, *gx = grad_x + r * ld_g;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T z = a[H + j], n = a[2 * H + j], d_h = d[j] + go[j];
            gx[H + j] = d_h * (hp[j] - n) * z * ((T)1 - z);
            gx[2 * H + j] = d_h * ((T)1 - z) * ((T)1 - n * n);
            d[j] = d_h;
        }
    }
}

/* Second half, given d_rh (b, H), the gradient of r ⊙ h_{t-1}: the r block of grad_x written;
 * dh becomes z ⊙ dh_t + r ⊙ d_rh. */
void SUF(gru_backward_reset_gate)(long b, long H, const T *acts, long ld_acts, const T *h_prev,
                                  long ld_hp, const T *d_rh, long ld_drh, T *dh, long ld_dh,
                                  T *grad_x, long ld_g) {
    for (long r = 0; r < b; r++) {
        const T *a = acts + r * ld_acts, *hp = h_prev + r * ld_hp, *drh = d_rh + r * ld_drh;
        T *d = dh + r * ld_dh, *gx = grad_x + r * ld_g;
#pragma omp simd
        for (long j = 0; j < H; j++) {
            T reset = a[j], z = a[H + j];
            gx[j] = drh[j] * hp[j] * reset * ((T)1 - reset);
            d[j] = z * d[j] + reset * drh[j];
        }
    }
}
