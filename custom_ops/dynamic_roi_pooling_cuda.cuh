// CUDA kernels of dynamic RoI pooling, free of TensorFlow: the TF GPU kernel
// (dynamic_roi_pooling_kernels.cu.cc) and the standalone check (gpu_check/) both launch them
// through LaunchDynamicRoiPoolingForward / LaunchDynamicRoiPoolingBackward.
//
// One block handles kCellsPerBlock consecutive output cells (bins, padded ones included).
// Phase 1: one thread per sample point computes its four bilinear taps (pixel, weight) into
// shared memory, tap-major as in dynamic_roi_pooling_math.h. Phase 2: the block's threads walk
// (cell, channel vector) pairs, consecutive threads on consecutive channels, so that reads of
// the feature map and writes of the output are coalesced (16-byte vectors when the channels
// allow). Backward: the same taps, phase 2 scatters with atomicAdd (bins of overlapping boxes,
// and neighbouring bins of one box, share pixels); padded bins are never read.
//
// Box indices outside [0, batch) are not checked here (the TF kernel cannot read them on the
// host): their bins come out 0 and send no gradient.
#ifndef KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CUDA_CUH_
#define KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CUDA_CUH_

#include <cuda_runtime.h>
#include <stdint.h>

#include "dynamic_roi_pooling_launch.h"
#include "dynamic_roi_pooling_math.h"

namespace keras_textnet {
namespace cuda_detail {

constexpr int kThreads = 256;
// Shared memory for the taps of one block, at most.
constexpr int kMaxTapBytes = 32 * 1024;

template <typename T, int V>
struct alignas(sizeof(T) * V) Packet {
  T v[V];
};

// Cells per block: about 512 (cell, channel) pairs of work, at least one cell, within the
// shared-memory budget for the taps.
template <typename T>
inline int CellsPerBlock(const DynamicRoiPoolingParams& p, int vec) {
  const int64_t vectors = (p.channels + vec - 1) / vec;
  int64_t cells = 512 / (vectors > 0 ? vectors : 1);
  if (cells < 1) cells = 1;
  if (cells > 64) cells = 64;
  const int64_t tap_bytes = static_cast<int64_t>(p.taps_per_bin()) * (sizeof(int32_t) + sizeof(T));
  const int64_t fit = kMaxTapBytes / tap_bytes;
  if (cells > fit) cells = fit > 0 ? fit : 1;
  return static_cast<int>(cells);
}

// Phase 1 of both kernels: the taps of cells [cell0, cell0 + cells) into shared memory, and
// for each cell its image offset (in elements) or -1 when it is padded or out of range.
template <typename T>
__device__ __forceinline__ void ComputeBlockTaps(
    const T* __restrict__ boxes, const int32_t* __restrict__ box_indices,
    const T* __restrict__ angles, DynamicRoiPoolingParams p, int64_t cell0, int cells,
    int32_t* tap_pixel, T* tap_weight, int64_t* cell_image, int32_t* widths) {
  const int samples = p.samples_per_bin();
  const int taps = 4 * samples;
  const int64_t num_cells = p.num_cells();
  const T scale = static_cast<T>(1.0 / samples);
  for (int k = threadIdx.x; k < cells * samples; k += blockDim.x) {
    const int local = k / samples;
    const int j = k - local * samples;
    const int64_t cell = cell0 + local;
    int32_t* pixel = tap_pixel + local * taps;
    T* weight = tap_weight + local * taps;
    bool inside = false;
    if (cell < num_cells) {
      const int c = static_cast<int>(cell % p.max_width);
      const int64_t row = cell / p.max_width;
      const int r = static_cast<int>(row % p.pooled_height);
      const int64_t roi = row / p.pooled_height;
      const BoxFrame<T> frame(boxes + 4 * roi, angles[roi], p);
      const int32_t image = box_indices[roi];
      if (widths != nullptr && r == 0 && c == 0 && j == 0) widths[roi] = frame.width;
      inside = c < frame.width && image >= 0 && image < p.batch;
      if (inside) {
        const int iy = j / p.sampling_ratio;
        const int ix = j - iy * p.sampling_ratio;
        T y, x;
        frame.SamplePoint(r, c, iy, ix, p, &y, &x);
        int32_t pix[4];
        T wt[4];
        BilinearTaps(y, x, p.height, p.width, scale, pix, wt);
#pragma unroll
        for (int t = 0; t < 4; ++t) {
          pixel[t * samples + j] = pix[t];
          weight[t * samples + j] = wt[t];
        }
        if (j == 0) cell_image[local] = static_cast<int64_t>(image) * p.height * p.width;
      }
    }
    if (!inside && j == 0) cell_image[local] = -1;
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    DynamicRoiPoolingForwardKernel(const T* __restrict__ features, const T* __restrict__ boxes,
                                   const int32_t* __restrict__ box_indices,
                                   const T* __restrict__ angles, DynamicRoiPoolingParams p,
                                   int cells_per_block, T* __restrict__ pooled,
                                   int32_t* __restrict__ widths) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int taps = p.taps_per_bin();
  int64_t* cell_image = reinterpret_cast<int64_t*>(shared);
  T* tap_weight = reinterpret_cast<T*>(cell_image + cells_per_block);
  int32_t* tap_pixel = reinterpret_cast<int32_t*>(tap_weight + cells_per_block * taps);
  const int64_t cell0 = static_cast<int64_t>(blockIdx.x) * cells_per_block;
  const int64_t remaining = p.num_cells() - cell0;
  const int cells = remaining < cells_per_block ? static_cast<int>(remaining) : cells_per_block;
  ComputeBlockTaps(boxes, box_indices, angles, p, cell0, cells, tap_pixel, tap_weight,
                   cell_image, widths);
  __syncthreads();

  using Vec = Packet<T, V>;
  const int vectors = static_cast<int>(p.channels / V);
  const int64_t channels = p.channels;
  for (int e = threadIdx.x; e < cells * vectors; e += blockDim.x) {
    const int local = e / vectors;
    const int ch = (e - local * vectors) * V;
    Vec acc;
#pragma unroll
    for (int i = 0; i < V; ++i) acc.v[i] = T(0);
    const int64_t image = cell_image[local];
    if (image >= 0) {
      const int32_t* pixel = tap_pixel + local * taps;
      const T* weight = tap_weight + local * taps;
      const T* base = features + image * channels + ch;
#pragma unroll 4
      for (int k = 0; k < taps; ++k) {
        const Vec src = *reinterpret_cast<const Vec*>(base + pixel[k] * channels);
        const T w = weight[k];
#pragma unroll
        for (int i = 0; i < V; ++i) acc.v[i] += src.v[i] * w;
      }
    }
    *reinterpret_cast<Vec*>(pooled + (cell0 + local) * channels + ch) = acc;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    DynamicRoiPoolingBackwardKernel(const T* __restrict__ grad_pooled,
                                    const T* __restrict__ boxes,
                                    const int32_t* __restrict__ box_indices,
                                    const T* __restrict__ angles, DynamicRoiPoolingParams p,
                                    int cells_per_block, T* __restrict__ grad_features) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int taps = p.taps_per_bin();
  int64_t* cell_image = reinterpret_cast<int64_t*>(shared);
  T* tap_weight = reinterpret_cast<T*>(cell_image + cells_per_block);
  int32_t* tap_pixel = reinterpret_cast<int32_t*>(tap_weight + cells_per_block * taps);
  const int64_t cell0 = static_cast<int64_t>(blockIdx.x) * cells_per_block;
  const int64_t remaining = p.num_cells() - cell0;
  const int cells = remaining < cells_per_block ? static_cast<int>(remaining) : cells_per_block;
  ComputeBlockTaps(boxes, box_indices, angles, p, cell0, cells, tap_pixel, tap_weight,
                   cell_image, static_cast<int32_t*>(nullptr));
  __syncthreads();

  const int channels = static_cast<int>(p.channels);
  for (int e = threadIdx.x; e < cells * channels; e += blockDim.x) {
    const int local = e / channels;
    const int64_t image = cell_image[local];
    if (image < 0) continue;
    const int ch = e - local * channels;
    const T g = grad_pooled[(cell0 + local) * channels + ch];
    const int32_t* pixel = tap_pixel + local * taps;
    const T* weight = tap_weight + local * taps;
    T* base = grad_features + image * channels + ch;
    for (int k = 0; k < taps; ++k) {
      const T w = weight[k];
      if (w != T(0)) atomicAdd(base + static_cast<int64_t>(pixel[k]) * channels, g * w);
    }
  }
}

inline size_t SharedBytes(const DynamicRoiPoolingParams& p, int cells, size_t weight_size) {
  return static_cast<size_t>(cells) * (sizeof(int64_t) +
                                       p.taps_per_bin() * (weight_size + sizeof(int32_t)));
}

// Without an opt-in, a block gets at most 48 KB of shared memory: enough for the taps of one
// bin up to sampling_ratio 39 (float) or 31 (double).
constexpr size_t kMaxSharedBytes = 48 * 1024;

}  // namespace cuda_detail

template <typename T>
cudaError_t LaunchDynamicRoiPoolingForward(const T* features, const T* boxes,
                                           const int32_t* box_indices, const T* angles,
                                           const DynamicRoiPoolingParams& p, T* pooled,
                                           int32_t* widths, cudaStream_t stream) {
  using namespace cuda_detail;
  if (p.num_rois == 0) return cudaSuccess;
  const bool vector4 = sizeof(T) == 4 && p.channels % 4 == 0 &&
                       reinterpret_cast<uintptr_t>(features) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(pooled) % 16 == 0;
  const int vec = vector4 ? 4 : 1;
  const int cells = CellsPerBlock<T>(p, vec);
  const int64_t blocks = (p.num_cells() + cells - 1) / cells;
  const size_t shared = SharedBytes(p, cells, sizeof(T));
  if (shared > kMaxSharedBytes) return cudaErrorInvalidConfiguration;
  if constexpr (sizeof(T) == 4) {
    if (vector4) {
      DynamicRoiPoolingForwardKernel<T, 4><<<static_cast<unsigned>(blocks), kThreads, shared,
                                             stream>>>(features, boxes, box_indices, angles, p,
                                                       cells, pooled, widths);
      return cudaGetLastError();
    }
  }
  DynamicRoiPoolingForwardKernel<T, 1><<<static_cast<unsigned>(blocks), kThreads, shared,
                                         stream>>>(features, boxes, box_indices, angles, p,
                                                   cells, pooled, widths);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchDynamicRoiPoolingBackward(const T* grad_pooled, const T* boxes,
                                            const int32_t* box_indices, const T* angles,
                                            const DynamicRoiPoolingParams& p, T* grad_features,
                                            cudaStream_t stream) {
  using namespace cuda_detail;
  const size_t bytes = static_cast<size_t>(p.batch * p.height * p.width * p.channels) * sizeof(T);
  cudaError_t status = cudaMemsetAsync(grad_features, 0, bytes, stream);
  if (status != cudaSuccess || p.num_rois == 0) return status;
  const int cells = CellsPerBlock<T>(p, 1);
  const int64_t blocks = (p.num_cells() + cells - 1) / cells;
  const size_t shared = SharedBytes(p, cells, sizeof(T));
  if (shared > kMaxSharedBytes) return cudaErrorInvalidConfiguration;
  DynamicRoiPoolingBackwardKernel<T><<<static_cast<unsigned>(blocks), kThreads, shared,
                                       stream>>>(grad_pooled, boxes, box_indices, angles, p,
                                                 cells, grad_features);
  return cudaGetLastError();
}

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CUDA_CUH_
