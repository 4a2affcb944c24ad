"""govflow: a low-code form and workflow platform for county governments."""

__version__ = "0.1.0"
