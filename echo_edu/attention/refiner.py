"""Tabular Q-learning: the "refiner" that picks attention spans, also usable on toy problems.

The agent keeps a table ``Q[s, a]`` — the value of taking action ``a`` in state ``s``. Each step it

1. **acts** ε-greedily: with probability ε a uniformly random action, otherwise ``argmax_a Q[s, a]``
   (ties broken at random while training; toward the *last* action in eval, which for span choice is
   the widest, safest window);
2. **learns** from the reward ``r`` (and, with ``gamma > 0``, the next state ``s'``):

       Q[s, a] ← Q[s, a] + α · (r + γ · max_a' Q[s', a'] − Q[s, a])

With ``gamma = 0`` this is a *contextual bandit*: each choice is judged only by its own reward. That is
what span choice inside attention is — choosing a window does not move the layer into a different
"next state" — so :class:`echo_edu.attention.integrated.IntegratedAttention` uses ``gamma = 0``.

Batches: :meth:`QLearningRefiner.update` takes many ``(s, a, r)`` at once (every token of a batch) and
moves each visited ``Q[s, a]`` once, toward the **mean** target observed for it in that batch. With one
transition per call this is exactly the textbook rule above.

Everything learned is a persistent buffer (``q_table``, ``visits``, ``updates``): it is saved by
``state_dict``/safetensors and moves with ``.to(device)``. The table stays float32 even when the model
is cast to bfloat16 (bf16 cannot hold small TD steps). Updates happen only in ``train()`` mode; in
``eval()`` ε is 0 and the table is frozen. Random draws use a seeded ``torch.Generator`` per device.
No ``.item()``: acting and learning are tensor ops, so nothing waits on the GPU.

Distributed training: DDP broadcasts buffers from rank 0 before every forward (its default
``broadcast_buffers=True``), so every rank acts with rank 0's table and only rank 0's updates persist —
one consistent table, learned from rank 0's share of the data.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError

__all__ = ["QLearningRefiner", "ToySpanTask"]


class QLearningRefiner(nn.Module):
    """ε-greedy tabular Q-learning with a persistent table.

    Args:
        n_states: number of discrete states ``S``.
        n_actions: number of actions ``A``.
        alpha: learning rate in (0, 1].
        gamma: discount in [0, 1); 0 makes it a contextual bandit.
        epsilon: exploration probability while training, in [0, 1].
        seed: seed of the exploration generator.
        initial_q: starting value of every table entry. Setting it to the largest possible reward
            ("optimism in the face of uncertainty") makes the agent try every action early.
    """

    def __init__(self, n_states: int, n_actions: int, *, alpha: float = 0.1, gamma: float = 0.0,
                 epsilon: float = 0.1, seed: int = 0, initial_q: float = 0.0) -> None:
        super().__init__()
        if n_states < 1 or n_actions < 1:
            raise ConfigError(f"refiner needs n_states ≥ 1 and n_actions ≥ 1, got {n_states}, {n_actions}")
        if not 0 < alpha <= 1 or not 0 <= gamma < 1 or not 0 <= epsilon <= 1:
            raise ConfigError(f"refiner needs 0 < alpha ≤ 1, 0 ≤ gamma < 1, 0 ≤ epsilon ≤ 1; got "
                              f"alpha={alpha}, gamma={gamma}, epsilon={epsilon}")
        self.n_states, self.n_actions = n_states, n_actions
        self.alpha, self.gamma, self.epsilon, self.seed = alpha, gamma, epsilon, seed
        self.register_buffer("q_table", torch.full((n_states, n_actions), float(initial_q)))  # (S, A) float32
        self.register_buffer("visits", torch.zeros(n_states, n_actions, dtype=torch.long))  # (S, A)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))  # number of update calls
        self._generators: dict[str, torch.Generator] = {}

    def extra_repr(self) -> str:
        return (f"states={self.n_states}, actions={self.n_actions}, alpha={self.alpha}, gamma={self.gamma}, "
                f"epsilon={self.epsilon}")

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.q_table = self.q_table.float()  # keep the table float32 whatever the model dtype
        return self

    def generator(self, device: torch.device) -> torch.Generator:
        """The seeded exploration generator for ``device`` (created on first use)."""
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def _check_states(self, state: torch.Tensor) -> None:
        if state.dtype not in (torch.int32, torch.int64):
            raise ShapeError(f"refiner states must be an integer tensor, got dtype {state.dtype}")

    def greedy(self, state: torch.Tensor, random_ties: bool = False) -> torch.Tensor:
        """``argmax_a Q[state, a]`` for a long tensor of states (any shape) → actions of the same shape.

        Ties go to the last (widest) action, or to a random one of them with ``random_ties``.
        """
        self._check_states(state)
        q = self.q_table[state]  # (..., A)
        best = q.max(dim=-1, keepdim=True).values
        tied = q >= best
        if random_ties:
            noise = torch.rand(q.shape, generator=self.generator(q.device), device=q.device)
        else:
            noise = torch.arange(self.n_actions, device=q.device, dtype=q.dtype).expand_as(q)
        return noise.masked_fill(~tied, -1.0).argmax(dim=-1)

    def act(self, state: torch.Tensor) -> torch.Tensor:
        """ε-greedy actions while training; greedy (deterministic) in eval. Same shape as ``state``."""
        if not self.training or self.epsilon == 0:
            return self.greedy(state, random_ties=self.training)
        gen = self.generator(state.device)
        greedy = self.greedy(state, random_ties=True)
        explore = torch.rand(state.shape, generator=gen, device=state.device) < self.epsilon
        random_action = torch.randint(self.n_actions, state.shape, generator=gen, device=state.device)
        return torch.where(explore, random_action, greedy)

    @torch.no_grad()
    def update(self, state: torch.Tensor, action: torch.Tensor, reward: torch.Tensor,
               next_state: torch.Tensor | None = None, done: torch.Tensor | None = None,
               valid: torch.Tensor | None = None) -> None:
        """One batched Q-learning step (a no-op in eval mode).

        Args:
            state, action: long tensors of one shape (e.g. ``(B, T)``).
            reward: float tensor of that shape.
            next_state: states after the action, for ``gamma > 0``; ``done`` (bool) stops bootstrapping.
            valid: bool mask of the transitions to learn from (e.g. real, non-padding tokens).
        """
        if not self.training:
            return
        self._check_states(state)
        if action.shape != state.shape or reward.shape != state.shape:
            raise ShapeError(f"refiner update needs state, action and reward of one shape, got "
                             f"{tuple(state.shape)}, {tuple(action.shape)}, {tuple(reward.shape)}")
        target = reward.float()
        if self.gamma > 0 and next_state is not None:
            bootstrap = self.q_table[next_state].max(dim=-1).values
            if done is not None:
                bootstrap = bootstrap * (~done).float()
            target = target + self.gamma * bootstrap
        weight = torch.ones_like(target) if valid is None else valid.float()
        index = (state * self.n_actions + action).flatten()  # (N,) cell of the table
        total = torch.zeros(self.n_states * self.n_actions, device=target.device)
        count = torch.zeros_like(total)
        total.index_add_(0, index, (target * weight).flatten())
        count.index_add_(0, index, weight.flatten())
        mean_target = total / count.clamp(min=1)
        seen = (count > 0).view(self.n_states, self.n_actions)
        step = self.alpha * (mean_target.view_as(self.q_table) - self.q_table)
        self.q_table += torch.where(seen, step, torch.zeros_like(step))
        self.visits += count.view_as(self.visits).long()
        self.updates += 1


class ToySpanTask:
    """A synthetic span-choice problem whose best answer is known — for lessons and tests.

    Each of ``n_states`` situations hides a dependency at a distance ``distances[s]``. Choosing window
    ``w = windows[a]`` earns ``1`` if the window reaches it (``w > distance``) minus a cost for width::

        reward = 1[w > distance] − cost · w / max(windows) + noise,   noise ~ N(0, noise²)

    so the best action for state ``s`` is the *smallest* window that reaches ``distances[s]``
    (:meth:`best_actions`). This is the integrated attention's reward (coverage minus width cost) with
    the coverage made all-or-nothing.
    """

    def __init__(self, windows=(4, 8, 16, 32), distances=(2, 6, 12, 24), cost: float = 0.5,
                 noise: float = 0.05, seed: int = 0) -> None:
        self.windows = torch.tensor(windows)
        self.distances = torch.tensor(distances)
        self.cost, self.noise = cost, noise
        self.n_states, self.n_actions = len(distances), len(windows)
        self.generator = torch.Generator().manual_seed(seed)

    def sample_states(self, n: int) -> torch.Tensor:
        """``n`` random situations ``(n,)``."""
        return torch.randint(self.n_states, (n,), generator=self.generator)

    def expected_reward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Noise-free reward of ``action`` in ``state`` (same shapes)."""
        w = self.windows[action]
        return (w > self.distances[state]).float() - self.cost * w / self.windows.max()

    def reward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Noisy reward actually handed to the agent."""
        noise = torch.randn(state.shape, generator=self.generator) * self.noise
        return self.expected_reward(state, action) + noise

    def best_actions(self) -> torch.Tensor:
        """``(n_states,)`` — the optimal action of every state."""
        s = torch.arange(self.n_states)
        table = self.expected_reward(s[:, None], torch.arange(self.n_actions)[None, :])
        return table.argmax(dim=-1)

    def train(self, agent: QLearningRefiner, steps: int, batch: int = 1, snapshots: bool = False):
        """Let ``agent`` act and learn for ``steps`` rounds of ``batch`` situations.

        Returns:
            the expected reward of the agent's choices per round ``(steps,)``; with ``snapshots`` also the
            Q-table before the first and after every round ``(steps + 1, S, A)``.
        """
        agent.train()
        history = torch.zeros(steps)
        tables = [agent.q_table.clone()]
        for i in range(steps):  # a training loop over steps (not a forward pass)
            s = self.sample_states(batch)
            a = agent.act(s)
            r = self.reward(s, a)
            agent.update(s, a, r)
            history[i] = self.expected_reward(s, a).mean()
            if snapshots:
                tables.append(agent.q_table.clone())
        return (history, torch.stack(tables)) if snapshots else history
