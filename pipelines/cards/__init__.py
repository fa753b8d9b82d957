"""Model cards for registered versions: `aip card` (docs/model-cards.md)."""
