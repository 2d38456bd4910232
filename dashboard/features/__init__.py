"""One folder per feature: its page (page.py) and its state (state.py)."""
