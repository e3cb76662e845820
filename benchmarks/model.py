"""Echo model benchmarks: ratios measured in one process, never asserted on.

    python benchmarks/model.py            # full run (~2-4 min on 2 CPU cores)
    python benchmarks/model.py --quick    # smaller, for a smoke run
    python benchmarks/model.py --only kv_cache --threads 1   # one part: train_step, realtime or kv_cache

1. **Train step**: one AdamW step (forward + backward + update) of a standard-attention Echo vs a
   transformers ``WhisperForConditionalGeneration`` of the same width, depth, heads, MLP size, audio
   length and vocabulary, on the same batch. Target: Echo / Whisper ≤ 1.2.
2. **Real-time factor** of greedy transcription (``echo_edu.transcribe``) of the bundled digits
   sample clips with the bundled model (a random ``Dimensions.small()`` model capped at 40 tokens per
   clip when ``assets/echo-digits`` is absent), on ``--threads`` CPU threads. Target: ≤ 0.05.
3. **KV cache**: greedy decoding of exactly ``--tokens`` tokens (end-of-text suppressed) with the
   cache vs recomputing the prefix at every step. Target: ≥ 3×.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from echo_edu import Dimensions, Echo  # noqa: E402
from echo_edu.decode import greedy_decode  # noqa: E402


CLOCK = time.perf_counter


def timed(fn, repeats: int) -> float:
    """Median time of ``fn()`` over ``repeats`` runs (after one warm-up run), on :data:`CLOCK`."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return statistics.median(times)


def whisper_like(dims: Dimensions):
    """A randomly initialised Whisper with Echo's sizes (built offline)."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(
        vocab_size=dims.vocab, num_mel_bins=dims.mels, d_model=dims.text_dims,
        encoder_layers=dims.audio_layerA + dims.audio_layerB, decoder_layers=dims.text_layerA + dims.text_layerB,
        encoder_attention_heads=dims.audio_head, decoder_attention_heads=dims.text_head,
        encoder_ffn_dim=dims.mlp_ratio * dims.audio_dims, decoder_ffn_dim=dims.mlp_ratio * dims.text_dims,
        max_source_positions=dims.audio_ctx, max_target_positions=dims.text_ctx,
        pad_token_id=dims.pad_token_id, bos_token_id=dims.decoder_start_token_id, eos_token_id=dims.eos_token_id,
        decoder_start_token_id=dims.decoder_start_token_id, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, attn_implementation="sdpa")
    return WhisperForConditionalGeneration(config)


def train_step_ratio(dims: Dimensions, batch: int, tokens: int, repeats: int) -> dict:
    g = torch.Generator().manual_seed(0)
    mel = torch.randn(batch, dims.mels, 2 * dims.audio_ctx, generator=g)
    ids = torch.randint(3, dims.vocab, (batch, tokens), generator=g)
    ids[:, 0] = dims.decoder_start_token_id
    labels = torch.roll(ids, -1, dims=1)
    labels[:, -1] = dims.eos_token_id
    echo, whisper = Echo(dims).train(), whisper_like(dims).train()
    opt_e = torch.optim.AdamW(echo.parameters(), lr=1e-4)
    opt_w = torch.optim.AdamW(whisper.parameters(), lr=1e-4)

    def step_echo():
        loss = echo(mel, ids, labels=labels).loss
        opt_e.zero_grad(set_to_none=True)
        loss.backward()
        opt_e.step()

    def step_whisper():
        loss = whisper(input_features=mel, decoder_input_ids=ids, labels=labels).loss
        opt_w.zero_grad(set_to_none=True)
        loss.backward()
        opt_w.step()

    # interleave the two so machine-load drift hits both alike
    te, tw = [], []
    for _ in range(3):
        te.append(timed(step_echo, repeats))
        tw.append(timed(step_whisper, repeats))
    e, w = statistics.median(te), statistics.median(tw)
    return {"echo_s": e, "whisper_s": w, "ratio": e / w,
            "echo_params": sum(p.numel() for p in echo.parameters()),
            "whisper_params": sum(p.numel() for p in whisper.parameters())}


def realtime_factor(quick: bool) -> dict:
    from echo_edu.data import load_samples
    from echo_edu.transcribe import transcribe_detailed

    folder = ROOT / "assets" / "echo-digits"
    if folder.is_dir():
        model, source, cap = Echo.from_pretrained(folder), "bundled assets/echo-digits", None
    else:
        model, source, cap = Echo(Dimensions.small()).eval(), "random Dimensions.small() (no bundled model)", 40
    samples = load_samples("digits")
    audio = [row["audio"] for row in samples][: 4 if quick else None]
    seconds = sum(len(a["array"]) for a in audio) / 16000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # a random model never says <|endoftext|>
        elapsed = timed(lambda: transcribe_detailed(model, audio, max_tokens=cap), 1 if quick else 3)
    return {"model": source, "clips": len(audio), "audio_s": seconds, "elapsed_s": elapsed, "rtf": elapsed / seconds}


def cache_speedup(dims: Dimensions, n_tokens: int, repeats: int, batch: int = 1) -> dict:
    model = Echo(dims).eval()
    eos = dims.eos_token_id

    def no_eos(module, args, output):       # decode exactly n_tokens: never let <|endoftext|> win
        output = output.clone()
        output[..., eos] = float("-inf")
        return output

    model.decoder.register_forward_hook(no_eos)
    with torch.no_grad():
        encoded = model.encoder(torch.randn(batch, dims.mels, 2 * dims.audio_ctx))
    # interleave the two so machine-load drift hits both alike (as for the train step)
    tc, tf = [], []
    for _ in range(3):
        tc.append(timed(lambda: greedy_decode(model, encoded, max_tokens=n_tokens, use_cache=True), repeats))
        tf.append(timed(lambda: greedy_decode(model, encoded, max_tokens=n_tokens, use_cache=False), repeats))
    cached, full = statistics.median(tc), statistics.median(tf)
    assert greedy_decode(model, encoded, max_tokens=n_tokens).tokens == \
        greedy_decode(model, encoded, max_tokens=n_tokens, use_cache=False).tokens
    return {"tokens": n_tokens, "batch": batch, "cached_s": cached, "recompute_s": full, "speedup": full / cached}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller inputs")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--only", choices=("train_step", "realtime", "kv_cache"), default=None,
                        help="run only this part of the benchmark")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time (default) or process CPU time: with --threads 1 on a busy machine, "
                             "CPU time leaves out the time other processes hold the cores")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dims = Dimensions.small()
    device = "cpu"
    print(f"echo_edu model benchmarks · torch {torch.__version__} · {device} · {torch.get_num_threads()} threads · "
          f"{args.clock} clock")
    results = {}
    wanted = {args.only} if args.only else {"train_step", "realtime", "kv_cache"}
    if "train_step" in wanted:
        r = results["train_step"] = train_step_ratio(dims, batch=4 if args.quick else 8, tokens=32,
                                                     repeats=2 if args.quick else 5)
        print(f"1. train step, Dimensions.small() ({r['echo_params'] / 1e6:.2f} M params) vs same-size Whisper "
              f"({r['whisper_params'] / 1e6:.2f} M): Echo {r['echo_s'] * 1e3:.0f} ms, Whisper {r['whisper_s'] * 1e3:.0f} ms, "
              f"ratio {r['ratio']:.2f} (target <= 1.2)")
    if "realtime" in wanted:
        r = results["realtime"] = realtime_factor(args.quick)
        print(f"2. greedy transcription, {r['model']}: {r['audio_s']:.1f} s of audio ({r['clips']} clips) in "
              f"{r['elapsed_s']:.2f} s -> real-time factor {r['rtf']:.3f} (target <= 0.05)")
    # one utterance, and a batch of windows as transcribe() decodes them
    for batch in ((1, 8) if "kv_cache" in wanted else ()):
        r = results[f"kv_cache_batch{batch}"] = cache_speedup(dims.replace(text_ctx=128), n_tokens=100, batch=batch,
                                                               repeats=1 if args.quick else 3)
        print(f"3. greedy decoding of {r['tokens']} tokens, batch {batch}: cached {r['cached_s'] * 1e3:.0f} ms, "
              f"recompute {r['recompute_s'] * 1e3:.0f} ms -> speed-up {r['speedup']:.2f}x (target >= 3)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
