"""Training over the protocols of :mod:`rtmer.data`: datasets, loops, LOSO evaluation (needs torch)."""
