"""The ``soul`` backend: Wan2.2-TI2V-5B with audio-injection layers.

Modules, each with one job:

- :mod:`.folder`    model folder layout, validation before anything heavy loads
- :mod:`.audio`     Wav2Vec2 features resampled to one window per video frame
- :mod:`.adapter`   ``SoulAudioAdapter`` and the hooks that inject it into the DiT
- :mod:`.pipeline`  ``SoulPipeline``: encode, denoise, decode as separate steps
- :mod:`.loader`    builds a pipeline from a validated folder (dtype, offload, tiling)
- :mod:`.backend`   ``SoulBackend``: JobSpec → frames in a sink
- :mod:`.testing`   tiny random-weight model folders for tests and benchmarks

Importing this package stays cheap (no torch) so the engine can list backends quickly.
"""

from engine.backends.soul.errors import ModelFolderError

__all__ = ["ModelFolderError"]
