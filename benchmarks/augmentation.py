"""Cost of on-the-fly augmentation, as a ratio to computing the same clips' log-mel features (same process).

Training augments every clip of every batch inside the collator, so its cost adds to each step. This
prints, per effect and for the default random chain: milliseconds per clip, the ratio to the log-mel
extraction of that clip (``process_audio``, the baseline every batch pays anyway) and the real-time
factor (seconds of audio per second of compute; higher is faster). Then one training batch: waveform
chain + per-bin normalisation + SpecAugment vs. feature extraction alone. Nothing is asserted.

    python benchmarks/augmentation.py            # CPU, 2 threads
    python benchmarks/augmentation.py --quick
"""

from __future__ import annotations

import argparse
import platform

import torch

from _timing import median_seconds
from echo_edu.audio import SAMPLE_RATE, frame_lengths, normalize_features, process_audio
from echo_edu.augmentation import AUGMENTATIONS, AugmentConfig, Augmenter, apply_augmentation
from echo_edu.viz.augmentation import synthetic_vowels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clip-seconds", type=float, default=2.5, help="clip length (digits clips: 1-4 s)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--audio-ctx", type=int, default=400, help="encoder window of the model (small: 400)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    run_time = 0.2 if args.quick else 1.0
    wave = synthetic_vowels(args.clip_seconds)
    clip_s = wave.shape[-1] / SAMPLE_RATE
    base = median_seconds(lambda: process_audio(wave, args.audio_ctx, 80), run_time)
    print(f"augmentation cost on {platform.processor() or 'CPU'}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; {clip_s:.1f} s clips; baseline log-mel {1000 * base:.2f} ms/clip\n")
    print("| effect | ms per clip | × log-mel cost | real-time factor |")
    print("|---|---:|---:|---:|")
    effects = {name: (lambda n=name: apply_augmentation(n, wave, SAMPLE_RATE, 0.5, torch.Generator().manual_seed(0)))
               for name in AUGMENTATIONS if name != "specaugment"}
    augmenter, generator = Augmenter(AugmentConfig()), torch.Generator().manual_seed(0)
    effects["default random chain"] = lambda: augmenter.augment_waveform(wave, SAMPLE_RATE, generator)
    for name, fn in effects.items():
        t = median_seconds(fn, run_time)
        print(f"| {name} | {1000 * t:.2f} | {t / base:.2f} | {clip_s / t:.0f} |")

    waves = [synthetic_vowels(args.clip_seconds * (0.6 + 0.8 * k / args.batch), f0=90 + k) for k in range(args.batch)]
    lengths = frame_lengths([w.shape[-1] for w in waves], max_frames=2 * args.audio_ctx)

    def features_only():
        return process_audio(waves, args.audio_ctx, 80)

    def augmented():
        g = torch.Generator().manual_seed(1)
        mel = process_audio([augmenter.augment_waveform(w, SAMPLE_RATE, g) for w in waves], args.audio_ctx, 80)
        return augmenter.augment_features(normalize_features(mel, lengths), g, lengths)

    t_plain, t_aug = median_seconds(features_only, run_time), median_seconds(augmented, run_time)
    print(f"\nbatch of {args.batch}: features {1000 * t_plain:.0f} ms; chain + CMVN + SpecAugment + features "
          f"{1000 * t_aug:.0f} ms ({t_aug / t_plain:.1f}× the features alone)")


if __name__ == "__main__":
    main()
