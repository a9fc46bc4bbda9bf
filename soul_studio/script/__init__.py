"""Script to scene: screenplays (Fountain, Final Draft) → cast, shots, temp voices, split recordings.

No Qt here; the CLI (:mod:`soul_studio.script.command`) and the import dialog share this API.
"""

from soul_studio.script.edits import EditGroup
from soul_studio.script.errors import ImportChoiceError, ScreenplayError, ScriptError, TempVoiceUnavailable
from soul_studio.script.fdx import parse_fdx
from soul_studio.script.fountain import parse_fountain
from soul_studio.script.model import Action, DialogueBlock, Scene, Screenplay, Transition
from soul_studio.script.names import normalise_character_name, split_cue
from soul_studio.script.parse import SCRIPT_SUFFIXES, parse_screenplay
from soul_studio.script.scene import ImportOptions, SceneImport, build_scene, import_scene
from soul_studio.script.split import detect_speech, expected_duration, recording_edits, split_clip, split_recording
from soul_studio.script.temp_voice import espeak_available, generate_temp_voices, render_temp_voice

__all__ = [
    "SCRIPT_SUFFIXES",
    "Action",
    "DialogueBlock",
    "EditGroup",
    "ImportChoiceError",
    "ImportOptions",
    "Scene",
    "SceneImport",
    "ScreenplayError",
    "Screenplay",
    "ScriptError",
    "TempVoiceUnavailable",
    "Transition",
    "build_scene",
    "detect_speech",
    "espeak_available",
    "expected_duration",
    "generate_temp_voices",
    "import_scene",
    "normalise_character_name",
    "parse_fdx",
    "parse_fountain",
    "parse_screenplay",
    "recording_edits",
    "render_temp_voice",
    "split_clip",
    "split_cue",
    "split_recording",
]
