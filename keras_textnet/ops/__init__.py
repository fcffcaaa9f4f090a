"""Pure TensorFlow math: boxes, anchors, sampling, pooling, CTC. Layers are thin over these."""
