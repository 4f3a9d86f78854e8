"""The builder's condition rows, one module per kind of leaf (``leaf_rows`` lists them)."""
