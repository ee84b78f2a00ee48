"""shipwise: prompt it, give it retrieval, or fine-tune it — measure which one to ship."""

__version__ = "0.1.0"
