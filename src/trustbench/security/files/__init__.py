"""Model-file safety: read a file's pickles and containers without loading anything.

:mod:`.pickles` walks a pickle's opcodes symbolically, :mod:`.containers` reads zips,
compressed joblib files, ``.npy`` and safetensors headers as their loaders do,
:mod:`.allow` is the allow-list, :mod:`.inspect` puts them together, :mod:`.findings`
turns reports into a Scorecard.
"""

__all__: list[str] = []
