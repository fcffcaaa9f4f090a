// The CUDA kernels of the TF op: the TF-free kernels of dynamic_roi_pooling_cuda.cuh,
// instantiated for float and double. nvcc compiles this file without any TensorFlow header;
// dynamic_roi_pooling_kernels.cc calls the launchers with the op's CUDA stream.
#include "dynamic_roi_pooling_cuda.cuh"

namespace keras_textnet {

#define KTN_INSTANTIATE(T)                                                                 \
  template cudaError_t LaunchDynamicRoiPoolingForward<T>(                                  \
      const T*, const T*, const int32_t*, const T*, const DynamicRoiPoolingParams&, T*,   \
      int32_t*, cudaStream_t, const DynamicRoiPoolingKernelOptions&);                      \
  template cudaError_t LaunchDynamicRoiPoolingBackward<T>(                                 \
      const T*, const T*, const int32_t*, const T*, const DynamicRoiPoolingParams&, T*,   \
      cudaStream_t, const DynamicRoiPoolingKernelOptions&);

KTN_INSTANTIATE(float)
KTN_INSTANTIATE(double)

#undef KTN_INSTANTIATE

}  // namespace keras_textnet
