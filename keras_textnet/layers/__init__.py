"""Keras layers of the network (thin wrappers over keras_textnet.ops)."""
