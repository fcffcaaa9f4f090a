// The device-templated functors behind the DynamicRoiPooling kernels (the op / kernel /
// functor split of tensorflow/custom-op): the OpKernels in dynamic_roi_pooling_kernels.cc
// check inputs and allocate outputs, then call a functor specialised for the CPU (TF's thread
// pool over dynamic_roi_pooling_cpu.h) or the GPU (the launchers of
// dynamic_roi_pooling_launch.h, kernels in dynamic_roi_pooling_cuda.cuh). The arithmetic of
// every implementation is in the TF-free dynamic_roi_pooling_math.h.
#ifndef KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_FUNCTOR_H_
#define KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_FUNCTOR_H_

#include <stdint.h>

#include "dynamic_roi_pooling_math.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace keras_textnet {

// pooled (num_rois, Hp, Wmax, C) and widths (num_rois,) on Device. Inputs are checked.
template <typename Device, typename T>
struct DynamicRoiPoolingFunctor {
  absl::Status operator()(tensorflow::OpKernelContext* ctx, const T* features, const T* boxes,
                          const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* pooled, int32_t* widths);
};

// grad_features (B, H, W, C), overwritten, from grad_pooled (num_rois, Hp, Wmax, C).
template <typename Device, typename T>
struct DynamicRoiPoolingGradFunctor {
  absl::Status operator()(tensorflow::OpKernelContext* ctx, const T* grad_pooled,
                          const T* boxes, const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* grad_features);
};

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_FUNCTOR_H_
