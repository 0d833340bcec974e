"""One module per workflow stage. The scripts in scripts/ only unpack Snakemake's object and call
these; every output is written to a temporary file and renamed, so a failed job leaves nothing.
Only the train and attack stages import torch."""
