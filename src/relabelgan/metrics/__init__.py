"""Library: the metrics a round is scored with (docs/metrics.md gives each one's protocol).

mixtures.py (2D: modes, high-quality share, reverse KL, spread ratio, MMD²), diversity.py (intra-class
MS-SSIM), frechet.py (Fréchet distance of feature statistics), nearest.py (nearest-neighbour copy check),
inception.py (FID/IS through torch-fidelity), clustering.py (NMI, purity, accuracy of labels). The steps
that compute them are evaluate.py (a model's metrics) and relabel.py (the labels' metrics).
"""
