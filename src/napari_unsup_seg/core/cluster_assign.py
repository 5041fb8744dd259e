"""From the network's response to labels: clusters, scribble classes, soft probabilities.

Scribble mode offers three ways to give every cluster a class:

``anchor``
    The scribble loss ties cluster k to class k; each pixel takes the class whose
    anchor logit is highest (Kanezaki's reference code).
``vote``
    Each cluster takes the majority class of the scribbles it holds; clusters without
    scribbles fall back to the anchors.
``graph``
    The clusters are cut into connected regions; regions holding scribbles take their
    majority class, and the others get theirs from a random walk on the region
    adjacency graph (edges weighted by shared border length and colour similarity), so
    an unscribbled region goes to the class it is most strongly connected to rather
    than to an arbitrary anchor.
"""

from __future__ import annotations

import numpy as np
import torch

from .cluster_net import resize_chw

# Share of the soft output taken from the network's anchor probabilities in "graph" mode
# (the rest is the region random walk): it only breaks near-ties at region borders.
ANCHOR_SHARE = 0.2


class Labeller:
    """Turns a response map (1, q, h, w) into labels, following the scribble mode."""

    def __init__(self, classes: np.ndarray, assign: str, graph_beta: float = 4.0) -> None:
        self.classes = classes
        self.assign = assign
        self.graph_beta = graph_beta

    def preview(self, response: torch.Tensor, size: int) -> np.ndarray:
        """A small label image (anchor classes, or consecutive cluster ids) for progress events."""
        h, w = response.shape[-2:]
        f = min(1.0, size / max(h, w))
        small = resize_chw(response.detach(), (max(1, round(h * f)), max(1, round(w * f))))
        if len(self.classes):
            idx = small[0, : len(self.classes)].argmax(0).cpu().numpy()
            return self.classes[idx].astype(np.int32)
        ids = small[0].argmax(0).cpu().numpy()
        return (np.unique(ids, return_inverse=True)[1].reshape(ids.shape) + 1).astype(np.int32)

    def final(self, response: torch.Tensor, scribbles: np.ndarray | None, image: np.ndarray | None = None):
        """Return labels, clusters, soft and label values at the response's resolution."""
        resp = response.detach()[0].float()
        clusters = resp.argmax(0).cpu().numpy().astype(np.int32)
        k = len(self.classes)
        if k == 0:
            used, inverse = np.unique(clusters, return_inverse=True)
            labels = (inverse.reshape(clusters.shape) + 1).astype(np.int32)
            soft = torch.softmax(resp[torch.as_tensor(used, device=resp.device)], 0).cpu().numpy()
            return labels, clusters, soft.astype(np.float32), np.arange(1, len(used) + 1, dtype=np.int32)
        anchor = torch.softmax(resp[:k], 0)
        scribbled = scribbles > 0
        idx = np.searchsorted(self.classes, scribbles[scribbled])
        if self.assign == "vote":
            soft = _vote_soft(resp, clusters, scribbled, idx, anchor)
        elif self.assign == "graph":
            soft = _graph_soft(clusters, scribbled, idx, k, image, self.graph_beta)
            soft = (1 - ANCHOR_SHARE) * soft + ANCHOR_SHARE * anchor.cpu().numpy()
        else:
            soft = anchor.cpu().numpy()
        soft[:, scribbled] = 0.0
        soft[idx, np.nonzero(scribbled)[0], np.nonzero(scribbled)[1]] = 1.0
        labels = self.classes[soft.argmax(0)].astype(np.int32)
        return labels, clusters, soft.astype(np.float32), self.classes.copy()


def _vote_soft(resp, clusters, scribbled, idx, anchor) -> np.ndarray:
    """Each cluster holding scribbles gets their majority class; the rest use anchors."""
    k, q = anchor.shape[0], resp.shape[0]
    votes = np.zeros((q, k), np.int64)
    np.add.at(votes, (clusters[scribbled], idx), 1)
    voted = votes.sum(1) > 0
    prob = torch.softmax(resp, 0)
    mapping = torch.zeros((k, q), dtype=prob.dtype, device=prob.device)
    voted_ids = np.nonzero(voted)[0]
    mapping[torch.as_tensor(votes[voted_ids].argmax(1)), torch.as_tensor(voted_ids)] = 1.0
    soft = torch.einsum("kq,qhw->khw", mapping, prob)
    rest = prob[torch.as_tensor(~voted, device=prob.device)].sum(0, keepdim=True)
    return (soft + rest * anchor).cpu().numpy()


def _graph_soft(clusters, scribbled, idx, k, image, beta) -> np.ndarray:
    """Class probabilities per pixel from a random walk on the graph of cluster regions."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve
    from skimage.measure import label

    regions = label(clusters, background=-1, connectivity=1) - 1  # 0..n-1
    n = int(regions.max()) + 1
    votes = np.zeros((n, k), np.int64)
    np.add.at(votes, (regions[scribbled], idx), 1)
    seeded = votes.sum(1) > 0
    prob = np.zeros((n, k), np.float64)
    prob[seeded, votes[seeded].argmax(1)] = 1.0
    if not seeded.all():
        feats = image.reshape(image.shape[0], -1).T.astype(np.float64)
        count = np.bincount(regions.ravel(), minlength=n).astype(np.float64)
        mean = np.stack([np.bincount(regions.ravel(), f, minlength=n) for f in feats.T], 1) / count[:, None]
        pairs = [(regions[:, 1:], regions[:, :-1]), (regions[1:, :], regions[:-1, :])]
        a = np.concatenate([p[0][p[0] != p[1]] for p in pairs])
        b = np.concatenate([p[1][p[0] != p[1]] for p in pairs])
        border = sparse.coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)).tocsr()
        border = (border + border.T).tocoo()
        d2 = ((mean[border.row] - mean[border.col]) ** 2).sum(1)
        weight = border.data * np.exp(-beta * d2 / max(d2.mean(), 1e-12))
        adj = sparse.csr_matrix((weight + 1e-9, (border.row, border.col)), shape=(n, n))
        lap = sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj
        free = np.nonzero(~seeded)[0]
        fixed = np.nonzero(seeded)[0]
        lap_ff = lap[free][:, free].tocsc() + sparse.identity(free.size, format="csc") * 1e-9
        rhs = -(lap[free][:, fixed] @ prob[fixed])
        sol = spsolve(lap_ff, rhs)
        sol = np.clip(sol.reshape(free.size, k), 0, None)
        prob[free] = sol / np.maximum(sol.sum(1, keepdims=True), 1e-12)
        isolated = prob[free].sum(1) == 0
        prob[free[isolated]] = 1.0 / k
    return np.moveaxis(prob[regions], -1, 0).astype(np.float32)
