"""trustbench's DPO / IPO / reward-model losses against TRL's DPOTrainer and RewardTrainer.

Runs in the benchmark's own environment (TRL is never a project dependency)::

    bash benchmarks/setup_align_env.sh
    .bench-align-venv/bin/python benchmarks/align.py [--pairs 16] [--steps 20] [--repeats 5]
        [--threads 1] [--no-timing] [--out reports/align-benchmark.json]

Both sides get the same tiny GPT-2 weights (``tiny_gpt2``, n_embd 64, 2 layers; every model is
a deep copy of one initial model), the same batch of seeded synthetic preference pairs and the
same beta. TRL tokenizes the pairs itself (prompt + " " + response, EOS appended as a string);
the script checks that its ids, attention mask and completion mask are exactly trustbench's
``encode`` (right padding). TRL runs in fp32 with activation checkpointing off (its defaults
are bf16 autocast and checkpointing on: neither changes what is computed, both change the
numbers or the time, so the default configuration is timed as an extra row only).

Checked, on one fixed batch (no training loop):

* DPO loss (sigmoid), IPO (log-probabilities averaged per response in both), conservative
  DPO (label smoothing 0.1) and the same with pad = EOS, and the gradient of each with
  respect to every policy parameter. The reference is a second model (another seed), so
  ``h`` is not 0 and the loss depends on all four log-probabilities;
* the reward-model (Bradley-Terry) loss and its gradient, without and with margins, and with
  a tokenizer whose pad is its EOS.

Timed (median over repeats, interleaved, fresh model copies each repeat):

* "step": one optimisation step on the fixed batch, forward + backward + AdamW step, the
  reference log-probabilities precomputed on both sides. trustbench: the body of
  ``train_dpo`` / ``train_reward_model``'s loop as it is now: the pairs tokenized once
  (``tokenize``, untimed set-up, as those calls do before their epochs), then per step
  ``pack`` of the batch's rows, forward, loss, backward and a step of ``encode.adamw`` (fused
  AdamW where torch has it), plus the step's diagnostics (DPO) or loss value (reward model);
  TRL: ``trainer.training_step`` + ``optimizer.step`` + ``zero_grad`` on the batch its
  collator built once. "trustbench, packed once" is trustbench's step on a batch ``pack``ed
  once too: like for like with TRL's step, and the difference to "trustbench" is the cost of
  padding per step (which a training call pays on both sides: TRL's dataloader collates
  every step).
* "train": the public training call, per step: ``train_dpo`` / ``train_reward_model``
  (``epochs=steps`` over the one batch; the reference pass included) against
  ``trainer.train()`` with ``max_steps=steps`` (reference precomputed at construction, not
  timed). Each call is timed at ``steps`` and ``2 * steps`` steps, which splits its time into
  a fixed cost per call and a marginal cost per step.

The reward-model timings use the plain loss (no margins) on both sides. Results: the section
"Alignment: DPO and reward-model losses against TRL" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import io
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    import datasets
    import transformers
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer
except ImportError as e:  # pragma: no cover - a message, not a traceback
    sys.exit(f"align.py: {e}; run it with .bench-align-venv/bin/python "
             "(made by bash benchmarks/setup_align_env.sh)")

from trustbench.align.data import Preference  # noqa: E402
from trustbench.align.dpo import dpo_loss, pair_logprobs, train_dpo  # noqa: E402
from trustbench.align.encode import adamw, encode, pack, pad_id, tokenize  # noqa: E402
from trustbench.align.lm import token_logprobs  # noqa: E402
from trustbench.align.models import tiny_gpt2  # noqa: E402
from trustbench.align.reward import RewardModel, bradley_terry_loss, train_reward_model  # noqa: E402
from trustbench.align.text import word_tokenizer  # noqa: E402

datasets.disable_progress_bars()
datasets.disable_caching()
transformers.logging.set_verbosity_error()
logging.getLogger("trl").setLevel(logging.ERROR)

BETA = 0.1
LR = 1e-3
TOL = 1e-5
MODEL = {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64}


# ---------------------------------------------------------------- data and models

def make_prefs(n: int, seed: int = 0) -> list[Preference]:
    """Seeded pairs: prompts of 2-6 words, responses of 1-8 words (so padding matters)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)]

    def phrase(lo: int, hi: int) -> str:
        return " ".join(rng.choice(words, int(rng.integers(lo, hi + 1))))

    prefs = []
    for _ in range(n):
        chosen, rejected = phrase(1, 8), phrase(1, 8)
        while rejected == chosen:
            rejected = phrase(1, 8)
        prefs.append(Preference(phrase(2, 6), chosen, rejected,
                                margin=round(float(rng.uniform(0.0, 2.0)), 3)))
    return prefs


def tokenizer_for(prefs: list[Preference], pad_is_eos: bool = False):
    return word_tokenizer([t for p in prefs for t in (p.prompt, p.chosen, p.rejected)],
                          pad_is_eos=pad_is_eos)


def dataset_for(prefs: list[Preference], margin: bool = False) -> datasets.Dataset:
    """TRL's input: its tokenization of prompt + response must equal ``encode``'s ids."""
    cols = {"prompt": [p.prompt + " " for p in prefs], "chosen": [p.chosen for p in prefs],
            "rejected": [p.rejected for p in prefs]}
    if margin:
        cols["margin"] = [float(p.margin) for p in prefs]
    return datasets.Dataset.from_dict(cols)


@contextlib.contextmanager
def quiet():
    """TRL and transformers print progress and notices to stdout/stderr; keep the table clean."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield


def trl_args(kind: str, out: str, n: int, *, steps: int = 1, defaults: bool = False, **kw):
    common = {"output_dir": out, "per_device_train_batch_size": n, "report_to": "none",
              "use_cpu": True, "save_strategy": "no", "learning_rate": LR, "weight_decay": 0.0,
              "lr_scheduler_type": "constant", "max_steps": steps, "logging_steps": steps,
              "disable_tqdm": True, "max_length": None, "seed": 0, "dataloader_num_workers": 0}
    if not defaults:
        common.update(bf16=False, gradient_checkpointing=False)
    common.update(kw)
    return (DPOConfig if kind == "dpo" else RewardConfig)(**common)


def dpo_trainer(policy, reference, tok, prefs, out, *, steps=1, defaults=False, **kw):
    with quiet():
        return DPOTrainer(model=policy, ref_model=reference, processing_class=tok,
                          train_dataset=dataset_for(prefs),
                          args=trl_args("dpo", out, len(prefs), steps=steps, defaults=defaults,
                                        beta=BETA, **kw))


def reward_trainer(model, tok, prefs, out, *, margin=False, steps=1, defaults=False):
    with quiet():
        return RewardTrainer(model=model, processing_class=tok,
                             train_dataset=dataset_for(prefs, margin=margin),
                             args=trl_args("reward", out, len(prefs), steps=steps,
                                           defaults=defaults))


def trl_batch(trainer, n: int) -> dict:
    """The collated batch of the first ``n`` rows, in order (the dataloader would shuffle)."""
    return trainer.data_collator([trainer.train_dataset[i] for i in range(n)])


def trl_bare_steps(trainer, n: int, steps: int, *, copy_batch: bool = False):
    """A closure running ``steps`` of TRL's own training step on one collated batch.

    ``copy_batch``: each step gets a shallow copy (the reward trainer pops keys from it).
    """
    trainer.create_optimizer_and_scheduler(num_training_steps=steps)
    trainer.current_gradient_accumulation_steps = 1  # set by train()
    batch = trl_batch(trainer, n)
    model, opt = trainer.model, trainer.optimizer

    def run():
        for _ in range(steps):
            trainer.training_step(model, dict(batch) if copy_batch else batch)
            opt.step()
            opt.zero_grad()
    return run


# ---------------------------------------------------------------- comparison helpers

def grad_diff(ours, theirs) -> dict:
    a, b = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert a.keys() == b.keys(), "the two models have different parameters"
    max_abs, max_rel, scale, worst = 0.0, 0.0, 0.0, ""
    for k in a:
        ga, gb = a[k].grad, b[k].grad
        if ga is None or gb is None:
            raise AssertionError(f"{k}: no gradient on one side")
        d = float((ga - gb).abs().max())
        s = float(gb.abs().max())
        rel = d / s if s > 0 else (0.0 if d == 0 else float("inf"))
        max_abs, scale = max(max_abs, d), max(scale, s)
        if rel > max_rel:
            max_rel, worst = rel, k
    return {"grad_max_abs_diff": max_abs, "grad_max_rel_diff": max_rel,
            "grad_max_abs": scale, "grad_worst_param": worst}


def ids_equal(batch: dict, enc, response_mask: bool = True) -> bool:
    ok = (torch.equal(batch["input_ids"], enc.input_ids)
          and torch.equal(batch["attention_mask"].long(), enc.attention_mask))
    if response_mask:
        ok = ok and torch.equal(batch["completion_mask"].bool(), enc.response_mask)
    return ok


def row(name: str, ours: float, theirs: float, grads: dict, same_ids: bool, note: str = "") -> dict:
    r = {"check": name, "loss_trustbench": ours, "loss_trl": theirs,
         "loss_abs_diff": abs(ours - theirs),
         "loss_rel_diff": abs(ours - theirs) / max(abs(theirs), 1e-30), **grads,
         "same_token_ids": same_ids, "note": note}
    r["match"] = bool(same_ids and r["loss_abs_diff"] <= TOL and grads["grad_max_abs_diff"] <= TOL)
    return r


# ---------------------------------------------------------------- DPO checks

def dpo_check(name, prefs, tok, policy0, ref0, tmp, *, loss_type="sigmoid", eps=0.0,
              trl_kw=None, note="") -> dict:
    """Loss and policy gradient on one batch: trustbench's dpo_loss vs DPOTrainer.compute_loss."""
    n = len(prefs)
    policy, reference = copy.deepcopy(policy0), copy.deepcopy(ref0)
    tp, tr = copy.deepcopy(policy0), copy.deepcopy(ref0)
    trainer = dpo_trainer(tp, tr, tok, prefs, tmp, **(trl_kw or {"loss_type": [loss_type]}))
    batch = trl_batch(trainer, n)
    enc = encode(tok, [p.prompt for p in prefs] * 2,
                 [p.chosen for p in prefs] + [p.rejected for p in prefs])
    same = ids_equal(batch, enc)

    trainer.model.train()
    loss_trl = trainer.compute_loss(trainer.model, batch)
    loss_trl.backward()

    average = loss_type == "ipo"
    policy.train()
    reference.eval()
    pc, pr = pair_logprobs(policy, tok, prefs, average=average)
    with torch.no_grad():
        rc, rr = pair_logprobs(reference, tok, prefs, average=average)
    loss = dpo_loss(pc, pr, rc, rr, beta=BETA, loss_type=loss_type, label_smoothing=eps).mean()
    loss.backward()
    return row(name, float(loss), float(loss_trl.detach()), grad_diff(policy, tp), same, note)


def trl_dpo_loss_only(prefs, tok, policy0, ref0, tmp, **kw) -> float:
    trainer = dpo_trainer(copy.deepcopy(policy0), copy.deepcopy(ref0), tok, prefs, tmp, **kw)
    with torch.no_grad():
        return float(trainer.compute_loss(trainer.model, trl_batch(trainer, len(prefs))))


# ---------------------------------------------------------------- reward checks

def reward_check(name, prefs, tok, rm0, tmp, *, margin=False, note="") -> dict:
    """Bradley-Terry loss and gradient: RewardModel.forward + bradley_terry_loss vs RewardTrainer."""
    n = len(prefs)
    ours, theirs = copy.deepcopy(rm0), copy.deepcopy(rm0)
    trainer = reward_trainer(theirs, tok, prefs, tmp, margin=margin)
    batch = trl_batch(trainer, n)
    rm = RewardModel(ours, tok)
    enc = rm.encode([p.prompt for p in prefs] * 2,
                    [p.chosen for p in prefs] + [p.rejected for p in prefs])
    same = ids_equal(batch, enc, response_mask=False)

    trainer.model.train()
    loss_trl = trainer.compute_loss(trainer.model, dict(batch))
    loss_trl.backward()

    ours.train()
    r = rm.forward(enc)
    m = torch.tensor([p.margin for p in prefs]) if margin else None
    loss = bradley_terry_loss(r[:n], r[n:], m)
    loss.backward()
    out = row(name, float(loss), float(loss_trl.detach()), grad_diff(ours, theirs), same, note)
    if not out["match"]:  # is it the read position? read ours one token before the last real one
        with torch.no_grad():
            hidden = ours.base_model(**enc.model_inputs()).last_hidden_state
            values = ours.score(hidden).squeeze(-1).float()
            early = values.gather(1, (enc.last - 1)[:, None]).squeeze(1)
            out["loss_trustbench_read_before_last"] = float(bradley_terry_loss(early[:n], early[n:], m))
            out["read_before_last_abs_diff"] = abs(out["loss_trustbench_read_before_last"]
                                                   - out["loss_trl"])
    return out


# ---------------------------------------------------------------- timing

def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def dpo_timers(prefs, tok, policy0, ref0, tmp, steps):
    """name -> (setup() -> run) pairs; setup is untimed, run() is timed and does ``steps`` steps."""
    n = len(prefs)

    def ours_step(packed_once=False):
        def setup():
            policy, reference = copy.deepcopy(policy0), copy.deepcopy(ref0)
            prompts = [p.prompt for p in prefs]  # train_dpo's set-up: tokenized once, reference pass
            rows = list(zip(tokenize(tok, prompts, [p.chosen for p in prefs]),
                            tokenize(tok, prompts, [p.rejected for p in prefs]), strict=True))
            pad = pad_id(tok)

            def packed(batch_rows):
                return pack([c for c, _ in batch_rows] + [r for _, r in batch_rows], pad=pad)

            def logprobs(model, enc):  # train_dpo's _logprobs (sigmoid: not averaged)
                logp = token_logprobs(model, enc).sum(dim=1)
                return logp[:n], logp[n:]

            reference.eval()
            with torch.no_grad():
                ref_c, ref_r = logprobs(reference, packed(rows))
            opt = adamw(policy.parameters(), LR)
            idx = torch.arange(n)  # the one batch, in order (as TRL's collated batch)
            enc_once = packed(rows) if packed_once else None  # like TRL's batch, collated once
            policy.train()

            def run():
                for _ in range(steps):  # the body of train_dpo's loop, on the one batch
                    enc = enc_once if packed_once else packed([rows[i] for i in idx.tolist()])
                    pc, pr = logprobs(policy, enc)
                    loss = dpo_loss(pc, pr, ref_c[idx], ref_r[idx], beta=BETA).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    pc, pr = pc.detach(), pr.detach()  # the step's diagnostics, as train_dpo's
                    rc, rr = BETA * (pc - ref_c[idx]), BETA * (pr - ref_r[idx])
                    _ = (float(loss.detach()), float(pc.mean()), float(pr.mean()), float(rc.mean()),
                         float(rr.mean()), float((rc - rr).mean()), float((rc > rr).float().mean()))
            return run
        return setup

    def trl_step(defaults=False):
        def setup():
            trainer = dpo_trainer(copy.deepcopy(policy0), copy.deepcopy(ref0), tok, prefs, tmp,
                                  steps=steps, defaults=defaults, precompute_ref_log_probs=True)
            return trl_bare_steps(trainer, n, steps)
        return setup

    def ours_train():
        policy, reference = copy.deepcopy(policy0), copy.deepcopy(ref0)
        return lambda: train_dpo(policy, reference, tok, prefs, beta=BETA, epochs=steps, lr=LR,
                                 batch_size=n)

    def trl_train(defaults=False):
        def setup():
            trainer = dpo_trainer(copy.deepcopy(policy0), copy.deepcopy(ref0), tok, prefs, tmp,
                                  steps=steps, defaults=defaults, precompute_ref_log_probs=True)

            def run():
                with quiet():
                    trainer.train()
            return run
        return setup

    return {"step": {"trustbench": ours_step(), "TRL": trl_step(),
                     "trustbench, packed once": ours_step(packed_once=True)},
            "train": {"trustbench": ours_train, "TRL": trl_train(),
                      "TRL, default config": trl_train(defaults=True)}}


def reward_timers(prefs, tok, rm0, tmp, steps):
    prefs = [dataclasses.replace(p, margin=None) for p in prefs]  # the plain loss on both sides
    n = len(prefs)

    def ours_step(packed_once=False):
        def setup():
            rm = RewardModel(copy.deepcopy(rm0), tok)
            opt = adamw(rm.model.parameters(), LR)
            prompts = [p.prompt for p in prefs]  # train_reward_model's set-up: tokenized once
            chosen = tokenize(tok, prompts, [p.chosen for p in prefs])
            rejected = tokenize(tok, prompts, [p.rejected for p in prefs])
            idx = list(range(n))  # the one batch, in order (as TRL's collated batch)

            def packed():
                return pack([chosen[i] for i in idx] + [rejected[i] for i in idx],
                            pad=pad_id(rm.tokenizer), max_length=rm.max_length)

            enc_once = packed() if packed_once else None  # like TRL's batch, collated once
            rm.model.train()

            def run():
                losses = []
                for _ in range(steps):  # the body of train_reward_model's loop (no margins)
                    enc = enc_once if packed_once else packed()
                    r = rm.forward(enc)
                    loss = bradley_terry_loss(r[:len(idx)], r[len(idx):], None)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.detach()))
            return run
        return setup

    def trl_step():
        trainer = reward_trainer(copy.deepcopy(rm0), tok, prefs, tmp, steps=steps)
        return trl_bare_steps(trainer, n, steps, copy_batch=True)

    def ours_train():
        rm = RewardModel(copy.deepcopy(rm0), tok)
        return lambda: train_reward_model(rm, prefs, epochs=steps, lr=LR, batch_size=n)

    def trl_train(defaults=False):
        def setup():
            trainer = reward_trainer(copy.deepcopy(rm0), tok, prefs, tmp, steps=steps,
                                     defaults=defaults)

            def run():
                with quiet():
                    trainer.train()
            return run
        return setup

    return {"step": {"trustbench": ours_step(), "TRL": trl_step,
                     "trustbench, packed once": ours_step(packed_once=True)},
            "train": {"trustbench": ours_train, "TRL": trl_train(),
                      "TRL, default config": trl_train(defaults=True)}}


def run_timers(timers: dict, steps: int, repeats: int) -> dict:
    """Interleaved: every repeat runs each contender once, in a rotating order; one warm-up."""
    names = list(timers)
    per_step = {k: [] for k in names}
    for k in names:  # warm-up, not counted
        timers[k]()()
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            run = timers[k]()
            per_step[k].append(timed(run) / steps)
    med = {k: statistics.median(v) for k, v in per_step.items()}
    return {k: {"median_s_per_step": med[k], "per_repeat_s_per_step": per_step[k],
                "vs_trustbench": med[k] / med["trustbench"]} for k in names}


def adamw_step_ms(model0, reps: int = 200) -> dict:
    """One AdamW step on this model: torch's default (foreach) and fused (TRL's default).

    ``trustbench_uses`` says which one ``trustbench.align.encode.adamw`` builds here.
    """
    probe = adamw(copy.deepcopy(model0).parameters(), LR)
    out: dict = {"trustbench_uses": "fused" if probe.defaults.get("fused") else "foreach"}
    for name, kw in (("foreach", {}), ("fused", {"fused": True})):
        model = copy.deepcopy(model0)
        for p in model.parameters():
            p.grad = torch.full_like(p, 1e-3)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, **kw)
        for _ in range(5):
            opt.step()
        t0 = time.perf_counter()
        for _ in range(reps):
            opt.step()
        out[name] = 1e3 * (time.perf_counter() - t0) / reps
    return out


# ---------------------------------------------------------------- main

def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": version("transformers"), "trl": version("trl"),
            "accelerate": version("accelerate"), "datasets": version("datasets"),
            "tokenizers": version("tokenizers"), "torch_threads": torch.get_num_threads(),
            "machine": platform.machine(), "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=16, help="preference pairs in the batch")
    ap.add_argument("--steps", type=int, default=20, help="optimisation steps per timed run")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per contender (median)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for both sides (default 1: on a shared machine, two "
                         "OpenMP threads with another job on one core wait on each other)")
    ap.add_argument("--no-timing", action="store_true", help="the loss and gradient checks only")
    ap.add_argument("--out", default="reports/align-benchmark.json", help="JSON results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    prefs = make_prefs(args.pairs)
    tok = tokenizer_for(prefs)
    tok_eos = tokenizer_for(prefs, pad_is_eos=True)
    policy0 = tiny_gpt2(tok, kind="policy", seed=0, **MODEL)
    ref0 = tiny_gpt2(tok, kind="policy", seed=1, **MODEL)
    policy_eos = tiny_gpt2(tok_eos, kind="policy", seed=0, **MODEL)
    ref_eos = tiny_gpt2(tok_eos, kind="policy", seed=1, **MODEL)
    rm0 = tiny_gpt2(tok, kind="reward", seed=2, **MODEL)
    rm_eos = tiny_gpt2(tok_eos, kind="reward", seed=2, **MODEL)
    eps = 0.1
    tmp = tempfile.mkdtemp(prefix="align-bench-")
    vers = versions()
    print(f"torch {vers['torch']}, transformers {vers['transformers']}, trl {vers['trl']}; "
          f"{vers['torch_threads']} threads; {args.pairs} pairs, beta {BETA}")

    checks = [
        dpo_check("DPO sigmoid", prefs, tok, policy0, ref0, tmp),
        dpo_check("DPO sigmoid, pad = EOS", prefs, tok_eos, policy_eos, ref_eos, tmp),
        dpo_check("IPO (averaged log-probs)", prefs, tok, policy0, ref0, tmp, loss_type="ipo"),
        # TRL 1.16's sigmoid loss does not read label_smoothing (only robust, exo_pair and aot
        # do), so conservative DPO is compared with the identity
        # cDPO = 2(1 - eps) * sigmoid - (1 - 2 eps) * robust, built from TRL's own two losses.
        dpo_check(f"cDPO eps={eps} vs 2(1-eps)*TRL sigmoid - (1-2eps)*TRL robust", prefs, tok,
                  policy0, ref0, tmp, eps=eps,
                  trl_kw={"loss_type": ["sigmoid", "robust"], "label_smoothing": eps,
                          "loss_weights": [2 * (1 - eps), -(1 - 2 * eps)]},
                  note="TRL has no cDPO loss type; this combines two of its losses"),
        dpo_check(f"cDPO eps={eps} vs TRL robust eps={eps}", prefs, tok, policy0, ref0, tmp,
                  eps=eps, trl_kw={"loss_type": ["robust"], "label_smoothing": eps},
                  note="a different loss (robust DPO, Chowdhury et al. 2024): not expected to match"),
        reward_check("reward model (Bradley-Terry)", prefs, tok, rm0, tmp),
        reward_check("reward model, with margins", prefs, tok, rm0, tmp, margin=True),
        reward_check("reward model, pad = EOS", prefs, tok_eos, rm_eos, tmp,
                     note="TRL's GPT2ForSequenceClassification reads the reward at the last "
                          "token that is not the pad id: with pad = EOS, the token before the "
                          "EOS (trl#937); trustbench reads it at the EOS"),
    ]
    smooth_ignored = (trl_dpo_loss_only(prefs, tok, policy0, ref0, tmp, loss_type=["sigmoid"],
                                        label_smoothing=eps)
                      == trl_dpo_loss_only(prefs, tok, policy0, ref0, tmp, loss_type=["sigmoid"]))

    print(f"\n{'check':<68} {'loss ours':>10} {'loss TRL':>10} {'|dloss|':>9} "
          f"{'grad |d|max':>11} {'grad rel':>9}  ids  match")
    for c in checks:
        print(f"{c['check']:<68} {c['loss_trustbench']:>10.6f} {c['loss_trl']:>10.6f} "
              f"{c['loss_abs_diff']:>9.2e} {c['grad_max_abs_diff']:>11.2e} "
              f"{c['grad_max_rel_diff']:>9.2e}  {'yes' if c['same_token_ids'] else 'NO ':<4} "
              f"{'yes' if c['match'] else 'NO'}")
    print(f"TRL sigmoid with label_smoothing={eps} gives the eps=0 loss: {smooth_ignored}")
    for c in checks:
        if "read_before_last_abs_diff" in c:
            print(f"{c['check']}: trustbench's rewards read one token before the last real token "
                  f"give {c['loss_trustbench_read_before_last']:.6f}, TRL's loss to "
                  f"{c['read_before_last_abs_diff']:.1e}")

    timings = {}
    if not args.no_timing:
        s = args.steps
        makers = (("DPO", lambda k: dpo_timers(prefs, tok, policy0, ref0, tmp, k)),
                  ("reward model", lambda k: reward_timers(prefs, tok, rm0, tmp, k)))
        for what, make in makers:
            once, twice = make(s), make(2 * s)
            timings[f"{what} step"] = run_timers(once["step"], s, args.repeats)
            # a training call has a fixed cost (TRL: Trainer.train's set-up) and a cost per step:
            # timing it at s and at 2s steps separates the two
            res = run_timers(once["train"], s, args.repeats)
            res2 = run_timers(twice["train"], 2 * s, args.repeats)
            for k, t in res.items():
                m1, m2 = t["median_s_per_step"], res2[k]["median_s_per_step"]
                t["median_s_per_step_at_2x_steps"] = m2
                t["per_repeat_s_per_step_at_2x_steps"] = res2[k]["per_repeat_s_per_step"]
                t["marginal_s_per_step"] = 2 * m2 - m1
                t["fixed_s_per_call"] = 2 * s * (m1 - m2)
            for t in res.values():
                t["marginal_vs_trustbench"] = (t["marginal_s_per_step"]
                                               / res["trustbench"]["marginal_s_per_step"])
            timings[f"{what} train"] = res
        timings["adamw_step_ms"] = adamw_step_ms(policy0)
        print(f"\ntime per optimisation step, median of {args.repeats} runs of {s} steps "
              f"(train: and of {2 * s}), {args.threads} thread(s)")
        print(f"{'what':<20} {'contender':<28} {'ms/step':>9} {'vs trustbench':>14} "
              f"{'marginal ms/step':>17} {'vs trustbench':>14} {'fixed ms/call':>14}")
        for key, res in timings.items():
            if key == "adamw_step_ms":
                continue
            for name, t in res.items():
                extra = ""
                if "marginal_s_per_step" in t:
                    extra = (f" {1e3 * t['marginal_s_per_step']:>17.2f} "
                             f"{t['marginal_vs_trustbench']:>13.2f}x "
                             f"{1e3 * t['fixed_s_per_call']:>14.0f}")
                print(f"{key:<20} {name:<28} {1e3 * t['median_s_per_step']:>9.2f} "
                      f"{t['vs_trustbench']:>13.2f}x{extra}")
        a = timings["adamw_step_ms"]
        print(f"one AdamW step on the policy: {a['foreach']:.2f} ms foreach (torch's default), "
              f"{a['fused']:.2f} ms fused (transformers' default, TRL); trustbench's adamw "
              f"uses {a['trustbench_uses']}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "versions": vers, "pairs": args.pairs, "beta": BETA, "lr": LR, "model": MODEL,
        "tolerance": TOL, "steps": args.steps, "repeats": args.repeats, "threads": args.threads,
        "checks": checks,
        "trl_sigmoid_ignores_label_smoothing": smooth_ignored, "timings": timings,
    }, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
