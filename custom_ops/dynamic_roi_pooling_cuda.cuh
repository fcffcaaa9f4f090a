// CUDA kernels of dynamic RoI pooling, free of TensorFlow: the TF GPU kernel
// (dynamic_roi_pooling_kernels.cu.cc) and the standalone check (gpu_check/) both launch them
// through LaunchDynamicRoiPoolingForward / LaunchDynamicRoiPoolingBackward
// (dynamic_roi_pooling_launch.h).
//
// One block handles `cells` consecutive output cells (bins, padded ones included).
// Phase 1: one thread per sample point computes its four bilinear taps (pixel, weight) into
// shared memory, tap-major as in dynamic_roi_pooling_math.h. Phase 1b (merge_taps): one
// thread per tap gives the first tap on each pixel the summed weight of all the bin's taps on
// that pixel, and the others weight 0. Phase 2: the block's threads walk (cell, channel
// vector) pairs, consecutive threads on consecutive channels, so that reads of the feature
// map and writes of the output are coalesced (16-byte vectors when the channels allow); taps
// of weight 0 are skipped. Backward: the same taps; phase 2 scatters with atomicAdd (bins of
// overlapping boxes, and neighbouring bins of one box, share pixels), padded bins are never
// read.
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
// Without an opt-in, a block gets at most 48 KB of shared memory: enough for the taps of one
// bin up to sampling_ratio 31 (float) or 24 (double).
constexpr size_t kMaxSharedBytes = 48 * 1024;
// Merging compares every pair of a bin's taps: only up to s = 4 (64 taps).
constexpr int kMaxMergedTaps = 64;

template <typename T, int V>
struct alignas(sizeof(T) * V) Packet {
  T v[V];
};

template <typename T, int V>
__device__ __forceinline__ void AtomicAddPacket(T* address, const Packet<T, V>& value) {
#pragma unroll
  for (int i = 0; i < V; ++i) atomicAdd(address + i, value.v[i]);
}

template <>
__device__ __forceinline__ void AtomicAddPacket<float, 4>(float* address,
                                                          const Packet<float, 4>& value) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float4*>(address),
            make_float4(value.v[0], value.v[1], value.v[2], value.v[3]));
#else
#pragma unroll
  for (int i = 0; i < 4; ++i) atomicAdd(address + i, value.v[i]);
#endif
}

// Shared memory of one block: for each cell its image offset (elements, -1 when padded or
// out of range), then the taps' weights, merged weights and pixels.
template <typename T>
struct BlockTaps {
  int64_t* cell_image;
  T* weight;
  T* merged;
  int32_t* pixel;

  __device__ BlockTaps(unsigned char* shared, int cells, int taps) {
    cell_image = reinterpret_cast<int64_t*>(shared);
    weight = reinterpret_cast<T*>(cell_image + cells);
    merged = weight + cells * taps;
    pixel = reinterpret_cast<int32_t*>(merged + cells * taps);
  }
};

inline size_t SharedBytes(const DynamicRoiPoolingParams& p, int cells, size_t weight_size) {
  return static_cast<size_t>(cells) *
         (sizeof(int64_t) + p.taps_per_bin() * (2 * weight_size + sizeof(int32_t)));
}

// Cells per block: about `work` (cell, channel vector) pairs, at least one cell, within the
// shared-memory budget for the taps.
template <typename T>
inline int CellsPerBlock(const DynamicRoiPoolingParams& p, int vec, int work) {
  const int64_t vectors = (p.channels + vec - 1) / vec;
  int64_t cells = (work > 0 ? work : 512) / (vectors > 0 ? vectors : 1);
  if (cells < 1) cells = 1;
  if (cells > 256) cells = 256;
  const int64_t fit = kMaxTapBytes / static_cast<int64_t>(SharedBytes(p, 1, sizeof(T)));
  if (cells > fit) cells = fit > 0 ? fit : 1;
  return static_cast<int>(cells);
}

// Phases 1 and 1b of both kernels, for cells [cell0, cell0 + cells). Returns the weights
// phase 2 must use (merged or not).
template <typename T>
__device__ __forceinline__ const T* ComputeBlockTaps(
    const T* __restrict__ boxes, const int32_t* __restrict__ box_indices,
    const T* __restrict__ angles, const DynamicRoiPoolingParams& p, int64_t cell0, int cells,
    bool merge, const BlockTaps<T>& s, int32_t* widths) {
  const int samples = p.samples_per_bin();
  const int taps = 4 * samples;
  const int64_t num_cells = p.num_cells();
  const T scale = static_cast<T>(1.0 / samples);
  for (int k = threadIdx.x; k < cells * samples; k += blockDim.x) {
    const int local = k / samples;
    const int j = k - local * samples;
    const int64_t cell = cell0 + local;
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
        int32_t* pixel = s.pixel + local * taps;
        T* weight = s.weight + local * taps;
#pragma unroll
        for (int t = 0; t < 4; ++t) {
          pixel[t * samples + j] = pix[t];
          weight[t * samples + j] = wt[t];
        }
        if (j == 0) s.cell_image[local] = static_cast<int64_t>(image) * p.height * p.width;
      }
    }
    if (!inside && j == 0) s.cell_image[local] = -1;
  }
  __syncthreads();
  if (!merge) return s.weight;
  for (int k = threadIdx.x; k < cells * taps; k += blockDim.x) {
    const int local = k / taps;
    if (s.cell_image[local] < 0) continue;
    const int t = k - local * taps;
    const int32_t* pixel = s.pixel + local * taps;
    const T* weight = s.weight + local * taps;
    const int32_t mine = pixel[t];
    T sum = weight[t];
    bool first = sum != T(0);
    for (int j = 0; j < taps; ++j) {
      if (j != t && weight[j] != T(0) && pixel[j] == mine) {
        if (j < t) {
          first = false;
        } else {
          sum += weight[j];
        }
      }
    }
    s.merged[k] = first ? sum : T(0);
  }
  __syncthreads();
  return s.merged;
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    DynamicRoiPoolingForwardKernel(const T* __restrict__ features, const T* __restrict__ boxes,
                                   const int32_t* __restrict__ box_indices,
                                   const T* __restrict__ angles, DynamicRoiPoolingParams p,
                                   int cells_per_block, bool merge, T* __restrict__ pooled,
                                   int32_t* __restrict__ widths) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int taps = p.taps_per_bin();
  const BlockTaps<T> s(shared, cells_per_block, taps);
  const int64_t cell0 = static_cast<int64_t>(blockIdx.x) * cells_per_block;
  const int64_t remaining = p.num_cells() - cell0;
  const int cells = remaining < cells_per_block ? static_cast<int>(remaining) : cells_per_block;
  const T* weights = ComputeBlockTaps(boxes, box_indices, angles, p, cell0, cells, merge, s,
                                      widths);

  using Vec = Packet<T, V>;
  const int vectors = static_cast<int>(p.channels / V);
  const int64_t channels = p.channels;
  for (int e = threadIdx.x; e < cells * vectors; e += blockDim.x) {
    const int local = e / vectors;
    const int ch = (e - local * vectors) * V;
    Vec acc;
#pragma unroll
    for (int i = 0; i < V; ++i) acc.v[i] = T(0);
    const int64_t image = s.cell_image[local];
    if (image >= 0) {
      const int32_t* pixel = s.pixel + local * taps;
      const T* weight = weights + local * taps;
      const T* base = features + image * channels + ch;
#pragma unroll 4
      for (int k = 0; k < taps; ++k) {
        const T w = weight[k];
        if (merge && w == T(0)) continue;
        const Vec src = *reinterpret_cast<const Vec*>(base + pixel[k] * channels);
#pragma unroll
        for (int i = 0; i < V; ++i) acc.v[i] += src.v[i] * w;
      }
    }
    *reinterpret_cast<Vec*>(pooled + (cell0 + local) * channels + ch) = acc;
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    DynamicRoiPoolingBackwardKernel(const T* __restrict__ grad_pooled,
                                    const T* __restrict__ boxes,
                                    const int32_t* __restrict__ box_indices,
                                    const T* __restrict__ angles, DynamicRoiPoolingParams p,
                                    int cells_per_block, bool merge,
                                    T* __restrict__ grad_features) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int taps = p.taps_per_bin();
  const BlockTaps<T> s(shared, cells_per_block, taps);
  const int64_t cell0 = static_cast<int64_t>(blockIdx.x) * cells_per_block;
  const int64_t remaining = p.num_cells() - cell0;
  const int cells = remaining < cells_per_block ? static_cast<int>(remaining) : cells_per_block;
  const T* weights = ComputeBlockTaps(boxes, box_indices, angles, p, cell0, cells, merge, s,
                                      static_cast<int32_t*>(nullptr));

  using Vec = Packet<T, V>;
  const int vectors = static_cast<int>(p.channels / V);
  const int64_t channels = p.channels;
  for (int e = threadIdx.x; e < cells * vectors; e += blockDim.x) {
    const int local = e / vectors;
    const int64_t image = s.cell_image[local];
    if (image < 0) continue;
    const int ch = (e - local * vectors) * V;
    const Vec g = *reinterpret_cast<const Vec*>(grad_pooled + (cell0 + local) * channels + ch);
    const int32_t* pixel = s.pixel + local * taps;
    const T* weight = weights + local * taps;
    T* base = grad_features + image * channels + ch;
    for (int k = 0; k < taps; ++k) {
      const T w = weight[k];
      if (w == T(0)) continue;
      Vec add;
#pragma unroll
      for (int i = 0; i < V; ++i) add.v[i] = g.v[i] * w;
      AtomicAddPacket<T, V>(base + static_cast<int64_t>(pixel[k]) * channels, add);
    }
  }
}

inline bool Aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace cuda_detail

template <typename T>
cudaError_t LaunchDynamicRoiPoolingForward(const T* features, const T* boxes,
                                           const int32_t* box_indices, const T* angles,
                                           const DynamicRoiPoolingParams& p, T* pooled,
                                           int32_t* widths, cudaStream_t stream,
                                           const DynamicRoiPoolingKernelOptions& options) {
  using namespace cuda_detail;
  if (p.num_rois == 0) return cudaSuccess;
  const bool vector4 = sizeof(T) == 4 && p.channels % 4 == 0 && Aligned16(features) &&
                       Aligned16(pooled);
  const bool merge = options.merge_taps_forward && p.taps_per_bin() <= kMaxMergedTaps;
  const int cells = CellsPerBlock<T>(p, vector4 ? 4 : 1, options.forward_work_per_block);
  const int64_t blocks = (p.num_cells() + cells - 1) / cells;
  const size_t shared = SharedBytes(p, cells, sizeof(T));
  if (shared > kMaxSharedBytes || blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const unsigned grid = static_cast<unsigned>(blocks);
  if constexpr (sizeof(T) == 4) {
    if (vector4) {
      DynamicRoiPoolingForwardKernel<T, 4><<<grid, kThreads, shared, stream>>>(
          features, boxes, box_indices, angles, p, cells, merge, pooled, widths);
      return cudaGetLastError();
    }
  }
  DynamicRoiPoolingForwardKernel<T, 1><<<grid, kThreads, shared, stream>>>(
      features, boxes, box_indices, angles, p, cells, merge, pooled, widths);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchDynamicRoiPoolingBackward(const T* grad_pooled, const T* boxes,
                                            const int32_t* box_indices, const T* angles,
                                            const DynamicRoiPoolingParams& p, T* grad_features,
                                            cudaStream_t stream,
                                            const DynamicRoiPoolingKernelOptions& options) {
  using namespace cuda_detail;
  const size_t bytes = static_cast<size_t>(p.batch * p.height * p.width * p.channels) * sizeof(T);
  cudaError_t status = cudaMemsetAsync(grad_features, 0, bytes, stream);
  if (status != cudaSuccess || p.num_rois == 0) return status;
  const bool vector4 = options.vector_atomics && sizeof(T) == 4 && p.channels % 4 == 0 &&
                       Aligned16(grad_pooled) && Aligned16(grad_features);
  const bool merge = options.merge_taps_backward && p.taps_per_bin() <= kMaxMergedTaps;
  const int cells = CellsPerBlock<T>(p, vector4 ? 4 : 1, options.backward_work_per_block);
  const int64_t blocks = (p.num_cells() + cells - 1) / cells;
  const size_t shared = SharedBytes(p, cells, sizeof(T));
  if (shared > kMaxSharedBytes || blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const unsigned grid = static_cast<unsigned>(blocks);
  if constexpr (sizeof(T) == 4) {
    if (vector4) {
      DynamicRoiPoolingBackwardKernel<T, 4><<<grid, kThreads, shared, stream>>>(
          grad_pooled, boxes, box_indices, angles, p, cells, merge, grad_features);
      return cudaGetLastError();
    }
  }
  DynamicRoiPoolingBackwardKernel<T, 1><<<grid, kThreads, shared, stream>>>(
      grad_pooled, boxes, box_indices, angles, p, cells, merge, grad_features);
  return cudaGetLastError();
}

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CUDA_CUH_
