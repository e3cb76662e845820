"""Feature-extraction speed: echo_edu.process_audio against transformers' Whisper front end, same process.

Reports the real-time factor (seconds of audio turned into log-mel features per second of compute;
higher is faster) for echo_edu (torch STFT + torchaudio Slaney filters, batched) and, as the baseline,
transformers' ``WhisperFeatureExtractor`` (its torch STFT path when torch is installed, NumPy
otherwise), on the same random clips, padded to the same number of frames. Also times ``load_audio``
on 22.05 kHz FLAC files (decode + resample). Nothing is asserted.

    python benchmarks/audio.py              # CPU, 2 threads
    python benchmarks/audio.py --quick
    python benchmarks/audio.py --device cuda
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from _timing import median_seconds
from echo_edu.audio import SAMPLE_RATE, load_audio, process_audio


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers import WhisperFeatureExtractor

    device = torch.device(args.device)
    run_time = 0.5 if args.quick else 2.0
    gen = torch.Generator().manual_seed(0)
    whisper = WhisperFeatureExtractor(feature_size=80)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads"
    print(f"log-mel feature extraction on {where}, torch {torch.__version__}\n")
    print("| clips × seconds (audio_ctx) | echo_edu RTF | transformers Whisper RTF | echo_edu speed-up |")
    print("|---|---:|---:|---:|")
    cases = [(1, 30.0, 1500), (8, 30.0, 1500), (32, 2.0, 100)] if args.quick else \
        [(1, 30.0, 1500), (8, 30.0, 1500), (32, 30.0, 1500), (64, 2.0, 100), (256, 2.0, 100)]
    for batch, clip_s, ctx in cases:
        n = int(clip_s * SAMPLE_RATE)
        clips = 0.1 * torch.randn(batch, n, generator=gen)
        on_device = clips.to(device)
        ours = median_seconds(lambda: process_audio(on_device, ctx, 80), run_time)
        arrays = list(clips.numpy())
        theirs = median_seconds(lambda: whisper(arrays, sampling_rate=SAMPLE_RATE, return_tensors="np",
                                          max_length=2 * ctx * 160, padding="max_length"), run_time)
        audio = batch * clip_s
        print(f"| {batch} × {clip_s:g} s ({ctx}) | {audio / ours:,.0f} | {audio / theirs:,.0f} | {theirs / ours:.1f} |")

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(16):
            path = Path(folder) / f"clip{i}.flac"
            sf.write(path, (0.1 * np.random.default_rng(i).standard_normal(22050 * 2)).astype(np.float32), 22050)
            paths.append(path)
        load = median_seconds(lambda: [load_audio(p) for p in paths], run_time)
        print(f"\nload_audio (FLAC decode + 22.05 -> 16 kHz resample): {len(paths) * 2 / load:,.0f}× real time")


if __name__ == "__main__":
    main()
