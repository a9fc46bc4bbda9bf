"""Media I/O for the engine and the studio: stills, audio and movies through PyAV."""

from engine.media.audio import (
    DELIVERY_RATE,
    MODEL_RATE,
    AudioClip,
    AudioInfo,
    load_audio,
    probe_audio,
    write_audio,
)
from engine.media.errors import MediaError
from engine.media.image import encode_jpeg, fit_image, load_portrait, save_image
from engine.media.video import CODECS, VideoInfo, VideoWriter, iter_frames, probe_video, read_frame_at, read_frames

__all__ = [
    "CODECS",
    "DELIVERY_RATE",
    "MODEL_RATE",
    "AudioClip",
    "AudioInfo",
    "MediaError",
    "VideoInfo",
    "VideoWriter",
    "encode_jpeg",
    "fit_image",
    "iter_frames",
    "load_audio",
    "load_portrait",
    "probe_audio",
    "probe_video",
    "read_frame_at",
    "read_frames",
    "save_image",
    "write_audio",
]
