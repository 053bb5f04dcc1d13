"""The torch-free floor every step stands on: errors, artifacts, the config and its schema, seeding,
progress lines, tidy metric rows and k-means. Nothing here imports torch."""
