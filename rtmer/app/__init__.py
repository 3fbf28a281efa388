"""The application layer: the only place that wires the pipeline's stages together."""
