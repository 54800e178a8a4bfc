"""rnnkit: recurrent neural networks for NLP, from their equations to trained models."""

__version__ = "0.1.0"
