"""route-override: a CNI meta plugin that rewrites a container's routes."""

__version__ = "0.1.0"
