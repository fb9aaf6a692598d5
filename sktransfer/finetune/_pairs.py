"""Contrastive pieces: the balanced pair sampler, the pair dataset, the losses.

* `sample_pairs`: SetFit's pairs (Tunstall et al., 2022), drawn so that class
  imbalance does not leak into them: every round takes the same number of
  anchors from each class, and each anchor gets one positive partner (same
  class) and one negative partner (another class, chosen uniformly among the
  other classes, then a member of it uniformly).
* `PairDataset`: the pairs of one round per epoch, as items
  ``({"data": (first, second), "sample_weight": w}, target)``.
* `CosinePairLoss`: SetFit's ``CosineSimilarityLoss``, the squared error
  between the similarity of a pair and its label (1 same class, 0 not).
* `SupConLoss`: the supervised contrastive loss of Khosla et al. (2020) over
  the two views of every item of a batch (``L_out``, temperature 0.1).
"""

import math

import numpy as np

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = [
    "CONTRASTIVE_DISTANCES",
    "CONTRASTIVE_LOSSES",
    "ContrastiveModule",
    "CosinePairLoss",
    "PairCollate",
    "PairDataset",
    "SupConLoss",
    "n_rounds",
    "sample_pairs",
    "sample_views",
    "similarity",
]

CONTRASTIVE_LOSSES = ("auto", "cosine", "supcon")
CONTRASTIVE_DISTANCES = ("cosine", "euclidean")


def n_rounds(labels, iterations):
    """Rounds of pairs to draw: ``iterations``, but no more pairs than distinct ones.

    A round holds ``2 * n_anchors`` pairs; rounds stop once they would cover
    the ``n (n - 1) / 2`` distinct pairs of the ``n`` examples (SetFit draws
    all of them), so tiny sets are not drawn many times over.
    """
    n = len(labels)
    per_round = 2 * _anchors_per_class(labels) * len(np.unique(labels))
    distinct = n * (n - 1) // 2
    return int(max(1, min(iterations, math.ceil(distinct / per_round))))


def _anchors_per_class(labels):
    counts = np.bincount(labels)
    return int(math.ceil(len(labels) / (counts > 0).sum()))


def sample_pairs(labels, n_rounds, random_state):
    """Balanced positive and negative pairs, round by round.

    Parameters
    ----------
    labels : ndarray of int of shape (n_samples,)
        Class index of each example (at least two classes).
    n_rounds : int
        Number of rounds.
    random_state : numpy.random.RandomState
        Source of randomness.

    Returns
    -------
    rounds : list of ndarray of shape (n_pairs, 3)
        Per round: ``(first, second, same)`` rows, positions into ``labels``;
        ``same`` is 1 for a positive pair, 0 for a negative one. Each class
        supplies the same number of anchors, each anchor one positive and
        one negative pair.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    per_class = _anchors_per_class(labels)
    rounds = []
    for _ in range(n_rounds):
        rows = []
        for c in classes:
            own = members[c]
            anchors = _cycle(own, per_class, random_state)
            for anchor in anchors:
                others = own[own != anchor]
                positive = random_state.choice(others) if len(others) else anchor
                other_class = random_state.choice(classes[classes != c])
                negative = random_state.choice(members[other_class])
                rows.append((anchor, positive, 1))
                rows.append((anchor, negative, 0))
        pairs = np.asarray(rows, dtype=np.int64)
        rounds.append(pairs[random_state.permutation(len(pairs))])
    return rounds


def sample_views(labels, n_rounds, random_state):
    """SupCon rounds: class-balanced items, each as ``(item, item, class)``.

    Every round takes the same number of items from each class (whole
    shuffled passes over a class, then part of one), in a shuffled order.
    """
    labels = np.asarray(labels)
    per_class = _anchors_per_class(labels)
    rounds = []
    for _ in range(n_rounds):
        items = np.concatenate(
            [
                _cycle(np.flatnonzero(labels == c), per_class, random_state)
                for c in np.unique(labels)
            ]
        )
        items = items[random_state.permutation(len(items))]
        rounds.append(np.stack([items, items, labels[items]], axis=1))
    return rounds


def _cycle(members, count, random_state):
    """``count`` members: whole shuffled passes, then a random part of one."""
    passes = [
        random_state.permutation(members) for _ in range(-(-count // len(members)))
    ]
    return np.concatenate(passes)[:count]


class PairDataset(torch.utils.data.Dataset):
    """The pairs of round ``epoch`` (set by `NextRound`) over ``inputs``.

    Parameters
    ----------
    inputs : sequence or Dataset
        Items of the training rows (texts, image tensors, rows).
    rounds : list of ndarray of shape (n_pairs, 3)
        ``(first, second, target)`` rows; for SupCon, ``first == second``
        (two views of one item) and ``target`` is its class.
    weights : ndarray of shape (n_rows,)
        Sample weights of the rows; a pair weighs the geometric mean of its two.
    float_targets : bool
        Targets as float32 (pair labels) instead of int64 (classes).
    """

    def __init__(self, inputs, rounds, weights, float_targets):
        self.inputs = inputs
        self.rounds = rounds
        self.weights = np.asarray(weights, dtype=np.float32)
        self.float_targets = float_targets
        self.epoch = 0

    def __len__(self):
        return len(self.rounds[0])

    def __getitem__(self, i):
        first, second, target = self.rounds[self.epoch % len(self.rounds)][i]
        weight = np.sqrt(self.weights[first] * self.weights[second])
        target = np.float32(target) if self.float_targets else np.int64(target)
        data = (self.inputs[first], self.inputs[second])
        return {"data": data, "sample_weight": np.float32(weight)}, target


class PairCollate:
    """Batch pair items: the first items, then the second ones, in one input batch.

    ``stack`` turns a list of inputs into the module's batch (a tokenizer's
    call for texts, ``torch.stack`` for tensors).
    """

    def __init__(self, stack):
        self.stack = stack

    def __call__(self, items):
        collate = torch.utils.data.default_collate
        firsts = [x["data"][0] for x, _ in items]
        seconds = [x["data"][1] for x, _ in items]
        inputs = {
            "data": self.stack(firsts + seconds),
            "sample_weight": collate([x["sample_weight"] for x, _ in items]),
        }
        return inputs, collate([target for _, target in items])


def similarity(a, b, distance, pairwise=False):
    """Similarity of L2-normalised embeddings: cosine, or 1 - Euclidean distance.

    Row by row (``a[i]`` with ``b[i]``), or every row of ``a`` with every row
    of ``b`` when ``pairwise``.
    """
    a = torch.nn.functional.normalize(a.float(), dim=-1)
    b = torch.nn.functional.normalize(b.float(), dim=-1)
    if distance == "cosine":
        return a @ b.T if pairwise else (a * b).sum(-1)
    if pairwise:
        return 1 - torch.cdist(a, b)
    return 1 - (a - b).norm(dim=-1)


class ContrastiveModule(torch.nn.Module):
    """The backbone on a batch of first items then second items.

    ``loss="cosine"``: the similarity of each pair; ``"supcon"``: the
    embeddings of both halves (the criterion compares them).
    """

    def __init__(self, backbone, loss, distance):
        super().__init__()
        self.backbone = backbone
        self.loss = loss
        self.distance = distance

    def forward(self, x):
        first, second = self.backbone(x).float().chunk(2)
        if self.loss == "cosine":
            return similarity(first, second, self.distance)
        return torch.cat([first, second])


class CosinePairLoss(torch.nn.Module):
    """Weighted squared error between a pair's similarity and its label."""

    def forward(self, similarities, target, weight):
        errors = (similarities.float() - target.float()) ** 2
        return (errors * weight).sum() / weight.sum().clamp_min(1e-12)


class SupConLoss(torch.nn.Module):
    """Supervised contrastive loss (Khosla et al., 2020, ``L_out``).

    ``embeddings``: the first views of a batch, then the second views;
    ``target``: the class of each item. Every view is an anchor whose
    positives are the other views of its class; anchors are weighted by
    their item's weight.
    """

    def __init__(self, temperature=0.1, distance="cosine"):
        super().__init__()
        self.temperature = temperature
        self.distance = distance

    def forward(self, embeddings, target, weight):
        labels = torch.cat([target, target])
        weight = torch.cat([weight, weight]).float()
        logits = similarity(embeddings, embeddings, self.distance, pairwise=True)
        logits = logits / self.temperature
        self_mask = torch.eye(len(labels), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        positive = (labels[:, None] == labels[None, :]) & ~self_mask
        mean_log_prob = log_prob.masked_fill(~positive, 0).sum(1) / positive.sum(
            1
        ).clamp_min(1)
        return -(mean_log_prob * weight).sum() / weight.sum().clamp_min(1e-12)
