"""Attacks on the trained models (SPEC sections 4 and 6), batched over members and points.

Training is gradient-free for STDP (and avoids weight transport for FA, DFA and sign symmetry);
the white-box attacks are not: they differentiate the trained forward pass with autograd, for
every model alike, never a rule's feedback path. One module per purpose:

- ``losses``: the losses an attack maximises, input gradients, and the paper's decision rule;
- ``gradient``: FGSM and PGD;
- ``square``: the score-based Square Attack (no gradient); import it as ``attacks.square.square``:
  the package does not import it, so that the jobs that do not run it do not depend on its code;
- ``noise``: uniform noise of the same size, the floor every attack must beat;
- ``diagnostics``: gradient-masking diagnostics.

Which attack runs on which points, and what their results mean together, is the attack stage's
business (``gupta_stdp.jobs.attack``) and the derived tables' (``gupta_stdp.derived``).
"""

from .diagnostics import diagnostics
from .gradient import fgsm, pgd
from .losses import LOSSES, correct, input_gradient, point_loss
from .noise import uniform, uniform_noise

__all__ = ["LOSSES", "correct", "diagnostics", "fgsm", "input_gradient", "pgd", "point_loss", "uniform", "uniform_noise"]
