"""Direct feedback alignment (Nøkland 2016; SPEC 2b): every hidden layer receives the output error
directly, through its own fixed random matrix D_l."""

from __future__ import annotations

from .base import ErrorDriven, sigmoid_prime


class DirectFeedbackAlignment(ErrorDriven):
    name = "dfa"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sizes = self.sizes
        # D_l: [1, n_l], uniform in [-1/sqrt(n_l), 1/sqrt(n_l)], n_l the width of hidden layer l.
        self.feedback = [self.fixed_uniform(f"direct{k}", (sizes[-1], n), n**-0.5)
                         for k, n in enumerate(sizes[1:-1], start=1)]

    def hidden_deltas(self, e, acts, params):
        return [(e @ d) * sigmoid_prime(h) for d, h in zip(self.feedback, acts[1:-1])]

    def state(self):
        return {f"D{k}": d for k, d in enumerate(self.feedback, start=1)}
