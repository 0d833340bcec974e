"""The registry of learning rules (SPEC sections 2, 2b, 3).

Each rule is one module of this package with one class deriving from ``rules.base.Rule``. Adding a
rule means writing that module and adding one line to ``RULES`` below; the config schema, the
trainer, the workflow and the report then take it by name (``methods: [..., myrule]``).

Importing this package does not import torch: the workflow plans its DAG from these names alone.
Jobs read only their own rule's line (see ``gupta_stdp.jobcode``): this file is an input of no job, so
adding a line reruns nothing that ran before.
"""

from __future__ import annotations

#: name -> "module:Class" within this package. One line per rule.
RULES = {
    "stdp": "stdp:STDP",  # Gupta (2020), eq. 3: local, no error travels back
    "bp": "bp:Backprop",  # backpropagation on autograd: the reference
    "fa": "fa:FeedbackAlignment",  # Lillicrap et al. (2016)
    "dfa": "dfa:DirectFeedbackAlignment",  # Nøkland (2016)
    "sign": "sign:SignSymmetry",  # Liao, Leibo & Poggio (2016); Xiao et al. (2018)
}


def names() -> list[str]:
    return list(RULES)


def module_name(name: str) -> str:
    return RULES[name].split(":")[0]


def get(name: str):
    """The rule class registered as ``name``."""
    if name not in RULES:
        raise KeyError(f"no learning rule {name!r}; registered: {', '.join(RULES)}")
    from .base import load

    return load(RULES[name])
