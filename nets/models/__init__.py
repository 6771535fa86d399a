"""Models: a registry of CNN families; each module declares a ``ModelSpec`` with its builder and its quick
and paper hyperparameters (appendix C.5). All take ``(B, C, H, W)`` float images and return ``(B, K)``
logits. To add a model: a module with a ``ModelSpec`` and one ``register_model`` line below.
"""
from nets.models import convactually, linear_cnn, myrtle, resnet
from nets.models.convactually import ConvActually
from nets.models.layers import FFTCircularConv2d, conv_weight_to_eq32, full_conv
from nets.models.linear_cnn import LinearCNN
from nets.models.myrtle import MyrtleCNN
from nets.models.registry import (ModelSpec, build_model, count_parameters, get_model_spec, model_names,
                                  register_model, unregister_model)
from nets.models.resnet import CifarResNet, ResNet9

register_model(convactually.SPEC)
register_model(linear_cnn.SPEC)
register_model(myrtle.SPEC)
register_model(resnet.SPEC)
register_model(resnet.SPEC9)

__all__ = ["CifarResNet", "ConvActually", "FFTCircularConv2d", "LinearCNN", "ModelSpec", "MyrtleCNN", "ResNet9",
           "build_model", "conv_weight_to_eq32", "count_parameters", "full_conv", "get_model_spec", "model_names",
           "register_model", "unregister_model"]
