"""Training scripts of the soul model: step/CFG distillation and the light VAE.

Each is a module runnable with ``python -m engine.backends.soul.train.<name> --help``;
each also exposes its loop as a function so it can be tested on tiny models.
"""
