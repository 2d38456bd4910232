"""Domain layer: rules that hold whatever the screen. Never imports reflex or dashboard."""
