"""Bring-up: the cell's node graph (config/cell.yaml), its process runner, and the demo."""
