"""A multi-armed bandit with partial feedback, played by the refiner itself: where ε, α and Q₀ matter.

Inside :class:`~echo_edu.attention.integrated.IntegratedAttention` the reward of *every* window is a
closed-form function of the token's global attention, so an argmax would need no exploration at all.
The classic bandit is harder: ``K`` arms with hidden mean rewards ``μ_k``, and each step the learner
sees only the **noisy reward of the arm it pulled**, ``r = μ_a + σ·z``. Whatever it never tries it
never learns about, so how it explores (ε), how fast it forgets (α) and what it assumes about untried
arms (``Q₀``) decide how much reward it gives up.

**Regret** measures that: after ``n`` steps, the expected reward an oracle that always pulls the best
arm would have earned minus what the learner's choices earn in expectation::

    regret(n) = Σ_{t ≤ n} (max_k μ_k − μ_{a_t})        (pseudo-regret: the noise is left out)

A learner that gets stuck on a worse arm has regret that grows linearly for ever; one that finds the
best arm and stops exploring has regret that levels off.

:func:`play_bandit` plays ``runs`` independent games at once with **one**
:class:`~echo_edu.attention.refiner.QLearningRefiner` — the very class, ``act`` and ``update`` that the
integrated attention calls (no second implementation of the rule). Game ``i`` is the refiner's state
``i``: its table row ``Q[i, :]`` is that game's estimates, and each step every game acts and learns
once, so each row follows the textbook rule ``Q[i, a] ← Q[i, a] + α (r − Q[i, a])`` (``γ = 0``). The
loop runs over steps (a training loop); everything inside it is vectorised over the games, the reward
noise of every step is drawn up front, and the regret is a ``cumsum`` after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .refiner import QLearningRefiner

__all__ = ["GaussianBandit", "BanditRun", "play_bandit", "DEFAULT_MEANS"]

#: five arms: a clear loser, two middling ones and a best arm 0.1 ahead of its runner-up
DEFAULT_MEANS = (0.2, 0.4, 0.5, 0.9, 0.8)


@dataclass(frozen=True)
class GaussianBandit:
    """``K`` arms; pulling arm ``k`` pays ``μ_k + σ·z``, ``z ~ N(0, 1)``.

    Args:
        means: the hidden mean reward ``μ`` of each arm (at least two arms).
        noise: the reward noise ``σ`` (≥ 0).
    """

    means: tuple[float, ...] = DEFAULT_MEANS
    noise: float = 0.3

    def __post_init__(self) -> None:
        if len(self.means) < 2:
            raise ConfigError(f"a bandit needs at least two arms, got means={self.means!r}")
        if self.noise < 0:
            raise ConfigError(f"bandit noise must be ≥ 0, got {self.noise}")

    @property
    def n_arms(self) -> int:
        return len(self.means)

    @property
    def best_arm(self) -> int:
        """The arm an oracle pulls (the first of equal best ones)."""
        return int(torch.tensor(self.means).argmax())

    def gaps(self) -> torch.Tensor:
        """``(K,)`` expected regret of one pull of each arm, ``max μ − μ_k``."""
        mu = torch.tensor(self.means, dtype=torch.float32)
        return mu.max() - mu


@dataclass
class BanditRun:
    """What :func:`play_bandit` recorded.

    Attributes:
        actions: ``(steps, runs)`` arm pulled by each game at each step.
        rewards: ``(steps, runs)`` the noisy reward each game saw.
        regret: ``(steps, runs)`` cumulative pseudo-regret after each step.
        q_table: ``(runs, K)`` every game's final estimates.
        best_arm: the oracle's arm.
    """

    actions: torch.Tensor
    rewards: torch.Tensor
    regret: torch.Tensor
    q_table: torch.Tensor
    best_arm: int

    def mean_regret(self) -> torch.Tensor:
        """``(steps,)`` cumulative regret averaged over the games."""
        return self.regret.mean(dim=1)

    def best_share(self) -> torch.Tensor:
        """``(steps,)`` fraction of games pulling the best arm at each step."""
        return (self.actions == self.best_arm).float().mean(dim=1)

    def stuck(self, last: int = 50) -> torch.Tensor:
        """``(runs,)`` bool: games that never pulled the best arm in their last ``last`` steps."""
        return ~(self.actions[-last:] == self.best_arm).any(dim=0)


def play_bandit(bandit: GaussianBandit, *, epsilon: float, alpha: float, initial_q: float, steps: int = 300,
                runs: int = 200, seed: int = 0) -> BanditRun:
    """Play ``runs`` independent games of ``steps`` pulls with ε-greedy Q-learning (``γ = 0``).

    Args:
        bandit: the arms.
        epsilon, alpha, initial_q: the learner's ε, α and ``Q₀`` (see :class:`QLearningRefiner`).
        steps: pulls per game.
        runs: independent games, played side by side (game ``i`` is the refiner's state ``i``).
        seed: seeds both the learner's exploration generator and the reward noise; the same seed replays
            the same games exactly.
    Returns:
        a :class:`BanditRun`.
    """
    if steps < 1 or runs < 1:
        raise ConfigError(f"play_bandit needs steps ≥ 1 and runs ≥ 1, got steps={steps}, runs={runs}")
    agent = QLearningRefiner(runs, bandit.n_arms, alpha=alpha, gamma=0.0, epsilon=epsilon, seed=seed,
                             initial_q=initial_q).train()
    means = torch.tensor(bandit.means, dtype=torch.float32)                       # (K,)
    noise_gen = torch.Generator().manual_seed(seed + 7919)                         # apart from the agent's draws
    noise = torch.randn(steps, runs, generator=noise_gen) * bandit.noise           # (steps, runs), drawn up front
    games = torch.arange(runs)                                                     # (runs,) one state per game
    actions = torch.empty(steps, runs, dtype=torch.long)
    rewards = torch.empty(steps, runs)
    for t in range(steps):  # a training loop over steps, each step vectorised over the games
        a = agent.act(games)                                                       # (runs,)
        r = means[a] + noise[t]                                                    # (runs,) only the pulled arm's reward
        agent.update(games, a, r)
        actions[t], rewards[t] = a, r
    regret = bandit.gaps()[actions].cumsum(dim=0)                                  # (steps, runs)
    return BanditRun(actions, rewards, regret, agent.q_table.clone(), bandit.best_arm)
