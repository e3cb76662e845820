"""The Echo diagram draws what the config builds (one box per block, labelled with its attention type), and the
attention-types table of the README and lesson 08 is one table whose KV-cache cells name what each cache keeps."""

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from echo_edu import Dimensions, Echo  # noqa: E402
from echo_edu.attention import ATTENTION_TYPES, KVCache, build_attention  # noqa: E402
from echo_edu.viz.diagram import echo_diagram  # noqa: E402


def parts(fig, pattern):
    """gid → label text of every patch whose gid matches ``pattern`` (texts carry ``<gid>-label``)."""
    ax = fig.axes[0]
    labels = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    return {p.get_gid(): labels.get(f"{p.get_gid()}-label", "") for p in ax.patches
            if p.get_gid() and re.fullmatch(pattern, p.get_gid())}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("enc_a, enc_b, dec_a, dec_b", [(1, 0, 1, 0), (2, 1, 1, 2), (3, 2, 0, 1)])
def test_one_box_per_block_as_the_model_builds_them(enc_a, enc_b, dec_a, dec_b):
    dims = Dimensions.tiny(audio_layerA=enc_a, audio_layerB=enc_b, text_layerA=dec_a, text_layerB=dec_b,
                           self_attention_type="adaptive", cross_attention_type="myelinated")
    model = Echo(dims)
    fig = echo_diagram(dims)
    encoder, decoder = parts(fig, r"encoder-block-\d+"), parts(fig, r"decoder-block-\d+")
    assert len(encoder) == len(model.encoder.blocks) == enc_a + enc_b
    assert len(decoder) == len(model.decoder.blocks) == dec_a + dec_b
    # each box names the type of the self-attention the model put there, and every decoder block cross-attends
    for i, block in enumerate(model.encoder.blocks):
        assert f"self: {block.attn.kind} (bidirectional)" in encoder[f"encoder-block-{i}"]
    decoder_self = parts(fig, r"decoder-self-\d+")
    for i, block in enumerate(model.decoder.blocks):
        assert f"self: {block.attn.kind} (causal)" in decoder_self[f"decoder-self-{i}"]
    assert sorted(parts(fig, r"decoder-cross-\d+").values()) == \
        ["cross → audio: myelinated (sub-layers) · no rotary"] * (dec_a + dec_b)


def test_changing_the_self_attention_type_changes_the_layer_b_boxes_only():
    base = dict(audio_layerA=1, audio_layerB=1, text_layerA=1, text_layerB=1)
    drawn = {kind: parts(echo_diagram(Dimensions.tiny(self_attention_type=kind, **base)),
                         r"(encoder-block|decoder-self)-\d+") for kind in ("integrated", "focus")}
    assert "self: integrated (bidirectional)" in drawn["integrated"]["encoder-block-1"]
    assert "Q-refiner" in drawn["integrated"]["encoder-block-1"]
    assert "self: focus (causal)" in drawn["focus"]["decoder-self-1"]
    assert "frame activity" in drawn["focus"]["decoder-self-1"]
    for gid in ("encoder-block-0", "decoder-self-0"):          # layer A stays standard whatever the type
        assert drawn["integrated"][gid] == drawn["focus"][gid] and "standard" in drawn["focus"][gid]
    assert drawn["integrated"]["encoder-block-1"] != drawn["focus"]["encoder-block-1"]


def test_cross_attention_of_span_types_is_drawn_as_plain_attention():
    fig = echo_diagram(Dimensions.tiny(cross_attention_type="integrated"))
    assert "(= plain: no band)" in parts(fig, r"decoder-cross-0")["decoder-cross-0"]


def test_ctc_head_mask_and_rotary_follow_the_config():
    off = echo_diagram(Dimensions.tiny(ctc_weight=0.0, mask_padding=False, rotary=False))
    on = echo_diagram(Dimensions.tiny(ctc_weight=0.25))
    ctc_off, ctc_on = (next(p for p in f.axes[0].patches if p.get_gid() == "ctc-head") for f in (off, on))
    assert ctc_off.get_linestyle() == "--" and ctc_on.get_linestyle() == "-"
    assert "ctc_weight = 0.25" in parts(on, "ctc-head")["ctc-head"]
    assert "0.75 · CE(logits) + 0.25 · CTC" in parts(on, "loss")["loss"]
    assert "off (mask_padding=False)" in parts(off, "padding-mask")["padding-mask"]
    assert "rotary" not in parts(off, r"decoder-self-0")["decoder-self-0"]
    assert "learned positions" in parts(off, "embedding")["embedding"]
    assert "rotary" in parts(on, r"decoder-self-0")["decoder-self-0"]


def test_default_diagram_shows_every_part():
    fig = echo_diagram()
    assert len(parts(fig, r"encoder-block-\d+")) == 4 and len(parts(fig, r"decoder-block-\d+")) == 3
    assert {"input-mel", "conv-stem", "padding-mask", "encoded-audio", "ctc-head", "audio-bus", "embedding",
            "logits", "loss"} <= set(parts(fig, r"[a-z-]+"))


def attention_table(text):
    """Rows of the attention-types table (``| `kind` | cost | causal | cache | signal | cross |``) by kind."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith("| type | cost in sequence"))
    rows = [line.lstrip("# ") for line in lines[start + 2:start + 7]]
    return {row.split("|")[1].strip(" `"): [c.strip() for c in row.split("|")[2:-1]] for row in rows}


def test_lesson_08_shows_the_readme_table_and_its_cache_cells_name_what_the_cache_keeps():
    root = Path(__file__).resolve().parents[1]
    readme = attention_table((root / "README.md").read_text())
    assert readme == attention_table((root / "notebooks" / "src" / "08_echo_model.py").read_text())
    assert sorted(readme) == sorted(ATTENTION_TYPES)
    x = torch.randn(1, 4, 16)
    for kind, cells in readme.items():
        cache_cell = cells[2]                           # what the KV cache keeps while decoding
        layer, cache = build_attention(kind, 16, 2, rotary={}).eval(), KVCache()
        with torch.no_grad():
            for t in range(4):                          # decode token by token, as the decoder does
                layer(x[:, t:t + 1], causal=True, cache=cache)
        for name in cache.state:                        # myelin0_sum … myelin1_count: "myelin0 … myelin{L−1}"
            assert re.sub(r"^myelin\d+_(sum|count)$", "myelin0", name) in cache_cell, (kind, name)
        assert bool(cache.state) == ("plus" in cache_cell), kind
