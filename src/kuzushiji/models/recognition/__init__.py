from . import cnn, crnn, efficientnet, resnet  # noqa: F401
