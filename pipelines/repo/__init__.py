"""The repository as the engine sees it: its layout (platform.yaml, models/, datasets/), validation, and
what a change affects."""
