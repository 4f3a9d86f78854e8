"""segmentd: self-hosted audience segmentation."""

__version__ = "0.1.0"
