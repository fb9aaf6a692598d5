"""The engine: device and precision, the batched inference loop, feature extraction."""
