"""Checkers for lesson 06 (the Q-learning refiner). Each prints a verdict and returns a bool."""

from __future__ import annotations

import torch

from . import verdict

__all__ = ["check_cheap_width", "check_no_exploration", "check_gamma", "check_width_cost"]


def check_cheap_width(best_cheap, gap_cheap: float, solved_default: int, solved_cheap: int, solved_cheap_long: int) -> bool:
    """Exercise 1: best actions and smallest best-vs-runner-up gap with ``cost=0.05``; seeds (of ten) whose greedy
    policy is the best after 150 rounds at ``cost=0.5`` and ``0.05``, and after 600 rounds at ``0.05``."""
    ok = (list(best_cheap) == [0, 1, 2, 3] and abs(gap_cheap - 0.05 * 4 / 32) < 1e-4
          and solved_default >= 9 and solved_cheap <= solved_default - 2 and solved_cheap_long < solved_default)
    return verdict(ok, f"the best actions stay the smallest windows that reach, but the smallest gap shrinks to "
                       f"{gap_cheap:.5f}, under the spread a constant α = 0.1 leaves in each Q entry "
                       f"(0.05·√(α/(2−α)) ≈ 0.011 for reward noise 0.05); {solved_cheap}/10 seeds find the policy after 150 rounds ({solved_default}/10 at "
                       f"cost 0.5) and still {solved_cheap_long}/10 after 600: the near-ties keep flipping.",
                   "take ToySpanTask(cost=0.05).best_actions() and the expected_reward table's smallest difference "
                   "between the best and the second-best action of a state; train ten seeds (task and agent seed s).")


def check_no_exploration(solved_pessimist: int, solved_optimist: int, seeds: int) -> bool:
    """Exercise 2: of ``seeds`` seeds, how many find the best policy with ``epsilon=0`` and ``initial_q=0``,
    and with ``epsilon=0`` and ``initial_q=1``."""
    ok = seeds >= 10 and solved_pessimist <= 0.3 * seeds and solved_optimist >= 0.9 * seeds
    return verdict(ok, f"with no exploration and a pessimistic start only {solved_pessimist}/{seeds} seeds find the best "
                       f"policy: the first action with a positive reward stays greedy forever. Optimism alone "
                       f"({solved_optimist}/{seeds}) explores: every untried entry (1) looks better than any tried one.",
                   "train QLearningRefiner(4, 4, alpha=0.1, epsilon=0.0, seed=s, initial_q=…) on ToySpanTask(seed=s) "
                   "for 150 rounds of 8 and compare agent.greedy(torch.arange(4)) with task.best_actions(), at "
                   "least ten seeds." if seeds >= 10 else "use at least ten seeds.")


def check_gamma(q_bandit, q_gamma, gamma: float, greedy_short, greedy_long, best) -> bool:
    """Exercise 3: Q tables after a long run with ``γ = 0`` and with ``γ`` (random next states); the greedy
    policy of the ``γ`` agent after 150 rounds and after the long run; the best actions."""
    shift = q_gamma - q_bandit
    expected = gamma / (1 - gamma) * q_bandit.max(-1).values.mean()
    ok = (gamma > 0 and abs(shift.mean() - expected) < 0.05 * expected and shift.std() < 0.05 * expected
          and list(greedy_long) == list(best) and list(greedy_short) != list(best))
    return verdict(ok, f"every Q value rises by the same {shift.mean():.2f} ≈ γ/(1−γ)·V̄ = {expected:.2f}: the next state "
                       "is random whatever the action, so the bootstrap term adds the same value to every entry and "
                       "the argmax is unchanged in the limit. But the shift is learned noisily, so after 150 rounds the "
                       "greedy policy is still wrong; γ > 0 only costs rounds here.",
                   "write the loop yourself: s = task.sample_states(8), a = agent.act(s), r = task.reward(s, a), "
                   "agent.update(s, a, r, next_state=torch.randint(4, (8,), generator=g)); 3000 rounds for the long "
                   "run, and compare with a γ = 0 agent trained the same way.")


def check_width_cost(windows_default, windows_costly, loss_default: float, loss_costly: float) -> bool:
    """Exercise 4: the greedy windows (any shape) on fresh sequences after section 5's training with the default
    ``width_cost`` and with 0.8, and the mean training loss of the last steps of each."""
    windows_default, windows_costly = torch.as_tensor(windows_default), torch.as_tensor(windows_costly)
    share8 = [(w == 8).float().mean().item() for w in (windows_default, windows_costly)]
    shift = abs(windows_costly.float().mean() - windows_default.float().mean()).item()
    ok = min(share8) > 0.6 and shift < 1.0 and loss_costly < 1.5 * loss_default + 0.05
    return verdict(ok, f"hardly anything changes: {share8[1]:.0%} of the windows stay at 8 (mean width moves {shift:.2f}) "
                       "and the loss is as low. Window 8 costs 0.8·(8 − 4)/16 = 0.2 more than window 4 in the reward, "
                       "but once the global branch looks six back it covers that attention mass, which window 4 "
                       "misses; only a price above the mass it buys would push the refiner to 4.",
                   "train section 5's LookBack twice, building the layer with width_cost=0.8 the second time, and "
                   "read info['window'] of the eval model on fresh random sequences; average over a few seeds.")
