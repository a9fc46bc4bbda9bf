"""Render farm: the same JobSpecs on a Ray cluster, one GPU per worker actor."""
