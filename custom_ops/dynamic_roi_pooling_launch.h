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

// pooled (num_rois, Hp, Wmax, C) and widths (num_rois,) from features (B, H, W, C), boxes
// (num_rois, 4), box_indices and angles (num_rois,): device pointers, work queued on
// `stream`. Returns the launch's error (cudaSuccess when there is no box).
template <typename T>
cudaError_t LaunchDynamicRoiPoolingForward(const T* features, const T* boxes,
                                           const int32_t* box_indices, const T* angles,
                                           const DynamicRoiPoolingParams& p, T* pooled,
                                           int32_t* widths, cudaStream_t stream);

// grad_features (B, H, W, C) from grad_pooled (num_rois, Hp, Wmax, C): zeroes
// grad_features, then scatters the bins' gradients into it, on `stream`.
template <typename T>
cudaError_t LaunchDynamicRoiPoolingBackward(const T* grad_pooled, const T* boxes,
                                            const int32_t* box_indices, const T* angles,
                                            const DynamicRoiPoolingParams& p, T* grad_features,
                                            cudaStream_t stream);

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_LAUNCH_H_
