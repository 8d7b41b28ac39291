// The Poisson operator and the conjugate-gradient updates of the pressure projection,
// as CUDA C kernels for the `cupy` backend (loaded by kernels/cuda_cupy.py).
//
// Specialised by a preamble that cuda_cupy.py puts in front of this file:
//   #define REAL float | double     the floating type of the fields
//   #define THREADS 256             the block size of every launch (a power of two)
//
// Conventions (kernels/README.md): arrays are C-ordered [i][j][k], k fastest; cells have
// shape (n0, n1, n2); the faces of component c have one more entry along axis c. A cell is
// fluid when bit 0 of its uint8 flag is clear. Each kernel is a 1D grid-stride loop over
// the flat index of the array it writes, so consecutive threads take consecutive k.
//
// The reference is the Numba version (kernels/pointwise.py through kernels/cpu.py and
// kernels/cuda_numba.py): the same masks, the same terms in the same order. Stencil sums
// run in REAL (pointwise.py's Numba typing sums the float32 laplacian in float64), so in
// float32 the two agree to rounding, not bit for bit. Reductions sum in double.

typedef long long index_t;

__device__ __forceinline__ bool is_fluid(const unsigned char* solid, index_t c)
{
    return (solid[c] & 1) == 0;
}

// Sum over the block; valid in every thread. Called at most once per kernel.
__device__ __forceinline__ double block_sum(double v)
{
    __shared__ double sm[THREADS];
    const int t = threadIdx.x;
    sm[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sm[t] += sm[t + s];
        __syncthreads();
    }
    return sm[0];
}

// Maximum over the block of values >= 0; valid in every thread. At most once per kernel.
__device__ __forceinline__ double block_max(double v)
{
    __shared__ double sm[THREADS];
    const int t = threadIdx.x;
    sm[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s && sm[t + s] > sm[t]) sm[t] = sm[t + s];
        __syncthreads();
    }
    return sm[0];
}

// out[0] += the block's sum (double atomicAdd: sm_60 and newer).
__device__ __forceinline__ void finish_sum(double* out, double v)
{
    const double s = block_sum(v);
    if (threadIdx.x == 0) atomicAdd(out, s);
}

// out[0] = max(out[0], the block's max), v >= 0: the IEEE bits of non-negative doubles
// order like unsigned integers. out[1] = 1 flags a NaN (the caller returns NaN).
__device__ __forceinline__ void finish_max(double* out, double v, bool nan)
{
    if (nan) out[1] = 1.0;
    const double m = block_max(v);
    if (threadIdx.x == 0)
        atomicMax(reinterpret_cast<unsigned long long*>(out),
                  static_cast<unsigned long long>(__double_as_longlong(m)));
}

#define GRID_STRIDE_LOOP(n, total)                                                   \
    for (index_t n = (index_t)blockIdx.x * blockDim.x + threadIdx.x; n < (total);    \
         n += (index_t)gridDim.x * blockDim.x)

// out = masked Laplacian of phi on fluid cells (Neumann at solids and the box), 0 on solids.
// The open-face bits of the cell code (bit 2 + 2 * axis + side, kernels/solver.py
// cell_codes) say which neighbours take part; a solid cell has none (pointwise.laplacian).
extern "C" __global__ void laplacian(REAL* out, const REAL* phi, const unsigned char* solid,
                                     const int n0, const int n1, const int n2,
                                     const REAL dx, const REAL dy, const REAL dz)
{
    const index_t s0 = (index_t)n1 * n2;
    const index_t total = s0 * n0;
    const REAL one = 1, zero = 0;
    const REAL cx = one / (dx * dx), cy = one / (dy * dy), cz = one / (dz * dz);
    GRID_STRIDE_LOOP(c, total) {
        const unsigned char code = solid[c];
        const REAL pc = phi[c];
        out[c] = (((code & 4) ? phi[c - s0] - pc : zero) + ((code & 8) ? phi[c + s0] - pc : zero)) * cx
               + (((code & 16) ? phi[c - n2] - pc : zero) + ((code & 32) ? phi[c + n2] - pc : zero)) * cy
               + (((code & 64) ? phi[c - 1] - pc : zero) + ((code & 128) ? phi[c + 1] - pc : zero)) * cz;
    }
}

// out = net outflow per unit volume of each fluid cell [1/s], 0 on solids.
// u: (n0+1, n1, n2), v: (n0, n1+1, n2), w: (n0, n1, n2+1).
extern "C" __global__ void divergence(REAL* out, const REAL* u, const REAL* v, const REAL* w,
                                      const unsigned char* solid,
                                      const int n0, const int n1, const int n2,
                                      const REAL dx, const REAL dy, const REAL dz)
{
    const index_t s0 = (index_t)n1 * n2;
    const index_t total = s0 * n0;
    GRID_STRIDE_LOOP(c, total) {
        if (!is_fluid(solid, c)) {
            out[c] = 0;
            continue;
        }
        const index_t t = c / n2;             // i*n1 + j
        const index_t i = t / n1;
        const index_t iv = c + i * n2;        // v at (i, j, k): (i*(n1+1) + j)*n2 + k
        const index_t iw = c + t;             // w at (i, j, k): (i*n1 + j)*(n2+1) + k
        out[c] = (u[c + s0] - u[c]) / dx + (v[iv + n2] - v[iv]) / dy + (w[iw + 1] - w[iw]) / dz;
    }
}

// q -= d(phi)/d(axis c) on the open interior faces of component c (both cells fluid).
extern "C" __global__ void correct_velocity(const int c, REAL* q, const REAL* phi,
                                            const unsigned char* solid,
                                            const int n0, const int n1, const int n2,
                                            const REAL d)
{
    const int m1 = n1 + (c == 1), m2 = n2 + (c == 2);
    const int nc = c == 0 ? n0 : (c == 1 ? n1 : n2);
    const index_t step = c == 0 ? (index_t)n1 * n2 : (c == 1 ? (index_t)n2 : 1);
    const index_t total = (index_t)(n0 + (c == 0)) * m1 * m2;
    GRID_STRIDE_LOOP(f, total) {
        const int k = (int)(f % m2);
        const index_t t = f / m2;
        const int j = (int)(t % m1);
        const int i = (int)(t / m1);
        const int a = c == 0 ? i : (c == 1 ? j : k);
        if (a < 1 || a > nc - 1) continue;
        const index_t hi = ((index_t)i * n1 + j) * n2 + k;   // the cell above the face
        const index_t lo = hi - step;                        // the cell below it
        if (is_fluid(solid, hi) && is_fluid(solid, lo)) q[f] -= (phi[hi] - phi[lo]) / d;
    }
}

// p = z + beta * p
extern "C" __global__ void cg_update_p(REAL* p, const REAL* z, const REAL beta,
                                       const index_t total)
{
    GRID_STRIDE_LOOP(n, total) {
        p[n] = z[n] + beta * p[n];
    }
}

// x += alpha * p; r -= alpha * Ap; out[0] += r.r (in double)
extern "C" __global__ void cg_update_xr(REAL* x, REAL* r, const REAL* p, const REAL* Ap,
                                        const REAL alpha, const index_t total, double* out)
{
    double acc = 0.0;
    GRID_STRIDE_LOOP(n, total) {
        x[n] += alpha * p[n];
        const REAL rn = r[n] - alpha * Ap[n];
        r[n] = rn;
        acc += (double)rn * (double)rn;
    }
    finish_sum(out, acc);
}

// out[0] += a.b (in double)
extern "C" __global__ void dot(const REAL* a, const REAL* b, const index_t total, double* out)
{
    double acc = 0.0;
    GRID_STRIDE_LOOP(n, total) {
        acc += (double)a[n] * (double)b[n];
    }
    finish_sum(out, acc);
}

// out[0] = max(out[0], max |a|); out[1] = 1 if a holds a NaN
extern "C" __global__ void max_abs(const REAL* a, const index_t total, double* out)
{
    double m = 0.0;
    bool nan = false;
    GRID_STRIDE_LOOP(n, total) {
        const double x = fabs((double)a[n]);
        if (x != x) nan = true;
        else if (x > m) m = x;
    }
    finish_max(out, m, nan);
}
