"""twotrack: qualify two-track (full-duplex) conversational speech data."""

__version__ = "0.1.0"
