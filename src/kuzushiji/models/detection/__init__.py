from . import centernet  # noqa: F401
