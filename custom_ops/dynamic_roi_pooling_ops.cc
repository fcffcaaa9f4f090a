// Registration of the dynamic RoI pooling ops and their shape functions. The contract is the
// docstring of keras_textnet/ops/dynamic_roi_pooling.py; keras_textnet/ops/custom_op_loader.py
// loads the library and registers the gradient.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace keras_textnet {
namespace {

using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// Reads and checks the integer attributes both ops share.
absl::Status PooledSize(InferenceContext* c, int64_t* pooled_height, int64_t* max_width) {
  int64_t sampling_ratio;
  TF_RETURN_IF_ERROR(c->GetAttr("pooled_height", pooled_height));
  TF_RETURN_IF_ERROR(c->GetAttr("max_width", max_width));
  TF_RETURN_IF_ERROR(c->GetAttr("sampling_ratio", &sampling_ratio));
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"pooled_height", *pooled_height},
                                    {"max_width", *max_width},
                                    {"sampling_ratio", sampling_ratio}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("`", name, "` must be an integer >= 1, got ", value, "."));
    }
  }
  return absl::OkStatus();
}

// num_rois, merged from boxes (N, 4), box_indices (N,) and angles (N,).
absl::Status NumRois(InferenceContext* c, int boxes, DimensionHandle* num_rois) {
  ShapeHandle shape;
  DimensionHandle unused;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(boxes), 2, &shape));
  TF_RETURN_IF_ERROR(c->WithValue(c->Dim(shape, 1), 4, &unused));
  *num_rois = c->Dim(shape, 0);
  for (int k : {boxes + 1, boxes + 2}) {
    ShapeHandle vector;
    TF_RETURN_IF_ERROR(c->WithRank(c->input(k), 1, &vector));
    TF_RETURN_IF_ERROR(c->Merge(*num_rois, c->Dim(vector, 0), num_rois));
  }
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("KerasTextnet>DynamicRoiPooling")
    .Input("features: T")
    .Input("boxes: T")
    .Input("box_indices: int32")
    .Input("angles: T")
    .Output("pooled: T")
    .Output("widths: int32")
    .Attr("T: {float, double}")
    .Attr("spatial_scale: float = 0.25")
    .Attr("pooled_height: int = 8")
    .Attr("max_width: int = 256")
    .Attr("sampling_ratio: int = 2")
    .Attr("aligned: bool = true")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle features;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &features));
      DimensionHandle num_rois;
      TF_RETURN_IF_ERROR(NumRois(c, 1, &num_rois));
      int64_t pooled_height, max_width;
      TF_RETURN_IF_ERROR(PooledSize(c, &pooled_height, &max_width));
      c->set_output(0, c->MakeShape({num_rois, c->MakeDim(pooled_height),
                                     c->MakeDim(max_width), c->Dim(features, 3)}));
      c->set_output(1, c->Vector(num_rois));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Dynamic RoI pooling: every box sampled into pooled_height rows and
w_i = min(max_width, max(1, floor(pooled_height * bw / max(bh, 1) + 0.5))) columns,
zero past w_i. See keras_textnet.ops.dynamic_roi_pooling for the contract.

features: (batch, height, width, channels).
boxes: (num_rois, 4) as (y0, x0, y1, x1) in input-image pixels.
box_indices: (num_rois,) the batch image of each box, in [0, batch).
angles: (num_rois,) radians, counter-clockwise on screen, about the box centre.
pooled: (num_rois, pooled_height, max_width, channels).
widths: (num_rois,) the w_i.
)doc");

REGISTER_OP("KerasTextnet>DynamicRoiPoolingGrad")
    .Input("grad_pooled: T")
    .Input("boxes: T")
    .Input("box_indices: int32")
    .Input("angles: T")
    .Input("features_shape: int32")
    .Output("grad_features: T")
    .Attr("T: {float, double}")
    .Attr("spatial_scale: float = 0.25")
    .Attr("pooled_height: int = 8")
    .Attr("max_width: int = 256")
    .Attr("sampling_ratio: int = 2")
    .Attr("aligned: bool = true")
    .SetShapeFn([](InferenceContext* c) {
      DimensionHandle num_rois;
      TF_RETURN_IF_ERROR(NumRois(c, 1, &num_rois));
      int64_t pooled_height, max_width;
      TF_RETURN_IF_ERROR(PooledSize(c, &pooled_height, &max_width));
      ShapeHandle grad, expected, features;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &grad));
      TF_RETURN_IF_ERROR(c->MakeShapeFromShapeTensor(4, &features));
      TF_RETURN_IF_ERROR(c->WithRank(features, 4, &features));
      expected = c->MakeShape({num_rois, c->MakeDim(pooled_height), c->MakeDim(max_width),
                               c->Dim(features, 3)});
      TF_RETURN_IF_ERROR(c->Merge(grad, expected, &grad));
      c->set_output(0, features);
      return absl::OkStatus();
    })
    .Doc(R"doc(
The gradient of DynamicRoiPooling with respect to its features: grad_pooled scattered back
with the bilinear weights of every bin (padded bins send nothing). features_shape is the
shape of the features, (batch, height, width, channels).
)doc");

}  // namespace keras_textnet
