"""Model manager: register local model folders, validate them, estimate the GPU memory they need."""
