"""Feedback alignment (Lillicrap et al. 2016; SPEC 2b): BP's backward pass, with fixed random
matrices B_l in place of the forward weights W_l."""

from __future__ import annotations

from .base import ErrorDriven, backward_chain


class FeedbackAlignment(ErrorDriven):
    name = "fa"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sizes = self.sizes
        # B_l has the shape of W_l ([n_l, n_{l-1}]) for every layer above the first, drawn in
        # PyTorch's nn.Linear range for that layer's fan-in.
        self.feedback = [self.fixed_uniform(f"feedback{k}", (n_out, n_in), n_in**-0.5)
                         for k, (n_in, n_out) in enumerate(zip(sizes[1:-1], sizes[2:]), start=2)]

    def hidden_deltas(self, e, acts, params):
        return backward_chain(e, acts, self.feedback)

    def state(self):
        return {f"B{k}": b for k, b in enumerate(self.feedback, start=2)}
