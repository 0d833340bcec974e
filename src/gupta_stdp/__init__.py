"""Reference replication of Gupta (2020), "A More Biologically Plausible Local Learning Rule for ANNs"."""

__version__ = "0.1.0"
