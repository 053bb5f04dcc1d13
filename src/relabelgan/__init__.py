"""relabelgan: class-conditional GANs trained in phases, relabeling the data between phases."""

__version__ = "0.1.0"
