"""dc-twin: a digital twin of AI data-center campuses with a GPU-accelerated thermal core."""
__version__ = "0.1.0"
