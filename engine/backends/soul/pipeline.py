"""SoulPipeline: portrait + line + dialogue audio → talking video, Wan2.2-TI2V style.

The pipeline follows diffusers' Wan2.2 TI2V path (``expand_timesteps``): the portrait
is VAE-encoded into the first latent frame, which is pasted into the latents before
every transformer call and given timestep 0, so the model only denoises the frames
after it. Audio enters through :mod:`.adapter`'s hooks.

Every stage is a method so long-form generation can drive it chunk by chunk::

    pos, neg = pipe.encode_prompt(prompt, negative_prompt)
    feats = pipe.encode_audio(samples_16k, fps, num_frames)          # (F, window, layers, dim)
    cond = pipe.conditioning(pos, neg, feats, cond_latents)          # cond_latents: (1, C, k, h, w)
    # cond_latents: pipe.encode_image(portrait, w, h), or pipe.encode_video(tail frames) / a latent slice
    latents = pipe.prepare_latents(num_frames, height, width, generator)
    latents = pipe.denoise(latents, cond, steps, guidance_text, guidance_audio, callback=...)
    for frames in pipe.decode_latents(latents): ...                  # uint8 (n, H, W, 3) pieces

``cond_latents`` may hold several known latent frames (the portrait, or the tail of the
previous chunk); they are kept fixed and marked clean, the rest is generated.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor

from engine.backends.latent_preview import LatentPreview
from engine.backends.soul.adapter import AudioInjection, SoulAudioAdapter
from engine.backends.soul.audio import SoulAudioEncoder
from engine.backends.soul.presets import DEFAULT_NEGATIVE, RESOLUTIONS, valid_frame_count

__all__ = ["DEFAULT_NEGATIVE", "RESOLUTIONS", "SoulConditioning", "SoulPipeline", "valid_frame_count"]


def clean_prompt(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text or ""))).strip()


@dataclass
class SoulConditioning:
    """Everything the denoiser is conditioned on, already encoded.

    ``audio_tokens``/``null_audio_tokens`` are (1, latent_frames, N, C) from the adapter
    (None: no audio, the adapter stays silent). ``cond_latents`` (1, C, k, h, w) are the
    k known, normalised latent frames at the start of the clip.
    """

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor | None
    audio_tokens: torch.Tensor | None
    null_audio_tokens: torch.Tensor | None
    cond_latents: torch.Tensor | None


# callback(step, total, timestep, latents, x0_estimate); raise inside it to stop sampling.
StepCallback = Callable[[int, int, float, torch.Tensor, torch.Tensor], None]


class SoulPipeline(DiffusionPipeline):
    """Wan2.2-TI2V-5B with audio injection; see the module docstring for the stages."""

    model_cpu_offload_seq = "text_encoder->audio_encoder->transformer->vae"
    _exclude_from_cpu_offload = ["audio_adapter"]
    _optional_components = ["audio_encoder", "feature_extractor"]

    def __init__(
        self,
        tokenizer: Any,
        text_encoder: Any,
        vae: Any,
        scheduler: Any,
        transformer: Any,
        audio_adapter: SoulAudioAdapter,
        audio_encoder: Any = None,
        feature_extractor: Any = None,
    ) -> None:
        super().__init__()
        self.register_modules(
            tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
            transformer=transformer, audio_adapter=audio_adapter, audio_encoder=audio_encoder,
            feature_extractor=feature_extractor,
        )
        self.vae_scale_factor_temporal = int(vae.config.scale_factor_temporal)
        self.vae_scale_factor_spatial = int(vae.config.scale_factor_spatial)
        self._injection = AudioInjection(transformer, audio_adapter)
        self._preview = LatentPreview()

    # ------------------------------------------------------------ geometry
    @property
    def size_multiple(self) -> int:
        return self.vae_scale_factor_spatial * int(self.transformer.config.patch_size[1])

    def check_geometry(self, width: int, height: int, num_frames: int) -> None:
        m = self.size_multiple
        if width % m or height % m:
            raise ValueError(f"{width}x{height} is not a multiple of {m}; use one of {RESOLUTIONS}")
        if (num_frames - 1) % self.vae_scale_factor_temporal:
            raise ValueError(f"{num_frames} frames: soul renders {self.vae_scale_factor_temporal}k+1 frames")

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int, int]:
        return (
            1,
            int(self.transformer.config.in_channels),
            (num_frames - 1) // self.vae_scale_factor_temporal + 1,
            height // self.vae_scale_factor_spatial,
            width // self.vae_scale_factor_spatial,
        )

    # ------------------------------------------------------------- encoders
    @torch.no_grad()
    def encode_prompt(
        self, prompt: str, negative_prompt: str | None = DEFAULT_NEGATIVE, max_sequence_length: int = 512
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """UMT5 embeddings (1, max_sequence_length, dim), zero past the prompt's tokens.

        ``negative_prompt=None`` skips the negative (no text guidance).
        """
        def embed(text: str) -> torch.Tensor:
            tokens = self.tokenizer(
                [clean_prompt(text)], padding="max_length", max_length=max_sequence_length, truncation=True,
                add_special_tokens=True, return_attention_mask=True, return_tensors="pt",
            )
            device = next(self.text_encoder.parameters()).device
            ids, mask = tokens.input_ids.to(device), tokens.attention_mask.to(device)
            hidden = self.text_encoder(ids, mask).last_hidden_state
            length = int(mask.sum())
            out = torch.zeros_like(hidden)
            out[:, :length] = hidden[:, :length]
            return out.to(self._execution_device, self.transformer.dtype)

        positive = embed(prompt)
        negative = embed(negative_prompt) if negative_prompt is not None else None
        return positive, negative

    def audio_encoder_wrapper(self) -> SoulAudioEncoder:
        if self.audio_encoder is None or self.feature_extractor is None:
            raise RuntimeError("this soul pipeline was loaded without its audio encoder")
        return SoulAudioEncoder(self.audio_encoder, self.feature_extractor, self.audio_adapter.config.context_frames)

    @torch.no_grad()
    def encode_audio(self, samples: np.ndarray, fps: float, num_frames: int) -> torch.Tensor:
        """16 kHz mono samples → per-frame windows (num_frames, window, layers, dim)."""
        return self.audio_encoder_wrapper().encode(samples, fps, num_frames)

    @torch.no_grad()
    def project_audio(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Adapter tokens for ``features`` and for silence-by-dropout (all-zero features)."""
        features = features.to(self._execution_device)
        return self.audio_adapter.project_audio(features), self.audio_adapter.project_audio(torch.zeros_like(features))

    # --------------------------------------------------------------- latents
    def _latent_stats(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        z = int(self.vae.config.z_dim)
        mean = torch.tensor(self.vae.config.latents_mean, device=device, dtype=dtype).view(1, z, 1, 1, 1)
        std = torch.tensor(self.vae.config.latents_std, device=device, dtype=dtype).view(1, z, 1, 1, 1)
        return mean, std

    def _vae_device(self) -> torch.device:
        hook = getattr(self.vae, "_hf_hook", None)
        if hook is not None and getattr(hook, "execution_device", None) is not None:
            return torch.device(hook.execution_device)
        return next(self.vae.parameters()).device

    @torch.no_grad()
    def encode_image(self, image: np.ndarray, width: int, height: int) -> torch.Tensor:
        """Portrait (H×W×3 uint8, any size) → normalised first-frame latent (1, C, 1, h, w).

        The image is scaled to cover ``width``×``height`` and centre-cropped, as the
        frames will be.
        """
        from engine.media.image import fit_image

        rgb = fit_image(np.asarray(image, dtype=np.uint8), width, height, mode="cover")
        device = self._vae_device()
        x = torch.from_numpy(rgb).permute(2, 0, 1).float().div(127.5).sub(1.0)
        x = x[None, :, None].to(device=device, dtype=self.vae.dtype)
        latent = self.vae.encode(x).latent_dist.mode()
        mean, std = self._latent_stats(latent.device, latent.dtype)
        latent = ((latent - mean) / std).float()
        self._preview.fit(latent, rgb)
        return latent.to(self._execution_device)

    @torch.no_grad()
    def encode_video(self, frames: np.ndarray) -> torch.Tensor:
        """Frames (n, H, W, 3) uint8 at the render size, n = 4k+1 → normalised latents (1, C, k+1, h, w).

        Long-form generation uses it to condition a chunk on the tail of the previous one.
        """
        frames = np.asarray(frames, dtype=np.uint8)
        if (frames.shape[0] - 1) % self.vae_scale_factor_temporal:
            raise ValueError(f"{frames.shape[0]} frames: encode {self.vae_scale_factor_temporal}k+1 frames")
        device = self._vae_device()
        x = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)
        latent = self.vae.encode(x[None].to(device=device, dtype=self.vae.dtype)).latent_dist.mode()
        mean, std = self._latent_stats(latent.device, latent.dtype)
        return ((latent - mean) / std).float().to(self._execution_device)

    def prepare_latents(
        self, num_frames: int, height: int, width: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Gaussian noise (1, C, latent_frames, h, w) in float32; seeded on the CPU so a seed
        gives the same take on any device."""
        shape = self.latent_shape(num_frames, height, width)
        noise = randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
        return noise.to(self._execution_device)

    def conditioning(
        self,
        prompt_embeds: torch.Tensor,
        negative_prompt_embeds: torch.Tensor | None,
        audio_features: torch.Tensor | None,
        cond_latents: torch.Tensor | None,
    ) -> SoulConditioning:
        tokens = null = None
        if audio_features is not None:
            tokens, null = self.project_audio(audio_features)
        return SoulConditioning(prompt_embeds, negative_prompt_embeds, tokens, null, cond_latents)

    # ---------------------------------------------------------------- sample
    def _run(self, latents: torch.Tensor, timestep: torch.Tensor, passes: list[tuple[torch.Tensor, Any]],
             batched: bool) -> list[torch.Tensor]:
        dtype = self.transformer.dtype
        x = latents.to(dtype)
        if batched and len(passes) > 1 and all(a is not None for _, a in passes):
            n = len(passes)
            text = torch.cat([t for t, _ in passes])
            audio = torch.cat([a for _, a in passes])
            with self._injection.audio(audio):
                out = self.transformer(hidden_states=x.expand(n, -1, -1, -1, -1), timestep=timestep.expand(n, -1),
                                       encoder_hidden_states=text, return_dict=False)[0]
            return list(out.float().chunk(n))
        preds = []
        for text, audio in passes:
            with self._injection.audio(audio):
                out = self.transformer(hidden_states=x, timestep=timestep, encoder_hidden_states=text,
                                       return_dict=False)[0]
            preds.append(out.float())
        return preds

    def predict(self, latent_input: torch.Tensor, timestep: torch.Tensor, cond: SoulConditioning,
                guidance_text: float, guidance_audio: float, batch_cfg: bool = False) -> torch.Tensor:
        """One guided velocity prediction.

        With both guidances on: ``u + g_t·(a0 − u) + g_a·(full − a0)`` where ``full`` sees
        text and audio, ``a0`` text without audio and ``u`` neither (3 passes, or one
        batched pass with ``batch_cfg``).
        """
        use_text = guidance_text != 1.0 and cond.negative_prompt_embeds is not None
        use_audio = guidance_audio != 1.0 and cond.audio_tokens is not None
        pos, neg, audio, null = cond.prompt_embeds, cond.negative_prompt_embeds, cond.audio_tokens, cond.null_audio_tokens
        if use_text and use_audio:
            full, text_only, uncond = self._run(latent_input, timestep, [(pos, audio), (pos, null), (neg, null)], batch_cfg)
            return uncond + guidance_text * (text_only - uncond) + guidance_audio * (full - text_only)
        if use_text:
            full, uncond = self._run(latent_input, timestep, [(pos, audio), (neg, audio)], batch_cfg)
            return uncond + guidance_text * (full - uncond)
        if use_audio:
            full, text_only = self._run(latent_input, timestep, [(pos, audio), (pos, null)], batch_cfg)
            return text_only + guidance_audio * (full - text_only)
        return self._run(latent_input, timestep, [(pos, audio)], batch_cfg)[0]

    def passes_per_step(self, cond: SoulConditioning, guidance_text: float, guidance_audio: float) -> int:
        use_text = guidance_text != 1.0 and cond.negative_prompt_embeds is not None
        use_audio = guidance_audio != 1.0 and cond.audio_tokens is not None
        return 1 + int(use_text) + int(use_audio)

    @torch.no_grad()
    def denoise(
        self,
        latents: torch.Tensor,
        cond: SoulConditioning,
        num_inference_steps: int,
        guidance_text: float = 5.0,
        guidance_audio: float = 4.0,
        callback: StepCallback | None = None,
        batch_cfg: bool = False,
    ) -> torch.Tensor:
        """Sample from noise ``latents``; known frames in ``cond.cond_latents`` stay fixed.

        Returns the clean latents with the known frames pasted in.
        """
        latents = latents.float()
        mask = torch.ones((1, 1, *latents.shape[2:]), device=latents.device, dtype=torch.float32)
        known = torch.zeros_like(latents)
        if cond.cond_latents is not None:
            k = cond.cond_latents.shape[2]
            mask[:, :, :k] = 0
            known[:, :, :k] = cond.cond_latents.to(latents.device, torch.float32)
        p_t, p_h, p_w = self.transformer.config.patch_size
        token_mask = mask[0, 0, ::p_t, ::p_h, ::p_w].flatten()

        self.scheduler.set_timesteps(num_inference_steps, device=latents.device)
        timesteps = self.scheduler.timesteps
        sigmas = self.scheduler.sigmas
        self.scheduler.set_begin_index(0)
        for i, t in enumerate(timesteps):
            latent_input = (1 - mask) * known + mask * latents
            timestep = (token_mask * t).unsqueeze(0)
            velocity = self.predict(latent_input, timestep, cond, guidance_text, guidance_audio, batch_cfg)
            x0 = latent_input - float(sigmas[i]) * velocity
            latents = self.scheduler.step(velocity, t, latents, return_dict=False)[0]
            if callback is not None:
                callback(i, len(timesteps), float(t), latents, (1 - mask) * known + mask * x0)
        return (1 - mask) * known + mask * latents

    # ---------------------------------------------------------------- decode
    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> Iterator[np.ndarray]:
        """Yield uint8 RGB frames (n, H, W, 3), one latent frame's worth (1, then 4) at a time.

        The Wan VAE decodes causally frame by frame with a feature cache; this walks
        that loop and hands out each piece as it is ready, so a long take never sits in
        memory as one tensor. With VAE tiling on, the tiled decoder runs as a whole.
        """
        from diffusers.models.autoencoders import autoencoder_kl_wan as wan_vae

        vae = self.vae
        hook = getattr(vae, "_hf_hook", None)
        if hook is not None:
            hook.pre_forward(vae)
        device = self._vae_device()
        z = latents.to(device=device, dtype=vae.dtype)
        mean, std = self._latent_stats(device, z.dtype)
        z = z * std + mean
        frames = z.shape[2]
        tiled = getattr(vae, "use_tiling", False)
        streamable = all(hasattr(vae, a) for a in ("clear_cache", "post_quant_conv", "decoder", "_feat_map"))
        if tiled or not streamable:
            video = vae.decode(z, return_dict=False)[0]
            yield from (_to_uint8(video[:, :, i : i + 4]) for i in range(0, video.shape[2], 4))
            return
        vae.clear_cache()
        try:
            x = vae.post_quant_conv(z)
            patch = vae.config.patch_size
            for i in range(frames):
                vae._conv_idx = [0]
                out = vae.decoder(x[:, :, i : i + 1], feat_cache=vae._feat_map, feat_idx=vae._conv_idx,
                                  first_chunk=(i == 0))
                if patch is not None:
                    out = wan_vae.unpatchify(out, patch_size=patch)
                yield _to_uint8(out.clamp(-1.0, 1.0))
        finally:
            vae.clear_cache()

    # --------------------------------------------------------------- preview
    def preview_image(self, latents: torch.Tensor, frame: int | None = None, scale: int | None = None) -> np.ndarray:
        """A cheap RGB preview (uint8 H×W×3) of one latent frame, without the VAE (fitted on the portrait)."""
        return self._preview.image(latents, frame, scale)

    # ------------------------------------------------------------------ call
    @torch.no_grad()
    def __call__(
        self,
        image: np.ndarray,
        prompt: str,
        audio: np.ndarray | None,
        fps: float,
        num_frames: int,
        width: int,
        height: int,
        num_inference_steps: int = 30,
        guidance_text: float = 5.0,
        guidance_audio: float = 4.0,
        negative_prompt: str | None = DEFAULT_NEGATIVE,
        generator: torch.Generator | None = None,
        callback: StepCallback | None = None,
        batch_cfg: bool = False,
    ) -> Iterator[np.ndarray]:
        """Render one clip; yields uint8 frame pieces as :meth:`decode_latents` does."""
        self.check_geometry(width, height, num_frames)
        pos, neg = self.encode_prompt(prompt, negative_prompt if guidance_text != 1.0 else None)
        feats = self.encode_audio(audio, fps, num_frames) if audio is not None else None
        cond = self.conditioning(pos, neg, feats, self.encode_image(image, width, height))
        latents = self.prepare_latents(num_frames, height, width, generator)
        latents = self.denoise(latents, cond, num_inference_steps, guidance_text, guidance_audio, callback, batch_cfg)
        return self.decode_latents(latents)


def _to_uint8(video: torch.Tensor) -> np.ndarray:
    """(1, 3, n, H, W) in [-1, 1] → (n, H, W, 3) uint8."""
    frames = video[0].permute(1, 2, 3, 0).float().add(1.0).mul(127.5).round().clamp(0, 255)
    return frames.to(torch.uint8).cpu().numpy()
