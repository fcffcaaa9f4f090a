// A C interface over the TF-free pooling kernels, for run_gpu_check.py (ctypes + NumPy): on a
// machine with a GPU but no TensorFlow, check the CUDA kernels against the NumPy oracle and
// time them. Built by nvcc (`make cuda-check`), it runs dynamic_roi_pooling_cuda.cuh; built by
// g++ with -DKTN_CHECK_CPU (`make cpu-check`), the single-threaded CPU loops of
// dynamic_roi_pooling_cpu.h, so that the driver can be tried where there is no GPU.
//
// Every function takes host arrays, returns 0 on success and -1 on failure
// (ktn_last_error() says why). `dtype` is 4 (float32) or 8 (float64); `sizes` holds
// (batch, height, width, channels, num_rois); `options` is a bit set of
// DynamicRoiPoolingKernelOptions (the CPU loops ignore it): 1 merge_taps_backward,
// 2 vector_atomics, 4 forward_work_per_block 2048 (else 512), 8 merge_taps_forward,
// 16 backward_work_per_block 2048 (else 512).
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "dynamic_roi_pooling_cpu.h"
#include "dynamic_roi_pooling_math.h"
#ifndef KTN_CHECK_CPU
#include "dynamic_roi_pooling_cuda.cuh"
#endif

using keras_textnet::DynamicRoiPoolingParams;

namespace {

#ifdef KTN_CHECK_CPU
struct Options {};
Options MakeOptions(int) { return {}; }
#else
using Options = keras_textnet::DynamicRoiPoolingKernelOptions;
Options MakeOptions(int bits) {
  Options options;
  options.merge_taps_backward = (bits & 1) != 0;
  options.vector_atomics = (bits & 2) != 0;
  options.forward_work_per_block = (bits & 4) != 0 ? 2048 : 512;
  options.merge_taps_forward = (bits & 8) != 0;
  options.backward_work_per_block = (bits & 16) != 0 ? 2048 : 512;
  return options;
}
#endif

std::string g_error;

int Fail(const std::string& message) {
  g_error = message;
  return -1;
}

DynamicRoiPoolingParams MakeParams(const int64_t* sizes, float spatial_scale, int pooled_height,
                                   int max_width, int sampling_ratio, int aligned) {
  DynamicRoiPoolingParams p;
  p.batch = sizes[0];
  p.height = sizes[1];
  p.width = sizes[2];
  p.channels = sizes[3];
  p.num_rois = sizes[4];
  p.spatial_scale = spatial_scale;
  p.pooled_height = pooled_height;
  p.max_width = max_width;
  p.sampling_ratio = sampling_ratio;
  p.aligned = aligned != 0;
  return p;
}

int64_t FeatureCount(const DynamicRoiPoolingParams& p) {
  return p.batch * p.height * p.width * p.channels;
}
int64_t PooledCount(const DynamicRoiPoolingParams& p) { return p.num_cells() * p.channels; }

#ifdef KTN_CHECK_CPU

template <typename T>
int Forward(const void* features, const void* boxes, const int32_t* box_indices,
            const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
            void* pooled, int32_t* widths) {
  keras_textnet::DynamicWidthsCpu(static_cast<const T*>(boxes), p, widths);
  keras_textnet::PoolRowsCpu(static_cast<const T*>(features), static_cast<const T*>(boxes),
                             box_indices, static_cast<const T*>(angles), static_cast<const T*>(nullptr), p, 0,
                             p.num_rois * p.pooled_height, static_cast<T*>(pooled));
  return 0;
}

template <typename T>
int Backward(const void* grad_pooled, const void* boxes, const int32_t* box_indices,
             const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
             void* grad_features) {
  memset(grad_features, 0, FeatureCount(p) * sizeof(T));
  const auto rois = keras_textnet::RoisByImage(box_indices, p);
  for (int64_t b = 0; b < p.batch; ++b) {
    keras_textnet::PoolGradImageBlockCpu(static_cast<const T*>(grad_pooled),
                                         static_cast<const T*>(boxes),
                                         static_cast<const T*>(angles), static_cast<const T*>(nullptr), rois[b], b,
                                         p, 0,
                                         p.channels, static_cast<T*>(grad_features));
  }
  return 0;
}

double Millis(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

template <typename T>
int Time(const void* features, const void* boxes, const int32_t* box_indices,
         const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
         int copies, int warmup, int reps, float* forward_ms, float* backward_ms) {
  std::vector<T> pooled(PooledCount(p)), grad(FeatureCount(p));
  std::vector<int32_t> widths(p.num_rois);
  (void)copies;
  for (int i = 0; i < warmup + reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    Forward<T>(features, boxes, box_indices, angles, p, options, pooled.data(), widths.data());
    if (i >= warmup) forward_ms[i - warmup] = static_cast<float>(Millis(start));
    start = std::chrono::steady_clock::now();
    Backward<T>(pooled.data(), boxes, box_indices, angles, p, options, grad.data());
    if (i >= warmup) backward_ms[i - warmup] = static_cast<float>(Millis(start));
  }
  return 0;
}

int CopyBandwidth(int64_t bytes, int reps, float* ms) {
  std::vector<unsigned char> a(bytes, 1), b(bytes, 0);
  for (int i = 0; i < reps + 1; ++i) {
    auto start = std::chrono::steady_clock::now();
    memcpy(i % 2 ? a.data() : b.data(), i % 2 ? b.data() : a.data(), bytes);
    if (i > 0) ms[i - 1] = static_cast<float>(Millis(start));
  }
  return 0;
}

int Describe(char* buffer, int length) {
  snprintf(buffer, length, "cpu (single-threaded loops of dynamic_roi_pooling_cpu.h)");
  return 0;
}

#else  // CUDA

#define KTN_CUDA(call)                                                                  \
  do {                                                                                  \
    const cudaError_t status_ = (call);                                                 \
    if (status_ != cudaSuccess) {                                                       \
      return Fail(std::string(#call) + ": " + cudaGetErrorString(status_));             \
    }                                                                                   \
  } while (0)

// Device buffers freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr != nullptr) cudaFree(ptr);
  }
};

int Upload(DeviceBuffer* buffer, const void* host, size_t bytes) {
  KTN_CUDA(cudaMalloc(&buffer->ptr, bytes > 0 ? bytes : 1));
  if (bytes > 0 && host != nullptr) {
    KTN_CUDA(cudaMemcpy(buffer->ptr, host, bytes, cudaMemcpyHostToDevice));
  }
  return 0;
}

template <typename T>
int Forward(const void* features, const void* boxes, const int32_t* box_indices,
            const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
            void* pooled, int32_t* widths) {
  DeviceBuffer d_features, d_boxes, d_indices, d_angles, d_pooled, d_widths;
  const size_t pooled_bytes = PooledCount(p) * sizeof(T);
  if (Upload(&d_features, features, FeatureCount(p) * sizeof(T)) ||
      Upload(&d_boxes, boxes, 4 * p.num_rois * sizeof(T)) ||
      Upload(&d_indices, box_indices, p.num_rois * sizeof(int32_t)) ||
      Upload(&d_angles, angles, p.num_rois * sizeof(T)) ||
      Upload(&d_pooled, nullptr, pooled_bytes) ||
      Upload(&d_widths, nullptr, p.num_rois * sizeof(int32_t))) {
    return -1;
  }
  // Poison: every output element must be written (0xFF.. is a NaN, and widths -1).
  KTN_CUDA(cudaMemset(d_pooled.ptr, 0xFF, pooled_bytes > 0 ? pooled_bytes : 1));
  if (p.num_rois > 0) KTN_CUDA(cudaMemset(d_widths.ptr, 0xFF, p.num_rois * sizeof(int32_t)));
  KTN_CUDA(keras_textnet::LaunchDynamicRoiPoolingForward<T>(
      static_cast<const T*>(d_features.ptr), static_cast<const T*>(d_boxes.ptr),
      static_cast<const int32_t*>(d_indices.ptr), static_cast<const T*>(d_angles.ptr), p,
      static_cast<T*>(d_pooled.ptr), static_cast<int32_t*>(d_widths.ptr), 0, options));
  KTN_CUDA(cudaDeviceSynchronize());
  if (pooled_bytes > 0) KTN_CUDA(cudaMemcpy(pooled, d_pooled.ptr, pooled_bytes, cudaMemcpyDeviceToHost));
  if (p.num_rois > 0) {
    KTN_CUDA(cudaMemcpy(widths, d_widths.ptr, p.num_rois * sizeof(int32_t),
                        cudaMemcpyDeviceToHost));
  }
  return 0;
}

template <typename T>
int Backward(const void* grad_pooled, const void* boxes, const int32_t* box_indices,
             const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
             void* grad_features) {
  DeviceBuffer d_grad, d_boxes, d_indices, d_angles, d_out;
  const size_t out_bytes = FeatureCount(p) * sizeof(T);
  if (Upload(&d_grad, grad_pooled, PooledCount(p) * sizeof(T)) ||
      Upload(&d_boxes, boxes, 4 * p.num_rois * sizeof(T)) ||
      Upload(&d_indices, box_indices, p.num_rois * sizeof(int32_t)) ||
      Upload(&d_angles, angles, p.num_rois * sizeof(T)) || Upload(&d_out, nullptr, out_bytes)) {
    return -1;
  }
  KTN_CUDA(cudaMemset(d_out.ptr, 0xFF, out_bytes > 0 ? out_bytes : 1));  // the launcher zeroes
  KTN_CUDA(keras_textnet::LaunchDynamicRoiPoolingBackward<T>(
      static_cast<const T*>(d_grad.ptr), static_cast<const T*>(d_boxes.ptr),
      static_cast<const int32_t*>(d_indices.ptr), static_cast<const T*>(d_angles.ptr), p,
      static_cast<T*>(d_out.ptr), 0, options));
  KTN_CUDA(cudaDeviceSynchronize());
  if (out_bytes > 0) KTN_CUDA(cudaMemcpy(grad_features, d_out.ptr, out_bytes, cudaMemcpyDeviceToHost));
  return 0;
}

// Median-ready per-repetition times of the forward and the backward launch (the backward
// includes zeroing the gradient), with CUDA events. The features are uploaded `copies` times
// and the runs rotate over them (and over as many output buffers), so that repetitions do not
// find their inputs in L2.
template <typename T>
int Time(const void* features, const void* boxes, const int32_t* box_indices,
         const void* angles, const DynamicRoiPoolingParams& p, const Options& options,
         int copies, int warmup, int reps, float* forward_ms, float* backward_ms) {
  copies = std::max(copies, 1);
  std::vector<DeviceBuffer> d_features(copies), d_pooled(copies), d_grad(copies);
  DeviceBuffer d_boxes, d_indices, d_angles, d_widths;
  const size_t feature_bytes = FeatureCount(p) * sizeof(T);
  const size_t pooled_bytes = PooledCount(p) * sizeof(T);
  for (int k = 0; k < copies; ++k) {
    if (Upload(&d_features[k], features, feature_bytes) ||
        Upload(&d_pooled[k], nullptr, pooled_bytes) || Upload(&d_grad[k], nullptr, feature_bytes)) {
      return -1;
    }
  }
  if (Upload(&d_boxes, boxes, 4 * p.num_rois * sizeof(T)) ||
      Upload(&d_indices, box_indices, p.num_rois * sizeof(int32_t)) ||
      Upload(&d_angles, angles, p.num_rois * sizeof(T)) ||
      Upload(&d_widths, nullptr, p.num_rois * sizeof(int32_t))) {
    return -1;
  }
  cudaEvent_t start, middle, stop;
  KTN_CUDA(cudaEventCreate(&start));
  KTN_CUDA(cudaEventCreate(&middle));
  KTN_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < warmup + reps; ++i) {
    const int k = i % copies;
    KTN_CUDA(cudaEventRecord(start, 0));
    KTN_CUDA(keras_textnet::LaunchDynamicRoiPoolingForward<T>(
        static_cast<const T*>(d_features[k].ptr), static_cast<const T*>(d_boxes.ptr),
        static_cast<const int32_t*>(d_indices.ptr), static_cast<const T*>(d_angles.ptr), p,
        static_cast<T*>(d_pooled[k].ptr), static_cast<int32_t*>(d_widths.ptr), 0, options));
    KTN_CUDA(cudaEventRecord(middle, 0));
    // The forward output (random, zero-padded) serves as the incoming gradient.
    KTN_CUDA(keras_textnet::LaunchDynamicRoiPoolingBackward<T>(
        static_cast<const T*>(d_pooled[(k + 1) % copies].ptr), static_cast<const T*>(d_boxes.ptr),
        static_cast<const int32_t*>(d_indices.ptr), static_cast<const T*>(d_angles.ptr), p,
        static_cast<T*>(d_grad[k].ptr), 0, options));
    KTN_CUDA(cudaEventRecord(stop, 0));
    KTN_CUDA(cudaEventSynchronize(stop));
    if (i >= warmup) {
      KTN_CUDA(cudaEventElapsedTime(&forward_ms[i - warmup], start, middle));
      KTN_CUDA(cudaEventElapsedTime(&backward_ms[i - warmup], middle, stop));
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(middle);
  cudaEventDestroy(stop);
  return 0;
}

int CopyBandwidth(int64_t bytes, int reps, float* ms) {
  DeviceBuffer a, b;
  if (Upload(&a, nullptr, bytes) || Upload(&b, nullptr, bytes)) return -1;
  KTN_CUDA(cudaMemset(a.ptr, 1, bytes));
  KTN_CUDA(cudaMemset(b.ptr, 2, bytes));
  cudaEvent_t start, stop;
  KTN_CUDA(cudaEventCreate(&start));
  KTN_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < reps + 2; ++i) {
    KTN_CUDA(cudaEventRecord(start, 0));
    KTN_CUDA(cudaMemcpyAsync(i % 2 ? a.ptr : b.ptr, i % 2 ? b.ptr : a.ptr, bytes,
                             cudaMemcpyDeviceToDevice, 0));
    KTN_CUDA(cudaEventRecord(stop, 0));
    KTN_CUDA(cudaEventSynchronize(stop));
    if (i >= 2) KTN_CUDA(cudaEventElapsedTime(&ms[i - 2], start, stop));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 0;
}

int Describe(char* buffer, int length) {
  int device = 0;
  cudaDeviceProp prop;
  KTN_CUDA(cudaGetDevice(&device));
  KTN_CUDA(cudaGetDeviceProperties(&prop, device));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  snprintf(buffer, length,
           "cuda: %s, compute capability %d.%d, %d SMs, %.0f MB L2, %.1f GiB; runtime %d, "
           "driver %d",
           prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.l2CacheSize / 1e6,
           prop.totalGlobalMem / 1073741824.0, runtime, driver);
  return 0;
}

#endif  // KTN_CHECK_CPU

}  // namespace

extern "C" {

const char* ktn_last_error() { return g_error.c_str(); }

int ktn_describe(char* buffer, int length) { return Describe(buffer, length); }

int ktn_forward(int dtype, const void* features, const void* boxes, const int32_t* box_indices,
                const void* angles, const int64_t* sizes, float spatial_scale, int pooled_height,
                int max_width, int sampling_ratio, int aligned, int options, void* pooled,
                int32_t* widths) {
  const DynamicRoiPoolingParams p =
      MakeParams(sizes, spatial_scale, pooled_height, max_width, sampling_ratio, aligned);
  const Options o = MakeOptions(options);
  if (dtype == 4) return Forward<float>(features, boxes, box_indices, angles, p, o, pooled, widths);
  if (dtype == 8) return Forward<double>(features, boxes, box_indices, angles, p, o, pooled, widths);
  return Fail("dtype must be 4 or 8");
}

int ktn_backward(int dtype, const void* grad_pooled, const void* boxes,
                 const int32_t* box_indices, const void* angles, const int64_t* sizes,
                 float spatial_scale, int pooled_height, int max_width, int sampling_ratio,
                 int aligned, int options, void* grad_features) {
  const DynamicRoiPoolingParams p =
      MakeParams(sizes, spatial_scale, pooled_height, max_width, sampling_ratio, aligned);
  const Options o = MakeOptions(options);
  if (dtype == 4) {
    return Backward<float>(grad_pooled, boxes, box_indices, angles, p, o, grad_features);
  }
  if (dtype == 8) {
    return Backward<double>(grad_pooled, boxes, box_indices, angles, p, o, grad_features);
  }
  return Fail("dtype must be 4 or 8");
}

int ktn_time(int dtype, const void* features, const void* boxes, const int32_t* box_indices,
             const void* angles, const int64_t* sizes, float spatial_scale, int pooled_height,
             int max_width, int sampling_ratio, int aligned, int options, int copies,
             int warmup, int reps, float* forward_ms, float* backward_ms) {
  const DynamicRoiPoolingParams p =
      MakeParams(sizes, spatial_scale, pooled_height, max_width, sampling_ratio, aligned);
  const Options o = MakeOptions(options);
  if (dtype == 4) {
    return Time<float>(features, boxes, box_indices, angles, p, o, copies, warmup, reps,
                       forward_ms, backward_ms);
  }
  if (dtype == 8) {
    return Time<double>(features, boxes, box_indices, angles, p, o, copies, warmup, reps,
                        forward_ms, backward_ms);
  }
  return Fail("dtype must be 4 or 8");
}

int ktn_copy_bandwidth(int64_t bytes, int reps, float* ms) {
  return CopyBandwidth(bytes, reps, ms);
}

}  // extern "C"
