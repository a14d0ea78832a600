"""tf-esgan: Enhanced Sharp-GAN for histopathology image synthesis."""

__version__ = "0.1.0"
