"""The training phase: the loop over a method's updates, batch sampling, pre-emption, generic GAN losses,
acceleration and devices, checkpoints, samples and the round's own outputs (features, metrics)."""
