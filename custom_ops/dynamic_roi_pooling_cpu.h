// CPU loops of dynamic RoI pooling over ranges of work, free of TensorFlow: the TF kernel runs
// them on TF's thread pool, the standalone check (gpu_check/) on one thread.
//
// Forward: one unit of work is an output row (roi, r): its w_i bins are sampled, its
// Wmax - w_i padded bins zeroed, each bin's taps summed in the pure-TF implementation's order
// (the same bits). Backward: one unit is (image b, channel block): it walks every bin of
// every box of image b and scatters into that image's gradient, for its channels only, so
// that no two units write the same memory and no atomics are needed; a bin's taps on one
// pixel are merged first (the sums then round differently from pure TF's, by float rounding).
#ifndef KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CPU_H_
#define KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CPU_H_

#include <stdint.h>
#include <string.h>

#include <vector>

#include "dynamic_roi_pooling_math.h"

namespace keras_textnet {

// Writes widths[n] for every box.
template <typename T>
void DynamicWidthsCpu(const T* boxes, const DynamicRoiPoolingParams& p, int32_t* widths) {
  for (int64_t n = 0; n < p.num_rois; ++n) {
    widths[n] = DynamicWidth(boxes + 4 * n, p.pooled_height, p.max_width);
  }
}

// Box `roi`'s frame; `trig` (cos, sin of each angle, interleaved) may be null.
template <typename T>
inline BoxFrame<T> FrameOf(const T* boxes, const T* angles, const T* trig, int64_t roi,
                           const DynamicRoiPoolingParams& p) {
  if (trig != nullptr) return BoxFrame<T>(boxes + 4 * roi, trig[2 * roi], trig[2 * roi + 1], p);
  return BoxFrame<T>(boxes + 4 * roi, angles[roi], p);
}

// Channels summed together in registers by the forward loop.
constexpr int kChannelBlock = 16;

// out[i] = sum_k image[pixel[k] * channels + i] * weight[k] for i < N: acc = tap 0, then
// acc += tap k in order, as the pure-TF implementation sums (so the result is the same to
// the bit); N channels stay in registers across the taps.
template <typename T, int N>
inline void SumTaps(const T* __restrict__ image, const int32_t* __restrict__ pixel,
                    const T* __restrict__ weight, int taps, int64_t channels,
                    T* __restrict__ out) {
  T acc[N];
  const T* src = image + pixel[0] * channels;
  for (int i = 0; i < N; ++i) acc[i] = src[i] * weight[0];
  for (int k = 1; k < taps; ++k) {
    src = image + pixel[k] * channels;
    const T w = weight[k];
    for (int i = 0; i < N; ++i) acc[i] += src[i] * w;
  }
  for (int i = 0; i < N; ++i) out[i] = acc[i];
}

// Output rows [row_begin, row_end) (row = roi * Hp + r) of `pooled`
// (num_rois, Hp, Wmax, C). Box indices must already be in [0, batch). `trig`: see FrameOf.
template <typename T>
void PoolRowsCpu(const T* features, const T* boxes, const int32_t* box_indices,
                 const T* angles, const T* trig, const DynamicRoiPoolingParams& p,
                 int64_t row_begin, int64_t row_end, T* pooled) {
  const int64_t channels = p.channels;
  const int taps = p.taps_per_bin();
  std::vector<int32_t> pixel(taps);
  std::vector<T> weight(taps);
  const int64_t image_size = p.height * p.width * channels;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t roi = row / p.pooled_height;
    const int r = static_cast<int>(row % p.pooled_height);
    const BoxFrame<T> frame = FrameOf(boxes, angles, trig, roi, p);
    const T* image = features + box_indices[roi] * image_size;
    T* out = pooled + row * p.max_width * channels;
    for (int c = 0; c < frame.width; ++c, out += channels) {
      BinTaps(frame, r, c, p, pixel.data(), weight.data());
      int64_t ch = 0;
      for (; ch + kChannelBlock <= channels; ch += kChannelBlock) {
        SumTaps<T, kChannelBlock>(image + ch, pixel.data(), weight.data(), taps, channels,
                                  out + ch);
      }
      for (; ch < channels; ++ch) SumTaps<T, 1>(image + ch, pixel.data(), weight.data(), taps,
                                                channels, out + ch);
    }
    const int64_t padded = (p.max_width - frame.width) * channels;
    if (padded > 0) memset(out, 0, padded * sizeof(T));
  }
}

// How the backward pass splits its work: `blocks` channel blocks of `block_size` channels
// (the last may be shorter), for a pool of `num_threads`. Blocks are whole cache lines
// (16 floats) where the channels allow, so two units rarely share a line.
struct ChannelBlocks {
  int64_t blocks = 1;
  int64_t block_size = 1;

  ChannelBlocks(int64_t channels, int64_t batch, int num_threads) {
    const int64_t min_block = 16;
    int64_t wanted = (2 * static_cast<int64_t>(num_threads) + batch - 1) / (batch > 0 ? batch : 1);
    int64_t most = channels / min_block;
    if (most < 1) most = 1;
    blocks = wanted < 1 ? 1 : (wanted > most ? most : wanted);
    block_size = (channels + blocks - 1) / blocks;
    if (block_size % min_block != 0 && channels > min_block) {
      block_size = (block_size + min_block - 1) / min_block * min_block;
    }
    if (block_size < 1) block_size = 1;
    blocks = (channels + block_size - 1) / block_size;
  }
};

// The rois of each image: rois_of_image[b] lists n with box_indices[n] == b, in order.
inline std::vector<std::vector<int64_t>> RoisByImage(const int32_t* box_indices,
                                                     const DynamicRoiPoolingParams& p) {
  std::vector<std::vector<int64_t>> rois(p.batch);
  for (int64_t n = 0; n < p.num_rois; ++n) rois[box_indices[n]].push_back(n);
  return rois;
}

// Gives the first of a bin's taps on each pixel the summed weight (in tap order) of all its
// taps on that pixel, drops the rest and taps of weight 0, and returns how many remain.
// Bins smaller than a pixel put several taps on one pixel; the backward pass then scatters
// once per pixel instead of once per tap.
template <typename T>
inline int MergeTaps(int32_t* pixel, T* weight, int taps) {
  int kept = 0;
  for (int k = 0; k < taps; ++k) {
    if (weight[k] == T(0)) continue;
    int j = 0;
    while (j < kept && pixel[j] != pixel[k]) ++j;
    if (j < kept) {
      weight[j] += weight[k];
    } else {
      pixel[kept] = pixel[k];
      weight[kept] = weight[k];
      ++kept;
    }
  }
  return kept;
}

// Adds the gradient of the bins of `rois` (all of image `image`) into `grad_features`
// (batch, H, W, C) for channels [ch_begin, ch_end). grad_features must start at zero.
// `trig`: see FrameOf.
template <typename T>
void PoolGradImageBlockCpu(const T* grad_pooled, const T* boxes, const T* angles,
                           const T* trig, const std::vector<int64_t>& rois, int64_t image,
                           const DynamicRoiPoolingParams& p, int64_t ch_begin, int64_t ch_end,
                           T* grad_features) {
  const int64_t channels = p.channels;
  const int taps = p.taps_per_bin();
  std::vector<int32_t> pixel(taps);
  std::vector<T> weight(taps);
  T* grad_image = grad_features + image * p.height * p.width * channels;
  const int64_t count = ch_end - ch_begin;
  for (const int64_t roi : rois) {
    const BoxFrame<T> frame = FrameOf(boxes, angles, trig, roi, p);
    for (int r = 0; r < p.pooled_height; ++r) {
      const T* up = grad_pooled + ((roi * p.pooled_height + r) * p.max_width) * channels +
                    ch_begin;
      for (int c = 0; c < frame.width; ++c, up += channels) {
        BinTaps(frame, r, c, p, pixel.data(), weight.data());
        const int kept = MergeTaps(pixel.data(), weight.data(), taps);
        for (int k = 0; k < kept; ++k) {
          T* dst = grad_image + pixel[k] * channels + ch_begin;
          const T wk = weight[k];
          for (int64_t ch = 0; ch < count; ++ch) dst[ch] += up[ch] * wk;
        }
      }
    }
  }
}

}  // namespace keras_textnet

#endif  // KERAS_TEXTNET_CUSTOM_OPS_DYNAMIC_ROI_POOLING_CPU_H_
