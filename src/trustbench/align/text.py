"""Tokenizers without downloads: a word-level one built from text, or one from a local folder.

A tokenizer from the hub needs the network; the synthetic task, the tests and the demo build
a word-level tokenizer from their own vocabulary instead (``tokenizers``' ``WordLevel``
model behind ``transformers``' ``PreTrainedTokenizerFast``), with ``<pad>``, ``<eos>`` and
``<unk>`` as its first three ids. A user's own model brings its tokenizer in its folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trustbench.align._hf import transformers
from trustbench.errors import InputError

__all__ = ["SPECIALS", "load_tokenizer", "word_tokenizer"]

SPECIALS = ("<pad>", "<eos>", "<unk>")


def word_tokenizer(texts: Iterable[str], *, pad_is_eos: bool = False) -> Any:
    """Return a word-level tokenizer over the whitespace-separated words of ``texts``.

    Words get ids in order of first appearance after the specials; ``pad_is_eos`` makes
    the padding token the end-of-sequence token (and leaves ``<pad>`` out), as many causal LMs ship (GPT-2,
    Llama): trustbench's padding never looks at the pad id, so both give the same results.
    """
    tf = transformers()  # first: without the extra, its message, not tokenizers' ImportError
    from tokenizers import Tokenizer, models, pre_tokenizers

    specials = SPECIALS[1:] if pad_is_eos else SPECIALS
    vocab = {s: i for i, s in enumerate(specials)}
    for text in texts:
        for word in text.split():
            vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<eos>", unk_token="<unk>",
        pad_token="<eos>" if pad_is_eos else "<pad>")


def load_tokenizer(path: str | Path) -> Any:
    """Load the tokenizer saved in the folder ``path`` (never from the network)."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{path}: no such model folder",
                         fix="give the folder a model was saved to (save_pretrained)")
    try:
        tok = transformers().AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: no tokenizer could be loaded ({str(e).splitlines()[0]})",
                         fix="save the tokenizer next to the model (tokenizer.save_pretrained)"
                         ) from None
    if tok.eos_token_id is None:
        raise InputError(f"{path}: the tokenizer has no end-of-sequence token",
                         fix="set eos_token on the tokenizer and save it again")
    return tok
