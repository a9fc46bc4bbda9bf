"""InfiniteTalkPipeline: portrait + line + per-speaker audio → lip-synced video, Wan2.1-I2V style.

The backbone path is diffusers' ``WanImageToVideoPipeline`` for Wan2.1 (CLIP image tokens
in the cross-attention; ``[mask, VAE(portrait, zeros…)]`` concatenated to the noisy
latents), so with the audio layers silent it reproduces that pipeline. Audio enters
through :mod:`.injection`. Every stage is a method, so :mod:`.streaming` can drive long
shots window by window::

    pos, neg = pipe.encode_prompt(prompt, negative)
    image = pipe.encode_image(portrait)                          # CLIP tokens
    condition, first = pipe.encode_condition(portrait, frames)  # (1, 4+z, T, h, w), (1, z, 1, h, w)
    feats = pipe.encode_audio(samples)                          # (frames@25fps, layers, width) per speaker
    cond = pipe.conditioning(pos, neg, image, condition, windows, masks)
    latents = pipe.denoise(pipe.prepare_latents(frames, h, w, gen), cond, steps, 5.0, 4.0, known=first)
    video = pipe.decode(latents)                                # (1, 3, frames, H, W) in [-1, 1]

``known`` latents (the portrait's on the first window, the previous window's motion
latents after it) are pasted into the head of the latents before every transformer
call, as the reference does.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor

from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter
from engine.backends.infinitetalk.audio import InfiniteTalkAudioEncoder
from engine.backends.infinitetalk.injection import AudioInjection
from engine.backends.latent_preview import LatentPreview

# callback(step, total, timestep, latents, x0_estimate); raise inside it to stop sampling.
StepCallback = Callable[[int, int, float, torch.Tensor, torch.Tensor], None]


def clean_prompt(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text or ""))).strip()


def reference_sigmas(steps: int, num_train_timesteps: int = 1000) -> np.ndarray:
    """The reference's unshifted schedule: timesteps linspace(1000, 1, steps) / 1000."""
    return np.linspace(1.0, 1.0 / num_train_timesteps, steps, dtype=np.float32)


def reference_scheduler(shift: float) -> Any:
    """Flow-match Euler with the reference's shift (480p: 7, 720p: 11, distilled LoRA: 2)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=float(shift))


@dataclass
class InfiniteTalkConditioning:
    """Everything one window's denoiser sees, already encoded.

    ``audio_tokens`` (1, T, speakers·N, C) or None (no audio: the adapter stays silent);
    ``null_audio_tokens`` (1, T, N, C) from zero features of one speaker (the reference's
    dropped audio). ``masks`` (speakers + 1, first-frame tokens) route two speakers.
    """

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor | None
    image_embeds: torch.Tensor
    condition: torch.Tensor
    audio_tokens: torch.Tensor | None = None
    null_audio_tokens: torch.Tensor | None = None
    speakers: int = 1
    masks: torch.Tensor | None = None


class InfiniteTalkPipeline(DiffusionPipeline):
    """Wan2.1-I2V-14B with InfiniteTalk's audio layers; see the module docstring."""

    model_cpu_offload_seq = "text_encoder->image_encoder->transformer->vae"
    _exclude_from_cpu_offload = ["audio_adapter"]
    _optional_components = ["audio_encoder", "feature_extractor"]

    def __init__(self, tokenizer: Any, text_encoder: Any, image_encoder: Any, image_processor: Any, vae: Any,
                 scheduler: Any, transformer: Any, audio_adapter: InfiniteTalkAdapter, audio_encoder: Any = None,
                 feature_extractor: Any = None) -> None:
        super().__init__()
        self.register_modules(
            tokenizer=tokenizer, text_encoder=text_encoder, image_encoder=image_encoder,
            image_processor=image_processor, vae=vae, scheduler=scheduler, transformer=transformer,
            audio_adapter=audio_adapter, audio_encoder=audio_encoder, feature_extractor=feature_extractor,
        )
        self.vae_scale_factor_temporal = int(getattr(vae.config, "scale_factor_temporal", 4))
        self.vae_scale_factor_spatial = int(getattr(vae.config, "scale_factor_spatial", 8))
        self.injection = AudioInjection(transformer, audio_adapter)
        self.preview = LatentPreview()
        self._conditions: dict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------ geometry
    @property
    def size_multiple(self) -> int:
        return self.vae_scale_factor_spatial * int(self.transformer.config.patch_size[1])

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int, int]:
        s = self.vae_scale_factor_spatial
        return (1, int(self.vae.config.z_dim), (num_frames - 1) // self.vae_scale_factor_temporal + 1,
                height // s, width // s)

    def check_geometry(self, width: int, height: int, num_frames: int) -> None:
        m = self.size_multiple
        if width % m or height % m:
            raise ValueError(f"{width}x{height} is not a multiple of {m}")
        if (num_frames - 1) % self.vae_scale_factor_temporal:
            raise ValueError(f"{num_frames} frames: InfiniteTalk renders {self.vae_scale_factor_temporal}k+1 frames")

    def token_grid(self, height: int, width: int) -> tuple[int, int]:
        return height // self.size_multiple, width // self.size_multiple

    # ------------------------------------------------------------ encoders
    def _device_of(self, module: torch.nn.Module) -> torch.device:
        hook = getattr(module, "_hf_hook", None)
        if hook is not None and getattr(hook, "execution_device", None) is not None:
            return torch.device(hook.execution_device)
        return next(module.parameters()).device

    @torch.no_grad()
    def encode_prompt(self, prompt: str, negative_prompt: str | None = None,
                      max_sequence_length: int = 512) -> tuple[torch.Tensor, torch.Tensor | None]:
        """UMT5 embeddings (1, 512, dim), zero past the prompt's tokens (diffusers' Wan rule)."""
        def embed(text: str) -> torch.Tensor:
            tokens = self.tokenizer([clean_prompt(text)], padding="max_length", max_length=max_sequence_length,
                                    truncation=True, add_special_tokens=True, return_attention_mask=True,
                                    return_tensors="pt")
            device = self._device_of(self.text_encoder)
            ids, mask = tokens.input_ids.to(device), tokens.attention_mask.to(device)
            hidden = self.text_encoder(ids, mask).last_hidden_state.to(self.text_encoder.dtype)
            out = torch.zeros_like(hidden)
            length = int(mask.gt(0).sum())
            out[:, :length] = hidden[:, :length]
            return out.to(self._execution_device, self.transformer.dtype)

        return embed(prompt), (embed(negative_prompt) if negative_prompt is not None else None)

    @torch.no_grad()
    def encode_image(self, image: np.ndarray) -> torch.Tensor:
        """CLIP ViT penultimate hidden states of the portrait (1, tokens, width)."""
        pixels = self.image_processor(images=image, return_tensors="pt").to(self._device_of(self.image_encoder))
        out = self.image_encoder(**pixels, output_hidden_states=True)
        return out.hidden_states[-2].to(self._execution_device, self.transformer.dtype)

    def _latent_stats(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        z = int(self.vae.config.z_dim)
        mean = torch.tensor(self.vae.config.latents_mean).view(1, z, 1, 1, 1).to(device, dtype)
        inv_std = 1.0 / torch.tensor(self.vae.config.latents_std).view(1, z, 1, 1, 1).to(device, dtype)
        return mean, inv_std

    @torch.no_grad()
    def encode_condition(self, image: np.ndarray, num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Portrait (H×W×3 uint8 at the render size) → I2V condition and the portrait's own latent.

        The condition is ``[mask (4 ch), VAE([portrait, zeros…])]`` (1, 4+z, T, h, w); the
        latent (1, z, 1, h, w) is its first frame (the causal VAE encodes frame 0 alone).
        Both are normalised float32. Also fits the latent preview on the portrait. The last
        few results are kept, so the same portrait and window length are encoded once.
        """
        rgb = np.ascontiguousarray(image, dtype=np.uint8)
        key = (hashlib.sha1(rgb.tobytes()).hexdigest(), rgb.shape, int(num_frames))
        if key not in self._conditions:
            self._conditions[key] = self._encode_condition(rgb, num_frames)
            while len(self._conditions) > 4:
                self._conditions.pop(next(iter(self._conditions)))
        condition, first = self._conditions[key]
        self.preview.fit(first, rgb)
        return condition, first

    def _encode_condition(self, rgb: np.ndarray, num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = rgb.shape[:2]
        device = self._device_of(self.vae)
        x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div(255.0).mul(2.0).sub(1.0)
        video = torch.cat([x[None, :, None], x.new_zeros(1, 3, num_frames - 1, height, width)], dim=2)
        latent = self.vae.encode(video.to(device, self.vae.dtype)).latent_dist.mode()
        exec_device = self._execution_device
        latent = latent.to(exec_device, torch.float32)
        mean, inv_std = self._latent_stats(exec_device, torch.float32)
        latent = (latent - mean) * inv_std
        _, _, t, h, w = latent.shape
        stride = self.vae_scale_factor_temporal
        mask = torch.zeros(1, 1, num_frames, h, w, device=exec_device)
        mask[:, :, 0] = 1
        mask = torch.cat([mask[:, :, :1].repeat_interleave(stride, dim=2), mask[:, :, 1:]], dim=2)
        mask = mask.view(1, -1, stride, h, w).transpose(1, 2)
        return torch.cat([mask, latent], dim=1), latent[:, :, :1].clone()

    def audio_encoder_wrapper(self) -> InfiniteTalkAudioEncoder:
        if self.audio_encoder is None or self.feature_extractor is None:
            raise RuntimeError("this InfiniteTalk pipeline was loaded without its audio encoder")
        return InfiniteTalkAudioEncoder(self.audio_encoder, self.feature_extractor)

    @torch.no_grad()
    def encode_audio(self, samples: np.ndarray, num_frames: int | None = None) -> torch.Tensor:
        """16 kHz mono speech of one speaker → (frames at 25 fps, layers, width)."""
        return self.audio_encoder_wrapper().encode(samples, num_frames)

    @torch.no_grad()
    def audio_tokens(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-speaker windows (S, F, W, L, C) → tokens (1, T, S·N, C) and null tokens (1, T, N, C)."""
        tokens = self.audio_adapter.project(windows)
        null = self.audio_adapter.project(torch.zeros_like(windows[:1]))
        return torch.cat(tokens.split(1), dim=2), null

    def conditioning(self, prompt_embeds: torch.Tensor, negative_prompt_embeds: torch.Tensor | None,
                     image_embeds: torch.Tensor, condition: torch.Tensor, windows: torch.Tensor | None = None,
                     masks: torch.Tensor | None = None) -> InfiniteTalkConditioning:
        """Bundle a window's inputs; ``windows`` (S, F, W, L, C) per speaker, ``masks`` for S = 2."""
        cond = InfiniteTalkConditioning(prompt_embeds, negative_prompt_embeds, image_embeds, condition)
        if windows is not None:
            cond.audio_tokens, cond.null_audio_tokens = self.audio_tokens(windows)
            cond.speakers = int(windows.shape[0])
            cond.masks = masks if cond.speakers > 1 else None
        return cond

    # ---------------------------------------------------------------- sample
    def prepare_latents(self, num_frames: int, height: int, width: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        """Gaussian noise (1, z, T, h, w), float32, drawn on the CPU so a seed gives the same take anywhere."""
        noise = randn_tensor(self.latent_shape(num_frames, height, width), generator=generator,
                             device=torch.device("cpu"), dtype=torch.float32)
        return noise.to(self._execution_device)

    def _forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, image: torch.Tensor,
                 audio: torch.Tensor | None, speakers: int, masks: torch.Tensor | None) -> torch.Tensor:
        with self.injection.audio(audio, speakers, masks):
            out = self.transformer(hidden_states=x, timestep=t, encoder_hidden_states=text,
                                   encoder_hidden_states_image=image, return_dict=False)[0]
        return out.float()

    def predict(self, latent_input: torch.Tensor, t: torch.Tensor, cond: InfiniteTalkConditioning,
                guidance_text: float, guidance_audio: float) -> torch.Tensor:
        """One guided velocity, with the reference's text/audio CFG.

        Both on: ``uncond + g_t·(cond − drop_text) + g_a·(drop_text − uncond)`` where
        drop_text keeps the audio and uncond drops both (3 passes). ``g_t = 1``:
        ``drop_audio + g_a·(cond − drop_audio)`` (2 passes).
        """
        pos, neg, img = cond.prompt_embeds, cond.negative_prompt_embeds, cond.image_embeds
        audio, null, s, m = cond.audio_tokens, cond.null_audio_tokens, cond.speakers, cond.masks
        use_text = not math.isclose(guidance_text, 1.0) and neg is not None
        use_audio = not math.isclose(guidance_audio, 1.0) and audio is not None
        full = self._forward(latent_input, t, pos, img, audio, s, m)
        if use_text and audio is not None:
            drop_text = self._forward(latent_input, t, neg, img, audio, s, m)
            uncond = self._forward(latent_input, t, neg, img, null, 1, None)
            return uncond + guidance_text * (full - drop_text) + guidance_audio * (drop_text - uncond)
        if use_text:
            uncond = self._forward(latent_input, t, neg, img, None, 1, None)
            return uncond + guidance_text * (full - uncond)
        if use_audio:
            drop_audio = self._forward(latent_input, t, pos, img, null, 1, None)
            return drop_audio + guidance_audio * (full - drop_audio)
        return full

    def passes_per_step(self, cond: InfiniteTalkConditioning, guidance_text: float, guidance_audio: float) -> int:
        use_text = not math.isclose(guidance_text, 1.0) and cond.negative_prompt_embeds is not None
        if use_text:
            return 3 if cond.audio_tokens is not None else 2
        return 2 if (not math.isclose(guidance_audio, 1.0) and cond.audio_tokens is not None) else 1

    def set_timesteps(self, steps: int, device: torch.device) -> None:
        """Flow-match Euler uses the reference's schedule; other schedulers their own."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        if isinstance(self.scheduler, FlowMatchEulerDiscreteScheduler):
            self.scheduler.set_timesteps(sigmas=reference_sigmas(steps), device=device)
        else:
            self.scheduler.set_timesteps(steps, device=device)

    @torch.no_grad()
    def denoise(self, latents: torch.Tensor, cond: InfiniteTalkConditioning, num_inference_steps: int,
                guidance_text: float = 5.0, guidance_audio: float = 4.0, callback: StepCallback | None = None,
                known: torch.Tensor | None = None, known_noise: torch.Tensor | None = None) -> torch.Tensor:
        """Sample from noise; ``known`` (1, z, k, h, w) clean latents are pasted at the head each step.

        ``known_noise`` (same shape) gives the pasted frames the current noise level
        instead (the re-noising the reference computes and then overwrites; off by default).
        """
        latents = latents.float().clone()
        self.set_timesteps(num_inference_steps, latents.device)
        timesteps, sigmas = self.scheduler.timesteps, self.scheduler.sigmas
        dtype = self.transformer.dtype
        k = 0 if known is None else known.shape[2]
        known = None if known is None else known.to(latents.device, torch.float32)
        for i, t in enumerate(timesteps):
            if k:
                sigma = float(sigmas[i])
                head = known if known_noise is None else (1 - sigma) * known + sigma * known_noise.to(known)
                latents[:, :, :k] = head
            x = torch.cat([latents, cond.condition.to(latents)], dim=1).to(dtype)
            velocity = self.predict(x, t.expand(latents.shape[0]), cond, guidance_text, guidance_audio)
            x0 = latents - float(sigmas[i]) * velocity
            latents = self.scheduler.step(velocity, t, latents, return_dict=False)[0]
            if callback is not None:
                callback(i, len(timesteps), float(t), latents, x0)
        if k:
            latents[:, :, :k] = known
        return latents

    # ---------------------------------------------------------------- decode
    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents → video (1, 3, frames, H, W) float32 in [-1, 1]."""
        device = self._device_of(self.vae)
        z = latents.to(device, self.vae.dtype)
        mean, inv_std = self._latent_stats(device, z.dtype)
        video = self.vae.decode(z / inv_std + mean, return_dict=False)[0]
        return video.float().clamp(-1.0, 1.0)

    @staticmethod
    def to_uint8(video: torch.Tensor) -> np.ndarray:
        """(1, 3, n, H, W) in [-1, 1] → (n, H, W, 3) uint8."""
        frames = video[0].permute(1, 2, 3, 0).float().add(1.0).mul(127.5).round().clamp(0, 255)
        return frames.to(torch.uint8).cpu().numpy()

    # ------------------------------------------------------------------ call
    @torch.no_grad()
    def __call__(self, image: np.ndarray, prompt: str, audio: list[np.ndarray] | None, num_frames: int,
                 width: int, height: int, speaker_boxes: list[list[float]] | None = None,
                 num_inference_steps: int = 40, guidance_text: float = 5.0, guidance_audio: float = 4.0,
                 shift: float | None = 7.0, negative_prompt: str | None = None,
                 generator: torch.Generator | None = None, callback: StepCallback | None = None) -> np.ndarray:
        """One window (``num_frames`` = 4k+1, at most ~81) at 25 fps → uint8 frames (n, H, W, 3).

        ``image`` is the portrait at any size (cover-cropped to ``width``×``height``);
        ``audio`` one 16 kHz track per speaker; ``speaker_boxes`` their normalised face boxes.
        ``shift`` samples with the reference's flow-match Euler; None keeps the folder's scheduler.
        """
        from engine.backends.infinitetalk.audio import frame_windows
        from engine.backends.infinitetalk.presets import DEFAULT_NEGATIVE
        from engine.backends.infinitetalk.routing import latent_masks, masks_from_boxes
        from engine.media.image import fit_image

        self.check_geometry(width, height, num_frames)
        if shift is not None:
            self.scheduler = reference_scheduler(shift)
        rgb = fit_image(np.asarray(image, np.uint8), width, height, mode="cover")
        negative = (negative_prompt or DEFAULT_NEGATIVE) if not math.isclose(guidance_text, 1.0) else None
        pos, neg = self.encode_prompt(prompt, negative)
        condition, first = self.encode_condition(rgb, num_frames)
        windows = masks = None
        if audio:
            feats = [self.encode_audio(a) for a in audio]
            windows = torch.stack([frame_windows(f, 0, num_frames, self.audio_adapter.config.audio_window)
                                   for f in feats])
            if len(audio) > 1:
                if speaker_boxes is None or len(speaker_boxes) != len(audio):
                    raise ValueError("two speakers need one face box each (speaker_boxes)")
                src_h, src_w = np.asarray(image).shape[:2]
                full = masks_from_boxes(speaker_boxes, src_w, src_h, width, height)
                masks = latent_masks(full, first.shape[-2:], self.token_grid(height, width))
        cond = self.conditioning(pos, neg, self.encode_image(rgb), condition, windows, masks)
        latents = self.prepare_latents(num_frames, height, width, generator)
        latents = self.denoise(latents, cond, num_inference_steps, guidance_text, guidance_audio, callback,
                               known=first)
        return self.to_uint8(self.decode(latents))
