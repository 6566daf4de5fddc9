"""The GAN family, each model with its own training step (Algorithm 1 of its paper)."""
