"""Soul Studio: a desktop studio that turns storyboarded dialogue shots into talking digital humans."""

__version__ = "0.1.0"
