"""A soul job through the real engine process, its model folder given in the job's options
(as the studio sends it), not through the environment."""

from __future__ import annotations

import asyncio

from engine.jobs import JobSpec
from engine.media import probe_video
from soul_studio.engine_client import EngineClient


def test_engine_renders_soul_job_with_model_folder_in_options(trained_soul_folder, make_portrait, make_audio,
                                                             tmp_path, monkeypatch):
    monkeypatch.delenv("SOUL_MODEL_FOLDER", raising=False)
    job = JobSpec(
        shot_id="s1", portrait_path=str(make_portrait()), duration=0.48, fps=25.0, width=96, height=80,
        output_path=str(tmp_path / "take.mp4"), audio_path=str(make_audio(duration=1.0)), text="Hello.",
        seed=3, quality="final", backend="soul",
        options={"model_folder": str(trained_soul_folder), "allow_cpu": True, "render_size": [64, 64],
                 "steps": 2, "guidance_text": 1.0, "guidance_audio": 2.0},
    ).validate()

    async def main():
        client = EngineClient(journal_dir=tmp_path / "journal")
        await client.start()
        try:
            return await client.run(job, timeout=240)
        finally:
            await client.shutdown()

    event = asyncio.run(main())
    assert event.kind == "done", event.data
    assert probe_video(job.output_path).frame_count == job.frame_count
