"""The STDP curves of the paper's appendix A (eq. 5, 6, 7), for Fig. 4 and claim C4.

Plain arithmetic: they take NumPy arrays or torch tensors alike, so figures and claims need no torch.
"""


def eq5(dt, t_pre: float):
    """Appendix A, eq. 5: dW ~ dT / (T_pre^2 (T_pre + dT)^2); the STDP curve with the wrong asymmetry."""
    return dt / (t_pre**2 * (t_pre + dt) ** 2)


def eq6(dt, t_pre: float):
    """Appendix A, eq. 6: dW ~ dT / (T_pre^2 (T_pre - dT)^2); the rule the paper uses."""
    return dt / (t_pre**2 * (t_pre - dt) ** 2)


def eq7(x, p):
    """Appendix A, eq. 7 (= eq. 2): eq. 6 written with rates x = 1/T_pre, p = 1/T_post."""
    return x**3 * p * (x - p) / (2 * p - x) ** 2
