"""Real-speech loaders: AN4, FSDD, manifests, audiofolders, Hugging Face datasets, and their bad input.

Fixtures are written into tmp_path (tests/real_data_support.py). The last tests read the real corpora
from $ECHO_EDU_DATA or ../shared/data and skip, naming ECHO_EDU_DATA, when they are absent.
"""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from echo_edu.data.manifest import read_manifest
from echo_edu.data.rows import normalise_clips
from echo_edu.data import (REAL_COLUMNS, load_an4, load_audiofolder, load_fsdd, load_hf, load_manifest,
                           load_speech_commands, normalize_transcript, unspellable_characters)
from echo_edu.errors import (AudioError, AudioFileNotFoundError, ConfigError, CorpusFormatError, CorpusNotFoundError,
                             DataError, SkippedTranscriptsWarning, TranscriptError)

from real_data_support import AN4_TRAIN, write_an4, write_clip, write_fsdd


# ----------------------------------------------------------------------------- transcripts
def test_normalize_transcript_lowercases_spells_numerals_and_drops_punctuation():
    assert normalize_transcript("RUBOUT G M E F THREE NINE") == "rubout g m e f three nine"
    assert normalize_transcript("Call 911, now!") == "call nine one one now"
    assert normalize_transcript("It's café (ok)") == "it's cafe ok"
    assert unspellable_characters("Café & 3.5 % — (ok)!") == ""


@pytest.mark.parametrize("text, bad", [("cost $5", "$"), ("<unk> yes", "<>"), ("straße", "ß"), ("да", "да")])
def test_unspellable_characters_raise_naming_file_and_characters(text, bad):
    assert unspellable_characters(text) == bad
    with pytest.raises(TranscriptError) as err:
        normalize_transcript(text, "clips/a.wav")
    assert err.value.file == "clips/a.wav" and err.value.characters == bad
    assert "clips/a.wav" in str(err.value) and repr(bad[0]) in str(err.value)


def test_transcript_that_normalises_to_nothing_is_an_error():
    with pytest.raises(TranscriptError, match="empty after normalisation"):
        normalize_transcript("...", "x.wav")


# ----------------------------------------------------------------------------- AN4
def test_an4_rows_splits_and_dev_speakers(tmp_path):
    root = write_an4(tmp_path / "an4")
    corpus = load_an4(root, dev_utterances=3)
    assert list(corpus) == ["train", "validation", "test"]
    assert corpus["train"].column_names == list(REAL_COLUMNS)
    speakers = {s: set(corpus[s]["speaker"]) for s in corpus}
    assert speakers["test"] == {"fxyz"} and len(corpus["test"]) == 2          # the official test, untouched
    assert speakers["validation"] and not speakers["validation"] & speakers["train"]
    assert speakers["train"] | speakers["validation"] == set(AN4_TRAIN)
    assert len(corpus["train"]) + len(corpus["validation"]) == 10
    row = next(r for r in corpus["train"] if r["id"] == "an2-fabc-b") if "fabc" in speakers["train"] else \
        next(r for r in corpus["validation"] if r["id"] == "an2-fabc-b")
    assert row["text"] == "enter five" and row["voice"] == row["speaker"] == "fabc"
    assert row["engine"] == row["source"] == "an4"
    assert row["audio"]["array"].dtype == np.float32 and int(row["audio"]["sampling_rate"]) == 16000
    assert row["audio"]["array"].shape == (4000,) and row["duration"] == pytest.approx(0.25)
    assert set(corpus["test"]["text"]) == {"w o o d", "one three seven"}


def test_an4_dev_split_is_seeded(tmp_path):
    root = write_an4(tmp_path / "an4")
    dev = lambda seed: tuple(sorted(set(load_an4(root, seed=seed, dev_utterances=3)["validation"]["speaker"])))
    assert dev(0) == dev(0)
    assert len({dev(s) for s in range(6)}) > 1          # other seeds pick other speakers
    assert len(load_an4(root, dev_utterances=0)["validation"]) == 0


def test_an4_missing_transcript_names_the_file_id(tmp_path):
    root = write_an4(tmp_path / "an4")
    path = root / "etc" / "an4_train.transcription"
    path.write_text("\n".join(l for l in path.read_text().splitlines() if "an5-fdef-b" not in l) + "\n")
    with pytest.raises(TranscriptError, match="an4_clstk/fdef/an5-fdef-b"):
        load_an4(root, dev_utterances=3)


def test_an4_bad_transcription_line_names_file_and_line(tmp_path):
    root = write_an4(tmp_path / "an4")
    (root / "etc" / "an4_test.transcription").write_text("W O O D (cen1-fxyz-b)\nno id here\n")
    with pytest.raises(CorpusFormatError, match=r"an4_test.transcription' line 2"):
        load_an4(root, dev_utterances=3)


def test_an4_missing_unreadable_and_empty_audio_name_the_file(tmp_path):
    root = write_an4(tmp_path / "an4")
    clip = root / "wav" / "an4_clstk" / "fabc" / "an1-fabc-b.flac"
    clip.unlink()
    with pytest.raises(AudioFileNotFoundError, match="an1-fabc-b.flac"):
        load_an4(root, dev_utterances=3)
    clip.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="an1-fabc-b.flac.*not a readable audio file"):
        load_an4(root, dev_utterances=3)
    clip.write_bytes(b"")
    with pytest.raises(AudioError, match="an1-fabc-b.flac.*empty"):
        load_an4(root, dev_utterances=3)
    clip.write_bytes(write_clip(tmp_path / "silent.wav", 0.0).read_bytes())   # a header, no samples
    with pytest.raises(AudioError, match="an1-fabc-b.flac.*no samples"):
        load_an4(root, dev_utterances=3)
    with pytest.raises(ConfigError, match="dev_utterances=100 .* only 10"):
        load_an4(root)


def test_an4_unknown_characters_raise_or_are_skipped_and_counted(tmp_path):
    train = {**AN4_TRAIN, "fabc": [("an1-fabc-b", "YES"), ("an2-fabc-b", "COST $5"), ("an3-fabc-b", "NO")]}
    root = write_an4(tmp_path / "an4", train=train)
    with pytest.raises(TranscriptError, match=r"an2-fabc-b.flac.*'\$'"):
        load_an4(root, dev_utterances=3)
    with pytest.warns(SkippedTranscriptsWarning, match="skipped 1 clip"):
        corpus = load_an4(root, on_unknown="skip", dev_utterances=0)
    assert len(corpus["train"]) == 9 and "an2-fabc-b" not in corpus["train"]["id"]
    assert len(corpus.skipped) == 1 and corpus.skipped[0][0].endswith("an2-fabc-b.flac")


def test_paths_that_are_not_corpora_give_typed_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusNotFoundError, match="nowhere"):
        load_an4(tmp_path / "nowhere")
    with pytest.raises(CorpusFormatError, match="is not an AN4 folder"):
        load_an4(tmp_path / "empty")
    with pytest.raises(CorpusFormatError, match="is not an FSDD folder"):
        load_fsdd(tmp_path / "empty")
    with pytest.raises(CorpusFormatError, match="not a Speech Commands folder"):
        load_speech_commands(tmp_path / "empty")
    with pytest.raises(CorpusFormatError, match="is not an audiofolder"):
        load_audiofolder(tmp_path / "empty")
    with pytest.raises(CorpusFormatError, match="not a dataset saved with save_to_disk"):
        load_hf(str(tmp_path / "empty"))
    with pytest.raises(CorpusNotFoundError, match="HF_HUB_OFFLINE"):
        load_hf("someone/some-dataset-that-is-not-here")
    assert issubclass(CorpusNotFoundError, FileNotFoundError) and issubclass(CorpusFormatError, DataError)


# ----------------------------------------------------------------------------- FSDD
def test_fsdd_names_give_digit_words_resampled_and_split_by_speaker(tmp_path):
    corpus = load_fsdd(write_fsdd(tmp_path / "fsdd"))
    speakers = [set(corpus[s]["speaker"]) for s in ("train", "validation", "test")]
    assert all(len(s) == 1 for s in speakers) and len(set.union(*speakers)) == 3     # one speaker each
    row = corpus["test"][0]
    assert row["text"] in {"zero", "one", "two", "three", "four"} and row["engine"] == "fsdd"
    assert row["audio"]["array"].shape == (2000,)            # 0.125 s at 8 kHz -> 2 000 samples at 16 kHz
    assert {r["text"] for r in corpus["train"]} == {"zero", "one", "two", "three", "four"}
    assert len(load_fsdd(tmp_path / "fsdd", fractions=(0, 0, 1))["test"]) == 30


def test_fsdd_bad_file_name_is_named(tmp_path):
    write_fsdd(tmp_path / "fsdd")
    write_clip(tmp_path / "fsdd" / "hello.wav")
    with pytest.raises(CorpusFormatError, match="hello.wav"):
        load_fsdd(tmp_path / "fsdd")


# ----------------------------------------------------------------------------- manifests, audiofolders
def _manifest(tmp_path, rows):
    file = tmp_path / "m" / "manifest.jsonl"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return file


def test_manifest_relative_paths_speakers_stereo_and_own_splits(tmp_path):
    write_clip(tmp_path / "m" / "a" / "1.wav", 0.5, 44100, channels=2)
    for i in range(2, 5):
        write_clip(tmp_path / "m" / "a" / f"{i}.flac")
    file = _manifest(tmp_path, [{"path": "a/1.wav", "text": "Up 2", "speaker": "s1"},
                                {"path": "a/2.flac", "text": "down", "speaker": "s2"},
                                {"path": "a/3.flac", "text": "left", "speaker": "s3", "split": "dev"},
                                {"path": "a/4.flac", "text": "right"}])
    corpus = load_speech_commands(file.parent, fractions=(0.5, 0, 0.5))
    assert len(corpus["validation"]) == 1 and corpus["validation"][0]["text"] == "left"
    rows = {r["id"]: r for s in corpus for r in corpus[s]}
    assert rows["a/1.wav"]["text"] == "up two" and rows["a/1.wav"]["audio"]["array"].shape == (8000,)
    assert rows["a/4.flac"]["speaker"] == "a/4.flac"       # no speaker: the clip is its own speaker
    assert {r["engine"] for r in rows.values()} == {"speech_commands"}
    assert len(load_manifest(file)["train"]) + len(load_manifest(file)["test"]) >= 1


@pytest.mark.parametrize("line, error, pattern", [
    ('{"path": "a/1.wav"}', TranscriptError, "line 1.*has no 'text'"),
    ('{"text": "yes"}', CorpusFormatError, "line 1.*no 'path'"),
    ("not json", CorpusFormatError, "line 1 is not JSON"),
    ('{"path": "a/1.wav", "text": "yes", "split": "holdout"}', CorpusFormatError, "split 'holdout'"),
])
def test_manifest_bad_lines_name_file_and_line(tmp_path, line, error, pattern):
    write_clip(tmp_path / "m" / "a" / "1.wav")
    with pytest.raises(error, match=pattern):
        load_manifest(_manifest(tmp_path, [line]))


def test_manifest_missing_file(tmp_path):
    with pytest.raises(CorpusNotFoundError, match="nope.jsonl"):
        load_manifest(tmp_path / "nope.jsonl")


def test_audiofolder_csv_jsonl_text_column_and_split_folders(tmp_path):
    root = tmp_path / "af"
    for name in ("x.wav", "y.wav", "z.wav"):
        write_clip(root / "clips" / name)
    (root / "metadata.csv").write_text("file_name,sentence,speaker\nclips/x.wav,Hello there,ann\n"
                                       "clips/y.wav,GOOD 1,bob\nclips/z.wav,bye,cy\n")
    corpus = load_audiofolder(root, text_column="sentence")
    texts = sorted(t for s in corpus for t in corpus[s]["text"])
    assert texts == ["bye", "good one", "hello there"] and corpus["train"][0]["engine"] == "audiofolder"
    with pytest.raises(TranscriptError, match="no 'text' field"):
        load_audiofolder(root)
    split_root = tmp_path / "af2"
    for split in ("train", "dev", "test"):
        write_clip(split_root / split / "c.wav")
        (split_root / split / "metadata.jsonl").write_text(json.dumps({"file_name": "c.wav", "text": split}) + "\n")
    corpus = load_audiofolder(split_root)
    assert [corpus[s][0]["text"] for s in ("train", "validation", "test")] == ["train", "dev", "test"]


# ----------------------------------------------------------------------------- Hugging Face datasets
def _hf_audio_dataset(tmp_path, n=6):
    """A saved dataset with a real ``datasets.Audio`` column (bytes of 8 kHz WAV files), built offline."""
    import io

    import soundfile as sf
    from datasets import Audio, Dataset

    blobs = []
    for i in range(n):
        buf = io.BytesIO()
        sf.write(buf, np.full(800 + 80 * i, 0.1, np.float32), 8000, format="WAV")
        blobs.append({"bytes": buf.getvalue(), "path": f"clip{i}.wav"})
    ds = Dataset.from_dict({"audio": blobs, "sentence": [f"Word {i}" for i in range(n)],
                            "client_id": [f"spk{i % 3}" for i in range(n)]})
    ds = ds.cast_column("audio", Audio())          # decoding would need torchcodec; the loader never decodes
    ds.save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_hf_dataset_with_audio_column_loads_offline(tmp_path):
    path = _hf_audio_dataset(tmp_path)
    corpus = load_hf(str(path), text_column="sentence")
    rows = sorted((r for s in corpus for r in corpus[s]), key=lambda r: r["id"])
    assert [r["text"] for r in rows] == [f"word {w}" for w in ("zero", "one", "two", "three", "four", "five")]
    assert rows[1]["audio"]["array"].shape == (1760,)      # 880 samples at 8 kHz, resampled to 16 kHz
    split_speakers = [set(corpus[s]["speaker"]) for s in corpus]
    assert sum(map(len, split_speakers)) == 3               # client_id is the speaker: splits disjoint
    with pytest.raises(CorpusFormatError, match="no column 'text'.*text_column"):
        load_hf(str(path))


def test_hf_dataset_dict_keeps_its_splits_and_array_columns(tmp_path):
    from datasets import Dataset, DatasetDict

    def part(texts):
        return Dataset.from_dict({"audio": [{"array": np.zeros(1600, np.float32) + 0.1, "sampling_rate": 16000}
                                            for _ in texts], "text": texts})

    DatasetDict({"train": part(["yes", "no"]), "dev": part(["up"]), "test": part(["go"])}).save_to_disk(
        str(tmp_path / "dd"))
    corpus = load_hf(str(tmp_path / "dd"))
    assert {s: sorted(corpus[s]["text"]) for s in corpus} == {"train": ["no", "yes"], "validation": ["up"],
                                                              "test": ["go"]}
    assert corpus["train"][0]["audio"]["array"].shape == (1600,)


# ----------------------------------------------------------------------------- the real corpora
def _real_root() -> Path:
    root = Path(os.environ.get("ECHO_EDU_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    if not (root / "an4" / "etc").is_dir():
        pytest.skip(f"real speech not found at {root}: set ECHO_EDU_DATA to the folder holding an4/, "
                    "fsdd-dev/, speech-commands-dev/")
    return root


def test_real_corpora_counts_speakers_and_transcripts():
    """AN4 and FSDD are loaded whole (audio too); Speech Commands is listed and normalised (its 2 626
    clips would double the test's time and exercise nothing the manifest fixtures do not)."""
    root = _real_root()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedTranscriptsWarning)     # every transcript must normalise
        an4 = load_an4(root / "an4")
        fsdd = load_fsdd(root / "fsdd-dev")
    commands, skipped = normalise_clips(read_manifest(root / "speech-commands-dev" / "manifest.jsonl"))
    assert len(an4["train"]) + len(an4["validation"]) == 948 and len(an4["test"]) == 130
    assert len(set(an4["train"]["speaker"]) | set(an4["validation"]["speaker"])) == 74
    assert len(set(an4["test"]["speaker"])) == 10
    assert sorted(set(an4["validation"]["speaker"])) == ["fbbh", "fjdn", "fkai", "fkdo", "mema", "mjda", "mnjl",
                                                         "mtos"] and len(an4["validation"]) == 103
    assert sum(map(len, fsdd.values())) == 1500 and len({s for d in fsdd.values() for s in d["speaker"]}) == 3
    assert len(commands) == 2626 and len({c.speaker for c in commands}) == 146 and skipped == []
    assert all(Path(c.path).is_file() for c in commands)
    for texts in [split["text"] for corpus in (an4, fsdd) for split in corpus.values()] + [[c.text for c in commands]]:
        assert all(t and set(t) <= set(" 'abcdefghijklmnopqrstuvwxyz") for t in texts)
    assert an4.skipped == [] and fsdd.skipped == []
    assert "rubout g m e f three nine" in an4["test"]["text"]
    assert max(an4["train"]["duration"]) < 8.0              # the longest AN4 clip lasts 6.4 s
