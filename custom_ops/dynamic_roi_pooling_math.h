// The arithmetic of dynamic RoI pooling, shared by the CPU loops, the CUDA kernels and the
// standalone GPU check. No TensorFlow or Eigen include: nvcc and g++ compile it on their own.
//
// The contract is the docstring of keras_textnet/ops/dynamic_roi_pooling.py; every formula
// below is evaluated in the order written there (and in the pure-TF implementation), in T
// (float for float32 features, double for float64), so that the implementations agree to
// float rounding:
//
//   bw = x1 - x0, bh = y1 - y0, cx = (x0 + x1) * 0.5, cy = (y0 + y1) * 0.5
//   w  = min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5)))      (NaN -> 1)
//   v  = -0.5 * bh + (r + (iy + 0.5) / s) * (bh / Hp)
//   u  = -0.5 * bw + (c + (ix + 0.5) / s) * (bw / w)
//   x  = cx + u * cos(a) + v * sin(a);  y = cy - u * sin(a) + v * cos(a)
//   x, y = x * spatial_scale - offset, y * spatial_scale - offset    (offset 0.5 if aligned)
//
// and every sample point is read with RoIAlign's bilinear edge rules (BilinearTaps).
#ifndef KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_MATH_H_
#define KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_MATH_H_

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define KTN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KTN_HOST_DEVICE inline
#endif

namespace keras_textnet {

// Sizes and attributes of one call. Features are (batch, height, width, channels), boxes
// (num_rois, 4) as (y0, x0, y1, x1) in input-image pixels, the output
// (num_rois, pooled_height, max_width, channels).
struct DynamicRoiPoolingParams {
  int64_t batch = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  int64_t num_rois = 0;
  int pooled_height = 1;
  int max_width = 1;
  int sampling_ratio = 1;
  float spatial_scale = 1.0f;
  bool aligned = true;

  // Sample points per bin, s * s.
  KTN_HOST_DEVICE int samples_per_bin() const { return sampling_ratio * sampling_ratio; }
  // Bilinear taps per bin: four per sample point.
  KTN_HOST_DEVICE int taps_per_bin() const { return 4 * samples_per_bin(); }
  // Output cells (bins, padded ones included), num_rois * pooled_height * max_width.
  KTN_HOST_DEVICE int64_t num_cells() const {
    return num_rois * pooled_height * static_cast<int64_t>(max_width);
  }
};

// Overloads of the C math functions that exist in host and device code alike.
KTN_HOST_DEVICE float KtnFloor(float t) { return floorf(t); }
KTN_HOST_DEVICE double KtnFloor(double t) { return floor(t); }
KTN_HOST_DEVICE float KtnCos(float t) { return cosf(t); }
KTN_HOST_DEVICE double KtnCos(double t) { return cos(t); }
KTN_HOST_DEVICE float KtnSin(float t) { return sinf(t); }
KTN_HOST_DEVICE double KtnSin(double t) { return sin(t); }

// w_i = min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5))); a NaN box gets 1. The max
// propagates NaN, like tf.maximum.
template <typename T>
KTN_HOST_DEVICE int DynamicWidth(const T* box, int pooled_height, int max_width) {
  const T bh = box[2] - box[0];
  const T bw = box[3] - box[1];
  const T denom = (bh != bh) ? bh : (bh > T(1) ? bh : T(1));
  T raw = KtnFloor(static_cast<T>(pooled_height) * bw / denom + T(0.5));
  if (raw != raw) return 1;
  if (raw < T(1)) raw = T(1);
  if (raw > static_cast<T>(max_width)) raw = static_cast<T>(max_width);
  return static_cast<int>(raw);
}

// One box in its own frame: centre, half extents, bin sizes, rotation.
template <typename T>
struct BoxFrame {
  T cx, cy;          // centre, input pixels
  T start_u, start_v;  // -bw / 2, -bh / 2
  T bin_w, bin_h;    // bw / w_i, bh / Hp
  T cos_a, sin_a;
  int width;         // w_i

  KTN_HOST_DEVICE BoxFrame(const T* box, T angle, const DynamicRoiPoolingParams& p)
      : BoxFrame(box, KtnCos(angle), KtnSin(angle), p) {}

  // With the angle's cosine and sine given: the TF kernel passes TensorFlow's own values
  // (Eigen's vectorised sin/cos differ from the C library's in the last bit).
  KTN_HOST_DEVICE BoxFrame(const T* box, T cos_angle, T sin_angle,
                           const DynamicRoiPoolingParams& p) {
    const T y0 = box[0], x0 = box[1], y1 = box[2], x1 = box[3];
    const T bh = y1 - y0;
    const T bw = x1 - x0;
    width = DynamicWidth(box, p.pooled_height, p.max_width);
    cy = (y0 + y1) * T(0.5);
    cx = (x0 + x1) * T(0.5);
    start_v = T(-0.5) * bh;
    start_u = T(-0.5) * bw;
    bin_h = bh / static_cast<T>(p.pooled_height);
    bin_w = bw / static_cast<T>(width);
    cos_a = cos_angle;
    sin_a = sin_angle;
  }

  // Feature-map coordinates (y, x) of sub-bin (iy, ix) of bin (row, col).
  KTN_HOST_DEVICE void SamplePoint(int row, int col, int iy, int ix,
                                   const DynamicRoiPoolingParams& p, T* y, T* x) const {
#if defined(__CUDA_ARCH__)
    // On the GPU in T, without a double division (for small s the same value).
    const T sub_y = (static_cast<T>(iy) + T(0.5)) / static_cast<T>(p.sampling_ratio);
    const T sub_x = (static_cast<T>(ix) + T(0.5)) / static_cast<T>(p.sampling_ratio);
#else
    // (i + 0.5) / s is a Python float rounded to T in the pure-TF implementation.
    const T sub_y = static_cast<T>((iy + 0.5) / p.sampling_ratio);
    const T sub_x = static_cast<T>((ix + 0.5) / p.sampling_ratio);
#endif
    const T v = start_v + (static_cast<T>(row) + sub_y) * bin_h;
    const T u = start_u + (static_cast<T>(col) + sub_x) * bin_w;
    const T xx = cx + u * cos_a + v * sin_a;
    const T yy = cy - u * sin_a + v * cos_a;
    const T scale = static_cast<T>(p.spatial_scale);
    const T offset = p.aligned ? T(0.5) : T(0);
    *x = xx * scale - offset;
    *y = yy * scale - offset;
  }
};

// The four bilinear taps of point (y, x) of an height x width map, with RoIAlign's edge
// rules: 0 outside [-1, H] x [-1, W] (NaN too), clamped inside. Writes pixel[k] = row *
// width + col (inside the map) and weight[k] (already multiplied by `scale`, which is
// 1 / (s * s)), in the order (low, low), (low, high), (high, low), (high, high). Taps of a
// point outside the map read pixel 0 with weight 0.
template <typename T>
KTN_HOST_DEVICE void BilinearTaps(T y, T x, int64_t height, int64_t width, T scale,
                                  int32_t* pixel, T* weight) {
  const T h = static_cast<T>(height);
  const T w = static_cast<T>(width);
  const bool valid = (y >= T(-1)) && (y <= h) && (x >= T(-1)) && (x <= w);
  if (valid) {
    y = y > T(0) ? y : T(0);
    x = x > T(0) ? x : T(0);
  } else {
    y = T(0);
    x = T(0);
  }
  T y_low = KtnFloor(y);
  const bool y_edge = y_low >= h - T(1);
  if (y_edge) {
    y_low = h - T(1);
    y = y_low;
  }
  const T y_high = y_edge ? y_low : y_low + T(1);
  T x_low = KtnFloor(x);
  const bool x_edge = x_low >= w - T(1);
  if (x_edge) {
    x_low = w - T(1);
    x = x_low;
  }
  const T x_high = x_edge ? x_low : x_low + T(1);
  const T valid_t = valid ? T(1) : T(0);
  T ly = y - y_low;
  const T lx = x - x_low;
  const T hy = (T(1) - ly) * valid_t;
  ly = ly * valid_t;
  const T hx = T(1) - lx;
  const int32_t row_low = static_cast<int32_t>(y_low);
  const int32_t row_high = static_cast<int32_t>(y_high);
  const int32_t col_low = static_cast<int32_t>(x_low);
  const int32_t col_high = static_cast<int32_t>(x_high);
  const int32_t w32 = static_cast<int32_t>(width);
  pixel[0] = row_low * w32 + col_low;
  pixel[1] = row_low * w32 + col_high;
  pixel[2] = row_high * w32 + col_low;
  pixel[3] = row_high * w32 + col_high;
  weight[0] = (hy * hx) * scale;
  weight[1] = (hy * lx) * scale;
  weight[2] = (ly * hx) * scale;
  weight[3] = (ly * lx) * scale;
}

// The 4 * s * s taps of bin (row, col) of a box, tap-major (tap k of sample j at
// k * s * s + j), the order in which the pure-TF implementation sums them. `pixel` holds
// offsets inside the box's image (row * W + col).
template <typename T>
KTN_HOST_DEVICE void BinTaps(const BoxFrame<T>& frame, int row, int col,
                             const DynamicRoiPoolingParams& p, int32_t* pixel, T* weight) {
  const int s = p.sampling_ratio;
  const int samples = s * s;
  const T scale = static_cast<T>(1.0 / samples);
  for (int iy = 0; iy < s; ++iy) {
    for (int ix = 0; ix < s; ++ix) {
      T y, x;
      frame.SamplePoint(row, col, iy, ix, p, &y, &x);
      int32_t pix[4];
      T wt[4];
      BilinearTaps(y, x, p.height, p.width, scale, pix, wt);
      const int j = iy * s + ix;
      for (int k = 0; k < 4; ++k) {
        pixel[k * samples + j] = pix[k];
        weight[k * samples + j] = wt[k];
      }
    }
  }
}

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_MATH_H_
