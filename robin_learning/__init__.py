"""The cell learns: annotation queue, retraining gate, model registry, staged rollout, fleet metrics."""
