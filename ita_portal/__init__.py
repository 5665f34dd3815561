# Reported by /healthz when the checkout has no git metadata (e.g. a copied release).
VERSION = "1.0.0"
