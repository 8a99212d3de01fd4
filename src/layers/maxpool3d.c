/* maxpool3d.c: max pooling forward and arg-max backward (see maxpool3d.h). */
#include "maxpool3d.h"

#include <string.h>



int maxpool3d_geometry_init(pool3d_geometry *g, const int in[4], const int pool[3],
                            const int stride[3], padding_kind padding, error *err)
{
    memset(g, 0, sizeof *g);
    for (int a = 0; a < 3; a++) {
        g->in[a] = in[a];
        g->pool[a] = pool[a];
        g->stride[a] = stride[a];
        g->out[a] = window_output_size(in[a], pool[a], stride[a], padding, &g->pad[a]);
        if (g->out[a] <= 0)
            return error_set(err, "MaxPooling3D window %d does not fit input size %d", pool[a], in[a]);
    }
    g->in[3] = g->out[3] = in[3];
    return 0;
}

void maxpool3d_forward(const pool3d_geometry *g, int batch, const real *x, real *y, int32_t *argmax)
{
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3];
    const int Do = g->out[0], Ho = g->out[1], Wo = g->out[2];
    const size_t outputs = (size_t)batch * Do * Ho * Wo;
    #pragma omp parallel for schedule(static)
    for (size_t o = 0; o < outputs; o++) {
        size_t t = o;
        int ow = (int)(t % (size_t)Wo); t /= (size_t)Wo;
        int oh = (int)(t % (size_t)Ho); t /= (size_t)Ho;
        int od = (int)(t % (size_t)Do);
        size_t n = t / (size_t)Do;
        real *best = y + o * C;
        int32_t *where = argmax + o * C;
        int first = 1;
        for (int kd = 0; kd < g->pool[0]; kd++) {
            int id = od * g->stride[0] - g->pad[0] + kd;
            if (id < 0 || id >= D) continue;
            for (int kh = 0; kh < g->pool[1]; kh++) {
                int ih = oh * g->stride[1] - g->pad[1] + kh;
                if (ih < 0 || ih >= H) continue;
                for (int kw = 0; kw < g->pool[2]; kw++) {
                    int iw = ow * g->stride[2] - g->pad[2] + kw;
                    if (iw < 0 || iw >= W) continue;
                    size_t cell = (((n * D + id) * H + ih) * W + iw) * C;
                    const real *v = x + cell;
                    if (first) {
                        for (int c = 0; c < C; c++) {
                            best[c] = v[c];
                            where[c] = (int32_t)(cell + c);
                        }
                        first = 0;
                        continue;
                    }
                    for (int c = 0; c < C; c++) {
                        /* Strictly greater keeps the first maximum; a NaN
                         * takes over (and a NaN already held stays). */
                        if (v[c] > best[c] || (real_is_nan(v[c]) && !real_is_nan(best[c]))) {
                            best[c] = v[c];
                            where[c] = (int32_t)(cell + c);
                        }
                    }
                }
            }
        }
    }
}

void maxpool3d_backward(const pool3d_geometry *g, int batch, const int32_t *argmax,
                        const real *dy, real *dx, int accumulate_dx)
{
    const size_t in_sample = (size_t)g->in[0] * g->in[1] * g->in[2] * g->in[3];
    const size_t out_sample = (size_t)g->out[0] * g->out[1] * g->out[2] * g->out[3];
    /* Windows overlap, so threads own whole samples to keep the scatter race-free. */
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < batch; n++) {
        if (!accumulate_dx) memset(dx + (size_t)n * in_sample, 0, in_sample * sizeof(real));
        for (size_t o = (size_t)n * out_sample; o < (size_t)(n + 1) * out_sample; o++)
            dx[argmax[o]] += dy[o];
    }
}
