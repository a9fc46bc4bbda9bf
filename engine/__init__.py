"""Soul Studio engine: the rendering process. Knows nothing of projects or Qt."""

__version__ = "0.1.0"
