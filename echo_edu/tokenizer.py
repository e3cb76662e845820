"""Echo's character-level tokenizer, built locally (no downloads) and wrapped for transformers.

Speech recognisers trained on little data do well with characters: 31 symbols cover every
normalised transcript (see :func:`echo_edu.text.normalize_text`). The ids are fixed:

====  =========================  ==============================================
id    token                      role
====  =========================  ==============================================
0     ``<|pad|>``                padding (``pad_token_id``)
1     ``<|startoftranscript|>``  first decoder input (``decoder_start_token_id``)
2     ``<|endoftext|>``          end of a transcript (``eos_token_id``)
3     ``" "``                    word break
4     ``"'"``                    apostrophe
5–30  ``a`` … ``z``              letters
====  =========================  ==============================================

``tokenizer(text)`` wraps the characters as ``<|startoftranscript|> … <|endoftext|>``; pass
``add_special_tokens=False`` for the bare characters. The tokenizer's own normaliser lower-cases
and drops characters outside the alphabet, so it never needs an unknown token — but call
``normalize_text`` first so digits become words rather than disappearing.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .errors import CheckpointError
from .text import ALPHABET

__all__ = ["build_tokenizer", "load_tokenizer", "PAD_TOKEN", "SOT_TOKEN", "EOT_TOKEN",
           "PAD_ID", "SOT_ID", "EOT_ID", "SPECIAL_TOKENS"]

PAD_TOKEN, SOT_TOKEN, EOT_TOKEN = "<|pad|>", "<|startoftranscript|>", "<|endoftext|>"
SPECIAL_TOKENS = (PAD_TOKEN, SOT_TOKEN, EOT_TOKEN)
PAD_ID, SOT_ID, EOT_ID = 0, 1, 2


def _vocab() -> dict[str, int]:
    tokens = list(SPECIAL_TOKENS) + list(ALPHABET)  # ALPHABET = " '" + a..z
    return {tok: i for i, tok in enumerate(tokens)}


def build_tokenizer():
    """Build the character tokenizer as a ``transformers.PreTrainedTokenizerFast``.

    Returns:
        A fast tokenizer with ``len(tokenizer) == 31``, ``pad_token_id == 0``,
        ``bos_token_id == 1`` (start of transcript) and ``eos_token_id == 2``.
    """
    from transformers import PreTrainedTokenizerFast

    vocab = _vocab()
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=None))
    # Lower-case, then drop anything outside the alphabet (no unknown token needed).
    tok.normalizer = normalizers.Sequence([
        normalizers.Lowercase(),
        normalizers.Replace(Regex(r"[^a-z' ]"), ""),
    ])
    # Every character is its own token (spaces included).
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT_TOKEN} $A {EOT_TOKEN}",
        pair=f"{SOT_TOKEN} $A $B {EOT_TOKEN}",
        special_tokens=[(SOT_TOKEN, SOT_ID), (EOT_TOKEN, EOT_ID)],
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD_TOKEN, bos_token=SOT_TOKEN, eos_token=EOT_TOKEN,
        model_max_length=448, padding_side="right", clean_up_tokenization_spaces=False,
    )


def load_tokenizer(directory):
    """Load a tokenizer saved with ``tokenizer.save_pretrained(directory)``.

    Raises:
        CheckpointError: the folder or its ``tokenizer.json`` is missing or unreadable.
    """
    from transformers import PreTrainedTokenizerFast

    path = Path(directory)
    if not (path / "tokenizer.json").is_file():
        raise CheckpointError(f"no tokenizer.json in {str(path)!r}; save one with "
                              "build_tokenizer().save_pretrained(folder)")
    try:
        return PreTrainedTokenizerFast.from_pretrained(str(path))
    except Exception as exc:  # a damaged JSON file, wrong format, ...
        raise CheckpointError(f"cannot load the tokenizer in {str(path)!r}: {exc}") from exc
