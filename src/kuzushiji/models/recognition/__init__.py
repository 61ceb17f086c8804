from . import cnn, efficientnet, resnet  # noqa: F401
