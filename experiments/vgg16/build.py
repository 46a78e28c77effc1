"""vgg16: VGG16 with its own ImageNet preprocessing as a layer, under a dense head."""

import keras
import numpy as np
from keras import layers

from harness.training.backbones import backbone_classifier

# keras.applications.vgg16.preprocess_input ("caffe" mode): RGB -> BGR, minus these means.
BGR_MEANS = (103.939, 116.779, 123.68)


def caffe_preprocessing():
    """VGG16's preprocess_input as a frozen 1x1 Conv2D: a plain layer that saves and
    loads on the server's Keras with no custom objects (a Lambda would not load there
    without safe_mode=False)."""
    conv = layers.Conv2D(3, 1, trainable=False, name="vgg16_preprocess")
    conv.build((None, None, None, 3))
    swap = np.zeros((1, 1, 3, 3), np.float32)
    for rgb, bgr in ((0, 2), (1, 1), (2, 0)):
        swap[0, 0, rgb, bgr] = 1.0
    conv.set_weights([swap, -np.asarray(BGR_MEANS, np.float32)])
    return conv


def build_model(config, profile):
    """VGG16 on 0-255 RGB pixels -> probabilities; its last `trainable_layers` layers train."""
    return backbone_classifier(keras.applications.VGG16, config, profile, name="vgg16",
                               preprocess=caffe_preprocessing())
