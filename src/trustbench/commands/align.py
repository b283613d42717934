"""``trustbench align``: reward models, SFT, DPO, RL, their evaluation, and labelling.

Every command but ``label`` writes ``scorecard.json`` and ``report.html`` to ``--out`` (and
the trained model to ``--out/model``, a ``save_pretrained`` folder), all together at the
end: a failed or interrupted run leaves ``--out`` as it was. Models come from local folders
only; without ``--model``/``--policy``, a tiny GPT-2 is built from config with a word
tokenizer over the data (for trying things out, not for real text).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from trustbench.commands._console import console, err_console, keep_on_interrupt
from trustbench.commands._output import card_writers, show_card
from trustbench.commands._progress import progress_bar
from trustbench.errors import InputError

__all__ = ["dpo", "eval_", "label", "rl", "sft", "train_rm"]

Seed = Annotated[int, typer.Option(help="Seed of every random choice.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Epochs = Annotated[int, typer.Option(help="Passes over the training data.", min=1)]
BatchSize = Annotated[int, typer.Option(help="Pairs (or rows) per step.", min=1, max=4096)]
MaxLength = Annotated[int, typer.Option(help="Tokens per prompt + response at most (the "
                                        "start of a longer prompt is cut).", min=8)]
OWNED = ("scorecard.json", "report.html", "model")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise InputError(f"{name} must be a positive number, got {value}")


@contextmanager
def _steps(quiet: bool, description: str) -> Iterator[Callable[..., None]]:
    """Yield an ``on_step(step, total, ...)`` callback drawing one progress bar."""
    with progress_bar(quiet, err_console) as factory:
        advance: list[Callable[[int], None]] = []

        def on_step(step: Any, total: int, *_: Any) -> None:
            if factory is None:
                return
            if not advance:
                advance.append(factory(description, total))
            advance[0](1)

        yield on_step


def _reward_model(model: str | None, texts: list[str], max_length: int, seed: int) -> Any:
    from trustbench.align.models import load_reward_model, tiny_gpt2
    from trustbench.align.reward import RewardModel
    from trustbench.align.text import load_tokenizer, word_tokenizer

    if model is None:
        tok = word_tokenizer(texts)
        return RewardModel(tiny_gpt2(tok, kind="reward", n_positions=max_length, seed=seed),
                           tok, max_length=max_length)
    return RewardModel(load_reward_model(model), load_tokenizer(model), max_length=max_length)


def _policy(path: str | None, texts: list[str], max_length: int, seed: int) -> tuple[Any, Any]:
    from trustbench.align.models import load_policy, tiny_gpt2
    from trustbench.align.text import load_tokenizer, word_tokenizer

    if path is None:
        tok = word_tokenizer(texts)
        return tiny_gpt2(tok, n_positions=max_length, seed=seed), tok
    return load_policy(path), load_tokenizer(path)


def _finish(card: Any, folder: Any, model: Any = None, tokenizer: Any = None, *,
            decided_by: str | None = None) -> None:
    """Write the run's files together; exit 1 on a failing finding (or ``decided_by``'s)."""
    from trustbench.align.models import save_model

    writers = card_writers(card)
    if model is not None:
        writers["model"] = functools.partial(save_model, model, tokenizer)
    show_card(card, folder.commit(writers, rescue="scorecard.json"))
    judge = card.get(decided_by) if decided_by else None
    if (judge.severity if judge is not None else card.verdict) == "fail":
        raise typer.Exit(1)


def train_rm(
    prefs: Annotated[Path, typer.Option(help="Preference JSONL: prompt, chosen, rejected "
                                        "(annotator, group, margin, id optional).")],
    out: Annotated[Path, typer.Option(help="Folder for the model, scorecard.json and "
                                      "report.html.")] = Path("align-reward-model"),
    model: Annotated[str | None, typer.Option(help="Folder of a one-label sequence "
                                              "classifier to start from (default: a tiny "
                                              "GPT-2 built from config).")] = None,
    test_fraction: Annotated[float, typer.Option(help="Share of prompts held out for the "
                                                 "evaluation.")] = 0.2,
    epochs: Epochs = 3, lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    batch_size: BatchSize = 32, max_length: MaxLength = 512, seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Train a Bradley–Terry reward model; evaluate it on held-out prompts.

    Exit 1 when the upper bound of its held-out accuracy is below 60% (it learned little).
    """
    from trustbench._files import OutputFolder
    from trustbench.align.data import read_preferences, split_preferences
    from trustbench.align.evaluate import evaluate_reward_model
    from trustbench.align.reward import train_reward_model

    if not 0 < test_fraction < 1:
        raise InputError(f"--test-fraction must be in (0, 1), got {test_fraction}")
    _positive("--lr", lr)
    data = read_preferences(prefs)
    train, test = split_preferences(data, test_fraction=test_fraction, seed=seed)
    if not train or not test:
        raise InputError(f"{prefs}: {len({p.prompt for p in data})} prompts cannot be split "
                         "into training and held-out sides", fix="give more prompts")
    rm = _reward_model(model, [t for p in data for t in (p.prompt, p.chosen, p.rejected)],
                       max_length, seed)
    with OutputFolder(out, owned=OWNED) as folder:
        keep_on_interrupt(f"nothing was written; {out} is as it was")
        with _steps(quiet, "train-rm") as on_step:
            train_reward_model(rm, train, epochs=epochs, lr=lr, batch_size=batch_size,
                               seed=seed, on_step=on_step)
        with console.status("evaluating") as status:
            card = evaluate_reward_model(rm, test, seed=seed,
                                         step=lambda s: status.update(f"evaluating: {s}"))
        card.provenance.update(command="align train-rm", prefs=str(prefs), train_pairs=len(train),
                               test_pairs=len(test), base_model=model or "tiny GPT-2 from config")
        _finish(card, folder, rm.model, rm.tokenizer)


def sft(
    data: Annotated[Path, typer.Option(help="JSONL of demonstrations: prompt, response.")],
    out: Annotated[Path, typer.Option(help="Folder for the model and the scorecard.")
                   ] = Path("align-sft"),
    model: Annotated[str | None, typer.Option(help="Folder of a causal LM to start from "
                                              "(default: a tiny GPT-2 from config).")] = None,
    epochs: Epochs = 3, lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    batch_size: BatchSize = 32, max_length: MaxLength = 512, seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Supervised fine-tuning of a causal LM on prompt/response demonstrations."""
    from trustbench._files import OutputFolder
    from trustbench.align.data import read_demonstrations
    from trustbench.align.diagnostics import sft_finding
    from trustbench.align.sft import train_sft
    from trustbench.scorecard import Scorecard

    _positive("--lr", lr)
    prompts, responses = read_demonstrations(data)
    policy, tok = _policy(model, prompts + responses, max_length, seed)
    with OutputFolder(out, owned=OWNED) as folder:
        keep_on_interrupt(f"nothing was written; {out} is as it was")
        with _steps(quiet, "sft") as on_step:
            losses = train_sft(policy, tok, prompts, responses, epochs=epochs, lr=lr,
                               batch_size=batch_size, seed=seed, max_length=max_length,
                               on_step=on_step)
        card = Scorecard([sft_finding(losses)], provenance={
            "command": "align sft", "demonstrations": str(data), "rows": len(prompts),
            "base_model": model or "tiny GPT-2 from config", "seed": seed})
        _finish(card, folder, policy, tok)


def dpo(
    prefs: Annotated[Path, typer.Option(help="Preference JSONL to optimise on.")],
    policy: Annotated[str, typer.Option(help="Folder of the causal LM to train (usually the "
                                        "SFT model); it is also the reference unless "
                                        "--reference is given.")],
    out: Annotated[Path, typer.Option(help="Folder for the model and the scorecard.")
                   ] = Path("align-dpo"),
    reference: Annotated[str | None, typer.Option(help="Folder of the frozen reference "
                                                  "policy (default: --policy).")] = None,
    beta: Annotated[float, typer.Option(help="KL strength: larger stays closer to the "
                                        "reference.")] = 0.1,
    loss: Annotated[str, typer.Option(help="sigmoid (DPO) or ipo.")] = "sigmoid",
    label_smoothing: Annotated[float, typer.Option(help="Conservative DPO: the share of "
                                                   "labels you expect to be wrong.")] = 0.0,
    test_fraction: Annotated[float, typer.Option(help="Share of prompts held out.")] = 0.1,
    epochs: Epochs = 1, lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-5,
    batch_size: BatchSize = 32, max_length: MaxLength = 512, seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Direct preference optimisation (DPO, IPO or conservative DPO) with diagnostics."""
    from trustbench._files import OutputFolder
    from trustbench.align.data import read_preferences, split_preferences
    from trustbench.align.diagnostics import dpo_finding
    from trustbench.align.dpo import heldout_reward_accuracy, train_dpo
    from trustbench.align.models import load_policy
    from trustbench.scorecard import Scorecard

    _positive("--lr", lr)
    if not 0 <= test_fraction < 1:
        raise InputError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    data = read_preferences(prefs)
    train, test = split_preferences(data, test_fraction=test_fraction, seed=seed) \
        if test_fraction else (data, [])
    model, tok = _policy(policy, [], max_length, seed)
    ref = load_policy(reference) if reference else copy.deepcopy(model)
    with OutputFolder(out, owned=OWNED) as folder:
        keep_on_interrupt(f"nothing was written; {out} is as it was")
        with _steps(quiet, "dpo") as on_step:
            history = train_dpo(model, ref, tok, train, beta=beta, loss_type=loss,
                                label_smoothing=label_smoothing, epochs=epochs, lr=lr,
                                batch_size=batch_size, seed=seed, max_length=max_length,
                                on_step=on_step)
        held = heldout_reward_accuracy(model, ref, tok, test, max_length=max_length) \
            if test else None
        card = Scorecard([dpo_finding(history, label=f"DPO ({loss}, beta {beta:g})",
                                      heldout=held)], provenance={
            "command": "align dpo", "prefs": str(prefs), "policy": policy,
            "reference": reference or policy, "beta": beta, "loss": loss,
            "label_smoothing": label_smoothing, "seed": seed})
        _finish(card, folder, model, tok)


def rl(
    policy: Annotated[str, typer.Option(help="Folder of the causal LM to train; it is also "
                                        "the reference.")],
    reward_model: Annotated[str, typer.Option(help="Folder of the reward model to optimise.")],
    prompts: Annotated[Path, typer.Option(help="JSONL with a 'prompt' on every line (a "
                                          "preference file works).")],
    out: Annotated[Path, typer.Option(help="Folder for the model and the scorecard.")
                   ] = Path("align-rl"),
    kl_coef: Annotated[float, typer.Option(help="KL penalty per nat, in reward units.")] = 0.05,
    k: Annotated[int, typer.Option(help="Responses per prompt (RLOO's baseline leaves one "
                                   "out).", min=2, max=64)] = 4,
    steps: Annotated[int, typer.Option(help="Optimisation steps.", min=1)] = 100,
    batch_prompts: Annotated[int, typer.Option(help="Prompts per step.", min=1)] = 16,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens per sampled response.", min=1,
                                                max=2048)] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-5,
    seed: Seed = 0, quiet: Quiet = False,
) -> None:
    """Online RL (RLOO) against a reward model, with a KL penalty to the reference."""
    from trustbench._files import OutputFolder
    from trustbench.align.data import read_prompts
    from trustbench.align.diagnostics import rl_finding
    from trustbench.align.rl import train_rloo
    from trustbench.scorecard import Scorecard

    _positive("--lr", lr)
    rows = read_prompts(prompts)
    model, tok = _policy(policy, [], 512, seed)
    rm = _reward_model(reward_model, [], 512, seed)
    ref = copy.deepcopy(model)
    with OutputFolder(out, owned=OWNED) as folder:
        keep_on_interrupt(f"nothing was written; {out} is as it was")
        with _steps(quiet, "rl") as on_step:
            history = train_rloo(model, ref, tok, rm.rewards, rows, k=k, kl_coef=kl_coef,
                                 steps=steps, batch_prompts=batch_prompts, lr=lr,
                                 max_new_tokens=max_new_tokens, seed=seed, on_step=on_step)
        card = Scorecard([rl_finding(history, label=f"RLOO (KL coefficient {kl_coef:g})")],
                         provenance={"command": "align rl", "policy": policy,
                                     "reward_model": reward_model, "prompts": str(prompts),
                                     "kl_coef": kl_coef, "k": k, "seed": seed})
        _finish(card, folder, model, tok)


def eval_(
    reward_model: Annotated[str | None, typer.Option(help="Folder of the reward model to "
                                                     "evaluate.")] = None,
    prefs: Annotated[Path | None, typer.Option(help="Held-out preference JSONL.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json and report.html.")
                   ] = Path("align-eval"),
    gold_reward_model: Annotated[str | None, typer.Option(
        help="A gold reward model standing in for the truth: judges the reward-hacking probe "
        "and, with --policy, the over-optimisation curve.")] = None,
    policy: Annotated[str | None, typer.Option(help="Folder of a policy: best-of-n under "
                                               "the reward model, judged by the gold one.")
                      ] = None,
    pool: Annotated[int, typer.Option(help="Samples per prompt for best-of-n.", min=4,
                                      max=256)] = 32,
    probe_words: Annotated[str | None, typer.Option(
        help="Comma-separated words the reward-hacking probe may insert (default: the most "
        "frequent words of the rejected responses).")] = None,
    synthetic: Annotated[bool, typer.Option(
        "--synthetic", help="Instead: the whole study on the synthetic task with a known "
        "true reward (reward models, DPO and RLOO frontier, over-optimisation, hacking).")
                         ] = False,
    seed: Seed = 0,
) -> None:
    """Evaluate a reward model (and a policy under it), or run the synthetic study.

    Exit 1 when a reward model is no better than chance, a probe finds reward hacking
    judged by a true (or gold) reward, or the over-optimisation finding fires; with
    --synthetic, when the study misses one of the effects it planted.
    """
    from trustbench._files import OutputFolder

    if synthetic == (reward_model is not None or prefs is not None):
        raise InputError("give --reward-model and --prefs, or --synthetic, not both")
    if not synthetic and (reward_model is None or prefs is None):
        raise InputError("--reward-model and --prefs go together",
                         fix="give both, or --synthetic")
    if policy is not None and gold_reward_model is None:
        raise InputError("--policy needs --gold-reward-model: over-optimisation is judged "
                         "against a truth", fix="give a gold reward model, or leave out --policy")
    with OutputFolder(out, owned=OWNED[:2]) as folder:
        keep_on_interrupt(f"nothing was written; {out} is as it was")
        with console.status("align eval") as status:
            def step(name: str) -> None:
                status.update(f"align eval: {name}")

            card = (_synthetic(seed, step) if synthetic else
                    _evaluate(reward_model, prefs, gold_reward_model, policy, pool,
                              probe_words, seed, step))
        _finish(card, folder, decided_by="align.study" if synthetic else None)


def _synthetic(seed: int, step: Callable[[str], None]) -> Any:
    from trustbench.align.study import synthetic_study

    return synthetic_study(seed, step=step)


def _evaluate(reward_model: Any, prefs: Any, gold: str | None, policy: str | None, pool: int,
              words: str | None, seed: int, step: Callable[[str], None]) -> Any:
    from trustbench.align.data import read_preferences, read_prompts
    from trustbench.align.evaluate import evaluate_reward_model, overoptimisation_under_gold

    data = read_preferences(prefs)
    rm = _reward_model(reward_model, [], 512, seed)
    gold_rm = _reward_model(gold, [], 512, seed) if gold else None
    chosen = [w.strip() for w in words.split(",") if w.strip()] if words else None
    card = evaluate_reward_model(rm, data, gold=gold_rm, words=chosen, seed=seed, step=step)
    if policy is not None and gold_rm is not None:
        step("best-of-n under the gold reward model")
        model, tok = _policy(policy, [], 512, seed)
        card.findings.append(overoptimisation_under_gold(
            model, tok, rm, gold_rm, read_prompts(prefs)[:64], pool=pool, seed=seed))
    else:
        card.not_measured.append("align.overoptimisation: needs --policy and "
                                 "--gold-reward-model")
    card.provenance.update(command="align eval", reward_model=reward_model, prefs=str(prefs),
                           gold_reward_model=gold, policy=policy)
    return card


def label(
    pairs: Annotated[Path, typer.Option(help="JSONL of pairs to label: prompt, a, b (or "
                                        "chosen, rejected), optional id and group.")],
    out: Annotated[Path, typer.Option(help="Preference JSONL the choices are appended to "
                                      "(ties and skips go to <out>.undecided.jsonl).")],
    annotator: Annotated[str | None, typer.Option(help="Your name or id, stored with every "
                                                  "choice.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: a free one).", min=0, max=65535)] = 0,
    seed: Seed = 0,
) -> None:
    """Label preference pairs on a local page: pick the better response, a tie, or skip.

    Every choice is on disk before the page moves on; stop any time (Ctrl-C or "Finish for
    now") and run the same command again to go on where you stopped.
    """
    from trustbench.align.label import LabelSession, read_pairs, serve_labels

    if out.resolve() == pairs.resolve():
        raise InputError(f"--out {out} is the --pairs file", fix="write the choices elsewhere")
    items = read_pairs(pairs)
    with LabelSession(items, out, annotator=annotator, seed=seed) as session:
        progress = session.progress()
        keep_on_interrupt(f"{progress.done} of {progress.total} labelled so far are in {out}")

        def ready(url: str) -> None:
            console.print(f"Labelling {progress.total - progress.done} of {progress.total} "
                          f"pairs: open {url} (Ctrl-C to stop)", highlight=False)

        serve_labels(session, host=host, port=port, on_ready=ready)
        done = session.progress()
    console.print(f"{done.done} of {done.total} labelled; choices in {out}", highlight=False)
