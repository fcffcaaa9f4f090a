// OpKernels of KerasTextnet>DynamicRoiPooling and its gradient: input checks with precise
// errors, output allocation, then a device functor (dynamic_roi_pooling_functor.h).
//
// CPU: forward rows and backward (image, channel block) units on TF's intra-op thread pool
// (dynamic_roi_pooling_cpu.h). GPU (built with -DGOOGLE_CUDA=1): the TF-free CUDA kernels of
// dynamic_roi_pooling_cuda.cuh, compiled by nvcc in dynamic_roi_pooling_kernels.cu.cc and
// launched here on the op's stream. On the GPU, box indices cannot be read on the host: a box
// whose index is outside [0, batch) pools zeros there instead of failing.
#if GOOGLE_CUDA
#define EIGEN_USE_GPU
#endif

#include <stdint.h>
#include <string.h>

#include <cmath>
#include <limits>
#include <vector>

#include "dynamic_roi_pooling_cpu.h"
#include "dynamic_roi_pooling_functor.h"
#include "dynamic_roi_pooling_math.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/register_types.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/platform/threadpool.h"

#if GOOGLE_CUDA
#include "dynamic_roi_pooling_launch.h"
#endif

namespace keras_textnet {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using CPUDevice = Eigen::ThreadPoolDevice;
#if GOOGLE_CUDA
using GPUDevice = Eigen::GpuDevice;
#endif

namespace {

absl::Status InvalidArgument(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

// The attributes, checked, into `params`.
absl::Status ReadAttributes(OpKernelConstruction* ctx, DynamicRoiPoolingParams* params) {
  float spatial_scale;
  int64_t pooled_height, max_width, sampling_ratio;
  bool aligned;
  TF_RETURN_IF_ERROR(ctx->GetAttr("spatial_scale", &spatial_scale));
  TF_RETURN_IF_ERROR(ctx->GetAttr("pooled_height", &pooled_height));
  TF_RETURN_IF_ERROR(ctx->GetAttr("max_width", &max_width));
  TF_RETURN_IF_ERROR(ctx->GetAttr("sampling_ratio", &sampling_ratio));
  TF_RETURN_IF_ERROR(ctx->GetAttr("aligned", &aligned));
  if (!std::isfinite(spatial_scale) || spatial_scale <= 0.0f) {
    return InvalidArgument(
        absl::StrCat("`spatial_scale` must be a finite number > 0, got ", spatial_scale, "."));
  }
  const int64_t most = std::numeric_limits<int32_t>::max();
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"pooled_height", pooled_height},
                                    {"max_width", max_width},
                                    {"sampling_ratio", sampling_ratio}}) {
    if (value < 1 || value > most) {
      return InvalidArgument(
          absl::StrCat("`", name, "` must be an integer >= 1, got ", value, "."));
    }
  }
  if (sampling_ratio > 256) {
    return InvalidArgument(
        absl::StrCat("`sampling_ratio` must be at most 256, got ", sampling_ratio, "."));
  }
  params->spatial_scale = spatial_scale;
  params->pooled_height = static_cast<int>(pooled_height);
  params->max_width = static_cast<int>(max_width);
  params->sampling_ratio = static_cast<int>(sampling_ratio);
  params->aligned = aligned;
  return absl::OkStatus();
}

// Checks boxes (N, 4), box_indices (N,) and angles (N,) (inputs first, first + 1,
// first + 2) and the feature shape; fills the sizes of `params`.
absl::Status CheckInputs(OpKernelContext* ctx, const TensorShape& features, int first,
                         DynamicRoiPoolingParams* params) {
  const TensorShape& boxes = ctx->input(first).shape();
  const TensorShape& box_indices = ctx->input(first + 1).shape();
  const TensorShape& angles = ctx->input(first + 2).shape();
  if (features.dims() != 4) {
    return InvalidArgument(absl::StrCat(
        "`features` must have rank 4 (batch, height, width, channels), got shape ",
        features.DebugString(), "."));
  }
  if (boxes.dims() != 2 || boxes.dim_size(1) != 4) {
    return InvalidArgument(absl::StrCat(
        "`boxes` must have shape (num_rois, 4) as (y0, x0, y1, x1), got shape ",
        boxes.DebugString(), "."));
  }
  const int64_t num_rois = boxes.dim_size(0);
  if (box_indices.dims() != 1 || box_indices.dim_size(0) != num_rois) {
    return InvalidArgument(absl::StrCat(
        "`box_indices` must have shape (num_rois,) = (", num_rois, ",) like `boxes`, got shape ",
        box_indices.DebugString(), "."));
  }
  if (angles.dims() != 1 || angles.dim_size(0) != num_rois) {
    return InvalidArgument(absl::StrCat(
        "`angles` must have shape (num_rois,) = (", num_rois, ",) like `boxes`, got shape ",
        angles.DebugString(), "."));
  }
  params->batch = features.dim_size(0);
  params->height = features.dim_size(1);
  params->width = features.dim_size(2);
  params->channels = features.dim_size(3);
  params->num_rois = num_rois;
  if (num_rois > 0 && (params->height < 1 || params->width < 1)) {
    return InvalidArgument(absl::StrCat(
        "`features` must have a height and a width >= 1 when there are boxes, got shape ",
        features.DebugString(), "."));
  }
  const int64_t most = std::numeric_limits<int32_t>::max();
  if (params->height * params->width > most ||
      num_rois * params->pooled_height > std::numeric_limits<int64_t>::max() / params->max_width) {
    return InvalidArgument(absl::StrCat(
        "`features` ", features.DebugString(), " with ", num_rois,
        " boxes is too large for the op (height * width must be below 2^31)."));
  }
  return absl::OkStatus();
}

// Every box index in [0, batch) (CPU only: the values are on the host).
absl::Status CheckBoxIndices(const Tensor& box_indices, int64_t batch) {
  const auto values = box_indices.flat<int32_t>();
  for (int64_t n = 0; n < values.size(); ++n) {
    if (values(n) < 0 || values(n) >= batch) {
      return InvalidArgument(absl::StrCat("`box_indices`[", n, "] = ", values(n),
                                          " is outside [0, ", batch,
                                          "), the batch size of `features`."));
    }
  }
  return absl::OkStatus();
}

template <typename Device>
constexpr bool kIsCpu = std::is_same<Device, CPUDevice>::value;

// cos and sin of every angle, interleaved, computed as tf.cos / tf.sin compute them on the
// CPU: Eigen's vectorised functions for float (they differ from the C library's in the last
// bit for ~8% of angles, and at 1000-pixel coordinates that bit moves a sample by 1e-5 px),
// the C library's for double.
template <typename T>
std::vector<T> AngleTrig(const T* angles, int64_t num_rois);

template <>
std::vector<float> AngleTrig<float>(const float* angles, int64_t num_rois) {
  using Packet = Eigen::internal::packet_traits<float>::type;
  std::vector<float> trig(2 * num_rois);
  for (int64_t n = 0; n < num_rois; ++n) {
    const Packet angle = Eigen::internal::pset1<Packet>(angles[n]);
    trig[2 * n] = Eigen::internal::pfirst(Eigen::internal::pcos(angle));
    trig[2 * n + 1] = Eigen::internal::pfirst(Eigen::internal::psin(angle));
  }
  return trig;
}

template <>
std::vector<double> AngleTrig<double>(const double* angles, int64_t num_rois) {
  std::vector<double> trig(2 * num_rois);
  for (int64_t n = 0; n < num_rois; ++n) {
    trig[2 * n] = std::cos(angles[n]);
    trig[2 * n + 1] = std::sin(angles[n]);
  }
  return trig;
}

}  // namespace

// --- CPU functors -----------------------------------------------------------------------------

template <typename T>
struct DynamicRoiPoolingFunctor<CPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* features, const T* boxes,
                          const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* pooled, int32_t* widths) {
    DynamicWidthsCpu(boxes, p, widths);
    const std::vector<T> trig = AngleTrig(angles, p.num_rois);
    const int64_t rows = p.num_rois * p.pooled_height;
    // Per row: Wmax bins of 4 s^2 taps, each ~20 operations of set-up and 2 C of sums.
    const int64_t cost = p.max_width * p.taps_per_bin() * (20 + 2 * p.channels);
    ctx->device()->tensorflow_cpu_worker_threads()->workers->ParallelFor(
        rows, cost, [&](int64_t begin, int64_t end) {
          PoolRowsCpu(features, boxes, box_indices, angles, trig.data(), p, begin, end, pooled);
        });
    return absl::OkStatus();
  }
};

template <typename T>
struct DynamicRoiPoolingGradFunctor<CPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* grad_pooled, const T* boxes,
                          const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* grad_features) {
    const int64_t size = p.batch * p.height * p.width * p.channels;
    memset(grad_features, 0, size * sizeof(T));
    if (p.num_rois == 0 || p.channels == 0) return absl::OkStatus();
    auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
    const std::vector<std::vector<int64_t>> rois = RoisByImage(box_indices, p);
    const std::vector<T> trig = AngleTrig(angles, p.num_rois);
    const ChannelBlocks blocks(p.channels, p.batch, pool->NumThreads());
    const int64_t units = p.batch * blocks.blocks;
    const int64_t cost = (p.num_rois * p.pooled_height * p.max_width / (p.batch > 0 ? p.batch : 1)) *
                         p.taps_per_bin() * (20 + 2 * blocks.block_size);
    pool->ParallelFor(units, cost, [&](int64_t begin, int64_t end) {
      for (int64_t unit = begin; unit < end; ++unit) {
        const int64_t image = unit / blocks.blocks;
        const int64_t ch_begin = (unit % blocks.blocks) * blocks.block_size;
        const int64_t ch_end = std::min(ch_begin + blocks.block_size, p.channels);
        if (ch_begin >= ch_end || rois[image].empty()) continue;
        PoolGradImageBlockCpu(grad_pooled, boxes, angles, trig.data(), rois[image], image, p,
                              ch_begin, ch_end, grad_features);
      }
    });
    return absl::OkStatus();
  }
};

// --- GPU functors -----------------------------------------------------------------------------

#if GOOGLE_CUDA
namespace {
absl::Status CudaStatus(cudaError_t error, const char* what, const DynamicRoiPoolingParams& p) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "dynamic RoI pooling: the CUDA ", what, " kernel failed (", cudaGetErrorString(error),
      ") for ", p.num_rois, " boxes, sampling_ratio ", p.sampling_ratio, "."));
}
}  // namespace

template <typename T>
struct DynamicRoiPoolingFunctor<GPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* features, const T* boxes,
                          const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* pooled, int32_t* widths) {
    const cudaStream_t stream = ctx->eigen_device<GPUDevice>().stream();
    return CudaStatus(LaunchDynamicRoiPoolingForward(features, boxes, box_indices, angles, p,
                                                     pooled, widths, stream),
                      "forward", p);
  }
};

template <typename T>
struct DynamicRoiPoolingGradFunctor<GPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* grad_pooled, const T* boxes,
                          const int32_t* box_indices, const T* angles,
                          const DynamicRoiPoolingParams& p, T* grad_features) {
    const cudaStream_t stream = ctx->eigen_device<GPUDevice>().stream();
    return CudaStatus(LaunchDynamicRoiPoolingBackward(grad_pooled, boxes, box_indices, angles,
                                                      p, grad_features, stream),
                      "backward", p);
  }
};
#endif  // GOOGLE_CUDA

// --- OpKernels --------------------------------------------------------------------------------

template <typename Device, typename T>
class DynamicRoiPoolingOp : public OpKernel {
 public:
  explicit DynamicRoiPoolingOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadAttributes(ctx, &attributes_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& features = ctx->input(0);
    DynamicRoiPoolingParams p = attributes_;
    OP_REQUIRES_OK(ctx, CheckInputs(ctx, features.shape(), 1, &p));
    if constexpr (kIsCpu<Device>) OP_REQUIRES_OK(ctx, CheckBoxIndices(ctx->input(2), p.batch));
    Tensor* pooled = nullptr;
    Tensor* widths = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(
                            0, TensorShape({p.num_rois, p.pooled_height, p.max_width, p.channels}),
                            &pooled));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({p.num_rois}), &widths));
    if (p.num_rois == 0) return;
    OP_REQUIRES_OK(ctx, DynamicRoiPoolingFunctor<Device, T>()(
                            ctx, features.flat<T>().data(), ctx->input(1).flat<T>().data(),
                            ctx->input(2).flat<int32_t>().data(), ctx->input(3).flat<T>().data(),
                            p, pooled->flat<T>().data(), widths->flat<int32_t>().data()));
  }

 private:
  DynamicRoiPoolingParams attributes_;
};

template <typename Device, typename T>
class DynamicRoiPoolingGradOp : public OpKernel {
 public:
  explicit DynamicRoiPoolingGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadAttributes(ctx, &attributes_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& grad_pooled = ctx->input(0);
    const Tensor& shape_tensor = ctx->input(4);
    OP_REQUIRES(ctx, shape_tensor.dims() == 1 && shape_tensor.NumElements() == 4,
                InvalidArgument(absl::StrCat("`features_shape` must hold the 4 sizes of the "
                                             "features, got shape ",
                                             shape_tensor.shape().DebugString(), ".")));
    TensorShape features_shape;
    OP_REQUIRES_OK(ctx, ::tensorflow::TensorShapeUtils::MakeShape(
                            shape_tensor.flat<int32_t>().data(), 4, &features_shape));
    DynamicRoiPoolingParams p = attributes_;
    OP_REQUIRES_OK(ctx, CheckInputs(ctx, features_shape, 1, &p));
    const TensorShape expected({p.num_rois, p.pooled_height, p.max_width, p.channels});
    OP_REQUIRES(ctx, grad_pooled.shape() == expected,
                InvalidArgument(absl::StrCat("`grad_pooled` must have shape ",
                                             expected.DebugString(), ", got ",
                                             grad_pooled.shape().DebugString(), ".")));
    if constexpr (kIsCpu<Device>) OP_REQUIRES_OK(ctx, CheckBoxIndices(ctx->input(2), p.batch));
    Tensor* grad_features = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, features_shape, &grad_features));
    if (features_shape.num_elements() == 0) return;
    OP_REQUIRES_OK(ctx, DynamicRoiPoolingGradFunctor<Device, T>()(
                            ctx, grad_pooled.flat<T>().data(), ctx->input(1).flat<T>().data(),
                            ctx->input(2).flat<int32_t>().data(), ctx->input(3).flat<T>().data(),
                            p, grad_features->flat<T>().data()));
  }

 private:
  DynamicRoiPoolingParams attributes_;
};

#define KTN_REGISTER_CPU(T)                                                             \
  REGISTER_KERNEL_BUILDER(Name("KerasTextnet>DynamicRoiPooling")                        \
                              .Device(::tensorflow::DEVICE_CPU)                         \
                              .TypeConstraint<T>("T"),                                  \
                          DynamicRoiPoolingOp<CPUDevice, T>);                           \
  REGISTER_KERNEL_BUILDER(Name("KerasTextnet>DynamicRoiPoolingGrad")                    \
                              .Device(::tensorflow::DEVICE_CPU)                         \
                              .TypeConstraint<T>("T"),                                  \
                          DynamicRoiPoolingGradOp<CPUDevice, T>);
KTN_REGISTER_CPU(float)
KTN_REGISTER_CPU(double)
#undef KTN_REGISTER_CPU

#if GOOGLE_CUDA
#define KTN_REGISTER_GPU(T)                                                             \
  REGISTER_KERNEL_BUILDER(Name("KerasTextnet>DynamicRoiPooling")                        \
                              .Device(::tensorflow::DEVICE_GPU)                         \
                              .TypeConstraint<T>("T"),                                  \
                          DynamicRoiPoolingOp<GPUDevice, T>);                           \
  REGISTER_KERNEL_BUILDER(Name("KerasTextnet>DynamicRoiPoolingGrad")                    \
                              .Device(::tensorflow::DEVICE_GPU)                         \
                              .TypeConstraint<T>("T")                                   \
                              .HostMemory("features_shape"),                            \
                          DynamicRoiPoolingGradOp<GPUDevice, T>);
KTN_REGISTER_GPU(float)
KTN_REGISTER_GPU(double)
#undef KTN_REGISTER_GPU
#endif  // GOOGLE_CUDA

}  // namespace keras_textnet
