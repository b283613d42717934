"""Shared pieces of the align tests: a small vocabulary and word tokenizers over it.

The modules that need ``transformers`` skip themselves without it (``importorskip``), so
the preference-data and labelling tests run on a core install.
"""

from __future__ import annotations

from typing import Any

import pytest

WORDS = [f"w{i}" for i in range(12)] + ["g0", "g1"]


@pytest.fixture(scope="session")
def tok() -> Any:
    from trustbench.align.text import word_tokenizer

    return word_tokenizer(WORDS)


@pytest.fixture(scope="session")
def tok_pad_eos() -> Any:
    from trustbench.align.text import word_tokenizer

    return word_tokenizer(WORDS, pad_is_eos=True)


@pytest.fixture(scope="session")
def words() -> list[str]:
    return list(WORDS)
