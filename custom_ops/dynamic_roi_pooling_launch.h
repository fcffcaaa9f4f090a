// Host-side declarations of the CUDA launchers of dynamic RoI pooling (defined in
// dynamic_roi_pooling_cuda.cuh, instantiated for float and double in
// dynamic_roi_pooling_kernels.cu.cc). Free of TensorFlow, and of device code, so that a host
// compiler can include it.
#ifndef KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_LAUNCH_H_
#define KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_LAUNCH_H_

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "dynamic_roi_pooling_math.h"

namespace keras_textnet {

// Choices of the CUDA kernels that leave the result unchanged up to float rounding; the GPU
// check (gpu_check/) times them against each other on an H100, and the defaults are the
// fastest measured there (benchmarks/results/pooling_gpu.md).
struct DynamicRoiPoolingKernelOptions {
  // Before reading, give the first of a bin's taps on each pixel the summed weight of all
  // its taps on that pixel (bins smaller than a pixel share many) and skip taps of weight 0.
  // Costs (4 s^2)^2 comparisons per bin (only done for s <= 4). Forward: measured slower (the
  // loads it saves hit L1). Backward: twice as fast (one thread's atomics on one address
  // serialise).
  bool merge_taps_forward = false;
  bool merge_taps_backward = true;
  // Backward: one 16-byte atomicAdd (float4, sm_90 and newer) per four channels instead of
  // four 4-byte ones, when the channels are a multiple of 4.
  bool vector_atomics = true;
  // (cell, channel vector) pairs of work per block of 256 threads: more amortises the taps'
  // phase and its barrier over more output.
  int forward_work_per_block = 2048;
  int backward_work_per_block = 512;
};

// pooled (num_rois, Hp, Wmax, C) and widths (num_rois,) from features (B, H, W, C), boxes
// (num_rois, 4), box_indices and angles (num_rois,): device pointers, work queued on
// `stream`. Returns the launch's error (cudaSuccess when there is no box).
template <typename T>
cudaError_t LaunchDynamicRoiPoolingForward(const T* features, const T* boxes,
                                           const int32_t* box_indices, const T* angles,
                                           const DynamicRoiPoolingParams& p, T* pooled,
                                           int32_t* widths, cudaStream_t stream,
                                           const DynamicRoiPoolingKernelOptions& options = {});

// grad_features (B, H, W, C) from grad_pooled (num_rois, Hp, Wmax, C): zeroes
// grad_features, then scatters the bins' gradients into it, on `stream`.
template <typename T>
cudaError_t LaunchDynamicRoiPoolingBackward(const T* grad_pooled, const T* boxes,
                                            const int32_t* box_indices, const T* angles,
                                            const DynamicRoiPoolingParams& p, T* grad_features,
                                            cudaStream_t stream,
                                            const DynamicRoiPoolingKernelOptions& options = {});

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_LAUNCH_H_
