"""The ``infinitetalk`` backend: released InfiniteTalk weights on diffusers' Wan2.1-I2V-14B.

Modules, each with one job:

- :mod:`.keys`       the one table from the published adapter file to our modules
- :mod:`.adapter`    ``InfiniteTalkAdapter``: audio projection + per-block audio cross-attention
- :mod:`.routing`    two speakers: reference attention map and 1-D RoPE positions
- :mod:`.injection`  hooks that put the adapter inside ``WanTransformer3DModel`` blocks
- :mod:`.audio`      chinese-wav2vec2-base features at 25 fps
- :mod:`.pipeline`   ``InfiniteTalkPipeline``: encode, denoise (text/audio CFG), decode
- :mod:`.windows`    streaming window plan and the 25 fps → take-rate retime
- :mod:`.streaming`  long shots window by window, motion latents, colour/Soul anchoring
- :mod:`.colour`     Lab colour anchoring between windows
- :mod:`.folder`, :mod:`.loader`   folder layout, validation, loading
- :mod:`.presets`    draft/final settings and render sizes
- :mod:`.placement`, :mod:`.memory`   where the models live on the GPU, from the measured free VRAM
- :mod:`.lora`       the lightx2v distillation LoRA of drafts, attached by hooks
- :mod:`.speed`      attention backend and ``torch.compile``
- :mod:`.speakers`   speaker boxes of a two-shot from the face detector
- :mod:`.backend`    ``InfiniteTalkBackend``: JobSpec → frames in a sink
- :mod:`.testing`    tiny folders in the published layouts

Importing this package stays cheap (no torch) so the engine can list backends quickly.
"""
