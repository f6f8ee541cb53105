"""Shared plumbing for the robin_workcell nodes: message conversion, parameters, diagnostics.

Everything that touches ROS message *types* for conversion lives here, so that swapping the
standard-message encodings for custom interfaces later means changing one package.
"""
