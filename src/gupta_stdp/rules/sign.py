"""Sign symmetry (Liao, Leibo & Poggio 2016; Xiao et al. 2018; SPEC 2b): BP's backward pass through
the signs of the current forward weights (magnitude 1) instead of the weights themselves."""

from __future__ import annotations

from .base import ErrorDriven, backward_chain


class SignSymmetry(ErrorDriven):
    name = "sign"

    def hidden_deltas(self, e, acts, params):
        return backward_chain(e, acts, [layer["weight"].sign() for layer in params[1:]])
